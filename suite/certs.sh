#!/usr/bin/env bash
# certs.sh: make a throwaway test CA and one leaf certificate per key type.
#
# The keys are generated on the machine that runs the tests and never
# committed: the certificates exist only so clients can verify the server
# (curl --cacert, not -k), which is what a real deployment pays for.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: suite/certs.sh [--force] DIR

Creates in DIR (made if missing) with the openssl command:
  ca.pem, ca.key            a test CA (RSA 2048), the trust root for clients
  <name>.pem, <name>.key    a leaf for localhost, 127.0.0.1 and ::1 (SAN),
                            signed by the CA; the .pem holds the leaf only
for <name> in: rsa2048 rsa4096 ecdsa-p256 ecdsa-p384 ed25519

Files already present are kept when they are still valid (the leaf verifies
against ca.pem, matches its key and does not expire within a day); anything
else is made again.  A new CA re-issues every leaf.

  --force    make everything again
  --help     this text
EOF
}

LEAVES="rsa2048 rsa4096 ecdsa-p256 ecdsa-p384 ed25519"
DAYS=3650

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"

# genpkey arguments for each key type
key_args() {
	case "$1" in
	rsa2048) echo "-algorithm RSA -pkeyopt rsa_keygen_bits:2048" ;;
	rsa4096) echo "-algorithm RSA -pkeyopt rsa_keygen_bits:4096" ;;
	ecdsa-p256) echo "-algorithm EC -pkeyopt ec_paramgen_curve:P-256" ;;
	ecdsa-p384) echo "-algorithm EC -pkeyopt ec_paramgen_curve:P-384" ;;
	ed25519) echo "-algorithm ED25519" ;;
	*) tb_die "unknown key type $1" ;;
	esac
}

# The public key of a certificate or a private key, for "do they match".
cert_pub() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }
key_pub() { openssl pkey -in "$1" -pubout 2>/dev/null; }

ca_valid() {
	[[ -s "$dir/ca.pem" && -s "$dir/ca.key" ]] || return 1
	openssl x509 -in "$dir/ca.pem" -noout -checkend 86400 >/dev/null 2>&1 ||
		return 1
	[[ "$(cert_pub "$dir/ca.pem")" == "$(key_pub "$dir/ca.key")" ]]
}

leaf_valid() {
	local name=$1
	[[ -s "$dir/$name.pem" && -s "$dir/$name.key" ]] || return 1
	openssl verify -CAfile "$dir/ca.pem" "$dir/$name.pem" >/dev/null 2>&1 ||
		return 1
	openssl x509 -in "$dir/$name.pem" -noout -checkend 86400 \
		>/dev/null 2>&1 || return 1
	[[ "$(cert_pub "$dir/$name.pem")" == "$(key_pub "$dir/$name.key")" ]]
}

# Write to a temporary name and rename, so an interrupted run never leaves
# a half-written file that a later run would take for valid.
make_ca() {
	local tmp
	tmp=$(mktemp -d "$dir/.ca.XXXXXX")
	# shellcheck disable=SC2046
	openssl genpkey $(key_args rsa2048) -out "$tmp/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days "$DAYS" \
		-subj "/O=tlsbench test/CN=tlsbench test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=hash" \
		-out "$tmp/ca.pem" 2>/dev/null
	chmod 600 "$tmp/ca.key"
	mv -f "$tmp/ca.key" "$dir/ca.key"
	mv -f "$tmp/ca.pem" "$dir/ca.pem"
	rmdir "$tmp"
}

make_leaf() {
	local name=$1 tmp usage="digitalSignature"
	[[ $name == rsa* ]] && usage="digitalSignature,keyEncipherment"
	tmp=$(mktemp -d "$dir/.$name.XXXXXX")
	# shellcheck disable=SC2046
	openssl genpkey $(key_args "$name") -out "$tmp/leaf.key" 2>/dev/null
	openssl req -new -key "$tmp/leaf.key" \
		-subj "/O=tlsbench test/CN=localhost" -out "$tmp/leaf.csr" \
		2>/dev/null
	cat >"$tmp/ext.cnf" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,$usage
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
	openssl x509 -req -in "$tmp/leaf.csr" -CA "$dir/ca.pem" \
		-CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
		-days "$DAYS" -sha256 -extfile "$tmp/ext.cnf" \
		-out "$tmp/leaf.pem" 2>/dev/null
	chmod 600 "$tmp/leaf.key"
	mv -f "$tmp/leaf.key" "$dir/$name.key"
	mv -f "$tmp/leaf.pem" "$dir/$name.pem"
	rm -rf "$tmp"
}

force=0
dir=""
while (($#)); do
	case "$1" in
	--help | -h)
		usage
		exit 0
		;;
	--force) force=1 ;;
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

made=0
if ((force)) || ! ca_valid; then
	make_ca
	force=1 # every leaf must be signed by the new CA
	made=$((made + 1))
fi
for name in $LEAVES; do
	if ((force)) || ! leaf_valid "$name"; then
		make_leaf "$name"
		leaf_valid "$name" || tb_die "$name.pem does not verify after issuing"
		made=$((made + 1))
	fi
done
echo "certs.sh: $dir ready ($made made, CA $dir/ca.pem)"
