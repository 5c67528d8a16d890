#!/usr/bin/env bash
# run_matrix.sh: the suite's entry point; checks tools, then runs the matrix
# (suite/tbsuite/runner.py does the work).  See --help.
set -euo pipefail
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
tb_tbsuite

for arg in "$@"; do
	case "$arg" in
	-h | --help | --list)
		exec "$TB_PY" -m tbsuite.runner "$@" ;;
	esac
done

# tool -> Debian package that provides it
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need meson meson
need ninja ninja-build
need nginx nginx-light
need taskset util-linux
need openssl openssl
need cc gcc
need pkg-config pkg-config
if [[ ! -x $TB_PY ]]; then
	missing+=(python3)
elif ! "$TB_PY" -c 'import uvloop' 2>/dev/null; then
	missing+=(python3-uvloop)
fi
if ((${#missing[@]})); then
	echo "run_matrix: missing tools; install them with:" >&2
	echo "  apt-get install -y ${missing[*]}" >&2
	exit 2
fi

exec "$TB_PY" -m tbsuite.runner "$@"
