-- Optimisation records: the latest impact measurement of each deployment (`postlaunch impact`
-- or `postlaunch run`), its rows that judged a hypothesis of pipelines/optimizations.toml.
-- Tables: deployment_impact
-- Columns: deployment, analysis_time, comparison, metric, relative_effect, relative_ci_low,
--   relative_ci_high, hypothesis, hypothesis_result, backfire, verdict
WITH latest AS (
  SELECT deployment, max(analysis_time) AS analysis_time FROM deployment_impact GROUP BY deployment
)
SELECT d.deployment, d.analysis_time, d.comparison, d.metric, d.relative_effect,
       d.relative_ci_low, d.relative_ci_high, d.hypothesis, d.hypothesis_result,
       coalesce(d.backfire, FALSE) AS backfire, d.verdict
FROM deployment_impact d JOIN latest l
  ON l.deployment = d.deployment AND l.analysis_time = d.analysis_time
WHERE d.hypothesis IS NOT NULL
ORDER BY d.deployment, d.comparison, d.metric
