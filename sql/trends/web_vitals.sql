-- p75 of each web vital over all pages and devices in two periods (merged sketches of
-- hourly_web_vitals).
-- Tables: hourly_web_vitals
-- Parameters: {this_from}/{this_to} and {last_from}/{last_to} (RFC 3339, [from, to)): the period
--   and the one it is compared with (the week before for weekly_trends; the launch range for
--   monthly_review); {this_days}/{last_days}: their lengths in days.
-- The periods may overlap (the launch inside the last 30 days): each side is computed on its
-- own.
-- Example: this_from = to_timestamp_micros('2026-11-03T00:00:00Z'); this_to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); last_from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); last_to =
--   to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: metric, entity, this_value, last_value, this_successes, this_trials, last_successes,
--   last_trials
WITH sides AS (
  SELECT 'this' AS side, {this_from} AS f, {this_to} AS t
  UNION ALL SELECT 'last', {last_from}, {last_to}
),
w AS (
  SELECT s.side, vital, ddsketch_quantile(ddsketch_merge(value_sketch), 0.75) AS p75
  FROM hourly_web_vitals x JOIN sides s ON x.hour_start >= s.f AND x.hour_start < s.t
  GROUP BY s.side, vital
)
SELECT 'p75_' || t.vital AS metric, 'web' AS entity, t.p75 AS this_value, l.p75 AS last_value,
       CAST(NULL AS BIGINT) AS this_successes, CAST(NULL AS BIGINT) AS this_trials,
       CAST(NULL AS BIGINT) AS last_successes, CAST(NULL AS BIGINT) AS last_trials
FROM w t JOIN w l ON l.vital = t.vital
WHERE t.side = 'this' AND l.side = 'last'
