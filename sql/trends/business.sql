-- Week-over-week business figures from weekly_business_metrics: active users, revenue, and
-- conversion (a rate: purchasing users of active users).
-- Tables: weekly_business_metrics
-- Parameters: {week_start}/{prev_start} (RFC 3339): the Monday 00:00 UTC of the week and of the
--   week before; the weekly roll-ups store each week under that time.
-- Columns: week_start, metric, entity, this_week, last_week, this_successes, this_trials,
--   last_successes, last_trials
WITH t AS (SELECT * FROM weekly_business_metrics WHERE period_start = TIMESTAMP '{week_start}'),
     l AS (SELECT * FROM weekly_business_metrics WHERE period_start = TIMESTAMP '{prev_start}')
SELECT TIMESTAMP '{week_start}' AS week_start, 'active_users' AS metric, 'product' AS entity,
       CAST(t.active_users AS DOUBLE) AS this_week, CAST(l.active_users AS DOUBLE) AS last_week,
       CAST(NULL AS BIGINT) AS this_successes, CAST(NULL AS BIGINT) AS this_trials,
       CAST(NULL AS BIGINT) AS last_successes, CAST(NULL AS BIGINT) AS last_trials
FROM t CROSS JOIN l
UNION ALL
SELECT TIMESTAMP '{week_start}', 'revenue', 'product', t.revenue, l.revenue,
       CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
FROM t CROSS JOIN l
UNION ALL
SELECT TIMESTAMP '{week_start}', 'conversion_rate', 'product', t.conversion_rate, l.conversion_rate,
       t.purchasing_users, t.active_users, l.purchasing_users, l.active_users
FROM t CROSS JOIN l
