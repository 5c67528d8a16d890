/* openssl_init.h: what openssl.c and openssl_floor.c share (library
 * start-up, error text); private to the OpenSSL backend. */
#ifndef TB_OPENSSL_INIT_H
#define TB_OPENSSL_INIT_H

#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

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

#endif
