#!/usr/bin/env bash
# Installs the Debian packages leadscore builds, tests and runs with, when any is missing, and
# the pinned npm packages of web/ (Swagger UI and ReDoc for /docs and /redoc, the OpenAPI
# linter, the browser test's driver) when web/node_modules does not match web/package-lock.json.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libpistache-dev libyaml-cpp-dev liblua5.4-dev libspdlog-dev nlohmann-json3-dev
  libcurl4-openssl-dev libpq-dev libcli11-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql nginx openssl wrk curl jq clang-format
  docker-compose python3-yaml chromium
  prometheus  # promtool checks the GET /metrics scrape in the tests
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
# Node 20 and npm usually come with the machine (not necessarily as Debian's packages).
command -v npm >/dev/null || missing+=(nodejs npm)

if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing: ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm tools at pinned versions, in .tools/ (not tracked): dockerfile-utils lints the Dockerfile
# (tests/deploy/package_compose_test.py).
root=$(cd "$(dirname "$0")/.." && pwd)
npm_tools=(dockerfile-utils@0.16.3)
for tool in "${npm_tools[@]}"; do
  name=${tool%@*} version=${tool##*@}
  installed=$(node -p "require('$root/.tools/node_modules/$name/package.json').version" 2>/dev/null || true)
  if [[ "$installed" != "$version" ]]; then
    echo "installing (npm): $tool"
    npm install --prefix "$root/.tools" --no-save --no-audit --no-fund --silent "$tool"
  fi
done

# The exact versions of web/package-lock.json (npm ci), again only when the lock changed since
# the last install (a copy of the lock installed marks it).
web="$root/web"
if ! cmp -s "$web/package-lock.json" "$web/node_modules/.installed-lock.json" 2>/dev/null; then
  echo "installing the npm packages of web/package-lock.json"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$web/package-lock.json" "$web/node_modules/.installed-lock.json"
fi
