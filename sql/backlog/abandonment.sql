-- Backlog candidates, user experience: where the sessions that did not convert ended (as
-- sql/rollup/abandonment.sql: for every session with events in the period and no `purchase`, its
-- last event), the 5 most common last events. Reach: the users of those sessions. Measure: the
-- share of all non-converting sessions that ended there.
-- Tables: events
-- Parameters: {from}/{to} (the period, [from, to)), {date_from}/{date_to} (its partition dates).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); date_from = '2026-11-02'; date_to = '2026-11-03'
-- Columns: kind, category, subject, detail, reach, reach_unit, measure, samples
WITH s AS (
  SELECT session_id, user_id, event,
         row_number() OVER (PARTITION BY session_id ORDER BY ts DESC, event DESC) AS rn,
         max(CASE WHEN event = 'purchase' THEN 1 ELSE 0 END) OVER (PARTITION BY session_id) AS bought
  FROM events
  WHERE session_id IS NOT NULL AND date >= {date_from} AND date <= {date_to}
    AND ts >= {from} AND ts < {to}
),
last AS (
  SELECT event, user_id, session_id FROM s WHERE rn = 1 AND bought = 0
),
total AS (SELECT count(*) AS sessions FROM last)
SELECT 'abandonment' AS kind, 'user_experience' AS category, 'sessions ending at ' || l.event AS subject,
       CAST(count(*) AS VARCHAR) || ' of ' || CAST(max(t.sessions) AS VARCHAR)
         || ' sessions without a purchase ended here' AS detail,
       count(DISTINCT l.user_id) AS reach, 'users' AS reach_unit,
       count(*) / CAST(max(t.sessions) AS DOUBLE) AS measure, max(t.sessions) AS samples
FROM last l CROSS JOIN total t
GROUP BY l.event
ORDER BY measure DESC, subject
LIMIT 5
