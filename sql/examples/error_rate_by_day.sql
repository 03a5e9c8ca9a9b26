-- Daily error rate (5xx share) per service.
-- Parameters: none.
-- Columns: date, service, requests, errors, error_rate
SELECT date,
       service,
       count(*) AS requests,
       count(*) FILTER (WHERE status >= 500) AS errors,
       count(*) FILTER (WHERE status >= 500) * 1.0 / count(*) AS error_rate
FROM requests
GROUP BY date, service
ORDER BY date, service;
