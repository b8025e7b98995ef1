#!/usr/bin/env bash
# HTTP benchmark of the API with wrk: GET /leads/{id} and POST /leads/{id}/analyze.
# Starts its own PostgreSQL cluster and server (Release build in build-release), seeds
# LEADS leads, runs wrk (-t2 -c64 -d10s by default), prints req/s, p99 and server RSS
# idle and under load, then stops everything. Usage: bench/http_bench.sh [seconds]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
duration=${1:-10}
leads=${LEADS:-1000}
binary="$root/build-release/leadscore"
[[ -x "$binary" ]] || { echo "build first: make bench" >&2; exit 1; }

work=$(mktemp -d /tmp/leadscore-bench.XXXXXX)
chmod 755 "$work"
free_port() { local p; for p in $(seq "$1" $(($1 + 200))); do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }
pg_port=$(free_port 56000)
api_port=$(free_port 18000)
server=""
cleanup() {
  [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  "$root/scripts/pg_cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL=$("$root/scripts/pg_cluster.sh" start "$work/pg" "$pg_port")
export LEADSCORE_ADMIN_KEY="lsk_bench_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export PORT=$api_port KEY=$LEADSCORE_ADMIN_KEY LEADS=$leads
"$binary" serve > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$api_port/health" >/dev/null && break; sleep 0.1; done

sources=(scanner partner manual)
for i in $(seq "$leads"); do
  printf '{"source":"%s","business_domain":"d%d","activity_count":%d}\n' \
    "${sources[$((i % 3))]}" "$i" "$((i % 12))"
done | while read -r body; do
  curl -sf -o /dev/null -H "Authorization: Bearer $KEY" -d "$body" "http://127.0.0.1:$api_port/leads"
done

rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$server/status"; }
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; leads: $leads"
echo "server RSS idle: $(rss)"
for route in get analyze; do
  echo "== $route: wrk -t2 -c64 -d${duration}s"
  ( sleep $((duration / 2)); echo "server RSS under load: $(rss)" ) &
  sampler=$!
  ROUTE=$route wrk -t2 -c64 -d"${duration}s" -s "$root/bench/wrk_leads.lua" "http://127.0.0.1:$api_port" |
    grep -E "Requests/sec|p50|Socket|Non-2xx"
  wait "$sampler"
done
echo "server RSS after: $(rss)"
