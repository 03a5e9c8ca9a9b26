-- Each host group's hours of a range: mean CPU and memory over its hosts; the Infrastructure
-- page's charts.
-- Tables: hourly_host_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start (only the partitions of its dates are read).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: hour_start, service, cpu_avg, memory_avg
SELECT hour_start, service, avg(cpu_avg) AS cpu_avg, avg(memory_avg) AS memory_avg
FROM hourly_host_metrics
WHERE hour_start >= {from} AND hour_start < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
GROUP BY hour_start, service
ORDER BY service, hour_start
