/* openssl_names.h: what openssl.c and openssl_floor.c share (group names,
 * library start-up, error text); private to the OpenSSL backend. */
#ifndef TB_OPENSSL_NAMES_H
#define TB_OPENSSL_NAMES_H

#include <stdio.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* A key exchange group under any name OpenSSL or a user gives it. */
struct ossl_group {
	const char *alias;	  /* matched case-insensitively */
	const char *name;	  /* reported by every backend: X25519, P-256 */
	const char *algorithm;	  /* OpenSSL key type (crypto floor) */
	const char *keygen_group; /* EVP group name, NULL for X25519/X448 */
};

/* OpenSSL names groups after the IANA registry ("secp256r1"); results
 * use the short names every backend reports, so columns compare. */
static inline const struct ossl_group *
ossl_group_find(const char *alias)
{
	static const struct ossl_group table[] = {
		{"X25519", "X25519", "X25519", NULL},
		{"X448", "X448", "X448", NULL},
		{"P-256", "P-256", "EC", "P-256"},
		{"prime256v1", "P-256", "EC", "P-256"},
		{"secp256r1", "P-256", "EC", "P-256"},
		{"P-384", "P-384", "EC", "P-384"},
		{"secp384r1", "P-384", "EC", "P-384"},
		{"P-521", "P-521", "EC", "P-521"},
		{"secp521r1", "P-521", "EC", "P-521"},
		{"ffdhe2048", "ffdhe2048", "DH", "ffdhe2048"},
		{"ffdhe3072", "ffdhe3072", "DH", "ffdhe3072"},
		{"ffdhe4096", "ffdhe4096", "DH", "ffdhe4096"},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcasecmp(alias, table[i].alias) == 0)
			return &table[i];
	return NULL;
}

/* What is measured comes from the command line alone: neither
 * /etc/ssl/openssl.cnf nor a prefix's openssl.cnf may change ciphers,
 * security level or providers behind the benchmark's back (wolfSSL and
 * BoringSSL read no configuration file either).  Must run before any
 * other OpenSSL call that initialises the library. */
static inline void
ossl_init(void)
{
	OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
}

/* The first queued OpenSSL error as text, then an empty queue. */
static inline const char *
ossl_reason(char *buf, size_t len)
{
	unsigned long code = ERR_get_error();

	if (code == 0)
		snprintf(buf, len, "no reason given by OpenSSL");
	else
		ERR_error_string_n(code, buf, len);
	ERR_clear_error();
	return buf;
}

#endif
