#!/usr/bin/env bash
# run_cost.sh: instructions per TLS operation under callgrind (see --help).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! command -v python3 >/dev/null; then
	echo "run_cost.sh: python3 is missing: apt-get install python3" >&2
	exit 2
fi
exec python3 "$here/cost.py" "$@"
