-- The latest exposure of an experiment: the default analysis time is the end of its hour.
-- Parameters: experiment (the block between `params:begin` and `params:end` is replaced by
--   postlaunch; the value here is the demo's).
-- Columns: last_exposure, exposures
WITH params AS (
  -- params:begin
  SELECT 'checkout_redesign' AS experiment
  -- params:end
)
SELECT max(x.ts) AS last_exposure, count(*) AS exposures
FROM exposures x CROSS JOIN params p
WHERE x.experiment = p.experiment;
