#!/usr/bin/env bash
# certs.sh: make throwaway test CAs and one leaf certificate per key type.
#
# The keys are generated on the machine that runs the tests and never
# committed: the certificates exist only so clients can verify the server
# (curl --cacert, not -k), which is what a real deployment pays for.  Every
# leaf comes with its intermediate, as a public CA issues it, so a server
# sends a realistic two-certificate chain and the handshake's bytes are
# those of a real site.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: suite/certs.sh [--force] [--openssl-pq PATH] DIR

Creates in DIR (made if missing):
  ca.pem                 the trust anchors for clients: the classical root
                         and, when made, the ML-DSA root
  <name>.pem, <name>.key a leaf for localhost, 127.0.0.1 and ::1 (SAN); the
                         .pem holds the leaf, then its intermediate
for <name> in: rsa2048 rsa3072 rsa4096 ecdsa-p256 ecdsa-p384 ed25519 mldsa65

The chains, each the same family from leaf to root as public CAs keep them:
  rsa*            <- intermediate RSA-2048    <- root RSA-2048
  ecdsa-*, ed25519 <- intermediate ECDSA P-384 <- root RSA-2048
  mldsa65         <- intermediate ML-DSA-65   <- root ML-DSA-65
(root-*.pem/.key and int-*.pem/.key hold the CAs).

ML-DSA needs OpenSSL 3.5 or later: the openssl on PATH when it is one, else
--openssl-pq PATH, else the tuned OpenSSL 3.6 when suite/libs/build.sh has
built it.  Without any, mldsa65 is skipped with a message (exit status 0).

Files already present are kept when they are still valid (the chain verifies
against the root, the leaf matches its key and nothing expires within a
day); anything else is made again.  A new CA re-issues what it signs.

  --force            make everything again
  --openssl-pq PATH  an openssl command of version 3.5 or later
  --help             this text
EOF
}

LEAVES="rsa2048 rsa3072 rsa4096 ecdsa-p256 ecdsa-p384 ed25519 mldsa65"
DAYS=3650
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"

# genpkey arguments for each key type (leaves and CAs)
key_args() {
	case "$1" in
	rsa2048) echo "-algorithm RSA -pkeyopt rsa_keygen_bits:2048" ;;
	rsa3072) echo "-algorithm RSA -pkeyopt rsa_keygen_bits:3072" ;;
	rsa4096) echo "-algorithm RSA -pkeyopt rsa_keygen_bits:4096" ;;
	ecdsa-p256) echo "-algorithm EC -pkeyopt ec_paramgen_curve:P-256" ;;
	ecdsa-p384) echo "-algorithm EC -pkeyopt ec_paramgen_curve:P-384" ;;
	ed25519) echo "-algorithm ED25519" ;;
	mldsa65) echo "-algorithm ML-DSA-65" ;;
	*) tb_die "unknown key type $1" ;;
	esac
}

# Which intermediate issues a leaf, and which root issues an intermediate.
issuer_of() {
	case "$1" in
	rsa*) echo int-rsa ;;
	ecdsa-* | ed25519) echo int-ecdsa ;;
	mldsa65) echo int-mldsa65 ;;
	int-rsa | int-ecdsa) echo root-rsa ;;
	int-mldsa65) echo root-mldsa65 ;;
	esac
}

# The key type of a CA.
ca_key() {
	case "$1" in
	root-rsa | int-rsa) echo rsa2048 ;;
	int-ecdsa) echo ecdsa-p384 ;;
	*-mldsa65) echo mldsa65 ;;
	esac
}

# The openssl that handles a key type: ML-DSA needs 3.5+.
ossl() {
	case "$1" in
	*mldsa65) echo "$OPENSSL_PQ" ;;
	*) echo openssl ;;
	esac
}

# EdDSA and ML-DSA sign the certificate itself, without a digest.
digest_args() {
	case "$1" in
	ed25519 | mldsa65) ;;
	ecdsa-p384) echo "-sha384" ;;
	*) echo "-sha256" ;;
	esac
}

# 0 when the openssl command $1 is 3.5 or later (ML-DSA).
is_pq_openssl() {
	local v
	v=$("$1" version 2>/dev/null | awk '{ print $2 }') || return 1
	[[ $v =~ ^([0-9]+)\.([0-9]+) ]] || return 1
	((BASH_REMATCH[1] > 3 || (BASH_REMATCH[1] == 3 && BASH_REMATCH[2] >= 5)))
}

find_pq_openssl() {
	local prefix
	if [[ -n $OPENSSL_PQ ]]; then
		is_pq_openssl "$OPENSSL_PQ" ||
			tb_die "--openssl-pq $OPENSSL_PQ is not an openssl 3.5 or later"
		return 0
	fi
	if is_pq_openssl openssl; then
		OPENSSL_PQ=openssl
	elif prefix=$(bash "$HERE/libs/build.sh" --cached openssl 3.6 tuned \
		2>/dev/null) && is_pq_openssl "$prefix/bin/openssl"; then
		OPENSSL_PQ=$prefix/bin/openssl
	fi
}

# The public key of a certificate or a private key, for "do they match".
cert_pub() { "$(ossl "$2")" x509 -in "$1" -noout -pubkey 2>/dev/null; }
key_pub() { "$(ossl "$2")" pkey -in "$1" -pubout 2>/dev/null; }

# $dir/$name.pem (the certificate first, then what it needs up to the root)
# is valid when it holds want certificates, the chain verifies to
# $dir/$root.pem a day from now (so nothing in it expires within a day),
# and the first certificate matches $dir/$name.key.
valid() {
	local name=$1 root=$2 want=$3 o n
	o=$(ossl "$name")
	[[ -s "$dir/$name.pem" && -s "$dir/$name.key" ]] || return 1
	n=$(grep -c -- '-----BEGIN CERTIFICATE-----' "$dir/$name.pem") || true
	[[ $n == "$want" ]] || return 1
	"$o" verify -attime $(($(date +%s) + 86400)) -CAfile "$dir/$root.pem" \
		-untrusted "$dir/$name.pem" "$dir/$name.pem" >/dev/null 2>&1 ||
		return 1
	[[ "$(cert_pub "$dir/$name.pem" "$name")" == \
		"$(key_pub "$dir/$name.key" "$name")" ]]
}

# Write to a temporary name and rename, so an interrupted run never leaves
# a half-written file that a later run would take for valid.
install_pair() {
	local tmp=$1 name=$2
	chmod 600 "$tmp/key"
	mv -f "$tmp/key" "$dir/$name.key"
	mv -f "$tmp/pem" "$dir/$name.pem"
	rm -rf "$tmp"
}

make_root() {
	local name=$1 type tmp o cn
	type=$(ca_key "$name")
	o=$(ossl "$name")
	cn="tlsbench test CA"
	[[ $name == root-rsa ]] || cn="tlsbench test CA ${type^^}"
	tmp=$(mktemp -d "$dir/.$name.XXXXXX")
	# shellcheck disable=SC2046
	"$o" genpkey $(key_args "$type") -out "$tmp/key" 2>/dev/null
	# shellcheck disable=SC2046
	"$o" req -x509 -new -key "$tmp/key" $(digest_args "$type") \
		-days "$DAYS" -subj "/O=tlsbench test/CN=$cn" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=hash" -out "$tmp/pem" 2>/dev/null
	install_pair "$tmp" "$name"
}

# Signs $tmp/csr with CA ca into $tmp/crt, with the extensions in $tmp/ext.
sign() {
	local tmp=$1 ca=$2 o
	o=$(ossl "$ca")
	# shellcheck disable=SC2046
	"$o" x509 -req -in "$tmp/csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
		-set_serial "0x$("$o" rand -hex 16)" -days "$DAYS" \
		$(digest_args "$(ca_key "$ca")") -extfile "$tmp/ext" \
		-out "$tmp/crt" 2>/dev/null
}

# An intermediate (.pem: itself only, the root being the client's) or a
# leaf (.pem: itself, then its intermediate).
make_cert() {
	local name=$1 issuer type tmp o cn ext usage
	issuer=$(issuer_of "$name")
	if [[ $name == int-* ]]; then
		type=$(ca_key "$name")
		cn="tlsbench test intermediate ${type^^}"
		ext="basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign"
	else
		type=$name
		cn=localhost
		usage=digitalSignature
		[[ $name != rsa* ]] || usage+=,keyEncipherment
		ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,$usage
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
	fi
	o=$(ossl "$type")
	tmp=$(mktemp -d "$dir/.$name.XXXXXX")
	# shellcheck disable=SC2046
	"$o" genpkey $(key_args "$type") -out "$tmp/key" 2>/dev/null
	"$o" req -new -key "$tmp/key" -subj "/O=tlsbench test/CN=$cn" \
		-out "$tmp/csr" 2>/dev/null
	printf '%s\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' \
		"$ext" >"$tmp/ext"
	sign "$tmp" "$issuer"
	if [[ $name == int-* ]]; then
		mv "$tmp/crt" "$tmp/pem"
	else
		cat "$tmp/crt" "$dir/$issuer.pem" >"$tmp/pem"
	fi
	install_pair "$tmp" "$name"
}

force=0
dir=""
OPENSSL_PQ=""
while (($#)); do
	case "$1" in
	--help | -h)
		usage
		exit 0
		;;
	--force) force=1 ;;
	--openssl-pq)
		(($# > 1)) || tb_die "--openssl-pq needs a PATH (see --help)"
		OPENSSL_PQ=$2
		shift
		;;
	-*) tb_die "unknown option $1 (see --help)" ;;
	*)
		[[ -z $dir ]] || tb_die "one DIR only (see --help)"
		dir=$1
		;;
	esac
	shift
done
[[ -n $dir ]] || tb_die "missing DIR (usage: suite/certs.sh DIR)"
command -v openssl >/dev/null ||
	tb_die "openssl not found: apt-get install openssl"
mkdir -p "$dir" || tb_die "cannot create $dir"
find_pq_openssl
# `req` reads a configuration file; a tuned OpenSSL has none, and the
# system's must not change what is issued.
export OPENSSL_CONF="$dir/.openssl.cnf"
printf '[req]\ndistinguished_name = dn\n[dn]\n' >"$OPENSSL_CONF"

# Each CA is remade when invalid, and then so is everything below it.
made=0
remake=" "
for name in root-rsa root-mldsa65 int-rsa int-ecdsa int-mldsa65 $LEAVES; do
	if [[ $name == *mldsa65 && -z $OPENSSL_PQ ]]; then
		continue
	fi
	case "$name" in
	root-*) root=$name want=1 ;;
	int-*) root=$(issuer_of "$name") want=1 ;;
	*) root=$(issuer_of "$(issuer_of "$name")") want=2 ;;
	esac
	issuer=$(issuer_of "$name")
	if ((force)) || [[ $remake == *" $issuer "* ]] ||
		! valid "$name" "$root" "$want"; then
		if [[ $name == root-* ]]; then
			make_root "$name"
		else
			make_cert "$name"
		fi
		valid "$name" "$root" "$want" ||
			tb_die "$name.pem does not verify after issuing"
		remake+="$name "
		made=$((made + 1))
	fi
done
rm -f "$OPENSSL_CONF"

# The clients' trust anchors: every root there is.
roots=("$dir/root-rsa.pem")
[[ -s $dir/root-mldsa65.pem ]] && roots+=("$dir/root-mldsa65.pem")
cat "${roots[@]}" >"$dir/.ca.pem.tmp"
if cmp -s "$dir/.ca.pem.tmp" "$dir/ca.pem"; then
	rm -f "$dir/.ca.pem.tmp"
else
	mv -f "$dir/.ca.pem.tmp" "$dir/ca.pem"
fi
# ca.key belonged to the single CA of earlier layouts.
rm -f "$dir/ca.key"
if [[ -z $OPENSSL_PQ ]]; then
	echo "certs.sh: mldsa65 skipped: ML-DSA needs OpenSSL 3.5 or later" \
		"(openssl on PATH is $(openssl version | awk '{ print $2 }');" \
		"give --openssl-pq PATH, or build one with" \
		"suite/libs/build.sh openssl 3.6 tuned)" >&2
fi
echo "certs.sh: $dir ready ($made made, trust anchors $dir/ca.pem)"
