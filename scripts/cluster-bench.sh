#!/usr/bin/env bash
# Runs a fresh 3-replica govsr cluster on loopback (data files on one disk),
# drives it with `vsr benchmark`, and prints one summary line: throughput,
# latency, CPU per request (utime+stime of the three replicas from
# /proc/PID/stat, before and after the measured run) and each replica's RSS.
#
# Usage: scripts/cluster-bench.sh [-b VSR_BINARY] [-p PPROF_PORT] [-s RSS_CSV] CLIENTS REQUESTS [RUNS]
#   env FORMAT_FLAGS: extra flags for format and start, e.g. "--journal-slots 1024".
# Example: scripts/cluster-bench.sh 64 200000 3
# With -p, replica i serves net/http/pprof on 127.0.0.1:PPROF_PORT+i.
# With -s, the replicas' RSS is sampled every second of the measured run into
# RSS_CSV (seconds,rss_kib_0,rss_kib_1,rss_kib_2), appended to across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=""
pprof=""
rss_csv=""
while getopts "b:p:s:" opt; do
  case $opt in
    b) bin=$OPTARG ;;
    p) pprof=$OPTARG ;;
    s) rss_csv=$OPTARG ;;
    *) echo "usage: $0 [-b VSR_BINARY] [-p PPROF_PORT] [-s RSS_CSV] CLIENTS REQUESTS [RUNS]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -lt 2 ]; then
  echo "usage: $0 [-b VSR_BINARY] [-p PPROF_PORT] [-s RSS_CSV] CLIENTS REQUESTS [RUNS]" >&2
  exit 2
fi
clients=$1 requests=$2 runs=${3:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/govsr-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ -z "$bin" ]; then
  bin=$work/vsr
  go build -o "$bin" ./cmd/vsr
fi
clients_max=$(( clients > 32 ? clients : 32 ))
flags="--cluster 7 --clients-max $clients_max"

# proc_sum FILE AWK PID...: the sum over the processes of what the awk
# program prints from /proc/PID/FILE.
proc_sum() {
  local file=$1 prog=$2 total=0 pid
  shift 2
  for pid in "$@"; do total=$(( total + $(awk "$prog" "/proc/$pid/$file") )); done
  echo "$total"
}

# cpu_ticks PID...: utime+stime of the processes, in clock ticks.
cpu_ticks() { proc_sum stat '{print $14 + $15}' "$@"; }

# syscalls PID...: read and write system calls of the processes (sockets,
# eventfd and the data file; not epoll_wait or fdatasync).
syscalls() { proc_sum io '/^syscr:|^syscw:/ {n += $2} END {print n}' "$@"; }

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# sample_rss PID...: one CSV line a second until killed.
sample_rss() {
  local t=0 pid line
  while sleep 1; do
    t=$((t + 1))
    line=$t
    for pid in "$@"; do line+=",$(rss_kib "$pid")"; done
    echo "$line" >>"$rss_csv"
  done
}

run_once() {
  local base=$(( 20000 + RANDOM % 20000 )) i
  local addresses="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
  pids=()
  for i in 0 1 2; do
    rm -f "$work/r$i.data"
    "$bin" format $flags ${FORMAT_FLAGS:-} --replica $i --addresses "$addresses" --data "$work/r$i.data" >/dev/null
  done
  for i in 0 1 2; do
    local extra=""
    if [ -n "$pprof" ]; then extra="--pprof 127.0.0.1:$((pprof + i))"; fi
    "$bin" start $flags ${FORMAT_FLAGS:-} $extra --replica $i --addresses "$addresses" --data "$work/r$i.data" >"$work/r$i.log" 2>&1 &
    pids+=($!)
  done
  # Warm up: the first primary is elected and the connections made.
  "$bin" benchmark $flags --addresses "$addresses" --clients 1 --requests 20 --timeout 30s >/dev/null || true
  for i in 0 1 2; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "replica $i exited (a port taken by another process?): $(tail -c 300 "$work/r$i.log")" >&2
      return 1
    fi
  done
  local before after hz out
  hz=$(getconf CLK_TCK)
  before=$(cpu_ticks "${pids[@]}")
  local calls_before
  calls_before=$(syscalls "${pids[@]}")
  local sampler=""
  if [ -n "$rss_csv" ]; then
    sample_rss "${pids[@]}" &
    sampler=$!
  fi
  out=$("$bin" benchmark $flags --addresses "$addresses" --clients "$clients" --requests "$requests" --timeout 30m) || {
    echo "benchmark failed; replica logs in $work are removed on exit" >&2
    exit 1
  }
  after=$(cpu_ticks "${pids[@]}")
  local calls=$(( $(syscalls "${pids[@]}") - calls_before ))
  if [ -n "$sampler" ]; then kill "$sampler"; wait "$sampler" 2>/dev/null || true; fi
  local throughput latency
  throughput=$(echo "$out" | grep -i 'throughput' | grep -oE '[0-9]+ requests/s' | head -1 | grep -oE '[0-9]+')
  if echo "$out" | grep -q 'latency p99 '; then # one row per percentile
    dur() { echo "$out" | grep "latency $1 " | head -1 | grep -oE '[0-9.]+(µs|ms|s)' | head -1; }
    latency="$(dur p50)/$(dur p99)/$(dur max)"
  else # one row "latency p50 / p99 / max"
    latency=$(echo "$out" | grep -iE 'p50' | head -1 | grep -oE '[0-9.]+(µs|ms|s)( / [0-9.]+(µs|ms|s))+' | tr -d ' ')
  fi
  printf 'clients=%s requests=%s throughput=%s/s latency(p50/p99/max)=%s cpu_us_per_request=%s rw_syscalls_per_request=%s rss_kib=%s,%s,%s\n' \
    "$clients" "$requests" "$throughput" "$latency" \
    $(( (after - before) * 1000000 / hz / requests )) "$(awk -v c="$calls" -v r="$requests" 'BEGIN {printf "%.1f", c / r}')" \
    "$(rss_kib "${pids[0]}")" "$(rss_kib "${pids[1]}")" "$(rss_kib "${pids[2]}")"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  # The view each replica ended in (above 1, the first primary's, is a view change).
  echo "  views: $(for i in 0 1 2; do grep -o 'view=[0-9]*' "$work/r$i.log" | tail -1; done | tr '\n' ' ')" >&2
}

for _ in $(seq "$runs"); do
  for try in 1 2 3 4 5; do # on ports another process took, again on others
    if run_once; then break; fi
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$try" = 5 ]; then echo "no cluster in 5 tries" >&2; exit 1; fi
  done
done
