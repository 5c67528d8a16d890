/* wolfssl_floor.c: the crypto floor's operations on wolfCrypt (tls.h), and
 * the certificate key's kind, which wolfssl.c reports from. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#ifdef HAVE_CURVE25519
#include <wolfssl/wolfcrypt/curve25519.h>
#endif
#ifdef HAVE_CURVE448
#include <wolfssl/wolfcrypt/curve448.h>
#endif
#ifdef HAVE_ED25519
#include <wolfssl/wolfcrypt/ed25519.h>
#endif
#if defined(WOLFSSL_HAVE_MLDSA)
#include <wolfssl/wolfcrypt/wc_mldsa.h>
#endif

#ifndef LIBWOLFSSL_VERSION_HEX
#error "backends/wolfssl_floor.c needs wolfSSL's headers (-Dtls=wolfssl)"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tls.h"
#include "tls_names.h"
#include "wolfssl_common.h"

struct bench_key {
	int kind; /* TB_WOLF_KEY_*, 0 while none is loaded */
	RsaKey rsa;
	ecc_key ecc;
#ifdef HAVE_ED25519
	ed25519_key ed;
#endif
#if TB_WOLF_HAS_MLDSA
	wc_MlDsaKey mldsa;
#endif
};

/* The largest signature made here: ML-DSA-87's. */
#define TB_SIG_MAX 4627

struct tb_floor {
	struct bench_key key;
	WC_RNG rng;
	int rng_ok;
	const struct wolf_group *group;
	const struct wolf_group *classical; /* the group, or a hybrid's part */
	size_t classical_len;		    /* its share's length */
	size_t share_len;		    /* the whole client share */
	unsigned char *pubs;		    /* shares * share_len */
};

static int
read_file(const char *path, unsigned char **buf, size_t *len, char *err,
	  size_t errlen)
{
	FILE *f = fopen(path, "rb");
	long sz;

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) <= 0 ||
	    sz > 1 << 20 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		snprintf(err, errlen, "cannot read %s", path);
		return -1;
	}
	*buf = malloc((size_t)sz);
	if (!*buf || fread(*buf, 1, (size_t)sz, f) != (size_t)sz) {
		fclose(f);
		free(*buf);
		*buf = NULL;
		snprintf(err, errlen, "cannot read %s", path);
		return -1;
	}
	fclose(f);
	*len = (size_t)sz;
	return 0;
}

#ifdef HAVE_ED25519
/* A PKCS#8 Ed25519 key holds only the private half; signing needs both. */
static int
ed25519_add_public(ed25519_key *ed)
{
	unsigned char priv[ED25519_KEY_SIZE], pub[ED25519_PUB_KEY_SIZE];
	word32 len = sizeof(priv);
	int ret;

	if (ed->pubKeySet)
		return 0;
	ret = wc_ed25519_export_private_only(ed, priv, &len);
	if (ret == 0)
		ret = wc_ed25519_make_public(ed, pub, sizeof(pub));
	if (ret == 0)
		ret = wc_ed25519_import_private_key(priv, len, pub, sizeof(pub),
						    ed);
	memset(priv, 0, sizeof(priv));
	return ret;
}
#endif

int
tb_wolf_key_lacks(const char *key_file, char *err, size_t errlen)
{
	const char *name;

	if (tb_key_type(key_file, &name) != TB_KEY_MLDSA || TB_WOLF_HAS_MLDSA)
		return 0;
	tb_lacks(err, errlen, TB_WOLF_NAME, name,
		 "a wolfSSL 5.9 built with --enable-mldsa has it");
	return 1;
}

/* Decode the PEM key as RSA, then ECC, then Ed25519, then ML-DSA. */
static int
load_bench_key(struct bench_key *k, const char *path, char *err, size_t errlen)
{
	unsigned char *pem = NULL, *der = NULL;
	size_t pemlen = 0;
	word32 idx;
	int derlen, ok = 0;

	if (read_file(path, &pem, &pemlen, err, errlen) < 0)
		return -1;
	der = malloc(pemlen);
	derlen = der ? wc_KeyPemToDer(pem, (int)pemlen, der, (int)pemlen, NULL)
		     : -1;
	free(pem);
	if (derlen <= 0) {
		free(der);
		snprintf(err, errlen, "%s is not a PEM private key", path);
		return -1;
	}
	idx = 0;
	if (wc_InitRsaKey(&k->rsa, NULL) == 0) {
		if (wc_RsaPrivateKeyDecode(der, &idx, &k->rsa,
					   (word32)derlen) == 0) {
			k->kind = TB_WOLF_KEY_RSA;
			ok = 1;
		} else {
			wc_FreeRsaKey(&k->rsa);
		}
	}
	idx = 0;
	if (!ok && wc_ecc_init(&k->ecc) == 0) {
		if (wc_EccPrivateKeyDecode(der, &idx, &k->ecc,
					   (word32)derlen) == 0) {
			k->kind = TB_WOLF_KEY_ECC;
			ok = 1;
		} else {
			wc_ecc_free(&k->ecc);
		}
	}
#ifdef HAVE_ED25519
	idx = 0;
	if (!ok && wc_ed25519_init(&k->ed) == 0) {
		if (wc_Ed25519PrivateKeyDecode(der, &idx, &k->ed,
					       (word32)derlen) == 0 &&
		    ed25519_add_public(&k->ed) == 0) {
			k->kind = TB_WOLF_KEY_ED25519;
			ok = 1;
		} else {
			wc_ed25519_free(&k->ed);
		}
	}
#endif
#if TB_WOLF_HAS_MLDSA
	idx = 0;
	if (!ok && wc_MlDsaKey_Init(&k->mldsa, NULL, INVALID_DEVID) == 0) {
		if (wc_MlDsaKey_PrivateKeyDecode(&k->mldsa, der, (word32)derlen,
						 &idx) == 0) {
			k->kind = TB_WOLF_KEY_MLDSA;
			ok = 1;
		} else {
			wc_MlDsaKey_Free(&k->mldsa);
		}
	}
#endif
	free(der);
	if (!ok) {
		snprintf(err, errlen,
			 "%s: not an RSA, ECDSA, Ed25519 or ML-DSA key this "
			 "wolfSSL can use",
			 path);
		return -1;
	}
	return 0;
}

static void
free_bench_key(struct bench_key *k)
{
	if (k->kind == TB_WOLF_KEY_RSA)
		wc_FreeRsaKey(&k->rsa);
	else if (k->kind == TB_WOLF_KEY_ECC)
		wc_ecc_free(&k->ecc);
#ifdef HAVE_ED25519
	else if (k->kind == TB_WOLF_KEY_ED25519)
		wc_ed25519_free(&k->ed);
#endif
#if TB_WOLF_HAS_MLDSA
	else if (k->kind == TB_WOLF_KEY_MLDSA)
		wc_MlDsaKey_Free(&k->mldsa);
#endif
	k->kind = 0;
}

/* ECC: the ecc_curve_id; ML-DSA: the level (2, 3, 5); else 0. */
static int
key_param(struct bench_key *k)
{
	if (k->kind == TB_WOLF_KEY_ECC)
		return wc_ecc_get_curve_id(k->ecc.idx);
#if TB_WOLF_HAS_MLDSA
	if (k->kind == TB_WOLF_KEY_MLDSA) {
		byte level = 0;

		wc_MlDsaKey_GetParams(&k->mldsa, &level);
		return level;
	}
#endif
	return 0;
}

int
tb_wolf_key_kind(const char *key_file, int *kind, int *param, char *err,
		 size_t errlen)
{
	/* static: an ML-DSA key is tens of KiB; called at start-up only */
	static struct bench_key k;

	if (load_bench_key(&k, key_file, err, errlen) < 0)
		return -1;
	*kind = k.kind;
	*param = key_param(&k);
	free_bench_key(&k);
	return 0;
}

uint16_t
tb_wolf_sigalg13(int kind, int param)
{
	if (kind == TB_WOLF_KEY_RSA)
		return 0x0804;
	if (kind == TB_WOLF_KEY_ED25519)
		return 0x0807;
	if (kind == TB_WOLF_KEY_MLDSA) /* mldsa44, mldsa65, mldsa87 */
		return param == 2 ? 0x0904 : param == 3 ? 0x0905 : 0x0906;
	switch (param) {
	case ECC_SECP384R1:
		return 0x0503;
	case ECC_SECP521R1:
		return 0x0603;
	}
	return 0x0403;
}

/* One TLS 1.3 CertificateVerify signature over the digest given: RSA-PSS
 * with the scheme's hash, ECDSA over the digest, Ed25519 and ML-DSA (with
 * the empty context, as wolfSSL's TLS 1.3 signs) over the bytes as the
 * message. */
int
tb_floor_sign(struct tb_floor *f, const uint8_t *digest, size_t len)
{
	unsigned char sig[TB_SIG_MAX];
	word32 siglen = sizeof(sig);
	struct bench_key *k = &f->key;

	switch (k->kind) {
	case TB_WOLF_KEY_RSA:
#ifdef WC_RSA_PSS
		return wc_RsaPSS_Sign(digest, (word32)len, sig, siglen,
				      WC_HASH_TYPE_SHA256, WC_MGF1SHA256,
				      &k->rsa, &f->rng) > 0
			       ? 0
			       : -1;
#else
		return -1;
#endif
	case TB_WOLF_KEY_ECC:
		return wc_ecc_sign_hash(digest, (word32)len, sig, &siglen,
					&f->rng, &k->ecc) == 0
			       ? 0
			       : -1;
#ifdef HAVE_ED25519
	case TB_WOLF_KEY_ED25519:
		return wc_ed25519_sign_msg(digest, (word32)len, sig, &siglen,
					   &k->ed) == 0
			       ? 0
			       : -1;
#endif
#if TB_WOLF_HAS_MLDSA
	case TB_WOLF_KEY_MLDSA:
		return wc_MlDsaKey_SignCtx(&k->mldsa, NULL, 0, sig, &siglen,
					   digest, (word32)len, &f->rng) == 0
			       ? 0
			       : -1;
#endif
	default:
		return -1;
	}
}

/* One classical client share of group g into out (*len: its room, then
 * its length). */
static int
classical_share(const struct wolf_group *g, WC_RNG *rng, unsigned char *out,
		word32 *len)
{
	int ret = -1;

	if (g->curve) {
		ecc_key k;

		if ((ret = wc_ecc_init(&k)) != 0)
			return ret;
		ret = wc_ecc_make_key_ex(rng, 0, &k, g->curve);
		if (ret == 0)
			ret = wc_ecc_export_x963(&k, out, len);
		wc_ecc_free(&k);
	}
#ifdef HAVE_CURVE25519
	else if (g->id == WOLFSSL_ECC_X25519) {
		curve25519_key k;

		if ((ret = wc_curve25519_init(&k)) != 0)
			return ret;
		ret = wc_curve25519_make_key(rng, CURVE25519_KEYSIZE, &k);
		if (ret == 0)
			ret = wc_curve25519_export_public_ex(
				&k, out, len, EC25519_LITTLE_ENDIAN);
		wc_curve25519_free(&k);
	}
#endif
#ifdef HAVE_CURVE448
	else if (g->id == WOLFSSL_ECC_X448) {
		curve448_key k;

		if ((ret = wc_curve448_init(&k)) != 0)
			return ret;
		ret = wc_curve448_make_key(rng, CURVE448_KEY_SIZE, &k);
		if (ret == 0)
			ret = wc_curve448_export_public_ex(&k, out, len,
							   EC448_LITTLE_ENDIAN);
		wc_curve448_free(&k);
	}
#endif
	return ret;
}

#ifdef WOLFSSL_HAVE_MLKEM
/* A client's ML-KEM encapsulation key of wolfCrypt type kem into out (*len:
 * its room, then its length). */
static int
kem_share(int kem, WC_RNG *rng, unsigned char *out, word32 *len)
{
	MlKemKey k;
	word32 pub_len = 0;
	int ret = wc_MlKemKey_Init(&k, kem, NULL, INVALID_DEVID);

	if (ret != 0)
		return ret;
	ret = wc_MlKemKey_MakeKey(&k, rng);
	if (ret == 0)
		ret = wc_MlKemKey_PublicKeySize(&k, &pub_len);
	if (ret == 0 && pub_len > *len)
		ret = -1;
	if (ret == 0)
		ret = wc_MlKemKey_EncodePublicKey(&k, out, pub_len);
	*len = pub_len;
	wc_MlKemKey_Free(&k);
	return ret;
}

/* The server's half of a KEM share, as wolfSSL's
 * TLSX_KeyShare_HandlePqcKeyServer: decode the client's key, encapsulate
 * (the ciphertext is the server's share). */
static int
kem_encapsulate(int kem, WC_RNG *rng, const unsigned char *pub, word32 len)
{
	unsigned char ct[WC_ML_KEM_MAX_CIPHER_TEXT_SIZE];
	unsigned char secret[WC_ML_KEM_SS_SZ];
	MlKemKey k;
	int ret = wc_MlKemKey_Init(&k, kem, NULL, INVALID_DEVID);

	if (ret != 0)
		return ret;
	ret = wc_MlKemKey_DecodePublicKey(&k, pub, len);
	if (ret == 0)
		ret = wc_MlKemKey_Encapsulate(&k, ct, secret, rng);
	wc_MlKemKey_Free(&k);
	return ret;
}
#endif

/* The client share for one key exchange into out (room: share room): a
 * classical share, or a hybrid's two parts in the group's wire order. */
static int
client_share(struct tb_floor *f, unsigned char *out, size_t room, size_t *len)
{
	const struct wolf_group *g = f->group;
	word32 clen = (word32)room, klen;
	int ret;

	if (g->classical == 0) {
		ret = classical_share(g, &f->rng, out, &clen);
		*len = clen;
		return ret;
	}
#ifdef WOLFSSL_HAVE_MLKEM
	/* X25519MLKEM768 puts the KEM's key first; the others last */
	if (g->kem_first) {
		klen = (word32)room;
		ret = kem_share(g->kem, &f->rng, out, &klen);
		clen = (word32)room - klen;
		if (ret == 0)
			ret = classical_share(f->classical, &f->rng, out + klen,
					      &clen);
	} else {
		ret = classical_share(f->classical, &f->rng, out, &clen);
		klen = (word32)room - clen;
		if (ret == 0)
			ret = kem_share(g->kem, &f->rng, out + clen, &klen);
	}
	f->classical_len = clen;
	*len = clen + klen;
	return ret;
#else
	(void)klen;
	return -1;
#endif
}

/* What a TLS server does per full handshake: import the client's share,
 * make its own key, derive the shared secret. */
static int
kex_once(const struct wolf_group *g, WC_RNG *rng, const unsigned char *pub)
{
	unsigned char secret[80];
	word32 slen = sizeof(secret);
	int ret;

	if (g->curve) {
		ecc_key mine, peer;
		int size = wc_ecc_get_curve_size_from_id(g->curve);

		if ((ret = wc_ecc_init(&mine)) != 0)
			return ret;
		if ((ret = wc_ecc_init(&peer)) != 0) {
			wc_ecc_free(&mine);
			return ret;
		}
		ret = wc_ecc_import_x963_ex(pub, (word32)(2 * size + 1), &peer,
					    g->curve);
		if (ret == 0)
			ret = wc_ecc_make_key_ex(rng, size, &mine, g->curve);
#if defined(ECC_TIMING_RESISTANT) && !defined(HAVE_SELFTEST)
		if (ret == 0)
			ret = wc_ecc_set_rng(&mine, rng);
#endif
		if (ret == 0)
			ret = wc_ecc_shared_secret(&mine, &peer, secret, &slen);
		wc_ecc_free(&peer);
		wc_ecc_free(&mine);
		return ret;
	}
#ifdef HAVE_CURVE25519
	if (g->id == WOLFSSL_ECC_X25519) {
		curve25519_key mine, peer;

		if ((ret = wc_curve25519_init(&mine)) != 0)
			return ret;
		if ((ret = wc_curve25519_init(&peer)) != 0) {
			wc_curve25519_free(&mine);
			return ret;
		}
		ret = wc_curve25519_import_public_ex(
			pub, CURVE25519_KEYSIZE, &peer, EC25519_LITTLE_ENDIAN);
		if (ret == 0)
			ret = wc_curve25519_make_key(rng, CURVE25519_KEYSIZE,
						     &mine);
		if (ret == 0)
			ret = wc_curve25519_shared_secret_ex(
				&mine, &peer, secret, &slen,
				EC25519_LITTLE_ENDIAN);
		wc_curve25519_free(&peer);
		wc_curve25519_free(&mine);
		return ret;
	}
#endif
#ifdef HAVE_CURVE448
	if (g->id == WOLFSSL_ECC_X448) {
		curve448_key mine, peer;

		if ((ret = wc_curve448_init(&mine)) != 0)
			return ret;
		if ((ret = wc_curve448_init(&peer)) != 0) {
			wc_curve448_free(&mine);
			return ret;
		}
		ret = wc_curve448_import_public_ex(pub, CURVE448_KEY_SIZE,
						   &peer, EC448_LITTLE_ENDIAN);
		if (ret == 0)
			ret = wc_curve448_make_key(rng, CURVE448_KEY_SIZE,
						   &mine);
		if (ret == 0)
			ret = wc_curve448_shared_secret_ex(&mine, &peer, secret,
							   &slen,
							   EC448_LITTLE_ENDIAN);
		wc_curve448_free(&peer);
		wc_curve448_free(&mine);
		return ret;
	}
#endif
	return -1;
}

int
tb_floor_kex(struct tb_floor *f, unsigned i)
{
	const struct wolf_group *g = f->group;
	const unsigned char *pub = f->pubs + (size_t)i * f->share_len;
	size_t kem_len = f->share_len - f->classical_len;
	int ret;

	if (g->classical == 0)
		return kex_once(g, &f->rng, pub) == 0 ? 0 : -1;
#ifdef WOLFSSL_HAVE_MLKEM
	/* A hybrid: both halves, as TLSX_KeyShare_HandlePqcHybridKeyServer
	 * (the classical share and secret, then the encapsulation). */
	if (g->kem_first)
		ret = kex_once(f->classical, &f->rng, pub + kem_len) ||
		      kem_encapsulate(g->kem, &f->rng, pub, (word32)kem_len);
	else
		ret = kex_once(f->classical, &f->rng, pub) ||
		      kem_encapsulate(g->kem, &f->rng, pub + f->classical_len,
				      (word32)kem_len);
	return ret == 0 ? 0 : -1;
#else
	(void)ret;
	(void)kem_len;
	return -1;
#endif
}

/* The largest client share of any group here: P-384 and ML-KEM-1024. */
#define TB_SHARE_MAX (97 + 1568)

/* Client shares, one per key exchange, made before timing: a repeated
 * peer point would hit FP_ECC's cache. */
static int
make_shares(struct tb_floor *f, unsigned shares)
{
	unsigned char first[TB_SHARE_MAX];
	size_t len;

	if (client_share(f, first, sizeof(first), &len) != 0)
		return -1;
	f->share_len = len;
	if (f->group->classical == 0)
		f->classical_len = len;
	f->pubs = malloc((size_t)shares * len);
	if (!f->pubs)
		return -1;
	memcpy(f->pubs, first, len);
	for (unsigned i = 1; i < shares; i++)
		if (client_share(f, f->pubs + (size_t)i * len, len, &len) !=
			    0 ||
		    len != f->share_len)
			return -1;
	return 0;
}

struct tb_floor *
tb_floor_new(const char *key_file, uint16_t group, unsigned shares,
	     uint16_t *sigalg, char *err, size_t errlen)
{
	struct tb_floor *f;
	const struct wolf_group *g = wolf_group_by(group, NULL);
	char buf[16];

	if (!g) {
		snprintf(err, errlen,
			 "group %s not benchmarked with wolfSSL (X25519, X448, "
			 "P-256, P-384, P-521, X25519MLKEM768, "
			 "SecP256r1MLKEM768, SecP384r1MLKEM1024)",
			 tb_tls_group_name(group, buf, sizeof(buf)));
		return NULL;
	}
	if (!g->usable) {
		wolf_group_lacks(g, err, errlen);
		return NULL;
	}
	if (tb_wolf_key_lacks(key_file, err, errlen))
		return NULL;
	if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "wolfSSL_Init failed");
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "out of memory");
		wolfSSL_Cleanup();
		return NULL;
	}
	f->group = g;
	f->classical = g->classical ? wolf_group_by(g->classical, NULL) : g;
	if (wc_InitRng(&f->rng) != 0) {
		snprintf(err, errlen, "wc_InitRng failed");
		goto fail;
	}
	f->rng_ok = 1;
	if (load_bench_key(&f->key, key_file, err, errlen) < 0)
		goto fail;
#ifndef WC_RSA_PSS
	if (f->key.kind == TB_WOLF_KEY_RSA) {
		snprintf(err, errlen,
			 "this wolfSSL has no RSA-PSS "
			 "(WC_RSA_PSS), which TLS 1.3 needs");
		goto fail;
	}
#endif
	if (f->key.kind == TB_WOLF_KEY_RSA &&
	    wc_RsaSetRNG(&f->key.rsa, &f->rng) != 0) {
		snprintf(err, errlen, "wc_RsaSetRNG failed");
		goto fail;
	}
	*sigalg = tb_wolf_sigalg13(f->key.kind, key_param(&f->key));
	if (make_shares(f, shares) != 0) {
		snprintf(err, errlen, "cannot make %u %s client shares", shares,
			 g->canon);
		goto fail;
	}
	return f;
fail:
	tb_floor_free(f);
	return NULL;
}

void
tb_floor_free(struct tb_floor *f)
{
	if (!f)
		return;
	free(f->pubs);
	free_bench_key(&f->key);
	if (f->rng_ok)
		wc_FreeRng(&f->rng);
	free(f);
	wolfSSL_Cleanup();
}
