#!/usr/bin/env bash
# Benchmark of a background scoring job: LEADS stored leads (default 100,000, imported in one
# POST /leads/import), then one job over every unscored lead with the primary scorer
# (POST /jobs/score {"filter": {"unscored": true}}), polled until done. Starts its own
# PostgreSQL cluster and server (Release build in build-release, or LEADSCORE_BINARY), prints
# the job's rate (leads/s from its started_at to finished_at), the CPU time of the server and
# of PostgreSQL per lead, how the analyses were written (statements, largest batch), checks
# that every lead has exactly one analysis by the job, then stops everything.
# Usage: bench/job_bench.sh    (LEADSCORE_CONFIG: another config, relative to the repository
# root; the `jobs` section sets runners, batch_size and in_flight; STATEMENTS=1: also where
# PostgreSQL's time per lead went, statement by statement, from pg_stat_statements)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
leads=${LEADS:-100000}
binary=${LEADSCORE_BINARY:-$root/build-release/leadscore}
[[ -x "$binary" ]] || { echo "build first: make bench" >&2; exit 1; }
config=${LEADSCORE_CONFIG:-config/leadscore.yaml}
[[ "$config" == /* ]] || config=$root/$config
export LEADSCORE_CONFIG=$config

work=$(mktemp -d /tmp/leadscore-job-bench.XXXXXX)
chmod 755 "$work"
. "$root/bench/bench_lib.sh"
pg_port=$(free_port 26300)  # below the ephemeral range: no client socket holds it
api_port=$(free_port 18300)
server=""
cleanup() {
  [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [[ -f "$work/server.log" ]] && grep -h "written: " "$work/server.log" | sed 's/^[^ ]* [^ ]* /server: /' || true
  "$root/scripts/pg_cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

[[ "${STATEMENTS:-0}" == 1 ]] &&
  export PG_CLUSTER_OPTIONS="-c shared_preload_libraries=pg_stat_statements"
export DATABASE_URL=$("$root/scripts/pg_cluster.sh" start "$work/pg" "$pg_port")
[[ "${STATEMENTS:-0}" == 1 ]] && psql -qAt "$DATABASE_URL" -c "CREATE EXTENSION pg_stat_statements"
export LEADSCORE_ADMIN_KEY="lsk_bench_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export PORT=$api_port
"$binary" serve > "$work/server.log" 2>&1 &
server=$!
wait_for_server "$api_port" "$work/server.log"
api() { curl -sf -H "Authorization: Bearer $LEADSCORE_ADMIN_KEY" "$@"; }

# Leads that differ in what the heuristic looks at: source, activity, domain, role, industry.
awk -v n="$leads" 'BEGIN {
  split("scanner partner manual", src, " "); split("CEO CTO Engineer Analyst Founder", role, " ")
  split("fintech retail health logistics", ind, " ")
  print "source,business_domain,activity_count,name,role,company,industry"
  for (i = 1; i <= n; i++)
    printf "%s,%s,%d,Lead %d,%s,Company %d,%s\n", src[i % 3 + 1], (i % 4 ? "d" i : ""), i % 12,
      i, role[i % 5 + 1], i % 997, ind[i % 4 + 1] }' > "$work/leads.csv"
api -o /dev/null -H "Content-Type: text/csv" --data-binary "@$work/leads.csv" \
  "http://127.0.0.1:$api_port/leads/import"

postmaster=$(head -1 "$work/pg/postmaster.pid")
hz=$(getconf CLK_TCK)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; leads: $leads;" \
  "config: $(sed -n '/^jobs:/,/^[^ #]/p' "$LEADSCORE_CONFIG" | awk '$1 ~ /:$/ && $1 != "jobs:" {printf "%s %s ", $1, $2}')"
server_before=$(cpu_ticks "$server") pg_before=$(cpu_ticks "$postmaster")
[[ "${STATEMENTS:-0}" == 1 ]] && psql -qAt "$DATABASE_URL" -c "SELECT pg_stat_statements_reset()" >/dev/null
created=$(api -H "Content-Type: application/json" -d '{"filter": {"unscored": true}}' \
  "http://127.0.0.1:$api_port/jobs/score")
id=$(jq -r .id <<< "$created")
echo "job $id: total $(jq -r .total <<< "$created")"
while :; do
  job=$(api "http://127.0.0.1:$api_port/jobs/$id")
  status=$(jq -r .status <<< "$job")
  [[ "$status" == queued || "$status" == running ]] || break
  sleep 0.2
done
server_ticks=$(($(cpu_ticks "$server") - server_before)) pg_ticks=$(($(cpu_ticks "$postmaster") - pg_before))
jq -c '{status, total, done, failed, started_at, finished_at, rate}' <<< "$job"
finished=$(jq -r '.done + .failed' <<< "$job")
awk -v s="$server_ticks" -v p="$pg_ticks" -v n="$finished" -v hz="$hz" -v rate="$(jq -r .rate <<< "$job")" \
  'BEGIN { printf "rate %.0f leads/s; CPU per lead: server %.0f us, postgres %.0f us\n", rate,
           s * 1e6 / hz / n, p * 1e6 / hz / n }'
if [[ "${STATEMENTS:-0}" == 1 ]]; then
  echo "PostgreSQL's time per lead, by statement (pg_stat_statements, the 6 costliest):"
  psql -qAt "$DATABASE_URL" -F ' ' -c "SELECT round((total_exec_time * 1000 / $finished)::numeric, 1) || ' us',
    calls || ' calls', left(regexp_replace(query, '\s+', ' ', 'g'), 70)
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 6"
fi
psql -qAt "$DATABASE_URL" -c "SELECT 'analyses by the job: ' || count(*) || ' of ' || count(DISTINCT lead_id) || ' leads'
  FROM analyses WHERE actor LIKE 'job $id (%'"
