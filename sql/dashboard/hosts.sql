-- Each host of each host group (service) over a range: CPU and memory (mean of the hourly means,
-- and the highest sample), disk and network bytes; the Infrastructure page.
-- Tables: hourly_host_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start (only the partitions of its dates are read).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: service, host, cpu_avg, cpu_max, memory_avg, memory_max, disk_read_bytes,
--   disk_write_bytes, network_rx_bytes, network_tx_bytes
SELECT service, host, avg(cpu_avg) AS cpu_avg, max(cpu_max) AS cpu_max,
       avg(memory_avg) AS memory_avg, max(memory_max) AS memory_max,
       sum(disk_read_bytes) AS disk_read_bytes, sum(disk_write_bytes) AS disk_write_bytes,
       sum(network_rx_bytes) AS network_rx_bytes, sum(network_tx_bytes) AS network_tx_bytes
FROM hourly_host_metrics
WHERE hour_start >= {from} AND hour_start < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
GROUP BY service, host
ORDER BY service, host
