-- Each service over a range, every endpoint's sketch merged: requests, errors, error rate and
-- latency percentiles; the Application page's table and the SLO figures of the Overview.
-- Tables: hourly_service_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start (only the partitions of its dates are read).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: service, requests, errors, error_rate, p50_ms, p95_ms, p99_ms
SELECT service, sum(requests) AS requests, sum(errors) AS errors,
       CAST(sum(errors) AS DOUBLE) / CAST(sum(requests) AS DOUBLE) AS error_rate,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.5) AS p50_ms,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95_ms,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.99) AS p99_ms
FROM hourly_service_metrics
WHERE version = '*' AND hour_start >= {from} AND hour_start < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
GROUP BY service
HAVING sum(requests) > 0
ORDER BY service
