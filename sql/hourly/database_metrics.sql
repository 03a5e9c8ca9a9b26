-- hourly_database_metrics: database latency per query label, pool utilisation and replication
-- lag, per service, per hour. One row per (service, query); the row with query = '*'
-- covers all queries of the service and carries the pool and replication figures.
-- Tables: metrics
-- Parameters: {date_from}/{date_to} (partition dates) and {from}/{to} (RFC 3339, [from, to)):
--   the hours computed, one result row set per hour.
-- Pool utilisation = db_pool_in_use / db_pool_size of the same service, host and sample time.
-- Percentiles: exact, linear interpolation (numpy.quantile default).
-- Example: date_from = '2026-11-02'; date_to = '2026-11-02'; from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); to = to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: hour_start, service, query, samples, query_p50_ms, query_p95_ms, query_p99_ms,
--   pool_utilization_avg, pool_utilization_max, replication_lag_max_s, query_sketch
WITH q AS (
  SELECT date_bin(INTERVAL '1 hour', ts) AS hour_start, coalesce(service, 'unknown') AS service,
         coalesce(labels['query'], 'unknown') AS query, value
  FROM metrics
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to} AND name = 'db_query_ms'
),
latency AS (
  SELECT hour_start, service,
         CASE WHEN grouping(query) = 1 THEN '*' ELSE query END AS query,
         count(*) AS samples,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS query_p50_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY value) AS query_p95_ms,
         percentile_cont(0.99) WITHIN GROUP (ORDER BY value) AS query_p99_ms,
         ddsketch(value) AS query_sketch
  FROM q
  GROUP BY GROUPING SETS ((hour_start, service), (hour_start, service, query))
),
pool AS (
  SELECT date_bin(INTERVAL '1 hour', u.ts) AS hour_start, coalesce(u.service, 'unknown') AS service,
         avg(u.value / s.value) AS pool_utilization_avg,
         max(u.value / s.value) AS pool_utilization_max
  FROM metrics u
  JOIN metrics s
    ON s.date = u.date AND s.hour = u.hour AND s.name = 'db_pool_size'
   AND s.ts = u.ts AND coalesce(s.service, '') = coalesce(u.service, '')
   AND coalesce(s.host, '') = coalesce(u.host, '') AND s.value > 0
  WHERE u.date >= {date_from} AND u.date <= {date_to} AND u.ts >= {from} AND u.ts < {to}
    AND u.name = 'db_pool_in_use'
  GROUP BY 1, 2
),
lag AS (
  SELECT date_bin(INTERVAL '1 hour', ts) AS hour_start, coalesce(service, 'unknown') AS service,
         max(value) AS replication_lag_max_s
  FROM metrics
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to} AND name = 'db_replication_lag_s'
  GROUP BY 1, 2
),
services AS (
  SELECT hour_start, service FROM latency WHERE query = '*'
  UNION SELECT hour_start, service FROM pool
  UNION SELECT hour_start, service FROM lag
)
SELECT s.hour_start, s.service, coalesce(l.query, '*') AS query,
       coalesce(l.samples, 0) AS samples, l.query_p50_ms, l.query_p95_ms, l.query_p99_ms,
       p.pool_utilization_avg, p.pool_utilization_max, g.replication_lag_max_s, l.query_sketch
FROM services s
LEFT JOIN latency l ON l.hour_start = s.hour_start AND l.service = s.service AND l.query = '*'
LEFT JOIN pool p ON p.hour_start = s.hour_start AND p.service = s.service
LEFT JOIN lag g ON g.hour_start = s.hour_start AND g.service = s.service
UNION ALL
SELECT hour_start, service, query, samples, query_p50_ms, query_p95_ms, query_p99_ms,
       CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), query_sketch
FROM latency WHERE query <> '*'
ORDER BY 1, 2, 3
