-- The hourly CPU and memory of one service's hosts over a range, one row per metric, host and
-- hour (blind-spot search, with movers_service.sql).
-- Tables: hourly_host_metrics
-- Parameters: {service}: the incident's service; {from}, {to}: [from, to) of hour_start (only
--   the partitions of its dates are read).
-- Example: service = 'checkout'; from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: metric, entity, hour_start, value
-- One scan of the table, each row giving both metrics.
SELECT m.metric, host AS entity, hour_start,
       CASE m.metric WHEN 'cpu_avg' THEN cpu_avg ELSE memory_avg END AS value
FROM hourly_host_metrics CROSS JOIN (VALUES ('cpu_avg'), ('memory_avg')) AS m(metric)
WHERE service = {service} AND hour_start >= {from} AND hour_start < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
ORDER BY metric, entity, hour_start
