-- daily_database_metrics / weekly_database_metrics: roll-up of hourly_database_metrics. Query
-- percentiles from merged DDSketches; pool utilisation avg is the mean of the hourly averages,
-- max the maximum; replication lag the maximum.
-- Tables: hourly_database_metrics
-- Parameters: {period_start} (RFC 3339), {from}/{to} (the period, [from, to)), {date_from}/{date_to}
--   (its first and last partition dates, for pruning), {seconds} (its length).
-- Example: period_start = to_timestamp_micros('2026-11-02T00:00:00Z'); date_from = '2026-11-02';
--   date_to = '2026-11-02'; from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: period_start, service, query, hours, samples, query_p50_ms, query_p95_ms,
--   query_p99_ms, pool_utilization_avg, pool_utilization_max, replication_lag_max_s, query_sketch
SELECT {period_start} AS period_start, service, query, count(*) AS hours,
       sum(samples) AS samples,
       ddsketch_quantile(ddsketch_merge(query_sketch), 0.5) AS query_p50_ms,
       ddsketch_quantile(ddsketch_merge(query_sketch), 0.95) AS query_p95_ms,
       ddsketch_quantile(ddsketch_merge(query_sketch), 0.99) AS query_p99_ms,
       avg(pool_utilization_avg) AS pool_utilization_avg, max(pool_utilization_max) AS pool_utilization_max,
       max(replication_lag_max_s) AS replication_lag_max_s,
       ddsketch_merge(query_sketch) AS query_sketch
FROM hourly_database_metrics
WHERE date >= {date_from} AND date <= {date_to}
  AND hour_start >= {from} AND hour_start < {to}
GROUP BY service, query
ORDER BY service, query
