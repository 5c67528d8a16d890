#!/usr/bin/env bash
# regress.sh: the regression check: a run's instruction counts against the
# last published run's.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: ci/regress.sh RUN_ID [--from DIR] [--published DIR] [--profile P]
                    [--fail-over PCT%]
       ci/regress.sh --new COST.csv --old COST.csv [--fail-over PCT%]

Compares the instructions per operation of RUN_ID (FROM/RUN_ID/cost/cost.csv,
FROM default build/ci/results) with the last run in PUBLISHED/index.csv
(default results/) that has a cost CSV and another run id (and, with
--profile, that profile: quick and default count different cells), per backend,
TLS version, certificate and operation (suite/compare --cost).  Anything
more than PCT% (default 2%) more expensive is marked WORSE; with
--fail-over the exit status is then 1.  No published run yet: says so,
exit 0.

  --help   this text
USAGE
}

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$TB_ROOT
from=$root/build/ci/results
published=$root/results
run_id= new= old= profile=
gate=()

while (($#)); do
	case "$1" in
	--help | -h)
		usage
		exit 0
		;;
	--from)
		tb_need_arg "$1" $#
		from=$2
		shift
		;;
	--published)
		tb_need_arg "$1" $#
		published=$2
		shift
		;;
	--new)
		tb_need_arg "$1" $#
		new=$2
		shift
		;;
	--profile)
		tb_need_arg "$1" $#
		profile=$2
		shift
		;;
	--old)
		tb_need_arg "$1" $#
		old=$2
		shift
		;;
	--fail-over)
		tb_need_arg "$1" $#
		gate=(--fail-over "$2")
		shift
		;;
	-*) tb_die "unknown option $1 (see --help)" ;;
	*) run_id=$1 ;;
	esac
	shift
done

if [[ -z $new ]]; then
	[[ -n $run_id ]] || tb_die "RUN_ID or --new CSV needed (see --help)"
	new=$from/$run_id/cost/cost.csv
	[[ -f $new ]] || new=$published/$run_id/cost/cost.csv
	[[ -f $new ]] || tb_die "no cost CSV for $run_id in $from or $published (ci/bench.sh makes it)"
fi
if [[ -z $old ]]; then
	index=$published/index.csv
	if [[ ! -f $index ]]; then
		echo "regress.sh: no published runs ($index missing): nothing to compare"
		exit 0
	fi
	last=$(tb_index_last_cost "$index" "$run_id" "$profile")
	if [[ -z $last ]]; then
		echo "regress.sh: no earlier published run with instruction counts in $index: nothing to compare"
		exit 0
	fi
	old=$last
fi
echo "regress.sh: $new against $old"
exec "$root/suite/compare" --cost "$new" "$old" "${gate[@]}"
