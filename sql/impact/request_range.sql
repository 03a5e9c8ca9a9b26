-- The time range the lake's requests cover (to tell whether a baseline period has data).
-- Parameters: service
-- Example: service = 'checkout'
-- Columns: first_ts, last_ts
WITH params AS (
  SELECT {service} AS service
)
SELECT min(r.ts) AS first_ts, max(r.ts) AS last_ts
FROM requests r CROSS JOIN params p
WHERE r.service = p.service;
