#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 30s).
# Targets are discovered with `go test -list '^Fuzz'`, so a new one is picked
# up without editing this file. Usage: FUZZTIME=60s scripts/fuzz.sh [packages]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-30s}
packages=("$@")
[ ${#packages[@]} -gt 0 ] || mapfile -t packages < <(go list ./...)
ran=0
for pkg in "${packages[@]}"; do
  while read -r target; do
    [ -n "$target" ] || continue
    echo "== $pkg $target ($fuzztime)"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
    ran=$((ran + 1))
  done < <(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
done
echo "== $ran fuzz targets ran for $fuzztime each, none failed"
