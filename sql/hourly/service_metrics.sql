-- hourly_service_metrics: RED metrics of every service and endpoint per hour, for all
-- versions together (version = '*') and per deployed version.
-- Tables: requests
-- Parameters: {date_from}/{date_to} (partition dates) and {from}/{to} (RFC 3339, [from, to)):
--   the hours computed, one result row set per hour; {apdex_t_ms}.
-- Percentiles are exact for the hour, linear interpolation between closest ranks
-- (numpy.quantile's default "linear" method; DataFusion quantises the weight to 1e-6).
-- Apdex: satisfied = status < 500 and duration <= T; tolerating = status < 500 and
-- T < duration <= 4T; everything else (5xx included) is frustrated.
-- Columns: hour_start, service, endpoint, version, requests, errors, error_rate, throughput_rps,
--   p50_ms, p95_ms, p99_ms, max_ms, mean_ms, apdex, apdex_satisfied, apdex_tolerating, latency_sketch
SELECT
  date_bin(INTERVAL '1 hour', ts) AS hour_start,
  service,
  endpoint,
  CASE WHEN grouping(version) = 1 THEN '*' ELSE coalesce(version, 'unknown') END AS version,
  count(*) AS requests,
  sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS errors,
  sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END) / CAST(count(*) AS DOUBLE) AS error_rate,
  count(*) / 3600.0 AS throughput_rps,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms,
  percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99_ms,
  max(duration_ms) AS max_ms,
  avg(duration_ms) AS mean_ms,
  (sum(CASE WHEN status < 500 AND duration_ms <= {apdex_t_ms} THEN 1.0 ELSE 0.0 END)
    + sum(CASE WHEN status < 500 AND duration_ms > {apdex_t_ms} AND duration_ms <= 4 * {apdex_t_ms} THEN 0.5 ELSE 0.0 END))
    / count(*) AS apdex,
  sum(CASE WHEN status < 500 AND duration_ms <= {apdex_t_ms} THEN 1 ELSE 0 END) AS apdex_satisfied,
  sum(CASE WHEN status < 500 AND duration_ms > {apdex_t_ms} AND duration_ms <= 4 * {apdex_t_ms} THEN 1 ELSE 0 END) AS apdex_tolerating,
  ddsketch(duration_ms) AS latency_sketch
FROM requests
WHERE date >= '{date_from}' AND date <= '{date_to}' AND ts >= TIMESTAMP '{from}' AND ts < TIMESTAMP '{to}'
GROUP BY GROUPING SETS ((date_bin(INTERVAL '1 hour', ts), service, endpoint),
                        (date_bin(INTERVAL '1 hour', ts), service, endpoint, version))
ORDER BY hour_start, service, endpoint, version
