/* boringssl_err.h: what boringssl.c and boringssl_floor.c share (the
 * library's error text); private to the BoringSSL backend. */
#ifndef TB_BORINGSSL_ERR_H
#define TB_BORINGSSL_ERR_H

#include <stdint.h>
#include <stdio.h>

#include <openssl/err.h>

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

#endif
