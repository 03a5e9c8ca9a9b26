-- Per hour of a baseline and an after period: one service's requests and distinct users
-- (throughput, and the denominator of cost per user).
-- Parameters: service; before_start, before_end, after_start, after_end (periods [start, end))
-- Example: service = 'checkout'; before_start = to_timestamp_micros('2026-11-03T15:00:00Z');
--   before_end = to_timestamp_micros('2026-11-05T15:00:00Z'); after_start =
--   to_timestamp_micros('2026-11-10T15:00:00Z'); after_end =
--   to_timestamp_micros('2026-11-12T15:00:00Z')
-- Columns: arm, hour, requests, users
WITH params AS (
  SELECT {service} AS service,
         {before_start} AS before_start,
         {before_end} AS before_end,
         {after_start} AS after_start,
         {after_end} AS after_end
)
SELECT CASE WHEN r.ts >= p.after_start THEN 'after' ELSE 'before' END AS arm,
       date_trunc('hour', r.ts) AS hour,
       count(*) AS requests,
       count(DISTINCT r.user_id) AS users
FROM requests r CROSS JOIN params p
WHERE r.service = p.service
  AND ((r.ts >= p.before_start AND r.ts < p.before_end) OR (r.ts >= p.after_start AND r.ts < p.after_end))
GROUP BY 1, 2
ORDER BY 1, 2;
