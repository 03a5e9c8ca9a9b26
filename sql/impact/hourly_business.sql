-- Per hour of a baseline and an after period: one service's infrastructure cost (metric
-- `infra_cost_usd`) and the shop's checkout and purchase sessions (conversion).
-- Parameters: service; before_start, before_end, after_start, after_end (periods [start, end))
-- Example: service = 'checkout'; before_start = to_timestamp_micros('2026-11-03T15:00:00Z');
--   before_end = to_timestamp_micros('2026-11-05T15:00:00Z'); after_start =
--   to_timestamp_micros('2026-11-10T15:00:00Z'); after_end =
--   to_timestamp_micros('2026-11-12T15:00:00Z')
-- Columns: arm, hour, cost_usd, checkout_sessions, purchase_sessions
WITH params AS (
  SELECT {service} AS service,
         {before_start} AS before_start,
         {before_end} AS before_end,
         {after_start} AS after_start,
         {after_end} AS after_end
),
cost AS (
  SELECT date_trunc('hour', m.ts) AS hour, sum(m.value) AS cost_usd
  FROM metrics m CROSS JOIN params p
  WHERE m.name = 'infra_cost_usd' AND m.service = p.service
    AND ((m.ts >= p.before_start AND m.ts < p.before_end) OR (m.ts >= p.after_start AND m.ts < p.after_end))
  GROUP BY 1
),
conv AS (
  SELECT date_trunc('hour', e.ts) AS hour,
         count(DISTINCT CASE WHEN e.event = 'begin_checkout' THEN e.session_id END) AS checkout_sessions,
         count(DISTINCT CASE WHEN e.event = 'purchase' THEN e.session_id END) AS purchase_sessions
  FROM events e CROSS JOIN params p
  WHERE e.event IN ('begin_checkout', 'purchase')
    AND ((e.ts >= p.before_start AND e.ts < p.before_end) OR (e.ts >= p.after_start AND e.ts < p.after_end))
  GROUP BY 1
)
SELECT CASE WHEN coalesce(cost.hour, conv.hour) >= p.after_start THEN 'after' ELSE 'before' END AS arm,
       coalesce(cost.hour, conv.hour) AS hour,
       coalesce(cost.cost_usd, 0.0) AS cost_usd,
       coalesce(conv.checkout_sessions, 0) AS checkout_sessions,
       coalesce(conv.purchase_sessions, 0) AS purchase_sessions
FROM cost FULL OUTER JOIN conv ON cost.hour = conv.hour
CROSS JOIN params p
ORDER BY 1, 2;
