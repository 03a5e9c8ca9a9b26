-- The latest measurement of each deployment finished in a range, per comparison and metric
-- (`postlaunch impact` stores them in `deployment_impact`); the Experiments & deployments page.
-- Tables: deployment_impact
-- Parameters: {from}, {to}: [from, to) of deployment_finished.
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: deployment_finished, deployment, service, version, outcome, verdict, comparison,
--   metric, baseline_value, after_value, relative_effect, relative_ci_low, relative_ci_high,
--   p_value, significant, hypothesis_result, backfire
SELECT deployment_finished, deployment, service, version, outcome, verdict, comparison, metric,
       baseline_value, after_value, relative_effect, relative_ci_low, relative_ci_high, p_value,
       significant, hypothesis_result, backfire
FROM (
  SELECT *, rank() OVER (PARTITION BY deployment ORDER BY analysis_time DESC) AS r
  FROM deployment_impact
  WHERE deployment_finished >= {from} AND deployment_finished < {to}
) t
WHERE r = 1
ORDER BY deployment_finished DESC, deployment, comparison, metric
