#!/usr/bin/env bash
# Runs the same seeds through two vopr binaries and fails unless every run
# prints the same thing: verdict, digest and every statistic (wall-clock rows
# removed, report paths named alike). For changes that must not change any
# run, such as speed work. Usage: scripts/digest-compare.sh OLD_VOPR NEW_VOPR [jobs]
# Build OLD_VOPR from a clean tree of the base revision, e.g.
#   git worktree add --detach /tmp/base main && (cd /tmp/base && go build -o /tmp/vopr-old ./cmd/vopr)
set -euo pipefail
old=${1:?usage: digest-compare.sh OLD_VOPR NEW_VOPR [jobs]}
new=${2:?usage: digest-compare.sh OLD_VOPR NEW_VOPR [jobs]}
jobs=${3:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One run per line: seed, then vopr flags. Seeds as drawn, then each storage
# kind (the atlas kinds, disk replacement) and the chaos kinds forced on.
{
  for s in $(seq 1 120); do echo "$s"; done
  for kind in storage superblock slot-loss misdirect-far torn-sector bit-rot replace crash; do
    for s in $(seq 101 112); do echo "$s --on $kind"; done
  done
  for s in $(seq 201 212); do echo "$s --on storage,superblock,slot-loss,misdirect-far,torn-sector,bit-rot,replace,crash"; done
  for kind in target crash-window crash-group churn backlog big-state load small-messages long-delay; do
    for s in $(seq 301 304); do echo "$s --on $kind"; done
  done
} >"$work/runs"

run() { # binary tag seed flags...
  local bin=$1 tag=$2
  shift 2
  local all="$*"
  local key="${all// /_}" seed=$1
  shift
  local dir="$work/$tag/$key"
  mkdir -p "$dir"
  set +e
  "$bin" --seed "$seed" --report-dir "$dir" "$@" >"$dir/out" 2>&1
  echo "exit $?" >>"$dir/out"
  set -e
  # The report directory differs between the two binaries' runs: name it alike.
  sed "s#$dir#REPORT_DIR#g" "$dir/out" | grep -v -e 'wall time' -e 'simulated / real' >"$dir/cmp"
}
export -f run
export work

while read -r line; do
  echo "$old old $line"
  echo "$new new $line"
done <"$work/runs" | xargs -P "$jobs" -L 1 bash -c 'run "$@"' _

total=0 differ=0
while read -r line; do
  key="${line// /_}"
  total=$((total + 1))
  if ! cmp -s "$work/old/$key/cmp" "$work/new/$key/cmp"; then
    differ=$((differ + 1))
    echo "DIFFER: --seed $line"
    diff "$work/old/$key/cmp" "$work/new/$key/cmp" | head -20 || true
  fi
done <"$work/runs"
passed=$(cat "$work"/new/*/out | grep -c '^PASSED' || true)
echo "$total runs compared, $differ differ; $passed of the new binary's runs passed, these did not:"
grep -h '^FAILED' "$work"/new/*/out || true
[ "$differ" -eq 0 ]
