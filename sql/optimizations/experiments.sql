-- Optimisation records shipped as A/B experiments: each experiment's first exposure.
-- Tables: exposures
-- Columns: experiment, started
SELECT experiment, min(ts) AS started FROM exposures GROUP BY experiment ORDER BY experiment
