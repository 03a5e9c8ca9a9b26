-- Adoption of every event in two periods (a rate: its users of the period's active users), from
-- the raw events.
-- Tables: events
-- Parameters: {this_from}/{this_to} and {last_from}/{last_to} (RFC 3339, [from, to)): the period
--   and the one it is compared with (the week before for weekly_trends; the launch range for
--   monthly_review); {this_days}/{last_days}: their lengths in days.
-- The periods may overlap (the launch inside the last 30 days): each side is computed on its
-- own.
-- Example: this_from = to_timestamp_micros('2026-11-03T00:00:00Z'); this_to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); last_from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); last_to =
--   to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: metric, entity, this_value, last_value, this_successes, this_trials, last_successes,
--   last_trials
WITH sides AS (
  SELECT 'this' AS side, {this_from} AS f, {this_to} AS t
  UNION ALL SELECT 'last', {last_from}, {last_to}
),
e AS (
  SELECT s.side, user_id, event FROM events x JOIN sides s ON x.ts >= s.f AND x.ts < s.t
),
active AS (SELECT side, count(DISTINCT user_id) AS n FROM e GROUP BY side),
used AS (SELECT side, event, count(DISTINCT user_id) AS users FROM e GROUP BY side, event),
t AS (SELECT u.event, u.users, a.n FROM used u JOIN active a ON a.side = u.side WHERE u.side = 'this'),
l AS (SELECT u.event, u.users, a.n FROM used u JOIN active a ON a.side = u.side WHERE u.side = 'last')
SELECT 'adoption' AS metric, t.event AS entity,
       t.users / CAST(t.n AS DOUBLE) AS this_value, l.users / CAST(l.n AS DOUBLE) AS last_value,
       t.users AS this_successes, t.n AS this_trials, l.users AS last_successes, l.n AS last_trials
FROM t JOIN l ON l.event = t.event
