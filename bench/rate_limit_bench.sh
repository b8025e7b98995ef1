#!/usr/bin/env bash
# The cost of the per-key rate limit (rate_limit.per_key) on the request path: bench/http_bench.sh
# runs GET /leads/{id} (the cheapest route, where a per-request cost shows most) with the shipped
# config and with the same config plus a limit no run reaches, alternately (off, on, off, on, ...)
# so that the machine's noise hits both, and prints each run's summary line.
# Usage: bench/rate_limit_bench.sh [seconds]   (PAIRS, default 3: how many off/on pairs;
# MODE=analyze measures analyze instead; the Release build of `make bench`, or LEADSCORE_BINARY).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${1:-10}
pairs=${PAIRS:-3}
mode=${MODE:-get}
# Beside config/ (one level below the root), so that the shipped config's relative paths hold.
mkdir -p build-release
limited=build-release/rate_limit_bench.yaml
{
  cat config/leadscore.yaml
  printf '\nrate_limit:\n  per_key: {rate_per_s: 1000000, burst: 1000000}\n'
} > "$limited"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for pair in $(seq "$pairs"); do
  for config in config/leadscore.yaml "$limited"; do
    label=off
    [[ "$config" == "$limited" ]] && label=on
    echo "== pair $pair, rate limit $label"
    LEADSCORE_CONFIG=$config MODE=$mode BARE=0 ROUNDS=1 bash bench/http_bench.sh "$duration" |
      grep -E "^(direct|${mode} 1:)|Requests/sec|p50|CPU per request|load average" | sed "s/^/  [$label] /"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
