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
	 * setup); EdDSA and ML-DSA have no prehash form and sign the bytes
	 * given. */
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *sign;
	EVP_MD_CTX *md_ctx; /* EdDSA, ML-DSA */
	unsigned char *sig;
	size_t sig_cap;
	/* Key exchange: client shares as the wire carries them. */
	EVP_PKEY_CTX *keygen;
	EVP_PKEY_CTX *paramgen; /* an empty key of the group, for a share */
	unsigned char *peers;	/* shares * share_len bytes */
	size_t share_len;
	int kem; /* the server encapsulates to the share (ML-KEM groups) */
};

/* The OpenSSL key type (and EVP group) of a NamedGroup, as libssl's group
 * table has them; kem: the server's share is an encapsulation. */
static int
group_algorithm(uint16_t group, const char **alg, const char **evp_group,
		int *kem)
{
	static const struct {
		uint16_t id;
		const char *alg, *evp_group;
		int kem;
	} table[] = {
		{0x001d, "X25519", NULL, 0},
		{0x001e, "X448", NULL, 0},
		{0x0017, "EC", "P-256", 0},
		{0x0018, "EC", "P-384", 0},
		{0x0019, "EC", "P-521", 0},
		{0x0100, "DH", "ffdhe2048", 0},
		{0x0101, "DH", "ffdhe3072", 0},
		{0x0102, "DH", "ffdhe4096", 0},
		{0x0103, "DH", "ffdhe6144", 0},
		{0x0104, "DH", "ffdhe8192", 0},
		{0x0200, "ML-KEM-512", NULL, 1},
		{0x0201, "ML-KEM-768", NULL, 1},
		{0x0202, "ML-KEM-1024", NULL, 1},
		{0x11eb, "SecP256r1MLKEM768", NULL, 1},
		{0x11ec, "X25519MLKEM768", NULL, 1},
		{0x11ed, "SecP384r1MLKEM1024", NULL, 1},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].id == group) {
			*alg = table[i].alg;
			*evp_group = table[i].evp_group;
			*kem = table[i].kem;
			return 0;
		}
	return -1;
}

/* The TLS 1.3 scheme of the key, and the hash it signs with (NULL for the
 * schemes that sign the message itself). */
static uint16_t
key_sigalg(EVP_PKEY *pkey, const EVP_MD **md)
{
	char curve[64] = "";

	*md = EVP_sha256();
	if (EVP_PKEY_is_a(pkey, "RSA"))
		return 0x0804;
	if (EVP_PKEY_is_a(pkey, "RSA-PSS"))
		return 0x0809;
	*md = NULL;
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return 0x0807;
	if (EVP_PKEY_is_a(pkey, "ED448"))
		return 0x0808;
	if (EVP_PKEY_is_a(pkey, "ML-DSA-44"))
		return 0x0904;
	if (EVP_PKEY_is_a(pkey, "ML-DSA-65"))
		return 0x0905;
	if (EVP_PKEY_is_a(pkey, "ML-DSA-87"))
		return 0x0906;
	*md = EVP_sha256();
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
	BIO *bio;

	if (ossl_key_lacks(key_file, err, errlen))
		return -1;
	bio = BIO_new_file(key_file, "r");
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
	if (md == NULL) { /* EdDSA, ML-DSA: the message itself */
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

	if (group_algorithm(group, &alg, &evp_group, &f->kem) != 0) {
		if (!ossl_group_lacks(group, err, errlen))
			snprintf(err, errlen,
				 "group 0x%04x not benchmarked with OpenSSL "
				 "(X25519, X448, P-256, P-384, P-521, "
				 "ffdhe2048..8192, MLKEM512..1024, "
				 "X25519MLKEM768, SecP256r1MLKEM768, "
				 "SecP384r1MLKEM1024)",
				 group);
		return -1;
	}
	f->keygen = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	f->paramgen = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	if (f->keygen == NULL && ossl_group_lacks(group, err, errlen)) {
		ERR_clear_error();
		return -1;
	}
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

/* A KEM group, as libssl's ssl_encapsulate(): the client's share is an
 * encapsulation key (for a hybrid, with the classical share in it); the
 * server's share is the ciphertext, the classical part's key generation
 * and derivation done inside the hybrid's encapsulation. */
static int
encapsulate(EVP_PKEY *peer)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
	unsigned char ct[2048], secret[128];
	size_t ct_len = sizeof(ct), secret_len = sizeof(secret);
	int ok =
		ctx != NULL && EVP_PKEY_encapsulate_init(ctx, NULL) > 0 &&
		EVP_PKEY_encapsulate(ctx, ct, &ct_len, secret, &secret_len) > 0;

	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
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
		     peer, f->peers + (size_t)i * f->share_len, f->share_len);
	if (f->kem) {
		ok = ok && encapsulate(peer) == 0;
		EVP_PKEY_free(peer);
		return ok ? 0 : -1;
	}
	ok = ok && (own = keygen(f, &share, &share_len)) != NULL &&
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
