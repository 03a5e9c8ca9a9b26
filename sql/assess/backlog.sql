-- Phase 8 assessment: the latest period the backlog was ranked for (`postlaunch backlog`) and
-- how many candidates that ranking holds.
-- Tables: optimization_backlog
-- Columns: latest, candidates
WITH latest AS (SELECT max(period_start) AS latest FROM optimization_backlog)
SELECT l.latest, count(b.id) AS candidates
FROM latest l LEFT JOIN optimization_backlog b ON b.period_start = l.latest
GROUP BY l.latest
