-- Backlog candidates, reliability: flapping alerts — a rule and entity that fired at least 3
-- times in the period, at least 2 of them resolved within 5 minutes (as `postlaunch alerts
-- review` counts them). Reach: the pages people got from it (`firing` transitions). Measure: the
-- share of its episodes that resolved within 5 minutes.
-- Tables: alerts
-- Parameters: {from}/{to} (the period, [from, to)).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: kind, category, subject, detail, reach, reach_unit, measure, samples
WITH marks AS (
  SELECT rule, entity, change, event_time,
         lead(change) OVER (PARTITION BY rule, entity ORDER BY event_time, wall_time) AS next_change,
         lead(event_time) OVER (PARTITION BY rule, entity ORDER BY event_time, wall_time) AS next_time
  FROM alerts
),
episodes AS (
  SELECT rule, entity,
         CASE WHEN next_change = 'resolved' AND next_time - event_time <= INTERVAL '5 minutes'
              THEN 1 ELSE 0 END AS short
  FROM marks
  WHERE change = 'firing' AND event_time >= {from} AND event_time < {to}
)
SELECT 'flapping_alert' AS kind, 'reliability' AS category, rule || ' on ' || entity AS subject,
       CAST(count(*) AS VARCHAR) || ' firings, ' || CAST(sum(short) AS VARCHAR)
         || ' resolved within 5 minutes' AS detail,
       count(*) AS reach, 'pages' AS reach_unit, sum(short) / CAST(count(*) AS DOUBLE) AS measure,
       count(*) AS samples
FROM episodes
GROUP BY rule, entity
HAVING count(*) >= 3 AND sum(short) >= 2
ORDER BY reach DESC, subject
