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
#include <wolfssl/wolfcrypt/ecc.h>

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

struct wolf_group {
	uint16_t id;	   /* IANA NamedGroup = WOLFSSL_ECC_* */
	int curve;	   /* ecc_curve_id for wolfCrypt, 0 for X25519/X448 */
	int usable;	   /* built into this wolfSSL */
	const char *canon; /* the name wolfSSL's curve list parser knows */
	const char *wolf;  /* what wolfSSL_get_curve_name() answers */
};

static inline const struct wolf_group *
wolf_group_by(uint16_t id, const char *wolf_name)
{
	static const struct wolf_group groups[] = {
		{WOLFSSL_ECC_X25519, 0, TB_WOLF_HAS_X25519, "X25519", "X25519"},
		{WOLFSSL_ECC_SECP256R1, ECC_SECP256R1, TB_WOLF_HAS_ECC, "P-256",
		 "SECP256R1"},
		{WOLFSSL_ECC_SECP384R1, ECC_SECP384R1, TB_WOLF_HAS_ECC, "P-384",
		 "SECP384R1"},
		{WOLFSSL_ECC_SECP521R1, ECC_SECP521R1, TB_WOLF_HAS_ECC, "P-521",
		 "SECP521R1"},
		{WOLFSSL_ECC_X448, 0, TB_WOLF_HAS_X448, "X448", "X448"},
	};

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (wolf_name != NULL ? strcmp(groups[i].wolf, wolf_name) == 0
				      : groups[i].id == id)
			return &groups[i];
	return NULL;
}

enum { TB_WOLF_KEY_RSA = 1, TB_WOLF_KEY_ECC, TB_WOLF_KEY_ED25519 };

/* The kind of the PEM private key in key_file (TB_WOLF_KEY_*) and, for
 * ECC, its ecc_curve_id; 0, or -1 with a reason (wolfssl_floor.c). */
int tb_wolf_key_kind(const char *key_file, int *kind, int *curve, char *err,
		     size_t errlen);
/* The TLS 1.3 SignatureScheme of such a key (RSA: rsa_pss_rsae_sha256). */
uint16_t tb_wolf_sigalg13(int kind, int curve);

#endif
