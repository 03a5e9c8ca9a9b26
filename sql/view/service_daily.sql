-- Each service's day: requests, error rate and p95 latency (all endpoints, merged sketches), for
-- the reports' charts.
-- Tables: hourly_service_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start.
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: day, service, requests, error_rate, p95_ms
SELECT date_trunc('day', hour_start) AS day, service, sum(requests) AS requests,
       CAST(sum(errors) AS DOUBLE) / CAST(sum(requests) AS DOUBLE) AS error_rate,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95_ms
FROM hourly_service_metrics
WHERE version = '*' AND hour_start >= {from} AND hour_start < {to}
GROUP BY date_trunc('day', hour_start), service
HAVING sum(requests) > 0
ORDER BY service, day
