#!/usr/bin/env bash
# HTTP benchmark of the API with wrk: GET /leads/{id} and POST /leads/{id}/analyze.
# Starts its own PostgreSQL cluster and server (Release build in build-release, or
# LEADSCORE_BINARY), creates LEADS leads, runs wrk (-t2 -c64 -d10s by default), prints req/s, p99,
# the CPU time of the server and of PostgreSQL per request, and server RSS idle and under load,
# then stops everything. Usage: bench/http_bench.sh [seconds]
# FRONT_DOOR=1 also starts the front door (nginx, as `make run` does) and runs each route
# directly and through it, alternately in the same run, so the two can be compared.
# LEADSCORE_CONFIG picks another config (relative to the repository root); PROFILE=DIR also
# records perf profiles of the server and of the PostgreSQL backends into DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${1:-10}
leads=${LEADS:-1000}
binary=${LEADSCORE_BINARY:-$root/build-release/leadscore}
[[ -x "$binary" ]] || { echo "build first: make bench" >&2; exit 1; }

work=$(mktemp -d /tmp/leadscore-bench.XXXXXX)
chmod 755 "$work"
free_port() { local p; for p in $(seq "$1" $(($1 + 200))); do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }
pg_port=$(free_port 56000)
api_port=$(free_port 18000)
server=""
cleanup() {
  "$root/scripts/front_door.sh" stop "$work/front-door" >/dev/null 2>&1 || true
  [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [[ -f "$work/server.log" ]] && grep -h "analyses written" "$work/server.log" | sed 's/^[^ ]* [^ ]* /server: /' || true
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
curl -sf "http://127.0.0.1:$api_port/health" >/dev/null ||
  { echo "the server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }

sources=(scanner partner manual)
for i in $(seq "$leads"); do
  printf '{"source":"%s","business_domain":"d%d","activity_count":%d}\n' \
    "${sources[$((i % 3))]}" "$i" "$((i % 12))"
done | while read -r body; do
  curl -sf -o /dev/null -H "Authorization: Bearer $KEY" -d "$body" "http://127.0.0.1:$api_port/leads"
done

rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$server/status"; }
# CPU time (user + system, clock ticks) of a process and of its children that are alive now.
cpu_ticks() { local total=0 pid; for pid in "$1" $(pgrep -P "$1"); do
  [[ -r /proc/$pid/stat ]] && total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done; echo "$total"; }
postmaster=$(head -1 "$work/pg/postmaster.pid")
hz=$(getconf CLK_TCK)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; leads: $leads"
echo "server RSS idle: $(rss)"
targets=("direct $api_port")
if [[ -n "${FRONT_DOOR:-}" ]]; then
  front_port=$(free_port 18300)
  "$root/scripts/front_door.sh" start "$work/front-door" "127.0.0.1:$front_port" \
    "127.0.0.1:$api_port" "$binary" "${LEADSCORE_CONFIG:-}" > /dev/null
  targets+=("front-door $front_port")
fi
for route in get analyze; do
for target in "${targets[@]}"; do
  read -r where port <<< "$target"
  echo "== $route ($where, port $port): wrk -t2 -c64 -d${duration}s"
  ( sleep $((duration / 2)); echo "server RSS under load: $(rss)" ) &
  sampler=$!
  # PROFILE=DIR: also record the server with perf (call graphs) into DIR/perf.ROUTE.data.
  [[ -n "${PROFILE:-}" ]] && perf record -q -g -p "$server" -o "$PROFILE/perf.$route.data" \
    -- sleep "$duration" 2>/dev/null &
  [[ -n "${PROFILE:-}" ]] && perf record -q -g -p "$(pgrep -d, -P "$postmaster")" \
    -o "$PROFILE/perf.$route.postgres.data" -- sleep "$duration" 2>/dev/null &
  server_before=$(cpu_ticks "$server") pg_before=$(cpu_ticks "$postmaster")
  ROUTE=$route wrk ${WRK_FLAGS:-} -t2 -c64 -d"${duration}s" -s "$root/bench/wrk_leads.lua" "http://127.0.0.1:$port" \
    > "$work/wrk.out"
  grep -E "Requests/sec|p50|Socket|Non-2xx" "$work/wrk.out"
  # CPU per request is steadier than req/s on a shared machine: it does not count the waits.
  requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  awk -v s=$(($(cpu_ticks "$server") - server_before)) -v p=$(($(cpu_ticks "$postmaster") - pg_before)) \
    -v n="$requests" -v hz="$hz" 'BEGIN {printf "CPU per request: server %.0f us, postgres %.0f us\n",
      s * 1e6 / hz / n, p * 1e6 / hz / n}'
  wait "$sampler"
done
done
echo "server RSS after: $(rss)"
