-- Backlog candidates, cost: over-provisioned hosts (CPU and memory p95 both below the idle
-- threshold, with a cost: the host's own `infra_cost_usd`, else its service's shared equally by
-- the service's hosts) and services with a cost but no requests in the period. Measure: the
-- host's or service's share of the period's infrastructure cost (`infra_cost_usd`). Reach: the
-- period's active users (cost per active user is what improves).
-- Tables: metrics, events, requests
-- Parameters: {from}/{to} (the period, [from, to)), {date_from}/{date_to} (its partition
--   dates), {idle_utilization} (`[targets] idle_utilization`, 0-1).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z'); date_from = '2026-11-02'; date_to =
--   '2026-11-03'; idle_utilization = 0.9
-- Columns: kind, category, subject, detail, reach, reach_unit, measure, samples
WITH m AS (
  SELECT name, value, host, service FROM metrics
  WHERE name IN ('cpu_utilization', 'memory_utilization', 'infra_cost_usd')
    AND date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
),
total AS (SELECT sum(value) AS cost FROM m WHERE name = 'infra_cost_usd'),
services AS (
  SELECT service, sum(value) AS cost, count(*) AS samples FROM m
  WHERE name = 'infra_cost_usd' AND service IS NOT NULL
  GROUP BY service
),
hosts AS (
  SELECT host, max(service) AS service,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY CASE WHEN name = 'cpu_utilization' THEN value END) AS cpu_p95,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY CASE WHEN name = 'memory_utilization' THEN value END) AS memory_p95,
         sum(CASE WHEN name = 'infra_cost_usd' THEN value ELSE 0 END) AS own_cost,
         sum(CASE WHEN name = 'cpu_utilization' THEN 1 ELSE 0 END) AS samples
  FROM m WHERE host IS NOT NULL
  GROUP BY host
),
fleet AS (SELECT service, count(*) AS hosts FROM hosts GROUP BY service),
host_cost AS (
  SELECT h.*, CASE WHEN h.own_cost > 0 THEN h.own_cost ELSE s.cost / f.hosts END AS cost
  FROM hosts h JOIN fleet f ON f.service IS NOT DISTINCT FROM h.service
  LEFT JOIN services s ON s.service = h.service
),
served AS (
  SELECT DISTINCT service FROM requests
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
),
users AS (
  SELECT count(DISTINCT user_id) AS users FROM events
  WHERE date >= {date_from} AND date <= {date_to} AND ts >= {from} AND ts < {to}
)
SELECT 'over_provisioned_host' AS kind, 'cost' AS category, 'host ' || h.host AS subject,
       'CPU p95 ' || CAST(round(100 * h.cpu_p95, 1) AS VARCHAR) || ' %, memory p95 '
         || CAST(round(100 * h.memory_p95, 1) AS VARCHAR) || ' %, $' || CAST(round(h.cost, 2) AS VARCHAR)
         || ' in the period' AS detail,
       u.users AS reach, 'users' AS reach_unit, h.cost / t.cost AS measure, h.samples
FROM host_cost h CROSS JOIN total t CROSS JOIN users u
WHERE h.cost > 0 AND h.cpu_p95 < {idle_utilization} AND h.memory_p95 < {idle_utilization}
UNION ALL
SELECT 'idle_service', 'cost', 'service ' || s.service,
       '$' || CAST(round(s.cost, 2) AS VARCHAR) || ' in the period and no requests',
       u.users, 'users', s.cost / t.cost, s.samples
FROM services s CROSS JOIN total t CROSS JOIN users u
WHERE s.cost > 0 AND s.service NOT IN (SELECT service FROM served WHERE service IS NOT NULL)
ORDER BY kind, measure DESC, subject
