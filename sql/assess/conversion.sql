-- Phase 8 assessment: conversion over a range — the users with any event, and those of them
-- with a `purchase` (distinct users over the whole range, not summed per day).
-- Tables: events
-- Parameters: {from}/{to} (the range, [from, to)).
-- Example: from = to_timestamp_micros('2026-11-02T00:00:00Z'); to =
--   to_timestamp_micros('2026-11-04T00:00:00Z')
-- Columns: active_users, purchasing_users
SELECT count(DISTINCT user_id) AS active_users,
       count(DISTINCT CASE WHEN event = 'purchase' THEN user_id END) AS purchasing_users
FROM events
WHERE user_id IS NOT NULL AND ts >= {from} AND ts < {to}
  AND date >= to_char({from}, '%Y-%m-%d') AND date <= to_char({to} - INTERVAL '1 microsecond', '%Y-%m-%d')
