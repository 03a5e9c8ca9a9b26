-- The hourly p95 latency and errors of one service's dependencies (third parties, caches) over a
-- range, one row per metric, dependency and hour (blind-spot search, with movers_service.sql).
-- Tables: hourly_dependency_metrics
-- Parameters: {service}: the incident's service; {from}, {to}: [from, to) of hour_start (only
--   the partitions of its dates are read).
-- Example: service = 'checkout'; from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: metric, entity, hour_start, value
-- One scan of the table, each row giving both metrics.
SELECT m.metric, dependency AS entity, hour_start,
       CASE m.metric WHEN 'dependency_p95_ms' THEN latency_p95_ms ELSE CAST(errors AS DOUBLE) END AS value
FROM hourly_dependency_metrics CROSS JOIN (VALUES ('dependency_p95_ms'), ('dependency_errors')) AS m(metric)
WHERE service = {service} AND hour_start >= {from} AND hour_start < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
ORDER BY metric, entity, hour_start
