-- The report of scorers against closed sales (GET /reports/scorers, `leadscore report`) at
-- 1,000,000 analyses: the plan and time of its statement (engine/store/scorer_report_queries.cpp)
-- over 200,000 leads, 50,000 sales (a third paid, a third lost) and analyses by four scorers
-- (one in two versions) spread evenly over 60 days, so the default 30-day window holds half.
-- Run against an empty, migrated database (figures: bench/README.md):
--   createdb lsbench && DATABASE_URL=postgresql://.../lsbench build/leadscore migrate
--   psql postgresql://.../lsbench -f bench/scorer_report.sql
\timing on
INSERT INTO leads (source, stage, business_domain)
  SELECT 'partner', 'new', 'acme.io' FROM generate_series(1, 200000);
INSERT INTO sales (lead_id, stage)
  SELECT id, CASE id % 3 WHEN 0 THEN 'paid' WHEN 1 THEN 'lost' ELSE 'kyc' END
    FROM leads WHERE id % 4 = 0;
INSERT INTO analyses (lead_id, scorer, scorer_version, role, actor, features, result, latency_ms,
                      created_at)
  SELECT 1 + (g % 200000), (ARRAY['heuristic', 'rules', 'icp_fit', 'hybrid'])[1 + g % 4],
         CASE WHEN g % 4 = 1 AND g > 500000 THEN '1.1+bbbb' ELSE '1.0+aaaa' END,
         'primary', 'bench', '{}'::jsonb,
         jsonb_build_object('score', (g % 1000) / 1000.0, 'recommendation',
                            'continue_qualification', 'reason', 'r'),
         1.0, now() - interval '60 days' + (g / 1000000.0) * interval '60 days'
    FROM generate_series(1, 1000000) g;
VACUUM ANALYZE leads;
VACUUM ANALYZE sales;
VACUUM ANALYZE analyses;
SELECT pg_size_pretty(pg_relation_size('analyses')) AS analyses,
       pg_size_pretty(pg_relation_size('analyses_scorer_version_lead')) AS report_index;

PREPARE report(timestamptz, timestamptz) AS
SELECT l.scorer, l.scorer_version, l.lead_id, r.score, r.recommendation, s.stage, l.runs,
       leadscore_rfc3339(l.first_at), leadscore_rfc3339(l.last_at)
 FROM (SELECT scorer, scorer_version, lead_id, max(id) AS id, count(*) AS runs,
              min(created_at) AS first_at, max(created_at) AS last_at
         FROM analyses
        WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz
        GROUP BY scorer, scorer_version, lead_id) l
 CROSS JOIN LATERAL (SELECT (a.result->>'score')::float8 AS score,
                            a.result->>'recommendation' AS recommendation
                       FROM analyses a WHERE a.id = l.id OFFSET 0) r
 LEFT JOIN sales s ON s.lead_id = l.lead_id;
-- The default window (30 days: 500,000 analyses, 200,000 leads by version), twice (the second
-- with a warm cache), then 3 days.
EXPLAIN (ANALYZE, COSTS OFF) EXECUTE report(now() - interval '30 days', now());
EXPLAIN (ANALYZE, COSTS OFF) EXECUTE report(now() - interval '30 days', now());
EXPLAIN (ANALYZE, COSTS OFF) EXECUTE report(now() - interval '3 days', now());
