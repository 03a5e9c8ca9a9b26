-- hourly_business_metrics: product and business figures per hour (one row per hour).
-- Tables: events
-- Parameters: {date_from}/{date_to} (partition dates) and {from}/{to} (RFC 3339, [from, to)):
--   the hours computed, one result row set per hour.
-- active_users: distinct user_id of any event; sessions: distinct session_id;
-- purchasing_users: distinct user_id with a `purchase` event; conversion_rate =
-- purchasing_users / active_users; revenue and orders from `purchase` events.
-- Example: date_from = '2026-11-02'; date_to = '2026-11-02'; from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); to = to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: hour_start, active_users, sessions, purchasing_users, conversion_rate, orders, revenue
SELECT date_bin(INTERVAL '1 hour', ts) AS hour_start,
       count(DISTINCT user_id) AS active_users,
       count(DISTINCT session_id) AS sessions,
       count(DISTINCT CASE WHEN event = 'purchase' THEN user_id END) AS purchasing_users,
       CASE WHEN count(DISTINCT user_id) > 0
            THEN count(DISTINCT CASE WHEN event = 'purchase' THEN user_id END) / CAST(count(DISTINCT user_id) AS DOUBLE)
       END AS conversion_rate,
       sum(CASE WHEN event = 'purchase' THEN 1 ELSE 0 END) AS orders,
       coalesce(sum(CASE WHEN event = 'purchase' THEN revenue END), 0.0) AS revenue
FROM events
WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
GROUP BY date_bin(INTERVAL '1 hour', ts)
ORDER BY hour_start
