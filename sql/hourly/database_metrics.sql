-- hourly_database_metrics: database latency per query label, pool utilisation and replication
-- lag, per service, for one hour. One row per (service, query); the row with query = '*'
-- covers all queries of the service and carries the pool and replication figures.
-- Tables: metrics
-- Parameters: {date}, {hour}, {hour_start}.
-- Pool utilisation = db_pool_in_use / db_pool_size of the same service, host and sample time.
-- Percentiles: exact, linear interpolation (numpy.quantile default).
-- Columns: hour_start, service, query, samples, query_p50_ms, query_p95_ms, query_p99_ms,
--   pool_utilization_avg, pool_utilization_max, replication_lag_max_s, query_sketch
WITH q AS (
  SELECT coalesce(service, 'unknown') AS service, coalesce(labels['query'], 'unknown') AS query, value
  FROM metrics
  WHERE date = '{date}' AND hour = '{hour}' AND name = 'db_query_ms'
),
latency AS (
  SELECT service,
         CASE WHEN grouping(query) = 1 THEN '*' ELSE query END AS query,
         count(*) AS samples,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS query_p50_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY value) AS query_p95_ms,
         percentile_cont(0.99) WITHIN GROUP (ORDER BY value) AS query_p99_ms,
         ddsketch(value) AS query_sketch
  FROM q
  GROUP BY GROUPING SETS ((service), (service, query))
),
pool AS (
  SELECT coalesce(u.service, 'unknown') AS service,
         avg(u.value / s.value) AS pool_utilization_avg,
         max(u.value / s.value) AS pool_utilization_max
  FROM metrics u
  JOIN metrics s
    ON s.date = '{date}' AND s.hour = '{hour}' AND s.name = 'db_pool_size'
   AND s.ts = u.ts AND coalesce(s.service, '') = coalesce(u.service, '')
   AND coalesce(s.host, '') = coalesce(u.host, '') AND s.value > 0
  WHERE u.date = '{date}' AND u.hour = '{hour}' AND u.name = 'db_pool_in_use'
  GROUP BY 1
),
lag AS (
  SELECT coalesce(service, 'unknown') AS service, max(value) AS replication_lag_max_s
  FROM metrics
  WHERE date = '{date}' AND hour = '{hour}' AND name = 'db_replication_lag_s'
  GROUP BY 1
),
services AS (
  SELECT service FROM latency WHERE query = '*'
  UNION SELECT service FROM pool
  UNION SELECT service FROM lag
)
SELECT TIMESTAMP '{hour_start}' AS hour_start, s.service, coalesce(l.query, '*') AS query,
       coalesce(l.samples, 0) AS samples, l.query_p50_ms, l.query_p95_ms, l.query_p99_ms,
       p.pool_utilization_avg, p.pool_utilization_max, g.replication_lag_max_s, l.query_sketch
FROM services s
LEFT JOIN latency l ON l.service = s.service AND l.query = '*'
LEFT JOIN pool p ON p.service = s.service
LEFT JOIN lag g ON g.service = s.service
UNION ALL
SELECT TIMESTAMP '{hour_start}', service, query, samples, query_p50_ms, query_p95_ms, query_p99_ms,
       CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), query_sketch
FROM latency WHERE query <> '*'
ORDER BY 2, 3
