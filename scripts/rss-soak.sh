#!/usr/bin/env bash
# Soak: a fresh 3-replica cluster on loopback takes REQUESTS writes (default
# 1,000,000) from CLIENTS clients (default 64) while each replica's resident
# memory is sampled every second; prints the benchmark's summary line, then
# each replica's RSS at every tenth of the run, and the growth over the last
# half (after warm-up: the benchmark's 64×1024 keys are all written by
# then). The samples stay in RSS_CSV (default rss-soak.csv in the current
# directory).
#
# Usage: scripts/rss-soak.sh [REQUESTS] [CLIENTS]
# Example: scripts/rss-soak.sh 1000000 64
set -euo pipefail
requests=${1:-1000000}
clients=${2:-64}
csv=${RSS_CSV:-$PWD/rss-soak.csv}
: >"$csv"
"$(dirname "$0")/cluster-bench.sh" -s "$csv" "$clients" "$requests" 1
awk -F, '
  { t[NR] = $1; for (i = 2; i <= NF; i++) rss[NR, i] = $i; cols = NF }
  END {
    if (NR == 0) { print "no samples"; exit 1 }
    printf "%8s %8s", "second", "of run"
    for (i = 2; i <= cols; i++) printf " %12s", "replica " i - 2 " MiB"
    printf "\n"
    for (d = 1; d <= 10; d++) {
      r = int(NR * d / 10); if (r < 1) r = 1
      printf "%8d %7d%%", t[r], d * 10
      for (i = 2; i <= cols; i++) printf " %12.1f", rss[r, i] / 1024
      printf "\n"
    }
    half = int(NR / 2); if (half < 1) half = 1
    for (i = 2; i <= cols; i++) {
      lo = rss[half, i]; hi = lo
      for (r = half; r <= NR; r++) { if (rss[r, i] > hi) hi = rss[r, i]; if (rss[r, i] < lo) lo = rss[r, i] }
      printf "replica %d, second half of the run: RSS %.1f to %.1f MiB\n", i - 2, lo / 1024, hi / 1024
    }
  }' "$csv"
