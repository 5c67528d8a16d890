/* wolfssl_names.h: the key exchange groups wolfssl.c and wolfssl_floor.c
 * share; private to the wolfSSL backend.  Include after wolfssl/options.h. */
#ifndef TB_WOLFSSL_NAMES_H
#define TB_WOLFSSL_NAMES_H

#include <string.h>
#include <strings.h>

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

struct group_name {
	const char *name;  /* accepted, case-insensitively */
	int id;		   /* WOLFSSL_ECC_* */
	int curve;	   /* ecc_curve_id for wolfCrypt, 0 for X25519/X448 */
	int usable;	   /* built into this wolfSSL */
	const char *shown; /* the name every backend reports: X25519, P-256 */
	const char *canon; /* the name wolfSSL's curve list parser knows */
};

/* The group named by the first len bytes of name, or NULL. */
static inline const struct group_name *
find_group(const char *name, size_t len)
{
	static const struct group_name groups[] = {
		{"X25519", WOLFSSL_ECC_X25519, 0, TB_WOLF_HAS_X25519, "X25519",
		 "X25519"},
		{"X448", WOLFSSL_ECC_X448, 0, TB_WOLF_HAS_X448, "X448", "X448"},
		{"P-256", WOLFSSL_ECC_SECP256R1, ECC_SECP256R1, 1, "P-256",
		 "P-256"},
		{"secp256r1", WOLFSSL_ECC_SECP256R1, ECC_SECP256R1, 1, "P-256",
		 "P-256"},
		{"prime256v1", WOLFSSL_ECC_SECP256R1, ECC_SECP256R1, 1, "P-256",
		 "P-256"},
		{"P-384", WOLFSSL_ECC_SECP384R1, ECC_SECP384R1, 1, "P-384",
		 "P-384"},
		{"secp384r1", WOLFSSL_ECC_SECP384R1, ECC_SECP384R1, 1, "P-384",
		 "P-384"},
		{"P-521", WOLFSSL_ECC_SECP521R1, ECC_SECP521R1, 1, "P-521",
		 "P-521"},
		{"secp521r1", WOLFSSL_ECC_SECP521R1, ECC_SECP521R1, 1, "P-521",
		 "P-521"},
	};

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strlen(groups[i].name) == len &&
		    strncasecmp(groups[i].name, name, len) == 0)
			return &groups[i];
	return NULL;
}

#endif
