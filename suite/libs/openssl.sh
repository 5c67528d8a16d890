# openssl.sh: OpenSSL as upstream releases it.  Sourced by build.sh.
#
# Upstream's default Configure is already its performance build: -O3, every
# assembly module, run-time CPU dispatch (AES-NI, VAES, AVX-512 IFMA for RSA).
# We only leave out what a benchmark never runs (tests, manual pages) and add
# an rpath so the prefix's own `openssl` command (speed, s_client) loads the
# prefix's libraries rather than Debian's libssl.so.3 of the same soname.
# shellcheck shell=bash disable=SC2034  # RECIPE_* are read by build.sh

RECIPE_SOURCE_PACKAGE=openssl
RECIPE_DEBIAN_PACKAGE=libssl-dev
RECIPE_NEEDS_DEBIAN_DIR=
RECIPE_TOOLS="perl:perl make:make gcc:gcc"
RECIPE_CC=gcc

recipe_build() {
	local src=$1 prefix=$2 opts
	opts=(--prefix="$prefix" --libdir=lib no-tests shared linux-x86_64)
	# no-docs exists from 3.2 on; older releases build no manuals in build_sw
	grep -q '"docs"' "$src/Configure" && opts+=(no-docs)
	opts+=("-Wl,-rpath,$prefix/lib" "-Wl,--disable-new-dtags")
	fact configure "./Configure ${opts[*]}"
	(cd "$src" && CC=gcc ./Configure "${opts[@]}") || return 1
	fact cflags "$(sed -n 's/^CFLAGS=//p' "$src/Makefile" | head -n 1)"
	make -C "$src" -j"$JOBS" build_sw || return 1
	make -C "$src" install_sw
}

# Prints the installed version.
recipe_verify() {
	local prefix=$1 version out
	version=$(sed -n 's/^# *define OPENSSL_FULL_VERSION_STR "\(.*\)"/\1/p' \
		"$prefix/include/openssl/opensslv.h")
	[[ -n "$version" ]] || die "no OPENSSL_FULL_VERSION_STR in $prefix/include/openssl/opensslv.h"
	[[ -e "$prefix/lib/libssl.so.3" && -e "$prefix/lib/libcrypto.so.3" ]] ||
		die "$prefix/lib has no libssl.so.3 and libcrypto.so.3"
	# The rpath must beat Debian's libssl.so.3, even with LD_LIBRARY_PATH set.
	out=$(LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu ldd "$prefix/bin/openssl")
	grep -q "libcrypto.so.3 => $prefix/lib/" <<<"$out" ||
		die "$prefix/bin/openssl does not load $prefix/lib/libcrypto.so.3: $out"
	out=$("$prefix/bin/openssl" version)
	[[ "$out" == "OpenSSL $version "* ]] ||
		die "$prefix/bin/openssl version says '$out', expected $version"
	echo "$version"
}
