/* http_body.c: reads a request body to drop it, by its Content-Length or
 * by decoding the chunked coding as it arrives (RFC 9112 7.1).
 *
 * The chunked decoder is a state machine fed any split of the stream: it
 * keeps no line buffer, so a size line, its extensions and the trailer
 * fields cost no memory, only their bytes against TB_HTTP_BODY_MAX.  It is
 * strict: every line ends in CRLF, extensions and trailer fields follow
 * their grammar, because a body another parser would end elsewhere is how
 * requests are smuggled.  Extensions are ignored once parsed (7.1.1),
 * trailer fields dropped (7.1.2).
 */
#include "http.h"

#include <string.h>

#include "http_chars.h"

enum chunk_state {
	CH_SIZE_FIRST, /* chunk-size: the first HEXDIG */
	CH_SIZE,       /* more HEXDIG, BWS ";", or CR */
	CH_SIZE_BWS,   /* BWS after the size: more, or ";" */
	CH_EXT_BWS,    /* after ";": BWS, then chunk-ext-name */
	CH_EXT_NAME,   /* token; then BWS "=" or ";" or CR */
	CH_EXT_NAME_BWS,
	CH_EXT_VAL_BWS, /* after "=": BWS, then token or quoted-string */
	CH_EXT_TOKEN,
	CH_EXT_QUOTED,
	CH_EXT_QUOTED_PAIR, /* after a backslash inside the quotes */
	CH_EXT_END,	    /* after a value: BWS ";" or CR */
	CH_SIZE_LF,	    /* the LF ending the size line */
	CH_DATA,	    /* chunk-data */
	CH_DATA_CR,	    /* the CRLF after the data */
	CH_DATA_LF,
	CH_TRAILER,	  /* a trailer field's first byte, or the final CR */
	CH_TRAILER_NAME,  /* token until ":" */
	CH_TRAILER_VALUE, /* field-value until CR */
	CH_TRAILER_LF,
	CH_END_LF, /* the LF of the last, empty line */
	CH_DONE,
};

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* qdtext and the octet of a quoted-pair (RFC 9110 5.6.4). */
static int
is_qdtext(unsigned char c)
{
	return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
	       (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

/* What chunk_step returns instead of a state. */
enum {
	STEP_BAD = -1,	     /* the byte breaks the grammar: 400 */
	STEP_TOO_LARGE = -2, /* a chunk size over the limit: 413 */
};

/* One byte of everything but chunk-data: the next state, or STEP_*. */
static int
chunk_step(struct tb_http_body *b, unsigned char c)
{
	int h;

	switch ((enum chunk_state)b->state) {
	case CH_SIZE_FIRST:
	case CH_SIZE:
		h = hex_value(c);
		if (h >= 0) {
			/* 7.1: a huge numeral must not overflow; one
			 * over the limit is already a 413. */
			if (b->left > (TB_HTTP_BODY_MAX - (uint64_t)h) / 16)
				return STEP_TOO_LARGE;
			b->left = b->left * 16 + (uint32_t)h;
			return CH_SIZE;
		}
		if (b->state == CH_SIZE_FIRST)
			return STEP_BAD;
		if (c == '\r')
			return CH_SIZE_LF;
		if (c == ';')
			return CH_EXT_BWS;
		return tb_http_is_ws(c) ? CH_SIZE_BWS : STEP_BAD;
	case CH_SIZE_BWS:
	case CH_EXT_NAME_BWS:
	case CH_EXT_END:
		if (tb_http_is_ws(c))
			return b->state;
		if (c == ';')
			return CH_EXT_BWS;
		if (c == '=' && b->state == CH_EXT_NAME_BWS)
			return CH_EXT_VAL_BWS;
		if (c == '\r' && b->state == CH_EXT_END)
			return CH_SIZE_LF;
		return STEP_BAD;
	case CH_EXT_BWS:
		if (tb_http_is_ws(c))
			return CH_EXT_BWS;
		return tb_http_is(c, TB_HTTP_TCHAR) ? CH_EXT_NAME : STEP_BAD;
	case CH_EXT_NAME:
	case CH_EXT_TOKEN:
		if (tb_http_is(c, TB_HTTP_TCHAR))
			return b->state;
		if (c == '\r')
			return CH_SIZE_LF;
		if (c == ';')
			return CH_EXT_BWS;
		if (c == '=' && b->state == CH_EXT_NAME)
			return CH_EXT_VAL_BWS;
		if (tb_http_is_ws(c))
			return b->state == CH_EXT_NAME ? CH_EXT_NAME_BWS
						       : CH_EXT_END;
		return STEP_BAD;
	case CH_EXT_VAL_BWS:
		if (tb_http_is_ws(c))
			return CH_EXT_VAL_BWS;
		if (c == '"')
			return CH_EXT_QUOTED;
		return tb_http_is(c, TB_HTTP_TCHAR) ? CH_EXT_TOKEN : STEP_BAD;
	case CH_EXT_QUOTED:
		if (c == '"')
			return CH_EXT_END;
		if (c == '\\')
			return CH_EXT_QUOTED_PAIR;
		return is_qdtext(c) ? CH_EXT_QUOTED : STEP_BAD;
	case CH_EXT_QUOTED_PAIR:
		return tb_http_is(c, TB_HTTP_VALUE) ? CH_EXT_QUOTED : STEP_BAD;
	case CH_SIZE_LF:
		if (c != '\n')
			return STEP_BAD;
		/* The last chunk (size 0) is followed by the trailers. */
		return b->left > 0 ? CH_DATA : CH_TRAILER;
	case CH_DATA_CR:
		return c == '\r' ? CH_DATA_LF : STEP_BAD;
	case CH_DATA_LF:
		return c == '\n' ? CH_SIZE_FIRST : STEP_BAD;
	case CH_TRAILER:
		if (c == '\r')
			return CH_END_LF;
		/* Whitespace first would be obs-fold (RFC 9112 5.2). */
		return tb_http_is(c, TB_HTTP_TCHAR) ? CH_TRAILER_NAME
						    : STEP_BAD;
	case CH_TRAILER_NAME:
		if (c == ':')
			return CH_TRAILER_VALUE;
		return tb_http_is(c, TB_HTTP_TCHAR) ? CH_TRAILER_NAME
						    : STEP_BAD;
	case CH_TRAILER_VALUE:
		if (c == '\r')
			return CH_TRAILER_LF;
		/* RFC 9110 5.5: no NUL, LF or other control. */
		return tb_http_is(c, TB_HTTP_VALUE) ? CH_TRAILER_VALUE
						    : STEP_BAD;
	case CH_TRAILER_LF:
		return c == '\n' ? CH_TRAILER : STEP_BAD;
	case CH_END_LF:
		return c == '\n' ? CH_DONE : STEP_BAD;
	case CH_DATA:
	case CH_DONE:
		break;
	}
	return STEP_BAD;
}

void
tb_http_body_start(struct tb_http_body *b, const struct tb_http_request *req)
{
	memset(b, 0, sizeof(*b));
	b->framing = (uint8_t)req->framing;
	if (req->framing == TB_HTTP_LENGTH)
		b->left = (uint32_t)req->content_length;
	b->state = req->framing == TB_HTTP_CHUNKED ? CH_SIZE_FIRST : CH_DONE;
}

static enum tb_http_body_result
body_error(struct tb_http_body *b, int status, size_t i, size_t *used)
{
	b->status = (uint16_t)status;
	*used = i;
	return TB_HTTP_BODY_ERROR;
}

static enum tb_http_body_result
read_chunked(struct tb_http_body *b, const char *p, size_t len, size_t *used)
{
	size_t i = 0;

	while (i < len && b->state != CH_DONE) {
		size_t take;
		int next;

		if (b->state == CH_DATA) {
			take = len - i < b->left ? len - i : b->left;
			b->left -= (uint32_t)take;
			b->seen += (uint32_t)take;
			i += take;
			if (b->left == 0)
				b->state = CH_DATA_CR;
			continue;
		}
		/* Framing bytes count against the limit like data. */
		if (++b->seen > TB_HTTP_BODY_MAX)
			return body_error(b, 413, i, used);
		/* A chunk's data must fit what is left of the limit. */
		next = chunk_step(b, (unsigned char)p[i]);
		if (next == STEP_TOO_LARGE ||
		    (next == CH_DATA && b->left > TB_HTTP_BODY_MAX - b->seen))
			return body_error(b, 413, i, used);
		if (next < 0)
			return body_error(b, 400, i, used);
		b->state = (uint8_t)next;
		i++;
	}
	*used = i;
	return b->state == CH_DONE ? TB_HTTP_BODY_DONE : TB_HTTP_BODY_MORE;
}

enum tb_http_body_result
tb_http_body_read(struct tb_http_body *b, const char *p, size_t len,
		  size_t *used)
{
	size_t take;

	if (b->framing == TB_HTTP_CHUNKED)
		return read_chunked(b, p, len, used);
	take = len < b->left ? len : b->left;
	b->left -= (uint32_t)take;
	*used = take;
	return b->left == 0 ? TB_HTTP_BODY_DONE : TB_HTTP_BODY_MORE;
}
