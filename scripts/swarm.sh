#!/usr/bin/env bash
# Nightly swarm: runs SEEDS consecutive seeds (default 5000), each drawing
# its own faults, on every core. The first seed defaults to one derived from
# today's date, so every night covers new seeds and any night can be rerun.
# Failing seeds write reports into REPORT_DIR (default vopr-reports/); replay
# one with `go run ./cmd/vopr replay --log short FILE`. Exits non-zero if any
# seed failed. Usage: SEEDS=5000 FROM=1 REPORT_DIR=out scripts/swarm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${SEEDS:-5000}
from=${FROM:-$(( $(date -u +%Y%m%d) * 100000 ))}
report_dir=${REPORT_DIR:-vopr-reports}
mkdir -p "$report_dir"
echo "== swarm: $seeds seeds from $from, reports in $report_dir"
go run ./cmd/vopr swarm --seeds "$seeds" --from "$from" --report-dir "$report_dir"
