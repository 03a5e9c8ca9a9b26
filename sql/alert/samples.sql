-- The samples of the metric series that gauge rules read, of a time range, in event-time order.
-- Tables: metrics
-- Parameters: {from}/{to} (RFC 3339, [from, to)): the range replayed; {names}: the series, a
--   list of string literals built by postlaunch from the rules.
-- Example: from = to_timestamp_micros('2026-11-02T19:00:00Z'); to =
--   to_timestamp_micros('2026-11-02T19:10:00Z'); names = 'cpu_utilization', 'memory_utilization'
-- Columns: ts, name, host, service, value
SELECT ts, name, host, service, value
FROM metrics
WHERE ts >= {from} AND ts < {to} AND name IN ({names})
ORDER BY ts;
