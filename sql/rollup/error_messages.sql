-- daily_error_messages / weekly_error_messages: the most frequent error messages of the period
-- with the same period one week earlier. Sources: requests with an `error_message` (message
-- prefixed by the service), and events named `error` or ending in `_error` (message from
-- properties.message, else the event name). Top 50 by count.
-- Tables: requests, events
-- Parameters: {period_start} (RFC 3339), {from}/{to} (the period, [from, to)),
--   {date_from}/{date_to} (its partition dates), {prev_from}/{prev_to} and
--   {prev_date_from}/{prev_date_to} (the same period one week earlier).
-- Example: date_from = '2026-11-02'; date_to = '2026-11-02'; prev_date_from = '2026-10-26';
--   prev_date_to = '2026-10-26'; from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-03T00:00:00Z'); prev_from =
--   to_timestamp_micros('2026-10-26T00:00:00Z'); prev_to =
--   to_timestamp_micros('2026-10-27T00:00:00Z'); period_start =
--   to_timestamp_micros('2026-11-02T00:00:00Z')
-- Columns: period_start, source, message, count, previous_count, change, relative_change
WITH msgs AS (
  SELECT 'request' AS source, coalesce(service, 'unknown') || ': ' || error_message AS message, ts, date
  FROM requests
  WHERE error_message IS NOT NULL
    AND ((date >= {date_from} AND date <= {date_to}) OR (date >= {prev_date_from} AND date <= {prev_date_to}))
  UNION ALL
  SELECT 'event', coalesce(json_get_str(properties, 'message'), event), ts, date
  FROM events
  WHERE (event = 'error' OR event LIKE '%\_error' ESCAPE '\')
    AND ((date >= {date_from} AND date <= {date_to}) OR (date >= {prev_date_from} AND date <= {prev_date_to}))
),
cur AS (
  SELECT source, message, count(*) AS n FROM msgs
  WHERE ts >= {from} AND ts < {to} GROUP BY source, message
),
prev AS (
  SELECT source, message, count(*) AS n FROM msgs
  WHERE ts >= {prev_from} AND ts < {prev_to} GROUP BY source, message
)
SELECT {period_start} AS period_start, c.source, c.message, c.n AS count,
       coalesce(p.n, 0) AS previous_count, c.n - coalesce(p.n, 0) AS change,
       CASE WHEN p.n > 0 THEN (c.n - p.n) / CAST(p.n AS DOUBLE) END AS relative_change
FROM cur c LEFT JOIN prev p ON p.source = c.source AND p.message = c.message
ORDER BY count DESC, c.source, c.message
LIMIT 50
