-- Backlog candidates, performance: endpoints whose p95 over the period is above the latency
-- target, by p95 × requests (the time users spend waiting). Reach: the users with at least one
-- request to the endpoint slower than the target. Measure: p95 / target. p95 from the merged
-- hourly sketches (DDSketch, 1 % relative accuracy), as the dashboards and `opportunities` do.
-- Tables: requests, hourly_service_metrics
-- Parameters: {from}/{to} (the period, [from, to)), {date_from}/{date_to} (its partition
--   dates), {latency_target_ms} (`[targets] latency_p95_ms` of pipelines/backlog.toml).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); date_from = '2026-11-02'; date_to =
--   '2026-11-03'; latency_target_ms = 300.0
-- Columns: kind, category, subject, detail, reach, reach_unit, measure, samples
WITH p AS (
  SELECT service, endpoint, sum(requests) AS requests,
         ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95
  FROM hourly_service_metrics
  WHERE version = '*' AND hour_start >= {from} AND hour_start < {to}
  GROUP BY service, endpoint
),
u AS (
  SELECT service, endpoint, count(DISTINCT user_id) AS slow_users, count(*) AS slow_requests
  FROM requests
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
    AND duration_ms > {latency_target_ms}
  GROUP BY service, endpoint
)
SELECT 'slow_endpoint' AS kind, 'performance' AS category, p.service || ' ' || p.endpoint AS subject,
       'p95 ' || CAST(round(p.p95) AS VARCHAR) || ' ms (target ' || CAST({latency_target_ms} AS VARCHAR)
         || ' ms) over ' || CAST(p.requests AS VARCHAR) || ' requests; '
         || CAST(coalesce(u.slow_requests, 0) AS VARCHAR) || ' slower than the target' AS detail,
       coalesce(u.slow_users, 0) AS reach, 'users' AS reach_unit,
       p.p95 / {latency_target_ms} AS measure, p.requests AS samples
FROM p LEFT JOIN u ON u.service = p.service AND u.endpoint = p.endpoint
WHERE p.p95 > {latency_target_ms}
ORDER BY p.p95 * p.requests DESC, subject
LIMIT 10
