#!/usr/bin/env bash
# `make run`: serves leadscore. Without DATABASE_URL it starts (and on exit stops) a private
# PostgreSQL cluster under var/pg, whose data a later run reuses. The admin key comes from
# LEADSCORE_ADMIN_KEY, else var/admin.key (created on the first run).
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
echo "leadscore: http://127.0.0.1:$port/   admin key: $LEADSCORE_ADMIN_KEY"
echo "  try: curl -H \"Authorization: Bearer \$(cat var/admin.key)\" http://127.0.0.1:$port/leads"

"$binary" serve &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true' INT TERM
status=0
wait "$server" || status=$?
if ((status > 128)); then
  # A signal interrupted the wait (the trap has passed it on): wait for the server itself.
  again=0
  wait "$server" || again=$?
  ((again == 127)) || status=$again
fi
exit "$status"
