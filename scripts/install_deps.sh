#!/usr/bin/env bash
# Installs the Debian packages leadscore builds, tests and runs with, when any is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libpistache-dev libyaml-cpp-dev liblua5.4-dev libspdlog-dev nlohmann-json3-dev
  libcurl4-openssl-dev libpq-dev libcli11-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql nginx openssl wrk curl jq clang-format
  prometheus  # promtool checks the GET /metrics scrape in the tests
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing: ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
