-- Each funnel's steps over the days of entry of a range (`postlaunch funnel --write-daily`):
-- users per step, conversion from the start and the previous step, drop-off; the Business page.
-- Tables: daily_funnel_steps
-- Parameters: {from}, {to}: [from, to) of the day of entry.
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: funnel, step, label, users, dropped, conversion_from_previous, conversion_from_start
SELECT funnel, step, label, users, dropped,
       CAST(users AS DOUBLE) / nullif(CAST(lag(users) OVER (PARTITION BY funnel ORDER BY step) AS DOUBLE), 0)
         AS conversion_from_previous,
       CAST(users AS DOUBLE) / nullif(CAST(first_value(users) OVER (PARTITION BY funnel ORDER BY step) AS DOUBLE), 0)
         AS conversion_from_start
FROM (
  SELECT funnel, step, min(label) AS label, sum(users) AS users, sum(dropped) AS dropped
  FROM daily_funnel_steps
  WHERE breakdown IS NULL AND day_start >= {from} AND day_start < {to}
  GROUP BY funnel, step
) s
ORDER BY funnel, step
