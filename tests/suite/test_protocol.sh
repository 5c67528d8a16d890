#!/usr/bin/env bash
# test_protocol.sh: the measurement protocol end to end, with real servers.
#
# The window rules: a resumed cell whose server resumes nothing (a test-only
# override, test_server_resumption = none) becomes an error row naming the
# full handshakes it saw, and a cell the server's library refuses at
# start-up (X25519MLKEM768 with Debian's OpenSSL 3.0) a `refused` row with
# the library's line.  The new handshakes: a pq run (one tuned library and
# nginx, X25519 and X25519MLKEM768) whose rows carry the hybrid's key
# shares on the wire, its crypto floor, and nginx's refusal; a bulk run
# with one suite pinned on BoringSSL, nginx and asyncio, each negotiating
# it.  Resumption modes: 0-RTT counted at both ends, the refusals of
# psk_ke and 0-RTT, two workers with session IDs expecting half their
# handshakes full.  Open-loop levels at fractions of the capacity measured
# in block 1, and their report section.  Blocks: a three-cell run in six
# blocks writes every cell once per block in its seed's order, the
# reference marked, ratios paired, cells.csv and comparisons.csv;
# `--verify` re-measures it and finds it reproduced (exit 0); with the
# committed intervals moved away from the truth it finds it not reproduced
# (exit 1).  About 2.5 minutes on 2 cores.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: tests/suite/test_protocol.sh [--no-build] [BUILD_ROOT]

Runs suite/run_matrix.sh (builds missing backends under BUILD_ROOT, default
build/; --no-build: use the builds as they are) on small matrices into a
temporary results directory and checks the rows, the per-cell summary and
--verify.  Prints PASS/FAIL lines and `N passed, N failed`; exit 1 if any
failed.
EOF
}
# shellcheck source=tests/suite/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
test_args protocol "$@"
export TMPDIR=$out/tmp
mkdir -p "$TMPDIR"
trap 'rm -rf "$out"' EXIT


# expect WANT NAME ARGS...: suite/run_matrix.sh ARGS (output in
# $out/NAME.out and .err) must exit WANT
expect() {
	local want=$1 name=$2 rc=0
	shift 2
	"$root/suite/run_matrix.sh" --results "$out/results" \
		--build-root "$build" "${no_build[@]}" --no-report "$@" \
		>"$out/$name.out" 2>"$out/$name.err" || rc=$?
	[[ $rc == "$want" ]] ||
		{ echo "exit $rc, want $want"; tail -3 "$out/$name.err"; return 1; }
}

# ---- the window rules ---------------------------------------------------
cat >"$out/rules.matrix" <<'MATRIX'
min_blocks = 1
max_blocks = 1
requests = 300
warmup = 0.2
reference = server=tlsbench backend=openssl tls=1.3 cert=ecdsa-p256 mode=full concurrency=10
server = tlsbench
backend = openssl
tls = 1.3
cert = ecdsa-p256
concurrency = 10
[resumed-without-resumption]
mode = resumed
test_server_resumption = none
[pq-on-openssl-3.0]
mode = full
group = X25519MLKEM768
MATRIX
check "a run with an error row exits 1" \
	expect 1 rules --matrix "$out/rules.matrix" --run-id rules
check "a resumed window full of full handshakes is an error row naming them; refused is its own status" \
	py "$out/results/rules.csv" <<'EOF'
import csv, sys
rows = {r['mode'] + ':' + r['group']: r for r in csv.DictReader(open(sys.argv[1]))}
res, pq, ref = rows['resumed:-'], rows['full:X25519MLKEM768'], rows['full:-']
want = 'a resumed window with %s full handshakes of %s' % (
    res['handshakes_full'], res['handshakes_full'])
if res['status'] != 'error' or want not in res['reason'] or \
        res['handshakes_resumed'] != '0':
    sys.exit('resumed row: %s %s' % (res['status'], res['reason']))
if pq['status'] != 'refused' or 'has no X25519MLKEM768' not in pq['reason']:
    sys.exit('pq row: %s %s' % (pq['status'], pq['reason']))
if ref['status'] != 'ok' or ref['is_reference'] != 'yes':
    sys.exit('reference row: %s %s' % (ref['status'], ref['reason']))
EOF

# ---- the new handshakes: pq groups, bytes on the wire, suites, bulk -----
# The pq profile with one tuned library and nginx, X25519 and
# X25519MLKEM768: the hybrid's key shares on the wire, its floor, nginx's
# refusal; then the ciphers profile's bulk cells with one suite on
# BoringSSL (which cannot pin it: the client's pin decides), nginx and
# asyncio.  About 30 s.
check "pq: one tuned library and nginx, two groups, one block (exit 0)" \
	expect 0 pq --profile pq --only server=tlsbench,nginx \
	--only lib=openssl@3.6-tuned --only group=X25519,X25519MLKEM768 \
	--only concurrency=10 --set requests=300 --set warmup=0.2 \
	--set min_blocks=1 --set max_blocks=1 --run-id pq
check "pq: the hybrid's key shares on the wire, its floor, nginx refusing it" \
	py "$out/results/pq.csv" <<'EOF'
import csv, sys
from tbsuite import results
rows = {(r['server'], r['group'], r['mode'], r['concurrency']): r
    for r in csv.DictReader(open(sys.argv[1]))}
def get(server, group, mode, conc='10'):
    return rows[(server, group, mode, conc)]
for (server, group, mode, conc), r in rows.items():
    want = 'refused' if server == 'nginx' and group != 'X25519' else 'ok'
    if r['status'] != want:
        sys.exit('%s %s %s: %s %s' % (server, group, mode, r['status'],
            r['reason']))
    if want == 'ok' and not all(r[c] for c in results.WIRE_COLUMNS):
        sys.exit('%s %s %s: bytes missing' % (server, group, mode))
refused = get('nginx', 'X25519MLKEM768', 'full')['reason']
if "nginx's OpenSSL has no X25519MLKEM768 (nginx: " not in refused:
    sys.exit('nginx: %s' % refused)
for mode in ('full', 'resumed'):
    x, pq = get('tlsbench', 'X25519', mode), get('tlsbench',
        'X25519MLKEM768', mode)
    # ML-KEM-768: an encapsulation key of 1184 bytes from the client, a
    # ciphertext of 1088 from the server, besides X25519's shares
    up = float(pq['hs_client_bytes']) - float(x['hs_client_bytes'])
    down = float(pq['hs_server_bytes']) - float(x['hs_server_bytes'])
    if not (1184 - 32 <= up <= 1184 + 32 and 1088 - 16 <= down <= 1088 + 16):
        sys.exit('%s: %+.0f bytes up, %+.0f down' % (mode, up, down))
# full cells issue no tickets, nginx's neither; resumed ones do
for server in ('tlsbench', 'nginx'):
    if float(get(server, 'X25519', 'full')['hs_ticket_bytes']) != 0 or \
            float(get(server, 'X25519', 'resumed')['hs_ticket_bytes']) <= 0:
        sys.exit('%s ticket bytes' % server)
pq = get('tlsbench', 'X25519MLKEM768', 'full')
if pq['floor_group'] != 'X25519MLKEM768' or not float(pq['floor_kex_us']) > 0:
    sys.exit('floor %s %s' % (pq['floor_group'], pq['floor_kex_us']))
# nginx's floor: the openssl backend's Debian build, built for it
ng = get('nginx', 'X25519', 'full')
if ng['floor_group'] != 'X25519' or not float(ng['floor_us'] or 0) > 0:
    sys.exit('nginx floor %r' % ng['floor_us'])
EOF
check "pq: cells.csv holds the bytes, the report its pq section" bash -c \
	"'$root/suite/report' '$out/results/pq.csv' >/dev/null &&
	grep -q '^## Post-quantum key exchange' '$out/results/pq/report.md' &&
	grep -q 'refused: nginx.s OpenSSL has no X25519MLKEM768' \
		'$out/results/pq/report.md' &&
	head -1 '$out/results/pq/cells.csv' | grep -q hs_server_bytes"

check "ciphers: bulk with one suite on BoringSSL, nginx and asyncio (exit 0)" \
	expect 0 bulk --profile ciphers --only server=tlsbench,nginx,asyncio \
	--only lib=boringssl@14-tuned --only suite=TLS_CHACHA20_POLY1305_SHA256 \
	--only mode=bulk --only body=1m --only concurrency=4 \
	--set bulk_mib=16 --set warmup=0.2 --set min_blocks=1 \
	--set max_blocks=1 --run-id bulk
check "ciphers: the pinned suite negotiated by every server, CPU per MiB, BoringSSL's server not given it" \
	py "$out/results/bulk.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
if sorted(r['server'] + r['backend'] for r in rows) != [
        'asyncio-', 'nginx-', 'tlsbenchboringssl', 'tlsbenchopenssl']:
    sys.exit('rows %s' % [r['cell'] for r in rows])
for r in rows:
    # the reference pins AES-128-GCM, the others ChaCha20-Poly1305
    if r['status'] != 'ok' or r['negotiated_cipher'] != r['suite'] or \
            not float(r['server_us_per_mib']) > 0 or r['requests'] != '16':
        sys.exit('%s: %s %s %s %s' % (r['cell'], r['status'], r['reason'],
            r['negotiated_cipher'], r['server_us_per_mib']))
    pinned = '--ciphersuites' in r['server_command']
    if pinned != (r['backend'] == 'openssl'):
        sys.exit('%s: server command %s' % (r['cell'], r['server_command']))
EOF

# ---- resumption modes ---------------------------------------------------
# 0-RTT on OpenSSL (counted at both ends, single-use tickets from the
# cache) and refused by Debian's wolfSSL; psk_ke refused by OpenSSL 3.0;
# TLS 1.2 session IDs with two workers, each with its own cache: about
# half the window full handshakes, expected and said, not an error
cat >"$out/modes.matrix" <<'MATRIX'
min_blocks = 1
max_blocks = 1
requests = 400
warmup = 0.2
reference = server=tlsbench backend=openssl tls=1.3 cert=ecdsa-p256 mode=resumed concurrency=10
server = tlsbench
backend = openssl
cert = ecdsa-p256
concurrency = 10
[zero-rtt]
backend = openssl wolfssl
tls = 1.3
mode = resumed-0rtt
[psk-ke]
tls = 1.3
mode = resumed
psk = ke
[ids-two-workers]
tls = 1.2
mode = resumed
resume_via = id
workers = 2
MATRIX
check "a run of resumption modes, refusals included, ends ok (exit 0)" \
	expect 0 modes --matrix "$out/modes.matrix" --run-id modes
check "0-RTT counted at both ends, confirmed from the cache; refusals name the option; two workers with session IDs expect half" \
	py "$out/results/modes.csv" <<'EOF'
import csv, os, sys
rows = {(r['backend'], r['mode'], r['psk'], r['workers']): r
    for r in csv.DictReader(open(sys.argv[1]))}
z = rows[('openssl', 'resumed-0rtt', '-', '1')]
n = z['handshakes_resumed']
if z['status'] != 'ok' or int(n) < 400 or not (z['early_accepted'] ==
        z['client_early_accepted'] == z['early_offered'] == n) or \
        z['confirmed_resumption'] != 'id psk_dhe_ke' or \
        'single-use' not in z['anti_replay']:
    sys.exit('0-RTT row: %s' % {k: z[k] for k in ('status', 'reason',
        'handshakes_resumed', 'early_offered', 'early_accepted',
        'client_early_accepted', 'confirmed_resumption', 'anti_replay')})
w = rows[('wolfssl', 'resumed-0rtt', '-', '1')]
if w['status'] != 'refused' or '--early-data:' not in w['reason']:
    sys.exit('wolfSSL 0-RTT row: %s %s' % (w['status'], w['reason']))
k = rows[('openssl', 'resumed', 'ke', '1')]
if k['status'] != 'refused' or '--psk-mode ke:' not in k['reason']:
    sys.exit('psk_ke row: %s %s' % (k['status'], k['reason']))
if len(os.sched_getaffinity(0)) >= 2:
    t = rows[('openssl', 'resumed', '-', '2')]
    full, res = int(t['handshakes_full']), int(t['handshakes_resumed'])
    if t['status'] != 'ok' or t['expected_full_share'] != '0.50' or \
            not 0.3 < full / (full + res) < 0.7 or \
            'expected about 50% full handshakes' not in t['reason'] or \
            t['confirmed_resumption'] != 'id' or \
            t['client_shares_core'] != 'yes':
        sys.exit('two-worker row: %s' % {k: t[k] for k in ('status',
            'reason', 'handshakes_full', 'handshakes_resumed',
            'expected_full_share', 'confirmed_resumption',
            'client_shares_core')})
EOF

# ---- open-loop levels ---------------------------------------------------
# Keep-alive at 25% and 50% of the capacity measured in block 1, windows of
# 2000 requests (tail_samples = 2): block 1 holds the capacity alone, block
# 2 both levels, each offering its fraction of block 1's requests/s
cat >"$out/levels.matrix" <<'MATRIX'
min_blocks = 2
max_blocks = 2
requests = 3000
warmup = 0.2
tail_samples = 2
reference = server=tlsbench backend=openssl tls=1.3 cert=ecdsa-p256 mode=keepalive concurrency=10
server = tlsbench
backend = openssl
tls = 1.3
cert = ecdsa-p256
mode = keepalive
concurrency = 10
load = 0.25 0.5
MATRIX
check "an open-loop run of two levels ends ok (exit 0)" \
	expect 0 levels --matrix "$out/levels.matrix" --run-id levels
check "levels run from block 2 at their fraction of block 1's capacity, on schedule, 2000 requests each" \
	py "$out/results/levels.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cap = [r for r in rows if r['load_fraction'] == '-']
levels = [r for r in rows if r['load_fraction'] != '-']
if sorted(r['block'] for r in cap) != ['1', '2'] or \
        sorted(r['load_fraction'] for r in levels) != ['0.25', '0.5'] or \
        {r['block'] for r in levels} != {'2'}:
    sys.exit('blocks: %s' % [(r['load_fraction'], r['block']) for r in rows])
first = next(r for r in cap if r['block'] == '1')
for r in levels:
    want = float(r['load_fraction']) * float(first['rps'])
    n = int(r['requests'])
    # the schedule's last start is (n - 1) / rate after go: the window
    # cannot end sooner, whatever the machine's speed
    if r['status'] != 'ok' or r['capacity_rps'] != '%.1f' % float(
            first['rps']) or abs(float(r['offered_rps']) - want) > 0.1 or \
            n != 2000 or r['p999_samples'] != '2' or \
            r['window_capped'] != 'no' or not r['late_starts'].isdigit() or \
            float(r['duration_s']) < (n - 1) / float(r['offered_rps']) or \
            '-R' not in r['command'].split():
        sys.exit('level %s' % {k: r[k] for k in ('status', 'reason',
            'capacity_rps', 'offered_rps', 'requests', 'duration_s',
            'p999_samples', 'window_capped', 'late_starts')})
EOF
check "the report draws latency against load and tabulates the levels" \
	bash -c "'$root/suite/report' '$out/results/levels.csv' >/dev/null &&
	grep -q '^## Latency under load' '$out/results/levels/report.md' &&
	ls '$out/results/levels/'latency-load-1-keepalive-p999.svg >/dev/null &&
	grep -q 'level_blocks' '$out/results/levels/cells.csv'"

# ---- blocks, the summary, --verify --------------------------------------
# Three handshake cells whose ratios to the reference hold under load (a
# keep-alive cell's CPU per request depends on how busy the server is)
cat >"$out/three.matrix" <<'MATRIX'
min_blocks = 6
max_blocks = 6
requests = 1000
warmup = 0.2
reference = server=tlsbench backend=openssl tls=1.3 cert=ecdsa-p256 mode=full concurrency=10
compare = mode=resumed vs mode=full
server = tlsbench
backend = openssl
tls = 1.3
cert = ecdsa-p256
mode = full full-tickets resumed
concurrency = 10
MATRIX
start=$SECONDS
check "a three-cell run in six blocks ends ok (exit 0)" \
	expect 0 three --matrix "$out/three.matrix" --run-id three
echo "(the run took $((SECONDS - start)) s)"
check "every cell once per block, in its block seed's order, the reference marked and ratios paired" \
	py "$out/results/three.csv" "$out/results/three/run.json" <<'EOF'
import collections, csv, json, sys
from tbsuite import protocol
rows = list(csv.DictReader(open(sys.argv[1])))
meta = json.load(open(sys.argv[2]))
cells = meta['cells']
by = collections.defaultdict(dict)
for r in rows:
    by[int(r['block'])][r['cell']] = r
if sorted(by) != list(range(1, 7)) or any(sorted(b) != sorted(cells)
        for b in by.values()):
    sys.exit('blocks %s' % {k: len(v) for k, v in by.items()})
for b, got in by.items():
    order = [c for _, c in sorted((int(r['block_pos']), c)
        for c, r in got.items())]
    want = [c['id'] for c in protocol.block_order([{'id': c} for c in cells],
        meta['seed'], b)]
    if order != want:
        sys.exit('block %d order %s, want %s' % (b, order, want))
    ref = got[meta['reference']]
    if ref['is_reference'] != 'yes' or ref['block_seed'] != \
            str(protocol.block_seed(meta['seed'], b)):
        sys.exit('block %d reference %s' % (b, ref['is_reference']))
    for r in got.values():
        want = float(r['server_us_per_req']) / float(ref['server_us_per_req'])
        if abs(float(r['ratio_to_ref']) - want) > 1e-3:
            sys.exit('ratio %s, want %.4f' % (r['ratio_to_ref'], want))
EOF
check "cells.csv: medians with complete intervals per cell; comparisons.csv: the paired ratio" \
	py "$out/results/three" <<'EOF'
import csv, sys
from tbsuite import cellstats
d = sys.argv[1]
lines = list(csv.DictReader(open(d + '/cells.csv')))
if tuple(lines[0]) != cellstats.CELL_COLUMNS or len(lines) != 3:
    sys.exit('cells.csv: %d lines, columns %s' % (len(lines), list(lines[0])))
for c in lines:
    if c['status'] != 'ok' or c['n'] != '6' or c['complete'] != 'yes' or \
            not float(c['us_per_req_lo']) <= float(c['us_per_req']) <= \
            float(c['us_per_req_hi']) or c['stop_reason'] not in (
            'converged', 'max_blocks'):
        sys.exit('cell %s' % c)
comps = list(csv.DictReader(open(d + '/comparisons.csv')))
if len(comps) != 1 or comps[0]['n'] != '6' or not comps[0]['verdict']:
    sys.exit('comparisons %s' % comps)
EOF

# Whether a re-measurement lands inside a 95% interval is a matter of
# chance (about 5 in 6 per cell when nothing changed), so a test that
# expected "reproduced" from the intervals as measured would fail by chance
# now and then.  The plumbing is what this checks (re-measure the sampled
# cells against the run's reference, compare, say so, write the file): the
# committed intervals are widened to [ratio / 2, ratio x 2] first, which a
# working re-measurement cannot miss; the rule itself is unit-tested
# (tests/suite/test_protocol.py) and the tampered case below checks the
# other verdict.
py "$out/results/three/cells.csv" <<'EOF'
import csv, sys
path = sys.argv[1]
rows = list(csv.DictReader(open(path)))
for r in rows:
    if r['is_reference'] == 'no':
        ratio = float(r['ratio_to_ref'])
        r['ratio_to_ref_lo'] = '%.4f' % (ratio / 2)
        r['ratio_to_ref_hi'] = '%.4f' % (ratio * 2)
with open(path, 'w', newline='') as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator='\n')
    w.writeheader()
    w.writerows(rows)
EOF
check "--verify re-measures the run and finds it reproduced (exit 0)" \
	expect 0 verify --verify three --sample 2 --seed 7
check "--verify says so and writes verify-<utc>.txt" bash -c \
	"grep -q '^verdict: REPRODUCED' '$out/verify.out' &&
	ls '$out/results/three/'verify-*.txt >/dev/null"
check "--verify sampled one cell of each mode but the reference's, and said so per cell" \
	bash -c "grep -q 'full-tickets' '$out/verify.out' &&
	grep -q 'resumed' '$out/verify.out' &&
	(( \$(grep -cE '^(inside|outside|DISJOINT) ' '$out/verify.out') == 2 ))"

# committed intervals far from the truth: every new median is outside and
# every new interval disjoint
py "$out/results/three/cells.csv" <<'EOF'
import csv, sys
path = sys.argv[1]
rows = list(csv.DictReader(open(path)))
for r in rows:
    if r['is_reference'] == 'no':
        r['ratio_to_ref_lo'], r['ratio_to_ref_hi'] = '10.0', '11.0'
with open(path, 'w', newline='') as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator='\n')
    w.writeheader()
    w.writerows(rows)
EOF
check "--verify against committed intervals that exclude the truth: not reproduced (exit 1)" \
	expect 1 tamper --verify three --sample 1 --seed 7
check "--verify says why: a disjoint interval" bash -c \
	"grep -q '^verdict: NOT REPRODUCED' '$out/tamper.out' &&
	grep -q '^DISJOINT ' '$out/tamper.out'"
check "--verify of a run that does not exist is a usage error (exit 2)" \
	expect 2 usage --verify nosuchrun
check "the usage error names the run" grep -q 'no run nosuchrun' "$out/usage.err"

finish
