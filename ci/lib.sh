# shellcheck shell=bash
# lib.sh: what the project's bash scripts share.  Sourced, never run:
#   . "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
# Everything it defines starts with tb_ or TB_.

TB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Debian's interpreter: python3-uvloop is installed for it
TB_PY=/usr/bin/python3

# tb_tbsuite: make the suite's Python package importable for $TB_PY and
# its children (python3 -m tbsuite.<module>).
tb_tbsuite() {
	[[ -x $TB_PY ]] || {
		echo "${0##*/}: $TB_PY is missing: apt-get install python3" >&2
		exit 2
	}
	export PYTHONPATH=$TB_ROOT/suite${PYTHONPATH:+:$PYTHONPATH}
}
