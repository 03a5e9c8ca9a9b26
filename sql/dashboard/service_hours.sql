-- Each service's and each endpoint's hours of a range: requests, error rate, p95 (sketches
-- merged); the Application page's time charts. `endpoint` is `*` for the whole service, and
-- `version` the version (`*` for all).
-- Tables: hourly_service_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start.
-- Example: from = to_timestamp_micros('2026-11-09T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-16T00:00:00Z')
-- Columns: hour_start, service, endpoint, version, requests, error_rate, p95_ms
SELECT hour_start, service, '*' AS endpoint, '*' AS version, sum(requests) AS requests,
       CAST(sum(errors) AS DOUBLE) / CAST(sum(requests) AS DOUBLE) AS error_rate,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95_ms
FROM hourly_service_metrics
WHERE version = '*' AND hour_start >= {from} AND hour_start < {to}
GROUP BY hour_start, service
HAVING sum(requests) > 0
UNION ALL
SELECT hour_start, service, endpoint, version, requests, error_rate, p95_ms
FROM hourly_service_metrics
WHERE hour_start >= {from} AND hour_start < {to} AND requests > 0
ORDER BY service, endpoint, version, hour_start
