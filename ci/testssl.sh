#!/usr/bin/env bash
# testssl.sh: scan each TLS backend's default configuration with Debian's
# testssl.sh and judge its protocols, cipher categories and vulnerabilities.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: ci/testssl.sh [--backend B]... [--full] [--prefix build/] [--certs DIR]
                     [--server-arg ARG]... [--out DIR]

For each TLS backend (default: every backend but none) this starts
build/<b>/tlsbench-server with its DEFAULT settings (certificate rsa2048
from build/certs) on 127.0.0.1:0 and runs
  testssl --quiet --warnings off --color 0 --fast --ip 127.0.0.1 -p -s -U
          --jsonfile build/testssl/<b>.json --logfile build/testssl/<b>.log
(protocols, standard cipher categories, vulnerabilities; --full adds -f
forward secrecy and drops --fast: several times slower), then judges the
JSON:
  protocols        SSLv2, SSLv3, TLS 1.0 and TLS 1.1 are "not offered"
  weak ciphers     the NULL, aNULL, EXPORT, LOW and 3DES/IDEA categories are
                   "not offered", and no cipher finding is rated MEDIUM,
                   HIGH or CRITICAL by testssl.  CBC suites (testssl 3.0's
                   "AVERAGE", LOW) are listed as a note, not judged here:
                   LUCKY13 below judges them
  vulnerabilities  every check of -U is OK or INFO: a "potentially
                   vulnerable" LOW (LUCKY13: CBC suites offered) fails too
  anything else    any finding rated MEDIUM or above fails
The JSON and the log stay in build/testssl/ (CI artifacts).  Runtime is
one to several minutes per backend (testssl runs thousands of openssl
handshakes; slower on a busy machine).

Output: one `PASS testssl:<b>:<check>` / `FAIL ...` line per check
(protocols, ciphers, vulnerabilities, severity), `N passed, N failed`.

  --backend B      a backend (repeatable; none has no TLS and is refused)
  --full           all cipher checks without --fast, plus -f
  --server-arg A   pass A to the server (repeatable), e.g. to try a cipher
                   list: --server-arg --ciphers --server-arg LIST
  --prefix P       build directories are P<b> (default build/)
  --certs DIR      certificates (default build/certs)
  --out DIR        where the JSON and log go (default build/testssl)
  --help           this text
EOF
}

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TB_ROOT"

FULL=0
SERVER_ARGS=()
OUT=build/testssl

while (($#)); do
	case "$1" in
	--help | -h)
		usage
		exit 0
		;;
	--full) FULL=1 ;;
	--server-arg)
		tb_need_arg "$1" $#
		SERVER_ARGS+=("$2")
		shift
		;;
	--out)
		tb_need_arg "$1" $#
		OUT=$2
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
((${#BACKENDS[@]})) || read -ra BACKENDS <<<"$(tb_tls_backends)"
for b in "${BACKENDS[@]}"; do
	tb_one_of "$b" "$(tb_tls_backends)" ||
		tb_die "--backend $b: only $(tb_tls_backends) speak TLS"
done
PREFIX=$TB_PREFIX
CERTS=$TB_CERTS
command -v testssl >/dev/null ||
	tb_die "testssl not found: apt-get install testssl.sh"
tb_certs "$CERTS"

CHECKS=(-p -s -U --fast)
((FULL)) && CHECKS=(-p -s -f -U)

SERVER_PID=""
TMP=$(mktemp -d)
cleanup() {
	if [[ -n $SERVER_PID ]]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# judge JSON BACKEND: PASS/FAIL lines for one scan.
judge() {
	"$TB_PY" - "$1" "$2" <<'EOF'
import json
import sys

path, backend = sys.argv[1], sys.argv[2]
with open(path) as f:
    findings = json.load(f)
if isinstance(findings, dict):  # --json-pretty layout
    findings = [x for s in findings.get("scanResult", [{}])
                for v in s.values() if isinstance(v, list) for x in v]
by_id = {f["id"]: f for f in findings}
RANK = {"OK": 0, "INFO": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3,
        "CRITICAL": 4, "WARN": 0, "DEBUG": 0}
VULNS = ["heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego",
         "secure_client_renego", "CRIME_TLS", "BREACH", "POODLE_SSL",
         "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST",
         "LUCKY13", "RC4"]


def line(ok, check, why):
    print(f"{'PASS' if ok else 'FAIL'} testssl:{backend}:{check}"
          + (f"  ({why})" if why else ""))
    return ok


def show(f):
    return f"{f['id']} [{f['severity']}] {f['finding'][:80]}"


bad = []
for p in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    f = by_id.get(p)
    if f is None:
        bad.append(f"{p}: not tested")
    elif "not offered" not in f["finding"]:
        bad.append(show(f))
line(not bad, "protocols",
     "; ".join(bad) if bad else
     "nothing below TLS 1.2; " + ", ".join(
         f"{p} {by_id.get(p, {}).get('finding', '?')}"
         for p in ("TLS1_2", "TLS1_3")))

bad = []
for c in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT",
          "cipherlist_LOW", "cipherlist_3DES_IDEA"):
    f = by_id.get(c)
    if f is None:
        bad.append(f"{c}: not tested")
    elif "not offered" not in f["finding"] or RANK.get(f["severity"], 0) >= 2:
        bad.append(show(f))
bad += [show(f) for f in findings if f["id"].startswith("cipher")
        and RANK.get(f["severity"], 0) >= 2 and show(f) not in bad]
notes = [show(f) for f in findings if f["id"].startswith("cipherlist_")
         and f["severity"] == "LOW"]
line(not bad, "ciphers", "; ".join(bad) if bad else
     "no NULL/aNULL/EXPORT/LOW/3DES" +
     (f"; note: {'; '.join(notes)}" if notes else ""))

bad = []
for v in VULNS:
    f = by_id.get(v)
    if f is None:
        continue  # not applicable to this scan (e.g. no TLS 1.2 CBC)
    if RANK.get(f["severity"], 0) >= 1:
        bad.append(show(f))
tested = sum(1 for v in VULNS if v in by_id)
line(not bad and tested >= 10, "vulnerabilities",
     "; ".join(bad) if bad else f"{tested} checks OK"
     if tested >= 10 else f"only {tested} vulnerability checks ran")

bad = [show(f) for f in findings if RANK.get(f["severity"], 0) >= 2]
problems = [show(f) for f in findings if f["severity"] == "WARN"
            or f["id"] in ("scanProblem", "engine_problem")]
line(not bad, "severity", "; ".join(bad) if bad else
     "no MEDIUM/HIGH/CRITICAL finding" +
     (f"; scan warnings: {'; '.join(problems)}" if problems else ""))
EOF
}

passed=0
failed=0
mkdir -p "$OUT"
for b in "${BACKENDS[@]}"; do
	if ! bin=$(tb_server "$PREFIX" "$b" 2>&1); then
		echo "FAIL testssl:$b ($bin)"
		failed=$((failed + 1))
		continue
	fi
	# the output file exists before the server starts: the wait below
	# reads it at once, while the shell may not have opened it yet
	: >"$TMP/$b.out"
	"$bin" --cert "$CERTS/rsa2048.pem" --key "$CERTS/rsa2048.key" \
		--listen 127.0.0.1:0 "${SERVER_ARGS[@]}" >>"$TMP/$b.out" 2>&1 &
	SERVER_PID=$!
	port=""
	for _ in $(seq 100); do
		port=$(sed -nE 's|^listening https://127\.0\.0\.1:([0-9]+)$|\1|p' \
			"$TMP/$b.out")
		[[ -n $port ]] && break
		sleep 0.1
	done
	if [[ -z $port ]]; then
		echo "FAIL testssl:$b (server did not start: $(head -c 300 "$TMP/$b.out"))"
		failed=$((failed + 1))
		continue
	fi
	rm -f "$OUT/$b.json" "$OUT/$b.log"
	t0=$SECONDS
	echo "== testssl:$b on 127.0.0.1:$port (${CHECKS[*]}; ${SERVER_ARGS[*]:-default settings})"
	set +e
	# testssl's own hang guards, and an outer bound for the whole scan.
	timeout --kill-after=10 1200 testssl --quiet --warnings off --color 0 \
		--ip 127.0.0.1 --connect-timeout 10 --openssl-timeout 10 \
		"${CHECKS[@]}" --jsonfile "$OUT/$b.json" \
		--logfile "$OUT/$b.log" "127.0.0.1:$port" >/dev/null 2>&1
	rc=$?
	set -e
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
	echo "   scan took $((SECONDS - t0))s (testssl exit $rc)"
	if [[ ! -s $OUT/$b.json ]]; then
		echo "FAIL testssl:$b (no JSON report; see $OUT/$b.log)"
		failed=$((failed + 1))
		continue
	fi
	judge "$OUT/$b.json" "$b" >"$TMP/$b.judge"
	cat "$TMP/$b.judge"
	passed=$((passed + $(grep -c '^PASS ' "$TMP/$b.judge" || true)))
	failed=$((failed + $(grep -c '^FAIL ' "$TMP/$b.judge" || true)))
done
echo "$passed passed, $failed failed"
((failed == 0))
