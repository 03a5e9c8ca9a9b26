-- Infrastructure cost per active user, per day: the `infra_cost_usd` metric summed over the day
-- (every host and service) over the users with an event that day.
-- Tables: metrics, events
-- Parameters: {from}, {to}: [from, to) of ts.
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: day, cost_usd, active_users, cost_per_user_usd
WITH cost AS (
  SELECT date_trunc('day', ts) AS day, sum(value) AS cost_usd
  FROM metrics
  WHERE name = 'infra_cost_usd' AND ts >= {from} AND ts < {to}
    AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  GROUP BY date_trunc('day', ts)
),
users AS (
  SELECT date_trunc('day', ts) AS day, count(DISTINCT user_id) AS active_users
  FROM events
  WHERE user_id IS NOT NULL AND ts >= {from} AND ts < {to}
    AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  GROUP BY date_trunc('day', ts)
)
SELECT c.day, c.cost_usd, u.active_users,
       CASE WHEN u.active_users > 0 THEN c.cost_usd / u.active_users END AS cost_per_user_usd
FROM cost c JOIN users u ON c.day = u.day
ORDER BY c.day
