-- Feature adoption over the days of a range: per feature event, the users who used it and its
-- mean daily adoption (users / active users); the Business page.
-- Tables: daily_feature_adoption
-- Parameters: {from}, {to}: [from, to) of period_start (days).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: event, days, users, events, adoption
SELECT event, count(*) AS days, sum(users) AS users, sum(events) AS events,
       avg(adoption) AS adoption
FROM daily_feature_adoption
WHERE period_start >= {from} AND period_start < {to}
GROUP BY event
ORDER BY adoption DESC, event
