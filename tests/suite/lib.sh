# lib.sh: what the suite's shell tests share.  Sourced, never run:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Their arguments, PASS/FAIL lines and their count, and Python checks with
# tbsuite importable.
# shellcheck shell=bash disable=SC2034

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
tb_tbsuite

root=$TB_ROOT

# test_args NAME ARGS...: [--help] [--no-build] [BUILD_ROOT] as every suite
# test takes them (--help prints the script's usage()); sets no_build (an
# array for suite/run_matrix.sh), build, and out (a fresh directory under
# /tmp, tb-test-NAME.*)
test_args() {
	local name=$1
	shift
	no_build=()
	case "${1:-}" in
	-h | --help)
		usage
		exit 0
		;;
	--no-build)
		no_build=(--no-build)
		shift
		;;
	esac
	build=$(realpath -m "${1:-$root/build}")
	out=$(mktemp -d "/tmp/tb-test-$name.XXXXXX")
}

passed=0
failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1${2:+ ($2)}"; failed=$((failed + 1)); }
check() { # check NAME COMMAND...: PASS when the command succeeds
	local name=$1 msg
	shift
	if msg=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$(echo "$msg" | tail -3 | tr '\n' ' ')"
	fi
}
# py ARGS... <<'EOF': a Python check on stdin, with tbsuite importable
py() { "$TB_PY" - "$@"; }
# finish: the `N passed, N failed` line; exit 1 if any failed
finish() {
	echo "$passed passed, $failed failed"
	((failed == 0))
}
