-- Business figures of two periods from the raw events (distinct users do not add up across
-- hours): active users (distinct over each period, so only comparable between periods of the
-- same length), revenue per day, and conversion (a rate: purchasing users of active users).
-- Tables: events
-- Parameters: {this_from}/{this_to} and {last_from}/{last_to} (RFC 3339, [from, to)): the period
--   and the one it is compared with (the week before for weekly_trends; the launch range for
--   monthly_review); {this_days}/{last_days}: their lengths in days.
-- The periods may overlap (the launch inside the last 30 days): each side is computed on its
-- own.
-- Example: this_from = to_timestamp_micros('2026-11-03T00:00:00Z'); this_to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); last_from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); last_to =
--   to_timestamp_micros('2026-11-03T00:00:00Z'); this_days = 1.0; last_days = 1.0
-- Columns: metric, entity, this_value, last_value, this_successes, this_trials, last_successes,
--   last_trials
WITH sides AS (
  SELECT 'this' AS side, {this_from} AS f, {this_to} AS t
  UNION ALL SELECT 'last', {last_from}, {last_to}
),
e AS (
  SELECT s.side, user_id, event, revenue FROM events x JOIN sides s ON x.ts >= s.f AND x.ts < s.t
),
w AS (
  SELECT side, count(DISTINCT user_id) AS active_users,
         count(DISTINCT CASE WHEN event = 'purchase' THEN user_id END) AS purchasing_users,
         coalesce(sum(CASE WHEN event = 'purchase' THEN revenue END), 0.0) AS revenue
  FROM e GROUP BY side
),
t AS (SELECT * FROM w WHERE side = 'this'),
l AS (SELECT * FROM w WHERE side = 'last')
SELECT 'active_users' AS metric, 'product' AS entity,
       CAST(t.active_users AS DOUBLE) AS this_value, CAST(l.active_users AS DOUBLE) AS last_value,
       CAST(NULL AS BIGINT) AS this_successes, CAST(NULL AS BIGINT) AS this_trials,
       CAST(NULL AS BIGINT) AS last_successes, CAST(NULL AS BIGINT) AS last_trials
FROM t CROSS JOIN l
UNION ALL
SELECT 'revenue_per_day', 'product', t.revenue / {this_days}, l.revenue / {last_days}, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
FROM t CROSS JOIN l
UNION ALL
SELECT 'conversion_rate', 'product', t.purchasing_users / CAST(t.active_users AS DOUBLE),
       l.purchasing_users / CAST(l.active_users AS DOUBLE),
       t.purchasing_users, t.active_users, l.purchasing_users, l.active_users
FROM t CROSS JOIN l
WHERE t.active_users > 0 AND l.active_users > 0
