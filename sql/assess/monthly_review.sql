-- Phase 8 assessment: the latest monthly review stored (`postlaunch trends --monthly`; its
-- period_start is the start of its 30 days).
-- Tables: monthly_review
-- Columns: latest, metrics
SELECT max(period_start) AS latest, count(*) AS metrics FROM monthly_review
