-- Each endpoint (all versions) and each version of an endpoint over a range: requests, errors,
-- error rate, latency percentiles and the first and last hour seen; the drill-down of the
-- Application page (service → endpoint → version). `version` is `*` for all versions.
-- Tables: hourly_service_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start (only the partitions of its dates are read).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: service, endpoint, version, requests, errors, error_rate, p50_ms, p95_ms, p99_ms,
--   first_hour, last_hour
SELECT service, endpoint, version, sum(requests) AS requests, sum(errors) AS errors,
       CAST(sum(errors) AS DOUBLE) / CAST(sum(requests) AS DOUBLE) AS error_rate,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.5) AS p50_ms,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95_ms,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.99) AS p99_ms,
       min(hour_start) AS first_hour, max(hour_start) AS last_hour
FROM hourly_service_metrics
WHERE hour_start >= {from} AND hour_start < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
GROUP BY service, endpoint, version
HAVING sum(requests) > 0
ORDER BY service, endpoint, version
