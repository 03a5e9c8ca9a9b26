-- Units of an experiment entering in a window, per hour of first exposure and variant: for the
-- sample-ratio check and the multi-variant exclusion. A unit (user) enters at its first exposure
-- (over all time before `window_end`) if that falls in [window_start, window_end). `variant` is
-- NULL for units seen in more than one variant (they are excluded from every metric). Grouped by
-- cohort hour like the metric statistics, so that a shorter window ending at `window_end` is the
-- sum of its last hours.
-- Parameters: experiment, window_start, window_end
-- Example: experiment = 'checkout_redesign'; window_start =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); window_end =
--   to_timestamp_micros('2027-01-01T00:00:00Z')
-- Columns: cohort_hour, variant, units
WITH params AS (
  SELECT {experiment} AS experiment,
         {window_start} AS window_start,
         {window_end} AS window_end
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
SELECT date_trunc('hour', f.first_ts) AS cohort_hour,
       CASE WHEN f.variants = 1 THEN f.variant END AS variant,
       count(*) AS units
FROM first_exposure f CROSS JOIN params p
WHERE f.first_ts >= p.window_start
GROUP BY date_trunc('hour', f.first_ts), CASE WHEN f.variants = 1 THEN f.variant END
ORDER BY cohort_hour, variant;
