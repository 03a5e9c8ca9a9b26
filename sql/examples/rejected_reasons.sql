-- What was rejected, and why: the first step when a producer misbehaves.
-- Parameters: none.
-- Columns: target_table, reason, records, first_seen
SELECT target_table,
       reason,
       count(*) AS records,
       min(received_at) AS first_seen
FROM _rejected
GROUP BY target_table, reason
ORDER BY records DESC;
