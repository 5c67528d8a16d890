#!/usr/bin/env bash
# bench_load.sh: is tlsbench-load an efficient client?  Measures it against
# h2load --h1 and wrk on the same tlsbench-server: requests/s and client CPU
# per request, keep-alive and one request per connection, RSA and ECDSA.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: suite/bench_load.sh [--build DIR] [--secs S] [--conns N] [--help]

  --build DIR   meson build dir with tlsbench-server and
                tlsbench-load (default: build/openssl)
  --secs S      seconds per run (default 3)
  --conns N     concurrent connections for every client (default 32)

The server runs with one worker pinned to CPU 0 (taskset), every client on
CPU 1, one thread each, loopback only.  Client CPU is user+sys of the whole
client process (/usr/bin/time), divided by the requests it completed.

The server runs with --resumption none: under "Connection: close" h2load
and wrk silently resume TLS sessions whenever the server issues tickets, so
only a server that never resumes makes every request pay a full handshake
for all three clients.  tlsbench-load verifies the server certificate by
default (h2load and wrk never do): the "load-insecure" rows show it without
verification, the like-for-like comparison.
USAGE
}

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
ROOT=$TB_ROOT
BUILD=$ROOT/build/openssl
SECS=3
CONNS=32
while [[ $# -gt 0 ]]; do
	case $1 in
	--build | --secs | --conns) tb_need_arg "$1" $# ;;&
	--build) BUILD=$(cd "$2" 2>/dev/null && pwd) || tb_die "no directory $2"; shift 2 ;;
	--secs) SECS=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--help | -h) usage; exit 0 ;;
	*) tb_die "unknown argument $1 (see --help)" ;;
	esac
done
SERVER=$BUILD/tlsbench-server
LOAD=$BUILD/tlsbench-load
for f in "$SERVER" "$LOAD"; do
	[[ -x $f ]] || tb_die "$f missing: $(tb_build_hint "$BUILD" openssl)"
done
for t in h2load wrk taskset /usr/bin/time; do
	command -v "$t" >/dev/null || tb_die "$t not found (apt-get install nghttp2-client wrk util-linux time)"
done
if [[ $(nproc) -lt 2 ]]; then
	tb_die "needs 2 CPUs (server on CPU 0, client on CPU 1)"
fi

TMP=$(mktemp -d /tmp/tbbench.XXXXXX)
SRV_PID=
cleanup() {
	[[ -n $SRV_PID ]] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

if [[ -x $ROOT/suite/certs.sh ]] || [[ -f $ROOT/suite/certs.sh ]]; then
	bash "$ROOT/suite/certs.sh" "$TMP/certs" >/dev/null
else
	mkdir -p "$TMP/certs"
	echo "bench_load.sh: suite/certs.sh missing" >&2
	exit 2
fi

start_server() {
	taskset -c 0 "$SERVER" --cert "$TMP/certs/$1.pem" --key "$TMP/certs/$1.key" \
		--listen 127.0.0.1:0 --workers 1 --resumption none \
		>"$TMP/srv.out" 2>"$TMP/srv.err" &
	SRV_PID=$!
	URL=
	for _ in $(seq 100); do
		URL=$(sed -n 's/^listening //p' "$TMP/srv.out")
		[[ -n $URL ]] && return 0
		sleep 0.05
	done
	echo "bench_load.sh: server did not start: $(head -1 "$TMP/srv.err")" >&2
	exit 1
}

# timed CMD...: runs CMD on CPU 1, bounded; CPU seconds in $CPU, wall
# seconds in $WALL, output in $TMP/out.
timed() {
	/usr/bin/time -f "%U %S %e" -o "$TMP/time" \
		timeout -k 5 $((SECS * 10 + 30)) taskset -c 1 "$@" >"$TMP/out" 2>&1 || true
	CPU=$(awk '{print $1 + $2}' "$TMP/time" | tail -1)
	WALL=$(awk '{print $3}' "$TMP/time" | tail -1)
}

row() { # client cert mode requests seconds
	awk -v c="$1" -v k="$2" -v m="$3" -v n="$4" -v s="$5" -v cpu="$CPU" 'BEGIN {
		if (n > 0) printf "%-14s %-11s %-10s %10.0f %14.1f\n", c, k, m, n / s, 1e6 * cpu / n;
		else printf "%-14s %-11s %-10s %10s %14s\n", c, k, m, "failed", "-" }'
}

printf "%-14s %-11s %-10s %10s %14s\n" client cert mode "req/s" "cpu us/req"
for cert in rsa2048 ecdsa-p256; do
	start_server "$cert"
	for mode in keepalive close; do
		close=()
		hdr=()
		if [[ $mode == close ]]; then
			close=(--close)
			hdr=(-H "Connection: close")
		fi
		for v in verify insecure; do
			if [[ $v == verify ]]; then
				ver=(--cacert "$TMP/certs/ca.pem")
				name=load
			else
				ver=(--insecure)
				name=load-insecure
			fi
			timed "$LOAD" --json -c "$CONNS" -d "$SECS" "${close[@]}" "${ver[@]}" "$URL/20k"
			n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests_ok"])' "$TMP/out" 2>/dev/null || echo 0)
			row "$name" "$cert" "$mode" "$n" "$SECS"
		done
		# h2load -D never ends once the server closes connections: with
		# --close it gets -n (what tlsbench-load did) and its wall time.
		if [[ $mode == close ]]; then
			timed h2load --h1 -c "$CONNS" -n "$((n > CONNS ? n : CONNS))" "${hdr[@]}" "$URL/20k"
			secs=$WALL
		else
			timed h2load --h1 -c "$CONNS" -D "$SECS" "$URL/20k"
			secs=$SECS
		fi
		n=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$TMP/out")
		row h2load "$cert" "$mode" "${n:-0}" "$secs"
		timed wrk -t 1 -c "$CONNS" -d "${SECS}s" "${hdr[@]}" "$URL/20k"
		n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$TMP/out")
		row wrk "$cert" "$mode" "${n:-0}" "$SECS"
	done
	kill "$SRV_PID"
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=
done
