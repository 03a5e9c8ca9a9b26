-- daily_web_vitals / weekly_web_vitals: roll-up of hourly_web_vitals. p75 from merged
-- DDSketches; rating counts add up and the shares are recomputed from them.
-- Tables: hourly_web_vitals
-- Parameters: {period_start} (RFC 3339), {from}/{to} (the period, [from, to)), {date_from}/{date_to}
--   (its first and last partition dates, for pruning), {seconds} (its length).
-- Example: period_start = to_timestamp_micros('2026-11-02T00:00:00Z'); date_from = '2026-11-02';
--   date_to = '2026-11-02'; from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-03T00:00:00Z')
-- Columns: period_start, page, device, vital, hours, samples, p75, good_share,
--   needs_improvement_share, poor_share, good, needs_improvement, poor, value_sketch
SELECT {period_start} AS period_start, page, device, vital, count(*) AS hours,
       sum(samples) AS samples,
       ddsketch_quantile(ddsketch_merge(value_sketch), 0.75) AS p75,
       sum(good) / CAST(sum(samples) AS DOUBLE) AS good_share,
       sum(needs_improvement) / CAST(sum(samples) AS DOUBLE) AS needs_improvement_share,
       sum(poor) / CAST(sum(samples) AS DOUBLE) AS poor_share,
       sum(good) AS good, sum(needs_improvement) AS needs_improvement, sum(poor) AS poor,
       ddsketch_merge(value_sketch) AS value_sketch
FROM hourly_web_vitals
WHERE date >= {date_from} AND date <= {date_to}
  AND hour_start >= {from} AND hour_start < {to}
GROUP BY page, device, vital
ORDER BY page, device, vital
