-- The weekly alert-fatigue review (`postlaunch alerts review --week`): per rule, the alerts that
-- fired in the week, how long they lasted, how many resolved within 5 minutes (flapping) and how
-- many were followed by an incident on the same service (actionable).
-- An episode is a `firing` transition and the `resolved` that follows it for the same rule and
-- entity (still firing: no duration). "Followed by an incident": an incident of the entity was
-- opened from 30 minutes before the alert fired (the incident came first, the alert confirmed
-- it) to 2 hours after.
-- Tables: alerts
-- Parameters: {from}, {to}: the week, [from, to); {incidents}: a query of (service, ts), the
--   opening of each incident (built by postlaunch: the `incidents` table's first record of each
--   incident, or no rows); {has_incidents}: TRUE when the lake has incidents to judge by, else
--   followed_by_incident is NULL.
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-09T00:00:00Z'); incidents = SELECT entity AS service,
--   event_time AS ts FROM alerts WHERE FALSE; has_incidents = FALSE
-- Columns: rule, fired, resolved, median_duration_s, resolved_within_5m, followed_by_incident
WITH marks AS (
  SELECT
    rule,
    entity,
    change,
    event_time,
    lead(change) OVER (PARTITION BY rule, entity ORDER BY event_time, wall_time) AS next_change,
    lead(event_time) OVER (PARTITION BY rule, entity ORDER BY event_time, wall_time) AS next_time
  FROM alerts
  WHERE change IN ('firing', 'resolved')
),
episodes AS (
  SELECT
    rule,
    entity,
    event_time AS fired_at,
    CASE WHEN next_change = 'resolved' THEN next_time END AS resolved_at
  FROM marks
  WHERE change = 'firing' AND event_time >= {from} AND event_time < {to}
),
followed AS (
  SELECT
    e.rule,
    e.entity,
    e.fired_at,
    e.resolved_at,
    max(CASE WHEN i.service IS NULL THEN 0 ELSE 1 END) AS incident
  FROM episodes e
  LEFT JOIN ({incidents}) i
    ON i.service = e.entity
    AND i.ts >= e.fired_at - INTERVAL '30 minutes'
    AND i.ts < e.fired_at + INTERVAL '2 hours'
  GROUP BY e.rule, e.entity, e.fired_at, e.resolved_at
)
SELECT
  rule,
  count(*) AS fired,
  count(resolved_at) AS resolved,
  median(CAST(resolved_at AS BIGINT) - CAST(fired_at AS BIGINT)) / 1e6 AS median_duration_s,
  CAST(sum(CASE WHEN resolved_at < fired_at + INTERVAL '5 minutes' THEN 1 ELSE 0 END) AS DOUBLE)
    / count(*) AS resolved_within_5m,
  CASE WHEN {has_incidents}
    THEN CAST(sum(incident) AS DOUBLE) / count(*)
  END AS followed_by_incident
FROM followed
GROUP BY rule
ORDER BY fired DESC, rule;
