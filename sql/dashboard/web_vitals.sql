-- Core Web Vitals per page and device over a range: p75 (sketches merged) and Google's good /
-- needs-improvement / poor shares; the User experience page. `page` and `device` are `*`
-- for all pages or devices.
-- Tables: hourly_web_vitals
-- Parameters: {from}, {to}: [from, to) of hour_start (only the partitions of its dates are read).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: vital, page, device, samples, p75, good_share, needs_improvement_share, poor_share
SELECT vital, coalesce(page, '*') AS page, coalesce(device, '*') AS device,
       sum(samples) AS samples,
       ddsketch_quantile(ddsketch_merge(value_sketch), 0.75) AS p75,
       sum(good) / CAST(sum(samples) AS DOUBLE) AS good_share,
       sum(needs_improvement) / CAST(sum(samples) AS DOUBLE) AS needs_improvement_share,
       sum(poor) / CAST(sum(samples) AS DOUBLE) AS poor_share
FROM hourly_web_vitals
WHERE hour_start >= {from} AND hour_start < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
GROUP BY GROUPING SETS ((vital), (vital, page, device))
HAVING sum(samples) > 0
ORDER BY vital, page, device
