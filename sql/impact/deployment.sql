-- The phases of one deployment: when it started and when it completed or was rolled back.
-- Parameters: service, version
-- Example: service = 'checkout'; version = '2.4.0'
-- Columns: phase, ts, strategy, change_id, description
WITH params AS (
  SELECT {service} AS service,
         {version} AS version
)
SELECT d.phase, d.ts, d.strategy, d.change_id, d.description
FROM deployments d CROSS JOIN params p
WHERE d.service = p.service AND d.version = p.version
ORDER BY d.ts;
