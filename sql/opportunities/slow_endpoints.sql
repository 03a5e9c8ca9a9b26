-- Opportunities from latency: the 5 endpoints with the worst p95 over the period (merged
-- sketches of hourly_service_metrics); reach = their requests in the period.
-- Tables: hourly_service_metrics
-- Parameters: {this_from}/{this_to} (RFC 3339, [from, to)): the period.
-- Example: this_from = to_timestamp_micros('2026-11-03T00:00:00Z'); this_to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: kind, subject, detail, reach, reach_unit, value
SELECT 'slow_endpoint' AS kind, service || ' ' || endpoint AS subject,
       'p95 ' || CAST(round(ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95), 1) AS VARCHAR) || ' ms' AS detail,
       sum(requests) AS reach, 'requests' AS reach_unit,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS value
FROM hourly_service_metrics
WHERE version = '*' AND hour_start >= {this_from} AND hour_start < {this_to}
GROUP BY service, endpoint
ORDER BY value DESC, subject
LIMIT 5
