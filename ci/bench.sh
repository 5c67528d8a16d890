#!/usr/bin/env bash
# bench.sh: the CI benchmark job, the same locally: the matrix, the cost
# (instruction counts + crypto floor) and memory runs, the report and the
# results site.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: ci/bench.sh [--profile NAME] [--run-id ID] [--out DIR] [options]

Runs, into DIR (default build/ci/results; ci/publish.sh copies a run into
results/):
  1. suite/run_matrix.sh --profile NAME      -> DIR/ID.csv, DIR/ID/report.md
  2. suite/cost/run_cost.sh --floor --nginx  -> DIR/ID/cost/cost.csv, top/
  3. suite/memory/run_memory.sh              -> DIR/ID/memory/memory.csv
  4. the report rendered again with the cost, memory and cost-over-floor
     sections (DIR/ID/cost-memory.md holds them alone)
  5. suite/site --results DIR                -> SITE (the runs in DIR)
The last line on stdout is the run id.

  --profile NAME   matrix profile (default quick).  quick: cost for TLS 1.3
                   ECDSA P-256, memory with 1000 connections; any other
                   profile: cost for TLS 1.2 and 1.3 x RSA-2048 and ECDSA
                   P-256, memory with 1000 and 10000 connections
  --run-id ID      default: UTC time and short commit
  --out DIR        results directory (default build/ci/results)
  --build-root D   builds, certificates (default build)
  --site DIR       where the site goes (default build/ci/site)
  --no-matrix      skip step 1 (cost and memory only)
  --no-cost        skip step 2
  --no-memory      skip step 3
  --help           this text

Exit: 0 when every step produced its rows, 1 when some rows are errors
(the run is still complete and publishable), 2 on a usage error or a step
that could not run at all.
USAGE
}

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$TB_ROOT
profile=quick
run_id=
out=$root/build/ci/results
build_root=$root/build
site=$root/build/ci/site
do_matrix=1 do_cost=1 do_memory=1

while (($#)); do
	case "$1" in
	--help | -h)
		usage
		exit 0
		;;
	--profile)
		tb_need_arg "$1" $#
		profile=$2
		shift
		;;
	--run-id)
		tb_need_arg "$1" $#
		run_id=$2
		shift
		;;
	--out)
		tb_need_arg "$1" $#
		out=$2
		shift
		;;
	--build-root)
		tb_need_arg "$1" $#
		build_root=$2
		shift
		;;
	--site)
		tb_need_arg "$1" $#
		site=$2
		shift
		;;
	--no-matrix) do_matrix=0 ;;
	--no-cost) do_cost=0 ;;
	--no-memory) do_memory=0 ;;
	*) tb_die "unknown argument $1 (see --help)" ;;
	esac
	shift
done
[[ $out == /* ]] || out=$PWD/$out
[[ $build_root == /* ]] || build_root=$PWD/$build_root
[[ $site == /* ]] || site=$PWD/$site
[[ -f $root/suite/matrix/$profile.matrix ]] ||
	tb_die "no profile $profile (suite/matrix/*.matrix)"
if [[ -z $run_id ]]; then
	commit=$(git -C "$root" rev-parse --short=9 HEAD 2>/dev/null || echo nogit)
	run_id=$(date -u +%Y%m%dT%H%M%SZ)-$commit
fi
mkdir -p "$out/$run_id"
status=0

step() { echo "bench.sh: $*" >&2; }

if ((do_matrix)); then
	step "matrix, profile $profile"
	rc=0
	"$root/suite/run_matrix.sh" --profile "$profile" --run-id "$run_id" \
		--results "$out" --build-root "$build_root" >&2 || rc=$?
	case $rc in
	0) ;;
	1) status=1 ;;
	*) tb_die "suite/run_matrix.sh failed (exit $rc)" ;;
	esac
	no_build=--no-build # the cost and memory runs use the matrix's builds
else
	no_build=
fi

if [[ $profile == quick ]]; then
	cost_scope=(--nginx --tls 1.3 --cert ecdsa-p256 --counts full=32:96
		--counts resumed=20:60 --counts keepalive=50:200)
	mem_scope=(--tls 1.3 --cert ecdsa-p256 --conns 1000)
else
	cost_scope=(--nginx --tls 1.2,1.3 --cert ecdsa-p256,rsa2048)
	mem_scope=(--tls 1.3 --cert ecdsa-p256,rsa2048 --conns 1000,10000)
fi

if ((do_cost)); then
	step "cost: instructions per operation and the crypto floor"
	rc=0
	"$root/suite/cost/run_cost.sh" --builds "$build_root/{backend}" \
		--certs "$build_root/certs" --floor ${no_build:+"$no_build"} \
		"${cost_scope[@]}" --out "$out/$run_id/cost" >/dev/null || rc=$?
	case $rc in
	0) ;;
	1) status=1 ;;
	*) tb_die "suite/cost/run_cost.sh failed (exit $rc)" ;;
	esac
fi

if ((do_memory)); then
	step "memory per connection"
	rc=0
	"$root/suite/memory/run_memory.sh" --builds "$build_root/{backend}" \
		--certs "$build_root/certs" "${mem_scope[@]}" \
		--out "$out/$run_id/memory" >/dev/null || rc=$?
	case $rc in
	0) ;;
	1) status=1 ;;
	*) tb_die "suite/memory/run_memory.sh failed (exit $rc)" ;;
	esac
fi

if [[ -f $out/$run_id/cost/cost.csv ]]; then
	matrix=()
	[[ -f $out/$run_id.csv ]] && matrix=(--matrix "$out/$run_id.csv")
	memory=()
	[[ -f $out/$run_id/memory/memory.csv ]] &&
		memory=(--memory "$out/$run_id/memory/memory.csv")
	tb_tbsuite
	"$TB_PY" -m tbsuite.costreport --cost "$out/$run_id/cost/cost.csv" \
		"${memory[@]}" "${matrix[@]}" --top-base cost \
		--out "$out/$run_id/cost-memory.md"
fi
# The report reads cost/ and memory/ from the run's directory: rendered
# again now, it holds their sections (and their crypto floor, with the
# instruction counts, in place of the matrix's wall-clock one).
if [[ -f $out/$run_id.csv ]]; then
	step "report"
	"$root/suite/report" "$out/$run_id.csv" >/dev/null
fi

step "the results site"
rc=0
"$root/suite/site" --results "$out" --out "$site" >/dev/null || rc=$?
case $rc in
0) ;;
1) status=1 ;;
*) tb_die "suite/site failed (exit $rc)" ;;
esac
step "run $run_id in $out, site in $site (exit $status)"
echo "$run_id"
exit $status
