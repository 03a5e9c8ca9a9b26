-- Phase 8 assessment: hourly tracking — how many hours of a range have figures in
-- `hourly_service_metrics` (the hourly job ran for them).
-- Tables: hourly_service_metrics
-- Parameters: {from}/{to} (the range, [from, to)).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: hours
SELECT count(DISTINCT hour_start) AS hours
FROM hourly_service_metrics
WHERE hour_start >= {from} AND hour_start < {to}
