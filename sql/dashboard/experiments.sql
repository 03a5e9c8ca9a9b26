-- Each experiment's arms in a range: units exposed and the first and last exposure; the
-- Experiments & deployments page (the readout itself is computed on its own page).
-- Tables: exposures
-- Parameters: {from}, {to}: [from, to) of ts.
-- Example: from = to_timestamp_micros('2026-11-09T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-16T00:00:00Z')
-- Columns: experiment, variant, units, first_exposure, last_exposure
SELECT experiment, variant, count(DISTINCT user_id) AS units, min(ts) AS first_exposure,
       max(ts) AS last_exposure
FROM exposures
WHERE ts >= {from} AND ts < {to}
GROUP BY experiment, variant
ORDER BY experiment, variant
