-- hourly_dependency_metrics: third-party dependencies and caches, per service, per hour.
-- Rows with kind = 'dependency' (one per dependency label): latency p95 from
-- dependency_latency_ms, error count from dependency_errors samples (0 when none are sent).
-- Rows with kind = 'cache' (one per service): cache_hit_ratio = hits / (hits + misses) from the
-- cache_hits and cache_misses counters; NULL when both are 0.
-- Tables: metrics
-- Parameters: {date_from}/{date_to} (partition dates) and {from}/{to} (RFC 3339, [from, to)):
--   the hours computed, one result row set per hour.
-- Example: date_from = '2026-11-02'; date_to = '2026-11-02'; from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); to = to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: hour_start, service, kind, dependency, samples, latency_p95_ms, errors,
--   cache_hits, cache_misses, cache_hit_ratio, latency_sketch
WITH dep AS (
  SELECT date_bin(INTERVAL '1 hour', ts) AS hour_start, coalesce(service, 'unknown') AS service,
         coalesce(labels['dependency'], 'unknown') AS dependency,
         sum(CASE WHEN name = 'dependency_latency_ms' THEN 1 ELSE 0 END) AS samples,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY CASE WHEN name = 'dependency_latency_ms' THEN value END) AS latency_p95_ms,
         coalesce(sum(CASE WHEN name = 'dependency_errors' THEN value END), 0) AS errors,
         ddsketch(CASE WHEN name = 'dependency_latency_ms' THEN value END) AS latency_sketch
  FROM metrics
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
    AND name IN ('dependency_latency_ms', 'dependency_errors')
  GROUP BY 1, 2, 3
),
cache AS (
  SELECT date_bin(INTERVAL '1 hour', ts) AS hour_start, coalesce(service, 'unknown') AS service,
         coalesce(sum(CASE WHEN name = 'cache_hits' THEN value END), 0) AS cache_hits,
         coalesce(sum(CASE WHEN name = 'cache_misses' THEN value END), 0) AS cache_misses
  FROM metrics
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
    AND name IN ('cache_hits', 'cache_misses')
  GROUP BY 1, 2
)
SELECT hour_start, service, 'dependency' AS kind, dependency, samples,
       latency_p95_ms, errors, CAST(NULL AS DOUBLE) AS cache_hits, CAST(NULL AS DOUBLE) AS cache_misses,
       CAST(NULL AS DOUBLE) AS cache_hit_ratio, latency_sketch
FROM dep
UNION ALL
SELECT hour_start, service, 'cache', CAST(NULL AS VARCHAR), CAST(NULL AS BIGINT),
       CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), cache_hits, cache_misses,
       CASE WHEN cache_hits + cache_misses > 0 THEN cache_hits / (cache_hits + cache_misses) END,
       CAST(NULL AS BYTEA)
FROM cache
ORDER BY 1, 2, 3, 4
