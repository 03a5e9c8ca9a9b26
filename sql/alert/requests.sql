-- The requests of a time range in event-time order: what `postlaunch alerts replay` feeds the
-- alert engine (the live path sees the same columns in the batches it ingests).
-- Tables: requests
-- Parameters: {from}/{to} (RFC 3339, [from, to)): the range replayed.
-- Example: from = to_timestamp_micros('2026-11-02T19:00:00Z'); to =
--   to_timestamp_micros('2026-11-02T19:10:00Z')
-- Columns: ts, service, status, duration_ms
SELECT ts, service, status, duration_ms
FROM requests
WHERE ts >= {from} AND ts < {to}
ORDER BY ts;
