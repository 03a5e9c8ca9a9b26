-- Per-hour, per-arm sufficient statistics of the server-error rate of an experiment's units:
-- x = a unit's 5xx responses, y = its requests, strictly after its first exposure and before
-- `window_end` (optionally of one service). Units are entered and excluded as in units.sql;
-- units without requests are zeros (they add to n but not to the ratio's denominator).
-- Parameters: experiment, window_start, window_end, service ('' = all services)
-- Example: experiment = 'checkout_redesign'; window_start =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); window_end =
--   to_timestamp_micros('2027-01-01T00:00:00Z'); service = ''
-- Columns: cohort_hour, variant, units, converted, sum_x, sum_x2, sum_y, sum_y2, sum_xy
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
),
per_unit AS (
  SELECT u.user_id,
         u.variant,
         date_trunc('hour', u.first_ts) AS cohort_hour,
         coalesce(sum(CASE WHEN r.status >= 500 THEN 1.0 ELSE 0.0 END), 0.0) AS x,
         CAST(count(r.ts) AS DOUBLE) AS y
  FROM units u
  CROSS JOIN params p
  LEFT JOIN requests r
    ON r.user_id = u.user_id AND r.ts > u.first_ts AND r.ts < p.window_end
   AND (p.service = '' OR r.service = p.service)
  GROUP BY u.user_id, u.variant, date_trunc('hour', u.first_ts)
)
SELECT cohort_hour,
       variant,
       count(*) AS units,
       sum(CASE WHEN x > 0 THEN 1 ELSE 0 END) AS converted,
       sum(x) AS sum_x,
       sum(x * x) AS sum_x2,
       sum(y) AS sum_y,
       sum(y * y) AS sum_y2,
       sum(x * y) AS sum_xy
FROM per_unit
GROUP BY cohort_hour, variant
ORDER BY cohort_hour, variant;
