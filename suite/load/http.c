/* http.c: reads an HTTP/1.x response head: status, Content-Length and
 * Connection.  No allocation; the caller keeps the bytes. */
#define _GNU_SOURCE /* memmem */
#include "load.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool
header_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

static bool
value_has(const char *v, size_t len, const char *token)
{
	size_t tl = strlen(token);

	for (size_t i = 0; i + tl <= len; i++)
		if (strncasecmp(v + i, token, tl) == 0)
			return true;
	return false;
}

long
tl_http_parse_head(const char *buf, size_t have, size_t fresh, bool head,
		   struct tl_response *r, char *detail, size_t dlen)
{
	size_t from = have > fresh + 3 ? have - fresh - 3 : 0;
	const char *p = buf, *end, *line;
	int64_t clen = -1;

	end = memmem(p + from, have - from, "\r\n\r\n", 4);
	if (end == NULL)
		return 0;
	end += 4;
	if (end - p < 14 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1') || p[8] != ' ' || p[9] < '1' ||
	    p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' ||
	    p[11] > '9' || (p[12] != ' ' && p[12] != '\r')) {
		snprintf(detail, dlen, "malformed status line");
		return -1;
	}
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	r->close = p[7] == '0';
	line = (const char *)memchr(p, '\n', (size_t)(end - p)) + 1;
	while (line < end - 2) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL) {
			snprintf(detail, dlen, "malformed header line");
			return -1;
		}
		size_t nlen = (size_t)(colon - line);
		const char *v = colon + 1, *vend = eol;
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		while (vend > v && (vend[-1] == '\r' || vend[-1] == ' ' ||
				    vend[-1] == '\t'))
			vend--;
		if (header_is(line, nlen, "content-length")) {
			int64_t n = 0;
			if (v == vend)
				goto bad_length;
			for (const char *q = v; q < vend; q++) {
				if (*q < '0' || *q > '9' ||
				    n > (INT64_MAX - 9) / 10)
					goto bad_length;
				n = n * 10 + (*q - '0');
			}
			if (clen >= 0 && clen != n)
				goto bad_length;
			clen = n;
		} else if (header_is(line, nlen, "transfer-encoding")) {
			snprintf(detail, dlen,
				 "Transfer-Encoding responses are not "
				 "supported (need Content-Length)");
			return -1;
		} else if (header_is(line, nlen, "connection")) {
			if (value_has(v, (size_t)(vend - v), "close"))
				r->close = true;
			else if (value_has(v, (size_t)(vend - v), "keep-alive"))
				r->close = false;
		}
		line = eol + 1;
	}
	if (r->status < 200) {
		snprintf(detail, dlen, "interim %d responses are not supported",
			 r->status);
		return -1;
	}
	bool bodyless = head || r->status == 204 || r->status == 304;
	if (clen < 0 && !bodyless) {
		snprintf(detail, dlen, "response without Content-Length");
		return -1;
	}
	r->content_length = clen;
	r->body_length = bodyless ? 0 : clen;
	return (long)(end - p);
bad_length:
	snprintf(detail, dlen, "bad Content-Length");
	return -1;
}
