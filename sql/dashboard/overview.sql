-- The key number of each category over a range, one row; the Overview page runs it for the range
-- and for the range before it (week over week for 7 days). A category whose table has no rows in
-- the range gives NULL.
-- Tables: hourly_service_metrics, hourly_host_metrics, hourly_database_metrics,
--   hourly_web_vitals, hourly_business_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start.
-- Example: from = to_timestamp_micros('2026-11-09T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-16T00:00:00Z')
-- Columns: requests, error_rate, p95_ms, cpu_avg, memory_avg, query_p95_ms, lcp_p75_ms,
--   inp_p75_ms, cls_p75, orders, revenue, conversion_rate
SELECT s.requests, s.error_rate, s.p95_ms, h.cpu_avg, h.memory_avg, d.query_p95_ms,
       v.lcp_p75_ms, v.inp_p75_ms, v.cls_p75, b.orders, b.revenue, b.conversion_rate
FROM (SELECT sum(requests) AS requests,
             CAST(sum(errors) AS DOUBLE) / CAST(nullif(sum(requests), 0) AS DOUBLE) AS error_rate,
             ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95_ms
      FROM hourly_service_metrics
      WHERE version = '*' AND hour_start >= {from} AND hour_start < {to}) s
CROSS JOIN (SELECT avg(cpu_avg) AS cpu_avg, avg(memory_avg) AS memory_avg FROM hourly_host_metrics
            WHERE hour_start >= {from} AND hour_start < {to}) h
CROSS JOIN (SELECT ddsketch_quantile(ddsketch_merge(query_sketch), 0.95) AS query_p95_ms
            FROM hourly_database_metrics WHERE hour_start >= {from} AND hour_start < {to}) d
CROSS JOIN (SELECT ddsketch_quantile(ddsketch_merge(CASE WHEN vital = 'LCP' THEN value_sketch END), 0.75) AS lcp_p75_ms,
                   ddsketch_quantile(ddsketch_merge(CASE WHEN vital = 'INP' THEN value_sketch END), 0.75) AS inp_p75_ms,
                   ddsketch_quantile(ddsketch_merge(CASE WHEN vital = 'CLS' THEN value_sketch END), 0.75) AS cls_p75
            FROM hourly_web_vitals WHERE hour_start >= {from} AND hour_start < {to}) v
CROSS JOIN (SELECT sum(orders) AS orders, sum(revenue) AS revenue,
                   CAST(sum(purchasing_users) AS DOUBLE) / CAST(nullif(sum(active_users), 0) AS DOUBLE) AS conversion_rate
            FROM hourly_business_metrics WHERE hour_start >= {from} AND hour_start < {to}) b
