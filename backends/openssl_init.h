/* openssl_init.h: what openssl.c and openssl_floor.c share (library
 * start-up, error text, what a version lacks); private to the OpenSSL
 * backend. */
#ifndef TB_OPENSSL_INIT_H
#define TB_OPENSSL_INIT_H

#include <stdio.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "common.h"

/* BoringSSL and LibreSSL headers define OPENSSL_VERSION_NUMBER too. */
#if !defined(OPENSSL_VERSION_NUMBER) || defined(OPENSSL_IS_BORINGSSL) ||       \
	defined(LIBRESSL_VERSION_NUMBER) ||                                    \
	OPENSSL_VERSION_NUMBER < 0x30000000L
#error "backends/openssl*.c need OpenSSL 3 headers (-Dtls=openssl)"
#endif

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

/* "OpenSSL 3.0.19": the running library, for tb_lacks(). */
static inline const char *
ossl_name(void)
{
	static char name[48];

	if (name[0] == '\0')
		snprintf(name, sizeof(name), "OpenSSL %s",
			 OpenSSL_version(OPENSSL_VERSION_STRING));
	return name;
}

/* A group this OpenSSL refused or cannot make: when it is one of the
 * post-quantum groups, the reason goes into err and 1 is returned; 0 for
 * any other group (the caller says "unknown"). */
static inline int
ossl_group_lacks(uint16_t group, char *err, size_t errlen)
{
	static const char since35[] = "OpenSSL 3.5 or later has it";
	static const struct tb_group_reason reasons[] = {
		{0x0200, since35}, /* MLKEM512 .. MLKEM1024 */
		{0x0201, since35},
		{0x0202, since35},
		{0x11eb, since35}, /* SecP256r1MLKEM768 .. SecP384r1MLKEM1024 */
		{0x11ec, since35},
		{0x11ed, since35},
		{0x6399, "no OpenSSL release has this pre-standard draft"},
	};

	return tb_lacks_group(err, errlen, ossl_name(), group, reasons,
			      sizeof(reasons) / sizeof(reasons[0]));
}

/* 1 with the reason in err when key_file holds a key type this OpenSSL
 * has no implementation of (ML-DSA before 3.5), else 0.  Asked before the
 * library parses the key, which would fail with a decoder error. */
static inline int
ossl_key_lacks(const char *key_file, char *err, size_t errlen)
{
	const char *name;
	EVP_KEYMGMT *km;

	if (tb_key_type(key_file, &name) != TB_KEY_MLDSA)
		return 0;
	km = EVP_KEYMGMT_fetch(NULL, name, NULL);
	if (km != NULL) {
		EVP_KEYMGMT_free(km);
		return 0;
	}
	ERR_clear_error();
	tb_lacks(err, errlen, ossl_name(), name, "OpenSSL 3.5 or later has it");
	return 1;
}

#endif
