-- Opportunities from regressions: every (service, endpoint, metric) in hourly_regressions during
-- the period, with its largest ratio to the baseline and the deployment in effect; reach = the
-- endpoint's requests in the period.
-- Tables: hourly_regressions, hourly_service_metrics
-- Parameters: {this_from}/{this_to} (RFC 3339, [from, to)): the period.
-- Example: this_from = to_timestamp_micros('2026-11-03T00:00:00Z'); this_to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: kind, subject, detail, reach, reach_unit, value
WITH r AS (
  SELECT service, endpoint, metric, max(ratio) AS ratio, max(deployment) AS deployment, count(*) AS hours
  FROM hourly_regressions
  WHERE hour_start >= {this_from} AND hour_start < {this_to}
  GROUP BY service, endpoint, metric
),
n AS (
  SELECT service, endpoint, sum(requests) AS requests FROM hourly_service_metrics
  WHERE version = '*' AND hour_start >= {this_from} AND hour_start < {this_to}
  GROUP BY service, endpoint
)
SELECT 'regression' AS kind, r.service || ' ' || r.endpoint || ' ' || r.metric AS subject,
       'up to ' || CAST(round(r.ratio, 2) AS VARCHAR) || 'x the baseline over ' || CAST(r.hours AS VARCHAR)
         || ' hours' || coalesce(' after ' || r.deployment, '') AS detail,
       coalesce(n.requests, 0) AS reach, 'requests' AS reach_unit, r.ratio AS value
FROM r LEFT JOIN n ON n.service = r.service AND n.endpoint = r.endpoint
ORDER BY reach DESC, subject
