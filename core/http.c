/* http.c: parses HTTP/1.x request heads, decides their status and routes
 * paths to sizes.  No I/O here (see http.h); section numbers are RFC 9110
 * (HTTP) and RFC 9112 (HTTP/1.1), listed in core/HTTP.md. */
#include "http.h"

#include <arpa/inet.h>
#include <string.h>

#include "http_chars.h"

/* What the header fields said, gathered line by line. */
struct fields {
	uint64_t length;
	int has_length;
	int hosts;
	int close;
	int keep_alive;
	int te;		   /* a Transfer-Encoding field was seen */
	int te_codings;	   /* transfer codings listed */
	int te_chunked;	   /* the last one listed is chunked */
	int expect_100;	   /* 100-continue expected */
	int expect_other;  /* any other expectation */
	int if_match;	   /* enum tb_http_condition */
	int if_none_match; /* enum tb_http_condition */
};

static int
equal_nocase(const char *a, size_t alen, const char *b)
{
	size_t i;

	if (alen != strlen(b))
		return 0;
	for (i = 0; i < alen; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != (unsigned char)b[i])
			return 0;
	}
	return 1;
}

static int
starts_nocase(const char *a, size_t alen, const char *prefix)
{
	size_t n = strlen(prefix);

	return alen >= n && equal_nocase(a, n, prefix);
}

/* The next element of a comma-separated list (RFC 9110 5.6.1) starting at
 * *pos, without its surrounding whitespace; empty elements are skipped.
 * 0 when the list is done. */
static int
next_element(const char *v, size_t n, size_t *pos, const char **elem,
	     size_t *elen)
{
	size_t i = *pos, start, end;

	while (i < n && (tb_http_is_ws(v[i]) || v[i] == ','))
		i++;
	*pos = i;
	if (i >= n)
		return 0;
	start = i;
	while (i < n && v[i] != ',')
		i++;
	end = i;
	while (tb_http_is_ws(v[end - 1]))
		end--;
	*pos = i;
	*elem = v + start;
	*elen = end - start;
	return 1;
}

/* "%" HEXDIG HEXDIG at p (RFC 3986 2.1). */
static int
is_pct_encoded(const char *p, size_t n)
{
	return n >= 3 && p[0] == '%' &&
	       tb_http_is((unsigned char)p[1], TB_HTTP_HEX) &&
	       tb_http_is((unsigned char)p[2], TB_HTTP_HEX);
}

/* The port of an authority: digits (RFC 3986 3.2.3) naming a port that
 * can exist; empty only where allowed. */
static int
valid_port(const char *p, size_t n, int required)
{
	uint32_t value = 0;
	size_t i;

	if (n == 0)
		return !required;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		if (value <= 65535)
			value = value * 10 + (uint32_t)(p[i] - '0');
	}
	return value <= 65535;
}

/* "[" IPv6address or IPvFuture "]" (RFC 3986 3.2.2). */
static int
valid_ip_literal(const char *p, size_t n)
{
	char text[INET6_ADDRSTRLEN];
	unsigned char addr[16];
	size_t i;

	if (n > 3 && (p[0] == 'v' || p[0] == 'V')) {
		for (i = 1;
		     i < n && tb_http_is((unsigned char)p[i], TB_HTTP_HEX); i++)
			;
		if (i == 1 || i + 1 >= n || p[i] != '.')
			return 0;
		for (i++; i < n; i++)
			if (!tb_http_is((unsigned char)p[i],
					TB_HTTP_REG_NAME) &&
			    p[i] != ':')
				return 0;
		return 1;
	}
	if (n == 0 || n >= sizeof(text))
		return 0;
	memcpy(text, p, n);
	text[n] = '\0';
	return inet_pton(AF_INET6, text, addr) == 1;
}

/* uri-host [ ":" port ], the Host field value (RFC 9110 7.2) and the
 * authority of a target; an empty host is valid only in Host. */
static int
valid_authority(const char *p, size_t n, int host_required, int port_required)
{
	size_t i = 0;

	if (n > 0 && p[0] == '[') {
		const char *end = memchr(p, ']', n);

		if (end == NULL ||
		    !valid_ip_literal(p + 1, (size_t)(end - p) - 1))
			return 0;
		i = (size_t)(end - p) + 1;
	} else {
		while (i < n) {
			if (tb_http_is((unsigned char)p[i], TB_HTTP_REG_NAME))
				i++;
			else if (is_pct_encoded(p + i, n - i))
				i += 3;
			else
				break;
		}
		if (i == 0 && host_required)
			return 0;
	}
	if (i == n)
		return !port_required;
	if (p[i] != ':')
		return 0;
	return valid_port(p + i + 1, n - i - 1, port_required);
}

/* pchar, "/" and "?" (RFC 9112 3.2.1: absolute-path [ "?" query ]), with
 * "%" only as the start of a pct-encoded octet; no fragment. */
static int
valid_target_chars(const char *t, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (tb_http_is((unsigned char)t[i], TB_HTTP_TARGET))
			i++;
		else if (is_pct_encoded(t + i, n - i))
			i += 3;
		else
			return 0;
	}
	return 1;
}

/* origin-form, or the path and query of an absolute-form target: the
 * path goes to the router without its query. */
static int
set_path(const char *t, size_t n, struct tb_http_request *req)
{
	const char *q;

	if (!valid_target_chars(t, n))
		return 400;
	q = memchr(t, '?', n);
	req->path = t;
	req->path_len = q != NULL ? (size_t)(q - t) : n;
	return 0;
}

/* An http or https absolute-form target (RFC 9112 3.2.2): the server must
 * accept it and route its path.  Other schemes name nothing served here. */
static int
parse_absolute(const char *t, size_t n, struct tb_http_request *req)
{
	size_t scheme, i;

	if (starts_nocase(t, n, "http://"))
		scheme = 7;
	else if (starts_nocase(t, n, "https://"))
		scheme = 8;
	else
		return 400;
	for (i = scheme; i < n && t[i] != '/' && t[i] != '?'; i++)
		;
	/* Userinfo is an error (RFC 9110 4.2.4); so is an empty host
	 * (4.2.1, 4.2.2). */
	if (memchr(t + scheme, '@', i - scheme) != NULL ||
	    !valid_authority(t + scheme, i - scheme, 1, 0))
		return 400;
	req->https_target = scheme == 8;
	if (i < n && t[i] == '/')
		return set_path(t + i, n - i, req);
	/* An empty path is "/" (RFC 9110 4.2.3). */
	if (!valid_target_chars(t + i, n - i))
		return 400;
	req->path = "/";
	req->path_len = 1;
	return 0;
}

/* The methods RFC 9110 defines besides GET and HEAD: known, not allowed on
 * any path here, so 405 with Allow (9.1, 15.5.6).  Any other token is a
 * method this server does not implement: 501 (9.1).  Methods are
 * case-sensitive: "get" is not GET. */
static int
method_status(const char *m, size_t n, struct tb_http_request *req)
{
	static const char *const known[] = {
		"POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
	};
	size_t i;

	if (n == 3 && memcmp(m, "GET", 3) == 0) {
		req->method = TB_HTTP_GET;
		return 0;
	}
	if (n == 4 && memcmp(m, "HEAD", 4) == 0) {
		req->method = TB_HTTP_HEAD;
		return 0;
	}
	req->method = TB_HTTP_OTHER;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (n == strlen(known[i]) && memcmp(m, known[i], n) == 0)
			return 405;
	return 501;
}

/* The request-target in the form its method allows (RFC 9112 3.2):
 * authority-form only for CONNECT, asterisk-form only for OPTIONS,
 * origin-form or absolute-form for the rest; any other is a 400. */
static int
parse_target(const char *m, size_t mlen, const char *t, size_t n,
	     struct tb_http_request *req)
{
	if (mlen == 7 && memcmp(m, "CONNECT", 7) == 0) {
		/* 9.3.6: an empty or invalid port is a 400. */
		if (!valid_authority(t, n, 1, 1))
			return 400;
		req->path = t;
		req->path_len = n;
		return 0;
	}
	if (n == 1 && t[0] == '*') {
		if (mlen != 7 || memcmp(m, "OPTIONS", 7) != 0)
			return 400;
		req->path = t;
		req->path_len = n;
		return 0;
	}
	if (t[0] == '/')
		return set_path(t, n, req);
	return parse_absolute(t, n, req);
}

/* "METHOD SP target SP HTTP/x.y"; 0 or the status that loses the stream.
 * A method not served is remembered in req->status, answered once the
 * whole request is read. */
static int
parse_request_line(const char *line, size_t n, struct tb_http_request *req)
{
	const char *sp1, *sp2, *target, *version;
	size_t mlen, tlen, vlen, i;
	int status;

	sp1 = memchr(line, ' ', n);
	if (sp1 == NULL || sp1 == line)
		return 400;
	mlen = (size_t)(sp1 - line);
	for (i = 0; i < mlen; i++)
		if (!tb_http_is((unsigned char)line[i], TB_HTTP_TCHAR))
			return 400;
	status = method_status(line, mlen, req);
	target = sp1 + 1;
	sp2 = memchr(target, ' ', n - mlen - 1);
	if (sp2 == NULL || sp2 == target)
		return 400;
	tlen = (size_t)(sp2 - target);
	version = sp2 + 1;
	vlen = n - (size_t)(version - line);
	if (vlen != 8 || memcmp(version, "HTTP/", 5) != 0 || version[5] < '0' ||
	    version[5] > '9' || version[6] != '.' || version[7] < '0' ||
	    version[7] > '9')
		return 400;
	/* A later 1.x is read as 1.1, the highest this server speaks
	 * (RFC 9110 6.2); other majors get 505. */
	if (version[5] != '1')
		return 505;
	req->version = version[7] == '0' ? 10 : 11;
	if (parse_target(line, mlen, target, tlen, req) != 0)
		return 400;
	req->status = status;
	return 0;
}

static void
parse_connection(const char *v, size_t n, struct fields *f)
{
	const char *e;
	size_t pos = 0, elen;

	while (next_element(v, n, &pos, &e, &elen)) {
		if (equal_nocase(e, elen, "close"))
			f->close = 1;
		else if (equal_nocase(e, elen, "keep-alive"))
			f->keep_alive = 1;
	}
}

/* 1*DIGIT, or a list of one value repeated (RFC 9112 6.3, RFC 9110 8.6),
 * as a list field's empty elements are skipped (5.6.1); anything else, or
 * a value differing from an earlier line, loses the framing: 400.  Over
 * the body limit: 413. */
static int
parse_content_length(const char *v, size_t n, struct fields *f)
{
	const char *e;
	size_t pos = 0, elen, i;
	int values = 0;

	if (f->te)
		return 400; /* RFC 9112 6.1: close after either way */
	while (next_element(v, n, &pos, &e, &elen)) {
		uint64_t value = 0;

		for (i = 0; i < elen; i++) {
			if (e[i] < '0' || e[i] > '9')
				return 400;
			/* Saturate: anything this large is a 413 anyway
			 * (8.6: no overflow). */
			if (value > UINT64_MAX / 10 - 1)
				value = UINT64_MAX;
			else
				value = value * 10 + (uint64_t)(e[i] - '0');
		}
		if (f->has_length && f->length != value)
			return 400;
		f->has_length = 1;
		f->length = value;
		values++;
	}
	if (values == 0)
		return 400;
	return f->length > TB_HTTP_BODY_MAX ? 413 : 0;
}

/* The codings listed, in order; only the last is judged (at the end of
 * the header block) since more lines may follow. */
static int
parse_transfer_encoding(const char *v, size_t n, int version, struct fields *f)
{
	const char *e;
	size_t pos = 0, elen;

	/* RFC 9112 6.1: in HTTP/1.0 the framing is faulty; with a
	 * Content-Length, 6.3 says close after answering: reject both. */
	if (version == 10 || f->has_length)
		return 400;
	f->te = 1;
	while (next_element(v, n, &pos, &e, &elen)) {
		f->te_codings++;
		f->te_chunked = equal_nocase(e, elen, "chunked");
	}
	return 0;
}

static void
parse_expect(const char *v, size_t n, struct fields *f)
{
	const char *e;
	size_t pos = 0, elen;

	while (next_element(v, n, &pos, &e, &elen)) {
		if (equal_nocase(e, elen, "100-continue"))
			f->expect_100 = 1;
		else
			f->expect_other = 1;
	}
}

/* "*" or a list of entity tags; no tag can match (none is ever sent), so
 * only which of the two counts. */
static void
parse_condition(const char *v, size_t n, int *cond)
{
	if (n == 1 && v[0] == '*' && *cond != TB_HTTP_COND_TAGS)
		*cond = TB_HTTP_COND_ANY;
	else
		*cond = TB_HTTP_COND_TAGS;
}

/* "name: OWS value OWS"; 0 or the status that loses the stream. */
static int
parse_field(const char *line, size_t n, int version, struct fields *f)
{
	const char *colon, *v;
	size_t nlen, vlen, i;

	/* obs-fold (a continuation line), and whitespace before the first
	 * field, are rejected, as RFC 9112 5.2 and 2.2 allow. */
	if (tb_http_is_ws(line[0]))
		return 400;
	colon = memchr(line, ':', n);
	if (colon == NULL || colon == line)
		return 400;
	nlen = (size_t)(colon - line);
	/* A name is a token: whitespace before the colon is a 400 (5.1). */
	for (i = 0; i < nlen; i++)
		if (!tb_http_is((unsigned char)line[i], TB_HTTP_TCHAR))
			return 400;
	v = colon + 1;
	vlen = n - nlen - 1;
	for (i = 0; i < vlen; i++)
		if (!tb_http_is((unsigned char)v[i], TB_HTTP_VALUE))
			return 400;
	while (vlen > 0 && tb_http_is_ws(v[0])) {
		v++;
		vlen--;
	}
	while (vlen > 0 && tb_http_is_ws(v[vlen - 1]))
		vlen--;

	/* By length first: most fields are none of these. */
	switch (nlen) {
	case 4:
		/* RFC 9112 3.2: one Host, with a valid value. */
		if (equal_nocase(line, nlen, "host") &&
		    (++f->hosts > 1 || !valid_authority(v, vlen, 0, 0)))
			return 400;
		break;
	case 6:
		if (equal_nocase(line, nlen, "expect"))
			parse_expect(v, vlen, f);
		break;
	case 8:
		if (equal_nocase(line, nlen, "if-match"))
			parse_condition(v, vlen, &f->if_match);
		break;
	case 10:
		if (equal_nocase(line, nlen, "connection"))
			parse_connection(v, vlen, f);
		break;
	case 13:
		if (equal_nocase(line, nlen, "if-none-match"))
			parse_condition(v, vlen, &f->if_none_match);
		break;
	case 14:
		if (equal_nocase(line, nlen, "content-length"))
			return parse_content_length(v, vlen, f);
		break;
	case 17:
		if (equal_nocase(line, nlen, "transfer-encoding"))
			return parse_transfer_encoding(v, vlen, version, f);
		break;
	}
	return 0;
}

/* The blank line: what only the whole header block shows.  0 or the
 * status that loses the stream. */
static int
finish(struct tb_http_request *req, const struct fields *f)
{
	/* RFC 9112 3.2: HTTP/1.1 needs a Host. */
	if (req->version == 11 && f->hosts == 0)
		return 400;
	if (f->te) {
		/* 6.3: chunked must come last, or the length is unknown;
		 * 6.1: a coding before it is one this server does not
		 * implement (501), and the stream is left as well. */
		if (!f->te_chunked)
			return 400;
		if (f->te_codings > 1)
			return 501;
		req->framing = TB_HTTP_CHUNKED;
	} else if (f->has_length && f->length > 0) {
		req->framing = TB_HTTP_LENGTH;
		req->content_length = f->length;
	}
	if (req->version == 11)
		req->conn = f->close ? TB_HTTP_CLOSE : TB_HTTP_KEEP;
	else
		req->conn = f->keep_alive && !f->close ? TB_HTTP_KEEP_ALIVE
						       : TB_HTTP_CLOSE;
	/* RFC 9110 10.1.1: an HTTP/1.0 request's expectations are ignored;
	 * one this server cannot meet is a 417. */
	if (req->version == 11) {
		if (f->expect_other && req->status == 0)
			req->status = 417;
		req->expect_continue =
			f->expect_100 && req->framing != TB_HTTP_NO_BODY;
	}
	req->if_match = (uint8_t)f->if_match;
	req->if_none_match = (uint8_t)f->if_none_match;
	return 0;
}

static enum tb_http_result
fail(struct tb_http_request *req, int status)
{
	req->status = status;
	return TB_HTTP_ERROR;
}

/* What can already be judged in an unfinished line: a CR not followed by
 * LF, or (in the request line) a byte no method can hold, which is how a
 * TLS ClientHello sent to a plaintext port gets its 400 at once. */
static int
check_partial_line(const char *p, size_t n, int in_request_line)
{
	size_t i;

	if (n > 1 && memchr(p, '\r', n - 1) != NULL)
		return 400;
	if (!in_request_line)
		return 0;
	for (i = 0; i < n && p[i] != ' ' && p[i] != '\r'; i++)
		if (!tb_http_is((unsigned char)p[i], TB_HTTP_TCHAR))
			return 400;
	return 0;
}

/* The size limit reached without the end of the header block: a method
 * longer than any implemented is a 501, a target longer than the server
 * parses a 414 (RFC 9112 3), a header section a 431 (RFC 6585 5). */
static int
over_limit(const char *p, size_t n, int in_request_line)
{
	const char *sp;

	if (!in_request_line)
		return 431;
	sp = memchr(p, ' ', n);
	if (sp == NULL)
		return 501;
	if (memchr(sp + 1, ' ', n - (size_t)(sp + 1 - p)) == NULL)
		return 414;
	return 400;
}

enum tb_http_result
tb_http_parse(const char *buf, size_t len, struct tb_http_request *req)
{
	size_t limit = len < TB_HTTP_HEADER_MAX ? len : TB_HTTP_HEADER_MAX;
	size_t pos = 0;
	int have_request_line = 0;
	struct fields f;
	int status;

	memset(req, 0, sizeof(*req));
	memset(&f, 0, sizeof(f));
	while (pos < limit) {
		const char *nl = memchr(buf + pos, '\n', limit - pos);
		const char *line = buf + pos;
		size_t end, n;

		if (nl == NULL)
			break;
		end = (size_t)(nl - buf);
		/* RFC 9112 2.2: a bare LF or CR is a 400. */
		if (end == pos || buf[end - 1] != '\r')
			return fail(req, 400);
		n = end - 1 - pos;
		if (memchr(line, '\r', n) != NULL)
			return fail(req, 400);
		pos = end + 1;

		if (!have_request_line) {
			/* 2.2: ignore empty lines before a request. */
			if (n == 0)
				continue;
			status = parse_request_line(line, n, req);
			if (status != 0)
				return fail(req, status);
			have_request_line = 1;
			continue;
		}
		if (n == 0) {
			status = finish(req, &f);
			if (status != 0)
				return fail(req, status);
			req->header_len = pos;
			return TB_HTTP_REQUEST;
		}
		status = parse_field(line, n, req->version, &f);
		if (status != 0)
			return fail(req, status);
	}
	status = check_partial_line(buf + pos, limit - pos, !have_request_line);
	if (status != 0)
		return fail(req, status);
	if (len >= TB_HTTP_HEADER_MAX)
		return fail(req, over_limit(buf + pos, limit - pos,
					    !have_request_line));
	return TB_HTTP_NEED_MORE;
}

int
tb_http_status(const struct tb_http_request *req, const char *scheme,
	       uint64_t *size)
{
	int status;

	if (req->status != 0)
		return req->status;
	/* RFC 9110 7.4: an https resource only over a secured connection. */
	if (req->https_target && strcmp(scheme, "https") != 0)
		return 421;
	status = tb_http_route(req->path, req->path_len, size);
	if (status != 200)
		return status; /* 13.2.1: preconditions are then ignored */
	/* 13.2.2: If-Match first, then If-None-Match.  No entity tag is
	 * ever sent, so a list of tags never matches; "*" matches any
	 * resource that exists.  No Last-Modified is sent either, so
	 * If-Unmodified-Since and If-Modified-Since are ignored (13.1.3,
	 * 13.1.4), and If-Range goes with the Range this server ignores
	 * (13.1.5, 14.2). */
	if (req->if_match == TB_HTTP_COND_TAGS)
		return 412;
	if (req->if_none_match == TB_HTTP_COND_ANY)
		return 304; /* GET or HEAD: nothing else gets here */
	return 200;
}

int
tb_http_route(const char *path, size_t len, uint64_t *size)
{
	uint64_t value = 0;
	size_t i = 1;

	if (len == 1 && path[0] == '/') {
		*size = TB_HTTP_DEFAULT_SIZE;
		return 200;
	}
	if (len < 2 || path[0] != '/')
		return 404;
	/* Nine digits bound the arithmetic far below overflow. */
	while (i < len && path[i] >= '0' && path[i] <= '9') {
		if (i > 9)
			return 404;
		value = value * 10 + (uint64_t)(path[i] - '0');
		i++;
	}
	if (i == 1)
		return 404;
	if (i < len) {
		char unit = path[i++];

		if (unit == 'k' || unit == 'K')
			value *= 1024;
		else if (unit == 'm' || unit == 'M')
			value *= 1024 * 1024;
		else
			return 404;
	}
	if (i != len || value > TB_HTTP_SIZE_MAX)
		return 404;
	*size = value;
	return 200;
}
