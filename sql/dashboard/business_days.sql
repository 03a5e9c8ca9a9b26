-- The business days of a range: active users, sessions, conversion, orders and revenue; the
-- Business page.
-- Tables: daily_business_metrics
-- Parameters: {from}, {to}: [from, to) of period_start (days).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: day, active_users, sessions, purchasing_users, conversion_rate, orders, revenue
SELECT period_start AS day, active_users, sessions, purchasing_users, conversion_rate, orders,
       revenue
FROM daily_business_metrics
WHERE period_start >= {from} AND period_start < {to}
ORDER BY day
