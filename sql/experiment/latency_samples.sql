-- Request latencies served to an experiment's units after their first exposure, per variant
-- with the user who got them (quantiles do not add up over hours, so the latency test reads the
-- samples of the window; the user is the cluster of its standard error).
-- Units are entered and excluded as in units.sql; optionally one service.
-- Parameters: experiment, window_start, window_end, service ('' = all services)
-- Example: experiment = 'checkout_redesign'; window_start =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); window_end =
--   to_timestamp_micros('2027-01-01T00:00:00Z'); service = ''
-- Columns: variant, user_id, duration_ms
WITH params AS (
  SELECT {experiment} AS experiment,
         {window_start} AS window_start,
         {window_end} AS window_end,
         {service} AS service
),
first_exposure AS (
  SELECT x.user_id,
         min(x.variant) AS variant,
         min(x.ts) AS first_ts,
         count(DISTINCT x.variant) AS variants
  FROM exposures x CROSS JOIN params p
  WHERE x.experiment = p.experiment AND x.ts < p.window_end
  GROUP BY x.user_id
),
units AS (
  SELECT f.* FROM first_exposure f CROSS JOIN params p
  WHERE f.variants = 1 AND f.first_ts >= p.window_start
)
SELECT u.variant, u.user_id, CAST(r.duration_ms AS DOUBLE) AS duration_ms
FROM units u
CROSS JOIN params p
JOIN requests r
  ON r.user_id = u.user_id AND r.ts > u.first_ts AND r.ts < p.window_end
 AND (p.service = '' OR r.service = p.service)
ORDER BY u.variant, duration_ms;
