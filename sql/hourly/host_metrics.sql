-- hourly_host_metrics: USE metrics of every host per hour.
-- Tables: metrics
-- Parameters: {date_from}/{date_to} (partition dates) and {from}/{to} (RFC 3339, [from, to)):
--   the hours computed, one result row set per hour.
-- cpu/memory are utilisation samples in 0..1 (avg and max over the hour); disk and network
-- samples are byte counts per sampling interval, summed over the hour.
-- Example: date_from = '2026-11-02'; date_to = '2026-11-02'; from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); to = to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: hour_start, host, service, samples, cpu_avg, cpu_max, memory_avg, memory_max,
--   disk_read_bytes, disk_write_bytes, network_rx_bytes, network_tx_bytes
SELECT
  date_bin(INTERVAL '1 hour', ts) AS hour_start,
  host,
  max(service) AS service,
  sum(CASE WHEN name = 'cpu_utilization' THEN 1 ELSE 0 END) AS samples,
  avg(CASE WHEN name = 'cpu_utilization' THEN value END) AS cpu_avg,
  max(CASE WHEN name = 'cpu_utilization' THEN value END) AS cpu_max,
  avg(CASE WHEN name = 'memory_utilization' THEN value END) AS memory_avg,
  max(CASE WHEN name = 'memory_utilization' THEN value END) AS memory_max,
  coalesce(sum(CASE WHEN name = 'disk_read_bytes' THEN value END), 0) AS disk_read_bytes,
  coalesce(sum(CASE WHEN name = 'disk_write_bytes' THEN value END), 0) AS disk_write_bytes,
  coalesce(sum(CASE WHEN name = 'network_rx_bytes' THEN value END), 0) AS network_rx_bytes,
  coalesce(sum(CASE WHEN name = 'network_tx_bytes' THEN value END), 0) AS network_tx_bytes
FROM metrics
WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to} AND host IS NOT NULL
  AND name IN ('cpu_utilization', 'memory_utilization', 'disk_read_bytes', 'disk_write_bytes',
               'network_rx_bytes', 'network_tx_bytes')
GROUP BY date_bin(INTERVAL '1 hour', ts), host
ORDER BY hour_start, host
