-- Optimisation records: when each deployment finished (its `completed` or `rolled_back` phase),
-- the moment an optimisation shipped by it starts its 48 hours.
-- Tables: deployments
-- Columns: deployment, started, finished, rolled_back
SELECT service || '@' || version AS deployment,
       min(CASE WHEN phase = 'started' THEN ts END) AS started,
       max(CASE WHEN phase IN ('completed', 'rolled_back') THEN ts END) AS finished,
       max(CASE WHEN phase = 'rolled_back' THEN 1 ELSE 0 END) AS rolled_back
FROM deployments
GROUP BY service, version
ORDER BY deployment
