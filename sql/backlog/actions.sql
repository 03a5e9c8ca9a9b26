-- Backlog candidates, reliability: the incidents' action items still open at the end of the
-- period (each item's latest state, `postlaunch incident action`). Reach: the users of the
-- incident's service in the period. Measure: the incident's severity (1 for P1 … 4 for P4).
-- Tables: incidents, requests
-- Parameters: {from}/{to} (the period, [from, to)), {date_from}/{date_to} (its partition dates).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); date_from = '2026-11-02'; date_to = '2026-11-03'
-- Columns: kind, category, subject, detail, reach, reach_unit, measure, samples
WITH ev AS (
  SELECT * FROM incidents WHERE ts < {to}
),
inc AS (
  SELECT incident_id, max(service) AS service,
         min(CASE severity WHEN 'P1' THEN 1 WHEN 'P2' THEN 2 WHEN 'P3' THEN 3 ELSE 4 END) AS sev
  FROM ev GROUP BY incident_id
),
items AS (
  SELECT incident_id, action_id, action_state, message,
         row_number() OVER (PARTITION BY incident_id, action_id ORDER BY ts DESC) AS rn
  FROM ev WHERE action_id IS NOT NULL
),
users AS (
  SELECT service, count(DISTINCT user_id) AS users FROM requests
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
  GROUP BY service
)
SELECT 'incident_action' AS kind, 'reliability' AS category,
       i.incident_id || ' ' || i.action_id AS subject,
       coalesce(i.message, i.action_id) || ' (' || coalesce(i.action_state, 'open') || ', P'
         || CAST(n.sev AS VARCHAR) || coalesce(' on ' || n.service, '') || ')' AS detail,
       coalesce(u.users, 0) AS reach, 'users' AS reach_unit, CAST(n.sev AS DOUBLE) AS measure,
       CAST(1 AS BIGINT) AS samples
FROM items i JOIN inc n ON n.incident_id = i.incident_id
LEFT JOIN users u ON u.service = n.service
WHERE i.rn = 1 AND coalesce(i.action_state, 'open') <> 'done'
ORDER BY n.sev, subject
