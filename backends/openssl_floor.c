/* openssl_floor.c: tb_tls_bench_crypto on OpenSSL 3, the public-key work
 * of one full TLS 1.3 handshake timed through libcrypto. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

/* BoringSSL and LibreSSL headers define OPENSSL_VERSION_NUMBER too. */
#if !defined(OPENSSL_VERSION_NUMBER) || defined(OPENSSL_IS_BORINGSSL) ||       \
	defined(LIBRESSL_VERSION_NUMBER) ||                                    \
	OPENSSL_VERSION_NUMBER < 0x30000000L
#error "backends/openssl_floor.c needs OpenSSL 3 headers (-Dtls=openssl)"
#endif

#include "openssl_names.h"
#include "tls.h"

enum { WARMUP_ITERATIONS = 8 };

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CertificateVerify: RSA-PSS and ECDSA sign a digest through a context
 * set up once (the primitive, not OpenSSL 3's per-call setup); EdDSA
 * has no prehash form and signs the 32 bytes as its message. */
struct signer {
	const char *alg;
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *pctx;
	EVP_MD_CTX *md_ctx;
	unsigned char digest[64];
	size_t digest_len;
	unsigned char *sig;
	size_t sig_cap;
};

static int
signer_plan(struct signer *s, const EVP_MD **md, int *pss, char *err,
	    size_t errlen)
{
	char curve[64] = "";

	*md = EVP_sha256();
	*pss = 0;
	s->digest_len = 32;
	if (EVP_PKEY_is_a(s->pkey, "RSA")) {
		s->alg = "rsa_pss_rsae_sha256";
		*pss = 1;
	} else if (EVP_PKEY_is_a(s->pkey, "RSA-PSS")) {
		s->alg = "rsa_pss_pss_sha256";
		*pss = 1;
	} else if (EVP_PKEY_is_a(s->pkey, "ED25519")) {
		s->alg = "ed25519";
	} else if (EVP_PKEY_is_a(s->pkey, "ED448")) {
		s->alg = "ed448";
	} else if (EVP_PKEY_is_a(s->pkey, "EC")) {
		EVP_PKEY_get_group_name(s->pkey, curve, sizeof(curve), NULL);
		/* TLS 1.3 ties the hash to the curve. */
		if (strcmp(curve, "prime256v1") == 0) {
			s->alg = "ecdsa_secp256r1_sha256";
		} else if (strcmp(curve, "secp384r1") == 0) {
			s->alg = "ecdsa_secp384r1_sha384";
			*md = EVP_sha384();
			s->digest_len = 48;
		} else if (strcmp(curve, "secp521r1") == 0) {
			s->alg = "ecdsa_secp521r1_sha512";
			*md = EVP_sha512();
			s->digest_len = 64;
		} else {
			snprintf(err, errlen,
				 "ECDSA key on curve %s has no TLS 1.3 "
				 "signature scheme",
				 curve[0] ? curve : "(unknown)");
			return -1;
		}
	} else {
		snprintf(err, errlen, "key type %s has no TLS 1.3 scheme",
			 EVP_PKEY_get0_type_name(s->pkey));
		return -1;
	}
	return 0;
}

static int
signer_init(struct signer *s, const char *key_file, char *err, size_t errlen)
{
	char lib[160];
	const EVP_MD *md;
	int pss;
	BIO *bio = BIO_new_file(key_file, "r");

	if (bio != NULL)
		s->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (s->pkey == NULL) {
		snprintf(err, errlen, "cannot read private key %s: %s",
			 key_file, ossl_reason(lib, sizeof(lib)));
		return -1;
	}
	if (signer_plan(s, &md, &pss, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(s->digest); i++)
		s->digest[i] = (unsigned char)(i * 7 + 1);
	s->sig_cap = (size_t)EVP_PKEY_get_size(s->pkey);
	s->sig = malloc(s->sig_cap);
	if (s->sig == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (EVP_PKEY_is_a(s->pkey, "ED25519") ||
	    EVP_PKEY_is_a(s->pkey, "ED448")) {
		s->md_ctx = EVP_MD_CTX_new();
		if (s->md_ctx == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	s->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->pkey, NULL);
	if (s->pctx == NULL || EVP_PKEY_sign_init(s->pctx) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(s->pctx, md) <= 0 ||
	    (pss && (EVP_PKEY_CTX_set_rsa_padding(s->pctx,
						  RSA_PKCS1_PSS_PADDING) <= 0 ||
		     /* TLS 1.3: salt as long as the hash */
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(
			     s->pctx, RSA_PSS_SALTLEN_DIGEST) <= 0))) {
		snprintf(err, errlen, "cannot set up %s with %s: %s", s->alg,
			 key_file, ossl_reason(lib, sizeof(lib)));
		return -1;
	}
	return 0;
}

static int
signer_sign(struct signer *s, unsigned i)
{
	size_t len = s->sig_cap;

	s->digest[0] = (unsigned char)i; /* a different digest each time */
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

/* Key exchange as the server meets it, the calls libssl itself makes:
 * the client's share arrives as bytes (decoded and validated), the
 * server generates its key, encodes its share and derives the secret.
 * Every client share is distinct and made outside the timing, so no
 * library is flattered by a repeated peer point. */
struct kex {
	const char *name;      /* reported: X25519, P-256, ... */
	const char *algorithm; /* OpenSSL key type */
	const char *ossl_group;
	EVP_PKEY_CTX *keygen;
	EVP_PKEY_CTX *paramgen; /* an empty key of the group, for a share */
	unsigned char *peers;	/* count * share_len bytes */
	size_t share_len;
};

static int
kex_lookup(struct kex *k, const char *name)
{
	const struct ossl_group *g = ossl_group_find(name);

	if (g == NULL)
		return -1;
	k->name = g->name;
	k->algorithm = g->algorithm;
	k->ossl_group = g->keygen_group;
	return 0;
}

static int
kex_init(struct kex *k)
{
	k->keygen = EVP_PKEY_CTX_new_from_name(NULL, k->algorithm, NULL);
	k->paramgen = EVP_PKEY_CTX_new_from_name(NULL, k->algorithm, NULL);
	return k->keygen != NULL && k->paramgen != NULL &&
	       EVP_PKEY_keygen_init(k->keygen) > 0 &&
	       EVP_PKEY_paramgen_init(k->paramgen) > 0 &&
	       (k->ossl_group == NULL ||
		(EVP_PKEY_CTX_set_group_name(k->keygen, k->ossl_group) > 0 &&
		 EVP_PKEY_CTX_set_group_name(k->paramgen, k->ossl_group) > 0));
}

/* A fresh key pair and its share in wire form (caller frees both). */
static EVP_PKEY *
kex_keygen(struct kex *k, unsigned char **share, size_t *len)
{
	EVP_PKEY *key = NULL;

	if (EVP_PKEY_keygen(k->keygen, &key) <= 0)
		return NULL;
	*len = EVP_PKEY_get1_encoded_public_key(key, share);
	if (*len == 0) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

static int
kex_make_peers(struct kex *k, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		unsigned char *share;
		size_t len;
		EVP_PKEY *key = kex_keygen(k, &share, &len);

		if (key == NULL)
			return -1;
		EVP_PKEY_free(key);
		if (k->peers == NULL) {
			k->share_len = len;
			k->peers = malloc((size_t)count * len);
		}
		if (k->peers == NULL || len != k->share_len) {
			OPENSSL_free(share);
			return -1;
		}
		memcpy(k->peers + (size_t)i * len, share, len);
		OPENSSL_free(share);
	}
	return 0;
}

/* One server key share plus the shared secret against client share i. */
static int
kex_once(struct kex *k, unsigned i)
{
	EVP_PKEY *peer = NULL, *own = NULL;
	EVP_PKEY_CTX *derive = NULL;
	unsigned char *share = NULL, secret[512];
	size_t share_len, secret_len = sizeof(secret);
	int ok;

	ok = EVP_PKEY_paramgen(k->paramgen, &peer) > 0 &&
	     EVP_PKEY_set1_encoded_public_key(
		     peer, k->peers + (size_t)i * k->share_len, k->share_len) &&
	     (own = kex_keygen(k, &share, &share_len)) != NULL &&
	     (derive = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL)) != NULL &&
	     EVP_PKEY_derive_init(derive) > 0 &&
	     EVP_PKEY_derive_set_peer(derive, peer) > 0 &&
	     EVP_PKEY_derive(derive, secret, &secret_len) > 0;
	EVP_PKEY_CTX_free(derive);
	OPENSSL_free(share);
	EVP_PKEY_free(own);
	EVP_PKEY_free(peer);
	return ok;
}

static void
kex_free(struct kex *k)
{
	EVP_PKEY_CTX_free(k->keygen);
	EVP_PKEY_CTX_free(k->paramgen);
	free(k->peers);
}

int
tb_tls_bench_crypto(const char *key_file, const char *group,
		    unsigned iterations, struct tb_crypto_floor *out, char *err,
		    size_t errlen)
{
	struct signer s = {0};
	struct kex k = {0};
	char lib[160];
	double t0, sign_us, kex_us;
	unsigned i;
	int rc = -1;

	/* NULL group: X25519, first in OpenSSL's default list. */
	if (group == NULL)
		group = "X25519";
	if (iterations == 0) {
		snprintf(err, errlen, "crypto bench: iterations must be > 0");
		return -1;
	}
	if (kex_lookup(&k, group) != 0) {
		snprintf(err, errlen,
			 "group \"%s\" not benchmarked (X25519, X448, P-256, "
			 "P-384, P-521, ffdhe2048..4096)",
			 group);
		return -1;
	}
	ossl_init();
	ERR_clear_error();
	if (signer_init(&s, key_file, err, errlen) != 0)
		goto done;
	if (!kex_init(&k) || kex_make_peers(&k, iterations) != 0) {
		snprintf(err, errlen, "cannot generate %u %s keys: %s",
			 iterations, k.name, ossl_reason(lib, sizeof(lib)));
		goto done;
	}

	for (i = 0; i < WARMUP_ITERATIONS; i++)
		if (!signer_sign(&s, i) || !kex_once(&k, i % iterations))
			break;
	if (i < WARMUP_ITERATIONS) {
		snprintf(err, errlen, "%s / %s failed: %s", s.alg, k.name,
			 ossl_reason(lib, sizeof(lib)));
		goto done;
	}

	t0 = now_us();
	for (i = 0; i < iterations && signer_sign(&s, i); i++)
		;
	sign_us = (now_us() - t0) / iterations;
	if (i < iterations) {
		snprintf(err, errlen, "%s with %s failed: %s", s.alg, key_file,
			 ossl_reason(lib, sizeof(lib)));
		goto done;
	}
	t0 = now_us();
	for (i = 0; i < iterations && kex_once(&k, i); i++)
		;
	kex_us = (now_us() - t0) / iterations;
	if (i < iterations) {
		snprintf(err, errlen, "%s key exchange failed: %s", k.name,
			 ossl_reason(lib, sizeof(lib)));
		goto done;
	}

	out->sig_alg = s.alg;
	out->group = k.name;
	out->sign_us = sign_us;
	out->kex_us = kex_us;
	out->iterations = iterations;
	rc = 0;
done:
	signer_free(&s);
	kex_free(&k);
	return rc;
}
