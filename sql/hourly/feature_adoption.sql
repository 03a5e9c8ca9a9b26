-- hourly_feature_adoption: for every event name, the users who sent it and their share of the
-- hour's active users (distinct user_id of any event), so a new feature's uptake shows.
-- Tables: events
-- Parameters: {date_from}/{date_to} (partition dates) and {from}/{to} (RFC 3339, [from, to)):
--   the hours computed, one result row set per hour.
-- Example: date_from = '2026-11-02'; date_to = '2026-11-02'; from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); to = to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: hour_start, event, users, events, active_users, adoption
WITH e AS (
  SELECT date_bin(INTERVAL '1 hour', ts) AS hour_start, event, user_id FROM events
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
),
active AS (SELECT hour_start, count(DISTINCT user_id) AS n FROM e GROUP BY hour_start)
SELECT e.hour_start, e.event, count(DISTINCT e.user_id) AS users,
       count(*) AS events, max(active.n) AS active_users,
       count(DISTINCT e.user_id) / CAST(max(active.n) AS DOUBLE) AS adoption
FROM e JOIN active ON active.hour_start = e.hour_start
GROUP BY e.hour_start, e.event
ORDER BY e.hour_start, e.event
