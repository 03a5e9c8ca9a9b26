-- Per-hour, per-arm sufficient statistics of an event metric of an experiment.
-- Units are users; a unit enters at its first exposure (over all time before `window_end`) if
-- that falls in [window_start, window_end); units seen in more than one variant are left out
-- (units.sql counts them). A unit's value x counts its `event` events (or sums their revenue when
-- value_kind = 'revenue') strictly after its first exposure and before `window_end`; y counts
-- its `denominator_event` events the same way (ratio metrics). Units without events are zeros.
-- Grouping by the hour of first exposure lets any window ending at `window_end` be summed from
-- these rows.
-- Parameters: experiment, window_start, window_end, event, value_kind ('count' or 'revenue'),
--   denominator_event
-- Example: experiment = 'checkout_redesign'; window_start =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); window_end =
--   to_timestamp_micros('2027-01-01T00:00:00Z'); event = 'purchase'; value_kind = 'count';
--   denominator_event = 'begin_checkout'
-- Columns: cohort_hour, variant, units, converted, sum_x, sum_x2, sum_y, sum_y2, sum_xy
WITH params AS (
  SELECT {experiment} AS experiment,
         {window_start} AS window_start,
         {window_end} AS window_end,
         {event} AS event,
         {value_kind} AS value_kind,
         {denominator_event} AS denominator_event
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
         coalesce(sum(CASE WHEN e.event = p.event
                           THEN CASE WHEN p.value_kind = 'revenue' THEN coalesce(e.revenue, 0.0) ELSE 1.0 END
                           ELSE 0.0 END), 0.0) AS x,
         coalesce(sum(CASE WHEN e.event = p.denominator_event THEN 1.0 ELSE 0.0 END), 0.0) AS y
  FROM units u
  CROSS JOIN params p
  LEFT JOIN events e
    ON e.user_id = u.user_id AND e.ts > u.first_ts AND e.ts < p.window_end
   AND (e.event = p.event OR e.event = p.denominator_event)
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
