-- Each endpoint's hours of a range, for all versions (`version` = `*`) and each version:
-- requests, error rate, p95; the Application page's charts of an endpoint and of a version.
-- Tables: hourly_service_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start (only the partitions of its dates are read).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: hour_start, service, endpoint, version, requests, error_rate, p95_ms
SELECT hour_start, service, endpoint, version, requests, error_rate, p95_ms
FROM hourly_service_metrics
WHERE hour_start >= {from} AND hour_start < {to} AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  AND requests > 0
ORDER BY service, endpoint, version, hour_start
