-- The key number of each category over a range, one row; the Overview page runs it for the range
-- and for the range before it (week over week for 7 days). Means are weighted by samples (hosts)
-- and conversion is purchasing over active users summed per period (day or hour), as the
-- roll-ups define them. A category without rows in the range gives NULL.
-- Tables: hourly_service_metrics, daily_service_metrics, hourly_host_metrics, daily_host_metrics,
--   hourly_database_metrics, daily_database_metrics, hourly_web_vitals, daily_web_vitals,
--   hourly_business_metrics, daily_business_metrics
-- Parameters: {from}, {to}: [from, to); {day_from}, {day_to}: the whole UTC days inside it,
--   [day_from, day_to), read from the daily roll-ups (both `{to}` when it holds none); the
--   hours outside them come from the hourly tables. Only the partitions of those dates are read.
-- Example: from = to_timestamp_micros('2026-11-02T06:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); day_from = to_timestamp_micros('2026-11-03T00:00:00Z');
--   day_to = to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: requests, error_rate, p95_ms, cpu_avg, memory_avg, query_p95_ms, lcp_p75_ms,
--   inp_p75_ms, cls_p75, orders, revenue, conversion_rate
WITH service AS (
  SELECT requests, errors, latency_sketch FROM daily_service_metrics WHERE version = '*' AND period_start >= {day_from} AND period_start < {day_to}
        AND date >= to_char({day_from}, '%Y-%m-%d') AND date <= to_char({day_to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  UNION ALL
  SELECT requests, errors, latency_sketch FROM hourly_service_metrics WHERE version = '*' AND ((hour_start >= {from} AND hour_start < {day_from}) OR (hour_start >= {day_to} AND hour_start < {to}))
        AND ((date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({day_from} - INTERVAL '1 microsecond', '%Y-%m-%d'))
          OR (date >= to_char({day_to}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')))
), host AS (
  SELECT samples, cpu_avg, memory_avg FROM daily_host_metrics WHERE period_start >= {day_from} AND period_start < {day_to}
        AND date >= to_char({day_from}, '%Y-%m-%d') AND date <= to_char({day_to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  UNION ALL
  SELECT samples, cpu_avg, memory_avg FROM hourly_host_metrics WHERE ((hour_start >= {from} AND hour_start < {day_from}) OR (hour_start >= {day_to} AND hour_start < {to}))
        AND ((date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({day_from} - INTERVAL '1 microsecond', '%Y-%m-%d'))
          OR (date >= to_char({day_to}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')))
), db AS (
  SELECT query_sketch FROM daily_database_metrics WHERE query = '*' AND period_start >= {day_from} AND period_start < {day_to}
        AND date >= to_char({day_from}, '%Y-%m-%d') AND date <= to_char({day_to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  UNION ALL
  SELECT query_sketch FROM hourly_database_metrics WHERE query = '*' AND ((hour_start >= {from} AND hour_start < {day_from}) OR (hour_start >= {day_to} AND hour_start < {to}))
        AND ((date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({day_from} - INTERVAL '1 microsecond', '%Y-%m-%d'))
          OR (date >= to_char({day_to}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')))
), vitals AS (
  SELECT vital, value_sketch FROM daily_web_vitals WHERE period_start >= {day_from} AND period_start < {day_to}
        AND date >= to_char({day_from}, '%Y-%m-%d') AND date <= to_char({day_to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  UNION ALL
  SELECT vital, value_sketch FROM hourly_web_vitals WHERE ((hour_start >= {from} AND hour_start < {day_from}) OR (hour_start >= {day_to} AND hour_start < {to}))
        AND ((date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({day_from} - INTERVAL '1 microsecond', '%Y-%m-%d'))
          OR (date >= to_char({day_to}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')))
), business AS (
  SELECT active_users, purchasing_users, orders, revenue FROM daily_business_metrics WHERE period_start >= {day_from} AND period_start < {day_to}
        AND date >= to_char({day_from}, '%Y-%m-%d') AND date <= to_char({day_to} - INTERVAL '1 microsecond', '%Y-%m-%d')
  UNION ALL
  SELECT active_users, purchasing_users, orders, revenue FROM hourly_business_metrics WHERE ((hour_start >= {from} AND hour_start < {day_from}) OR (hour_start >= {day_to} AND hour_start < {to}))
        AND ((date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({day_from} - INTERVAL '1 microsecond', '%Y-%m-%d'))
          OR (date >= to_char({day_to}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')))
)
SELECT s.requests, s.error_rate, s.p95_ms, h.cpu_avg, h.memory_avg, d.query_p95_ms,
       v.lcp_p75_ms, v.inp_p75_ms, v.cls_p75, b.orders, b.revenue, b.conversion_rate
FROM (SELECT sum(requests) AS requests,
             CAST(sum(errors) AS DOUBLE) / CAST(nullif(sum(requests), 0) AS DOUBLE) AS error_rate,
             ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95_ms
      FROM service) s
CROSS JOIN (SELECT sum(cpu_avg * samples) / nullif(sum(samples), 0) AS cpu_avg,
                   sum(memory_avg * samples) / nullif(sum(samples), 0) AS memory_avg
            FROM host) h
CROSS JOIN (SELECT ddsketch_quantile(ddsketch_merge(query_sketch), 0.95) AS query_p95_ms FROM db) d
CROSS JOIN (SELECT ddsketch_quantile(ddsketch_merge(CASE WHEN vital = 'LCP' THEN value_sketch END), 0.75) AS lcp_p75_ms,
                   ddsketch_quantile(ddsketch_merge(CASE WHEN vital = 'INP' THEN value_sketch END), 0.75) AS inp_p75_ms,
                   ddsketch_quantile(ddsketch_merge(CASE WHEN vital = 'CLS' THEN value_sketch END), 0.75) AS cls_p75
            FROM vitals) v
CROSS JOIN (SELECT sum(orders) AS orders, sum(revenue) AS revenue,
                   CAST(sum(purchasing_users) AS DOUBLE) / CAST(nullif(sum(active_users), 0) AS DOUBLE) AS conversion_rate
            FROM business) b
