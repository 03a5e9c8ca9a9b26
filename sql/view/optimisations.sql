-- The optimisations (deployments) whose impact was measured, finished in a range: the latest
-- analysis of each deployment, comparison and metric, with its effect, p-value, hypothesis and
-- verdict, from `deployment_impact` (`postlaunch impact`).
-- Tables: deployment_impact
-- Parameters: {from}, {to}: [from, to) of deployment_finished.
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-16T00:00:00Z')
-- Columns: deployment, change_id, comparison, metric, baseline_value, after_value,
--   relative_effect, p_value, hypothesis, hypothesis_result, verdict
WITH ranked AS (
  SELECT *, row_number() OVER (PARTITION BY deployment, comparison, metric
                               ORDER BY analysis_time DESC) AS n
  FROM deployment_impact
  WHERE deployment_finished >= {from} AND deployment_finished < {to}
)
SELECT deployment, change_id, comparison, metric, baseline_value, after_value, relative_effect,
       p_value, hypothesis, hypothesis_result, verdict
FROM ranked
WHERE n = 1
ORDER BY deployment, comparison, metric
