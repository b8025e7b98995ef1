#!/usr/bin/env bash
# `make run`: serves leadscore through its front door. nginx listens on PORT (default 8000;
# on LISTEN_HOST, default 127.0.0.1) and leadscore on a loopback-only internal port behind it
# (LEADSCORE_INTERNAL_PORT, default PORT+1), so that an answer can never reach a client it
# was not for. Without DATABASE_URL it starts (and on exit stops) a private PostgreSQL cluster
# under var/pg, whose data a later run reuses. The admin key comes from LEADSCORE_ADMIN_KEY,
# else var/admin.key (created on the first run). Ctrl-C stops all of them.
set -euo pipefail
binary=${1:?usage: run.sh path/to/leadscore}
root=$(cd "$(dirname "$0")/.." && pwd)
var="$root/var"
mkdir -p "$var"

if [[ -z "${LEADSCORE_ADMIN_KEY:-}" ]]; then
  if [[ ! -s "$var/admin.key" ]]; then
    (umask 077; echo "lsk_$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" > "$var/admin.key")
  fi
  LEADSCORE_ADMIN_KEY=$(<"$var/admin.key")
fi
export LEADSCORE_ADMIN_KEY

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [[ -z "${DATABASE_URL:-}" ]]; then
  # Keep the port of the first run, unless something else has taken it since.
  pg_port=$(cat "$var/pg.port" 2>/dev/null || echo 55432)
  if ! "$root/scripts/pg_cluster.sh" status "$var/pg" >/dev/null 2>&1; then
    while ! port_free "$pg_port"; do pg_port=$((pg_port + 1)); done
  fi
  echo "$pg_port" > "$var/pg.port"
  DATABASE_URL=$("$root/scripts/pg_cluster.sh" start "$var/pg" "$pg_port")
  trap '"$root/scripts/pg_cluster.sh" stop "$var/pg"' EXIT
  echo "private PostgreSQL: $DATABASE_URL (data in var/pg)"
fi
export DATABASE_URL

port=${PORT:-8000}
listen_host=${LISTEN_HOST:-127.0.0.1}
internal=${LEADSCORE_INTERNAL_PORT:-$((port + 1))}
port_free "$port" || { echo "run.sh: port $port is taken (set PORT)" >&2; exit 1; }
while ! port_free "$internal"; do internal=$((internal + 1)); done

# leadscore itself, on loopback only (PORT overrides server.port for this process).
PORT=$internal "$binary" serve &
server=$!
front=""
stopping=""
stop_all() {
  stopping=1
  [[ -n "$front" ]] && "$root/scripts/front_door.sh" stop "$var/front-door"
  kill -TERM "$server" 2>/dev/null || true
}
trap 'stop_all' INT TERM
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$internal/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { wait "$server"; exit $?; }
  sleep 0.1
done

front=$("$root/scripts/front_door.sh" start "$var/front-door" "$listen_host:$port" \
  "127.0.0.1:$internal" "$binary" "${LEADSCORE_CONFIG:-}") || { stop_all; wait "$server"; exit 1; }

echo "leadscore: http://127.0.0.1:$port/ (front door: nginx; leadscore on 127.0.0.1:$internal)"
echo "  API docs: http://127.0.0.1:$port/docs (Swagger UI), /redoc, /openapi.json"
echo "  admin key: $LEADSCORE_ADMIN_KEY"
echo "  try: curl -H \"Authorization: Bearer \$(cat var/admin.key)\" http://127.0.0.1:$port/leads"

alive() { [[ -r "/proc/$1/stat" && $(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1) != Z ]]; }
# Whichever stops first, the other follows (Ctrl-C stops both through the trap).
while alive "$server" && alive "$front"; do
  sleep 1 &
  wait $! || true
done
[[ -n "$stopping" ]] || alive "$front" || echo "run.sh: the front door stopped (see var/front-door/error.log)" >&2
stop_all
status=0
wait "$server" || status=$?
exit "$status"
