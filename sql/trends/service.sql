-- Week-over-week service figures from weekly_service_metrics (all endpoints of a service
-- together): requests, error rate (a rate: errors of requests) and p95 latency (merged sketches).
-- Tables: weekly_service_metrics
-- Parameters: {week_start}/{prev_start} (RFC 3339): the Monday 00:00 UTC of the week and of the
--   week before; the weekly roll-ups store each week under that time.
-- Columns: week_start, metric, entity, this_week, last_week, this_successes, this_trials,
--   last_successes, last_trials
WITH w AS (
  SELECT period_start, service, sum(requests) AS requests, sum(errors) AS errors,
         ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95_ms
  FROM weekly_service_metrics
  WHERE version = '*' AND period_start IN (TIMESTAMP '{week_start}', TIMESTAMP '{prev_start}')
  GROUP BY period_start, service
),
t AS (SELECT * FROM w WHERE period_start = TIMESTAMP '{week_start}'),
l AS (SELECT * FROM w WHERE period_start = TIMESTAMP '{prev_start}')
SELECT TIMESTAMP '{week_start}' AS week_start, 'requests' AS metric, t.service AS entity,
       CAST(t.requests AS DOUBLE) AS this_week, CAST(l.requests AS DOUBLE) AS last_week,
       CAST(NULL AS BIGINT) AS this_successes, CAST(NULL AS BIGINT) AS this_trials,
       CAST(NULL AS BIGINT) AS last_successes, CAST(NULL AS BIGINT) AS last_trials
FROM t JOIN l ON l.service = t.service
UNION ALL
SELECT TIMESTAMP '{week_start}', 'error_rate', t.service,
       t.errors / CAST(t.requests AS DOUBLE), l.errors / CAST(l.requests AS DOUBLE),
       t.errors, t.requests, l.errors, l.requests
FROM t JOIN l ON l.service = t.service
UNION ALL
SELECT TIMESTAMP '{week_start}', 'p95_ms', t.service, t.p95_ms, l.p95_ms,
       CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)
FROM t JOIN l ON l.service = t.service
