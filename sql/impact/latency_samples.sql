-- Request latencies and outcomes of one service in a baseline and an after period (or, for a
-- canary, of the canary version against the other versions in the same period), with the user
-- (NULL for anonymous requests), the cluster of the standard errors.
-- Parameters: service; before_start, before_end, after_start, after_end (periods [start, end));
--   canary_version ('' = compare periods; else `arm` is 'after' for requests served by this version
--   and 'before' for the others, both within the after period)
-- Example: service = 'checkout'; before_start = to_timestamp_micros('2026-11-03T14:25:00Z');
--   before_end = to_timestamp_micros('2026-11-05T14:25:00Z'); after_start =
--   to_timestamp_micros('2026-11-10T14:25:00Z'); after_end =
--   to_timestamp_micros('2026-11-12T14:25:00Z'); canary_version = ''
-- Columns: arm, user_id, duration_ms, is_error
WITH params AS (
  SELECT {service} AS service,
         {before_start} AS before_start,
         {before_end} AS before_end,
         {after_start} AS after_start,
         {after_end} AS after_end,
         {canary_version} AS canary_version
)
SELECT CASE
         WHEN p.canary_version <> '' AND r.version = p.canary_version THEN 'after'
         WHEN p.canary_version <> '' THEN 'before'
         WHEN r.ts >= p.after_start THEN 'after'
         ELSE 'before'
       END AS arm,
       r.user_id,
       CAST(r.duration_ms AS DOUBLE) AS duration_ms,
       CASE WHEN r.status >= 500 THEN 1 ELSE 0 END AS is_error
FROM requests r CROSS JOIN params p
WHERE r.service = p.service
  AND ((p.canary_version = '' AND ((r.ts >= p.before_start AND r.ts < p.before_end)
                                   OR (r.ts >= p.after_start AND r.ts < p.after_end)))
       OR (p.canary_version <> '' AND r.ts >= p.after_start AND r.ts < p.after_end))
ORDER BY arm, duration_ms;
