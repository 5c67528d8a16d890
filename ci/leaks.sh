#!/usr/bin/env bash
# leaks.sh: the integration tests against each backend's server running
# under valgrind memcheck; a backend passes when no server process (master
# or worker) reports a definite leak or a memory error.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: ci/leaks.sh [--backend B]... [--quick] [--filter PATTERN]...
                   [--prefix build/] [--certs DIR]

For each backend (default: every backend) this makes a
wrapper build directory build/leaks/<b>/ whose tlsbench-server execs
  valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite
           --error-exitcode=99 --log-file=build/leaks/<b>/vg.%p.log
           build/<b>/tlsbench-server ARGS
(valgrind follows the workers' fork, one log per process), runs
tests/integration/run.py --build build/leaks/<b> --quick on it, then reads
every log: `definitely lost` above 0 bytes, or an ERROR SUMMARY above 0, in
any log is a FAIL for that backend, naming the log.  Integration cases that
fail under valgrind's slowdown (about 30x for TLS) are listed but are not
leak findings; the server's exit status 99 would be one (a case reports it).

Output: `PASS leaks:<b>` / `FAIL leaks:<b>` lines and `N passed, N failed`.

  --backend B    a backend to check (repeatable)
  --quick        a subset of cases that walks every server path (startup,
                 stop, keep-alive, pipelining, bodies, every error status,
                 garbage and aborted clients, resumption, timeouts): about
                 2-4 minutes per TLS backend; without it, all cases except
                 interop (external clients, slow and leak-neutral)
  --filter P     run.py --filter patterns instead of the defaults (repeatable)
  --prefix P     build directories are P<b> (default build/)
  --certs DIR    certificates (default build/certs)
  --help         this text
EOF
}

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$TB_ROOT
cd "$ROOT"

QUICK=0
FILTERS=()

while (($#)); do
	case "$1" in
	--help | -h)
		usage
		exit 0
		;;
	--quick) QUICK=1 ;;
	--filter)
		tb_need_arg "$1" $#
		FILTERS+=(--filter "$2")
		shift
		;;
	*)
		tb_common_option "$@"
		shift "$TB_SHIFT"
		continue
		;;
	esac
	shift
done
BACKENDS=("${TB_BACKENDS[@]}")
((${#BACKENDS[@]})) || read -ra BACKENDS <<<"$(tb_backends)"
PREFIX=$TB_PREFIX
CERTS=$TB_CERTS
command -v valgrind >/dev/null ||
	tb_die "valgrind not found: apt-get install valgrind"

if ((${#FILTERS[@]} == 0)); then
	if ((QUICK)); then
		for f in signals.sigterm_final_line signals.sigterm_idle_keepalive \
			body.sizes body.large_streamed conn.keepalive_curl \
			conn.head conn.pipelining conn.http10_closes \
			conn.connection_close conn.idle_timeout conn.close_notify \
			conn.request_body_discarded 'status.*' robust.garbage \
			robust.stop_mid_handshake robust.stop_mid_request \
			robust.stop_mid_response robust.plain_http_to_tls_port \
			robust.many_bad_clients resume.both_tls1.2 \
			resume.both_tls1.3 tls.default_versions \
			tls.min_1.3_refuses_1.2; do
			FILTERS+=(--filter "$f")
		done
	else
		for f in 'cli.*' 'signals.*' 'body.*' 'conn.*' 'status.*' \
			'robust.*' 'resume.*' 'tls.*' 'workers.*'; do
			FILTERS+=(--filter "$f")
		done
	fi
fi

passed=0
failed=0
for b in "${BACKENDS[@]}"; do
	if ! real=$(tb_server "$PREFIX" "$b" 2>&1); then
		echo "FAIL leaks:$b ($real)"
		failed=$((failed + 1))
		continue
	fi
	real=$(realpath "$real")
	wrap=$ROOT/build/leaks/$b
	rm -rf "$wrap"
	mkdir -p "$wrap"
	# The harness runs <build>/tlsbench-server: make that valgrind.
	cat >"$wrap/tlsbench-server" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --leak-check=full \\
	--errors-for-leak-kinds=definite --error-exitcode=99 \\
	--show-leak-kinds=definite --num-callers=30 \\
	--log-file=$wrap/vg.%p.log $real "\$@"
EOF
	chmod +x "$wrap/tlsbench-server"
	t0=$SECONDS
	echo "== leaks:$b (integration tests under valgrind, ${#FILTERS[@]} filters)"
	set +e
	"$TB_PY" tests/integration/run.py --build "$wrap" --certs "$CERTS" \
		--quick "${FILTERS[@]}" >"$wrap/run.log" 2>&1
	rc=$?
	set -e
	took=$((SECONDS - t0))
	cases=$(grep -cE '^(PASS|FAIL) ' "$wrap/run.log" || true)
	case_fails=$(grep -E '^FAIL ' "$wrap/run.log" || true)
	logs=("$wrap"/vg.*.log)
	bad=()
	for log in "${logs[@]}"; do
		[[ -f $log ]] || continue
		if grep -qE 'definitely lost: [1-9][0-9,]* bytes' "$log" ||
			grep -qE 'ERROR SUMMARY: [1-9]' "$log"; then
			bad+=("$log")
		fi
	done
	nlogs=$(ls "$wrap"/vg.*.log 2>/dev/null | wc -l)
	if ((nlogs == 0)); then
		echo "FAIL leaks:$b (no valgrind log: did the server start? see $wrap/run.log)"
		failed=$((failed + 1))
	elif ((${#bad[@]})); then
		echo "FAIL leaks:$b (${#bad[@]} of $nlogs server processes with definite leaks or memory errors; ${took}s)"
		for log in "${bad[@]:0:5}"; do
			echo "    $log:"
			grep -E 'definitely lost:|ERROR SUMMARY:|Invalid|uninitialised' "$log" |
				head -n 4 | sed 's/^/      /'
		done
		failed=$((failed + 1))
	else
		echo "PASS leaks:$b ($nlogs server processes, no definite leak, no memory error; $cases cases in ${took}s)"
		passed=$((passed + 1))
	fi
	if [[ -n $case_fails ]]; then
		echo "    integration cases failing under valgrind (run.py exit $rc; not leak findings):"
		echo "$case_fails" | sed 's/^/      /'
	fi
done
echo "$passed passed, $failed failed"
((failed == 0))
