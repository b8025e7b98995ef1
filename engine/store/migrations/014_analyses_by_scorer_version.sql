-- 014: the report of scorers against closed sales (GET /reports/scorers, `leadscore report`)
-- keeps, for each scorer version, the latest run of each lead in a time window, and counts the
-- runs. This index holds every run's scorer, version, lead, id and time in that order, so the
-- report reads it alone (an index-only scan), aggregating lead by lead with no sort; the table
-- is read only for the latest run of each lead, by its id. Measured at 1,000,000 analyses:
-- bench/README.md ("The report of scorers").
CREATE INDEX analyses_scorer_version_lead ON analyses (scorer, scorer_version, lead_id, id)
  INCLUDE (created_at);
