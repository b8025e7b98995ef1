#!/usr/bin/env bash
# Benchmark of `leadscore compare` end to end (read, parse, score with both scorers on 2
# threads, every metric): ROWS rows (default 1,000,000) with an outcome column, compared with
# the heuristic and the Lua rules (rules/default.lua, scorer `rules` of config/leadscore.yaml),
# RUNS times (default 3) each of
#   1. every metric but the bootstrap (--bootstrap 0): DeLong, Kendall's tau-b, the rest;
#   2. the same with --bootstrap 200 (the difference is the bootstrap's cost);
#   3. the same again with --html (the page written too).
# Prints wall, CPU and peak RSS of each (GNU time), and the load average before each run.
# The input comes from a deterministic generator (awk, below): every source, the stages a lead
# goes through, activity 0..12, two thirds with a business domain, roles and industries, and an
# outcome that depends on them and on a hash of the row (10% of rows: no outcome yet).
# Usage: bench/compare_bench.sh    (LEADSCORE_BINARY: default build-release/leadscore; ROWS, RUNS)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rows=${ROWS:-1000000}
runs=${RUNS:-3}
binary=${LEADSCORE_BINARY:-$root/build-release/leadscore}
[[ -x "$binary" ]] || { echo "build first: make bench" >&2; exit 1; }
work=$(mktemp -d /tmp/leadscore-compare-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

awk -v rows="$rows" 'BEGIN {
  split("scanner partner manual", S, " "); split("new contacted qualified", T, " ");
  split("CTO|VP Sales|engineer|intern|Founder|analyst", R, "|");
  split("B2B SaaS|Fintech|Retail|Health|Logistics", I, "|");
  print "source,stage,activity_count,business_domain,role,industry,converted";
  for (i = 0; i < rows; i++) {
    h = (i * 2654435761) % 4294967296 / 4294967296;      # a hash of the row, 0..1
    g = (i * 40503 + 12345) % 65536 / 65536;             # another
    s = int(h * 3) + 1; t = int(g * 3) + 1; a = (i * 7) % 13;
    domain = (i % 3) ? "d" int(h * 1000) ".io" : "";
    p = 0.04 + (s == 2 ? 0.12 : 0) + (t - 1) * 0.07 + a * 0.012 + (domain != "" ? 0.05 : 0);
    u = (i * 69069 + 1) % 4294967296 / 4294967296;
    outcome = (i % 10 == 9) ? "" : (u < p ? 1 : 0);
    printf "%s,%s,%d,%s,%s,%s,%s\n", S[s], T[t], a, domain, R[i % 6 + 1], I[i % 5 + 1], outcome
  }
}' > "$work/leads.csv"
echo "input: $(wc -l < "$work/leads.csv") lines, $(du -h "$work/leads.csv" | cut -f1)"

for run in $(seq 1 "$runs"); do
  for variant in "--bootstrap 0" "--bootstrap 200" "--bootstrap 200 --html $work/report.html"; do
    echo "run $run, $variant, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    # shellcheck disable=SC2086
    /usr/bin/time -o "$work/time.txt" -f "  %e s wall, cpu %U+%S s, rss %M kB" \
      "$binary" --config config/leadscore.yaml compare "$work/leads.csv" \
      --scorers heuristic,rules --outcome converted $variant > "$work/out.txt"
    cat "$work/time.txt"
  done
done
echo "the last report:"
head -40 "$work/out.txt"
[[ -f "$work/report.html" ]] && echo "HTML report: $(du -h "$work/report.html" | cut -f1)"
