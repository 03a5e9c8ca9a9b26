-- hourly_regressions: every (service, endpoint, metric) whose p95 latency or error rate over the
-- current window is worse than its baseline by more than the threshold.
-- Tables: hourly_service_metrics, deployments
-- Parameters (built by the job from [hourly.baseline] and [hourly.regressions]):
--   {hour_start}, {hour_end} (the hour computed), {current_where} and {baseline_where}
--   (predicates on hourly_service_metrics rows: the current window ending with this hour, and
--   the baseline hours), {current_partitions} and {baseline_partitions} (the same hours as
--   predicates on the date/hour partition columns, whole hours around them, so that only their
--   files are read), {baseline_kind}, {threshold}, {min_samples}, {z_critical}.
-- p95 on both sides comes from merging the hours' DDSketches (1 % relative accuracy).
-- Each regression must also be significant, so that noise on a quiet endpoint does not flap:
-- * error rate: one-sided pooled two-proportion z-test, z > {z_critical};
-- * p95: a quantile exceedance test (Mood's median test moved to the 95th percentile): t is the
--   p95 of both sides pooled; under no change both sides exceed t equally often, so the shares
--   above t are compared with the same one-sided pooled z-test (counts above t from the
--   sketches).
-- Both sides need at least {min_samples} requests.
-- Example: current_where = hour_start >= TIMESTAMP '2026-11-03T12:00:00Z' AND hour_start <
--   TIMESTAMP '2026-11-03T13:00:00Z'; current_partitions = date = '2026-11-03' AND hour = '12';
--   baseline_where = hour_start >= TIMESTAMP '2026-11-02T12:00:00Z' AND hour_start < TIMESTAMP
--   '2026-11-02T13:00:00Z'; baseline_partitions = date = '2026-11-02' AND hour = '12'; hour_end =
--   to_timestamp_micros('2026-11-03T13:00:00Z'); min_samples = 200; threshold = 1.2; z_critical =
--   2.3263478740408408; hour_start = to_timestamp_micros('2026-11-03T12:00:00Z'); baseline_kind =
--   'same_hour_of_week'
-- Columns: hour_start, service, endpoint, metric, baseline_value, current_value, ratio,
--   baseline_samples, current_samples, versions, deployment, deployment_phase, deployed_at,
--   baseline_kind
WITH cur AS (
  SELECT service, endpoint, sum(requests) AS requests, sum(errors) AS errors,
         ddsketch_merge(latency_sketch) AS sketch
  FROM hourly_service_metrics
  WHERE version = '*' AND ({current_where}) AND ({current_partitions})
  GROUP BY service, endpoint
),
base AS (
  SELECT service, endpoint, sum(requests) AS requests, sum(errors) AS errors,
         ddsketch_merge(latency_sketch) AS sketch
  FROM hourly_service_metrics
  WHERE version = '*' AND ({baseline_where}) AND ({baseline_partitions})
  GROUP BY service, endpoint
),
pooled AS (
  -- Merging the two sides' merged sketches gives the buckets of all their hours together.
  SELECT service, endpoint, ddsketch_quantile(ddsketch_merge(sketch), 0.95) AS t
  FROM (SELECT service, endpoint, sketch FROM cur UNION ALL SELECT service, endpoint, sketch FROM base)
  GROUP BY service, endpoint
),
ver AS (
  SELECT service, endpoint, array_to_string(array_agg(DISTINCT version), ',') AS versions
  FROM hourly_service_metrics
  WHERE version <> '*' AND ({current_where}) AND ({current_partitions})
  GROUP BY service, endpoint
),
dep AS (
  SELECT service, version, phase, ts,
         row_number() OVER (PARTITION BY service ORDER BY ts DESC) AS rn
  FROM deployments
  WHERE ts < {hour_end}
),
pairs AS (
  SELECT c.service, c.endpoint,
         c.requests AS cur_n, c.errors AS cur_e, ddsketch_quantile(c.sketch, 0.95) AS cur_p95,
         b.requests AS base_n, b.errors AS base_e, ddsketch_quantile(b.sketch, 0.95) AS base_p95,
         ddsketch_count_above(c.sketch, p.t) AS cur_above, ddsketch_count_above(b.sketch, p.t) AS base_above
  FROM cur c
  JOIN base b ON b.service = c.service AND b.endpoint = c.endpoint
  JOIN pooled p ON p.service = c.service AND p.endpoint = c.endpoint
  WHERE c.requests >= {min_samples} AND b.requests >= {min_samples}
),
found AS (
  SELECT service, endpoint, 'p95_ms' AS metric, base_p95 AS baseline_value, cur_p95 AS current_value,
         cur_p95 / base_p95 AS ratio, base_n, cur_n
  FROM pairs
  WHERE base_p95 > 0 AND cur_p95 > base_p95 * {threshold}
    AND cur_above + base_above > 0
    AND (cur_above / CAST(cur_n AS DOUBLE) - base_above / CAST(base_n AS DOUBLE))
        / sqrt(((cur_above + base_above) / CAST(cur_n + base_n AS DOUBLE))
               * (1 - (cur_above + base_above) / CAST(cur_n + base_n AS DOUBLE))
               * (1.0 / cur_n + 1.0 / base_n)) > {z_critical}
  UNION ALL
  SELECT service, endpoint, 'error_rate', base_e / CAST(base_n AS DOUBLE), cur_e / CAST(cur_n AS DOUBLE),
         CASE WHEN base_e > 0 THEN (cur_e / CAST(cur_n AS DOUBLE)) / (base_e / CAST(base_n AS DOUBLE)) END,
         base_n, cur_n
  FROM pairs
  WHERE cur_e / CAST(cur_n AS DOUBLE) > (base_e / CAST(base_n AS DOUBLE)) * {threshold}
    AND cur_e + base_e > 0
    AND (cur_e / CAST(cur_n AS DOUBLE) - base_e / CAST(base_n AS DOUBLE))
        / sqrt(((cur_e + base_e) / CAST(cur_n + base_n AS DOUBLE))
               * (1 - (cur_e + base_e) / CAST(cur_n + base_n AS DOUBLE))
               * (1.0 / cur_n + 1.0 / base_n)) > {z_critical}
)
SELECT {hour_start} AS hour_start, f.service, f.endpoint, f.metric,
       f.baseline_value, f.current_value, f.ratio,
       f.base_n AS baseline_samples, f.cur_n AS current_samples,
       v.versions,
       CASE WHEN d.version IS NOT NULL THEN f.service || '@' || d.version END AS deployment,
       d.phase AS deployment_phase, d.ts AS deployed_at,
       {baseline_kind} AS baseline_kind
FROM found f
LEFT JOIN ver v ON v.service = f.service AND v.endpoint = f.endpoint
LEFT JOIN dep d ON d.service = f.service AND d.rn = 1
ORDER BY f.service, f.endpoint, f.metric
