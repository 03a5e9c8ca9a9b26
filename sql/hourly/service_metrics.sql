-- hourly_service_metrics: RED metrics of every service and endpoint per hour, for all
-- versions together (version = '*') and per deployed version.
-- Tables: requests
-- Parameters: {partitions} (a predicate on the date/hour partition columns: the hours computed,
--   one result row set per hour); {apdex_t_ms}.
-- Hours are the lake's `date`/`hour` partitions, which hold exactly the events whose `ts` falls
-- in that UTC hour (src/lake/layout.rs): grouping by them instead of date_bin(ts) reads no `ts`
-- column, and lets each core aggregate whole hours in one step (LakeSession::group_by_partitions).
-- Percentiles are exact for the hour, linear interpolation between closest ranks
-- (numpy.quantile's default "linear" method).
-- Two levels (src/query/latency.rs): the raw requests are aggregated once per hour, service,
-- endpoint and version, keeping each group's durations as a sorted list (latency_values); then
-- each of those few rows counts twice, for its version and for all versions ('*'), adding up
-- counts and merging the sorted lists. (The same as GROUPING SETS, which DataFusion would
-- aggregate in two steps with a repartition between them, copying the lists between steps.)
-- latency_summary sorts (merges) a group's durations once and
-- returns p50, p95, p99, max, mean and a DDSketch (α = 1 %) of them: the same figures as
-- percentile_cont(q) WITHIN GROUP (ORDER BY duration_ms), max, avg and ddsketch.
-- Apdex: satisfied = status < 500 and duration <= T; tolerating = status < 500 and
-- T < duration <= 4T; everything else (5xx included) is frustrated.
-- Example: apdex_t_ms = 500.0; partitions = date = '2026-11-02'
-- Columns: hour_start, service, endpoint, version, requests, errors, error_rate, throughput_rps,
--   p50_ms, p95_ms, p99_ms, max_ms, mean_ms, apdex, apdex_satisfied, apdex_tolerating, latency_sketch
WITH per_version AS (
  SELECT
    date,
    hour,
    service,
    endpoint,
    coalesce(version, 'unknown') AS version,
    count(*) AS requests,
    count(*) FILTER (WHERE status >= 500) AS errors,
    count(*) FILTER (WHERE status < 500 AND duration_ms <= {apdex_t_ms}) AS apdex_satisfied,
    count(*) FILTER (WHERE status < 500 AND duration_ms > {apdex_t_ms} AND duration_ms <= 4 * {apdex_t_ms}) AS apdex_tolerating,
    latency_values(duration_ms) AS durations
  FROM requests
  WHERE {partitions}
  GROUP BY date, hour, service, endpoint, coalesce(version, 'unknown')
),
per_group AS (
  SELECT
    date,
    hour,
    service,
    endpoint,
    counted_as AS version,
    sum(requests) AS requests,
    sum(errors) AS errors,
    sum(apdex_satisfied) AS apdex_satisfied,
    sum(apdex_tolerating) AS apdex_tolerating,
    latency_summary(durations) AS latency
  FROM (SELECT *, unnest(make_array(version, '*')) AS counted_as FROM per_version)
  GROUP BY date, hour, service, endpoint, counted_as
)
SELECT
  to_timestamp(concat(date, 'T', hour, ':00:00Z')) AS hour_start,
  service,
  endpoint,
  version,
  requests,
  errors,
  errors / CAST(requests AS DOUBLE) AS error_rate,
  requests / 3600.0 AS throughput_rps,
  latency['p50'] AS p50_ms,
  latency['p95'] AS p95_ms,
  latency['p99'] AS p99_ms,
  latency['max'] AS max_ms,
  latency['mean'] AS mean_ms,
  (apdex_satisfied + 0.5 * apdex_tolerating) / requests AS apdex,
  apdex_satisfied,
  apdex_tolerating,
  latency['sketch'] AS latency_sketch
FROM per_group
ORDER BY hour_start, service, endpoint, version
