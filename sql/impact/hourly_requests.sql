-- Per hour of a baseline and an after period: one service's requests and distinct users
-- (throughput, and the denominator of cost per user).
-- Parameters: service; before_start, before_end, after_start, after_end (periods [start, end))
--   (the block between `params:begin` and `params:end` is replaced by postlaunch; the values
--   here are the demo's).
-- Columns: arm, hour, requests, users
WITH params AS (
  -- params:begin
  SELECT 'checkout' AS service,
         to_timestamp_micros('2026-11-03T15:00:00Z') AS before_start,
         to_timestamp_micros('2026-11-05T15:00:00Z') AS before_end,
         to_timestamp_micros('2026-11-10T15:00:00Z') AS after_start,
         to_timestamp_micros('2026-11-12T15:00:00Z') AS after_end
  -- params:end
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
