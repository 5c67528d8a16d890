#!/usr/bin/env bash
# test_tuned.sh: a server built against a suite/libs prefix says so and
# runs on it.  `--version` must name the flavor and carry the prefix's
# BUILDINFO, and a running server must have mapped the TLS library from the
# prefix, not the distro's same-soname copy (BoringSSL's libcrypto.so.0).
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: tests/libs/test_tuned.sh BUILD_DIR PREFIX CERT_DIR

BUILD_DIR  a build configured with -D<lib>_prefix=PREFIX
PREFIX     what suite/libs/build.sh printed (holds BUILDINFO)
CERT_DIR   made by suite/certs.sh
Prints PASS/FAIL lines and `N passed, N failed`; exit 1 if any failed.
USAGE
}
[[ ${1:-} == -h || ${1:-} == --help ]] && { usage; exit 0; }
[[ $# -eq 3 ]] || { usage >&2; exit 2; }
build=$1 prefix=$2 certs=$3
server=$build/tlsbench-server
passed=0 failed=0
check() { # NAME STATUS DETAIL: STATUS is a command's exit status
	if [[ $2 -eq 0 ]]; then
		echo "PASS $1"
		passed=$((passed + 1))
	else
		echo "FAIL $1: $3"
		failed=$((failed + 1))
	fi
}

version=$("$server" --version)
flavor=$(sed -n 's/^flavor: //p' "$prefix/BUILDINFO")
grep -qx "flavor: $flavor" <<<"$version" && rc=0 || rc=$?
check "version.flavor_$flavor" $rc "--version has no 'flavor: $flavor'"
want=$(sed -n 's/^version: //p' "$prefix/BUILDINFO")
grep -q "^buildinfo.version: $want\$" <<<"$version" && rc=0 || rc=$?
check "version.buildinfo" $rc "--version lacks buildinfo.version: $want"

out=$(mktemp -d)
"$server" --cert "$certs/ecdsa-p256.pem" --key "$certs/ecdsa-p256.key" \
	--listen 127.0.0.1:0 --stats-file "$out/stats" >"$out/stdout" 2>"$out/stderr" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 50); do
	grep -q '^listening' "$out/stdout" && break
	sleep 0.1
done
url=$(sed -n 's/^listening //p' "$out/stdout")
[[ -n $url ]] && rc=0 || rc=$?
check "server.starts" $rc "no listening line: $(head -c 300 "$out/stderr")"
# Every mapped libssl/libcrypto/libwolfssl must come from the prefix.
libs=$(grep -oE '/[^ ]*lib(ssl|crypto|wolfssl)\.so[^ ]*' "/proc/$pid/maps" | sort -u || true)
stray=$(grep -v "^$(realpath "$prefix")/" <<<"$libs" || true)
[[ -n $libs && -z $stray ]] && rc=0 || rc=$?
check "server.loads_prefix_library" $rc "mapped: ${libs:-nothing}; not from the prefix: $stray"
code=$(curl -s -o "$out/body" -w '%{http_code}' --cacert "$certs/ca.pem" "$url/20k" || true)
[[ $code == 200 && $(stat -c %s "$out/body") -eq 20480 ]] && rc=0 || rc=$?
check "server.serves_20k" $rc "HTTP $code, $(stat -c %s "$out/body" 2>/dev/null) bytes"
kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
check "server.clean_exit" $rc "non-zero exit after SIGTERM"
# The session policy (20480 sessions) holds in every tuned build, within
# wolfSSL's compile-time table sizes (20027 with --enable-bigcache).
cache=$(tail -n 1 "$out/stats" | python3 -c \
	'import json, sys; print(json.load(sys.stdin)["tls_settings"]["session_cache_size"])' \
	2>/dev/null || true)
[[ ${cache%% *} =~ ^[0-9]+$ ]] && ((${cache%% *} >= 20000)) && rc=0 || rc=$?
check "settings.session_cache_20k" $rc "session_cache_size is '${cache:-missing}'"

echo "$passed passed, $failed failed"
((failed == 0))
