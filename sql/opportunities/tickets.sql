-- Opportunities from support tickets: the 5 categories with the most tickets in the period;
-- reach = distinct users who filed one (tickets without a user count once each).
-- Tables: feedback
-- Parameters: {this_from}/{this_to} (RFC 3339, [from, to)): the period.
-- Example: this_from = to_timestamp_micros('2026-11-03T00:00:00Z'); this_to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: kind, subject, detail, reach, reach_unit, value
SELECT 'ticket_category' AS kind, coalesce(category, 'uncategorised') AS subject,
       CAST(count(*) AS VARCHAR) || ' tickets' AS detail,
       count(DISTINCT coalesce(user_id, ticket_id, CAST(ts AS VARCHAR))) AS reach,
       'users' AS reach_unit, CAST(count(*) AS DOUBLE) AS value
FROM feedback
WHERE source = 'support_ticket' AND ts >= {this_from} AND ts < {this_to}
GROUP BY 2
ORDER BY reach DESC, subject
LIMIT 5
