-- Phase 8 assessment: the latest period the backlog was ranked for (`postlaunch backlog`).
-- Tables: optimization_backlog
-- Columns: latest, candidates
SELECT max(period_start) AS latest, count(*) AS candidates FROM optimization_backlog
