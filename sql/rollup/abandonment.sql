-- daily_abandonment / weekly_abandonment: where the sessions that did not convert ended. For
-- every session with events in the period and no `purchase` among them, its last event (by ts,
-- then event name); the top 20 last events with their session counts and share of all such
-- sessions. A session that crosses the period's edge counts with its events inside the period.
-- Tables: events
-- Parameters: {period_start} (RFC 3339), {from}/{to} (the period, [from, to)), {date_from}/{date_to}
--   (its first and last partition dates, for pruning).
-- Example: date_from = '2026-11-02'; date_to = '2026-11-02'; from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); to = to_timestamp_micros('2026-11-03T00:00:00Z');
--   period_start = to_timestamp_micros('2026-11-02T00:00:00Z')
-- Columns: period_start, rank, last_event, sessions, share
WITH s AS (
  SELECT session_id, event,
         row_number() OVER (PARTITION BY session_id ORDER BY ts DESC, event DESC) AS rn,
         max(CASE WHEN event = 'purchase' THEN 1 ELSE 0 END) OVER (PARTITION BY session_id) AS converted
  FROM events
  WHERE date >= {date_from} AND date <= {date_to}
    AND ts >= {from} AND ts < {to} AND session_id IS NOT NULL
),
ended AS (SELECT event AS last_event FROM s WHERE rn = 1 AND converted = 0),
total AS (SELECT count(*) AS n FROM ended),
counted AS (
  SELECT last_event, count(*) AS sessions FROM ended GROUP BY last_event
)
SELECT {period_start} AS period_start,
       row_number() OVER (ORDER BY c.sessions DESC, c.last_event) AS rank,
       c.last_event, c.sessions, c.sessions / CAST(t.n AS DOUBLE) AS share
FROM counted c CROSS JOIN total t
ORDER BY rank
LIMIT 20
