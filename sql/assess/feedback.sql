-- Phase 8 assessment: feedback over a range, per source — how many items; for `nps` the
-- promoters (9-10) and detractors (0-6) among the answers; for `app_review` the sum and sum of
-- squares of the star ratings (mean and its standard error).
-- Tables: feedback
-- Parameters: {from}/{to} (the range, [from, to)).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: source, items, answers, promoters, detractors, ratings, rating_sum, rating_sum_sq
SELECT source, count(*) AS items,
       count(score) AS answers,
       sum(CASE WHEN score >= 9 THEN 1 ELSE 0 END) AS promoters,
       sum(CASE WHEN score <= 6 THEN 1 ELSE 0 END) AS detractors,
       count(rating) AS ratings,
       sum(CAST(rating AS DOUBLE)) AS rating_sum,
       sum(CAST(rating AS DOUBLE) * rating) AS rating_sum_sq
FROM feedback
WHERE ts >= {from} AND ts < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
GROUP BY source
ORDER BY source
