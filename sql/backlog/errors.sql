-- Backlog candidates, reliability: the most frequent error messages of the period (a message
-- with "timeout" or "timed out" is a `timeout`). Reach: the users who got the error. Measure: the
-- error's share of its service's requests. With the same counts over the period before (the
-- week or month before), for a two-proportion test of the change.
-- Tables: requests
-- Parameters: {from}/{to} (the period, [from, to)), {date_from}/{date_to} (its partition dates),
--   {prev_from}/{prev_date_from} (the start of the period before, which ends at {from}).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); date_from = '2026-11-02'; date_to =
--   '2026-11-03'; prev_from = to_timestamp_micros('2026-10-31T00:00:00Z'); prev_date_from =
--   '2026-10-31'
-- Columns: kind, category, subject, detail, reach, reach_unit, measure, samples,
--   baseline_count, baseline_samples
WITH r AS (
  SELECT coalesce(service, 'unknown') AS service, error_message, user_id, ts >= {from} AS current
  FROM requests
  WHERE date >= {prev_date_from} AND date <= {date_to} AND ts >= {prev_from} AND ts < {to}
),
total AS (
  SELECT service, sum(CASE WHEN current THEN 1 ELSE 0 END) AS requests,
         sum(CASE WHEN current THEN 0 ELSE 1 END) AS prev_requests
  FROM r GROUP BY service
),
e AS (
  SELECT service, error_message, sum(CASE WHEN current THEN 1 ELSE 0 END) AS errors,
         sum(CASE WHEN current THEN 0 ELSE 1 END) AS prev_errors,
         count(DISTINCT CASE WHEN current THEN user_id END) AS users
  FROM r WHERE error_message IS NOT NULL
  GROUP BY service, error_message
)
SELECT CASE WHEN lower(e.error_message) LIKE '%timeout%' OR lower(e.error_message) LIKE '%timed out%'
            THEN 'timeout' ELSE 'error_message' END AS kind,
       'reliability' AS category, e.service || ': ' || e.error_message AS subject,
       CAST(e.errors AS VARCHAR) || ' errors in ' || CAST(t.requests AS VARCHAR) || ' requests of '
         || e.service || ' (' || CAST(e.prev_errors AS VARCHAR) || ' in '
         || CAST(t.prev_requests AS VARCHAR) || ' the period before)' AS detail,
       e.users AS reach, 'users' AS reach_unit,
       e.errors / CAST(t.requests AS DOUBLE) AS measure, t.requests AS samples,
       e.prev_errors AS baseline_count, t.prev_requests AS baseline_samples
FROM e JOIN total t ON t.service = e.service
WHERE e.errors > 0
ORDER BY e.errors DESC, subject
LIMIT 10
