#!/usr/bin/env bash
# run_cost.sh: instructions per TLS operation under callgrind (see --help;
# suite/tbsuite/cost.py does the work).
set -euo pipefail
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
tb_tbsuite
exec "$TB_PY" -m tbsuite.cost "$@"
