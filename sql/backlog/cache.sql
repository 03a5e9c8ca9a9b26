-- Backlog candidates, performance: caches whose hit ratio over the period is below the target.
-- Measure: the gap (target − hit ratio). Reach: the users of the cache's service. A cache
-- without a name (the `cache_hits`/`cache_misses` metrics carry no label) is called `cache`.
-- Tables: hourly_dependency_metrics, requests
-- Parameters: {from}/{to} (the period, [from, to)), {date_from}/{date_to} (its partition
--   dates), {cache_target} (`[targets] cache_hit_ratio`).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); date_from = '2026-11-02'; date_to =
--   '2026-11-03'; cache_target = 0.99
-- Columns: kind, category, subject, detail, reach, reach_unit, measure, samples
WITH c AS (
  SELECT service, coalesce(dependency, 'cache') AS dependency, sum(cache_hits) AS hits,
         sum(cache_misses) AS misses
  FROM hourly_dependency_metrics
  WHERE kind = 'cache' AND hour_start >= {from} AND hour_start < {to}
  GROUP BY service, coalesce(dependency, 'cache')
  HAVING sum(cache_hits) + sum(cache_misses) > 0
),
users AS (
  SELECT service, count(DISTINCT user_id) AS users FROM requests
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
  GROUP BY service
)
SELECT 'cache_gap' AS kind, 'performance' AS category, c.service || ' ' || c.dependency AS subject,
       'hit ratio ' || CAST(round(100.0 * c.hits / (c.hits + c.misses), 1) AS VARCHAR) || ' % (target '
         || CAST(round(100 * {cache_target}, 1) AS VARCHAR) || ' %) over '
         || CAST(c.hits + c.misses AS VARCHAR) || ' lookups' AS detail,
       coalesce(u.users, 0) AS reach, 'users' AS reach_unit,
       {cache_target} - c.hits / CAST(c.hits + c.misses AS DOUBLE) AS measure,
       CAST(c.hits + c.misses AS BIGINT) AS samples
FROM c LEFT JOIN users u ON u.service = c.service
WHERE c.hits / CAST(c.hits + c.misses AS DOUBLE) < {cache_target}
ORDER BY measure DESC, subject
