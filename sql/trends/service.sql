-- Service figures of two periods, from hourly_service_metrics (all endpoints of a service
-- together): requests per day, error rate (a rate: errors of requests) and p95 latency (merged sketches).
-- Tables: hourly_service_metrics
-- Parameters: {this_from}/{this_to} and {last_from}/{last_to} (RFC 3339, [from, to)): the period
--   and the one it is compared with (the week before for weekly_trends; the launch range for
--   monthly_review); {this_days}/{last_days}: their lengths in days.
-- The periods may overlap (the launch inside the last 30 days): each side is computed on its
-- own.
-- Example: this_from = to_timestamp_micros('2026-11-03T00:00:00Z'); this_to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); last_from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); last_to =
--   to_timestamp_micros('2026-11-03T00:00:00Z'); this_days = 1.0; last_days = 1.0
-- Columns: metric, entity, this_value, last_value, this_successes, this_trials, last_successes,
--   last_trials
WITH sides AS (
  SELECT 'this' AS side, {this_from} AS f, {this_to} AS t
  UNION ALL SELECT 'last', {last_from}, {last_to}
),
w AS (
  SELECT s.side, service, sum(requests) AS requests, sum(errors) AS errors,
         ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95_ms
  FROM hourly_service_metrics x JOIN sides s ON x.hour_start >= s.f AND x.hour_start < s.t
  WHERE x.version = '*'
  GROUP BY s.side, service
),
t AS (SELECT * FROM w WHERE side = 'this'),
l AS (SELECT * FROM w WHERE side = 'last')
SELECT 'requests_per_day' AS metric, t.service AS entity,
       t.requests / {this_days} AS this_value, l.requests / {last_days} AS last_value,
       CAST(NULL AS BIGINT) AS this_successes, CAST(NULL AS BIGINT) AS this_trials,
       CAST(NULL AS BIGINT) AS last_successes, CAST(NULL AS BIGINT) AS last_trials
FROM t JOIN l ON l.service = t.service
UNION ALL
SELECT 'error_rate', t.service, t.errors / CAST(t.requests AS DOUBLE), l.errors / CAST(l.requests AS DOUBLE),
       t.errors, t.requests, l.errors, l.requests
FROM t JOIN l ON l.service = t.service
UNION ALL
SELECT 'p95_ms', t.service, t.p95_ms, l.p95_ms, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
FROM t JOIN l ON l.service = t.service
