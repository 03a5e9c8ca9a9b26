-- Optimisation records: the deployments whose `optimization_backfire` alert is still firing
-- (its latest transition, by event time then decision time, is `firing`).
-- Tables: alerts
-- Columns: entity
WITH t AS (
  SELECT entity, change,
         row_number() OVER (PARTITION BY entity ORDER BY event_time DESC, wall_time DESC) AS rn
  FROM alerts
  WHERE rule = 'optimization_backfire'
)
SELECT entity FROM t WHERE rn = 1 AND change = 'firing' ORDER BY entity
