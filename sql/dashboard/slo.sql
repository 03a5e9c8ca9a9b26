-- Each service's good and bad requests over an SLO's window: bad is a 5xx (availability) or,
-- with a latency level, slower than it (from the merged sketch); the Overview's error budgets.
-- Tables: hourly_service_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start; {latency_ms}: the latency level (ms), or
--   NULL for an availability SLO.
-- Example: from = to_timestamp_micros('2026-10-17T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-16T00:00:00Z'); latency_ms = NULL
-- Columns: service, requests, bad
SELECT service, sum(requests) AS requests,
       CASE WHEN {latency_ms} IS NULL THEN sum(errors)
            ELSE ddsketch_count_above(ddsketch_merge(latency_sketch), {latency_ms}) END AS bad
FROM hourly_service_metrics
WHERE version = '*' AND hour_start >= {from} AND hour_start < {to}
GROUP BY service
HAVING sum(requests) > 0
ORDER BY service
