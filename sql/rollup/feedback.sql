-- daily_feedback / weekly_feedback: what users said in the period, one row per (kind, key):
-- * ticket_category: support tickets per category, with the same period a week earlier;
-- * in_app_category: in-app feedback per category, with the week-earlier count;
-- * in_app_term: the 20 most frequent words (4+ letters, a few stop words removed) of in-app
--   feedback text;
-- * app_rating: app-review star ratings, key '1'..'5' (count and share) and key 'average';
-- * nps: key 'nps': score = % promoters (9-10) - % detractors (0-6) of NPS answers, with a 95 %
--   normal-approximation interval: var = (p_promoters + p_detractors - (p_promoters -
--   p_detractors)^2) / n, interval = score +- 1.959964 * 100 * sqrt(var).
-- Tables: feedback
-- Parameters: {period_start} (RFC 3339), {from}/{to} (the period, [from, to)),
--   {date_from}/{date_to} (its partition dates), {prev_from}/{prev_to} and
--   {prev_date_from}/{prev_date_to} (the same period one week earlier).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); date_from = '2026-11-02'; date_to =
--   '2026-11-02'; prev_date_from = '2026-10-26'; prev_date_to = '2026-10-26'; to =
--   to_timestamp_micros('2026-11-03T00:00:00Z'); prev_from =
--   to_timestamp_micros('2026-10-26T00:00:00Z'); prev_to =
--   to_timestamp_micros('2026-10-27T00:00:00Z'); period_start =
--   to_timestamp_micros('2026-11-02T00:00:00Z')
-- Columns: period_start, kind, key, count, previous_count, change, value, ci_low, ci_high
WITH f AS (
  SELECT source, category, rating, score, text, ts >= {from} AS current
  FROM feedback
  WHERE ((date >= {date_from} AND date <= {date_to}) OR (date >= {prev_date_from} AND date <= {prev_date_to}))
    AND ((ts >= {from} AND ts < {to}) OR (ts >= {prev_from} AND ts < {prev_to}))
),
categories AS (
  SELECT CASE source WHEN 'support_ticket' THEN 'ticket_category' ELSE 'in_app_category' END AS kind,
         coalesce(category, 'uncategorised') AS key,
         sum(CASE WHEN current THEN 1 ELSE 0 END) AS count,
         sum(CASE WHEN current THEN 0 ELSE 1 END) AS previous_count
  FROM f WHERE source IN ('support_ticket', 'in_app')
  GROUP BY 1, 2
  HAVING sum(CASE WHEN current THEN 1 ELSE 0 END) > 0
),
words AS (
  SELECT unnest(string_to_array(regexp_replace(lower(text), '[^a-z ]', ' ', 'g'), ' ')) AS word
  FROM f WHERE current AND source = 'in_app' AND text IS NOT NULL
),
terms AS (
  SELECT 'in_app_term' AS kind, word AS key, count(*) AS count
  FROM words
  WHERE length(word) >= 4 AND word NOT IN ('this', 'that', 'with', 'have', 'from', 'when', 'there',
        'what', 'would', 'could', 'very', 'just', 'your', 'they', 'them', 'were', 'been', 'will')
  GROUP BY word
  ORDER BY count DESC, key
  LIMIT 20
),
ratings AS (
  SELECT CAST(rating AS VARCHAR) AS key, count(*) AS count FROM f
  WHERE current AND source = 'app_review' AND rating IS NOT NULL GROUP BY rating
),
nps AS (
  SELECT count(*) AS n,
         sum(CASE WHEN score >= 9 THEN 1 ELSE 0 END) / CAST(count(*) AS DOUBLE) AS pp,
         sum(CASE WHEN score <= 6 THEN 1 ELSE 0 END) / CAST(count(*) AS DOUBLE) AS pd
  FROM f WHERE current AND source = 'nps' AND score IS NOT NULL
)
SELECT {period_start} AS period_start, kind, key, count, previous_count,
       count - previous_count AS change, CAST(NULL AS DOUBLE) AS value,
       CAST(NULL AS DOUBLE) AS ci_low, CAST(NULL AS DOUBLE) AS ci_high
FROM categories
UNION ALL
SELECT {period_start}, kind, key, count, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
       CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE)
FROM terms
UNION ALL
SELECT {period_start}, 'app_rating', r.key, r.count, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
       r.count / CAST(t.n AS DOUBLE), CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE)
FROM ratings r CROSS JOIN (SELECT sum(count) AS n FROM ratings) t
UNION ALL
SELECT {period_start}, 'app_rating', 'average', sum(count), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
       sum(CAST(key AS DOUBLE) * count) / sum(count), CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE)
FROM ratings
HAVING sum(count) > 0
UNION ALL
SELECT {period_start}, 'nps', 'nps', n, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
       100 * (pp - pd),
       100 * (pp - pd) - 1.959964 * 100 * sqrt((pp + pd - (pp - pd) * (pp - pd)) / n),
       100 * (pp - pd) + 1.959964 * 100 * sqrt((pp + pd - (pp - pd) * (pp - pd)) / n)
FROM nps WHERE n > 0
ORDER BY 2, 4 DESC, 3
