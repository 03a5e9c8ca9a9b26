-- The event-time range of the requests in the lake: the default range of `alerts replay`.
-- Tables: requests
-- Columns: first_ts, last_ts
SELECT min(ts) AS first_ts, max(ts) AS last_ts
FROM requests;
