/* boringssl_err.h: what boringssl.c and boringssl_floor.c share (the
 * library's error text, and what this BoringSSL lacks); private to the
 * BoringSSL backend. */
#ifndef TB_BORINGSSL_ERR_H
#define TB_BORINGSSL_ERR_H

#include <stdint.h>
#include <stdio.h>

#include <openssl/base.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common.h"

/* The oldest queued library error as text, then an empty queue. */
static inline const char *
lib_error(char *buf, size_t len)
{
	uint32_t e = ERR_get_error();

	if (e == 0)
		snprintf(buf, len, "no library error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* "BoringSSL (API 19)": BoringSSL has no release numbers. */
static inline const char *
bssl_name(void)
{
	static char name[32];

	if (name[0] == '\0')
		snprintf(name, sizeof(name), "BoringSSL (API %d)",
			 BORINGSSL_API_VERSION);
	return name;
}

/* A group this BoringSSL refused or cannot make: when it is one of the
 * post-quantum groups, the reason goes into err and 1 is returned; 0 for
 * any other group (the caller says "unknown"). */
static inline int
bssl_group_lacks(uint16_t group, char *err, size_t errlen)
{
	static const char mlkem[] =
		"only newer upstream BoringSSL has ML-KEM groups";
	static const struct tb_group_reason reasons[] = {
		{0x6399, "BoringSSL 14, API 19, has this pre-standard draft"},
		{0x11ec,
		 "newer upstream BoringSSL has it; BoringSSL 14 has the "
		 "draft X25519Kyber768Draft00"},
		{0x0200, mlkem},
		{0x0201, mlkem},
		{0x0202, mlkem},
		{0x11eb, mlkem},
		{0x11ed, mlkem},
	};

	return tb_lacks_group(err, errlen, bssl_name(), group, reasons,
			      sizeof(reasons) / sizeof(reasons[0]));
}

/* 1 with the reason in err when key_file holds a key type this BoringSSL
 * cannot sign TLS with (ML-DSA), before it fails to parse it; else 0. */
static inline int
bssl_key_lacks(const char *key_file, char *err, size_t errlen)
{
	const char *name;

	if (tb_key_type(key_file, &name) != TB_KEY_MLDSA)
		return 0;
#ifdef SSL_SIGN_MLDSA65
	(void)err;
	(void)errlen;
	return 0; /* a BoringSSL that has it: the library decides */
#else
	tb_lacks(err, errlen, bssl_name(), name,
		 "this BoringSSL has no ML-DSA at all; a newer upstream one is "
		 "needed");
	return 1;
#endif
}

#endif
