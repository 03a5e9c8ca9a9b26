-- Phase 8 assessment: the optimisations measured — deployments whose 48-hour impact
-- (`postlaunch impact`) judged a hypothesis of pipelines/optimizations.toml, finished in a range,
-- with the verdict of each one's latest measurement.
-- Tables: deployment_impact
-- Parameters: {from}/{to} (the range of deployment_finished, [from, to)).
-- Example: from = to_timestamp_micros('2026-11-01T00:00:00Z'); to =
--   to_timestamp_micros('2026-12-01T00:00:00Z')
-- Columns: deployment, change_id, deployment_finished, verdict, backfired
WITH latest AS (
  SELECT deployment, max(analysis_time) AS analysis_time FROM deployment_impact GROUP BY deployment
)
SELECT d.deployment, max(d.change_id) AS change_id, max(d.deployment_finished) AS deployment_finished,
       max(d.verdict) AS verdict, bool_or(coalesce(d.backfire, FALSE)) AS backfired
FROM deployment_impact d JOIN latest l
  ON l.deployment = d.deployment AND l.analysis_time = d.analysis_time
WHERE d.hypothesis IS NOT NULL AND d.deployment_finished >= {from} AND d.deployment_finished < {to}
GROUP BY d.deployment
ORDER BY deployment_finished, deployment
