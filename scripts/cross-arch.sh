#!/usr/bin/env bash
# Determinism across machines, checked rather than claimed: builds cmd/vopr for
# amd64 and for each of ARCHES (default arm64 and s390x; s390x is big-endian),
# runs a fixed set of seeds on every one (foreign architectures under
# qemu-user) and fails unless each seed's verdict line (verdict, class and
# digest) is the same as on amd64. Prints a table: seed, digest per arch.
#
# Usage: scripts/cross-arch.sh [SEED...]
#   SEEDS="1 2 3"          seeds to run (default: the fixed set below)
#   ARCHES="arm64 s390x"   compared with amd64; "arm" adds a 32-bit machine
#   TICKS_MAX, REQUESTS_MAX shorten every run (vopr --ticks-max / --requests-max)
#   JOBS=N                 runs at once (default: number of CPUs)
#   RUN_TIMEOUT=1800       seconds one run may take under emulation
# Needs qemu-user (Debian/Ubuntu: apt-get install qemu-user); installs it with
# apt-get when missing and running as root or with password-less sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

# Seeds 1-12, and seeds that once exposed bugs (corpus/): between them they
# reach view changes, repair, state transfer, crashes and disk faults.
default_seeds="1 2 3 4 5 6 7 8 9 10 11 12 1594 10489 42673 110561 200241 200594 302769"
if [ $# -gt 0 ]; then seeds="$*"; else seeds=${SEEDS:-$default_seeds}; fi
read -r -a foreign <<<"${ARCHES:-arm64 s390x}"
arches=(amd64 "${foreign[@]}")
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
host=$(go env GOARCH)

# qemu_for ARCH prints the qemu-user binary that runs GOARCH=ARCH programs.
qemu_for() {
  local name
  case $1 in
    amd64) name=x86_64 ;; arm64) name=aarch64 ;; arm) name=arm ;; s390x) name=s390x ;;
    ppc64le) name=ppc64le ;; riscv64) name=riscv64 ;; 386) name=i386 ;;
    *) return 1 ;;
  esac
  command -v "qemu-$name" || command -v "qemu-$name-static"
}

# install_qemu installs Debian's qemu-user when this shell may run apt-get.
install_qemu() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null || return 1
    sudo=(sudo -n)
  fi
  command -v apt-get >/dev/null || return 1
  echo "== installing qemu-user with apt-get" >&2
  "${sudo[@]}" apt-get update -qq >&2 || true
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user >&2 ||
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >&2
}

# runner_for ARCH prints the command prefix that runs an ARCH binary here.
runner_for() {
  if [ "$1" = "$host" ]; then echo ""; return; fi
  qemu_for "$1" && return
  install_qemu && qemu_for "$1" && return
  echo "cross-arch: no qemu-user for $1; install it with: sudo apt-get install qemu-user" >&2
  return 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -A runner
for arch in "${arches[@]}"; do
  runner[$arch]=$(runner_for "$arch") || exit 1
done
for arch in "${arches[@]}"; do
  echo "== build $arch ${runner[$arch]:+(runs under ${runner[$arch]})}" >&2
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -o "$work/vopr-$arch" ./cmd/vopr
  mkdir -p "$work/reports-$arch"
done

# run_one ARCH SEED writes the run's last line (its verdict) to ARCH-SEED.
run_one() {
  local arch=$1 seed=$2 extra=()
  [ -z "${TICKS_MAX:-}" ] || extra+=(--ticks-max "$TICKS_MAX")
  [ -z "${REQUESTS_MAX:-}" ] || extra+=(--requests-max "$REQUESTS_MAX")
  local out="$work/$arch-$seed" code=0
  # shellcheck disable=SC2086 # the runner is a command name or nothing
  timeout "${RUN_TIMEOUT:-1800}" ${runner[$arch]} "$work/vopr-$arch" --seed "$seed" \
    --report-dir "$work/reports-$arch" "${extra[@]}" >"$out.log" 2>&1 || code=$?
  local last
  last=$(tail -n 1 "$out.log")
  case $last in
    PASSED* | FAILED*) echo "$last" >"$out" ;;
    *) echo "NO-VERDICT exit=$code" >"$out" ;;
  esac
}

echo "== $(wc -w <<<"$seeds") seeds on ${arches[*]}, $jobs at once" >&2
for arch in "${arches[@]}"; do
  for seed in $seeds; do
    # A bounded pool: at most $jobs runs at once.
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    run_one "$arch" "$seed" &
  done
done
wait

# cell FILE prints a run's digest, prefixed by its class when it did not pass.
cell() {
  local line
  line=$(cat "$1")
  case $line in
    PASSED*) echo "${line##*digest=}" ;;
    FAILED*)
      local words
      read -r -a words <<<"$line"
      echo "${words[1]}:${line##*digest=}"
      ;;
    *) echo "$line" ;;
  esac
}

mismatches=0
printf '%-8s' seed
printf ' %-34s' "${arches[@]}"
printf '\n'
for seed in $seeds; do
  ref=$(cat "$work/amd64-$seed")
  printf '%-8s' "$seed"
  for arch in "${arches[@]}"; do
    mark=" "
    if [ "$(cat "$work/$arch-$seed")" != "$ref" ]; then mark="!"; mismatches=$((mismatches + 1)); fi
    printf ' %-34s' "$(cell "$work/$arch-$seed")$mark"
  done
  printf '\n'
done
if [ "$mismatches" -gt 0 ]; then
  echo "cross-arch: $mismatches runs differ from amd64 (marked !): the simulation is not deterministic across machines" >&2
  exit 1
fi
echo "cross-arch: every digest on ${arches[*]} equals amd64's"
