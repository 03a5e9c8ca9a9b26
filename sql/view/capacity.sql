-- Capacity planning: each host group's (service's) day — the mean CPU and memory utilisation of
-- its hosts — from the hourly host table; the monthly report fits a line to each and projects the
-- day it crosses 80 %.
-- Tables: hourly_host_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start.
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: day, service, hosts, cpu_avg, memory_avg
SELECT date_trunc('day', hour_start) AS day, coalesce(service, 'unknown') AS service,
       count(DISTINCT host) AS hosts, avg(cpu_avg) AS cpu_avg, avg(memory_avg) AS memory_avg
FROM hourly_host_metrics
WHERE hour_start >= {from} AND hour_start < {to}
GROUP BY date_trunc('day', hour_start), coalesce(service, 'unknown')
ORDER BY service, day
