-- Backlog candidates, user experience: what users said in the app — the 5 in-app feedback
-- categories and the 5 most frequent words (4+ letters, the stop words and splitting of
-- sql/rollup/feedback.sql) of the period. Reach: the users who said it (for a word,
-- the senders whose feedback contains it). Measure: its share of the users who sent in-app
-- feedback.
-- Tables: feedback
-- Parameters: {from}/{to} (the period, [from, to)), {date_from}/{date_to} (its partition dates).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); date_from = '2026-11-02'; date_to = '2026-11-03'
-- Columns: kind, category, subject, detail, reach, reach_unit, measure, samples
WITH f AS (
  SELECT coalesce(category, 'uncategorised') AS category, lower(coalesce(text, '')) AS text,
         coalesce(user_id, CAST(ts AS VARCHAR)) AS who
  FROM feedback
  WHERE source = 'in_app' AND date >= {date_from} AND date <= {date_to}
    AND ts >= {from} AND ts < {to}
),
total AS (SELECT count(DISTINCT who) AS n FROM f),
cats AS (
  SELECT 'feedback_category' AS kind, category AS key, count(DISTINCT who) AS reach,
         count(DISTINCT who) AS n
  FROM f GROUP BY category ORDER BY n DESC, key LIMIT 5
),
words AS (
  SELECT DISTINCT word AS key, who
  FROM (SELECT unnest(string_to_array(regexp_replace(text, '[^a-z ]', ' ', 'g'), ' ')) AS word, who FROM f)
  WHERE length(word) >= 4 AND word NOT IN ('this', 'that', 'with', 'have', 'from', 'when', 'there',
        'what', 'would', 'could', 'very', 'just', 'your', 'they', 'them', 'were', 'been', 'will')
),
terms AS (
  SELECT 'feedback_term' AS kind, key, count(*) AS reach, count(*) AS n
  FROM words GROUP BY key ORDER BY n DESC, key LIMIT 5
)
SELECT c.kind, 'user_experience' AS category,
       CASE c.kind WHEN 'feedback_term' THEN 'feedback word "' || c.key || '"'
                   ELSE 'in-app feedback: ' || c.key END AS subject,
       CAST(c.n AS VARCHAR) || ' of ' || CAST(t.n AS VARCHAR) || ' users who sent in-app feedback' AS detail,
       c.reach, 'users' AS reach_unit,
       c.n / CAST(t.n AS DOUBLE) AS measure, t.n AS samples
FROM (SELECT * FROM cats UNION ALL SELECT * FROM terms) c CROSS JOIN total t
ORDER BY c.kind, measure DESC, subject
