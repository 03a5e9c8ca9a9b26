-- Opportunities from support tickets: the 5 categories with the most tickets in the period;
-- reach = distinct users who filed one (tickets without a user count once each).
-- Tables: feedback
-- Parameters: {this_from}/{this_to} (RFC 3339, [from, to)): the period.
-- Columns: kind, subject, detail, reach, reach_unit, value
SELECT 'ticket_category' AS kind, coalesce(category, 'uncategorised') AS subject,
       CAST(count(*) AS VARCHAR) || ' tickets' AS detail,
       count(DISTINCT coalesce(user_id, ticket_id, CAST(ts AS VARCHAR))) AS reach,
       'users' AS reach_unit, CAST(count(*) AS DOUBLE) AS value
FROM feedback
WHERE source = 'support_ticket' AND ts >= TIMESTAMP '{this_from}' AND ts < TIMESTAMP '{this_to}'
GROUP BY 2
ORDER BY reach DESC, subject
LIMIT 5
