#!/usr/bin/env bash
# Side-by-side benchmark of govsr and etcd on this machine: for each client
# count, several repetitions that alternate a fresh 3-member etcd cluster and
# a fresh 3-replica govsr cluster on loopback (never both at once), the same
# closed-loop workload (writes of 64-byte values, one request in flight per
# client), then one table of medians with the ratio govsr / etcd.
#
# Usage: scripts/compare-etcd.sh [REPETITIONS] [CLIENT COUNTS...]
# Example: scripts/compare-etcd.sh 3 1 16 64 256
#   REQUESTS_PER_CLIENT (env, default 600) sets each run's length: requests =
#   clients × it, at least 3,000 and at most 100,000.
# etcd is installed from Debian's packages (etcd-server) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
shift || true
counts=("$@")
if [ ${#counts[@]} -eq 0 ]; then counts=(1 16 64 256); fi
per_client=${REQUESTS_PER_CLIENT:-600}

if ! command -v etcd >/dev/null; then
  echo "installing etcd-server from Debian's packages" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/govsr-compare.XXXXXX")
etcd_pids=()
stop_etcd() {
  for pid in "${etcd_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${etcd_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  etcd_pids=()
}
trap 'stop_etcd; rm -rf "$work"' EXIT
go build -o "$work/vsr" ./cmd/vsr
(cd scripts/etcd-bench && go build -o "$work/etcd-bench" .)

# etcd_start: a fresh 3-member cluster on random loopback ports; sets
# endpoints. Fails if a member exits (a port taken by another process) or the
# cluster is not healthy within 20 s.
etcd_start() {
  local base=$(( 30000 + RANDOM % 20000 )) i cluster=""
  endpoints=""
  for i in 0 1 2; do
    cluster+="${cluster:+,}m$i=http://127.0.0.1:$((base + 10 + i))"
    endpoints+="${endpoints:+,}127.0.0.1:$((base + i))"
  done
  rm -rf "$work"/etcd?
  for i in 0 1 2; do
    etcd --name "m$i" --data-dir "$work/etcd$i" \
      --listen-client-urls "http://127.0.0.1:$((base + i))" --advertise-client-urls "http://127.0.0.1:$((base + i))" \
      --listen-peer-urls "http://127.0.0.1:$((base + 10 + i))" --initial-advertise-peer-urls "http://127.0.0.1:$((base + 10 + i))" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "bench-$base" \
      --logger zap --log-level error >"$work/etcd$i.log" 2>&1 &
    etcd_pids+=($!)
  done
  for _ in $(seq 40); do
    for i in 0 1 2; do
      if ! kill -0 "${etcd_pids[$i]}" 2>/dev/null; then
        echo "etcd member $i exited: $(tail -c 300 "$work/etcd$i.log")" >&2
        return 1
      fi
    done
    if ETCDCTL_API=3 etcdctl --dial-timeout 1s --command-timeout 1s --endpoints "$endpoints" endpoint health >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

# etcd_run CLIENTS REQUESTS: one load on a fresh cluster, one summary line.
etcd_run() {
  local try
  for try in 1 2 3 4 5; do
    if etcd_start; then
      "$work/etcd-bench" --endpoints "$endpoints" --clients "$1" --requests "$2"
      stop_etcd
      return
    fi
    stop_etcd
  done
  echo "etcd: no healthy cluster in 5 tries" >&2
  return 1
}

results=$work/results
: >"$results"
for clients in "${counts[@]}"; do
  requests=$(( clients * per_client ))
  requests=$(( requests < 3000 ? 3000 : requests > 100000 ? 100000 : requests ))
  for rep in $(seq "$reps"); do
    line=$(etcd_run "$clients" "$requests")
    echo "etcd  rep $rep: $line" >&2
    echo "etcd $line" >>"$results"
    line=$(scripts/cluster-bench.sh -b "$work/vsr" "$clients" "$requests" 1)
    echo "govsr rep $rep: $line" >&2
    echo "govsr $line" >>"$results"
  done
done

# One row per client count: medians of throughput, p50 and p99 per system.
awk '
  function ms(d) {
    if (d ~ /µs$/) { sub(/µs$/, "", d); return d / 1000 }
    if (d ~ /ms$/) { sub(/ms$/, "", d); return d + 0 }
    if (d ~ /s$/) { sub(/s$/, "", d); return d * 1000 }
    return d + 0
  }
  function median(list,   v, k, i, j, t) {
    k = split(list, v, " ")
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
    return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
  }
  {
    sys = $1; c = ""; tp = ""; lat = ""
    for (i = 2; i <= NF; i++) {
      split($i, kv, "=")
      if (kv[1] == "clients") c = kv[2]
      if (kv[1] == "throughput") { tp = kv[2]; sub(/\/s$/, "", tp) }
      if (kv[1] == "latency(p50/p99/max)") lat = kv[2]
    }
    split(lat, l, "/")
    key = sys SUBSEP c
    thr[key] = thr[key] " " tp; p50[key] = p50[key] " " ms(l[1]); p99[key] = p99[key] " " ms(l[2]); n[key]++
    if (!(c in seen)) { seen[c] = 1; order[++m] = c }
  }
  END {
    printf "| clients | etcd req/s | govsr req/s | ratio | etcd p50 ms | govsr p50 ms | etcd p99 ms | govsr p99 ms | runs |\n"
    printf "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    for (i = 1; i <= m; i++) {
      c = order[i]; e = "etcd" SUBSEP c; g = "govsr" SUBSEP c
      et = median(thr[e]); gt = median(thr[g])
      printf "| %s | %.0f | %.0f | %.2f× | %.2f | %.2f | %.2f | %.2f | %d |\n", c, et, gt, (et > 0 ? gt / et : 0),
        median(p50[e]), median(p50[g]), median(p99[e]), median(p99[g]), n[g]
    }
  }' "$results"
