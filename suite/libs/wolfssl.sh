# wolfssl.sh: wolfSSL with its x86_64 assembly.  Sourced by build.sh.
#
# wolfSSL's own performance guidance for x86_64 servers: Intel assembly
# (--enable-intelasm: AES-NI, AVX1/AVX2 for AES-GCM, SHA and ChaCha/Poly),
# SP math with its x86_64 assembly for RSA, ECC P-256/P-384 and DH, and
# TLS 1.3 with tickets and X25519.  Debian builds `--enable-distro
# --disable-asm`, which keeps the features and drops every one of these.
# SNI and ALPN are on so a client that sends them sees what it sees with
# Debian's build.  The OpenSSL compatibility layer (--enable-opensslextra) is
# on as in Debian's build: without it wolfSSL cannot restrict the TLS 1.2 key
# exchange groups (backends/wolfssl.c refuses --groups unless --tls-min 1.3),
# and with it the backend takes the same code path for both flavors.
# ML-KEM with its hybrid TLS groups (X25519MLKEM768, SecP256r1MLKEM768,
# SecP384r1MLKEM1024) and ML-DSA certificates are what a post-quantum
# handshake costs: named here rather than left to defaults that move
# between releases (5.9 turns ML-KEM on by default, ML-DSA off).
# --enable-bigcache makes the compile-time server session cache 20,027
# sessions instead of 33, as near to the session policy's 20,480 as
# wolfSSL's fixed sizes get.  TLS 1.3 early data (--enable-earlydata, off
# by default) is what the server's --early-data needs.  The release
# tarball is a tag snapshot without configure, hence autogen.sh.
# shellcheck shell=bash disable=SC2034  # RECIPE_* are read by build.sh

RECIPE_SOURCE_PACKAGE=wolfssl
RECIPE_DEBIAN_PACKAGE=libwolfssl-dev
RECIPE_NEEDS_DEBIAN_DIR=
RECIPE_TOOLS="autoconf:autoconf automake:automake libtoolize:libtool make:make gcc:gcc pkg-config:pkg-config"
RECIPE_CC=gcc

WOLFSSL_CONFIGURE_FLAGS=(
	--enable-intelasm --enable-aesni
	--enable-sp=yes --enable-sp-asm --enable-sp-math-all
	--enable-tls13 --enable-session-ticket --enable-supportedcurves
	--enable-earlydata
	--enable-ecc --enable-curve25519 --enable-ed25519
	--enable-sni --enable-alpn --enable-opensslextra
	--enable-harden
	--enable-mlkem --enable-pqc-hybrids --enable-mldsa
	--enable-bigcache
	--disable-examples --disable-crypttests --disable-benchmark
)

# What tlsbench's backend and a fair comparison need from the build, checked
# through wolfSSL's own settings.h (some are derived there, not in options.h).
WOLFSSL_REQUIRED_MACROS="WOLFSSL_TLS13 WOLFSSL_EARLY_DATA HAVE_SESSION_TICKET HAVE_TLS_EXTENSIONS
HAVE_SUPPORTED_CURVES HAVE_SNI HAVE_ALPN HAVE_ECC HAVE_CURVE25519 HAVE_AESGCM
WC_RSA_PSS WOLFSSL_AESNI WOLFSSL_SP_MATH_ALL WOLFSSL_HAVE_SP_RSA
WOLFSSL_HAVE_SP_ECC OPENSSL_EXTRA WOLFSSL_HAVE_MLKEM WOLFSSL_PQC_HYBRIDS
WOLFSSL_HAVE_MLDSA BIG_SESSION_CACHE"

# The assembly the flags exist for: configure silently drops it on a host it
# does not recognise, and then the build is Debian's again.
WOLFSSL_ASM_MACROS="WOLFSSL_SP_X86_64_ASM USE_INTEL_SPEEDUP"

recipe_build() {
	local src=$1 prefix=$2 flags
	fact configure "./configure --prefix=$prefix ${WOLFSSL_CONFIGURE_FLAGS[*]}"
	(cd "$src" && ./autogen.sh &&
		CC=gcc ./configure --prefix="$prefix" "${WOLFSSL_CONFIGURE_FLAGS[@]}") ||
		return 1
	# configure picks the optimisation and -m flags itself (CFLAGS and
	# AM_CFLAGS, among many warnings and -D feature macros): keep those.
	flags=$(sed -n 's/^\(AM_\)\{0,1\}CFLAGS = //p' "$src/Makefile")
	fact cflags "$(tr ' ' '\n' <<<"$flags" | grep -E '^-(O|m|f|g$)' |
		awk '!seen[$0]++' | paste -sd ' ')"
	make -C "$src" -j"$JOBS" || return 1
	make -C "$src" install
}

# Prints the installed version.
recipe_verify() {
	local prefix=$1 version m missing="" probe
	version=$(sed -n 's/^#define LIBWOLFSSL_VERSION_STRING "\(.*\)"/\1/p' \
		"$prefix/include/wolfssl/version.h")
	[[ -n "$version" ]] || die "no LIBWOLFSSL_VERSION_STRING in $prefix/include/wolfssl/version.h"
	for m in $WOLFSSL_ASM_MACROS; do
		grep -qE "^#define $m\b" "$prefix/include/wolfssl/options.h" ||
			missing+=" $m"
	done
	[[ -z "$missing" ]] ||
		die "$prefix/include/wolfssl/options.h lacks$missing: configure dropped the x86_64 assembly (see the build log)"
	probe="#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>"
	for m in $WOLFSSL_REQUIRED_MACROS; do
		probe+="
#ifndef $m
#error missing $m
#endif"
	done
	gcc -fsyntax-only -I"$prefix/include" -x c - <<<"$probe" 2>"$WORK/probe.err" || {
		missing=$(sed -n 's/.*#error missing \(.*\)/\1/p' "$WORK/probe.err" | tr '\n' ' ')
		die "wolfSSL in $prefix lacks: ${missing:-see $WORK/probe.err}"
	}
	[[ -e "$prefix/lib/pkgconfig/wolfssl.pc" ]] ||
		die "$prefix/lib/pkgconfig/wolfssl.pc missing"
	compgen -G "$prefix/lib/libwolfssl.so.*" >/dev/null ||
		die "$prefix/lib has no libwolfssl.so.*"
	echo "$version"
}
