#!/usr/bin/env bash
# Benchmark of an experiment's report (GET /experiments/{name}/report). Starts its own
# PostgreSQL cluster, migrates it, and loads with
# generate_series: LEADS leads (default 500,000) assigned half and half to two arms, two
# analyses of each in the experiment (the arm's scorer as primary, a shadow: 1,000,000 rows by
# default) and a sale for 30% of them (a third paid, a third lost, a third open); then
#   1. the report's three queries (engine/store/experiment_queries.cpp), each timed in psql;
#   2. the whole report over HTTP from a server (LEADSCORE_BINARY, default build/leadscore),
#      timed by curl, RUNS times (default 5).
# What storing a lead's arm adds to its first analysis is measured by bench/assignment_bench.cpp
# and bench/experiment_cost.sh.
# Usage: bench/experiment_report_bench.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
leads=${LEADS:-500000}
runs=${RUNS:-5}
binary=${LEADSCORE_BINARY:-$root/build/leadscore}
[[ -x "$binary" ]] || { echo "build first: cmake --build build --target leadscore" >&2; exit 1; }

work=$(mktemp -d /tmp/leadscore-experiment-bench.XXXXXX)
chmod 755 "$work"
. "$root/bench/bench_lib.sh"
pg_port=$(free_port $((26500 + RANDOM % 400)))  # below the ephemeral range
api_port=$(free_port $((18500 + RANDOM % 400)))
server=""
cleanup() {
  [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  "$root/scripts/pg_cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL=$("$root/scripts/pg_cluster.sh" start "$work/pg" "$pg_port")
"$binary" migrate >/dev/null
sql() { psql -q -X -v ON_ERROR_STOP=1 "$DATABASE_URL" "$@"; }

echo "loading $leads leads, $((2 * leads)) analyses, $((3 * leads / 10)) sales ..."
sql <<SQL
INSERT INTO leads (source, stage, business_domain, activity_count, name, role, company, industry)
  SELECT 'scanner', 'qualified', 'fintech', g % 12, 'Lead ' || g, 'CTO', 'Company ' || (g % 997),
         'fintech'
  FROM generate_series(1, $leads) g;
INSERT INTO experiment_assignments (experiment, lead_id, arm, bucket, split)
  SELECT 'bench', id, CASE WHEN id % 2 = 0 THEN 'control' ELSE 'challenger' END, id % 10000,
         'control:50,challenger:50'
  FROM leads;
UPDATE leads SET stage = 'transferred' WHERE id % 10 < 3;
INSERT INTO sales (lead_id, stage)
  SELECT id, CASE id % 3 WHEN 0 THEN 'paid' WHEN 1 THEN 'lost' ELSE 'kyc' END
  FROM leads WHERE stage = 'transferred';
-- Scores that lean towards the outcome: a paid lead scores higher, as a useful scorer would.
INSERT INTO analyses (lead_id, scorer, scorer_version, role, actor, features, result,
                      contributions, latency_ms, experiment, arm, created_at)
  SELECT l.id, r.scorer, '1.0+bench', r.role, 'bench',
         jsonb_build_object('source', 'scanner', 'stage', 'qualified', 'activity_count', l.id % 12,
                            'business_domain', 'fintech', 'name', 'Lead ' || l.id, 'role', 'CTO',
                            'company', 'Company ' || (l.id % 997), 'industry', 'fintech'),
         jsonb_build_object('score', s.score, 'reason', 'bench',
                            'recommendation', CASE WHEN s.score >= 0.7 THEN 'transfer_to_sales'
                                                   WHEN s.score <= 0.3 THEN 'drop_lead'
                                                   ELSE 'continue_qualification' END),
         '[{"rule": "bench", "points": 0.5}]', 0.05, 'bench',
         CASE WHEN l.id % 2 = 0 THEN 'control' ELSE 'challenger' END, now()
  FROM leads l
  CROSS JOIN LATERAL (VALUES (CASE WHEN l.id % 2 = 0 THEN 'heuristic' ELSE 'rules' END, 'primary'),
                             ('icp_fit', 'shadow')) AS r(scorer, role)
  CROSS JOIN LATERAL (SELECT round(least(1, greatest(0, 0.45 + random() * 0.4 - 0.2
           + CASE WHEN l.id % 10 < 3 AND l.id % 3 = 0 THEN 0.2 ELSE 0 END))::numeric, 3)::float8
           AS score) AS s;
VACUUM ANALYZE;
SQL
sql -c "SELECT count(*) AS analyses FROM analyses" -c "SELECT count(*) AS sales FROM sales"

echo "1. the report's queries (psql \\timing, second run):"
queries=$(cat <<'SQL'
SELECT arm, count(*), count(*) FILTER (WHERE split = 'control:50,challenger:50')
 FROM experiment_assignments WHERE experiment = 'bench' GROUP BY arm ORDER BY arm;
SELECT count(*) FROM (SELECT x.lead_id, x.arm, s.stage FROM experiment_assignments x
 JOIN sales s ON s.lead_id = x.lead_id WHERE x.experiment = 'bench') sold;
SELECT count(*) FROM (SELECT id, lead_id, scorer, role = 'primary', arm,
 (result->>'score')::float8, result->>'recommendation' FROM analyses
 WHERE experiment = 'bench' AND result IS NOT NULL) runs;
SQL
)
sql -c "$queries" >/dev/null
{ echo '\timing on'; echo "$queries"; } | sql | grep -E "^Time"

echo "2. GET /experiments/bench/report over HTTP ($runs runs):"
cat > "$work/leadscore.yaml" <<YAML
jobs: {runners: 0}
log: {requests: false}
scoring:
  primary: heuristic
  shadow: [icp_fit]
  scorers:
    heuristic: {plugin: heuristic}
    rules: {plugin: lua, params: {script: $root/rules/default.lua}, fallback: heuristic}
    icp_fit: {plugin: lua, params: {script: $root/rules/icp_fit.lua}, fallback: heuristic}
experiments:
  - name: bench
    salt: bench
    arms:
      - {name: control, scorer: heuristic, weight: 50}
      - {name: challenger, scorer: rules, weight: 50}
YAML
export LEADSCORE_ADMIN_KEY="lsk_bench_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export PORT=$api_port
LEADSCORE_CONFIG="$work/leadscore.yaml" "$binary" serve > "$work/server.log" 2>&1 &
server=$!
wait_for_server "$api_port" "$work/server.log"
for _ in $(seq "$runs"); do
  curl -sf -o "$work/report.json" -w '%{time_total} s\n' \
    -H "Authorization: Bearer $LEADSCORE_ADMIN_KEY" "http://127.0.0.1:$api_port/experiments/bench/report"
done
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('arms:', [(a['name'], a['assigned'], a['paid'], a['lost'], a['open']) for a in r['arms']]); print('sample ratio p:', r['sample_ratio']['p_value'], 'scored leads:', r['scorers']['outcomes'])" "$work/report.json"
