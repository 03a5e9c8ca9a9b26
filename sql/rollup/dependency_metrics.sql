-- daily_dependency_metrics / weekly_dependency_metrics: roll-up of hourly_dependency_metrics.
-- Latency p95 from merged DDSketches; errors, cache hits and misses add up.
-- Tables: hourly_dependency_metrics
-- Parameters: {period_start} (RFC 3339), {from}/{to} (the period, [from, to)), {date_from}/{date_to}
--   (its first and last partition dates, for pruning), {seconds} (its length).
-- Example: period_start = to_timestamp_micros('2026-11-02T00:00:00Z'); date_from = '2026-11-02';
--   date_to = '2026-11-02'; from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: period_start, service, kind, dependency, hours, samples, latency_p95_ms, errors,
--   cache_hits, cache_misses, cache_hit_ratio, latency_sketch
SELECT {period_start} AS period_start, service, kind, dependency, count(*) AS hours,
       sum(samples) AS samples,
       ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS latency_p95_ms,
       sum(errors) AS errors, sum(cache_hits) AS cache_hits, sum(cache_misses) AS cache_misses,
       CASE WHEN sum(cache_hits) + sum(cache_misses) > 0
            THEN sum(cache_hits) / (sum(cache_hits) + sum(cache_misses)) END AS cache_hit_ratio,
       ddsketch_merge(latency_sketch) AS latency_sketch
FROM hourly_dependency_metrics
WHERE date >= {date_from} AND date <= {date_to}
  AND hour_start >= {from} AND hour_start < {to}
GROUP BY service, kind, dependency
ORDER BY service, kind, dependency
