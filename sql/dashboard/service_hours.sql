-- Each service's hours of a range: requests, error rate and p95 (every endpoint's sketch
-- merged); the Application page's time charts of the services.
-- Tables: hourly_service_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start (only the partitions of its dates are read).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: hour_start, service, requests, error_rate, p95_ms
SELECT hour_start, service, sum(requests) AS requests,
       CAST(sum(errors) AS DOUBLE) / CAST(sum(requests) AS DOUBLE) AS error_rate,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95_ms
FROM hourly_service_metrics
WHERE version = '*' AND hour_start >= {from} AND hour_start < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
GROUP BY hour_start, service
HAVING sum(requests) > 0
ORDER BY service, hour_start
