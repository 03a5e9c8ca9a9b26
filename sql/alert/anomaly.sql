-- The hourly series of an `[[anomaly]]` rule (pipelines/alerts.toml): one metric of an hourly
-- table per entity and hour, for the hours judged and the weeks of history their baseline needs
-- (src/alert/slow.rs computes the median and MAD of the same hour of the previous weeks).
-- Tables: hourly_service_metrics
-- Parameters: {table}: the rule's hourly table; {metric}: its column; {entity}: the expression
--   naming a series (the rule's `entity` columns); {filter}: a predicate (the rule's `filter`,
--   TRUE without one); {volume}: the rule's `volume` column, or NULL; {from}, {to}: [from, to).
--   Table and column names are checked against the hourly tables' columns when the rules load;
--   filter values are quoted literals.
-- Example: table = hourly_service_metrics; metric = p95_ms; entity = concat_ws(' ', service,
--   endpoint); filter = version = '*'; volume = requests; from =
--   to_timestamp_micros('2026-11-02T00:00:00Z'); to = to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: hour_start, entity, value, volume
SELECT
  hour_start,
  CAST({entity} AS VARCHAR) AS entity,
  CAST({metric} AS DOUBLE) AS value,
  CAST({volume} AS DOUBLE) AS volume
FROM {table}
WHERE hour_start >= {from} AND hour_start < {to} AND ({filter})
ORDER BY entity, hour_start;
