/* boringssl_floor.c: tb_tls_bench_crypto on BoringSSL, the public-key work
 * of one full TLS 1.3 handshake timed through the library itself. */
#include <openssl/base.h>

#ifndef OPENSSL_IS_BORINGSSL
#error "backends/boringssl_floor.c needs BoringSSL headers (-Dtls=boringssl)"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "boringssl_names.h"
#include "tls.h"

enum { WARMUP_ITERATIONS = 8 };

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* How a TLS 1.3 server signs with this key (CertificateVerify). */
struct signer {
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *pctx; /* RSA-PSS and ECDSA: sign a digest */
	EVP_MD_CTX *md_ctx; /* Ed25519: sign the message itself */
	uint8_t digest[64];
	size_t digest_len;
	uint8_t *sig;
	size_t sig_cap;
};

static int
signer_init(struct signer *s, const char *key_file, const char **alg, char *err,
	    size_t errlen)
{
	char lib[160];
	const EVP_MD *md = EVP_sha256();
	BIO *bio = BIO_new_file(key_file, "r");
	int type;

	if (bio != NULL)
		s->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (s->pkey == NULL) {
		snprintf(err, errlen, "cannot read private key %s: %s",
			 key_file, lib_error(lib, sizeof(lib)));
		return 0;
	}
	type = EVP_PKEY_id(s->pkey);
	s->sig_cap = (size_t)EVP_PKEY_size(s->pkey);
	s->sig = malloc(s->sig_cap);
	RAND_bytes(s->digest, sizeof(s->digest));
	s->digest_len = 32;
	if (s->sig == NULL) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	if (type == EVP_PKEY_ED25519) {
		*alg = "ed25519";
		s->md_ctx = EVP_MD_CTX_new();
		if (s->md_ctx == NULL)
			snprintf(err, errlen, "out of memory");
		return s->md_ctx != NULL;
	}
	if (type == EVP_PKEY_RSA) {
		*alg = "rsa_pss_rsae_sha256";
	} else if (type == EVP_PKEY_EC) {
		const EC_GROUP *g =
			EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(s->pkey));
		unsigned bits = EC_GROUP_get_degree(g);

		/* TLS 1.3 ties the hash to the curve. */
		if (bits <= 256) {
			*alg = "ecdsa_secp256r1_sha256";
		} else if (bits <= 384) {
			*alg = "ecdsa_secp384r1_sha384";
			md = EVP_sha384();
			s->digest_len = 48;
		} else {
			*alg = "ecdsa_secp521r1_sha512";
			md = EVP_sha512();
			s->digest_len = 64;
		}
	} else {
		snprintf(err, errlen, "%s: key type %d has no TLS 1.3 scheme",
			 key_file, type);
		return 0;
	}
	s->pctx = EVP_PKEY_CTX_new(s->pkey, NULL);
	if (s->pctx == NULL || EVP_PKEY_sign_init(s->pctx) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(s->pctx, md) <= 0 ||
	    (type == EVP_PKEY_RSA &&
	     (EVP_PKEY_CTX_set_rsa_padding(s->pctx, RSA_PKCS1_PSS_PADDING) <=
		      0 ||
	      /* -1: salt as long as the hash, as TLS 1.3 requires */
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(s->pctx, -1) <= 0))) {
		snprintf(err, errlen, "cannot set up signing with %s: %s",
			 key_file, lib_error(lib, sizeof(lib)));
		return 0;
	}
	return 1;
}

static int
signer_sign(struct signer *s)
{
	size_t len = s->sig_cap;

	if (s->md_ctx != NULL)
		return EVP_DigestSignInit(s->md_ctx, NULL, NULL, NULL,
					  s->pkey) == 1 &&
		       EVP_DigestSign(s->md_ctx, s->sig, &len, s->digest,
				      s->digest_len) == 1;
	return EVP_PKEY_sign(s->pctx, s->sig, &len, s->digest, s->digest_len) ==
	       1;
}

static void
signer_free(struct signer *s)
{
	EVP_MD_CTX_free(s->md_ctx);
	EVP_PKEY_CTX_free(s->pctx);
	EVP_PKEY_free(s->pkey);
	free(s->sig);
}

/* A key exchange group as the server meets it: the client's share arrives
 * as bytes, one per handshake and never repeated (a repeated peer point
 * flatters libraries that cache it). */
struct kex {
	const char *name;
	int nid; /* NID_undef for X25519 */
	size_t share_len;
	uint8_t *peers; /* iterations * share_len */
	EC_GROUP *group;
};

static int
kex_lookup(struct kex *k, const char *name)
{
	static const struct {
		const char *alias;
		const char *name;
		int nid;
		size_t share_len;
	} table[] = {
		{"X25519", "X25519", NID_undef, 32},
		{"P-256", "P-256", NID_X9_62_prime256v1, 65},
		{"prime256v1", "P-256", NID_X9_62_prime256v1, 65},
		{"secp256r1", "P-256", NID_X9_62_prime256v1, 65},
		{"P-384", "P-384", NID_secp384r1, 97},
		{"secp384r1", "P-384", NID_secp384r1, 97},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcasecmp(name, table[i].alias) == 0) {
			k->name = table[i].name;
			k->nid = table[i].nid;
			k->share_len = table[i].share_len;
			return 1;
		}
	}
	return 0;
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
kex_make_peers(struct kex *k, unsigned count)
{
	uint8_t priv[32];

	k->peers = malloc((size_t)count * k->share_len);
	if (k->peers == NULL)
		return 0;
	for (unsigned i = 0; i < count; i++) {
		uint8_t *share = k->peers + (size_t)i * k->share_len;
		EC_KEY *key;
		int ok;

		if (k->nid == NID_undef) {
			X25519_keypair(share, priv);
			continue;
		}
		key = EC_KEY_new_by_curve_name(k->nid);
		ok = key != NULL && EC_KEY_generate_key(key) &&
		     ec_share(key, share, k->share_len);
		if (ok && k->group == NULL)
			k->group = EC_GROUP_new_by_curve_name(k->nid);
		EC_KEY_free(key);
		if (!ok || k->group == NULL)
			return 0;
	}
	return 1;
}

/* One server key share plus the shared secret against peer share i. */
static int
kex_once(const struct kex *k, unsigned i)
{
	const uint8_t *peer = k->peers + (size_t)i * k->share_len;
	uint8_t share[97], secret[48];
	EC_POINT *point;
	EC_KEY *key;
	int ok;

	if (k->nid == NID_undef) {
		uint8_t priv[32];

		X25519_keypair(share, priv);
		return X25519(secret, priv, peer);
	}
	point = EC_POINT_new(k->group);
	key = EC_KEY_new_by_curve_name(k->nid);
	ok = point != NULL && key != NULL &&
	     EC_POINT_oct2point(k->group, point, peer, k->share_len, NULL) &&
	     EC_KEY_generate_key(key) && ec_share(key, share, k->share_len) &&
	     ECDH_compute_key(secret, sizeof(secret), point, key, NULL) > 0;
	EC_KEY_free(key);
	EC_POINT_free(point);
	return ok;
}

int
tb_tls_bench_crypto(const char *key_file, const char *group,
		    unsigned iterations, struct tb_crypto_floor *out, char *err,
		    size_t errlen)
{
	struct signer s = {0};
	struct kex k = {0};
	const char *alg = "-";
	char lib[160];
	double t0;
	int ok = 0;
	unsigned i;

	if (iterations == 0) {
		snprintf(err, errlen, "bench_crypto: iterations must be > 0");
		return -1;
	}
	if (!kex_lookup(&k, group != NULL ? group : "X25519")) {
		snprintf(err, errlen,
			 "group \"%s\" not benchmarked "
			 "(X25519, P-256, P-384)",
			 group);
		return -1;
	}
	ERR_clear_error();
	if (!signer_init(&s, key_file, &alg, err, errlen))
		goto done;
	if (!kex_make_peers(&k, iterations)) {
		snprintf(err, errlen, "cannot generate %u %s peer keys: %s",
			 iterations, k.name, lib_error(lib, sizeof(lib)));
		goto done;
	}
	for (i = 0; i < WARMUP_ITERATIONS; i++)
		if (!signer_sign(&s) || !kex_once(&k, i % iterations))
			break;
	if (i < WARMUP_ITERATIONS) {
		snprintf(err, errlen, "%s / %s failed: %s", alg, k.name,
			 lib_error(lib, sizeof(lib)));
		goto done;
	}

	t0 = now_us();
	for (i = 0; i < iterations && signer_sign(&s); i++)
		;
	out->sign_us = (now_us() - t0) / iterations;
	if (i < iterations) {
		snprintf(err, errlen, "signing with %s failed: %s", key_file,
			 lib_error(lib, sizeof(lib)));
		goto done;
	}
	t0 = now_us();
	for (i = 0; i < iterations && kex_once(&k, i); i++)
		;
	out->kex_us = (now_us() - t0) / iterations;
	if (i < iterations) {
		snprintf(err, errlen, "%s key exchange failed: %s", k.name,
			 lib_error(lib, sizeof(lib)));
		goto done;
	}
	out->sig_alg = alg;
	out->group = k.name;
	out->iterations = iterations;
	ok = 1;
done:
	signer_free(&s);
	free(k.peers);
	EC_GROUP_free(k.group);
	return ok ? 0 : -1;
}
