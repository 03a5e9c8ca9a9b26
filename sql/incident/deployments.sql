-- Deployment phase changes of a range, for an incident's timeline (a post-mortem asks first
-- what changed).
-- Tables: deployments
-- Parameters: {from}, {to}: [from, to).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: ts, service, version, phase, strategy, change_id, description
SELECT ts, service, version, phase, strategy, change_id, description
FROM deployments
WHERE ts >= {from} AND ts < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
ORDER BY ts, service, version
