-- daily_service_metrics / weekly_service_metrics: roll-up of hourly_service_metrics over a day or
-- an ISO week. Counts add up; percentiles come from merging the hours' DDSketches (relative error
-- at most 1 %), never from rescanning raw requests; apdex from the summed satisfied/tolerating.
-- Tables: hourly_service_metrics
-- Parameters: {period_start} (RFC 3339), {from}/{to} (the period, [from, to)), {date_from}/{date_to}
--   (its first and last partition dates, for pruning), {seconds} (its length).
-- Example: period_start = to_timestamp_micros('2026-11-02T00:00:00Z'); seconds = 86400; date_from =
--   '2026-11-02'; date_to = '2026-11-02'; from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: period_start, service, endpoint, version, hours, requests, errors, error_rate,
--   throughput_rps, p50_ms, p95_ms, p99_ms, max_ms, mean_ms, apdex, apdex_satisfied,
--   apdex_tolerating, latency_sketch
SELECT {period_start} AS period_start, service, endpoint, version,
       count(*) AS hours,
       sum(requests) AS requests, sum(errors) AS errors,
       sum(errors) / CAST(sum(requests) AS DOUBLE) AS error_rate,
       sum(requests) / {seconds}.0 AS throughput_rps,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.5) AS p50_ms,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95_ms,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.99) AS p99_ms,
       max(max_ms) AS max_ms,
       sum(mean_ms * requests) / sum(requests) AS mean_ms,
       (sum(apdex_satisfied) + sum(apdex_tolerating) / 2.0) / sum(requests) AS apdex,
       sum(apdex_satisfied) AS apdex_satisfied, sum(apdex_tolerating) AS apdex_tolerating,
       ddsketch_merge(latency_sketch) AS latency_sketch
FROM hourly_service_metrics
WHERE date >= {date_from} AND date <= {date_to}
  AND hour_start >= {from} AND hour_start < {to}
GROUP BY service, endpoint, version
ORDER BY service, endpoint, version
