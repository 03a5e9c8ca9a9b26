-- hourly_web_vitals: Core Web Vitals per page, device and vital per hour.
-- Tables: web_vitals
-- Parameters: {date_from}/{date_to} (partition dates) and {from}/{to} (RFC 3339, [from, to)):
--   the hours computed, one result row set per hour.
-- Ratings use Google's thresholds (good <= first, poor > second; a value equal to a threshold
-- takes the better rating): LCP 2500/4000 ms, INP 200/500 ms, CLS 0.1/0.25, FCP 1800/3000 ms,
-- TTFB 800/1800 ms, FID 100/300 ms (FID is deprecated in favour of INP).
-- p75: exact, linear interpolation (numpy.quantile default).
-- Example: date_from = '2026-11-02'; date_to = '2026-11-02'; from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); to = to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: hour_start, page, device, vital, samples, p75, good_share,
--   needs_improvement_share, poor_share, good, needs_improvement, poor, value_sketch
WITH rated AS (
  SELECT date_bin(INTERVAL '1 hour', ts) AS hour_start, coalesce(page, 'unknown') AS page, coalesce(device, 'unknown') AS device, name AS vital, value,
         CASE name WHEN 'LCP' THEN 2500.0 WHEN 'INP' THEN 200.0 WHEN 'CLS' THEN 0.1
                   WHEN 'FCP' THEN 1800.0 WHEN 'TTFB' THEN 800.0 WHEN 'FID' THEN 100.0 END AS good_max,
         CASE name WHEN 'LCP' THEN 4000.0 WHEN 'INP' THEN 500.0 WHEN 'CLS' THEN 0.25
                   WHEN 'FCP' THEN 3000.0 WHEN 'TTFB' THEN 1800.0 WHEN 'FID' THEN 300.0 END AS poor_above
  FROM web_vitals
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
),
counted AS (
  SELECT hour_start, page, device, vital, count(*) AS samples,
         percentile_cont(0.75) WITHIN GROUP (ORDER BY value) AS p75,
         sum(CASE WHEN value <= good_max THEN 1 ELSE 0 END) AS good,
         sum(CASE WHEN value > good_max AND value <= poor_above THEN 1 ELSE 0 END) AS needs_improvement,
         sum(CASE WHEN value > poor_above THEN 1 ELSE 0 END) AS poor,
         ddsketch(value) AS value_sketch
  FROM rated
  GROUP BY hour_start, page, device, vital
)
SELECT hour_start, page, device, vital, samples, p75,
       good / CAST(samples AS DOUBLE) AS good_share,
       needs_improvement / CAST(samples AS DOUBLE) AS needs_improvement_share,
       poor / CAST(samples AS DOUBLE) AS poor_share,
       good, needs_improvement, poor, value_sketch
FROM counted
ORDER BY hour_start, page, device, vital
