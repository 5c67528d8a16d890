# lib.sh: what the project's bash scripts share.  Sourced, never run:
#   . "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
# Everything it defines starts with tb_ or TB_.  Messages name the script
# that sourced it (TB_PROG) and go to stderr.
# The TB_ variables set here are read by the scripts that source it:
# shellcheck shell=bash disable=SC2034

TB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TB_PROG=${0##*/}
TB_SELF=$(realpath -m --relative-to="$TB_ROOT" "$0")
# Debian's interpreter: python3-uvloop is installed for it
TB_PY=/usr/bin/python3

# tb_die MESSAGE...: a usage or setup error: say so and exit 2.
tb_die() {
	echo "$TB_PROG: $*" >&2
	exit 2
}

# tb_tbsuite: make the suite's Python package importable for $TB_PY and
# its children (python3 -m tbsuite.<module>).
tb_tbsuite() {
	[[ -x $TB_PY ]] || tb_die "$TB_PY is missing: apt-get install python3"
	export PYTHONPATH=$TB_ROOT/suite${PYTHONPATH:+:$PYTHONPATH}
}

# --- the backends and libraries ------------------------------------------------

# tb_backends: every backend, in meson_options.txt's order (the `tls`
# option's choices: the one list, which meson itself reads).
tb_backends() {
	local list
	list=$(sed -n "/^option('tls'/,/)\$/p" "$TB_ROOT/meson_options.txt" |
		tr -d '\n' | sed -nE "s/.*choices *: *\[([^]]*)\].*/\1/p" |
		tr -d "' " | tr ',' ' ')
	[[ -n $list ]] ||
		tb_die "no choices for option 'tls' in $TB_ROOT/meson_options.txt"
	echo "$list"
}

# tb_tls_backends: the backends that speak TLS (all but the plaintext none).
tb_tls_backends() {
	local b tls=()
	for b in $(tb_backends); do
		[[ $b == none ]] || tls+=("$b")
	done
	echo "${tls[*]}"
}

# tb_libraries: the libraries suite/libs/build.sh builds (suite/libs/series).
tb_libraries() {
	awk '!/^#/ && NF { printf "%s%s", sep, $1; sep = " " } END { print "" }' \
		"$TB_ROOT/suite/libs/series"
}

# tb_tuned: each library's tuned series as LIB:SERIES (openssl:3.6 ...).
tb_tuned() {
	awk '!/^#/ && NF { printf "%s%s:%s", sep, $1, $2; sep = " " }
		END { print "" }' "$TB_ROOT/suite/libs/series"
}

# tb_tuned_series LIB: that library's tuned series (3.6 for openssl).
tb_tuned_series() {
	awk -v lib="$1" '!/^#/ && $1 == lib { print $2 }' \
		"$TB_ROOT/suite/libs/series"
}

# tb_one_of WORD LIST: whether WORD is one of the space-separated LIST.
tb_one_of() {
	[[ " $2 " == *" $1 "* ]]
}

# tb_all_backends SELECTED: whether every backend is in SELECTED (a
# space-separated list, any order): phases that compare all of them.
tb_all_backends() {
	local b
	for b in $(tb_backends); do
		tb_one_of "$b" "$1" || return 1
	done
}

# tb_check_backend NAME: a usage error unless NAME is a backend.
tb_check_backend() {
	tb_one_of "$1" "$(tb_backends)" ||
		tb_die "unknown backend $1 (use one of: $(tb_backends))"
}

# --- options -------------------------------------------------------------------

# tb_need_arg OPTION NARGS: a usage error when OPTION has no value
# (NARGS: $# where OPTION is $1).
tb_need_arg() {
	(($2 >= 2)) || tb_die "$1 needs a value (see $TB_SELF --help)"
}

# The options several scripts take, parsed one way:
#   --backend B   (repeatable, checked)   -> TB_BACKENDS (array)
#   --prefix P    build directories P<b>  -> TB_PREFIX (default build/)
#   --certs DIR   suite/certs.sh's output -> TB_CERTS (default build/certs)
TB_BACKENDS=()
TB_PREFIX=build/
TB_CERTS=build/certs

# tb_common_option "$@": parse one of those at $1 and set TB_SHIFT to the
# words it took; anything else is an unknown option.
tb_common_option() {
	case "$1" in
	--backend)
		tb_need_arg "$1" $#
		tb_check_backend "$2"
		TB_BACKENDS+=("$2")
		;;
	--prefix)
		tb_need_arg "$1" $#
		TB_PREFIX=$2
		;;
	--certs)
		tb_need_arg "$1" $#
		TB_CERTS=$2
		;;
	*) tb_die "unknown option $1 (see $TB_SELF --help)" ;;
	esac
	TB_SHIFT=2
}

# --- builds --------------------------------------------------------------------

# tb_build DIR MESON-OPTIONS...: meson setup for a new build directory, or
# meson configure for an existing one, then ninja.
tb_build() {
	local dir=$1
	shift
	if [[ -f $dir/build.ninja ]]; then
		meson configure "$dir" "$@"
	else
		rm -rf "$dir"
		meson setup "$dir" "$@"
	fi
	ninja -C "$dir"
}

# tb_build_hint DIR BACKEND: the commands that make DIR's server.
tb_build_hint() {
	echo "meson setup $1 -Dtls=$2 && ninja -C $1"
}

# tb_server PREFIX BACKEND: the server binary of that build directory, or
# a message saying how to build it (on stderr) and status 1.
tb_server() {
	local bin=$1$2/tlsbench-server
	if [[ ! -x $bin ]]; then
		echo "$bin missing: build it with $(tb_build_hint "$1$2" "$2")" >&2
		return 1
	fi
	echo "$bin"
}

# tb_certs DIR: suite/certs.sh DIR unless its certificates are there.
tb_certs() {
	[[ -f $1/rsa2048.pem ]] || bash "$TB_ROOT/suite/certs.sh" "$1" >/dev/null
}

# --- results -------------------------------------------------------------------

# tb_index_last_cost INDEX [RUN_ID [PROFILE]]: the cost CSV of the last
# published run in INDEX (results/index.csv) but RUN_ID, of PROFILE when
# given, or nothing.  tbsuite.index writes and reads that file.
tb_index_last_cost() {
	tb_tbsuite
	"$TB_PY" -m tbsuite.index last-cost "$@"
}

# tb_index_add DIR RUN_ID [PROFILE]: index DIR/RUN_ID in DIR/index.csv.
tb_index_add() {
	tb_tbsuite
	"$TB_PY" -m tbsuite.index add "$@"
}

# tb_index_reindex DIR: rebuild DIR/index.csv from the runs in DIR.
tb_index_reindex() {
	tb_tbsuite
	"$TB_PY" -m tbsuite.index reindex "$1"
}
