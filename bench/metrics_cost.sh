#!/usr/bin/env bash
# What counting and the request log cost: bench/http_bench.sh run alternately on the same build
# with the shipped config as it is (metrics.enabled and log.requests on), with counting off
# (nometrics), with both off, and with the request log as JSON lines, so that the machine's
# noise hits every variant alike.
# Usage: bench/metrics_cost.sh [seconds]   (default 10; ROUNDS, default 2; MODE, default all:
# get, analyze or all, as http_bench.sh takes it; VARIANTS, default "on nometrics off json": the
# variants to run). Even rounds run the variants in reverse order, so that a drift of the machine
# during a round does not favour the variant that comes first. The summary lists each variant's
# req/s, p99 and CPU per request, route by route.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${1:-10}
rounds=${ROUNDS:-2}
mode=${MODE:-all}
out=$(mktemp -d /tmp/leadscore-metrics-cost.XXXXXX)
# The variants sit beside the shipped config: its relative paths (rules, plugins) still resolve.
read -r -a variants <<< "${VARIANTS:-on nometrics off json}"
cleanup() { for v in "${variants[@]}"; do rm -f "config/.metrics-cost-$v.yaml"; done; rm -rf "$out"; }
trap cleanup EXIT
for v in "${variants[@]}"; do
  case "$v" in
    on) sed 's/^  format: text$/  format: text/' config/leadscore.yaml ;;
    nometrics) sed 's/^  enabled: true$/  enabled: false/' config/leadscore.yaml ;;
    off) sed -e 's/^  requests: true$/  requests: false/' -e 's/^  enabled: true$/  enabled: false/' \
      config/leadscore.yaml ;;
    json) sed 's/^  format: text$/  format: json/' config/leadscore.yaml ;;
  esac >"config/.metrics-cost-$v.yaml"
done
[[ ! -f config/.metrics-cost-off.yaml ]] || grep -q '^  enabled: false' config/.metrics-cost-off.yaml ||
  { echo "config/leadscore.yaml no longer has metrics.enabled: true where expected" >&2; exit 1; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  order=("${variants[@]}")
  if ((round % 2 == 0)); then
    order=(); for ((i = ${#variants[@]} - 1; i >= 0; i--)); do order+=("${variants[i]}"); done
  fi
  for v in "${order[@]}"; do
    echo "== round $round: $v"
    LEADSCORE_CONFIG="config/.metrics-cost-$v.yaml" MODE=$mode ROUNDS=1 BARE=0 \
      bash bench/http_bench.sh "$duration" | tee "$out/$v-$round.txt" | { grep -E "Requests/sec|CPU per request" || true; }
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== summary (variant, round: the summary line of bench/http_bench.sh)"
for v in "${variants[@]}"; do
  for round in $(seq 1 "$rounds"); do
    sed -n '/^== summary/,$p' "$out/$v-$round.txt" | tail -n +2 | sed "s/^/$v, round $round: /"
  done
done
