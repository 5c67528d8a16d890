/* http.c: parses HTTP/1.x requests, routes paths to sizes, and writes
 * response headers.  No I/O here (see http.h). */
#include "http.h"

#include <stdio.h>
#include <string.h>

/* What the header fields said, gathered line by line. */
struct fields {
	int has_length;
	uint64_t length;
	int close;
	int keep_alive;
};

static int
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field values: visible ASCII, obs-text, space and tab; no other controls. */
static int
is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

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

/* Reduce an absolute-form target ("http://host/x") to its path, which
 * RFC 9112 3.2.2 says a server must accept; origin-form passes through. */
static int
target_path(const char *t, size_t n, struct tb_http_request *req)
{
	size_t i;

	if (starts_nocase(t, n, "http://") || starts_nocase(t, n, "https://")) {
		const char *slash;

		i = (t[4] == ':') ? 7 : 8;
		slash = memchr(t + i, '/', n - i);
		if (slash == NULL) {
			req->path = "/";
			req->path_len = 1;
			return 0;
		}
		n -= (size_t)(slash - t);
		t = slash;
	}
	if (n == 0 || t[0] != '/')
		return 400;
	for (i = 0; i < n && t[i] != '?' && t[i] != '#'; i++)
		;
	req->path = t;
	req->path_len = i;
	return 0;
}

/* "METHOD SP target SP HTTP/x.y"; 0 or the error status. */
static int
parse_request_line(const char *line, size_t n, struct tb_http_request *req)
{
	const char *sp1, *sp2, *target, *version;
	size_t mlen, tlen, vlen, i;

	sp1 = memchr(line, ' ', n);
	if (sp1 == NULL || sp1 == line)
		return 400;
	mlen = (size_t)(sp1 - line);
	for (i = 0; i < mlen; i++)
		if (!is_tchar((unsigned char)line[i]))
			return 400;
	target = sp1 + 1;
	sp2 = memchr(target, ' ', n - mlen - 1);
	if (sp2 == NULL || sp2 == target)
		return 400;
	tlen = (size_t)(sp2 - target);
	for (i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= 0x20 ||
		    (unsigned char)target[i] >= 0x7f)
			return 400;
	version = sp2 + 1;
	vlen = n - (size_t)(version - line);
	if (vlen != 8 || memcmp(version, "HTTP/", 5) != 0 || version[5] < '0' ||
	    version[5] > '9' || version[6] != '.' || version[7] < '0' ||
	    version[7] > '9')
		return 400;
	if (memcmp(version + 5, "1.1", 3) == 0)
		req->version = 11;
	else if (memcmp(version + 5, "1.0", 3) == 0)
		req->version = 10;
	else
		return 505;

	if (mlen == 3 && memcmp(line, "GET", 3) == 0)
		req->method = TB_HTTP_GET;
	else if (mlen == 4 && memcmp(line, "HEAD", 4) == 0)
		req->method = TB_HTTP_HEAD;
	else
		return 405;
	return target_path(target, tlen, req);
}

static void
parse_connection(const char *v, size_t n, struct fields *f)
{
	size_t i = 0;

	while (i < n) {
		size_t start, end;

		while (i < n && (is_space(v[i]) || v[i] == ','))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && is_space(v[end - 1]))
			end--;
		if (equal_nocase(v + start, end - start, "close"))
			f->close = 1;
		else if (equal_nocase(v + start, end - start, "keep-alive"))
			f->keep_alive = 1;
	}
}

/* Digits only: a list ("5, 5"), a sign or a space inside is a 400 because
 * a proxy in front may have read it differently. */
static int
parse_content_length(const char *v, size_t n, struct fields *f)
{
	uint64_t value = 0;
	size_t i;

	if (n == 0)
		return 400;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 400;
		/* Saturate: anything this large is a 413 anyway. */
		if (value > UINT64_MAX / 10 - 1)
			value = UINT64_MAX;
		else
			value = value * 10 + (uint64_t)(v[i] - '0');
	}
	if (f->has_length && f->length != value)
		return 400;
	f->has_length = 1;
	f->length = value;
	return value > TB_HTTP_BODY_MAX ? 413 : 0;
}

/* "name: OWS value OWS"; 0 or the error status. */
static int
parse_field(const char *line, size_t n, struct fields *f)
{
	const char *colon, *v;
	size_t nlen, vlen, i;

	/* obs-fold (a continuation line) is rejected, as RFC 9112 5.2 allows.
	 */
	if (is_space(line[0]))
		return 400;
	colon = memchr(line, ':', n);
	if (colon == NULL || colon == line)
		return 400;
	nlen = (size_t)(colon - line);
	for (i = 0; i < nlen; i++)
		if (!is_tchar((unsigned char)line[i]))
			return 400;
	v = colon + 1;
	vlen = n - nlen - 1;
	for (i = 0; i < vlen; i++)
		if (!is_value_char((unsigned char)v[i]))
			return 400;
	while (vlen > 0 && is_space(v[0])) {
		v++;
		vlen--;
	}
	while (vlen > 0 && is_space(v[vlen - 1]))
		vlen--;

	if (equal_nocase(line, nlen, "connection"))
		parse_connection(v, vlen, f);
	else if (equal_nocase(line, nlen, "content-length"))
		return parse_content_length(v, vlen, f);
	else if (equal_nocase(line, nlen, "transfer-encoding"))
		return 411;
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
		if (!is_tchar((unsigned char)p[i]))
			return 400;
	return 0;
}

enum tb_http_result
tb_http_parse(const char *buf, size_t len, struct tb_http_request *req)
{
	size_t limit = len < TB_HTTP_HEADER_MAX ? len : TB_HTTP_HEADER_MAX;
	size_t pos = 0;
	int have_request_line = 0;
	struct fields f = {0};
	int status;

	memset(req, 0, sizeof(*req));
	while (pos < limit) {
		const char *nl = memchr(buf + pos, '\n', limit - pos);
		const char *line = buf + pos;
		size_t end, n;

		if (nl == NULL)
			break;
		end = (size_t)(nl - buf);
		if (end == pos || buf[end - 1] != '\r')
			return fail(req, 400);
		n = end - 1 - pos;
		if (memchr(line, '\r', n) != NULL)
			return fail(req, 400);
		pos = end + 1;

		if (!have_request_line) {
			/* RFC 9112 2.2: ignore empty lines before a request. */
			if (n == 0)
				continue;
			status = parse_request_line(line, n, req);
			if (status != 0)
				return fail(req, status);
			have_request_line = 1;
			continue;
		}
		if (n == 0) {
			req->header_len = pos;
			req->content_length = f.length;
			if (req->version == 11)
				req->conn =
					f.close ? TB_HTTP_CLOSE : TB_HTTP_KEEP;
			else
				req->conn = f.keep_alive && !f.close
						    ? TB_HTTP_KEEP_ALIVE
						    : TB_HTTP_CLOSE;
			return TB_HTTP_REQUEST;
		}
		status = parse_field(line, n, &f);
		if (status != 0)
			return fail(req, status);
	}
	status = check_partial_line(buf + pos, limit - pos, !have_request_line);
	if (status != 0)
		return fail(req, status);
	if (len >= TB_HTTP_HEADER_MAX)
		return fail(req, 431);
	return TB_HTTP_NEED_MORE;
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

size_t
tb_http_response_header(char *buf, uint64_t size, enum tb_http_connection conn)
{
	const char *connection = "";
	int n;

	if (conn == TB_HTTP_CLOSE)
		connection = "Connection: close\r\n";
	else if (conn == TB_HTTP_KEEP_ALIVE)
		connection = "Connection: keep-alive\r\n";
	n = snprintf(buf, TB_HTTP_RESPONSE_HEADER_MAX,
		     "HTTP/1.1 200 OK\r\n"
		     "Server: tlsbench\r\n"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: %llu\r\n"
		     "%s\r\n",
		     (unsigned long long)size, connection);
	return n < 0 ? 0 : (size_t)n;
}

/* Body lengths are written by hand; tests/core/test_http.c checks them. */
#define ERROR_RESPONSE(code, reason, length, extra)                            \
	"HTTP/1.1 " code " " reason "\r\n"                                     \
	"Server: tlsbench\r\n"                                                 \
	"Content-Type: text/plain\r\n"                                         \
	"Content-Length: " length "\r\n"                                       \
	"Connection: close\r\n" extra "\r\n" reason "\n"

static const struct {
	int status;
	const char *text;
} error_responses[] = {
	{400, ERROR_RESPONSE("400", "Bad Request", "12", "")},
	{404, ERROR_RESPONSE("404", "Not Found", "10", "")},
	{405, ERROR_RESPONSE("405", "Method Not Allowed", "19",
			     "Allow: GET, HEAD\r\n")},
	{408, ERROR_RESPONSE("408", "Request Timeout", "16", "")},
	{411, ERROR_RESPONSE("411", "Length Required", "16", "")},
	{413, ERROR_RESPONSE("413", "Content Too Large", "18", "")},
	{431,
	 ERROR_RESPONSE("431", "Request Header Fields Too Large", "32", "")},
	{505, ERROR_RESPONSE("505", "HTTP Version Not Supported", "27", "")},
};

const char *
tb_http_error_response(int status, size_t *len)
{
	size_t i;

	for (i = 0; i < sizeof(error_responses) / sizeof(error_responses[0]);
	     i++) {
		if (error_responses[i].status == status) {
			*len = strlen(error_responses[i].text);
			return error_responses[i].text;
		}
	}
	return NULL;
}
