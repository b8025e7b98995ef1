#!/usr/bin/env bash
# The Debian package, installed and served as an operator would: CPack packages the build tree
# (`make package` makes the same package), `dpkg -i` installs it, and leadscore serves from the
# installed paths only: the command line of the installed leadscore.service, as its user, with
# its environment file, /etc/leadscore/leadscore.yaml, the installed plugins and rules, behind
# the installed front door (the command line of leadscore-front-door.service with
# /etc/leadscore/nginx.conf, its two ports moved to free ones). A lead is created and analyzed
# with the installed Lua rules through the front door. The Docker image's entrypoint then runs
# the same two processes from the package. Last, the package is purged and nothing of it may
# remain. systemd does not run here: its units are checked with systemd-analyze.
#
#   package_install_test.sh SOURCE_DIR BUILD_DIR
# Exits 77 (skipped) unless root, or when a leadscore package is already installed.
set -euo pipefail
source_dir=$1 build_dir=$2

skip() { echo "SKIPPED: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "installing a Debian package needs root (CI runs as root)"
if [[ $(dpkg-query -W -f='${Status}' leadscore 2>/dev/null || true) == *installed* ]]; then
  skip "a leadscore package is installed on this machine; this test installs and purges its own"
fi

work=$(mktemp -d)
chmod 755 "$work"
server="" front="" entrypoint="" pg_started="" installed=""
alive() { [[ -r "/proc/$1/stat" && $(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1) != Z ]]; }
stop_pid() {
  [[ -n "$1" ]] || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do alive "$1" || return 0; sleep 0.05; done
  kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
  stop_pid "$entrypoint"
  stop_pid "$front"
  stop_pid "$server"
  [[ -n "$pg_started" ]] && "$source_dir/scripts/pg_cluster.sh" stop "$work/pg" || true
  [[ -n "$installed" ]] && dpkg --purge leadscore >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  for log in "$work/leadscore.log" "$work/front-door.log"; do
    [[ -s "$log" ]] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
  done
  exit 1
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Below the kernel's ephemeral range (ip_local_port_range, 32768.. by default): a port in it may
# be taken, between the check and the listen, by a client connection of a test running beside.
free_port() {
  local port low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  ((low > 21000)) || low=32768
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % (low - 20000)))
    port_free "$port" && { echo "$port"; return 0; }
  done
  return 1
}

# The package, from the tree `make test` built (packaging builds nothing).
cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work/package" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; fail "cpack could not build the package"; }
deb=$(ls "$work"/package/leadscore_*.deb)
dpkg-deb -f "$deb" Depends | grep -q "nginx" || fail "the package does not depend on nginx"
dpkg-deb -f "$deb" Depends | grep -q "libpq5" || fail "the package does not depend on libpq5"
dpkg-deb -I "$deb" conffiles | grep -qx "/etc/leadscore/leadscore.yaml" ||
  fail "/etc/leadscore/leadscore.yaml is not a conffile"

# Installed with dpkg; dependencies the machine lacks come from apt.
installed=1
if ! dpkg -i "$deb" >"$work/dpkg.log" 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq >>"$work/dpkg.log" 2>&1 ||
    { cat "$work/dpkg.log" >&2; fail "dpkg -i and apt-get install -f could not install $deb"; }
fi
for path in /usr/bin/leadscore /usr/lib/leadscore/plugins/heuristic.so \
  /usr/lib/leadscore/plugins/lua.so /usr/lib/leadscore/plugins/llm.so \
  /usr/share/leadscore/rules/default.lua /usr/share/leadscore/rules/lib/rules.lua \
  /etc/leadscore/leadscore.yaml /etc/leadscore/nginx.conf /etc/leadscore/leadscore.env \
  /etc/leadscore/prompts/lead_intent.txt /lib/systemd/system/leadscore.service \
  /lib/systemd/system/leadscore-front-door.service; do
  [[ -e "$path" ]] || fail "the package did not install $path"
done
getent passwd leadscore >/dev/null || fail "postinst did not create the leadscore user"
[[ $(stat -c '%U:%G %a' /etc/leadscore/leadscore.env) == "root:leadscore 640" ]] ||
  fail "/etc/leadscore/leadscore.env is not root:leadscore 640"

if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/leadscore.service \
    /lib/systemd/system/leadscore-front-door.service >"$work/verify.log" 2>&1 ||
    { cat "$work/verify.log" >&2; fail "systemd-analyze verify refuses the units"; }
fi
nginx -t -q -e stderr -c /etc/leadscore/nginx.conf || fail "nginx -t refuses /etc/leadscore/nginx.conf"
# The installed rules pass their own tests with the installed plugins.
/usr/bin/leadscore --config /etc/leadscore/leadscore.yaml rules test \
  /usr/share/leadscore/rules/tests >"$work/rules.log" 2>&1 ||
  { cat "$work/rules.log" >&2; fail "leadscore rules test fails on the installed rules"; }

unit_value() { sed -n "s/^$2=//p" "/lib/systemd/system/$1" | tail -n 1; }

# A throwaway PostgreSQL: the operator's database.
pg_port=$(free_port)
pg_started=1
database_url=$(PG_CLUSTER_OPTIONS="-c fsync=off" "$source_dir/scripts/pg_cluster.sh" start "$work/pg" "$pg_port")

# leadscore as leadscore.service runs it, on a free internal port (PORT, as the env file says).
internal=$(free_port)
key="lsk_package_test_$RANDOM$RANDOM"
exec_start=$(unit_value leadscore.service ExecStart)
user=$(unit_value leadscore.service User)
env_file=$(unit_value leadscore.service EnvironmentFile)
[[ "$exec_start" == "/usr/bin/leadscore --config /etc/leadscore/leadscore.yaml serve" ]] ||
  fail "leadscore.service runs something else: $exec_start"
(
  cd "$(unit_value leadscore.service WorkingDirectory)"
  set -a
  # shellcheck disable=SC1090
  . "${env_file#-}"
  DATABASE_URL=$database_url LEADSCORE_ADMIN_KEY=$key PORT=$internal
  set +a
  # shellcheck disable=SC2086
  exec setpriv --reuid="$user" --regid="$user" --init-groups $exec_start
) >"$work/leadscore.log" 2>&1 &
server=$!
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$internal/health" >/dev/null 2>&1 && break
  alive "$server" || fail "the installed leadscore exited"
  sleep 0.1
done
curl -sf "http://127.0.0.1:$internal/health" >/dev/null || fail "the installed leadscore never answered"

# The front door as leadscore-front-door.service runs it, with the installed nginx.conf's ports
# moved to free ones.
front_port=$(free_port)
sed -e "s|^    listen 8000;$|    listen 127.0.0.1:$front_port;|" \
  -e "s|^    server 127.0.0.1:8001;$|    server 127.0.0.1:$internal;|" \
  /etc/leadscore/nginx.conf >"$work/nginx.conf"
grep -q "listen 127.0.0.1:$front_port;" "$work/nginx.conf" || fail "nginx.conf has no 'listen 8000;'"
grep -q "server 127.0.0.1:$internal;" "$work/nginx.conf" || fail "nginx.conf has no upstream 8001"
front_start=$(unit_value leadscore-front-door.service ExecStart)
[[ "$front_start" == *" -c /etc/leadscore/nginx.conf" ]] || fail "the front door runs: $front_start"
# shellcheck disable=SC2086
setsid ${front_start/\/etc\/leadscore\/nginx.conf/$work/nginx.conf} </dev/null >"$work/front-door.log" 2>&1 &
front=$!
for _ in $(seq 100); do
  port_free "$front_port" || break
  alive "$front" || fail "the installed front door exited"
  sleep 0.05
done

api="http://127.0.0.1:$front_port"
auth=(-H "Authorization: Bearer $key" -H "Content-Type: application/json")
expect() {  # expect STATUS DESCRIPTION CURL_ARGS...: the answer's body on stdout
  local want=$1 what=$2 status
  shift 2
  status=$(curl -s -o "$work/body" -w '%{http_code}' "$@") || true
  [[ "$status" == "$want" ]] || fail "$what: $status, not $want: $(cat "$work/body")"
  cat "$work/body"
}
expect 200 "GET /health through the front door" "$api/health" >/dev/null
expect 200 "GET /ready (the database)" "$api/ready" >/dev/null
expect 401 "a request without a key" "$api/leads" >/dev/null
# Swagger UI and ReDoc from the package's own copy of their files (server.docs_dir).
expect 200 "GET /docs" "$api/docs" | grep -q "swagger-ui-bundle.js" || fail "/docs is not Swagger UI"
expect 200 "GET /docs/swagger-ui-bundle.js" "$api/docs/swagger-ui-bundle.js" >/dev/null
expect 200 "GET /redoc/redoc.standalone.js" "$api/redoc/redoc.standalone.js" >/dev/null
expect 200 "GET /openapi.json" "$api/openapi.json" | jq -e '.openapi == "3.1.0"' >/dev/null ||
  fail "/openapi.json is not the OpenAPI document"
# nginx itself answers a request line it refuses, in leadscore's error shape.
long=$(printf 'a%.0s' $(seq 9000))
expect 414 "a 9 KB request line" "$api/leads?q=$long" | jq -e '.error.code == "uri_too_long"' >/dev/null ||
  fail "the front door's 414 is not leadscore's error shape"

id=$(expect 201 "POST /leads" "${auth[@]}" \
  -d '{"source":"partner","business_domain":"fintech","role":"CTO","industry":"Fintech"}' \
  "$api/leads" | jq -e .id)
expect 200 "POST /leads/$id/activity" "${auth[@]}" -d '{"count":8}' "$api/leads/$id/activity" >/dev/null
expect 200 "analyze with the installed Lua rules" "${auth[@]}" -X POST \
  "$api/leads/$id/analyze?scorer=rules" >"$work/analysis.json"
jq -e '.scorer == "rules" and (.fallback_from | not) and .score > 0 and (.contributions | length) > 0' \
  "$work/analysis.json" >/dev/null || fail "the rules did not score the lead: $(cat "$work/analysis.json")"
expect 200 "analyze with the primary scorer" "${auth[@]}" -X POST "$api/leads/$id/analyze" |
  jq -e '.scorer == "heuristic"' >/dev/null || fail "the primary scorer is not the heuristic"
expect 200 "GET /leads/$id" "${auth[@]}" "$api/leads/$id" | jq -e '.ai_score > 0' >/dev/null ||
  fail "the analysis was not stored on the lead"

stop_pid "$front"
front=""
stop_pid "$server"
server=""

# The Docker image's entrypoint, on the installed package: it starts both, as the units do,
# and when leadscore stops, the front door stops and the entrypoint exits.
(
  export DATABASE_URL=$database_url LEADSCORE_ADMIN_KEY=$key PORT=$internal
  export LEADSCORE_FRONT_DOOR_CONFIG=$work/nginx.conf
  exec setsid "$source_dir/packaging/docker-entrypoint.sh"
) >"$work/entrypoint.log" 2>&1 &
entrypoint=$!
for _ in $(seq 300); do
  curl -sf "$api/health" >/dev/null 2>&1 && break
  alive "$entrypoint" || { cat "$work/entrypoint.log" >&2; fail "the entrypoint exited"; }
  sleep 0.1
done
expect 200 "GET /leads/$id through the entrypoint's front door" "${auth[@]}" "$api/leads/$id" >/dev/null
server=$(awk -v parent="$entrypoint" '$2 == "(leadscore)" && $4 == parent { print $1 }' \
  /proc/[0-9]*/stat 2>/dev/null || true)
[[ -n "$server" ]] || fail "the entrypoint runs no leadscore process"
[[ $(stat -c %U "/proc/$server") == leadscore ]] || fail "the entrypoint runs leadscore as $(stat -c %U "/proc/$server")"
kill -KILL "$server"
server=""
for _ in $(seq 100); do alive "$entrypoint" || break; sleep 0.05; done
alive "$entrypoint" && { stop_pid "$entrypoint"; fail "the entrypoint outlived leadscore"; }
wait "$entrypoint" && fail "the entrypoint exited 0 after leadscore was killed"
entrypoint=""
port_free "$front_port" || fail "the entrypoint's front door outlived leadscore"

# Purged, the package leaves nothing behind.
dpkg --purge leadscore >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg --purge failed"; }
installed=""
for path in /usr/bin/leadscore /usr/lib/leadscore /usr/share/leadscore /etc/leadscore \
  /var/lib/leadscore /lib/systemd/system/leadscore.service; do
  [[ ! -e "$path" ]] || fail "$path is left after dpkg --purge"
done
getent passwd leadscore >/dev/null && fail "the leadscore user is left after dpkg --purge"
echo "installed, served lead $id through the front door from the installed paths, and purged"
