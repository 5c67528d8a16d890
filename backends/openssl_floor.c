/* openssl_floor.c: the crypto floor's operations on OpenSSL 3 (tls.h),
 * the calls libssl itself makes for CertificateVerify and the key share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "openssl_init.h"

#include "tls.h"

struct tb_floor {
	/* CertificateVerify: RSA-PSS and ECDSA sign a digest through a
	 * context set up once (the primitive, not OpenSSL 3's per-call
	 * setup); EdDSA has no prehash form and signs the bytes given. */
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *sign;
	EVP_MD_CTX *md_ctx; /* EdDSA */
	unsigned char *sig;
	size_t sig_cap;
	/* Key exchange: client shares as the wire carries them. */
	EVP_PKEY_CTX *keygen;
	EVP_PKEY_CTX *paramgen; /* an empty key of the group, for a share */
	unsigned char *peers;	/* shares * share_len bytes */
	size_t share_len;
};

/* The OpenSSL key type (and EVP group) of a NamedGroup. */
static int
group_algorithm(uint16_t group, const char **alg, const char **evp_group)
{
	static const struct {
		uint16_t id;
		const char *alg, *evp_group;
	} table[] = {
		{0x001d, "X25519", NULL},    {0x001e, "X448", NULL},
		{0x0017, "EC", "P-256"},     {0x0018, "EC", "P-384"},
		{0x0019, "EC", "P-521"},     {0x0100, "DH", "ffdhe2048"},
		{0x0101, "DH", "ffdhe3072"}, {0x0102, "DH", "ffdhe4096"},
		{0x0103, "DH", "ffdhe6144"}, {0x0104, "DH", "ffdhe8192"},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].id == group) {
			*alg = table[i].alg;
			*evp_group = table[i].evp_group;
			return 0;
		}
	return -1;
}

/* The TLS 1.3 scheme of the key, and the hash it signs with. */
static uint16_t
key_sigalg(EVP_PKEY *pkey, const EVP_MD **md)
{
	char curve[64] = "";

	*md = EVP_sha256();
	if (EVP_PKEY_is_a(pkey, "RSA"))
		return 0x0804;
	if (EVP_PKEY_is_a(pkey, "RSA-PSS"))
		return 0x0809;
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return 0x0807;
	if (EVP_PKEY_is_a(pkey, "ED448"))
		return 0x0808;
	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    !EVP_PKEY_get_group_name(pkey, curve, sizeof(curve), NULL))
		return 0;
	/* TLS 1.3 ties the hash to the curve. */
	if (strcmp(curve, "prime256v1") == 0)
		return 0x0403;
	if (strcmp(curve, "secp384r1") == 0) {
		*md = EVP_sha384();
		return 0x0503;
	}
	if (strcmp(curve, "secp521r1") == 0) {
		*md = EVP_sha512();
		return 0x0603;
	}
	return 0;
}

static int
signer_init(struct tb_floor *f, const char *key_file, uint16_t *sigalg,
	    char *err, size_t errlen)
{
	char lib[160];
	const EVP_MD *md;
	BIO *bio = BIO_new_file(key_file, "r");

	if (bio != NULL)
		f->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (f->pkey == NULL) {
		snprintf(err, errlen, "cannot read private key %s: %s",
			 key_file, ossl_reason(lib, sizeof(lib)));
		return -1;
	}
	*sigalg = key_sigalg(f->pkey, &md);
	if (*sigalg == 0) {
		snprintf(err, errlen, "key %s (%s) has no TLS 1.3 scheme",
			 key_file, EVP_PKEY_get0_type_name(f->pkey));
		return -1;
	}
	f->sig_cap = (size_t)EVP_PKEY_get_size(f->pkey);
	f->sig = malloc(f->sig_cap);
	if (*sigalg == 0x0807 || *sigalg == 0x0808) {
		f->md_ctx = EVP_MD_CTX_new();
		if (f->sig == NULL || f->md_ctx == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	f->sign = EVP_PKEY_CTX_new_from_pkey(NULL, f->pkey, NULL);
	if (f->sig == NULL || f->sign == NULL ||
	    EVP_PKEY_sign_init(f->sign) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(f->sign, md) <= 0 ||
	    ((*sigalg == 0x0804 || *sigalg == 0x0809) &&
	     (EVP_PKEY_CTX_set_rsa_padding(f->sign, RSA_PKCS1_PSS_PADDING) <=
		      0 ||
	      /* TLS 1.3: salt as long as the hash */
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(f->sign,
					       RSA_PSS_SALTLEN_DIGEST) <= 0))) {
		snprintf(err, errlen, "cannot set up signing with %s: %s",
			 key_file, ossl_reason(lib, sizeof(lib)));
		return -1;
	}
	return 0;
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
	return EVP_PKEY_sign(f->sign, f->sig, &siglen, digest, len) == 1 ? 0
									 : -1;
}

/* A fresh key pair and its share in wire form (caller frees both). */
static EVP_PKEY *
keygen(struct tb_floor *f, unsigned char **share, size_t *len)
{
	EVP_PKEY *key = NULL;

	if (EVP_PKEY_keygen(f->keygen, &key) <= 0)
		return NULL;
	*len = EVP_PKEY_get1_encoded_public_key(key, share);
	if (*len == 0) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

static int
kex_init(struct tb_floor *f, uint16_t group, unsigned shares, char *err,
	 size_t errlen)
{
	const char *alg, *evp_group;
	char lib[160];

	if (group_algorithm(group, &alg, &evp_group) != 0) {
		snprintf(err, errlen,
			 "group 0x%04x not benchmarked with OpenSSL (X25519, "
			 "X448, P-256, P-384, P-521, ffdhe2048..8192)",
			 group);
		return -1;
	}
	f->keygen = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	f->paramgen = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	if (f->keygen == NULL || f->paramgen == NULL ||
	    EVP_PKEY_keygen_init(f->keygen) <= 0 ||
	    EVP_PKEY_paramgen_init(f->paramgen) <= 0 ||
	    (evp_group != NULL &&
	     (EVP_PKEY_CTX_set_group_name(f->keygen, evp_group) <= 0 ||
	      EVP_PKEY_CTX_set_group_name(f->paramgen, evp_group) <= 0)))
		goto fail;
	for (unsigned i = 0; i < shares; i++) {
		unsigned char *share;
		size_t len;
		EVP_PKEY *key = keygen(f, &share, &len);

		if (key == NULL)
			goto fail;
		EVP_PKEY_free(key);
		if (f->peers == NULL) {
			f->share_len = len;
			f->peers = malloc((size_t)shares * len);
		}
		if (f->peers == NULL || len != f->share_len) {
			OPENSSL_free(share);
			goto fail;
		}
		memcpy(f->peers + (size_t)i * len, share, len);
		OPENSSL_free(share);
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot make %u %s client shares: %s", shares,
		 evp_group != NULL ? evp_group : alg,
		 ossl_reason(lib, sizeof(lib)));
	return -1;
}

int
tb_floor_kex(struct tb_floor *f, unsigned i)
{
	EVP_PKEY *peer = NULL, *own = NULL;
	EVP_PKEY_CTX *derive = NULL;
	unsigned char *share = NULL, secret[1024];
	size_t share_len, secret_len = sizeof(secret);
	int ok;

	ok = EVP_PKEY_paramgen(f->paramgen, &peer) > 0 &&
	     EVP_PKEY_set1_encoded_public_key(
		     peer, f->peers + (size_t)i * f->share_len, f->share_len) &&
	     (own = keygen(f, &share, &share_len)) != NULL &&
	     (derive = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL)) != NULL &&
	     EVP_PKEY_derive_init(derive) > 0 &&
	     EVP_PKEY_derive_set_peer(derive, peer) > 0 &&
	     EVP_PKEY_derive(derive, secret, &secret_len) > 0;
	EVP_PKEY_CTX_free(derive);
	OPENSSL_free(share);
	EVP_PKEY_free(own);
	EVP_PKEY_free(peer);
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
	ossl_init();
	ERR_clear_error();
	if (signer_init(f, key_file, sigalg, err, errlen) != 0 ||
	    kex_init(f, group, shares, err, errlen) != 0) {
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
	EVP_PKEY_CTX_free(f->sign);
	EVP_PKEY_free(f->pkey);
	free(f->sig);
	EVP_PKEY_CTX_free(f->keygen);
	EVP_PKEY_CTX_free(f->paramgen);
	free(f->peers);
	free(f);
}
