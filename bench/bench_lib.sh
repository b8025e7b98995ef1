# Helpers the bench scripts share; sourced, not run (`. "$root/bench/bench_lib.sh"`).

# The first port from $1 on (up to 200 further) that nothing on 127.0.0.1 listens on. Bench
# clusters and servers take ports below the ephemeral range, where no client socket can hold
# one.
free_port() { local p; for p in $(seq "$1" $(($1 + 200))); do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }

# CPU time (user + system, clock ticks) of process $1 and of its children that are alive now.
cpu_ticks() { local total=0 pid; for pid in "$1" $(pgrep -P "$1"); do
  [[ -r /proc/$pid/stat ]] && total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done; echo "$total"; }

# Waits up to 10 s for the server on port $1 to answer GET /health; fails with its log ($2)
# when it does not.
wait_for_server() {
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.1; done
  echo "the server did not start:" >&2
  cat "$2" >&2
  return 1
}
