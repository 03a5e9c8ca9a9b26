-- Each experiment's arms in a range: units exposed and the first and last exposure; the
-- Experiments & deployments page (the readout itself is computed on its own page).
-- Tables: exposures
-- Parameters: {from}, {to}: [from, to) of ts (only the partitions of its dates are read).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: experiment, variant, units, first_exposure, last_exposure
SELECT experiment, variant, count(DISTINCT user_id) AS units, min(ts) AS first_exposure,
       max(ts) AS last_exposure
FROM exposures
WHERE ts >= {from} AND ts < {to} AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
GROUP BY experiment, variant
ORDER BY experiment, variant
