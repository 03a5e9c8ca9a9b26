-- hourly_feature_adoption: for every event name, the users who sent it and their share of the
-- hour's active users (distinct user_id of any event), so a new feature's uptake shows.
-- Tables: events
-- Parameters: {date}, {hour}, {hour_start}.
-- Columns: hour_start, event, users, events, active_users, adoption
WITH e AS (
  SELECT event, user_id FROM events WHERE date = '{date}' AND hour = '{hour}'
),
active AS (SELECT count(DISTINCT user_id) AS n FROM e)
SELECT TIMESTAMP '{hour_start}' AS hour_start, e.event, count(DISTINCT e.user_id) AS users,
       count(*) AS events, max(active.n) AS active_users,
       count(DISTINCT e.user_id) / CAST(max(active.n) AS DOUBLE) AS adoption
FROM e CROSS JOIN active
GROUP BY e.event
ORDER BY e.event
