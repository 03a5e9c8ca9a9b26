-- The week-over-week changes a `[[trend]]` rule judges (pipelines/alerts.toml): the rows of
-- `weekly_trends` (`postlaunch trends --store`) of the weeks starting in [from, to).
-- Tables: weekly_trends
-- Parameters: {from}, {to}: week starts, [from, to).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-16T00:00:00Z')
-- Columns: week_start, metric, entity, this_week, last_week, rel_change, p_value
SELECT week_start, metric, entity, this_week, last_week, rel_change, p_value
FROM weekly_trends
WHERE week_start >= {from} AND week_start < {to}
ORDER BY week_start, metric, entity;
