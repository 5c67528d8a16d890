# boringssl.sh: BoringSSL through the Debian package's own makefiles, without
# OPENSSL_SMALL.  Sourced by build.sh.
#
# Upstream's CMake build wants Go to generate its error tables; Debian's
# debian/libcrypto.mk and debian/libssl.mk need only a C/C++ compiler (the
# x86_64 assembly comes pre-generated).  Debian adds -DOPENSSL_SMALL, which
# drops the fast P-256 code (p256-nistz) and precomputed tables: a 3.4x
# slower ECDSA sign.  The tuned build keeps Debian's defines except that one
# and compiles as upstream's Release build does (-O3, NDEBUG), with clang as
# debian/rules does.
#
# The sonames are Debian's (libcrypto.so.0, libssl.so.0) and libssl.mk adds
# Debian's /usr/lib/x86_64-linux-gnu/android to the rpath, so our LDFLAGS
# put the prefix's lib/ in front of it (the makefiles append with +=) and the
# install is checked to load the prefix's libcrypto.
# shellcheck shell=bash disable=SC2034  # RECIPE_* are read by build.sh

RECIPE_SOURCE_PACKAGE=android-platform-external-boringssl
RECIPE_DEBIAN_PACKAGE=android-libboringssl-dev
RECIPE_NEEDS_DEBIAN_DIR=yes
RECIPE_TOOLS="clang:clang clang++:clang make:make readelf:binutils nm:binutils"
RECIPE_CC=clang

BORINGSSL_CPPFLAGS="-DNDEBUG -UDEBUG -DBORINGSSL_ANDROID_SYSTEM
-DBORINGSSL_IMPLEMENTATION -DBORINGSSL_SHARED_LIBRARY -fmessage-length=0
-fno-exceptions -fno-strict-aliasing -no-canonical-prefixes"
BORINGSSL_CPPFLAGS=${BORINGSSL_CPPFLAGS//$'\n'/ }
BORINGSSL_CFLAGS="-O3 -fPIC -std=gnu17"
BORINGSSL_CXXFLAGS="-O3 -fPIC -std=gnu++2a"

recipe_build() {
	local src=$1 prefix=$2 ldflags
	ldflags="-fPIC -Wl,-rpath,$prefix/lib -Wl,--disable-new-dtags"
	fact configure "make -f debian/libcrypto.mk; make -f debian/libssl.mk (DEB_HOST_ARCH=amd64)"
	fact cflags "CFLAGS=$BORINGSSL_CFLAGS CXXFLAGS=$BORINGSSL_CXXFLAGS CPPFLAGS=$BORINGSSL_CPPFLAGS LDFLAGS=$ldflags"
	# Invisible in the headers, so said here for the server's --version.
	fact openssl_small no
	# debian/out/ from an earlier run would be linked as is: start clean.
	[[ ! -e "$src/debian/out" ]] ||
		die "$src/debian/out exists: the source tree is not fresh"
	(
		cd "$src"
		export CC=clang CXX=clang++ CFLAGS="$BORINGSSL_CFLAGS" \
			CXXFLAGS="$BORINGSSL_CXXFLAGS" CPPFLAGS="$BORINGSSL_CPPFLAGS" \
			LDFLAGS="$ldflags"
		make -j"$JOBS" -f debian/libcrypto.mk DEB_HOST_ARCH=amd64 \
			DEB_HOST_MULTIARCH=x86_64-linux-gnu build
		make -j"$JOBS" -f debian/libssl.mk DEB_HOST_ARCH=amd64 \
			DEB_HOST_MULTIARCH=x86_64-linux-gnu build
	) || return 1
	mkdir -p "$prefix/include" "$prefix/lib"
	cp -a "$src/src/include/openssl" "$prefix/include/"
	cp -a "$src/debian/out/libcrypto.so.0" "$src/debian/out/libssl.so.0" \
		"$prefix/lib/"
	ln -sf libcrypto.so.0 "$prefix/lib/libcrypto.so"
	ln -sf libssl.so.0 "$prefix/lib/libssl.so"
}

# Prints the installed version (BoringSSL has none of its own: Debian's
# upstream version names the Android release it was cut from).
recipe_verify() {
	local prefix=$1 rpath out
	rpath=$(readelf -d "$prefix/lib/libssl.so.0" |
		sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p')
	[[ "${rpath%%:*}" == "$prefix/lib" ]] ||
		die "libssl.so.0's rpath is '$rpath': $prefix/lib must come first"
	# Even with Debian's directory in LD_LIBRARY_PATH the prefix must win.
	out=$(LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/android \
		ldd "$prefix/lib/libssl.so.0")
	grep -q "libcrypto.so.0 => $prefix/lib/libcrypto.so.0" <<<"$out" ||
		die "$prefix/lib/libssl.so.0 does not load the prefix's libcrypto: $out"
	# p256-nistz is compiled only without OPENSSL_SMALL.
	out=$(nm "$prefix/lib/libcrypto.so.0" 2>/dev/null || true)
	grep -q 'EC_GFp_nistz256_method' <<<"$out" ||
		die "$prefix/lib/libcrypto.so.0 lacks the p256-nistz code: built with OPENSSL_SMALL?"
	echo "$RESOLVED_UPSTREAM"
}
