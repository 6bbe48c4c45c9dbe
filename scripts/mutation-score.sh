#!/usr/bin/env bash
# Mutation score of the harness (issue 9, item 5): how many planted VSR bugs
# the simulator catches by itself.
#
# For each patch in the mutants directory (scripts/mutants/*.patch, each a
# realistic protocol bug described in its header): copy the work tree to a
# temporary directory, apply the patch, build cmd/vopr, and run `vopr swarm`
# over seeds FROM.. in chunks of CHUNK, stopping at the first chunk with a
# failing seed, up to K seeds. Then, separately, run the unit tests of vsr/
# against the mutant within a time budget, and with --scenarios the
# scripted scenarios (vopr's TestScenarios: their expect lines check what a
# story must leave behind, which a checker of a random run need not see).
# Prints a markdown table (mutant, caught, seeds to first failure, failure
# class, swarm wall time, unit tests, scenarios) and the score,
# caught/total: the swarm's catches alone.
#
# Exits 1 if any mutant survives, does not apply or does not build (the
# nightly job fails on it), unless --no-fail; 2 on bad usage.
#
# Usage: scripts/mutation-score.sh [--seeds K] [--mutants DIR] [--jobs J]
#          [--from S] [--chunk C] [--test-timeout SECONDS] [--only SUBSTRING]
#          [--reports DIR] [--out FILE] [--no-tests] [--scenarios] [--no-fail]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seeds=100
mutants="$root/scripts/mutants"
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
from=1
chunk=20
test_timeout=300
only=""
reports=""
out=""
run_tests=1
run_scenarios=0
fail_on_survivor=1

usage() {
	sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
}

need_number() { # flag value
	if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -lt 1 ]; then
		echo "mutation-score: $1 wants a positive number, got '$2'" >&2
		exit 2
	fi
}

while [ $# -gt 0 ]; do
	case $1 in
	--seeds | --mutants | --jobs | --from | --chunk | --test-timeout | --only | --reports | --out)
		[ $# -ge 2 ] || { echo "mutation-score: $1 wants a value" >&2; exit 2; }
		case $1 in
		--seeds) need_number "$1" "$2"; seeds=$2 ;;
		--mutants) mutants=$2 ;;
		--jobs) need_number "$1" "$2"; jobs=$2 ;;
		--from) need_number "$1" "$2"; from=$2 ;;
		--chunk) need_number "$1" "$2"; chunk=$2 ;;
		--test-timeout) need_number "$1" "$2"; test_timeout=$2 ;;
		--only) only=$2 ;;
		--reports) reports=$2 ;;
		--out) out=$2 ;;
		esac
		shift 2
		;;
	--no-tests) run_tests=0; shift ;;
	--scenarios) run_scenarios=1; shift ;;
	--no-fail) fail_on_survivor=0; shift ;;
	-h | --help) usage ;;
	*) echo "mutation-score: unknown argument '$1'" >&2; usage ;;
	esac
done

[ -d "$mutants" ] || { echo "mutation-score: no mutants directory $mutants" >&2; exit 2; }
mutants=$(cd "$mutants" && pwd)
shopt -s nullglob
patches=("$mutants"/*.patch)
shopt -u nullglob
if [ -n "$only" ]; then
	kept=()
	for p in "${patches[@]}"; do
		case $(basename "$p") in *"$only"*) kept+=("$p") ;; esac
	done
	patches=("${kept[@]+"${kept[@]}"}")
fi
[ ${#patches[@]} -gt 0 ] || { echo "mutation-score: no *.patch in $mutants${only:+ matching '$only'}" >&2; exit 2; }
if [ -n "$reports" ]; then
	mkdir -p "$reports"
	reports=$(cd "$reports" && pwd)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mutation-score.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# The work tree as it is (tracked files and new ones not ignored), so that
# simulator changes not yet committed are measured too.
mkdir "$tmp/base"
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
	tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$tmp/base" -xf -

log() { echo "mutation-score: $*" >&2; }

# seconds since the epoch, for wall times (reporting only).
now() { date +%s; }

# apply_patch DIR PATCH: prints "clean", "fuzz" or "failed".
apply_patch() {
	if (cd "$1" && git apply -p1 --whitespace=nowarn "$2") >"$tmp/apply.log" 2>&1; then
		echo clean
	elif (cd "$1" && patch -p1 --forward --batch --fuzz=2 -s <"$2") >>"$tmp/apply.log" 2>&1; then
		echo fuzz
	else
		echo failed
	fi
}

# first_failure DIR: the lowest seed of the reports in DIR and its class,
# "seed class", or nothing.
first_failure() {
	local f seed best=""
	for f in "$1"/vopr-*.json; do
		[ -e "$f" ] || continue
		seed=${f##*/vopr-}
		seed=${seed%.json}
		if [ -z "$best" ] || [ "$seed" -lt "$best" ]; then best=$seed; fi
	done
	[ -n "$best" ] || return 0
	local class
	class=$(sed -n 's/^  "class": "\([a-z]*\)",*$/\1/p' "$1/vopr-$best.json" | head -n 1)
	echo "$best ${class:-unknown}"
}

# swarm_until_failure BIN DIR NAME: runs chunks; sets found_seed, found_class, seeds_run.
swarm_until_failure() {
	local bin=$1 dir=$2 name=$3 start=$from end=$((from + seeds)) n rc
	found_seed="" found_class="" seeds_run=0
	while [ "$start" -lt "$end" ]; do
		n=$((end - start < chunk ? end - start : chunk))
		rm -rf "$dir/reports" && mkdir "$dir/reports"
		rc=0
		"$bin" swarm --from "$start" --seeds "$n" --jobs "$jobs" --report-dir "$dir/reports" \
			>"$dir/swarm.log" 2>&1 || rc=$?
		seeds_run=$((seeds_run + n))
		read -r found_seed found_class < <(first_failure "$dir/reports"; echo) || true
		if [ -n "$found_seed" ]; then
			if [ -n "$reports" ]; then
				mkdir -p "$reports/$name"
				cp "$dir/reports/vopr-$found_seed.json" "$reports/$name/"
			fi
			return 0
		fi
		if [ "$rc" -ne 0 ]; then
			found_class="swarm exit $rc"
			log "$name: swarm exited $rc without a seed report; last lines:"
			tail -n 5 "$dir/swarm.log" >&2
			return 0
		fi
		start=$((start + n))
	done
}

# unit_tests DIR: prints "pass", "FAIL" or "timeout", and the seconds taken.
unit_tests() {
	local t0 rc=0 verdict
	t0=$(now)
	(cd "$1" && timeout "$test_timeout" go test -count=1 ./vsr/...) >"$1/test.log" 2>&1 || rc=$?
	case $rc in
	0) verdict=pass ;;
	124) verdict=timeout ;;
	*) verdict=FAIL ;;
	esac
	echo "$verdict $(($(now) - t0))s"
}

# scenario_tests DIR: prints "pass", "FAIL" or "timeout" for the scenario
# scripts, and the seconds taken (most of it building the test binary).
scenario_tests() {
	local t0 rc=0 verdict
	t0=$(now)
	(cd "$1" && timeout "$test_timeout" go test -count=1 ./vopr -run '^TestScenarios$') >"$1/scenarios.log" 2>&1 || rc=$?
	case $rc in
	0) verdict=pass ;;
	124) verdict=timeout ;;
	*) verdict=FAIL ;;
	esac
	echo "$verdict $(($(now) - t0))s"
}

rows=()
total=0
caught=0
broken=0

# give_up NAME WHAT LOG: a mutant that could not be measured (its patch does
# not apply, or it does not build) is reported, with why, and counted.
give_up() {
	log "$1: $2:"
	sed 's/^/  /' "$3" >&2
	rows+=("| $1 | **$2** | | | | | |")
	broken=$((broken + 1))
	rm -rf "${tmp:?}/$1"
}

for patch in "${patches[@]}"; do
	name=$(basename "$patch" .patch)
	total=$((total + 1))
	dir="$tmp/$name"
	cp -a "$tmp/base" "$dir"
	applied=$(apply_patch "$dir" "$patch")
	if [ "$applied" = failed ]; then
		give_up "$name" "patch does not apply" "$tmp/apply.log"
		continue
	fi
	[ "$applied" = fuzz ] && log "$name: applied with fuzz (context moved); refresh the patch"
	if ! (cd "$dir" && go build -o "$dir/vopr.bin" ./cmd/vopr) >"$tmp/build.log" 2>&1; then
		give_up "$name" "does not build" "$tmp/build.log"
		continue
	fi
	log "$name: swarm over up to $seeds seeds from $from"
	t0=$(now)
	swarm_until_failure "$dir/vopr.bin" "$dir" "$name"
	wall=$(($(now) - t0))
	tests="not run"
	if [ "$run_tests" = 1 ]; then
		tests=$(unit_tests "$dir")
	fi
	scenarios="not run"
	if [ "$run_scenarios" = 1 ]; then
		scenarios=$(scenario_tests "$dir")
	fi
	if [ -n "$found_seed" ]; then
		caught=$((caught + 1))
		rows+=("| $name | yes | $((found_seed - from + 1)) (seed $found_seed) | $found_class | ${wall}s | $tests | $scenarios |")
		log "$name: caught by seed $found_seed ($found_class) after ${wall}s; unit tests: $tests"
	elif [ -n "$found_class" ]; then
		broken=$((broken + 1))
		rows+=("| $name | **error** ($found_class) | | | ${wall}s | $tests | $scenarios |")
	else
		rows+=("| $name | **no** | > $seeds_run | | ${wall}s | $tests | $scenarios |")
		log "$name: SURVIVED $seeds_run seeds (${wall}s); unit tests: $tests; scenarios: $scenarios"
	fi
	rm -rf "$dir"
done

{
	echo "| mutant | caught | seeds to first failure | failure class | swarm wall time | unit tests (vsr/...) | scenarios |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Mutation score: $caught/$total caught (up to $seeds seeds from $from, chunks of $chunk, $jobs jobs)."
} | tee "${out:-/dev/null}"

if [ "$fail_on_survivor" = 1 ] && { [ "$caught" -lt "$total" ] || [ "$broken" -gt 0 ]; }; then
	exit 1
fi
exit 0
