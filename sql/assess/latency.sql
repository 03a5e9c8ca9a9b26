-- Phase 8 assessment: every request's duration in a range (all services) with its user (NULL
-- for anonymous requests), for the p95 of the launch range against the recent range (a quantile
-- z-test with per-user clustered standard errors, src/stats/two_sample.rs).
-- Tables: requests
-- Parameters: {from}/{to} (the range, [from, to)).
-- Example: from = to_timestamp_micros('2026-11-02T12:00:00Z'); to =
--   to_timestamp_micros('2026-11-02T12:05:00Z')
-- Columns: duration_ms, user_id
SELECT CAST(duration_ms AS DOUBLE) AS duration_ms, user_id
FROM requests
WHERE ts >= {from} AND ts < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  AND duration_ms IS NOT NULL
