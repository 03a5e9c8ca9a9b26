-- Latency percentiles per service and endpoint over the whole lake: exact (numpy's "linear"
-- method). On a large lake, `approx_percentile_cont` is faster, or read the hourly sketches
-- (`hourly_service_metrics.latency_sketch`, merged with `ddsketch_merge`).
-- Parameters: none (add a `WHERE date BETWEEN '…' AND '…'` to narrow it).
-- Columns: service, endpoint, requests, p50_ms, p95_ms, p99_ms
SELECT service,
       endpoint,
       count(*) AS requests,
       percentile_cont(0.50) WITHIN GROUP (ORDER BY duration_ms) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99_ms
FROM requests
GROUP BY service, endpoint
ORDER BY p95_ms DESC;
