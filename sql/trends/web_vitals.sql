-- Week-over-week p75 of each web vital over all pages and devices (merged sketches).
-- Tables: weekly_web_vitals
-- Parameters: {week_start}/{prev_start} (RFC 3339): the Monday 00:00 UTC of the week and of the
--   week before; the weekly roll-ups store each week under that time.
-- Columns: week_start, metric, entity, this_week, last_week, this_successes, this_trials,
--   last_successes, last_trials
WITH w AS (
  SELECT period_start, vital, ddsketch_quantile(ddsketch_merge(value_sketch), 0.75) AS p75
  FROM weekly_web_vitals
  WHERE period_start IN (TIMESTAMP '{week_start}', TIMESTAMP '{prev_start}')
  GROUP BY period_start, vital
)
SELECT TIMESTAMP '{week_start}' AS week_start, 'p75_' || t.vital AS metric, 'web' AS entity,
       t.p75 AS this_week, l.p75 AS last_week,
       CAST(NULL AS BIGINT) AS this_successes, CAST(NULL AS BIGINT) AS this_trials,
       CAST(NULL AS BIGINT) AS last_successes, CAST(NULL AS BIGINT) AS last_trials
FROM w t JOIN w l ON l.vital = t.vital
WHERE t.period_start = TIMESTAMP '{week_start}' AND l.period_start = TIMESTAMP '{prev_start}'
