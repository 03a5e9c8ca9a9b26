-- Week-over-week adoption of every event (a rate: its users of the week's active users), from
-- weekly_feature_adoption.
-- Tables: weekly_feature_adoption
-- Parameters: {week_start}/{prev_start} (RFC 3339): the Monday 00:00 UTC of the week and of the
--   week before; the weekly roll-ups store each week under that time.
-- Columns: week_start, metric, entity, this_week, last_week, this_successes, this_trials,
--   last_successes, last_trials
WITH t AS (SELECT * FROM weekly_feature_adoption WHERE period_start = TIMESTAMP '{week_start}'),
     l AS (SELECT * FROM weekly_feature_adoption WHERE period_start = TIMESTAMP '{prev_start}')
SELECT TIMESTAMP '{week_start}' AS week_start, 'adoption' AS metric, t.event AS entity,
       t.adoption AS this_week, l.adoption AS last_week,
       t.users AS this_successes, t.active_users AS this_trials,
       l.users AS last_successes, l.active_users AS last_trials
FROM t JOIN l ON l.event = t.event
