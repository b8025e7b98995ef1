#!/usr/bin/env bash
# The container's entrypoint (Dockerfile): leadscore as the leadscore user on its internal
# port, then its front door (nginx, `daemon off`) on 8000, with the command lines of the
# package's systemd units. Whichever stops first stops the other, and the container exits with
# its status, so that the restart policy restarts both. With arguments, runs them instead
# (`docker compose run --rm leadscore leadscore --config /etc/leadscore/leadscore.yaml migrate`).
# LEADSCORE_FRONT_DOOR_CONFIG names another nginx.conf for the front door (the package test
# runs this script on a host with one whose ports are free).
set -euo pipefail
[[ $# -gt 0 ]] && exec "$@"

config=/etc/leadscore/leadscore.yaml
front_door_config=${LEADSCORE_FRONT_DOOR_CONFIG:-/etc/leadscore/nginx.conf}
setpriv --reuid=leadscore --regid=leadscore --init-groups \
  /usr/bin/leadscore --config "$config" serve &
server=$!
front=""
stop_all() {
  [[ -n "$front" ]] && kill -TERM "$front" 2>/dev/null
  kill -TERM "$server" 2>/dev/null || true
}
trap stop_all TERM INT

internal=${PORT:-$(sed -n 's/^  port: \([0-9]*\)$/\1/p' "$config" | head -n 1)}
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$internal/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { wait "$server"; exit $?; }
  sleep 0.1
done

/usr/sbin/nginx -e stderr -c "$front_door_config" &
front=$!

status=0
wait -n "$server" "$front" || status=$?
stop_all
wait || true
exit "$status"
