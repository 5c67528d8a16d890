#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer targets (tests/fuzz) and run each for a
# bounded time on a copy of its seed corpus.  One `PASS fuzz:<target>` or
# `FAIL fuzz:<target>` line per target, then `N passed, N failed`.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: ci/fuzz.sh [--seconds N] [--quick] [--target http|conn] [--build DIR]
                  [--jobs N]

Builds DIR (default build/fuzz) with
  CC=clang meson setup DIR -Dtls=none -Dfuzz=true -Db_lundef=false
and runs each libFuzzer target for N seconds (-max_total_time) on a working
copy of tests/fuzz/corpus/<target> kept in build/fuzz-work/<target>, so the
repository's seed corpus is never written to.  New inputs stay in the work
copy between runs; crashes, leaks and timeouts are written there as
crash-*, leak-*, timeout-* (with the log in build/fuzz-work/<target>.log).
Reproduce one with: DIR/tests/fuzz/fuzz_<target> build/fuzz-work/crash-...

  --seconds N   time per target (default 300)
  --quick       what ci/test.sh runs: a fixed number of inputs per target
                (http 400000, conn 60000: 5-20 s each) from a fixed seed
                (-seed=1) on a fresh copy of the seed corpus, so the run is
                the same every time and fails only when the code changed;
                the timed runs explore, this one guards
  --target T    only this target (repeatable; default: http and conn)
  --build DIR   build directory (default build/fuzz)
  --jobs N      parallel fuzzing processes per target (default 1)
  --help        this text
EOF
}

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$TB_ROOT
cd "$ROOT"

SECONDS_PER=300
QUICK=0
TARGETS=()
BUILD=build/fuzz
JOBS=1
WORK=build/fuzz-work

while (($#)); do
	case "$1" in
	--help | -h)
		usage
		exit 0
		;;
	--seconds)
		tb_need_arg "$1" $#
		SECONDS_PER=$2
		shift
		;;
	--quick) QUICK=1 ;;
	--target)
		tb_need_arg "$1" $#
		TARGETS+=("$2")
		shift
		;;
	--build)
		tb_need_arg "$1" $#
		BUILD=$2
		shift
		;;
	--jobs)
		tb_need_arg "$1" $#
		JOBS=$2
		shift
		;;
	*) tb_die "unknown option $1 (see ci/fuzz.sh --help)" ;;
	esac
	shift
done
[[ $SECONDS_PER =~ ^[0-9]+$ && $SECONDS_PER -gt 0 ]] ||
	tb_die "--seconds wants a positive whole number"
[[ $JOBS =~ ^[0-9]+$ && $JOBS -gt 0 ]] ||
	tb_die "--jobs wants a positive whole number"
((${#TARGETS[@]})) || TARGETS=(http conn)
for t in "${TARGETS[@]}"; do
	[[ -d tests/fuzz/corpus/$t ]] ||
		tb_die "unknown target $t (have: $(ls tests/fuzz/corpus | paste -sd ' '))"
done

command -v clang >/dev/null ||
	tb_die "clang not found: apt-get install clang libclang-rt-14-dev"

# A directory configured with another compiler cannot be switched to
# clang: start it over.
if [[ -f $BUILD/build.ninja ]] &&
	! grep -q '"clang"' "$BUILD/meson-info/intro-compilers.json" 2>/dev/null; then
	echo "fuzz.sh: $BUILD was not configured with clang: setting it up again"
	rm -rf "$BUILD"
fi
if [[ -f $BUILD/build.ninja ]]; then
	meson configure "$BUILD" -Dtls=none -Dfuzz=true -Db_lundef=false \
		-Dwerror=true
else
	CC=clang meson setup "$BUILD" -Dtls=none -Dfuzz=true \
		-Db_lundef=false -Dwerror=true
fi
ninja -C "$BUILD" "${TARGETS[@]/#/tests/fuzz/fuzz_}"

passed=0
failed=0
mkdir -p "$WORK"
for t in "${TARGETS[@]}"; do
	bin=$ROOT/$BUILD/tests/fuzz/fuzz_$t
	corpus=$WORK/$t
	log=$WORK/$t.log
	# --quick: the same inputs every run (see usage); a timed run keeps
	# what it found for the next one.
	((QUICK)) && rm -rf "$corpus"
	mkdir -p "$corpus"
	cp -n tests/fuzz/corpus/"$t"/* "$corpus"/
	rm -f "$WORK"/crash-"$t"-* "$WORK"/leak-"$t"-* "$WORK"/timeout-"$t"-* \
		"$WORK"/oom-"$t"-*
	par=(-dict="$ROOT/tests/fuzz/http.dict")
	if ((QUICK)); then
		runs=60000
		[[ $t == http ]] && runs=400000
		par+=(-seed=1 -runs="$runs")
		limit=600
		echo "fuzz:$t: $runs inputs from seed 1 on $corpus ($(ls "$corpus" | wc -l) inputs)"
	else
		par+=(-max_total_time="$SECONDS_PER")
		limit=$((SECONDS_PER + 60))
		echo "fuzz:$t: ${SECONDS_PER}s on $corpus ($(ls "$corpus" | wc -l) inputs)"
	fi
	((JOBS > 1)) && par+=(-jobs="$JOBS" -workers="$JOBS")
	set +e
	# -timeout: one input taking seconds is a hang in a loop this bounded;
	# -max_len: room for an over-size header block and some pipelining.
	# The outer timeout is a last resort if libFuzzer itself hangs.
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		timeout --kill-after=10 "$limit" \
		"$bin" -timeout=10 \
		-max_len=20000 -rss_limit_mb=2048 -print_final_stats=1 \
		"${par[@]}" -artifact_prefix="$WORK/crash-$t-" "$corpus" >"$log" 2>&1
	rc=$?
	set -e
	# With -jobs libFuzzer writes fuzz-N.log files in the working dir.
	if ((JOBS > 1)); then
		cat fuzz-*.log >>"$log" 2>/dev/null || true
		rm -f fuzz-*.log
	fi
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' \
		"$log" | awk '{s += $1} END {print s + 0}')
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 || true)
	artifacts=$(ls "$WORK"/crash-"$t"-* 2>/dev/null || true)
	if ((rc == 0)) && [[ -z $artifacts ]]; then
		echo "PASS fuzz:$t  ($execs execs, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l))"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz:$t  (exit $rc, $execs execs; log $log)"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" |
			head -n 5 | sed 's/^/    /' || true
		for a in $artifacts; do
			echo "    artifact: $a"
		done
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
((failed == 0))
