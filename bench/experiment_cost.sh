#!/usr/bin/env bash
# What a live experiment adds to the first analysis of a lead: POST /leads/{id}/analyze of leads
# never analyzed before, each once, with the shipped config plus an active experiment (both arms
# run the heuristic, the primary: the only difference is the lead's arm, stored with its first
# analysis) and with the same experiment stopped (`active: false`: no arm), alternately on the
# same database, a fresh server per run. Starts its own PostgreSQL cluster (durable: commits wait
# for the disk, as in production) and loads LEADS leads (default 200,000) with generate_series.
# Each run is wrk -t1 -c$CONNECTIONS (default 1: one request at a time, so the mean latency is
# what one request costs) for the given seconds; the summary gives each run's mean latency,
# req/s and CPU per request (server + PostgreSQL), and the leads assigned.
# Usage: bench/experiment_cost.sh [seconds]   (default 10; ROUNDS, default 3; LEADSCORE_BINARY,
# default build-release/leadscore). Even rounds run the two variants in reverse order.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${1:-10}
rounds=${ROUNDS:-3}
leads=${LEADS:-200000}
connections=${CONNECTIONS:-1}
binary=${LEADSCORE_BINARY:-$root/build-release/leadscore}
[[ -x "$binary" ]] || { echo "build first: make bench" >&2; exit 1; }

work=$(mktemp -d /tmp/leadscore-experiment-cost.XXXXXX)
chmod 755 "$work"
. "$root/bench/bench_lib.sh"
pg_port=$(free_port 26200)  # below the ephemeral range: no client socket holds it
api_port=$(free_port 18200)
server=""
variants=(on off)
stop_server() {
  [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  server=""
}
cleanup() {
  stop_server
  for v in "${variants[@]}"; do rm -f "config/.experiment-cost-$v.yaml"; done
  "$root/scripts/pg_cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The variants sit beside the shipped config: its relative paths (rules, plugins) still resolve.
grep -q '^experiments: \[\]$' config/leadscore.yaml ||
  { echo "config/leadscore.yaml no longer ends with 'experiments: []'" >&2; exit 1; }
for v in "${variants[@]}"; do
  active=true
  [[ "$v" == off ]] && active=false
  { sed -e '/^experiments: \[\]$/d' -e 's/^  requests: true$/  requests: false/' config/leadscore.yaml
    cat <<YAML
experiments:
  - name: cost
    salt: cost
    active: $active
    arms:
      - {name: control, scorer: heuristic, weight: 50}
      - {name: challenger, scorer: heuristic, weight: 50}
YAML
  } >"config/.experiment-cost-$v.yaml"
done

export DATABASE_URL=$("$root/scripts/pg_cluster.sh" start "$work/pg" "$pg_port")
"$binary" migrate >/dev/null
sql() { psql -q -X -t -A -v ON_ERROR_STOP=1 "$DATABASE_URL" "$@"; }
sql -c "INSERT INTO leads (source, stage, business_domain, activity_count)
          SELECT 'partner', 'qualified', 'fintech', g % 12 FROM generate_series(1, $leads) g" \
  -c "VACUUM ANALYZE"
export LEADSCORE_ADMIN_KEY="lsk_bench_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export KEY=$LEADSCORE_ADMIN_KEY PORT=$api_port

postmaster=$(head -1 "$work/pg/postmaster.pid")
hz=$(getconf CLK_TCK)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; wrk -t1 -c$connections -d${duration}s"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
first=$(sql -c "SELECT min(id) FROM leads")
last=$(sql -c "SELECT max(id) FROM leads")
for round in $(seq "$rounds"); do
  order=("${variants[@]}")
  ((round % 2 == 0)) && order=(off on)
  for v in "${order[@]}"; do
    LEADSCORE_CONFIG="config/.experiment-cost-$v.yaml" "$binary" serve >"$work/server.log" 2>&1 &
    server=$!
    wait_for_server "$api_port" "$work/server.log"
    assigned_before=$(sql -c "SELECT count(*) FROM experiment_assignments")
    server_before=$(cpu_ticks "$server") pg_before=$(cpu_ticks "$postmaster")
    FIRST=$first THREADS=1 wrk -t1 -c"$connections" -d"${duration}s" -s "$root/bench/wrk_fresh_leads.lua" \
      "http://127.0.0.1:$api_port" >"$work/wrk.out"
    server_ticks=$(($(cpu_ticks "$server") - server_before)) pg_ticks=$(($(cpu_ticks "$postmaster") - pg_before))
    stop_server
    requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
    assigned=$(($(sql -c "SELECT count(*) FROM experiment_assignments") - assigned_before))
    first=$((first + requests + 100))
    ((first + requests < last)) || { echo "out of fresh leads: raise LEADS" >&2; exit 1; }
    grep -q "non-2xx 0, socket errors 0" "$work/wrk.out" ||
      { echo "errors in the run:" >&2; cat "$work/wrk.out" >&2; exit 1; }
    awk -v s="$server_ticks" -v p="$pg_ticks" -v n="$requests" -v hz="$hz" -v v="$v" -v r="$round" \
      -v a="$assigned" '
      /Requests\/sec/ { rate = $2 } /^mean/ { mean = $2 }
      END { printf "%s, round %s: mean %.0f us, %.0f req/s, CPU per request server %.0f + postgres %.0f us, %d requests, %d leads assigned\n",
              v, r, mean, rate, s * 1e6 / hz / n, p * 1e6 / hz / n, n, a }' "$work/wrk.out" |
      tee -a "$work/results"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== summary: mean latency per variant over the rounds"
awk -F'[ ,]+' '{ sum[$1] += $5; n[$1]++ } END { for (v in sum) printf "%s: %.0f us\n", v, sum[v] / n[v] }' \
  "$work/results" | sort
