#!/usr/bin/env bash
# run_memory.sh: server memory per idle TLS connection (see --help;
# suite/tbsuite/memory.py does the work).
set -euo pipefail
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
tb_tbsuite
exec "$TB_PY" -m tbsuite.memory "$@"
