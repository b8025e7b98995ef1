#!/bin/sh
# A private PostgreSQL 15 cluster for development (`make run`, under var/) and for tests
# (a throwaway directory under /tmp).
#
#   pg_cluster.sh start  DATA_DIR PORT   initdb if needed, start, create database `leadscore`;
#                                        prints postgresql://postgres@127.0.0.1:PORT/leadscore
#   pg_cluster.sh stop   DATA_DIR        fast shutdown; nothing to do is not an error
#   pg_cluster.sh status DATA_DIR        exit 0 when running, 3 when not
#
# Only `start` prints anything on success. As root, initdb and pg_ctl run as `postgres` (initdb
# refuses root) and the cluster's directories are given to that user. Extra server options for
# `start` may be passed in PG_CLUSTER_OPTIONS (e.g. "-c fsync=off" for throwaway test clusters).
# Liveness is read from postmaster.pid and /proc, never `kill -0`: an exited postmaster can
# linger as a zombie on machines whose init does not reap.
set -eu

PG_BIN=/usr/lib/postgresql/15/bin
PG_USER=postgres
DATABASE=leadscore

die() {
  echo "pg_cluster.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: pg_cluster.sh start DATA_DIR PORT | stop DATA_DIR | status DATA_DIR" >&2
  exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a PostgreSQL server binary as the cluster's owner.
as_owner() {
  if is_root; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

absolute() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd)" "$1" ;;
  esac
}

# The pid in postmaster.pid when that process exists and is not a zombie; fails otherwise.
live_postmaster_pid() {
  pidfile="$1/postmaster.pid"
  [ -r "$pidfile" ] || return 1
  pid=$(sed -n 1p "$pidfile" 2>/dev/null) || return 1
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  [ -r "/proc/$pid/stat" ] || return 1
  # /proc/PID/stat: "pid (comm) state ..."; the state follows the last ')'.
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ "$state" != Z ] || return 1
  printf '%s\n' "$pid"
}

# The port a running cluster listens on (line 4 of postmaster.pid).
running_port() { sed -n 4p "$1/postmaster.pid"; }

url_for() { printf 'postgresql://%s@127.0.0.1:%s/%s\n' "$PG_USER" "$1" "$DATABASE"; }

psql_at() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U "$PG_USER" -d postgres \
    -At -c "$2"
}

ensure_database() {
  port="$1"
  exists=$(psql_at "$port" "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'") ||
    die "cannot query the cluster on port $port"
  if [ "$exists" != 1 ]; then
    # Two concurrent starts may race here; a duplicate is harmless.
    psql_at "$port" "CREATE DATABASE $DATABASE" 2>/dev/null ||
      [ "$(psql_at "$port" "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" = 1 ] ||
      die "cannot create database $DATABASE"
  fi
}

show_log_tail() {
  if [ -r "$1/server.log" ]; then
    echo "--- last lines of $1/server.log ---" >&2
    tail -n 20 "$1/server.log" >&2
  fi
}

cmd_start() {
  data=$(absolute "$1")
  port="$2"
  case "$port" in '' | *[!0-9]*) die "PORT must be a number, got '$port'" ;; esac
  parent=$(dirname "$data")
  mkdir -p "$parent"

  if live_postmaster_pid "$data" >/dev/null; then
    ensure_database "$(running_port "$data")"
    url_for "$(running_port "$data")"
    return 0
  fi

  if is_root; then
    runuser -u "$PG_USER" -- test -x "$parent" ||
      die "user $PG_USER cannot enter $parent (make it and its parents searchable: chmod o+x)"
  fi

  if [ ! -f "$data/PG_VERSION" ]; then
    if is_root; then
      install -d -o "$PG_USER" -g "$PG_USER" -m 700 "$data"
    else
      install -d -m 700 "$data"
    fi
    if ! out=$(as_owner "$PG_BIN/initdb" -D "$data" -U "$PG_USER" -A trust -E UTF8 \
      --locale=C.UTF-8 2>&1); then
      printf '%s\n' "$out" >&2
      die "initdb failed in $data"
    fi
  fi

  # The Unix socket lives inside the data directory (owned by the cluster's user); a socket path
  # longer than the kernel allows (107 bytes) disables Unix sockets: clients use TCP anyway.
  sockdir="$data/socket"
  if [ $(printf '%s/.s.PGSQL.%s' "$sockdir" "$port" | wc -c) -le 100 ]; then
    if is_root; then
      install -d -o "$PG_USER" -g "$PG_USER" -m 755 "$sockdir"
    else
      install -d -m 755 "$sockdir"
    fi
  else
    sockdir=""
  fi

  # A postmaster that died without cleaning up leaves its pid file behind; the server would
  # take a zombie holding that pid for a live one and refuse to start.
  if [ -f "$data/postmaster.pid" ]; then rm -f "$data/postmaster.pid"; fi

  if ! as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-p $port -k '$sockdir' -c listen_addresses=127.0.0.1 ${PG_CLUSTER_OPTIONS:-}" \
    start >/dev/null 2>&1; then
    show_log_tail "$data"
    die "cannot start PostgreSQL in $data on port $port"
  fi
  if ! live_postmaster_pid "$data" >/dev/null; then
    show_log_tail "$data"
    die "PostgreSQL exited right after starting in $data"
  fi
  ensure_database "$port"
  url_for "$port"
}

cmd_stop() {
  data=$(absolute "$1")
  live_postmaster_pid "$data" >/dev/null || return 0
  if ! out=$(as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop 2>&1); then
    # The server may have exited between the check and the stop.
    live_postmaster_pid "$data" >/dev/null || return 0
    printf '%s\n' "$out" >&2
    die "cannot stop PostgreSQL in $data"
  fi
}

cmd_status() {
  data=$(absolute "$1")
  live_postmaster_pid "$data" >/dev/null || exit 3
}

[ $# -ge 1 ] || usage
command="$1"
shift
case "$command" in
  start) [ $# -eq 2 ] || usage; cmd_start "$1" "$2" ;;
  stop) [ $# -eq 1 ] || usage; cmd_stop "$1" ;;
  status) [ $# -eq 1 ] || usage; cmd_status "$1" ;;
  *) usage ;;
esac
