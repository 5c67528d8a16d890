/* boringssl_floor.c: the crypto floor's operations on BoringSSL (tls.h),
 * the primitives libssl itself uses for CertificateVerify and the key
 * share. */
#include <openssl/base.h>

#ifndef OPENSSL_IS_BORINGSSL
#error "backends/boringssl_floor.c needs BoringSSL headers (-Dtls=boringssl)"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/curve25519.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdh.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>	/* SSL_SIGN_*, SSL_CURVE_*: the IANA ids */
#ifdef SSL_CURVE_X25519KYBER768 /* API 19 */
#include <openssl/bytestring.h>
#include <openssl/kyber.h>
#define TB_KYBER_SHARE (32 + KYBER_PUBLIC_KEY_BYTES)
#endif

#include "boringssl_err.h"
#include "tls.h"

struct tb_floor {
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *pctx; /* RSA-PSS and ECDSA: sign a digest */
	EVP_MD_CTX *md_ctx; /* Ed25519: sign the message itself */
	uint8_t *sig;
	size_t sig_cap;
	int nid;   /* NID_undef for X25519 */
	int kyber; /* X25519Kyber768Draft00 */
	size_t share_len;
	uint8_t *peers; /* shares * share_len */
	EC_GROUP *group;
};

static int
signer_init(struct tb_floor *f, const char *key_file, uint16_t *sigalg,
	    char *err, size_t errlen)
{
	char lib[160];
	const EVP_MD *md = EVP_sha256();
	BIO *bio;
	int type;

	if (bssl_key_lacks(key_file, err, errlen))
		return 0;
	bio = BIO_new_file(key_file, "r");
	if (bio != NULL)
		f->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (f->pkey == NULL) {
		snprintf(err, errlen, "cannot read private key %s: %s",
			 key_file, lib_error(lib, sizeof(lib)));
		return 0;
	}
	type = EVP_PKEY_id(f->pkey);
	f->sig_cap = (size_t)EVP_PKEY_size(f->pkey);
	f->sig = malloc(f->sig_cap);
	if (f->sig == NULL) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	if (type == EVP_PKEY_ED25519) {
		*sigalg = SSL_SIGN_ED25519;
		f->md_ctx = EVP_MD_CTX_new();
		if (f->md_ctx == NULL)
			snprintf(err, errlen, "out of memory");
		return f->md_ctx != NULL;
	}
	if (type == EVP_PKEY_RSA) {
		*sigalg = SSL_SIGN_RSA_PSS_RSAE_SHA256;
	} else if (type == EVP_PKEY_EC) {
		/* TLS 1.3 ties the hash to the curve. */
		switch (EC_GROUP_get_curve_name(
			EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(f->pkey)))) {
		case NID_X9_62_prime256v1:
			*sigalg = SSL_SIGN_ECDSA_SECP256R1_SHA256;
			break;
		case NID_secp384r1:
			*sigalg = SSL_SIGN_ECDSA_SECP384R1_SHA384;
			md = EVP_sha384();
			break;
		case NID_secp521r1:
			*sigalg = SSL_SIGN_ECDSA_SECP521R1_SHA512;
			md = EVP_sha512();
			break;
		default:
			snprintf(err, errlen,
				 "%s: ECDSA curve without a TLS 1.3 scheme",
				 key_file);
			return 0;
		}
	} else {
		snprintf(err, errlen, "%s: key type %d has no TLS 1.3 scheme",
			 key_file, type);
		return 0;
	}
	f->pctx = EVP_PKEY_CTX_new(f->pkey, NULL);
	if (f->pctx == NULL || EVP_PKEY_sign_init(f->pctx) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(f->pctx, md) <= 0 ||
	    (type == EVP_PKEY_RSA &&
	     (EVP_PKEY_CTX_set_rsa_padding(f->pctx, RSA_PKCS1_PSS_PADDING) <=
		      0 ||
	      /* -1: salt as long as the hash, as TLS 1.3 requires */
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(f->pctx, -1) <= 0))) {
		snprintf(err, errlen, "cannot set up signing with %s: %s",
			 key_file, lib_error(lib, sizeof(lib)));
		return 0;
	}
	return 1;
}

int
tb_floor_sign(struct tb_floor *f, const uint8_t *digest, size_t len)
{
	size_t siglen = f->sig_cap;

	if (f->md_ctx != NULL)
		return EVP_DigestSignInit(f->md_ctx, NULL, NULL, NULL,
					  f->pkey) == 1 &&
				       EVP_DigestSign(f->md_ctx, f->sig,
						      &siglen, digest, len) == 1
			       ? 0
			       : -1;
	return EVP_PKEY_sign(f->pctx, f->sig, &siglen, digest, len) == 1 ? 0
									 : -1;
}

/* A public key share in wire form. */
static int
ec_share(const EC_KEY *key, uint8_t *out, size_t len)
{
	return EC_POINT_point2oct(
		       EC_KEY_get0_group(key), EC_KEY_get0_public_key(key),
		       POINT_CONVERSION_UNCOMPRESSED, out, len, NULL) == len;
}

static int
kex_init(struct tb_floor *f, uint16_t group, unsigned shares, char *err,
	 size_t errlen)
{
	char lib[160];
	uint8_t priv[32];

	switch (group) {
	case SSL_CURVE_X25519:
		f->nid = NID_undef;
		f->share_len = 32;
		break;
	case SSL_CURVE_SECP256R1:
		f->nid = NID_X9_62_prime256v1;
		f->share_len = 65;
		break;
	case SSL_CURVE_SECP384R1:
		f->nid = NID_secp384r1;
		f->share_len = 97;
		break;
	case SSL_CURVE_SECP521R1:
		f->nid = NID_secp521r1;
		f->share_len = 133;
		break;
#ifdef SSL_CURVE_X25519KYBER768
	case SSL_CURVE_X25519KYBER768:
		f->nid = NID_undef;
		f->kyber = 1;
		f->share_len = TB_KYBER_SHARE;
		break;
#endif
	default:
		if (!bssl_group_lacks(group, err, errlen))
			snprintf(err, errlen,
				 "group 0x%04x not benchmarked with BoringSSL "
				 "(X25519, P-256, P-384, P-521, "
				 "X25519Kyber768Draft00)",
				 group);
		return 0;
	}
	f->peers = malloc((size_t)shares * f->share_len);
	if (f->nid != NID_undef)
		f->group = EC_GROUP_new_by_curve_name(f->nid);
	if (f->peers == NULL || (f->nid != NID_undef && f->group == NULL))
		goto fail;
	for (unsigned i = 0; i < shares; i++) {
		uint8_t *share = f->peers + (size_t)i * f->share_len;
		EC_KEY *key;
		int ok;

		if (f->nid == NID_undef) {
			X25519_keypair(share, priv);
#ifdef SSL_CURVE_X25519KYBER768
			/* the draft's share: X25519's, then Kyber's key */
			if (f->kyber) {
				struct KYBER_private_key kpriv;

				KYBER_generate_key(share + 32, &kpriv);
			}
#endif
			continue;
		}
		key = EC_KEY_new_by_curve_name(f->nid);
		ok = key != NULL && EC_KEY_generate_key(key) &&
		     ec_share(key, share, f->share_len);
		EC_KEY_free(key);
		if (!ok)
			goto fail;
	}
	return 1;
fail:
	snprintf(err, errlen, "cannot make %u client shares: %s", shares,
		 lib_error(lib, sizeof(lib)));
	return 0;
}

#ifdef SSL_CURVE_X25519KYBER768
/* The server's X25519Kyber768Draft00 share, as libssl's
 * X25519Kyber768KeyShare::Encap: an X25519 key pair and secret, then
 * Kyber encapsulation to the client's key. */
static int
kyber_kex(const uint8_t *peer)
{
	uint8_t x_pub[32], x_priv[32], secret[64];
	uint8_t ct[KYBER_CIPHERTEXT_BYTES];
	struct KYBER_public_key kpub;
	CBS cbs;

	X25519_keypair(x_pub, x_priv);
	CBS_init(&cbs, peer + 32, KYBER_PUBLIC_KEY_BYTES);
	if (!X25519(secret, x_priv, peer) ||
	    !KYBER_parse_public_key(&kpub, &cbs))
		return -1;
	KYBER_encap(ct, secret + 32, sizeof(secret) - 32, &kpub);
	return 0;
}
#endif

int
tb_floor_kex(struct tb_floor *f, unsigned i)
{
	const uint8_t *peer = f->peers + (size_t)i * f->share_len;
	uint8_t share[133], secret[66];
	EC_POINT *point;
	EC_KEY *key;
	int ok;

#ifdef SSL_CURVE_X25519KYBER768
	if (f->kyber)
		return kyber_kex(peer);
#endif
	if (f->nid == NID_undef) {
		uint8_t priv[32];

		X25519_keypair(share, priv);
		return X25519(secret, priv, peer) ? 0 : -1;
	}
	point = EC_POINT_new(f->group);
	key = EC_KEY_new_by_curve_name(f->nid);
	ok = point != NULL && key != NULL &&
	     EC_POINT_oct2point(f->group, point, peer, f->share_len, NULL) &&
	     EC_KEY_generate_key(key) && ec_share(key, share, f->share_len) &&
	     ECDH_compute_key(secret, sizeof(secret), point, key, NULL) > 0;
	EC_KEY_free(key);
	EC_POINT_free(point);
	return ok ? 0 : -1;
}

struct tb_floor *
tb_floor_new(const char *key_file, uint16_t group, unsigned shares,
	     uint16_t *sigalg, char *err, size_t errlen)
{
	struct tb_floor *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	if (!signer_init(f, key_file, sigalg, err, errlen) ||
	    !kex_init(f, group, shares, err, errlen)) {
		tb_floor_free(f);
		return NULL;
	}
	return f;
}

void
tb_floor_free(struct tb_floor *f)
{
	if (f == NULL)
		return;
	EVP_MD_CTX_free(f->md_ctx);
	EVP_PKEY_CTX_free(f->pctx);
	EVP_PKEY_free(f->pkey);
	free(f->sig);
	free(f->peers);
	EC_GROUP_free(f->group);
	free(f);
}
