-- daily_host_metrics / weekly_host_metrics: roll-up of hourly_host_metrics. Averages are
-- weighted by the hours' sample counts; maxima are maxima; byte counts add up.
-- Tables: hourly_host_metrics
-- Parameters: {period_start} (RFC 3339), {from}/{to} (the period, [from, to)), {date_from}/{date_to}
--   (its first and last partition dates, for pruning), {seconds} (its length).
-- Example: period_start = to_timestamp_micros('2026-11-02T00:00:00Z'); date_from = '2026-11-02';
--   date_to = '2026-11-02'; from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: period_start, host, service, hours, samples, cpu_avg, cpu_max, memory_avg, memory_max,
--   disk_read_bytes, disk_write_bytes, network_rx_bytes, network_tx_bytes
SELECT {period_start} AS period_start, host, max(service) AS service, count(*) AS hours,
       sum(samples) AS samples,
       sum(cpu_avg * samples) / sum(samples) AS cpu_avg, max(cpu_max) AS cpu_max,
       sum(memory_avg * samples) / sum(samples) AS memory_avg, max(memory_max) AS memory_max,
       sum(disk_read_bytes) AS disk_read_bytes, sum(disk_write_bytes) AS disk_write_bytes,
       sum(network_rx_bytes) AS network_rx_bytes, sum(network_tx_bytes) AS network_tx_bytes
FROM hourly_host_metrics
WHERE date >= {date_from} AND date <= {date_to}
  AND hour_start >= {from} AND hour_start < {to}
GROUP BY host
ORDER BY host
