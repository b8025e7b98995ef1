#!/usr/bin/env bash
# leadscore's front door: nginx (Debian's package) in front of `leadscore serve`, for
# `make run` and the tests. The configuration comes from `leadscore front-door`, so the
# body limits and timeouts are the server's own.
#
#   front_door.sh start DIR LISTEN UPSTREAM LEADSCORE [CONFIG]
#       writes DIR/nginx.conf, starts nginx in the background, waits until it accepts
#       connections on LISTEN (HOST:PORT) and prints nginx's pid
#   front_door.sh stop DIR      stops the nginx started in DIR; nothing to do is not an error
#
# As root, nginx's workers run as www-data (or nobody), which must be able to write DIR/tmp.
set -euo pipefail

usage() {
  echo "usage: front_door.sh start DIR LISTEN UPSTREAM LEADSCORE [CONFIG] | stop DIR" >&2
  exit 2
}

nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

cmd_start() {
  local dir=$1 listen=$2 upstream=$3 leadscore=$4 config=${5:-}
  mkdir -p "$dir/tmp"
  dir=$(cd "$dir" && pwd)
  local user=() owner=""
  if [[ $(id -u) -eq 0 ]]; then
    owner=$(id -u www-data >/dev/null 2>&1 && echo www-data || echo nobody)
    user=(--user "$owner")
    chown "$owner" "$dir/tmp"
  fi
  local config_args=()
  [[ -n "$config" ]] && config_args=(--config "$config")
  "$leadscore" "${config_args[@]}" front-door --listen "$listen" --upstream "$upstream" \
    --dir "$dir" "${user[@]}" > "$dir/nginx.conf"
  "$nginx_bin" -t -q -c "$dir/nginx.conf" -p "$dir" 2>"$dir/check.log" || {
    cat "$dir/check.log" >&2
    echo "front_door.sh: the generated nginx configuration is refused ($dir/nginx.conf)" >&2
    exit 1
  }
  setsid "$nginx_bin" -c "$dir/nginx.conf" -p "$dir" </dev/null >>"$dir/error.log" 2>&1 &
  local pid=$!
  local host=${listen%:*} port=${listen##*:}
  [[ "$host" == "$listen" || "$host" == "0.0.0.0" || -z "$host" ]] && host=127.0.0.1
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
      echo "$pid"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  tail -n 20 "$dir/error.log" >&2 || true
  echo "front_door.sh: nginx did not start listening on $listen" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
}

cmd_stop() {
  local dir=$1 pid
  pid=$(cat "$dir/nginx.pid" 2>/dev/null) || return 0
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    [[ -r "/proc/$pid/stat" ]] || return 0
    [[ $(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f1) == Z ]] && return 0
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
}

[[ $# -ge 1 ]] || usage
command=$1
shift
case "$command" in
  start) [[ $# -ge 4 && $# -le 5 ]] || usage; cmd_start "$@" ;;
  stop) [[ $# -eq 1 ]] || usage; cmd_stop "$1" ;;
  *) usage ;;
esac
