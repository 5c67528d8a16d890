#!/usr/bin/env bash
# test_load.sh: tlsbench-load against tlsbench-server (counts must agree
# exactly with the server's, also across the clean window's edges read
# through the control protocol), against a capture of the same handshakes
# (bytes and records on the wire, fresh key shares), against nginx (body
# checks, early data) and OpenSSL's s_server (PSK modes, replay), and
# against dead, refusing and stalling servers (failures counted, bounded,
# non-zero exit).
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: tests/load/test_load.sh BUILD_DIR CERT_DIR [TUNED_DIR]

BUILD_DIR  a meson build dir holding tlsbench-server and
           tlsbench-load (e.g. build/openssl)
CERT_DIR   made by suite/certs.sh (ca.pem, ecdsa-p256.pem/.key, ...)
TUNED_DIR  optional: a build with -Dtls=openssl -Dopenssl_prefix=P for an
           OpenSSL >= 3.5 prefix P (suite/libs/build.sh openssl 3.6 tuned),
           best also -Dload_openssl_prefix=P.  Adds the cases that need
           OpenSSL >= 3.5: hybrid ML-KEM groups and an ML-DSA certificate
           (when its tlsbench-load has >= 3.5), PSK modes, early data and
           replay against P/bin/openssl s_server.

Prints one "PASS name", "FAIL name: why" or "SKIP name (why)" line per
case; exits 1 when any case failed.  Loopback only; every case is bounded
in time and everything it starts is killed.  Needs python3; the nginx cases
are skipped without nginx.
USAGE
}

if [[ ${1:-} == --help || ${1:-} == -h ]]; then
	usage
	exit 0
fi
if [[ $# -ne 2 && $# -ne 3 ]]; then
	usage >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
CERTS=$(cd "$2" && pwd)
TUNED=
if [[ $# -eq 3 ]]; then
	TUNED=$(cd "$3" && pwd)
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
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

# start_server ARGS...: sets SRV_PID, URL and STATS (the --stats-file);
# the certificate is SRV_CERT/SRV_KEY when set, else ECDSA P-256.
start_server() {
	STATS=$TMP/stats.$RANDOM.json
	: >"$STATS"
	# Exists before the server's redirection opens it: the poll below
	# must not read a file that is not there yet.
	: >"$TMP/srv.out"
	"$SERVER" --cert "${SRV_CERT:-$CERTS/ecdsa-p256.pem}" \
		--key "${SRV_KEY:-$CERTS/ecdsa-p256.key}" \
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

# drive [DRIVER ARGS] -- LOAD ARGS...: runs the client under
# window_driver.py, which speaks the control protocol and has the running
# server write its stats at both edges; output in $TMP/drive.json.
drive() {
	timeout -k 2 120 python3 "$HERE/window_driver.py" \
		--server-pid "$SRV_PID" --stats "$STATS" "$@" \
		>"$TMP/drive.json" 2>"$TMP/drive.err" || true
}

# dcheck NAME PYTHON-EXPR: the expression over d (the driver's output), c
# (the client's JSON), a and b (the server's stats at window-start and at
# window-end) and delta(key) = b[key] - a[key]; PASS or FAIL.
dcheck() {
	local name=$1 expr=$2 out
	if out=$(python3 - "$TMP/drive.json" "$expr" <<'PY' 2>&1
import json, sys
try:
    d = json.loads(open(sys.argv[1]).read())
except Exception as e:
    print("driver output is not JSON: %s" % e)
    sys.exit(1)
c, a, b = d.get("client") or {}, d.get("server_start") or {}, d.get("server_end") or {}
delta = lambda k: b[k] - a[k]
try:
    ok = eval(sys.argv[2])
except Exception as e:
    ok = False
if not ok:
    keys = ("requests_ok", "handshakes_full", "handshakes_resumed",
            "window_requests_started", "window_requests_completed",
            "inflight_abandoned", "warmup_requests", "warmup_resumed",
            "slots_never_resumed", "duration_s", "reason")
    print("expected %s; events %s rc %s; client %s; server delta %s; "
          "active %s/%s; stderr %s" % (
        sys.argv[2], d.get("events"), d.get("rc"),
        {k: c.get(k) for k in keys},
        {k: b.get(k, 0) - a.get(k, 0) for k in ("requests", "handshakes_full",
                                                "handshakes_resumed", "bytes_sent")},
        a.get("conns_active"), b.get("conns_active"), d.get("stderr", "")[:200]))
    sys.exit(1)
PY
	); then
		pass "$name"
	else
		fail "$name" "$out"
	fi
}

# start_capture PORT CONNS: a tls_capture.py relay to 127.0.0.1:PORT that
# reports CONNS connections to $TMP/cap.json; sets CAP_PID and CAP_URL
# (scheme and authority).
start_capture() {
	rm -f "$TMP/cap.port" "$TMP/cap.json"
	python3 "$HERE/tls_capture.py" --target "127.0.0.1:$1" \
		--port-file "$TMP/cap.port" --out "$TMP/cap.json" --conns "$2" \
		--timeout 30 2>"$TMP/cap.err" &
	CAP_PID=$!
	PIDS+=("$CAP_PID")
	for _ in $(seq 100); do
		[[ -s $TMP/cap.port ]] && break
		sleep 0.05
	done
	CAP_URL=https://127.0.0.1:$(cat "$TMP/cap.port")
}

# capcheck NAME PYTHON-EXPR: after the capture ended, the expression over c
# (the client's JSON), k (the captured connections), kind(x) ("full" or
# "resumed") and mean(list).
capcheck() {
	local name=$1 expr=$2 out
	wait "$CAP_PID" 2>/dev/null || true
	if out=$(python3 - "$TMP/client.json" "$TMP/cap.json" "$expr" <<'PY' 2>&1
import json, sys
try:
    c = json.loads(open(sys.argv[1]).read())
    k = json.loads(open(sys.argv[2]).read())
except Exception as e:
    print("no client JSON or capture: %s" % e)
    sys.exit(1)
kind = lambda x: "resumed" if x["resumed"] else "full"
mean = lambda l: sum(l) / len(l) if l else None
try:
    ok = eval(sys.argv[3])
except Exception as e:
    ok = False
if not ok:
    print("expected %s; client %s; capture %s" % (sys.argv[3],
          c.get("handshake_bytes"),
          [{x: y for x, y in con.items() if x != "key_shares"} for con in k]))
    sys.exit(1)
PY
	); then
		pass "$name"
	else
		fail "$name" "$out"
	fi
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
check warmup-window 'rc == 0 and c["requests_ok"] > 0 and s["requests"] > c["requests_ok"] and c["duration_s"] >= 1 and c["warmup_requests"] > 0 and c["inflight_abandoned"] == 0'

# ---- clean windows: warm-up per slot, quiesced edges, the control fd -------
# -c 1000, one request per connection, resumption on: after the warm-up
# every slot holds a ticket, so the window has no full handshake, and the
# server's counters read at rest at both edges agree exactly with the client.
WIN='d["rc"] == 0 and d["events"] == ["window-start", "window-end"] and c["requests_ok"] == N and c["window_requests_started"] == N and c["window_requests_completed"] == N and c["inflight_abandoned"] == 0 and delta("requests") == N and delta("status_200") == N and delta("bytes_sent") == c["bytes_response"]'
if [[ $SCHEME == https ]]; then
	start_server
	drive -- "$LOAD" -c 1000 -t 2 -n 2000 --close --resume ticket \
		--warmup-per-slot 1 "${TLSARGS[@]}" "$URL/20k"
	stop_server
	dcheck window-c1000-close-resumed "$(echo "$WIN" | sed "s/N/2000/g") and c[\"handshakes_full\"] == 0 and c[\"handshakes_resumed\"] == 2000 and delta(\"handshakes_full\") == 0 and delta(\"handshakes_resumed\") == 2000 and c[\"warmup_full\"] == 1000 and c[\"warmup_resumed\"] >= 1000 and c[\"slots_never_resumed\"] == 0"
else
	start_server
	drive -- "$LOAD" -c 1000 -t 2 -n 2000 --close --warmup-per-slot 1 "$URL/20k"
	stop_server
	dcheck window-c1000-close-plain "$(echo "$WIN" | sed "s/N/2000/g") and c[\"warmup_requests\"] >= 1000"
fi
# Keep-alive: the connections stay open and idle across both pauses (the
# server holds all 8 at each edge), nothing is sent while the client waits
# for "go", and the window makes no handshake.
start_server
drive --hold 0.3 -- "$LOAD" -c 8 -n 400 --warmup-per-slot 5 "${TLSARGS[@]}" "$URL/20k"
stop_server
dcheck window-keepalive-at-rest "$(echo "$WIN" | sed "s/N/400/g") and a[\"conns_active\"] == 8 and b[\"conns_active\"] == 8 and c[\"handshakes_full\"] == 0 and delta(\"handshakes_full\") == 0 and c[\"warmup_requests\"] >= 40"
# Timed window on 4 MiB bodies: requests are in flight when the time is up;
# they finish (the server counts no more than the client), none abandoned.
start_server
drive -- "$LOAD" -c 4 -d 0.5 --warmup 0.2 "${TLSARGS[@]}" "$URL/4m"
stop_server
dcheck window-timed-finishes-inflight 'd["rc"] == 0 and c["requests_ok"] > 0 and c["window_requests_started"] == c["window_requests_completed"] == c["requests_ok"] == delta("requests") and c["inflight_abandoned"] == 0 and delta("bytes_sent") == c["bytes_response"] and c["duration_s"] >= 0.5'
# Open loop: the schedule starts at "go"; every scheduled request completes.
start_server
drive -- "$LOAD" -c 10 -R 200 -d 1 --warmup-per-slot 1 "${TLSARGS[@]}" "$URL/20k"
stop_server
dcheck window-open-loop 'd["rc"] == 0 and 200 <= c["window_requests_started"] <= 201 and c["window_requests_started"] == c["window_requests_completed"] == c["requests_ok"] == delta("requests") and c["inflight_abandoned"] == 0 and c["warmup_requests"] >= 10'
# Protocol errors: a wrong answer, a closed socket.
start_server
drive --answer stop -- "$LOAD" -c 2 -n 10 "${TLSARGS[@]}" "$URL/20k"
dcheck control-wrong-answer 'd["rc"] == 1 and "expected \"go\", got \"stop\"" in c["reason"] and c["requests_ok"] == 0'
drive --answer "" -- "$LOAD" -c 2 -n 10 "${TLSARGS[@]}" "$URL/20k"
stop_server
dcheck control-closed 'd["rc"] == 1 and "closed by the caller" in c["reason"]'
if [[ $SCHEME == https ]]; then
	# A server that never resumes: the warm-up cannot end; --max-time
	# bounds it and the reason counts the slots.
	start_server --resumption none
	run_load -c 4 -n 10 --close --resume ticket --warmup-per-slot 1 --max-time 1.5 "${TLSARGS[@]}" "$URL/20k"
	stop_server
	check warmup-never-resumes 'rc == 1 and c["slots_never_resumed"] == 4 and "4 of 4 slots never resumed" in c["reason"] and c["requests_ok"] == 0 and secs < 5'
fi

# ---- bytes on the wire, against a capture of the same handshakes -----------
# Every mean the client reports per kind equals the capture's, exactly; the
# tickets are the first records after the client's Finished; every
# ClientHello, full or resumed, carries a key share never seen before.
WIRE='all(c["handshake_bytes"][t]["handshakes"] == len([x for x in k if kind(x) == t]) for t in ("full", "resumed")) and all(c["handshake_bytes"][kind(x)]["client_sent"] == mean([y["client_hs"][0] for y in k if kind(y) == kind(x)]) and c["handshake_bytes"][kind(x)]["client_records"] == mean([y["client_hs"][1] for y in k if kind(y) == kind(x)]) and c["handshake_bytes"][kind(x)]["server_sent"] == mean([y["server_hs"][0] for y in k if kind(y) == kind(x)]) and c["handshake_bytes"][kind(x)]["server_records"] == mean([y["server_hs"][1] for y in k if kind(y) == kind(x)]) and c["handshake_bytes"][kind(x)]["server_read_ahead"] == 0 and c["handshake_bytes"][kind(x)]["client_segments"] >= 1 and c["handshake_bytes"][kind(x)]["server_segments"] >= 1 for x in k)'
TICKETS='all(c["handshake_bytes"][t]["ticket_bytes"] == mean([sum(y["server_after"][:int(c["handshake_bytes"][t]["ticket_records"])]) for y in k if kind(y) == t]) for t in ("full", "resumed"))'
FRESH='all(x["key_shares"] for x in k) and len({s[1] for x in k for s in x["key_shares"]}) == sum(len(x["key_shares"]) for x in k)'
if [[ $SCHEME == https ]]; then
	for v in 1.2 1.3; do
		start_server
		start_capture "${URL##*:}" 4
		run_load -c 1 -n 4 --close --resume ticket --tls "$v" "${TLSARGS[@]}" "$CAP_URL/20k"
		stop_server
		if [[ $v == 1.3 ]]; then
			capcheck "wire-capture-tls$v" "$WIRE and $TICKETS and c[\"handshake_bytes\"][\"resumed\"][\"ticket_records\"] >= 1 and $FRESH and c[\"resumed_psk_dhe_ke\"] == 3"
		else
			capcheck "wire-capture-tls$v" "$WIRE and c[\"handshake_bytes\"][\"full\"][\"ticket_bytes\"] == 0 and c[\"handshakes_resumed\"] == 3"
		fi
	done
fi

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
	NPORT2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	# Two servers with TLS 1.3 early data: the second offers only P-256,
	# so a client whose first key share is X25519 gets a HelloRetryRequest,
	# and early data never survives one.
	cat >"$TMP/ngx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
error_log $TMP/ngx/logs/error.log warn;
pid $TMP/ngx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_early_data on;
  ssl_certificate $CERTS/ecdsa-p256.pem;
  ssl_certificate_key $CERTS/ecdsa-p256.key;
  server {
    listen 127.0.0.1:$NPORT ssl;
    root $TMP/ngx/html;
  }
  server {
    listen 127.0.0.1:$NPORT2 ssl;
    ssl_ecdh_curve prime256v1;
    root $TMP/ngx/html;
  }
}
NGX
	nginx -p "$TMP/ngx" -c "$TMP/ngx/nginx.conf" >"$TMP/ngx/out" 2>&1 &
	NGX_PID=$!
	PIDS+=("$NGX_PID")
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$NPORT") 2>/dev/null &&
			(exec 3<>"/dev/tcp/127.0.0.1/$NPORT2") 2>/dev/null && break
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
	# Early data: offered on every resumption (with Connection: close
	# nginx answers in 0.5-RTT and closes before its ticket, so the next
	# connection of the slot is a full handshake), accepted, counted once.
	run_load -c 2 -n 20 --close --resume ticket --early-data --tls 1.3 --expect-sha256 "$SHA" "${TLSARGS[@]}" "$NURL"
	check nginx-early-data-accepted 'rc == 0 and c["requests_ok"] == 20 and c["handshakes_resumed"] > 0 and c["early_offered"] == c["handshakes_resumed"] and c["early_accepted"] == c["early_offered"] and c["early_rejected"] == 0 and c["handshake_bytes"]["resumed"]["early_data_bytes"] > 0'
	# Rejected (a HelloRetryRequest each time): sent again after the
	# handshake, every request still counted once and answered.
	run_load -c 2 -n 20 --close --resume ticket --early-data --tls 1.3 --groups X25519:P-256 --expect-sha256 "$SHA" "${TLSARGS[@]}" "https://127.0.0.1:$NPORT2/20k"
	check nginx-early-data-rejected 'rc == 0 and c["requests_ok"] == 20 and c["requests_failed"] == 0 and c["handshakes_resumed"] == 18 and c["early_offered"] == 18 and c["early_rejected"] == 18 and c["early_accepted"] == 0'
	# The replay check: nginx leaves replay protection to the application
	# ($ssl_early_data), so both replays of one session are accepted.
	run_load --replay-early-data "${TLSARGS[@]}" "$NURL"
	check nginx-replay-accepted 'rc == 0 and [(a["offered"], a["resumed"], a["early_data"]) for a in c["attempts"]] == [(False, False, "not_sent"), (True, True, "accepted"), (True, True, "accepted")]'
	kill "$NGX_PID" 2>/dev/null || true
	wait "$NGX_PID" 2>/dev/null || true
else
	echo "SKIP nginx (no nginx, or a plaintext backend)"
fi
STATS=

# ---- OpenSSL >= 3.5: hybrid ML-KEM, ML-DSA, PSK modes, replay --------------
# version_at_least "OpenSSL 3.6.3 ..." 3 5
version_at_least() {
	local v
	v=$(echo "$1" | sed -n 's/^OpenSSL \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	[[ -n $v ]] && (($(echo "$v" | cut -d' ' -f1) * 100 + $(echo "$v" | cut -d' ' -f2) >= $2 * 100 + $3))
}
if [[ -z $TUNED ]]; then
	echo "SKIP openssl-3.5-cases (no TUNED_DIR: a build against OpenSSL >= 3.5)"
elif [[ $SCHEME != https ]]; then
	echo "SKIP openssl-3.5-cases (a plaintext backend)"
else
	TLIB=$("$TUNED/tlsbench-server" --version | sed -n 's/^library_dir: *//p')
	OSSL=$(dirname "$TLIB")/bin/openssl
	TCLIENT=$("$TUNED/tlsbench-load" --version | sed -n 's/^client_library: *//p')
	if ! version_at_least "$("$OSSL" version 2>/dev/null)" 3 5; then
		fail openssl-3.5-cases "$OSSL is not OpenSSL >= 3.5 (TUNED_DIR=$TUNED)"
	fi
	# A minimal config: the prefix may ship none, and nothing outside
	# may change what these commands do.
	printf '[req]\ndistinguished_name = dn\n[dn]\n' >"$TMP/min.cnf"

	# The 3.5+ client offers a hybrid group to the tuned server: every
	# ClientHello, resumed ones too, carries a fresh key share of it.
	if version_at_least "$TCLIENT" 3 5; then
		SAVED=("$SERVER" "$LOAD")
		SERVER=$TUNED/tlsbench-server
		LOAD=$TUNED/tlsbench-load
		for g in X25519MLKEM768:4588:1216 SecP256r1MLKEM768:4587:1249; do
			IFS=: read -r name code len <<<"$g"
			start_server --groups X25519MLKEM768:SecP256r1MLKEM768:X25519
			start_capture "${URL##*:}" 4
			run_load -c 1 -n 4 --close --resume ticket --groups "$name" "${TLSARGS[@]}" "$CAP_URL/20k"
			stop_server
			capcheck "hybrid-$name" "c[\"negotiated\"][\"group\"] == \"$name\" and c[\"requests_ok\"] == 4 and c[\"handshakes_resumed\"] == 3 and $WIRE and $FRESH and all(s[0] == $code and len(s[1]) == 2 * $len for x in k for s in x[\"key_shares\"])"
		done
		# An ML-DSA certificate chain, verified by the 3.5+ client.
		(cd "$TMP" && export OPENSSL_CONF=$TMP/min.cnf &&
			"$OSSL" req -x509 -newkey ML-DSA-65 -nodes -days 2 -subj /CN=mldsa-ca -keyout mldsa-ca.key -out mldsa-ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign &&
			"$OSSL" req -newkey ML-DSA-65 -nodes -subj /CN=localhost -keyout mldsa.key -out mldsa.csr &&
			printf 'subjectAltName=IP:127.0.0.1\nkeyUsage=digitalSignature\n' >mldsa.ext &&
			"$OSSL" x509 -req -in mldsa.csr -CA mldsa-ca.pem -CAkey mldsa-ca.key -days 2 -extfile mldsa.ext -out mldsa.pem) >"$TMP/mldsa.log" 2>&1
		SRV_CERT=$TMP/mldsa.pem SRV_KEY=$TMP/mldsa.key start_server
		run_load -c 2 -n 10 --cacert "$TMP/mldsa-ca.pem" "$URL/20k"
		stop_server
		check mldsa-certificate 'rc == 0 and c["requests_ok"] == 10 and c["negotiated"]["sigalg"] == "mldsa65" and s["handshakes_full"] == 2'
		SERVER=${SAVED[0]}
		LOAD=${SAVED[1]}
	else
		echo "SKIP hybrid-groups, mldsa-certificate ($TUNED/tlsbench-load has $TCLIENT: build it with -Dload_openssl_prefix)"
	fi

	# -cert_chain: the leaf file holds its intermediate too, which s_server
	# sends only from -cert_chain (certs.sh issues leaves from intermediates).
	# s_server of the same prefix answers GET /r with the file r (a whole
	# response), one connection at a time: the PSK modes it picks
	# (psk_ke when offered), early data, and replay protection (tickets
	# are single-use there).
	mkdir -p "$TMP/ss"
	printf 'HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello' >"$TMP/ss/r"
	SPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	(cd "$TMP/ss" && OPENSSL_CONF=$TMP/min.cnf exec "$OSSL" s_server -quiet -accept "127.0.0.1:$SPORT" -cert "$CERTS/ecdsa-p256.pem" -cert_chain "$CERTS/ecdsa-p256.pem" -key "$CERTS/ecdsa-p256.key" -HTTP -early_data -allow_no_dhe_kex -prefer_no_dhe_kex) >"$TMP/ss.out" 2>&1 &
	SS_PID=$!
	PIDS+=("$SS_PID")
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$SPORT") 2>/dev/null && break
		sleep 0.05
	done
	STATS=
	SURL=https://127.0.0.1:$SPORT/r
	run_load -c 1 -n 6 --close --resume ticket --psk-mode dhe "${TLSARGS[@]}" "$SURL"
	check psk-mode-dhe 'rc == 0 and c["handshakes_resumed"] == 5 and c["resumed_psk_dhe_ke"] == 5 and c["resumed_psk_ke"] == 0 and c["psk_mode"] == "dhe"'
	start_capture "$SPORT" 6
	run_load -c 1 -n 6 --close --resume ticket --psk-mode both "${TLSARGS[@]}" "$CAP_URL/r"
	capcheck psk-mode-both-server-prefers-ke 'c["handshakes_resumed"] == 5 and c["resumed_psk_ke"] == 5 and c["resumed_psk_dhe_ke"] == 0 and [x["sh_key_share"] for x in k if x["resumed"]] == [False] * 5 and c["handshake_bytes"]["resumed"]["server_sent"] == mean([x["server_hs"][0] for x in k if x["resumed"]])'
	run_load -c 1 -n 6 --close --resume ticket --early-data "${TLSARGS[@]}" "$SURL"
	check s_server-early-data 'rc == 0 and c["requests_ok"] == 6 and c["early_offered"] == 5 and c["early_accepted"] == 5 and c["early_rejected"] == 0'
	run_load --replay-early-data "${TLSARGS[@]}" "$SURL"
	check s_server-replay-refused 'rc == 0 and [(a["offered"], a["resumed"], a["early_data"], a["status"]) for a in c["attempts"]] == [(False, False, "not_sent", 200), (True, True, "accepted", 200), (True, False, "rejected", 200)]'
	kill "$SS_PID" 2>/dev/null || true
	wait "$SS_PID" 2>/dev/null || true
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
USAGE=(
	"-c 0 -n 1 $URL/"
	"-n 1 -d 1 $URL/"
	"-n 1 ftp://127.0.0.1/"
	"-n 1 --control-fd 99 $URL/"
	"-n 1 --warmup-per-slot x $URL/"
	"-n 1 --early-data https://127.0.0.1:1/"
	"-n 1 --resume ticket --psk-mode ke https://127.0.0.1:1/"
	"-n 1 --psk-mode both https://127.0.0.1:1/"
)
codes=
for args in "${USAGE[@]}"; do
	set +e
	# shellcheck disable=SC2086 # each entry is a word list
	"$LOAD" $args >/dev/null 2>&1 99>&-
	codes+=" $?"
	set -e
done
if [[ $codes == " 2 2 2 2 2 2 2 2" ]]; then
	pass usage-errors
else
	fail usage-errors "exit codes$codes, want 2 for each of: ${USAGE[*]}"
fi

if [[ $FAILS -gt 0 ]]; then
	echo "test_load.sh: $FAILS case(s) failed" >&2
	exit 1
fi
