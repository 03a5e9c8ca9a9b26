-- The latest event of a table an experiment's metrics read (`events` for event metrics,
-- `requests` for request metrics): the default analysis time is the end of the hour of the
-- latest of these and of the last exposure, so that the readout of a finished experiment counts
-- every conversion the lake holds.
-- Parameters: {table}, the table
-- Example: table = events
-- Columns: last_event
SELECT max(ts) AS last_event
FROM {table};
