-- The hourly p95 latency and errors of one service's dependencies (third parties, caches) over a
-- range, one row per metric, dependency and hour (blind-spot search, with movers_service.sql).
-- Tables: hourly_dependency_metrics
-- Parameters: {service}: the incident's service; {from}, {to}: [from, to) of hour_start (only
--   the partitions of its dates are read).
-- Example: service = 'checkout'; from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: metric, entity, hour_start, value
SELECT metric, entity, hour_start, value FROM (
  SELECT 'dependency_p95_ms' AS metric, dependency AS entity, hour_start, latency_p95_ms AS value
  FROM hourly_dependency_metrics
  WHERE service = {service} AND hour_start >= {from} AND hour_start < {to}
    AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  UNION ALL
  SELECT 'dependency_errors', dependency, hour_start, CAST(errors AS DOUBLE)
  FROM hourly_dependency_metrics
  WHERE service = {service} AND hour_start >= {from} AND hour_start < {to}
    AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
)
ORDER BY metric, entity, hour_start
