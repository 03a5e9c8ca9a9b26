-- daily_feature_adoption / weekly_feature_adoption: per event name, users and their share of
-- the period's active users, from the period's raw events (distinct users do not add up).
-- Tables: events
-- Parameters: {period_start} (RFC 3339), {from}/{to} (the period, [from, to)), {date_from}/{date_to}
--   (its first and last partition dates, for pruning), {seconds} (its length).
-- Example: date_from = '2026-11-02'; date_to = '2026-11-02'; from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); to = to_timestamp_micros('2026-11-03T00:00:00Z');
--   period_start = to_timestamp_micros('2026-11-02T00:00:00Z')
-- Columns: period_start, event, users, events, active_users, adoption
WITH e AS (
  SELECT event, user_id FROM events
  WHERE date >= {date_from} AND date <= {date_to}
    AND ts >= {from} AND ts < {to}
),
active AS (SELECT count(DISTINCT user_id) AS n FROM e)
SELECT {period_start} AS period_start, e.event, count(DISTINCT e.user_id) AS users,
       count(*) AS events, max(active.n) AS active_users,
       count(DISTINCT e.user_id) / CAST(max(active.n) AS DOUBLE) AS adoption
FROM e CROSS JOIN active
GROUP BY e.event
ORDER BY e.event
