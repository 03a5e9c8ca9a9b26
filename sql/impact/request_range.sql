-- The time range the lake's requests cover (to tell whether a baseline period has data).
-- Parameters: service (the block between `params:begin` and `params:end` is replaced by
--   postlaunch; the value here is the demo's).
-- Columns: first_ts, last_ts
WITH params AS (
  -- params:begin
  SELECT 'checkout' AS service
  -- params:end
)
SELECT min(r.ts) AS first_ts, max(r.ts) AS last_ts
FROM requests r CROSS JOIN params p
WHERE r.service = p.service;
