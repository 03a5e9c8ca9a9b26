-- The latest transition of every alert in the `alerts` table: its state now. `postlaunch alerts
-- list` prints it, and a restarted ingest restores the alerts still firing from it (no second
-- page, and their resolution still comes).
-- Tables: alerts
-- Parameters: {changes}: the latest changes to keep, a list of string literals built by
--   postlaunch ('firing', 'escalated', 'de-escalated', 'pending' for the alerts still active).
-- Example: changes = 'firing', 'escalated', 'de-escalated', 'pending', 'resolved'
-- Columns: rule, entity_kind, entity, change, severity, event_time, value, threshold, onset,
--   runbook
SELECT rule, entity_kind, entity, change, severity, event_time, value, threshold, onset, runbook
FROM (
  SELECT *, row_number() OVER (
    PARTITION BY rule, entity ORDER BY event_time DESC, wall_time DESC
  ) AS rn
  FROM alerts
) t
WHERE rn = 1 AND change IN ({changes})
ORDER BY event_time DESC, rule, entity;
