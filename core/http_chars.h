/* http_chars.h: the character classes of HTTP's grammar (RFC 9110 5.5,
 * 5.6.2; RFC 3986 for targets and Host), shared by the head parser and
 * the body reader.  One table lookup per byte: the parser runs them over
 * every byte of every request head. */
#ifndef TB_HTTP_CHARS_H
#define TB_HTTP_CHARS_H

#include <stdint.h>

enum {
	TB_HTTP_TCHAR = 1,    /* token (RFC 9110 5.6.2) */
	TB_HTTP_REG_NAME = 2, /* unreserved and sub-delims (RFC 3986) */
	TB_HTTP_TARGET = 4,   /* those, ":", "@", "/" and "?": what a path
			       * and query hold besides "%HH" (RFC 9112 3.2) */
	TB_HTTP_VALUE = 8,    /* field-value: VCHAR, obs-text, SP, HTAB
			       * (RFC 9110 5.5); no CR, LF, NUL, other CTL */
	TB_HTTP_HEX = 16,     /* HEXDIG */
};

extern const uint8_t tb_http_char_class[256];

static inline int
tb_http_is(unsigned char c, int class)
{
	return (tb_http_char_class[c] & class) != 0;
}

/* OWS, RWS and BWS are made of these. */
static inline int
tb_http_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

#endif
