-- Each query label of each service over a range: samples, p50/p95/p99 (sketches merged), pool
-- utilisation (mean, highest) and the highest replication lag; the Database page.
-- Tables: hourly_database_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start (only the partitions of its dates are read).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: service, query, samples, p50_ms, p95_ms, p99_ms, pool_utilization_avg,
--   pool_utilization_max, replication_lag_max_s
SELECT service, query, sum(samples) AS samples,
       ddsketch_quantile(ddsketch_merge(query_sketch), 0.5) AS p50_ms,
       ddsketch_quantile(ddsketch_merge(query_sketch), 0.95) AS p95_ms,
       ddsketch_quantile(ddsketch_merge(query_sketch), 0.99) AS p99_ms,
       avg(pool_utilization_avg) AS pool_utilization_avg,
       max(pool_utilization_max) AS pool_utilization_max,
       max(replication_lag_max_s) AS replication_lag_max_s
FROM hourly_database_metrics
WHERE hour_start >= {from} AND hour_start < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
GROUP BY service, query
ORDER BY service, query
