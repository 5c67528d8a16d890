#!/usr/bin/env bash
# test.sh: the one test command. Installs what is missing, builds every
# backend, runs every test, and ends with exactly one line `N passed, N failed`.
set -euo pipefail

usage() {
	sed "s/@BACKENDS@/$(tb_backends)/" <<'EOF'
usage: ci/test.sh [--backends "B ..."] [--no-asan] [--no-install] [--quick]
                  [--prefix build/]

A first run on a fresh machine takes about 35 minutes on 2 cores, most of
it compiling the three tuned TLS libraries from Debian's source archive
(which must be reachable); later runs reuse them and take about 12.

Runs, from the repository root (build output under build/), in this order:
  deps         installs missing Debian packages (as root: apt-get; otherwise
               prints the exact apt-get command and exits 2)
  format       ci/format.sh: C as .clang-format lays it out, Python indented
               with four spaces
  libs:<l>     suite/libs/build.sh <lib> <series> tuned: fetch and compile
               a tuned library once per machine (the cache is shared with
               suite/run_matrix.sh; see suite/libs/build.sh --help); first,
               because certs uses the tuned OpenSSL for ML-DSA
  certs        suite/certs.sh build/certs
  build:<b>    meson setup build/<b> -Dtls=<b> -Dwerror=true; ninja
               (meson configure + ninja when build/<b> exists)
  unit:<b>     meson test --suite unit: the parser tests and the backend
               contract test (tests/backends) of each build
  it:<b>       tests/integration/run.py against each backend
  it-core:<b>  the same with every server run with --io core
  tuned-build:<l>, tuned:<l>, tuned-unit:<l>, tuned-it:<l>
               a server built against that library (the OpenSSL one's load
               generator too), its flavor and loaded-library checks, its
               unit suite, the integration suite against it
  load:<b>     tests/load/test_load.sh for one TLS backend and none (with
               the tuned OpenSSL build: its ML-KEM, ML-DSA, PSK-mode and
               early-data cases too)
  suite-unit   the suite's Python unit tests (tests/suite/test_*.py): the
               statistics behind every interval, against known distributions;
               reports, charts, the index and the site on synthetic runs;
               the measurement protocol's window rules, block plan, summary;
               open-loop levels, resumption modes and their rules
  site         tests/suite/site_browser.py: the results site built from a
               small committed run and two synthetic ones, opened in headless
               Chromium: no console error, every chart and link resolves,
               no chart label cut or overlapping; screenshots in
               build/site-test/ (front.png, run.png, trends.png)
  matrix       tests/suite/test_matrix.sh: a quick matrix run, its schema,
               error rows, --resume, a crashed server, a full disk
  protocol     tests/suite/test_protocol.sh: window rules with real servers
               (a resumed window of full handshakes, a refused cell), 0-RTT,
               psk_ke and session IDs with two workers, open-loop levels, a
               run in six blocks, its cells.csv, --verify reproduced and not
  cost:<b>     tests/suite/test_cost.sh: instruction counts are repeatable
  fuzz         ci/fuzz.sh --quick: the libFuzzer targets, 20 s each
  stress:<b>   suite/stress.sh --quick: hostile and overload traffic
  testssl:<b>  ci/testssl.sh: protocols, ciphers, known vulnerabilities
  asan-build:<b>, asan-it:<b>, asan-it-core:<b>
               an ASan+UBSan build per backend (build/asan-<b>) and the
               integration tests against it, with --io native and core
Each step's log is in build/test-logs/<step>.log; a failing step prints its
tail.  The last line is `N passed, N failed`; exit status 1 when anything
failed, 2 for a usage or setup error.

  --backends LIST  backends to build and test, space separated (default:
                   every backend: @BACKENDS@);
                   the matrix, fuzz and site steps run only with all of them
  --no-asan        leave out the sanitizer builds
  --no-install     never call apt-get (fail when a package is missing)
  --quick          integration tests in --quick mode everywhere
  --prefix P       build directories are P<b> and Pasan-<b> (default build/)
  --help           this text
A step running over STEP_TIMEOUT seconds (default 900) is killed and fails;
a libs:<l> step gets LIBS_TIMEOUT (default 2700: a cold compile of OpenSSL
took 850 s on this 2-core machine).
EOF
}

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TB_ROOT"

BACKENDS=$(tb_backends)
ASAN=1
INSTALL=1
QUICK=""
PREFIX=$TB_PREFIX
LOGS=build/test-logs
STEP_TIMEOUT=${STEP_TIMEOUT:-900}  # seconds; no step but libs:* comes near
LIBS_TIMEOUT=${LIBS_TIMEOUT:-2700} # a cold library compile: 3x margin
CERTS=$TB_CERTS

PACKAGES="build-essential meson ninja-build pkg-config libssl-dev
libwolfssl-dev android-libboringssl-dev libevent-dev nginx-light python3
python3-uvloop nghttp2-client wrk testssl.sh clang clang-format
libclang-rt-14-dev gnutls-bin curl valgrind openssl dpkg-dev autoconf
automake libtool perl chromium fonts-dejavu-core"

while (($#)); do
	case "$1" in
	--help | -h)
		usage
		exit 0
		;;
	--backends)
		tb_need_arg "$1" $#
		for b in $2; do
			tb_check_backend "$b"
		done
		BACKENDS=$2
		shift
		;;
	--no-asan) ASAN=0 ;;
	--no-install) INSTALL=0 ;;
	--quick) QUICK="--quick" ;;
	--prefix)
		tb_need_arg "$1" $#
		PREFIX=$2
		shift
		;;
	*) tb_die "unknown option $1 (see ci/test.sh --help)" ;;
	esac
	shift
done

# --- bookkeeping -------------------------------------------------------------
PASSED=0
FAILED=0
SUMMARY=()
T_START=$SECONDS

# meson_count LABEL LOG: the number after "LABEL:" in meson test's summary.
meson_count() {
	local n
	n=$(sed -nE "s/^$1: +([0-9]+).*/\1/p" "$2" | tail -n 1)
	echo "${n:-0}"
}

# step NAME CMD...: run CMD with its output in $LOGS/NAME.log and count it.
# A step whose log has a runner's `N passed, N failed` line adds those
# numbers (meson test's Ok:/Fail: summary, or PASS/FAIL lines, likewise);
# any other step counts as one test.  A step that exits non-zero
# without reporting a failure (a crash, a build error) counts one failure,
# under its name, so nothing can fail quietly.
step() {
	local name=$1 log rc t0 took p f line pid dog limit=$STEP_TIMEOUT
	shift
	[[ $name != libs:* ]] || limit=$LIBS_TIMEOUT
	log="$LOGS/${name//[:\/]/-}.log"
	t0=$SECONDS
	printf '%-26s ' "$name"
	# A subshell with errexit, so a failing command inside a step function
	# ends the step instead of being ignored; its own process group (set -m)
	# so the watchdog can stop all of it when it hangs.
	set +e
	(
		set -e
		"$@"
	) >"$log" 2>&1 </dev/null &
	pid=$!
	(
		sleep "$limit"
		echo "test.sh: step $name ran over ${limit}s: killed" >>"$log"
		kill -TERM -- "-$pid"
		sleep 10
		kill -KILL -- "-$pid"
	) >/dev/null 2>&1 &
	dog=$!
	wait "$pid"
	rc=$?
	kill -- "-$dog" 2>/dev/null
	wait "$dog" 2>/dev/null
	set -e
	took=$((SECONDS - t0))
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
	if [[ -n $line ]]; then # a runner's summary line
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
	elif grep -qE '^Ok: +[0-9]+' "$log"; then # meson test's summary
		p=$(meson_count Ok "$log")
		f=$(($(meson_count Fail "$log") + $(meson_count Timeout "$log") + \
			$(meson_count 'Unexpected Pass' "$log")))
	elif grep -qE '^(PASS|FAIL) ' "$log"; then # one line per case only
		p=$(grep -cE '^PASS ' "$log" || true)
		f=$(grep -cE '^FAIL ' "$log" || true)
	elif ((rc == 0)); then
		p=1 f=0
	else
		p=0 f=1
	fi
	if ((rc != 0 && f == 0)); then
		f=1 # exited non-zero without reporting a failure: count the step
	fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	if ((f > 0 || rc != 0)); then
		printf 'FAIL  %s passed, %s failed  (%ds, exit %d)  %s\n' \
			"$p" "$f" "$took" "$rc" "$log"
		grep -E '^FAIL ' "$log" | head -n 30 | sed 's/^/    /' || true
		echo "    --- last lines of $log:"
		tail -n 25 "$log" | sed 's/^/    /'
		SUMMARY+=("FAIL $name ($took s)")
	else
		printf 'ok    %s passed  (%ds)\n' "$p" "$took"
		SUMMARY+=("ok   $name ($took s)")
	fi
	return 0
}

# --- (a) packages --------------------------------------------------------------
missing_packages() {
	local p missing=()
	for p in $PACKAGES; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	echo "${missing[*]}"
}

install_deps() {
	local missing
	command -v dpkg-query >/dev/null ||
		tb_die "dpkg-query not found: this script expects Debian 12"
	missing=$(missing_packages)
	[[ -z $missing ]] && return 0
	if ((EUID != 0)) || ((INSTALL == 0)); then
		echo "test.sh: missing packages; install them with:" >&2
		echo "  sudo apt-get update && sudo apt-get install -y $missing" >&2
		exit 2
	fi
	echo "installing: $missing"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
}

# --- (b..d) steps ----------------------------------------------------------------
# Options given in full, so a directory someone configured differently
# (another buildtype, a sanitizer) is brought back to what CI tests.
build_backend() {
	tb_build "${PREFIX}$1" -Dtls="$1" -Dwerror=true -Dbuildtype=release \
		-Db_sanitize=none
}

build_asan() {
	tb_build "${PREFIX}asan-$1" -Dtls="$1" -Dwerror=true \
		-Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
		-Db_lundef=false
}

unit_tests() { meson test -C "$1" --suite unit --print-errorlogs; }

# integration BUILD [ARG...]: ARGs go to run.py (e.g. --server-arg=--io=core)
integration() {
	local build=$1
	shift
	"$TB_PY" tests/integration/run.py --build "$build" --certs "$CERTS" \
		$QUICK "$@"
}

# With a tuned OpenSSL >= 3.5 build (its load generator linked to it too),
# the load tests add the ML-KEM, ML-DSA, PSK-mode and early-data cases.
load_tests() {
	local pq=${PREFIX}openssl-$(tb_tuned_series openssl)-tuned
	if [[ $1 != none && -x $pq/tlsbench-load ]]; then
		bash tests/load/test_load.sh "${PREFIX}$1" "$CERTS" "$pq"
	else
		bash tests/load/test_load.sh "${PREFIX}$1" "$CERTS"
	fi
}

# The tuned libraries (suite/libs/series): suite/libs/build.sh keeps them
# in one cache per machine (it alone decides where), so a fresh clone
# reuses them.
TUNED=$(tb_tuned)

tuned_prefix() { bash suite/libs/build.sh "$1" "$2" tuned | tail -n 1; }

# The tuned OpenSSL build's load generator links that OpenSSL too: the
# client that can offer ML-KEM groups and verify ML-DSA chains.
build_tuned() {
	local prefix load=()
	prefix=$(tuned_prefix "$1" "$2")
	[[ $1 != openssl ]] || load=(-Dload_openssl_prefix="$prefix")
	tb_build "${PREFIX}$1-$2-tuned" -Dtls="$1" -D"$1"_prefix="$prefix" \
		"${load[@]}" -Dwerror=true -Dbuildtype=release -Db_sanitize=none
}

tuned_checks() {
	bash tests/libs/test_tuned.sh "${PREFIX}$1-$2-tuned" \
		"$(tuned_prefix "$1" "$2")" "$CERTS"
}

# The suite's own Python: unit tests under tests/suite (statistics, ...).
suite_unit() {
	tb_tbsuite
	"$TB_PY" tests/suite/run_unit.py
}

matrix_tests() { bash tests/suite/test_matrix.sh --no-build "${PREFIX%/}"; }

protocol_tests() { bash tests/suite/test_protocol.sh --no-build "${PREFIX%/}"; }

# The results site as a reader sees it (headless Chromium).
site_tests() {
	tb_tbsuite
	"$TB_PY" tests/suite/site_browser.py --build build/site-test
}

cost_tests() { bash tests/suite/test_cost.sh "${PREFIX}$1"; }

asan_env() {
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$@"
}

# Each phase is a function so later phases (fuzz, leaks, matrix quick run)
# are one more function and one more line in main.
phase_builds() {
	local b
	for b in $BACKENDS; do
		step "build:$b" build_backend "$b"
	done
}

# The unit suite of each build (meson test --suite unit: the parser tests,
# and the backend contract test, which depends on the backend).
phase_unit() {
	local b
	for b in $BACKENDS; do
		[[ -f ${PREFIX}$b/build.ninja ]] || continue
		step "unit:$b" unit_tests "${PREFIX}$b"
	done
}

phase_integration() {
	local b
	for b in $BACKENDS; do
		[[ -x ${PREFIX}$b/tlsbench-server ]] || continue
		step "it:$b" integration "${PREFIX}$b"
		step "it-core:$b" integration "${PREFIX}$b" --server-arg=--io=core
	done
}

phase_load() {
	local b tls_done=0
	[[ -f tests/load/test_load.sh ]] || return 0
	for b in $BACKENDS; do
		[[ -x ${PREFIX}$b/tlsbench-server ]] || continue
		if [[ $b == none ]]; then
			step "load:$b" load_tests "$b"
		elif ((!tls_done)); then
			step "load:$b" load_tests "$b"
			tls_done=1
		fi
	done
}

phase_asan() {
	local b
	((ASAN)) || return 0
	for b in $BACKENDS; do
		step "asan-build:$b" build_asan "$b"
		[[ -x ${PREFIX}asan-$b/tlsbench-server ]] || continue
		step "asan-it:$b" asan_env integration "${PREFIX}asan-$b"
		step "asan-it-core:$b" asan_env integration "${PREFIX}asan-$b" \
			--server-arg=--io=core
	done
}

# Each tuned library: fetched and built from Debian's source archive (cached),
# a server built against it, the flavor and loaded-library checks, and the
# integration suite against it.
phase_libs() {
	local t lib ver
	for t in $TUNED; do
		lib=${t%%:*} ver=${t#*:}
		tb_one_of "$lib" "$BACKENDS" || continue
		step "libs:$lib-$ver" tuned_prefix "$lib" "$ver"
	done
}

phase_tuned() {
	local t lib ver
	for t in $TUNED; do
		lib=${t%%:*} ver=${t#*:}
		tb_one_of "$lib" "$BACKENDS" || continue
		step "tuned-build:$lib-$ver" build_tuned "$lib" "$ver"
		[[ -x ${PREFIX}$lib-$ver-tuned/tlsbench-server ]] || continue
		step "tuned:$lib-$ver" tuned_checks "$lib" "$ver"
		step "tuned-unit:$lib-$ver" unit_tests "${PREFIX}$lib-$ver-tuned"
		step "tuned-it:$lib-$ver" integration "${PREFIX}$lib-$ver-tuned"
	done
}

# A quick-profile matrix run checked against the CSV schema, an injected
# failing cell and an interrupted run completed with --resume; then the
# measurement protocol with real servers.
phase_matrix() {
	tb_all_backends "$BACKENDS" || return 0
	step "matrix" matrix_tests
	step "protocol" protocol_tests
}

# The site once (it does not depend on the backends): with all of them,
# as CI's one job that has every backend.
phase_site() {
	tb_all_backends "$BACKENDS" || return 0
	step "site" site_tests
}

# Instruction counts: one small cost cell twice, the same within 0.5%.
phase_cost() {
	local b
	for b in $BACKENDS; do
		if [[ $b != none && -x ${PREFIX}$b/tlsbench-server ]]; then
			step "cost:$b" cost_tests "$b"
			return
		fi
	done
}

# Hostile input and overload (the long versions: ci/fuzz.sh, suite/stress.sh,
# ci/leaks.sh under valgrind; LeakSanitizer already runs in the asan steps).
phase_robustness() {
	local b
	tb_all_backends "$BACKENDS" && step "fuzz" bash ci/fuzz.sh --quick
	for b in $BACKENDS; do
		[[ -x ${PREFIX}$b/tlsbench-server ]] || continue
		step "stress:$b" bash suite/stress.sh --quick --backend "$b" \
			--prefix "$PREFIX" --certs "$CERTS"
		[[ $b == none ]] || step "testssl:$b" bash ci/testssl.sh \
			--backend "$b" --prefix "$PREFIX" --certs "$CERTS"
	done
}

main() {
	echo "ci/test.sh: a first run takes about 35 minutes on 2 cores (most of it"
	echo "compiling the tuned TLS libraries once), a later one about 12."
	install_deps
	# job control gives each step its own process group (see step)
	set -m
	mkdir -p "$LOGS"
	rm -f "$LOGS"/*.log
	step "format" bash ci/format.sh
	# the tuned OpenSSL first: certs.sh issues the ML-DSA chain with it
	phase_libs
	step "certs" bash suite/certs.sh "$CERTS"
	phase_builds
	phase_unit
	phase_integration
	phase_tuned
	phase_load
	step "suite-unit" suite_unit
	phase_site
	phase_matrix
	phase_cost
	phase_robustness
	phase_asan
	echo
	echo "steps:"
	printf '  %s\n' "${SUMMARY[@]}"
	echo "total $((SECONDS - T_START)) s"
	echo "$PASSED passed, $FAILED failed"
	((FAILED == 0))
}

main
