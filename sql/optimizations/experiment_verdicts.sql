-- Optimisation records shipped as A/B experiments: the verdict of each experiment's latest
-- stored readout (`postlaunch experiment analyze`).
-- Tables: experiment_results
-- Columns: experiment, analysis_time, verdict
WITH latest AS (
  SELECT experiment, max(analysis_time) AS analysis_time FROM experiment_results GROUP BY experiment
)
SELECT r.experiment, l.analysis_time, max(r.experiment_verdict) AS verdict
FROM experiment_results r JOIN latest l
  ON l.experiment = r.experiment AND l.analysis_time = r.analysis_time
GROUP BY r.experiment, l.analysis_time
ORDER BY r.experiment
