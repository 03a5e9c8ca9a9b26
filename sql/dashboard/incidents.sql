-- The incidents whose impact started in a range or that are still open, with their figures
-- (`postlaunch incidents` stores them); the Incidents page.
-- Tables: incident_metrics
-- Parameters: {from}, {to}: [from, to) of impact_start.
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: incident_id, severity, service, title, state, impact_start, detected_at, mttd_s,
--   mtta_s, mttr_s, updates, late_updates, postmortem_late, actions_open, blind_spot
SELECT incident_id, severity, service, title, state, impact_start, detected_at, mttd_s, mtta_s,
       mttr_s, updates, late_updates, postmortem_late, actions_open, blind_spot
FROM incident_metrics
WHERE (impact_start >= {from} AND impact_start < {to}) OR state <> 'resolved'
ORDER BY impact_start DESC, incident_id
