-- The phases of one deployment: when it started and when it completed or was rolled back.
-- Parameters: service, version (the block between `params:begin` and `params:end` is replaced
--   by postlaunch; the values here are the demo's).
-- Columns: phase, ts, strategy, change_id, description
WITH params AS (
  -- params:begin
  SELECT 'checkout' AS service,
         '2.4.0' AS version
  -- params:end
)
SELECT d.phase, d.ts, d.strategy, d.change_id, d.description
FROM deployments d CROSS JOIN params p
WHERE d.service = p.service AND d.version = p.version
ORDER BY d.ts;
