-- Each service's good and bad requests over an SLO's window: bad is a 5xx (availability) or,
-- with a latency level, slower than it (from the merged sketch); the Overview's error budgets.
-- Tables: hourly_service_metrics, daily_service_metrics
-- Parameters: {from}, {to}: [from, to); {day_from}, {day_to}: the whole UTC days inside it,
--   [day_from, day_to), read from the daily roll-ups (both `{to}` when it holds none); the
--   hours outside them come from the hourly tables. Only the partitions of those dates are read.
--   {latency_ms}: the latency level (ms), or NULL for an availability SLO.
-- Example: from = to_timestamp_micros('2026-10-05T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-03T12:00:00Z'); day_from = to_timestamp_micros('2026-10-05T00:00:00Z');
--   day_to = to_timestamp_micros('2026-11-03T00:00:00Z'); latency_ms = NULL
-- Columns: service, requests, bad
WITH service AS (
  SELECT service, requests, errors, latency_sketch FROM daily_service_metrics WHERE version = '*' AND period_start >= {day_from} AND period_start < {day_to}
        AND date >= to_char({day_from}, '%Y-%m-%d') AND date <= to_char({day_to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  UNION ALL
  SELECT service, requests, errors, latency_sketch FROM hourly_service_metrics WHERE version = '*' AND ((hour_start >= {from} AND hour_start < {day_from}) OR (hour_start >= {day_to} AND hour_start < {to}))
        AND ((date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({day_from} - INTERVAL '1 microsecond', '%Y-%m-%d'))
          OR (date >= to_char({day_to}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')))
)
SELECT service, sum(requests) AS requests,
       CASE WHEN {latency_ms} IS NULL THEN sum(errors)
            ELSE ddsketch_count_above(ddsketch_merge(latency_sketch), {latency_ms}) END AS bad
FROM service
GROUP BY service
HAVING sum(requests) > 0
ORDER BY service
