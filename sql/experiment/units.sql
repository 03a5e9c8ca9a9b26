-- Units of an experiment entering in a window, per variant: for the sample-ratio check and the
-- multi-variant exclusion. A unit (user) enters at its first exposure (over all time before
-- `window_end`) if that falls in [window_start, window_end). `variant` is NULL for units seen in
-- more than one variant (they are excluded from every metric).
-- Parameters: experiment, window_start, window_end (the block between `params:begin` and
--   `params:end` is replaced by postlaunch; the values here are the demo's).
-- Columns: variant, units, first_exposure, last_exposure
WITH params AS (
  -- params:begin
  SELECT 'checkout_redesign' AS experiment,
         to_timestamp_micros('2026-11-02T00:00:00Z') AS window_start,
         to_timestamp_micros('2027-01-01T00:00:00Z') AS window_end
  -- params:end
),
first_exposure AS (
  SELECT x.user_id,
         min(x.variant) AS variant,
         min(x.ts) AS first_ts,
         count(DISTINCT x.variant) AS variants
  FROM exposures x CROSS JOIN params p
  WHERE x.experiment = p.experiment AND x.ts < p.window_end
  GROUP BY x.user_id
)
SELECT CASE WHEN f.variants = 1 THEN f.variant END AS variant,
       count(*) AS units,
       min(f.first_ts) AS first_exposure,
       max(f.first_ts) AS last_exposure
FROM first_exposure f CROSS JOIN params p
WHERE f.first_ts >= p.window_start
GROUP BY CASE WHEN f.variants = 1 THEN f.variant END
ORDER BY variant;
