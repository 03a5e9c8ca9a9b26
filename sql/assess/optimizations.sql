-- Phase 8 assessment: the optimisations measured — deployments whose 48-hour impact
-- (`postlaunch impact`) judged a hypothesis of pipelines/optimizations.toml, finished in a range,
-- with the verdict stored for each.
-- Tables: deployment_impact
-- Parameters: {from}/{to} (the range of deployment_finished, [from, to)).
-- Example: from = to_timestamp_micros('2026-11-01T00:00:00Z'); to =
--   to_timestamp_micros('2026-12-01T00:00:00Z')
-- Columns: deployment, change_id, deployment_finished, verdict, backfired
SELECT deployment, max(change_id) AS change_id, max(deployment_finished) AS deployment_finished,
       max(verdict) AS verdict, bool_or(coalesce(backfire, FALSE)) AS backfired
FROM deployment_impact
WHERE hypothesis IS NOT NULL AND deployment_finished >= {from} AND deployment_finished < {to}
GROUP BY deployment
ORDER BY deployment_finished, deployment
