#!/usr/bin/env bash
# run_memory.sh: server memory per idle TLS connection (see --help).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! command -v python3 >/dev/null; then
	echo "run_memory.sh: python3 is missing: apt-get install python3" >&2
	exit 2
fi
exec python3 "$here/memory.py" "$@"
