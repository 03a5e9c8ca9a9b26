-- Backlog candidates, user experience: pages where fewer than 75 % of a Core Web Vital's samples
-- are good (Google's rule: a page passes when its p75 is good). Thresholds as
-- sql/hourly/web_vitals.sql (web.dev: LCP 2.5 s/4 s, INP 200/500 ms, CLS 0.1/0.25, FCP
-- 1.8 s/3 s, TTFB 0.8 s/1.8 s). Reach: the users with a sample that was not good. Measure: the
-- share of samples that were not good.
-- Tables: web_vitals
-- Parameters: {from}/{to} (the period, [from, to)), {date_from}/{date_to} (its partition dates).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); date_from = '2026-11-02'; date_to = '2026-11-03'
-- Columns: kind, category, subject, detail, reach, reach_unit, measure, samples
WITH rated AS (
  SELECT coalesce(page, 'unknown') AS page, name AS vital, value, user_id,
         CASE name WHEN 'LCP' THEN 2500.0 WHEN 'INP' THEN 200.0 WHEN 'CLS' THEN 0.1
                   WHEN 'FCP' THEN 1800.0 WHEN 'TTFB' THEN 800.0 WHEN 'FID' THEN 100.0 END AS good_max
  FROM web_vitals
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
),
v AS (
  SELECT page, vital, count(*) AS samples,
         sum(CASE WHEN value <= good_max THEN 0 ELSE 1 END) AS not_good,
         count(DISTINCT CASE WHEN value > good_max THEN user_id END) AS users,
         percentile_cont(0.75) WITHIN GROUP (ORDER BY value) AS p75
  FROM rated WHERE good_max IS NOT NULL
  GROUP BY page, vital
)
SELECT 'poor_web_vital' AS kind, 'user_experience' AS category, page || ' ' || vital AS subject,
       vital || ' p75 ' || CAST(round(p75, CASE WHEN vital = 'CLS' THEN 3 ELSE 0 END) AS VARCHAR)
         || '; ' || CAST(round(100.0 * (samples - not_good) / samples, 1) AS VARCHAR)
         || ' % of ' || CAST(samples AS VARCHAR) || ' samples good' AS detail,
       users AS reach, 'users' AS reach_unit, not_good / CAST(samples AS DOUBLE) AS measure, samples
FROM v
WHERE not_good / CAST(samples AS DOUBLE) > 0.25
ORDER BY users DESC, subject
LIMIT 10
