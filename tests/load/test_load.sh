#!/usr/bin/env bash
# test_load.sh: tlsbench-load against tlsbench-server (counts must agree
# exactly with the server's), against nginx (body checks), and against dead,
# refusing and stalling servers (failures counted, bounded, non-zero exit).
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: tests/load/test_load.sh BUILD_DIR CERT_DIR

BUILD_DIR  a meson build dir holding tlsbench-server and
           tlsbench-load (e.g. build/openssl)
CERT_DIR   made by suite/certs.sh (ca.pem, ecdsa-p256.pem/.key, ...)

Prints one "PASS name" or "FAIL name: why" line per case; exits 1 when any
case failed.  Loopback only; every case is bounded in time and everything
it starts is killed.  Needs python3; the nginx case is skipped without
nginx.
USAGE
}

if [[ ${1:-} == --help || ${1:-} == -h ]]; then
	usage
	exit 0
fi
if [[ $# -ne 2 ]]; then
	usage >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
CERTS=$(cd "$2" && pwd)
LOAD=$BUILD/tlsbench-load
SERVER=$BUILD/tlsbench-server
for f in "$LOAD" "$SERVER" "$CERTS/ca.pem" "$CERTS/ecdsa-p256.pem"; do
	if [[ ! -e $f ]]; then
		echo "test_load.sh: $f missing (build with ninja -C $1; make certs with suite/certs.sh $2)" >&2
		exit 2
	fi
done

TMP=$(mktemp -d /tmp/tbload-test.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

FAILS=0
pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1: $2"
	FAILS=$((FAILS + 1))
}

BACKEND=$("$SERVER" --version 2>/dev/null | sed -n 's/^backend: *//p')
if [[ $BACKEND == none ]]; then
	SCHEME=http
else
	SCHEME=https
fi

# start_server ARGS...: sets SRV_PID, URL and STATS (the --stats-file).
start_server() {
	STATS=$TMP/stats.$RANDOM.json
	: >"$STATS"
	# Exists before the server's redirection opens it: the poll below
	# must not read a file that is not there yet.
	: >"$TMP/srv.out"
	"$SERVER" --cert "$CERTS/ecdsa-p256.pem" --key "$CERTS/ecdsa-p256.key" \
		--listen 127.0.0.1:0 --workers 1 --stats-file "$STATS" "$@" \
		>"$TMP/srv.out" 2>"$TMP/srv.err" &
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	URL=
	for _ in $(seq 100); do
		URL=$(sed -n 's/^listening //p' "$TMP/srv.out")
		[[ -n $URL ]] && return 0
		sleep 0.05
	done
	echo "test_load.sh: tlsbench-server did not start: $(head -1 "$TMP/srv.err")" >&2
	return 1
}

# stop_server: SIGTERM, wait (bounded); the final stats line is in $STATS.
stop_server() {
	kill -TERM "$SRV_PID" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
}

# check NAME PYTHON-EXPR: evaluates the expression over c (client JSON), s
# (server's last stats line, {} if none), rc and secs; PASS or FAIL.
check() {
	local name=$1 expr=$2 out
	if out=$(python3 - "$TMP/client.json" "${STATS:-/dev/null}" "$RC" "$SECS" "$expr" <<'PY' 2>&1
import json, sys
cfile, sfile, rc, secs, expr = sys.argv[1:6]
rc, secs = int(rc), float(secs)
try:
    c = json.loads(open(cfile).read())
except Exception as e:
    print("client output is not one JSON object: %s" % e)
    sys.exit(1)
lines = [l for l in open(sfile).read().splitlines() if l.strip()]
s = json.loads(lines[-1]) if lines else {}
ok = eval(expr)
if not ok:
    keys = ("requests_ok", "requests_failed", "handshakes_full",
            "handshakes_resumed", "bytes_response", "errors", "rps", "reason")
    print("expected %s; client %s; server %s; rc %d; %.1fs" % (
        expr, {k: c.get(k) for k in keys},
        {k: s.get(k) for k in ("requests", "handshakes_full",
                               "handshakes_resumed", "bytes_sent")},
        rc, secs))
    sys.exit(1)
PY
	); then
		pass "$name"
	else
		fail "$name" "$out"
	fi
}

# run_load ARGS...: runs the client with --json, bounded by timeout; sets RC
# and SECS, output in $TMP/client.json.
run_load() {
	local t0 t1
	t0=$(date +%s.%N)
	set +e
	timeout -k 2 60 "$LOAD" --json "$@" >"$TMP/client.json" 2>"$TMP/client.err"
	RC=$?
	set -e
	t1=$(date +%s.%N)
	SECS=$(python3 -c "print($t1 - $t0)")
}

TLSARGS=()
[[ $SCHEME == https ]] && TLSARGS=(--cacert "$CERTS/ca.pem")

# ---- exact agreement with tlsbench-server --------------------------------
AGREE='rc == 0 and c["requests_ok"] == N and c["requests_failed"] == 0 and s["requests"] == N and s["status_200"] == N and c["bytes_response"] == s["bytes_sent"] and c["bytes_body"] == N * 20480'
# The none backend counts every plaintext connection as a full handshake;
# the client counts TLS handshakes only.
if [[ $SCHEME == https ]]; then
	AGREE+=' and c["handshakes_full"] == s["handshakes_full"] and c["handshakes_resumed"] == s["handshakes_resumed"]'
else
	AGREE+=' and c["handshakes_full"] == 0'
fi
N=400
if [[ $SCHEME == https ]]; then
	for v in 1.2 1.3; do
		for mode in close-none close-ticket close-id keepalive; do
			case $mode in
			close-none) args=(--close --resume none) extra='c["handshakes_full"] == N and c["handshakes_resumed"] == 0' ;;
			close-ticket) args=(--close --resume ticket) extra='c["handshakes_full"] == 8 and c["handshakes_resumed"] == N - 8' ;;
			close-id) args=(--close --resume id) extra='c["handshakes_full"] == 8 and c["handshakes_resumed"] == N - 8' ;;
			keepalive) args=() extra='c["handshakes_full"] == 8 and c["handshakes_resumed"] == 0' ;;
			esac
			start_server --resumption both
			run_load -c 8 -n $N --tls "$v" "${args[@]}" "${TLSARGS[@]}" "$URL/20k"
			stop_server
			check "server-agree-tls$v-$mode" "$(echo "$AGREE" | sed "s/N/$N/g") and $(echo "$extra" | sed "s/N/$N/g") and c[\"negotiated\"][\"version\"] == \"TLSv$v\""
		done
	done
	# A server without resumption: every --resume ticket handshake is full.
	start_server --resumption none
	run_load -c 4 -n 100 --close --resume ticket "${TLSARGS[@]}" "$URL/20k"
	stop_server
	check server-agree-no-resumption "$(echo "$AGREE" | sed "s/N/100/g") and c[\"handshakes_resumed\"] == 0"
	# Verification is on by default: an unknown CA fails every handshake.
	start_server
	run_load -c 2 -n 4 --close "$URL/20k"
	stop_server
	check verify-default-on 'rc == 1 and c["errors"]["handshake"] == 4 and c["requests_ok"] == 0'
else
	for mode in close keepalive; do
		args=()
		[[ $mode == close ]] && args=(--close)
		start_server
		run_load -c 8 -n $N "${args[@]}" "$URL/20k"
		stop_server
		check "server-agree-plain-$mode" "$(echo "$AGREE" | sed "s/N/$N/g")"
	done
fi

# Threads and warm-up: counts cover the window only; -n is exact.
start_server
run_load -c 8 -t 2 -n 1000 "${TLSARGS[@]}" "$URL/20k"
stop_server
check server-agree-threads "$(echo "$AGREE" | sed "s/N/1000/g") and c[\"threads\"] == 2"
start_server
run_load -c 4 --warmup 0.5 -d 1 "${TLSARGS[@]}" "$URL/20k"
stop_server
check warmup-window 'rc == 0 and c["requests_ok"] > 0 and s["requests"] > c["requests_ok"] and 0.99 < c["duration_s"] < 1.01'

# HEAD and a non-2xx status.
start_server
run_load -c 2 -n 10 -m HEAD --expect-length 20480 "${TLSARGS[@]}" "$URL/20k"
check head-request 'rc == 0 and c["requests_ok"] == 10 and c["bytes_body"] == 0'
run_load -c 2 -n 10 "${TLSARGS[@]}" "$URL/nope"
stop_server
check status-404 'rc == 1 and c["errors"]["status"] == 10 and c["status_codes"] == {"404": 10}'

# ---- rate mode ------------------------------------------------------------
start_server
run_load -c 4 -R 200 -d 3 "${TLSARGS[@]}" "$URL/20k"
stop_server
check rate-200 'rc == 0 and abs(c["rps"] - 200) <= 10 and c["rate_target"] == 200'

# ---- nginx, a third-party server, serving the same body --------------------
if command -v nginx >/dev/null && [[ $SCHEME == https ]]; then
	mkdir -p "$TMP/ngx/html" "$TMP/ngx/logs"
	start_server
	python3 - "$URL/20k" "$CERTS/ca.pem" "$TMP/ngx/html/20k" <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
open(sys.argv[3], "wb").write(urllib.request.urlopen(sys.argv[1], context=ctx, timeout=10).read())
PY
	stop_server
	# nginx's workers run as an unprivileged user: let them read the body.
	chmod 755 "$TMP" "$TMP/ngx" "$TMP/ngx/html"
	chmod 644 "$TMP/ngx/html/20k"
	SHA=$(sha256sum "$TMP/ngx/html/20k" | cut -d' ' -f1)
	NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$TMP/ngx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
error_log $TMP/ngx/logs/error.log warn;
pid $TMP/ngx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NPORT ssl;
    ssl_certificate $CERTS/ecdsa-p256.pem;
    ssl_certificate_key $CERTS/ecdsa-p256.key;
    root $TMP/ngx/html;
  }
}
NGX
	nginx -p "$TMP/ngx" -c "$TMP/ngx/nginx.conf" >"$TMP/ngx/out" 2>&1 &
	NGX_PID=$!
	PIDS+=("$NGX_PID")
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$NPORT") 2>/dev/null && break
		sleep 0.05
	done
	STATS=
	NURL=https://127.0.0.1:$NPORT/20k
	run_load -c 4 -n 100 --close --expect-length 20480 --expect-sha256 "$SHA" "${TLSARGS[@]}" "$NURL"
	check nginx-body-ok 'rc == 0 and c["requests_ok"] == 100 and c["bytes_body"] == 100 * 20480'
	run_load -c 4 -n 100 --expect-length 20000 "${TLSARGS[@]}" "$NURL"
	check nginx-wrong-length 'rc == 1 and c["errors"]["body_mismatch"] == 100 and c["requests_ok"] == 0'
	run_load -c 4 -n 20 --expect-sha256 "$(printf '0%.0s' $(seq 64))" "${TLSARGS[@]}" "$NURL"
	check nginx-wrong-sha256 'rc == 1 and c["errors"]["body_mismatch"] == 20'
	kill "$NGX_PID" 2>/dev/null || true
	wait "$NGX_PID" 2>/dev/null || true
else
	echo "SKIP nginx (no nginx, or a plaintext backend)"
fi
STATS=

# ---- failures ---------------------------------------------------------------
# Server killed mid-run: errors counted, run stops (server unreachable).
start_server
SRV=$SRV_PID
(sleep 1 && kill -9 "$SRV" 2>/dev/null) &
PIDS+=($!)
STATS=
run_load -c 4 -d 30 --close "${TLSARGS[@]}" "$URL/20k"
wait "$SRV" 2>/dev/null || true
check server-killed 'rc == 1 and c["requests_ok"] > 0 and "unreachable" in c["reason"] and secs < 10'

# Connection refused: nothing listens there (the dead server's port).
run_load -c 4 -n 100 "${TLSARGS[@]}" "$URL/20k"
check connection-refused 'rc == 1 and c["errors"]["connect"] >= 1 and c["requests_ok"] == 0 and "unreachable" in c["reason"] and secs < 3'

# A server that accepts and never answers: timeouts, bounded.
python3 - "$TMP/stall.port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
s.settimeout(30)
end = time.time() + 30
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        break
PY
PIDS+=($!)
for _ in $(seq 100); do
	[[ -s $TMP/stall.port ]] && break
	sleep 0.05
done
run_load -c 2 -n 4 --timeout 1 "${TLSARGS[@]}" "$SCHEME://127.0.0.1:$(cat "$TMP/stall.port")/20k"
check server-stalls 'rc == 1 and c["errors"]["timeout"] == 4 and c["requests_ok"] == 0 and secs < 6'

# Usage errors exit 2.
set +e
"$LOAD" -c 0 -n 1 "$URL/" >/dev/null 2>&1
rc1=$?
"$LOAD" -n 1 -d 1 "$URL/" >/dev/null 2>&1
rc2=$?
"$LOAD" -n 1 ftp://127.0.0.1/ >/dev/null 2>&1
rc3=$?
set -e
if [[ $rc1 == 2 && $rc2 == 2 && $rc3 == 2 ]]; then
	pass usage-errors
else
	fail usage-errors "exit codes $rc1 $rc2 $rc3, want 2 2 2"
fi

if [[ $FAILS -gt 0 ]]; then
	echo "test_load.sh: $FAILS case(s) failed" >&2
	exit 1
fi
