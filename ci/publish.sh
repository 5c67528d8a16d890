#!/usr/bin/env bash
# publish.sh: copy one benchmark run into results/ and index it, build the
# site when asked; in CI, also commit it to the results branch and push.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: ci/publish.sh RUN_ID [--from DIR] [--to DIR] [--profile NAME]
                    [--site DIR] [--branch BRANCH]
       ci/publish.sh --reindex [--to DIR] [--site DIR]

Copies the run made by ci/bench.sh (FROM/RUN_ID.csv and FROM/RUN_ID/:
report, charts, cost/, memory/) into TO (default results/) and writes its
row of TO/index.csv:
  run_id,utc,git_commit,profile,host,cpu_model,cores,cpu_flags,rows,
  errors,csv,report,cost_csv,memory_csv
(paths relative to TO; rows in the order the runs started).  A run already
in TO (--from results) is indexed where it is.  Publishing the same run
again changes nothing.

  --from DIR       where ci/bench.sh wrote the run (default build/ci/results)
  --to DIR         the published results tree (default results/)
  --profile NAME   recorded in the index (default: from the run's run.json)
  --reindex        rebuild TO/index.csv from every run in TO (keeping the
                   profiles it recorded) instead of publishing one
  --site DIR       then build the results site from TO into DIR (suite/site;
                   in CI, TO/site, so the results branch carries it)
  --branch B       also commit TO to branch B and push it, only when
                   CI=true and GITHUB_TOKEN is set (GitHub Actions): TO is
                   then a checkout of B made by `ci/publish.sh --checkout`
  --checkout B DIR clone branch B of the origin into DIR (an empty orphan
                   branch when B does not exist yet) and exit; ci/regress.sh
                   reads the last published run from DIR/index.csv
  --help           this text

Locally (no CI=true) it only updates the working tree: nothing is committed
or pushed.
USAGE
}

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$TB_ROOT
from=$root/build/ci/results
to=$root/results
profile=
branch=
run_id=
site=
reindex=0

origin_url() {
	local url
	url=$(git -C "$root" remote get-url origin 2>/dev/null) ||
		tb_die "no git remote 'origin' to publish to"
	# CI: authenticate with the job's token, never printed
	if [[ -n ${GITHUB_TOKEN:-} && $url == https://* ]]; then
		url="https://x-access-token:${GITHUB_TOKEN}@${url#https://}"
	fi
	echo "$url"
}

checkout() {
	local b=$1 dir=$2 url
	url=$(origin_url)
	rm -rf "$dir"
	if git clone -q --depth 1 --branch "$b" "$url" "$dir" 2>/dev/null; then
		echo "publish.sh: checked out $b into $dir" >&2
	else
		git init -q "$dir"
		git -C "$dir" checkout -q --orphan "$b"
		git -C "$dir" remote add origin "$url"
		echo "publish.sh: branch $b does not exist yet: new orphan in $dir" >&2
	fi
}

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
	--to)
		tb_need_arg "$1" $#
		to=$2
		shift
		;;
	--profile)
		tb_need_arg "$1" $#
		profile=$2
		shift
		;;
	--branch)
		tb_need_arg "$1" $#
		branch=$2
		shift
		;;
	--site)
		tb_need_arg "$1" $#
		site=$2
		shift
		;;
	--reindex) reindex=1 ;;
	--checkout)
		[[ $# -ge 3 ]] || tb_die "--checkout needs BRANCH DIR"
		checkout "$2" "$3"
		exit 0
		;;
	-*) tb_die "unknown option $1 (see --help)" ;;
	*)
		[[ -z $run_id ]] || tb_die "one RUN_ID only (got $run_id and $1)"
		run_id=$1
		;;
	esac
	shift
done

# build_site: the results site from $to into $site, when asked.
build_site() {
	[[ -n $site ]] || return 0
	local rc=0
	"$root/suite/site" --results "$to" --out "$site" >/dev/null || rc=$?
	case $rc in
	0) echo "publish.sh: site in $site" >&2 ;;
	1) echo "publish.sh: site in $site (some runs could not be read: see its front page)" >&2 ;;
	*) tb_die "suite/site failed (exit $rc)" ;;
	esac
}

if ((reindex)); then
	[[ -z $run_id ]] || tb_die "--reindex takes no RUN_ID (it indexes every run in $to)"
	[[ -d $to ]] || tb_die "no results directory $to (give --to DIR)"
	tb_index_reindex "$to"
	build_site
	exit 0
fi
[[ -n $run_id ]] || tb_die "RUN_ID missing (see --help; runs in $from: $(
	ls "$from" 2>/dev/null | sed -n 's/\.csv$//p' | tr '\n' ' '))"
[[ -d $from/$run_id || -f $from/$run_id.csv ]] ||
	tb_die "no run $run_id in $from (make one with ci/bench.sh)"
mkdir -p "$to"

# the run itself, unless it is already where it is published
if [[ $(realpath "$from") == $(realpath "$to") ]]; then
	echo "publish.sh: $run_id is already in $to: indexing it there" >&2
else
	[[ -f $from/$run_id.csv ]] && cp "$from/$run_id.csv" "$to/"
	if [[ -d $from/$run_id ]]; then
		rm -rf "${to:?}/$run_id"
		cp -r "$from/$run_id" "$to/$run_id"
	fi
fi

# one index row, and the site
tb_index_add "$to" "$run_id" "$profile"
build_site

if [[ -n $branch ]]; then
	if [[ ${CI:-} != true || -z ${GITHUB_TOKEN:-} ]]; then
		echo "publish.sh: not in CI (CI=true and GITHUB_TOKEN): $to updated, nothing pushed" >&2
		exit 0
	fi
	git -C "$to" rev-parse --git-dir >/dev/null 2>&1 ||
		tb_die "$to is not a checkout of $branch (run ci/publish.sh --checkout $branch $to first)"
	git -C "$to" add -A .
	git -C "$to" -c user.name="tlsbench CI" \
		-c user.email="tlsbench-ci@users.noreply.github.com" \
		commit -q -m "results: $run_id" || true
	git -C "$to" push -q origin "HEAD:refs/heads/$branch"
	echo "publish.sh: pushed $run_id to $branch" >&2
fi
