-- Feedback over the days of a range: NPS and the app-rating average (means of the days, weighted
-- by responses), and the counts of each rating, category and ticket category; the Business page.
-- Tables: daily_feedback
-- Parameters: {from}, {to}: [from, to) of period_start (days).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: kind, key, responses, value
SELECT kind, key, sum(count) AS responses,
       sum(value * count) / nullif(CAST(sum(count) AS DOUBLE), 0) AS value
FROM daily_feedback
WHERE period_start >= {from} AND period_start < {to} AND kind <> 'in_app_term'
GROUP BY kind, key
ORDER BY kind, responses DESC, key
