#!/usr/bin/env bash
# test_matrix.sh: suite/run_matrix.sh end to end, as a specification.
#
# A quick-profile run whose CSV must match the schema documented in
# results/README.md and hold ok rows for every backend and both reference
# servers; an injected failing cell (a certificate that does not exist)
# must become an error row while the run goes on; a run killed with SIGKILL
# must leave no server behind and `--resume` must complete it without
# duplicating rows; a server that crashes mid-window must become an error
# row naming the crash while the run goes on; a full disk (a tiny tmpfs,
# root only) must stop the run with a one-line error and leave a CSV of
# whole rows that `--resume` completes.  About 2.5 minutes on 2 cores.
# (tests/suite/test_protocol.sh checks the blocks, the window rules and
# --verify.)
set -euo pipefail

usage() {
	cat <<'EOF'
usage: tests/suite/test_matrix.sh [--no-build] [BUILD_ROOT]

Runs suite/run_matrix.sh (builds missing backends under BUILD_ROOT, default
build/; --no-build: use the builds as they are) into a temporary results
directory and checks what it writes.
Prints PASS/FAIL lines and `N passed, N failed`; exit 1 if any failed.
EOF
}
# shellcheck source=tests/suite/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
test_args matrix "$@"
export TMPDIR=$out/tmp   # the runner's per-cell directories: findable below
mkdir -p "$TMPDIR"
runner_pid=
mounted=
cleanup() {
	if [[ -n $runner_pid ]]; then kill -KILL "$runner_pid" 2>/dev/null || true; fi
	if [[ -n $mounted ]]; then umount "$mounted" || umount -l "$mounted" || true; fi
	rm -rf "$out"
}
trap cleanup EXIT


run() {
	"$root/suite/run_matrix.sh" --results "$out/results" \
		--build-root "$build" "${no_build[@]}" "$@"
}
cells() { # cells ARGS...: the cell count --list prints
	"$root/suite/run_matrix.sh" --list "$@" | tail -1 | awk '{print $1}'
}

# ---- the entry points' help ------------------------------------------
for entry in suite/run_matrix.sh suite/report suite/compare suite/site \
	suite/cost/run_cost.sh suite/memory/run_memory.sh suite/stress.sh; do
	check "$entry --help exits 0 and says how to use it" bash -c \
		"'$root/$entry' --help | grep -qi '^usage'"
done

# ---- matrix expansion (nothing runs) --------------------------------
check "quick profile lists 17 cells, the reference among them" \
	test "$(cells --profile quick)" = 17
check "plaintext collapses TLS version and certificate into one cell (plus the reference)" \
	test "$(cells --profile quick --only server=tlsbench \
		--only backend=none)" = 3
rc=0
"$root/suite/run_matrix.sh" --list --profile quick --only server=asyncio \
	--only mode=resumed --only resumption=none >/dev/null 2>&1 || rc=$?
check "a matrix with no runnable cell is a usage error" test "$rc" = 2
check "an unknown axis value is a usage error naming the choices" bash -c \
	"'$root/suite/run_matrix.sh' --profile quick --only backend=gnutls \
	--list 2>&1 | grep -q 'use one of openssl'"

# ---- a quick run ------------------------------------------------------
start=$SECONDS
rc=0
run --profile quick --run-id quick >"$out/quick.out" 2>"$out/quick.err" ||
	rc=$?
csv=$out/results/quick.csv
check "quick run finishes with every row ok (exit 0) in $((SECONDS - start))s" \
	bash -c "[[ $rc == 0 ]] || { grep -v '^\[' '$out/quick.err' | tail -3;
	grep -c ',error,' '$csv'; exit 1; }"

check "CSV header is exactly the columns documented in results/README.md" py "$root" "$csv" <<'EOF'
import csv, re, sys
root, path = sys.argv[1:]
doc = open(root + '/results/README.md').read().split('## Columns', 1)[1]
doc = doc.split('\n## ', 1)[0]
cols = re.findall(r'^\| `([a-z0-9_]+)` \|', doc, re.M)
header = next(csv.reader(open(path)))
if header != cols:
    sys.exit('header %s\nREADME %s' % (header, cols))
EOF

check "every row has as many fields as the header, and a known status" py "$csv" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
bad = [i for i, r in enumerate(rows) if len(r) != len(rows[0])]
st = {r[rows[0].index('status')] for r in rows[1:]}
if bad or not st <= {'ok', 'error', 'refused'} or len(rows) < 2:
    sys.exit('bad rows %s statuses %s' % (bad[:5], st))
EOF

check "every backend and both reference servers produced ok rows with figures" py "$csv" "$(tb_backends)" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
seen = {(r['server'], r['backend']) for r in rows if r['status'] == 'ok'
        and float(r['rps'] or 0) > 0 and r['server_us_per_req']}
want = {('tlsbench', b) for b in sys.argv[2].split()}
want |= {('nginx', '-'), ('asyncio', '-')}
if want - seen:
    sys.exit('missing %s' % sorted(want - seen))
EOF

check "resumed rows count resumed handshakes (server counters; nginx: its access log)" py "$csv" <<'EOF'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r['mode'] == 'resumed'
        and r['status'] == 'ok']
source = {'nginx': 'server-log'}
bad = [(r['server'], r['backend'], r['tls_version'], r['handshakes_resumed'])
       for r in rows
       if int(r['handshakes_resumed']) <= int(r['handshakes_full'])
       or r['handshakes_source'] != source.get(r['server'], 'server')]
if not rows or bad:
    sys.exit('resumed rows without resumption: %s' % bad)
EOF

check "the report and its charts exist" bash -c \
	"test -s '$out/results/quick/report.md' &&
	ls '$out/results/quick/'*.svg >/dev/null &&
	grep -q 'report: ' '$out/quick.out'"

# ---- an injected failing cell -----------------------------------------
rc=0
run --profile quick --run-id inject --set min_blocks=1 --set max_blocks=1 \
	--only server=tlsbench,asyncio,nginx --only backend=openssl \
	--only tls=1.3 --only mode=full --only cert=missing,ecdsa-p256 \
	--no-report >"$out/inject.out" 2>"$out/inject.err" || rc=$?
check "a run with an error row exits 1" test "$rc" = 1
check "the missing certificate makes an error row with a reason, per server; the run goes on" \
	py "$out/results/inject.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
err = [r for r in rows if r['cert'] == 'missing']
ok = [r for r in rows if r['cert'] == 'ecdsa-p256']
if len(err) != 3 or any(r['status'] != 'error' or not r['reason'] for r in err):
    sys.exit('error rows: %s' % [(r['server'], r['status'], r['reason']) for r in err])
if len(ok) != 3 or any(r['status'] != 'ok' for r in ok):
    sys.exit('later cells: %s' % [(r['server'], r['status'], r['reason']) for r in ok])
EOF

# ---- kill a run, then --resume it --------------------------------------
args=(--profile quick --run-id killed --set min_blocks=2 --set max_blocks=2
	--only server=tlsbench --only backend=openssl,none --no-report)
total=$((2 * $(cells "${args[@]}")))
# started directly (not through run()) so $! is the runner itself: the bash
# entry point execs python, and SIGKILL gives it no chance to clean up
"$root/suite/run_matrix.sh" --results "$out/results" --build-root "$build" \
	"${no_build[@]}" "${args[@]}" >"$out/killed.out" 2>"$out/killed.err" &
runner_pid=$!
csv=$out/results/killed.csv
for _ in $(seq 1 600); do
	if [[ -f $csv ]] && (($(wc -l <"$csv") >= 4)); then break; fi
	sleep 0.1
done
kill -KILL "$runner_pid" 2>/dev/null || true
wait "$runner_pid" 2>/dev/null || true
runner_pid=
# The server and load generator die with the runner (PDEATHSIG); a server
# stopping gracefully on a loaded machine may take a few seconds.
for _ in $(seq 1 150); do
	pgrep -f "tlsbench-(server|load).*$TMPDIR" >/dev/null || break
	sleep 0.1
done
before=$(($(wc -l <"$csv") - 1))
check "the killed run left $before of $total rows and no server running" bash -c \
	"(($before >= 3 && $before < $total)) &&
	! pgrep -f 'tlsbench-(server|load).*$TMPDIR' >/dev/null"
rc=0
run --resume killed >"$out/resume.out" 2>"$out/resume.err" || rc=$?
check "--resume completes the run (exit 0)" bash -c \
	"[[ $rc == 0 ]] || { tail -3 '$out/resume.err'; exit 1; }"
check "--resume wrote each missing cell x block once: $total rows, no duplicates" \
	py "$csv" "$total" <<'EOF'
import collections, csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
keys = collections.Counter((r['cell'], r['repeat']) for r in rows)
dups = [k for k, n in keys.items() if n > 1]
if len(rows) != int(sys.argv[2]) or dups:
    sys.exit('%d rows (want %s), duplicates %s' % (len(rows), sys.argv[2], dups[:3]))
EOF

# ---- a server that crashes mid-window -----------------------------------
# A build root whose openssl tlsbench-server execs the real one and is
# SIGKILLed 0.8 s after it prints `listening` (inside the window); the
# other build, the load generator, certificates and bodies are the real
# ones (the quick run above made them).
crash=$out/crashroot
mkdir -p "$crash/openssl" "$crash/none"
ln -s "$build/certs" "$crash/certs"
ln -s "$build/bodies" "$crash/bodies"
ln -s "$build/openssl/tlsbench-load" "$crash/openssl/tlsbench-load"
ln -s "$build/openssl/tlsbench-canary" "$crash/openssl/tlsbench-canary"
ln -s "$build/none/tlsbench-server" "$crash/none/tlsbench-server"
cat >"$crash/openssl/tlsbench-server" <<WRAPPER
#!/bin/bash
real='$build/openssl/tlsbench-server'
case " \$* " in *' --listen '*) ;; *) exec "\$real" "\$@" ;; esac
( for _ in \$(seq 1 400); do
	grep -q '^listening ' /proc/\$\$/fd/1 2>/dev/null && break
	sleep 0.05
done; sleep 0.8; kill -KILL \$\$ ) </dev/null &
exec "\$real" "\$@"
WRAPPER
chmod +x "$crash/openssl/tlsbench-server"
cat >"$out/crash.matrix" <<'MATRIX'
min_blocks = 1
max_blocks = 1
requests = 2000
warmup = 0.2
client = system
server = tlsbench
tls = 1.3
cert = ecdsa-p256
mode = keepalive
concurrency = 2
body = 20k
workers = 1
[before]
backend = none
[crash]
backend = openssl
requests = 200000
[after]
backend = none
concurrency = 4
MATRIX
rc=0
"$root/suite/run_matrix.sh" --results "$out/results" --build-root "$crash" \
	--no-build --matrix "$out/crash.matrix" --run-id crash --no-report \
	>"$out/crash.out" 2>"$out/crash.err" || rc=$?
check "a run with a crashed server exits 1" bash -c \
	"[[ $rc == 1 ]] || { echo exit $rc; tail -3 '$out/crash.err'; exit 1; }"
check "the crashed cell is an error row naming the crash; the cells around it are ok" \
	py "$out/results/crash.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
got = sorted((r['backend'], r['concurrency'], r['status'], r['reason'][:150])
             for r in rows)
want = [('none', '2', 'ok'), ('none', '4', 'ok'), ('openssl', '2', 'error')]
if [g[:3] for g in got] != want or 'killed by SIGKILL' not in got[2][3]:
    sys.exit('rows %s' % got)
EOF
sleep 0.5
check "the crashed run left no server or load generator running" bash -c \
	"! pgrep -f 'tlsbench-(server|load).*$TMPDIR' >/dev/null"

# ---- a full disk --------------------------------------------------------
# The results directory is a 64 KiB tmpfs filled up to three pages: one for
# run.json, two for the CSV (a header and a few rows); the row that does not
# fit is cut short by the kernel and must not stay in the file.
disk=$out/disk
mkdir -p "$disk"
if ((EUID != 0)); then
	echo "SKIP: full disk (needs root to mount a tmpfs)"
elif ! mount -t tmpfs -o size=64k tmpfs "$disk" 2>"$out/mount.err"; then
	echo "SKIP: full disk (mount -t tmpfs failed: $(head -1 "$out/mount.err"))"
else
	mounted=$disk
	avail=$(df -B1 --output=avail "$disk" | tail -1)
	head -c $((avail - 3 * 4096)) /dev/zero >"$disk/filler"
	cat >"$out/disk.matrix" <<'MATRIX'
min_blocks = 12
max_blocks = 12
requests = 200
warmup = 0
client = system
server = tlsbench
backend = none
mode = keepalive
concurrency = 1
body = 20k
workers = 1
MATRIX
	dargs=(--results "$disk" --build-root "$build" --no-build --no-report)
	rc=0
	"$root/suite/run_matrix.sh" "${dargs[@]}" --run-id disk \
		--matrix "$out/disk.matrix" >"$out/disk.out" 2>"$out/disk.err" ||
		rc=$?
	cp "$disk/disk.csv" "$out/disk.csv" 2>/dev/null || true
	check "a full disk stops the run (exit 1) with one line naming the disk" \
		bash -c "[[ $rc == 1 ]] && ! grep -q Traceback '$out/disk.err' &&
		tail -1 '$out/disk.err' | grep -qF 'run_matrix: cannot write a row to $disk/disk.csv: No space left on device (the filesystem holding $disk has' ||
		{ echo exit $rc; tail -2 '$out/disk.err'; exit 1; }"
	check "the CSV left on the full disk holds whole rows only, every finished one" \
		py "$out/disk.csv" "$out/disk.err" <<'EOF'
import csv, sys
data = open(sys.argv[1], 'rb').read()
rows = list(csv.reader(data.decode().splitlines()))
done = sum(1 for l in open(sys.argv[2]) if l.startswith('['))
bad = [i for i, r in enumerate(rows) if len(r) != len(rows[0])]
st = {r[rows[0].index('status')] for r in rows[1:]}
if not data.endswith(b'\n') or bad or st != {'ok'} or \
        not 1 <= len(rows) - 1 == done < 12:
    sys.exit('%d rows, %d finished, bad %s, statuses %s, ends %r' % (
        len(rows) - 1, done, bad, st, data[-20:]))
EOF
	rm -f "$disk/filler"
	rc=0
	"$root/suite/run_matrix.sh" "${dargs[@]}" --resume disk \
		>"$out/disk-resume.out" 2>"$out/disk-resume.err" || rc=$?
	check "after freeing space --resume completes the run: 12 rows" bash -c \
		"[[ $rc == 0 ]] && (( \$(wc -l <'$disk/disk.csv') == 13 )) ||
		{ echo exit $rc; tail -2 '$out/disk-resume.err'; exit 1; }"
fi

finish
