-- The latest exposure of an experiment: the default analysis time is the end of its hour.
-- Parameters: experiment
-- Example: experiment = 'checkout_redesign'
-- Columns: last_exposure, exposures
WITH params AS (
  SELECT {experiment} AS experiment
)
SELECT max(x.ts) AS last_exposure, count(*) AS exposures
FROM exposures x CROSS JOIN params p
WHERE x.experiment = p.experiment;
