-- Every incident event, in order: what `postlaunch incidents` folds into one record per
-- incident (opened, acknowledged, updates, mitigation, resolution, post-mortem, action items).
-- The table is small (a handful of rows per incident), so all of it is read; the range of
-- `postlaunch incidents --from/--to` picks incidents by their opening, in Rust.
-- Tables: incidents
-- Columns: ts, incident_id, severity, status, service, title, message, author, impact_start,
--   alerts, action_id, action_state
SELECT ts, incident_id, severity, status, service, title, message, author, impact_start, alerts,
       action_id, action_state
FROM incidents
ORDER BY incident_id, ts, status
