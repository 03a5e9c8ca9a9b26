-- The first successful notification of each alert transition on each channel: when a person was
-- told (wall_time; latency_ms is the time it spent queued and retried). Time to notify is
-- wall_time − the transition's decision (`alerts.wall_time`), which holds for live alerts and
-- replays alike.
-- Tables: notifications
-- Parameters: {from}, {to}: the transitions' event time, [from, to).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: alert, channel, change, event_time, wall_time
SELECT alert, channel, change, event_time, min(wall_time) AS wall_time
FROM notifications
WHERE status = 'sent' AND event_time >= {from} AND event_time < {to}
GROUP BY alert, channel, change, event_time
ORDER BY wall_time, alert, channel
