#!/usr/bin/env bash
# Runs Go benchmarks several times and prints the median of each, with the
# ratio to a baseline benchmark of the same size when one is named.
# Usage: scripts/bench.sh [package] [bench regexp] [count] [baseline prefix]
# Example: scripts/bench.sh ./vsr 'Encode|Decode|Copy' 6 Copy
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=${1:-./vsr}
pattern=${2:-.}
count=${3:-6}
baseline=${4:-}
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
go test "$pkg" -run '^$' -bench "$pattern" -count "$count" | tee "$raw" >&2
# Median ns/op and MB/s per benchmark name (the -N GOMAXPROCS suffix removed).
awk -v base="$baseline" '
  /^Benchmark/ {
    name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
    for (i = 2; i <= NF; i++) {
      if ($i == "ns/op") ns[name] = ns[name] " " $(i-1)
      if ($i == "MB/s") mb[name] = mb[name] " " $(i-1)
    }
    if (!(name in seen)) { seen[name] = 1; order[++n] = name }
  }
  function median(list,   v, k, i, j, t) {
    k = split(list, v, " ")
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
    if (k == 0) return 0
    return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
  }
  END {
    printf "%-28s %14s %12s %s\n", "benchmark (median)", "ns/op", "MB/s", (base != "" ? "time / " base : "")
    for (i = 1; i <= n; i++) {
      name = order[i]; m = median(ns[name]); ratio = ""
      if (base != "") {
        size = name; sub(/^[^\/]*\//, "", size)
        if ((base "/" size) in ns) ratio = sprintf("%.2fx", m / median(ns[base "/" size]))
      }
      printf "%-28s %14.1f %12.0f %s\n", name, m, median(mb[name]), ratio
    }
  }' "$raw"
