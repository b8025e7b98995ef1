#!/usr/bin/env bash
# HTTP benchmark of the API with wrk: GET /leads/{id} and POST /leads/{id}/analyze.
# Starts its own PostgreSQL cluster and server (Release build in build-release, or
# LEADSCORE_BINARY), creates LEADS leads, runs wrk (-t2 -c64 -d10s by default), prints req/s, p99,
# the CPU time of the server and of PostgreSQL per request, and server RSS idle and under load,
# then stops everything. Usage: bench/http_bench.sh [seconds]
# GET is also measured against the bare reference (bench/bare_read_server.cpp: Pistache and one
# prepared read per request in the reactor, nothing else; BARE_BINARY, default beside the
# leadscore binary in bench/), on the same database with as many reactor threads as leadscore,
# alternately with leadscore (bare, leadscore, bare, leadscore, ...) so that the machine's
# noise hits both; the summary gives leadscore's req/s as a fraction of the bare reference's in
# each round. BARE=0 leaves the reference out.
# MODE=get|analyze|all (default all) picks the routes; ROUNDS (default 2) how many times each
# route is run (for GET, each round is one bare and one leadscore run).
# FRONT_DOOR=1 also starts the front door (nginx, as `make run` does) and runs each route
# directly and through it, alternately in the same run, so the two can be compared.
# LEADSCORE_CONFIG picks another config (relative to the repository root); PROFILE=DIR also
# records perf profiles of the server and of the PostgreSQL backends into DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${1:-10}
leads=${LEADS:-1000}
mode=${MODE:-all}
rounds=${ROUNDS:-2}
binary=${LEADSCORE_BINARY:-$root/build-release/leadscore}
bare_binary=${BARE_BINARY:-$(dirname "$binary")/bench/bare_read_server}
[[ -x "$binary" ]] || { echo "build first: make bench" >&2; exit 1; }
case "$mode" in get) routes=(get) ;; analyze) routes=(analyze) ;; all) routes=(get analyze) ;;
  *) echo "MODE must be get, analyze or all" >&2; exit 2 ;; esac
bare=""
if [[ "${BARE:-1}" != 0 && " ${routes[*]} " == *" get "* ]]; then
  [[ -x "$bare_binary" ]] ||
    { echo "build the bare reference first: cmake --build build-release --target bare_read_server" >&2; exit 1; }
  bare=1
fi
# The bare reference gets as many reactor threads as leadscore has (server.threads).
config_file=$root/${LEADSCORE_CONFIG:-config/leadscore.yaml}
threads=$(awk '/^server:/ {s = 1; next} /^[^ #]/ {s = 0} s && $1 == "threads:" {print $2; exit}' "$config_file")
threads=${threads:-2}

work=$(mktemp -d /tmp/leadscore-bench.XXXXXX)
chmod 755 "$work"
. "$root/bench/bench_lib.sh"
pg_port=$(free_port 26000)  # below the ephemeral range: no client socket holds it
api_port=$(free_port 18000)
server="" bare_server=""
cleanup() {
  "$root/scripts/front_door.sh" stop "$work/front-door" >/dev/null 2>&1 || true
  [[ -n "$bare_server" ]] && kill -TERM "$bare_server" 2>/dev/null && wait "$bare_server" 2>/dev/null || true
  [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [[ -f "$work/server.log" ]] && grep -h "analyses written" "$work/server.log" | sed 's/^[^ ]* [^ ]* /server: /' || true
  [[ -f "$work/server.log" ]] && echo "server: reads sent from the reactors to the worker pool $(grep -c "go to the worker pool" "$work/server.log") times" || true
  "$root/scripts/pg_cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL=$("$root/scripts/pg_cluster.sh" start "$work/pg" "$pg_port")
export LEADSCORE_ADMIN_KEY="lsk_bench_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export PORT=$api_port KEY=$LEADSCORE_ADMIN_KEY LEADS=$leads
"$binary" serve > "$work/server.log" 2>&1 &
server=$!
wait_for_server "$api_port" "$work/server.log"

sources=(scanner partner manual)
for i in $(seq "$leads"); do
  printf '{"source":"%s","business_domain":"d%d","activity_count":%d}\n' \
    "${sources[$((i % 3))]}" "$i" "$((i % 12))"
done | while read -r body; do
  curl -sf -o /dev/null -H "Authorization: Bearer $KEY" -d "$body" "http://127.0.0.1:$api_port/leads"
done

# The bare reference, on the database leadscore has migrated and filled.
if [[ -n "$bare" ]]; then
  bare_port=$(free_port 18600)
  "$bare_binary" "$bare_port" "$threads" > "$work/bare.log" 2>&1 &
  bare_server=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$bare_port/leads/1" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$bare_port/leads/1" ||
    { echo "the bare reference did not start:" >&2; cat "$work/bare.log" >&2; exit 1; }
fi

rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$server/status"; }
postmaster=$(head -1 "$work/pg/postmaster.pid")
hz=$(getconf CLK_TCK)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; leads: $leads; reactor threads: $threads"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server RSS idle: $(rss)"
targets=("direct $api_port $server")
if [[ -n "${FRONT_DOOR:-}" ]]; then
  front_port=$(free_port 18300)
  "$root/scripts/front_door.sh" start "$work/front-door" "127.0.0.1:$front_port" \
    "127.0.0.1:$api_port" "$binary" "${LEADSCORE_CONFIG:-}" > /dev/null
  targets+=("front-door $front_port $server")
fi

# One wrk run of ROUTE against WHERE (port PORT, server process PID); prints its figures and
# appends "route where round req/s p99_ms server_us postgres_us" to $work/results.
measure() {
  local route=$1 where=$2 port=$3 pid=$4 round=$5
  echo "== $route ($where, port $port), round $round: wrk -t2 -c64 -d${duration}s"
  local sampler=""
  if [[ "$pid" == "$server" ]]; then
    ( sleep $((duration / 2)); echo "server RSS under load: $(rss)" ) &
    sampler=$!
  fi
  # PROFILE=DIR: also record the server with perf (call graphs) into DIR/perf.ROUTE.WHERE.N.data.
  local profilers=()
  if [[ -n "${PROFILE:-}" ]]; then
    perf record -q -g -p "$pid" -o "$PROFILE/perf.$route.$where.$round.data" \
      -- sleep "$duration" 2>/dev/null &
    profilers+=($!)
    perf record -q -g -p "$(pgrep -d, -P "$postmaster")" \
      -o "$PROFILE/perf.$route.$where.$round.postgres.data" -- sleep "$duration" 2>/dev/null &
    profilers+=($!)
  fi
  local server_before pg_before
  server_before=$(cpu_ticks "$pid") pg_before=$(cpu_ticks "$postmaster")
  ROUTE=$route wrk ${WRK_FLAGS:-} -t2 -c64 -d"${duration}s" -s "$root/bench/wrk_leads.lua" "http://127.0.0.1:$port" \
    > "$work/wrk.out"
  local server_ticks=$(($(cpu_ticks "$pid") - server_before)) pg_ticks=$(($(cpu_ticks "$postmaster") - pg_before))
  grep -E "Requests/sec|p50|Socket|Non-2xx" "$work/wrk.out"
  # CPU per request is steadier than req/s on a shared machine: it does not count the waits.
  local requests rate p99
  requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  rate=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
  p99=$(sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' "$work/wrk.out")
  awk -v s="$server_ticks" -v p="$pg_ticks" -v n="$requests" -v hz="$hz" \
    -v line="$route $where $round $rate $p99" 'BEGIN {
      printf "CPU per request: server %.0f us, postgres %.0f us\n", s * 1e6 / hz / n, p * 1e6 / hz / n
      printf "%s %.0f %.0f\n", line, s * 1e6 / hz / n, p * 1e6 / hz / n >> "'"$work/results"'" }'
  [[ -n "$sampler" ]] && wait "$sampler"
  [[ ${#profilers[@]} -gt 0 ]] && wait "${profilers[@]}"
  return 0
}

for route in "${routes[@]}"; do
for round in $(seq "$rounds"); do
  [[ "$route" == get && -n "$bare" ]] && measure get bare "$bare_port" "$bare_server" "$round"
  for target in "${targets[@]}"; do
    read -r where port pid <<< "$target"
    measure "$route" "$where" "$port" "$pid" "$round"
  done
done
done
echo "server RSS after: $(rss)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== summary (req/s, p99, CPU per request: server + postgres)"
awk '{ key = $1 " " $3; runs[key] = runs[key] sprintf("  %s %.0f req/s, p99 %s ms, %s + %s us;", $2, $4, $5, $6, $7)
       rate[key " " $2] = $4 }
     END { for (key in runs) { line = key ":" runs[key]
             if ((key " bare") in rate && (key " direct") in rate)
               line = line sprintf("  leadscore/bare %.2f", rate[key " direct"] / rate[key " bare"])
             print line } }' "$work/results" | sort
