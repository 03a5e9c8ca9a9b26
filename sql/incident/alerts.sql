-- The alert transitions of a range that can belong to an incident: firing, escalated and
-- resolved, not silenced, with when they were decided (wall_time) and the estimated start of the
-- breach (onset) — the first alert of an incident ends its MTTD; its onset is the impact start
-- when nobody recorded one.
-- Tables: alerts
-- Parameters: {from}, {to}: event time, [from, to).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: event_time, wall_time, rule, entity_kind, entity, change, severity, onset, value,
--   threshold
SELECT event_time, wall_time, rule, entity_kind, entity, change, severity, onset, value, threshold
FROM alerts
WHERE event_time >= {from} AND event_time < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  AND change IN ('firing', 'escalated', 'resolved')
  AND silenced IS NULL
ORDER BY event_time, rule, entity
