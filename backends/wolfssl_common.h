/* wolfssl_common.h: what wolfssl.c and wolfssl_floor.c share (the key
 * exchange groups, the certificate key's kind); private to the wolfSSL
 * backend.  Include after wolfssl/options.h.
 * Names are parsed once, by core/tls_names.h; wolfSSL's group ids are the
 * IANA NamedGroup ids themselves. */
#ifndef TB_WOLFSSL_COMMON_H
#define TB_WOLFSSL_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <wolfssl/ssl.h>
#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/ecc.h>
#ifdef WOLFSSL_HAVE_MLKEM
#include <wolfssl/wolfcrypt/wc_mlkem.h>
#endif

#include "common.h"

/* "wolfSSL 5.5.4": the library, for tb_lacks(). */
#define TB_WOLF_NAME "wolfSSL " LIBWOLFSSL_VERSION_STRING

#ifdef HAVE_CURVE25519
#define TB_WOLF_HAS_X25519 1
#else
#define TB_WOLF_HAS_X25519 0
#endif
#ifdef HAVE_CURVE448
#define TB_WOLF_HAS_X448 1
#else
#define TB_WOLF_HAS_X448 0
#endif
#ifdef HAVE_ECC
#define TB_WOLF_HAS_ECC 1
#else
#define TB_WOLF_HAS_ECC 0
#endif

/* The hybrid post-quantum groups, as wolfSSL's configure enables them
 * (ML-KEM with --enable-mlkem, the hybrids with --enable-pqc-hybrids, both
 * on by default in 5.9; the draft Kyber ones with --enable-mlkem=...,
 * original).  wolfCrypt's KEM types are named only where its header is. */
#if defined(WOLFSSL_HAVE_MLKEM) && defined(WOLFSSL_PQC_HYBRIDS) &&             \
	!defined(WOLFSSL_NO_ML_KEM)
#define TB_WOLF_HYBRIDS 1
#else
#define TB_WOLF_HYBRIDS 0
#endif
#if TB_WOLF_HYBRIDS && !defined(WOLFSSL_NO_ML_KEM_768)
#define TB_WOLF_HAS_MLKEM768 1
#else
#define TB_WOLF_HAS_MLKEM768 0
#endif
#if TB_WOLF_HYBRIDS && !defined(WOLFSSL_NO_ML_KEM_1024)
#define TB_WOLF_HAS_MLKEM1024 1
#else
#define TB_WOLF_HAS_MLKEM1024 0
#endif
#if defined(WOLFSSL_HAVE_MLKEM) && defined(WOLFSSL_MLKEM_KYBER) &&             \
	!defined(WOLFSSL_NO_KYBER768)
#define TB_WOLF_HAS_KYBER768 1
#else
#define TB_WOLF_HAS_KYBER768 0
#endif
#ifdef WOLFSSL_HAVE_MLKEM
#define TB_WOLF_MLKEM768  WC_ML_KEM_768
#define TB_WOLF_MLKEM1024 WC_ML_KEM_1024
#define TB_WOLF_KYBER768  KYBER768
#else
#define TB_WOLF_MLKEM768  0 /* never used: no group is usable */
#define TB_WOLF_MLKEM1024 0
#define TB_WOLF_KYBER768  0
#endif

#define TB_WOLF_HAS_IT_HYBRID                                                  \
	"a wolfSSL 5.9 built with --enable-mlkem --enable-pqc-hybrids has it"

struct wolf_group {
	uint16_t id;	    /* IANA NamedGroup = wolfSSL's group id */
	int curve;	    /* ecc_curve_id for wolfCrypt, 0 for X25519/X448 */
	int usable;	    /* built into this wolfSSL */
	const char *canon;  /* the name wolfSSL's group list parser knows */
	const char *wolf;   /* what wolfSSL_get_curve_name() answers */
	const char *has_it; /* what has it, for a build that lacks it */
	/* A hybrid: its classical group, the wolfCrypt KEM type and
	 * whether the KEM's part comes first on the wire (X25519MLKEM768,
	 * not the others); classical 0 for a classical group. */
	uint16_t classical;
	int kem;
	int kem_first;
};

static inline const struct wolf_group *
wolf_group_by(uint16_t id, const char *wolf_name)
{
	static const struct wolf_group groups[] = {
		{0x001d, 0, TB_WOLF_HAS_X25519, "X25519", "X25519",
		 "a build with --enable-curve25519 has it", 0, 0, 0},
		{0x0017, ECC_SECP256R1, TB_WOLF_HAS_ECC, "P-256", "SECP256R1",
		 "a build with --enable-ecc has it", 0, 0, 0},
		{0x0018, ECC_SECP384R1, TB_WOLF_HAS_ECC, "P-384", "SECP384R1",
		 "a build with --enable-ecc has it", 0, 0, 0},
		{0x0019, ECC_SECP521R1, TB_WOLF_HAS_ECC, "P-521", "SECP521R1",
		 "a build with --enable-ecc has it", 0, 0, 0},
		{0x001e, 0, TB_WOLF_HAS_X448, "X448", "X448",
		 "a build with --enable-curve448 has it", 0, 0, 0},
		{0x11ec, 0, TB_WOLF_HAS_MLKEM768 && TB_WOLF_HAS_X25519,
		 "X25519MLKEM768", "X25519MLKEM768", TB_WOLF_HAS_IT_HYBRID,
		 0x001d, TB_WOLF_MLKEM768, 1},
		{0x11eb, ECC_SECP256R1, TB_WOLF_HAS_MLKEM768 && TB_WOLF_HAS_ECC,
		 "SecP256r1MLKEM768", "SecP256r1MLKEM768",
		 TB_WOLF_HAS_IT_HYBRID, 0x0017, TB_WOLF_MLKEM768, 0},
		{0x11ed, ECC_SECP384R1,
		 TB_WOLF_HAS_MLKEM1024 && TB_WOLF_HAS_ECC, "SecP384r1MLKEM1024",
		 "SecP384r1MLKEM1024", TB_WOLF_HAS_IT_HYBRID, 0x0018,
		 TB_WOLF_MLKEM1024, 0},
		{0x6399, 0, TB_WOLF_HAS_KYBER768 && TB_WOLF_HAS_X25519,
		 "X25519_KYBER_LEVEL3", "X25519_KYBER_LEVEL3",
		 "a wolfSSL built with --enable-mlkem=yes,original has this "
		 "pre-standard draft",
		 0x001d, TB_WOLF_KYBER768, 0},
	};

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (wolf_name != NULL ? strcmp(groups[i].wolf, wolf_name) == 0
				      : groups[i].id == id)
			return &groups[i];
	return NULL;
}

/* The refusal of a group this build lacks (g->usable is 0). */
static inline void
wolf_group_lacks(const struct wolf_group *g, char *err, size_t errlen)
{
	struct tb_group_reason why = {g->id, g->has_it};

	tb_lacks_group(err, errlen, TB_WOLF_NAME, g->id, &why, 1);
}

#if defined(WOLFSSL_HAVE_MLDSA) && !defined(WOLFSSL_MLDSA_NO_SIGN)
#define TB_WOLF_HAS_MLDSA 1
#else
#define TB_WOLF_HAS_MLDSA 0
#endif

enum {
	TB_WOLF_KEY_RSA = 1,
	TB_WOLF_KEY_ECC,
	TB_WOLF_KEY_ED25519,
	TB_WOLF_KEY_MLDSA,
};

/* 1 with the reason in err when key_file holds a key type this wolfSSL
 * was built without (ML-DSA), before it fails to parse it; else 0. */
int tb_wolf_key_lacks(const char *key_file, char *err, size_t errlen);
/* The kind of the PEM private key in key_file (TB_WOLF_KEY_*) and its
 * parameter (ECC: the ecc_curve_id; ML-DSA: the level, 2, 3 or 5); 0, or
 * -1 with a reason (wolfssl_floor.c). */
int tb_wolf_key_kind(const char *key_file, int *kind, int *param, char *err,
		     size_t errlen);
/* The TLS 1.3 SignatureScheme of such a key (RSA: rsa_pss_rsae_sha256). */
uint16_t tb_wolf_sigalg13(int kind, int param);

#endif
