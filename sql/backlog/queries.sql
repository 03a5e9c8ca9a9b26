-- Backlog candidates from the database metrics: performance, the queries whose p95 is above the
-- query target (measure: p95 / target); cost, the queries that take at least a quarter of all
-- database time (samples × median; measure: that share). Reach: the users of the query's service
-- in the period. p95 and median from the merged hourly sketches (per query label; the
-- all-queries rows, label '*', are left out).
-- Tables: hourly_database_metrics, requests
-- Parameters: {from}/{to} (the period, [from, to)), {date_from}/{date_to} (its partition
--   dates), {query_target_ms} (`[targets] query_p95_ms`).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); date_from = '2026-11-02'; date_to =
--   '2026-11-03'; query_target_ms = 50.0
-- Columns: kind, category, subject, detail, reach, reach_unit, measure, samples
WITH q AS (
  SELECT service, query, sum(samples) AS samples,
         ddsketch_quantile(ddsketch_merge(query_sketch), 0.95) AS p95,
         ddsketch_quantile(ddsketch_merge(query_sketch), 0.5) AS p50
  FROM hourly_database_metrics
  WHERE hour_start >= {from} AND hour_start < {to} AND query <> '*'
  GROUP BY service, query
),
shares AS (
  SELECT *, samples * p50 / sum(samples * p50) OVER () AS time_share FROM q
),
users AS (
  SELECT service, count(DISTINCT user_id) AS users FROM requests
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
  GROUP BY service
)
SELECT 'slow_query' AS kind, 'performance' AS category, s.service || ' ' || s.query AS subject,
       'query p95 ' || CAST(round(s.p95, 1) AS VARCHAR) || ' ms (target '
         || CAST({query_target_ms} AS VARCHAR) || ' ms) over ' || CAST(s.samples AS VARCHAR)
         || ' samples' AS detail,
       coalesce(u.users, 0) AS reach, 'users' AS reach_unit, s.p95 / {query_target_ms} AS measure,
       s.samples
FROM shares s LEFT JOIN users u ON u.service = s.service
WHERE s.p95 > {query_target_ms}
UNION ALL
SELECT 'expensive_query', 'cost', s.service || ' ' || s.query,
       CAST(round(100 * s.time_share, 1) AS VARCHAR) || ' % of database time (samples × median '
         || CAST(round(s.p50, 1) AS VARCHAR) || ' ms)',
       coalesce(u.users, 0), 'users', s.time_share, s.samples
FROM shares s LEFT JOIN users u ON u.service = s.service
WHERE s.time_share >= 0.25
ORDER BY kind, measure DESC, subject
