-- The hourly p95 and connection-pool use of one service's queries over a range, one row per
-- metric, query label and hour (blind-spot search, with movers_service.sql).
-- Tables: hourly_database_metrics
-- Parameters: {service}: the incident's service; {from}, {to}: [from, to) of hour_start (only
--   the partitions of its dates are read).
-- Example: service = 'checkout'; from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: metric, entity, hour_start, value
-- One scan of the table, each row giving both metrics.
SELECT m.metric, query AS entity, hour_start,
       CASE m.metric WHEN 'query_p95_ms' THEN query_p95_ms ELSE pool_utilization_max END AS value
FROM hourly_database_metrics CROSS JOIN (VALUES ('query_p95_ms'), ('pool_utilization_max')) AS m(metric)
WHERE service = {service} AND hour_start >= {from} AND hour_start < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
ORDER BY metric, entity, hour_start
