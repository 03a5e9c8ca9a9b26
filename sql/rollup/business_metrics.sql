-- daily_business_metrics / weekly_business_metrics: the business figures over a day or an ISO
-- week. Distinct users and sessions do not add up across hours, so this one reads the period's
-- raw events (one day or week of the events table, pruned by partition).
-- Tables: events
-- Parameters: {period_start} (RFC 3339), {from}/{to} (the period, [from, to)), {date_from}/{date_to}
--   (its first and last partition dates, for pruning), {seconds} (its length).
-- Example: period_start = to_timestamp_micros('2026-11-02T00:00:00Z'); date_from = '2026-11-02';
--   date_to = '2026-11-02'; from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: period_start, active_users, sessions, purchasing_users, conversion_rate, orders, revenue
SELECT {period_start} AS period_start,
       count(DISTINCT user_id) AS active_users,
       count(DISTINCT session_id) AS sessions,
       count(DISTINCT CASE WHEN event = 'purchase' THEN user_id END) AS purchasing_users,
       CASE WHEN count(DISTINCT user_id) > 0
            THEN count(DISTINCT CASE WHEN event = 'purchase' THEN user_id END) / CAST(count(DISTINCT user_id) AS DOUBLE)
       END AS conversion_rate,
       sum(CASE WHEN event = 'purchase' THEN 1 ELSE 0 END) AS orders,
       coalesce(sum(CASE WHEN event = 'purchase' THEN revenue END), 0.0) AS revenue
FROM events
WHERE date >= {date_from} AND date <= {date_to}
  AND ts >= {from} AND ts < {to}
HAVING count(*) > 0
