-- One service's hourly RED figures of a range (all endpoints together), one row per metric and
-- hour: where a blind spot (an incident no alert saw) is searched for the metric that moved
-- first, with the files for its hosts, dependencies and queries.
-- Tables: hourly_service_metrics
-- Parameters: {service}: the incident's service; {from}, {to}: [from, to) of hour_start (only
--   the partitions of its dates are read).
-- Example: service = 'checkout'; from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: metric, entity, hour_start, value
WITH svc AS (
  SELECT hour_start, sum(requests) AS requests, sum(errors) AS errors,
         ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95,
         ddsketch_quantile(ddsketch_merge(latency_sketch), 0.99) AS p99
  FROM hourly_service_metrics
  WHERE service = {service} AND version = '*' AND hour_start >= {from} AND hour_start < {to}
    AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  GROUP BY hour_start
)
SELECT metric, entity, hour_start, value FROM (
  SELECT 'requests' AS metric, {service} AS entity, hour_start, CAST(requests AS DOUBLE) AS value
  FROM svc
  UNION ALL
  SELECT 'error_rate', {service}, hour_start, CAST(errors AS DOUBLE) / CAST(requests AS DOUBLE)
  FROM svc WHERE requests > 0
  UNION ALL
  SELECT 'p95_ms', {service}, hour_start, p95 FROM svc
  UNION ALL
  SELECT 'p99_ms', {service}, hour_start, p99 FROM svc
)
ORDER BY metric, entity, hour_start
