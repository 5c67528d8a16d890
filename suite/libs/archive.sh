# archive.sh: Debian's source archive through a private apt configuration.
# Sourced by build.sh; needs die, say and WORK set.
#
# apt reads only the files named here (a sources list, an index and a cache
# under $WORK/apt), so the machine's own apt state is never touched.  The
# mirror is the one the machine already uses, read from its apt sources at
# run time: CI machines reach that mirror and nothing else.  apt checks the
# archive's signatures with Debian's keyring (signed-by), so every file it
# hands us matches a hash in a signed index.
# shellcheck shell=bash disable=SC2034  # UNPACKED_WITH, APT_OPTS: read by build.sh

ARCHIVE_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
ARCHIVE_INDEX_MAX_AGE=86400 # seconds before the private index is refreshed

# "URI SUITE" for every enabled Debian entry of the system's sources, both the
# one-line format (sources.list, *.list) and deb822 (*.sources).
system_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -r "$f" ]] || continue
		awk '$1 == "deb" || $1 == "deb-src" {
			i = 2
			if ($i ~ /^\[/) while ($i !~ /\]$/) i++
			if ($i ~ /^\[/ || $i ~ /\]$/) i++
			print $i, $(i + 1)
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r "$f" ]] || continue
		awk 'function flush(  u, s, nu, ns, i, j) {
			if (enabled != "no" && uris != "" && suites != "") {
				nu = split(uris, u, " "); ns = split(suites, s, " ")
				for (i = 1; i <= nu; i++)
					for (j = 1; j <= ns; j++) print u[i], s[j]
			}
			uris = ""; suites = ""; enabled = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		tolower($1) == "uris:" { $1 = ""; uris = $0 }
		tolower($1) == "suites:" { $1 = ""; suites = $0 }
		tolower($1) == "enabled:" { enabled = tolower($2) }
		END { flush() }' "$f"
	done
}

# The mirror URIs the machine uses for the release and for its security
# suite, e.g. http://HOST/debian and http://HOST/debian-security.
archive_mirrors() {
	local codename entries
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[[ -n "$codename" ]] || die "no VERSION_CODENAME in /etc/os-release: not a Debian system?"
	entries=$(system_sources | sort -u)
	MIRROR=$(awk -v s="$codename" '$2 == s { print $1; exit }' <<<"$entries")
	SECURITY_MIRROR=$(awk -v s="$codename-security" '$2 == s { print $1; exit }' <<<"$entries")
	[[ -n "$MIRROR" ]] || die "no '$codename' entry in /etc/apt/sources.list or /etc/apt/sources.list.d/: add the Debian mirror this machine uses"
	MIRROR=${MIRROR%/}
	SECURITY_MIRROR=${SECURITY_MIRROR%/}
}

# bookworm and its security suite carry the distro versions, trixie and sid
# the newer ones.
write_sources_list() {
	local list=$1 opt="[signed-by=$ARCHIVE_KEYRING]"
	{
		echo "# written by suite/libs/build.sh from the system's apt sources"
		echo "deb-src $opt $MIRROR bookworm main"
		[[ -z "$SECURITY_MIRROR" ]] ||
			echo "deb-src $opt $SECURITY_MIRROR bookworm-security main"
		echo "deb-src $opt $MIRROR trixie main"
		echo "deb-src $opt $MIRROR sid main"
	} >"$list"
}

archive_init() {
	local dir=$WORK/apt
	[[ -r "$ARCHIVE_KEYRING" ]] ||
		die "$ARCHIVE_KEYRING missing: apt-get install debian-archive-keyring"
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	archive_mirrors
	write_sources_list "$dir/sources.list.new"
	if cmp -s "$dir/sources.list.new" "$dir/sources.list"; then
		rm -f "$dir/sources.list.new"
	else
		mv "$dir/sources.list.new" "$dir/sources.list"
		rm -f "$dir/updated" # a new mirror needs a new index
	fi
	APT_OPTS=(-o "Dir::Etc::SourceList=$dir/sources.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$dir/lists"
		-o "Dir::Cache=$dir/cache"
		-o Dir::Etc::Preferences=/dev/null
		-o Dir::Etc::PreferencesParts=/dev/null)
}

# Refresh the private index when it is missing, older than a day, or when
# FORCE is given (a version the index does not know yet).
archive_update() {
	local force=${1:-} stamp=$WORK/apt/updated age
	if [[ -z "$force" && -e "$stamp" ]]; then
		age=$(($(date +%s) - $(stat -c %Y "$stamp")))
		((age < ARCHIVE_INDEX_MAX_AGE)) && return 0
	fi
	say "updating the private source index from $MIRROR"
	if ! (flock 8 && apt-get "${APT_OPTS[@]}" -q update) \
		8>"$WORK/apt/lock" >"$WORK/apt/update.log" 2>&1; then
		tail -n 5 "$WORK/apt/update.log" >&2
		die "apt-get update of the private index failed (log: $WORK/apt/update.log): check that $MIRROR is reachable"
	fi
	touch "$stamp"
}

# Debian versions of source package PKG in the index, newest first.
archive_versions() {
	local pkg=$1 out v sorted=() i j
	local -a vs
	out=$(apt-cache "${APT_OPTS[@]}" showsrc "$pkg" 2>/dev/null || true)
	# showsrc also lists sources that build a binary named PKG: keep PKG's.
	mapfile -t vs < <(awk -v p="$pkg" '
		/^Package: / { cur = $2 }
		/^Version: / && cur == p { print $2 }' <<<"$out" | sort -u)
	for v in "${vs[@]}"; do
		# insertion sort with dpkg's ordering (~, epochs, revisions)
		for ((i = 0; i < ${#sorted[@]}; i++)); do
			dpkg --compare-versions "$v" gt "${sorted[i]}" && break
		done
		sorted=("${sorted[@]:0:i}" "$v" "${sorted[@]:i}")
	done
	for j in "${sorted[@]}"; do echo "$j"; done
}

# The upstream part of a Debian version: no epoch, no revision.
upstream_of() {
	local v=${1#*:}
	echo "${v%-*}"
}

# Does upstream version UP fall under the requested VERSION prefix?  3.6
# matches 3.6.3 but not 3.60; 14 matches 14.0.0+r45.
version_matches() {
	local up=$1 want=$2
	[[ "$want" == latest || "$up" == "$want" ]] && return 0
	[[ "${up#"$want"}" != "$up" && "${up:${#want}:1}" =~ [.+~] ]]
}

# Fetch PKG=VER into DIR.  Succeeds when the upstream tarball arrived (and,
# when NEED_DEBIAN is set, the .dsc and Debian's tarball too): the index can
# list a version before the mirror serves its files.
archive_fetch() {
	local pkg=$1 ver=$2 dir=$3 need_debian=${4:-} log=$3/apt-source.log
	mkdir -p "$dir"
	# apt downloads as the unprivileged _apt user when it may write here.
	if [[ $(id -u) == 0 ]] && id _apt >/dev/null 2>&1; then
		chown _apt "$dir"
	fi
	(cd "$dir" && apt-get "${APT_OPTS[@]}" -q --only-source \
		source --download-only "$pkg=$ver") >"$log" 2>&1 || true
	compgen -G "$dir/*.orig.tar.*" >/dev/null || return 1
	[[ -z "$need_debian" ]] && return 0
	compgen -G "$dir/*.dsc" >/dev/null &&
		compgen -G "$dir/*.debian.tar.*" >/dev/null
}

# Unpack what archive_fetch got into DEST: dpkg-source (Debian's patches
# applied) when the .dsc arrived, else the upstream tarball as released.
# Sets UNPACKED_WITH for BUILDINFO.
archive_unpack() {
	local dir=$1 dest=$2 dsc orig
	rm -rf "$dest"
	mkdir -p "$(dirname "$dest")"
	dsc=$(compgen -G "$dir/*.dsc" | head -n 1 || true)
	if [[ -n "$dsc" && -n "$(compgen -G "$dir/*.debian.tar.*" || true)" ]]; then
		# The .dsc's OpenPGP signature needs the uploader's key (package
		# debian-keyring); apt has already matched the file against the
		# signed index, so dpkg-source's "No public key" is only a notice.
		dpkg-source -q --no-copy -x "$dsc" "$dest" \
			>"$dir/dpkg-source.log" 2>&1 ||
			die "dpkg-source -x $dsc failed (log: $dir/dpkg-source.log)"
		UNPACKED_WITH="dpkg-source -x (Debian's patches applied)"
		return 0
	fi
	orig=$(compgen -G "$dir/*.orig.tar.*" | head -n 1)
	mkdir -p "$dest"
	tar -C "$dest" --strip-components=1 -xf "$orig" ||
		die "cannot unpack $orig: remove $dir and run again"
	UNPACKED_WITH="upstream tarball only (the mirror did not serve the .dsc; Debian's patches not applied)"
}
