-- Purchases and revenue by a key of the free-form `properties` of events.
-- Parameters: none. `json_get_str(properties, 'key')` reads one property (dotted paths reach into
-- nested objects: 'utm.source').
-- Columns: currency, purchases, revenue
SELECT json_get_str(properties, 'currency') AS currency,
       count(*) AS purchases,
       sum(revenue) AS revenue
FROM events
WHERE event = 'purchase'
GROUP BY 1
ORDER BY revenue DESC;
