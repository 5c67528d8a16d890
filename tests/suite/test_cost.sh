#!/usr/bin/env bash
# test_cost.sh: the cost mode gives the same instructions per operation
# twice (within 0.5%), and --bench-crypto prints the crypto floor.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: tests/suite/test_cost.sh [BUILD_DIR]

Runs one small cost cell (full TLS 1.3 handshakes, ECDSA P-256, 10 and 30
operations under callgrind) twice with the tlsbench-server and
tlsbench-load in BUILD_DIR (default build/openssl; built when missing) and
checks that instructions per handshake agree within 0.5%.  Also checks
--bench-crypto's output and its refusal on bad input.  About a minute;
prints PASS/FAIL per check and `N passed, N failed`.
USAGE
}

case "${1:-}" in
--help | -h)
	usage
	exit 0
	;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build/openssl}
[[ $build == /* ]] || build=$root/$build
certs=$root/build/certs
passed=0
failed=0
tmp=$(mktemp -d /tmp/test_cost.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

check() {
	local name=$1
	shift
	if "$@"; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		failed=$((failed + 1))
	fi
}

if [[ ! -x $build/tlsbench-server ]]; then
	meson setup "$build" -Dtls=openssl >/dev/null
fi
ninja -C "$build" >/dev/null
"$root/suite/certs.sh" "$certs" >/dev/null
server=$build/tlsbench-server
backend=$("$server" --version | awk -F': ' '$1 == "backend" {print $2}')

# --- the crypto floor ---
floor_ok() {
	local out
	out=$(taskset -c 0 "$server" --bench-crypto --key "$certs/ecdsa-p256.key" \
		--groups P-256 --iterations 20) || return 1
	for k in backend library_version sig_alg group sign_us kex_us floor_us \
		iterations; do
		grep -q "^$k: " <<<"$out" || {
			echo "  missing $k in: $out" >&2
			return 1
		}
	done
	grep -q '^group: P-256$' <<<"$out" && grep -q '^iterations: 20$' <<<"$out"
}
floor_refuses() {
	local rc=0
	"$server" --bench-crypto --key /nonexistent 2>"$tmp/err" || rc=$?
	[[ $rc == 2 && $(wc -l <"$tmp/err") == 1 ]] || return 1
	rc=0
	"$server" --bench-crypto --key "$certs/ecdsa-p256.key" \
		--iterations 0 2>"$tmp/err" || rc=$?
	[[ $rc == 2 ]]
}
if [[ $backend != none ]]; then
	check "bench-crypto prints the floor" floor_ok
	check "bench-crypto refuses a missing key, 0 iterations" floor_refuses
fi

# --- determinism: the same cell twice ---
cost_run() {
	"$root/suite/cost/run_cost.sh" --builds "$build" --backend "$backend" \
		--tls 1.3 --cert ecdsa-p256 --op full --counts full=10:30 \
		--no-build --out "$tmp/$1" >/dev/null 2>"$tmp/$1.err"
}
per_op() {
	python3 -c 'import csv,sys
r = list(csv.DictReader(open(sys.argv[1])))
print(r[0]["instr_per_op"] if r and r[0]["status"] == "ok" else "")' \
		"$tmp/$1/cost.csv"
}
agree() {
	local a b
	cost_run a || {
		tail -3 "$tmp/a.err" >&2
		return 1
	}
	cost_run b || {
		tail -3 "$tmp/b.err" >&2
		return 1
	}
	a=$(per_op a)
	b=$(per_op b)
	echo "  instructions per full handshake: $a and $b"
	python3 -c 'import sys
a, b = float(sys.argv[1]), float(sys.argv[2])
d = abs(a - b) / min(a, b) * 100
print("  difference %.4f%%" % d)
sys.exit(0 if a > 0 and d <= 0.5 else 1)' "$a" "$b"
}
check "cost: two runs agree within 0.5%" agree
top_listed() {
	[[ -s $tmp/a/top/$backend-tls13-ecdsa-p256-full.txt ]] &&
		grep -q 'top functions, inclusive' \
			"$tmp/a/top/$backend-tls13-ecdsa-p256-full.txt"
}
check "cost: top functions written" top_listed
usage_error() {
	local rc=0
	"$root/suite/cost/run_cost.sh" --op bogus 2>/dev/null || rc=$?
	[[ $rc == 2 ]]
}
check "cost: bad --op is a usage error" usage_error

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
