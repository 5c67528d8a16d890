#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# build.sh: one TLS library, built from Debian's source archive into the
# tuned-library cache (<cache>/<lib>-<series>-tuned/), or the distro's own
# package described.
set -euo pipefail

usage() {
	sed "s/@LIBS@/$(tb_libraries | sed 's/ / | /g')/; s/@TUNED@/$(tb_tuned)/" <<'EOF'
usage: suite/libs/build.sh [--cached] LIB VERSION FLAVOR

  LIB      @LIBS@ (suite/libs/series)
  VERSION  a version prefix (3.6, 5.9, 14, 3.6.3) or latest
  FLAVOR   tuned    build the library with the flags its authors recommend
                    for x86_64 servers and install it into the cache as
                    <lib>-<series>-tuned/ (the tuned series the suite
                    builds: @TUNED@)
           debian   the installed distro package; nothing is built

The last line on stdout is what to give meson as -D<lib>_prefix=: the prefix
directory for tuned, the word `system` for debian (pass no prefix then).
Progress goes to stderr.

  meson setup build/wolfssl-5.9-tuned -Dtls=wolfssl \
    -Dwolfssl_prefix=$(suite/libs/build.sh wolfssl 5.9 tuned | tail -1)

The source comes from deb-src bookworm, bookworm-security, trixie and sid on
the mirror this machine's apt already uses, through a private apt index under
<cache>/.work/apt (the system's apt configuration is not touched).  A finished
prefix (it has BUILDINFO) is reused; remove it to build again.  An
interrupted build is wiped and started clean.  While a library compiles
(2-15 minutes), a progress line goes to stderr every 20 s.

The cache is one per machine, shared by ci/test.sh, suite/run_matrix.sh and
every clone: /var/cache/tlsbench/libs as root, otherwise
${XDG_CACHE_HOME:-~/.cache}/tlsbench/libs.

Environment:
  TLSBENCH_LIBS_DIR  the cache directory instead of the above
  JOBS               parallel make jobs (default: nproc)

  --cached  only print the prefix of a finished tuned build of that series
            (VERSION 3.6, 14); exit 1 with nothing built or downloaded when
            there is none (for tools that can use a library but should not
            compile one, e.g. suite/certs.sh looking for an OpenSSL 3.5+)
  --help    this text
See suite/libs/README.md for each library's choices.
EOF
}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../ci/lib.sh
. "$HERE/../../ci/lib.sh"

say() { echo "libs: $*" >&2; }
# a failed build: exit 1 (tb_die, a usage error, exits 2)
die() {
	echo "build.sh: $*" >&2
	exit 1
}

CACHED=0
case "${1:-}" in
-h | --help)
	usage
	exit 0
	;;
--cached)
	CACHED=1
	shift
	;;
esac
if (($# != 3)); then
	usage >&2
	exit 2
fi
LIB=$1 WANT=$2 FLAVOR=$3
tb_one_of "$LIB" "$(tb_libraries)" ||
	die "unknown library '$LIB': use one of $(tb_libraries) (suite/libs/series)"
[[ "$WANT" == latest || "$WANT" =~ ^[0-9]+(\.[0-9]+)*$ ]] ||
	die "bad version '$WANT': use a version prefix such as 3.6 or 14, or latest"
case "$FLAVOR" in
tuned | debian) ;;
*) die "unknown flavor '$FLAVOR': use tuned or debian" ;;
esac

# The one rule for where tuned libraries live (see usage): every caller
# asks this script, so a build made by one command is found by the others.
if [[ -n ${TLSBENCH_LIBS_DIR:-} ]]; then
	LIBS_DIR=$TLSBENCH_LIBS_DIR
elif ((EUID == 0)); then
	LIBS_DIR=/var/cache/tlsbench/libs
else
	LIBS_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/tlsbench/libs
fi
WORK=$LIBS_DIR/.work
JOBS=${JOBS:-$(nproc)}

# shellcheck source=openssl.sh
. "$HERE/$LIB.sh"
# The recipe a prefix was built from: a build is reused only while its
# recipe ($LIB.sh: flags, required macros) is the one in this tree, so a
# changed flag rebuilds the cache instead of measuring the old build.
RECIPE_SUM=$(sha256sum "$HERE/$LIB.sh" | cut -c1-16)

# shellcheck source=archive.sh
. "$HERE/archive.sh"

# The series names the prefix, so the matrix's lib axis (openssl@3.6-tuned)
# maps to one directory: major.minor, or the major alone for BoringSSL's
# Android releases.
series_of() {
	local up=$1
	if [[ "$LIB" == boringssl ]]; then
		echo "${up%%[.+~]*}"
	else
		awk -F. '{ print $1 "." $2 }' <<<"${up%%[+~-]*}"
	fi
}

# --cached: a finished prefix or nothing; never the network, never a build.
if ((CACHED)); then
	[[ "$FLAVOR" == tuned ]] || die "--cached is for the tuned flavor"
	[[ "$WANT" =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
		die "--cached needs a series (3.6, 5.9, 14), not '$WANT'"
	[[ -f "$LIBS_DIR/$LIB-$WANT-$FLAVOR/BUILDINFO" ]] || exit 1
	[[ $(sed -n 's/^recipe: //p' "$LIBS_DIR/$LIB-$WANT-$FLAVOR/BUILDINFO") == \
		"$RECIPE_SUM" ]] || exit 1
	echo "$LIBS_DIR/$LIB-$WANT-$FLAVOR"
	exit 0
fi

# --- debian: describe the installed package ---------------------------------

if [[ "$FLAVOR" == debian ]]; then
	pkgver=$(dpkg-query -W -f='${db:Status-Abbrev} ${Version}' \
		"$RECIPE_DEBIAN_PACKAGE" 2>/dev/null || true)
	[[ "$pkgver" == ii* ]] ||
		die "$RECIPE_DEBIAN_PACKAGE is not installed: apt-get install $RECIPE_DEBIAN_PACKAGE"
	pkgver=${pkgver##* }
	up=$(upstream_of "$pkgver")
	version_matches "$up" "$WANT" ||
		die "the installed $RECIPE_DEBIAN_PACKAGE is $up, not $WANT: the debian flavor is the distro's version (use $LIB $(series_of "$up") debian, or FLAVOR tuned)"
	say "library: $LIB"
	say "version: $up"
	say "package: $RECIPE_DEBIAN_PACKAGE $pkgver"
	say "flavor: debian"
	echo system
	exit 0
fi

# --- tuned: build into a prefix -----------------------------------------------

check_tools() {
	local pair missing="" cmd
	for pair in $RECIPE_TOOLS apt-get:apt dpkg-source:dpkg-dev \
		flock:util-linux; do
		cmd=${pair%%:*}
		command -v "$cmd" >/dev/null 2>&1 || missing+=" ${pair#*:}"
	done
	[[ -z "$missing" ]] ||
		die "missing build tools: apt-get install$(tr ' ' '\n' <<<"$missing" | sort -u | tr '\n' ' ')"
}

# A prefix with BUILDINFO is finished: print it and stop.
# A prefix with BUILDINFO from this recipe is finished: print it and stop.
# One from another recipe is rebuilt, but only under the lock (stale=1),
# so a concurrent caller never sees it half removed.
reuse_if_built() {
	local prefix=$1 stale=${2:-0} v
	[[ -f "$prefix/BUILDINFO" ]] || return 0
	v=$(sed -n 's/^version: //p' "$prefix/BUILDINFO")
	if [[ $(sed -n 's/^recipe: //p' "$prefix/BUILDINFO") != "$RECIPE_SUM" ]]; then
		((stale)) || return 0
		say "$LIB $v in $prefix was built from another $LIB.sh: building again"
		rm -rf "$prefix"
		return 0
	fi
	say "$LIB $v already built (remove $prefix to build again)"
	echo "$prefix"
	exit 0
}

check_tools
mkdir -p "$WORK"

# Asked by series (3.6, 14): the prefix's name is known without the network.
if [[ "$WANT" =~ ^[0-9]+\.[0-9]+$ && "$LIB" != boringssl ]] ||
	[[ "$WANT" =~ ^[0-9]+$ && "$LIB" == boringssl ]]; then
	reuse_if_built "$LIBS_DIR/$LIB-$WANT-$FLAVOR"
fi

archive_init
archive_update
candidates() {
	local v
	for v in $(archive_versions "$RECIPE_SOURCE_PACKAGE"); do
		version_matches "$(upstream_of "$v")" "$WANT" && echo "$v"
	done
	return 0
}
mapfile -t CANDIDATES < <(candidates)
if ((${#CANDIDATES[@]} == 0)); then
	archive_update force
	mapfile -t CANDIDATES < <(candidates)
fi
if ((${#CANDIDATES[@]} == 0)); then
	have=$(for v in $(archive_versions "$RECIPE_SOURCE_PACKAGE"); do
		upstream_of "$v"
	done | sort -uV | paste -sd ' ')
	die "$LIB $WANT is not in Debian's source archive (bookworm, bookworm-security, trixie, sid); $RECIPE_SOURCE_PACKAGE has: ${have:-nothing (is the mirror reachable?)}"
fi

# The newest matching version already built wins; a cached series is not
# rebuilt when the archive moves on.
reuse_if_built "$LIBS_DIR/$LIB-$(series_of "$(upstream_of "${CANDIDATES[0]}")")-$FLAVOR"

# One build of a library at a time; a second caller waits, then reuses it.
exec 9>"$WORK/$LIB.lock"
flock 9

# Newest first; the index can list a version before the mirror serves it.
RESOLVED='' SRC_DIR=''
for v in "${CANDIDATES[@]}"; do
	dir=$WORK/src/${RECIPE_SOURCE_PACKAGE}_$v
	if archive_fetch "$RECIPE_SOURCE_PACKAGE" "$v" "$dir" "$RECIPE_NEEDS_DEBIAN_DIR"; then
		RESOLVED=$v SRC_DIR=$dir
		break
	fi
	say "$RECIPE_SOURCE_PACKAGE $v is listed but the mirror does not serve its files: trying the next version down"
	grep -E '^(E|W): ' "$dir/apt-source.log" | head -n 3 | sed 's/^/libs:   /' >&2 || true
done
[[ -n "$RESOLVED" ]] ||
	die "none of $RECIPE_SOURCE_PACKAGE ${CANDIDATES[*]} downloads from $MIRROR (logs: $WORK/src/*/apt-source.log)"
[[ "$RESOLVED" == "${CANDIDATES[0]}" ]] ||
	say "using $RESOLVED: newer ${CANDIDATES[0]} is listed but not downloadable"
RESOLVED_UPSTREAM=$(upstream_of "$RESOLVED")
NAME=$LIB-$(series_of "$RESOLVED_UPSTREAM")-$FLAVOR
PREFIX=$LIBS_DIR/$NAME
reuse_if_built "$PREFIX" 1
if [[ -e "$PREFIX" ]]; then
	say "$PREFIX has no BUILDINFO (an interrupted build): starting clean"
	rm -rf "$PREFIX"
fi

TREE=$WORK/build/$NAME
LOG=$WORK/$NAME.log
FACTS=$WORK/$NAME.facts
finished='' BUILD_PID=''
cleanup() {
	# make and configure run in their own process group: stop them too,
	# or they keep writing into a prefix that is being removed.
	[[ -z "$BUILD_PID" ]] || kill -TERM -- "-$BUILD_PID" 2>/dev/null || true
	# A prefix without BUILDINFO must never be mistaken for a build.
	[[ -n "$finished" ]] || rm -rf "$PREFIX"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The recipe's BUILDINFO lines (configure, cflags, ...), one `key: value` each.
fact() { echo "$1: $(tr -s ' \n' '  ' <<<"$2" | sed 's/^ //; s/ $//')" >>"$FACTS"; }

say "building $LIB $RESOLVED_UPSTREAM ($RECIPE_SOURCE_PACKAGE $RESOLVED) into $PREFIX; log: $LOG"
start=$(date +%s)
archive_unpack "$SRC_DIR" "$TREE"
say "source: $UNPACKED_WITH"
mkdir -p "$PREFIX"
: >"$FACTS"
set -m # the build gets a process group of its own (see cleanup)
recipe_build "$TREE" "$PREFIX" </dev/null >"$LOG" 2>&1 &
BUILD_PID=$!
set +m
# A compile takes minutes: say that it is alive and where it is.
while kill -0 "$BUILD_PID" 2>/dev/null; do
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		sleep 2
		kill -0 "$BUILD_PID" 2>/dev/null || break 2
	done
	say "building $LIB $RESOLVED_UPSTREAM: $(($(date +%s) - start))s, $(wc -l <"$LOG") log lines, last: $(tail -n 1 "$LOG" | cut -c1-100)"
done
if ! wait "$BUILD_PID"; then
	BUILD_PID=''
	tail -n 25 "$LOG" >&2
	die "building $LIB $RESOLVED_UPSTREAM failed (full log: $LOG)"
fi
BUILD_PID=''
version=$(recipe_verify "$PREFIX")
seconds=$(($(date +%s) - start))

# BUILDINFO is written last: its presence is what marks a finished prefix.
{
	echo "library: $LIB"
	echo "version: $version"
	echo "source_package: $RECIPE_SOURCE_PACKAGE"
	echo "source_version: $RESOLVED"
	echo "source: $UNPACKED_WITH"
	echo "flavor: $FLAVOR"
	echo "recipe: $RECIPE_SUM"
	echo "compiler: $("$RECIPE_CC" --version | head -n 1)"
	cat "$FACTS"
	echo "build_seconds: $seconds"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$PREFIX/BUILDINFO.tmp"
mv "$PREFIX/BUILDINFO.tmp" "$PREFIX/BUILDINFO"
finished=yes
rm -rf "$TREE"
say "built $LIB $version in ${seconds}s"
echo "$PREFIX"
