-- Each dependency (and cache) of each service over a range: calls, p95 latency (sketches merged),
-- errors and the cache hit ratio; the Dependencies & cache page.
-- Tables: hourly_dependency_metrics
-- Parameters: {from}, {to}: [from, to) of hour_start (only the partitions of its dates are read).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: service, kind, dependency, samples, p95_ms, errors, error_rate, cache_hits,
--   cache_misses, cache_hit_ratio
SELECT service, kind, dependency, sum(samples) AS samples,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95_ms,
       sum(errors) AS errors, sum(errors) / CAST(sum(samples) AS DOUBLE) AS error_rate,
       sum(cache_hits) AS cache_hits, sum(cache_misses) AS cache_misses,
       sum(cache_hits) / nullif(sum(cache_hits) + sum(cache_misses), 0) AS cache_hit_ratio
FROM hourly_dependency_metrics
WHERE hour_start >= {from} AND hour_start < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
GROUP BY service, kind, dependency
ORDER BY service, kind, dependency
