#!/usr/bin/env bash
# stress.sh: hostile traffic against tlsbench-server, for every backend,
# with a probe client measuring what real users get meanwhile.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: suite/stress.sh [--backend B]... [--quick] [--only ATTACK]...
                       [--certs DIR] [--prefix build/]

For each backend (default: every backend) this builds
build/<b> with meson when tlsbench-server is missing, starts the server on
127.0.0.1 (one worker, pinned to CPU 0 with taskset; clients on CPU 1) and
runs each attack for a bounded time and count while a probe process makes
20 one-request connections per second (GET /, Connection: close):

  a idle           10000 connections, one request each, then held idle
  b slowloris      1000 connections sending a header byte every 0.5 s
                   (server --header-timeout 2: all cut off at the deadline)
  c slow_readers   50 clients ask for /64m with SO_RCVBUF 4096 and never
                   read (server --write-timeout 3 closes them)
  d flood          15 s of garbage, and ClientHellos followed by silence,
                   a close, or a reset (a request begun, on plaintext)
  e fd_exhaustion  a server with ulimit -n 256 (default --max-conns: the
                   limit less 64) and 600 connections: it pauses accepting
                   (accept_pauses), stays under 25% CPU while full, and
                   serves again once they go
  f resets         300 clients reset (SO_LINGER 0) after 16 KiB of /1m

Each attack gets a fresh server.  Per attack: the probe's success rate and
p99, the server's CPU seconds, RSS before / peak / after (KiB, VmRSS), and
whether conns_accepted = conns_active + conns_completed + conns_failed +
conns_timed_out once the attack's connections are gone.  An attack passes
when its own check holds, the server is alive and exits 0, the counters
add up with no connection left open, the probe got >= 80% (reported but
not required under the flood, whose full handshakes saturate the server's
one core by design, and under fd exhaustion, where queued connections wait
by design), and RSS came back: within 24 MiB of the baseline, or 75% of the
growth returned, or else a second round of the same attack does not grow
it by as much as the first did (memory the allocator keeps for reuse is
not a leak; a heuristic: floods vary in size, and ci/leaks.sh is the leak
check proper).

Output: `PASS stress:<b>:<attack>` / `FAIL ...` lines, a table per backend,
JSON in build/stress/<b>.json, and a last line `N passed, N failed`.

  --backend B   a backend to stress (repeatable)
  --quick       reduced counts (1000 idle, 200 slowloris, 10 slow readers,
                4 s flood, 400 over the fd limit, 60 resets): about a
                minute per backend, for ci/test.sh
  --only A      only this attack (name or letter; repeatable)
  --certs DIR   certificates (default build/certs; made by suite/certs.sh)
  --prefix P    build directories are P<b> (default build/)
  --help        this text

Needs: python3 (uvloop used when installed), meson and ninja to build,
and a hard fd limit >= 11000 for the 10000-connection attack (client and
server each hold one fd per connection; the limit is per process).
EOF
}

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
ROOT=$TB_ROOT
cd "$ROOT"
tb_tbsuite

QUICK=()
ONLY=()
NOFILE=30000

while (($#)); do
	case "$1" in
	--help | -h)
		usage
		exit 0
		;;
	--quick) QUICK=(--quick) ;;
	--only)
		tb_need_arg "$1" $#
		ONLY+=(--only "$2")
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
CERTS=$TB_CERTS
PREFIX=$TB_PREFIX

# Client and server are separate processes, each holding one descriptor
# per connection: each needs the idle count plus some room (ulimit -n is per
# process).  Raise the hard limit when allowed (root with CAP_SYS_RESOURCE),
# else make do with it.
if (($(ulimit -Hn) < NOFILE)); then
	ulimit -Hn "$NOFILE" 2>/dev/null || NOFILE=$(ulimit -Hn)
fi
if ((NOFILE < 11000)) && ((${#QUICK[@]} == 0)); then
	tb_die "the fd limit is $NOFILE, 10000 idle connections need 11000: raise the hard limit (ulimit -Hn 30000 as root, or /etc/security/limits.conf), or use --quick"
fi
ulimit -Sn "$NOFILE"

SERVER_CPU=()
CLIENT_CPU=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
	SERVER_CPU=(--server-cpu 0)
	CLIENT_CPU=(--client-cpu 1)
fi

mkdir -p build/stress
WORK=$(mktemp -d "$ROOT/build/stress/run.XXXXXX")
PYPID=""
cleanup() {
	local pid
	if [[ -n $PYPID ]]; then
		kill -TERM "$PYPID" 2>/dev/null || true
		wait "$PYPID" 2>/dev/null || true
	fi
	# Servers record their pids; stop any the runner could not.
	for pid in $(cat "$WORK"/*/pid 2>/dev/null); do
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tb_certs "$CERTS"

passed=0
failed=0
for b in "${BACKENDS[@]}"; do
	dir=${PREFIX}$b
	if [[ ! -x $dir/tlsbench-server ]]; then
		echo "building $dir"
		tb_build "$dir" -Dtls="$b" >/dev/null
	fi
	echo "== $b: $("$dir/tlsbench-server" --version | sed -n 's/^library_version: //p')"
	set +e
	"$TB_PY" -m tbsuite.stress --server "$dir/tlsbench-server" \
		--backend "$b" --certs "$CERTS" --workdir "$WORK" \
		--json "build/stress/$b.json" "${SERVER_CPU[@]}" \
		"${CLIENT_CPU[@]}" "${QUICK[@]}" "${ONLY[@]}" \
		> >(tee "$WORK/out-$b.txt") 2>&1 &
	PYPID=$!
	wait "$PYPID"
	rc=$?
	PYPID=""
	set -e
	sleep 0.2 # let tee finish
	p=$(grep -c '^PASS ' "$WORK/out-$b.txt" || true)
	f=$(grep -c '^FAIL ' "$WORK/out-$b.txt" || true)
	if ((rc != 0 && f == 0)); then
		echo "FAIL stress:$b (runner exited $rc)"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "$passed passed, $failed failed"
((failed == 0))
