/* fuzz_http.c: libFuzzer target for the request parser, body reader,
 * router and response texts of core/http*.c, on arbitrary bytes.
 *
 * The connection re-parses its buffer from the start each time bytes
 * arrive, so the parser must judge every prefix of a stream the way it
 * judges the whole: a prefix that is already a request (or an error) must
 * stay exactly that request (or that error) however the rest arrives, and
 * a stream that needs more must need more at every prefix.  The body
 * reader is fed pieces as they come: any split of a body must end it at
 * the same byte with the same verdict as the whole.  Split points come
 * from a generator seeded by the input, so one input tries several ways of
 * arriving.  Pipelined requests are walked as the connection walks them:
 * header block, then the body (Content-Length or chunked), then the next.
 * Every status the parser and router give has a well-formed response.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

/* Requests walked per input, and split points tried per request. */
#define MAX_REQUESTS 16
#define SPLITS	     8

#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

static uint64_t
next_random(uint64_t *s)
{
	/* xorshift64: deterministic per input, so a crash reproduces. */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t
seed_of(const uint8_t *data, size_t size)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ULL;
	return h | 1;
}

/* The statuses that lose the stream (TB_HTTP_ERROR). */
static int
is_error_status(int status)
{
	switch (status) {
	case 400:
	case 413:
	case 414:
	case 431:
	case 501:
	case 505:
		return 1;
	}
	return 0;
}

static void
check_route(const char *path, size_t len)
{
	uint64_t size = UINT64_MAX;
	int status = tb_http_route(path, len, &size);

	REQUIRE(status == 200 || status == 404);
	if (status == 200)
		REQUIRE(size <= TB_HTTP_SIZE_MAX);
}

/* Every response the server can send for status is well formed. */
static void
check_response(int status, uint64_t size)
{
	static const char date[] = "Sun, 06 Nov 1994 08:49:37 GMT";
	char r[TB_HTTP_RESPONSE_MAX];
	size_t n, hlen = 0;
	int conn;

	for (conn = TB_HTTP_KEEP; conn <= TB_HTTP_CLOSE; conn++) {
		if (status == 200)
			n = hlen = tb_http_response_header(
				r, size, (enum tb_http_connection)conn, date);
		else
			n = tb_http_response(r, status,
					     (enum tb_http_connection)conn,
					     date, &hlen);
		REQUIRE(n > 17 && n < sizeof(r) && hlen <= n);
		REQUIRE(memcmp(r, "HTTP/1.1 ", 9) == 0);
		REQUIRE(memcmp(r + hlen - 4, "\r\n\r\n", 4) == 0);
	}
}

/* What one parse says, checked against what any parse may say. */
static enum tb_http_result
parse_checked(const char *buf, size_t len, struct tb_http_request *req)
{
	enum tb_http_result r = tb_http_parse(buf, len, req);
	uint64_t size = 0;
	int status;

	switch (r) {
	case TB_HTTP_NEED_MORE:
		/* Past the limit there is always a decision. */
		REQUIRE(len < TB_HTTP_HEADER_MAX);
		break;
	case TB_HTTP_REQUEST:
		REQUIRE(req->header_len > 0 && req->header_len <= len);
		REQUIRE(req->header_len <= TB_HTTP_HEADER_MAX);
		/* The request line's CRLF, then the empty line's. */
		REQUIRE(req->header_len >= 4);
		REQUIRE(memcmp(buf + req->header_len - 4, "\r\n\r\n", 4) == 0);
		REQUIRE(req->version == 10 || req->version == 11);
		REQUIRE(req->conn == TB_HTTP_KEEP ||
			req->conn == TB_HTTP_KEEP_ALIVE ||
			req->conn == TB_HTTP_CLOSE);
		REQUIRE(req->version == 11 || req->conn != TB_HTTP_KEEP);
		/* A method other than GET and HEAD is answered 405 or 501
		 * whatever else; a GET or HEAD at most 417. */
		if (req->method == TB_HTTP_OTHER)
			REQUIRE(req->status == 405 || req->status == 501);
		else
			REQUIRE(req->method == TB_HTTP_GET ||
				req->method == TB_HTTP_HEAD);
		REQUIRE(req->status == 0 || req->status == 405 ||
			req->status == 417 || req->status == 501);
		if (req->framing == TB_HTTP_LENGTH)
			REQUIRE(req->content_length > 0 &&
				req->content_length <= TB_HTTP_BODY_MAX);
		else
			REQUIRE(req->content_length == 0 &&
				(req->framing == TB_HTTP_NO_BODY ||
				 req->framing == TB_HTTP_CHUNKED));
		REQUIRE(!req->expect_continue ||
			(req->version == 11 &&
			 req->framing != TB_HTTP_NO_BODY));
		/* The path points into the header block (or is the "/" an
		 * absolute-form target without a path stands for). */
		REQUIRE(req->path != NULL && req->path_len > 0);
		if (req->path >= buf && req->path < buf + len)
			REQUIRE(req->path + req->path_len <=
				buf + req->header_len);
		else
			REQUIRE(req->path_len == 1 && req->path[0] == '/');
		if (req->method != TB_HTTP_OTHER) {
			REQUIRE(req->path[0] == '/');
			check_route(req->path, req->path_len);
		}
		status = tb_http_status(req, "http", &size);
		REQUIRE(status == 200 || status == 304 || status == 404 ||
			status == 405 || status == 412 || status == 417 ||
			status == 421 || status == 501);
		REQUIRE(status != 421 || req->https_target);
		REQUIRE(tb_http_status(req, "https", &size) != 421);
		check_response(status, size);
		break;
	case TB_HTTP_ERROR:
		REQUIRE(is_error_status(req->status));
		check_response(req->status, 0);
		break;
	default:
		abort();
	}
	return r;
}

/* Every prefix of buf must agree with the whole (see the top). */
static void
check_prefixes(const char *buf, size_t len, enum tb_http_result whole,
	       const struct tb_http_request *wreq, uint64_t *rnd)
{
	struct tb_http_request req;
	enum tb_http_result r;
	int i;

	for (i = 0; i < SPLITS && len > 0; i++) {
		size_t cut = (size_t)(next_random(rnd) % len);

		r = parse_checked(buf, cut, &req);
		if (r == TB_HTTP_NEED_MORE)
			continue;
		REQUIRE(r == whole);
		REQUIRE(req.status == wreq->status);
		if (r == TB_HTTP_REQUEST) {
			REQUIRE(req.header_len == wreq->header_len);
			REQUIRE(req.method == wreq->method);
			REQUIRE(req.version == wreq->version);
			REQUIRE(req.conn == wreq->conn);
			REQUIRE(req.framing == wreq->framing);
			REQUIRE(req.content_length == wreq->content_length);
			REQUIRE(req.path_len == wreq->path_len);
			REQUIRE(req.expect_continue == wreq->expect_continue);
			REQUIRE(req.https_target == wreq->https_target);
			REQUIRE(req.if_match == wreq->if_match);
			REQUIRE(req.if_none_match == wreq->if_none_match);
		}
	}
}

/* The body after a header block, read whole and then in random pieces:
 * both must end at the same byte with the same verdict.  Returns the
 * bytes the body used, or SIZE_MAX when it does not end here. */
static size_t
check_body(const struct tb_http_request *req, const char *p, size_t len,
	   uint64_t *rnd)
{
	struct tb_http_body whole, split;
	enum tb_http_body_result rw, rs;
	size_t used_w = 0, off = 0;

	tb_http_body_start(&whole, req);
	rw = tb_http_body_read(&whole, p, len, &used_w);
	REQUIRE(used_w <= len);
	REQUIRE(rw != TB_HTTP_BODY_MORE || used_w == len);
	if (rw == TB_HTTP_BODY_ERROR)
		REQUIRE(whole.status == 400 || whole.status == 413);
	if (req->framing == TB_HTTP_LENGTH && rw == TB_HTTP_BODY_DONE)
		REQUIRE(used_w == req->content_length);
	if (req->framing == TB_HTTP_NO_BODY)
		REQUIRE(rw == TB_HTTP_BODY_DONE && used_w == 0);
	/* Chunked: data and framing within the limit. */
	REQUIRE(used_w <= TB_HTTP_BODY_MAX);

	tb_http_body_start(&split, req);
	do {
		size_t n = len - off, used = 0;

		if (n > 1) {
			n = 1 + (size_t)(next_random(rnd) % n);
			if (n > 64 && (next_random(rnd) & 1))
				n = 1 + n % 64;
		}
		rs = tb_http_body_read(&split, p + off, n, &used);
		REQUIRE(used <= n);
		REQUIRE(rs != TB_HTTP_BODY_MORE || used == n);
		off += used;
	} while (rs == TB_HTTP_BODY_MORE && off < len);
	REQUIRE(rs == rw);
	if (rw == TB_HTTP_BODY_ERROR)
		REQUIRE(split.status == whole.status);
	else
		REQUIRE(off == used_w);
	return rw == TB_HTTP_BODY_DONE ? used_w : SIZE_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly size bytes: ASan then catches any read
	 * past the end, which a pointer into libFuzzer's buffer might not. */
	char *copy = calloc(1, size ? size : 1);
	uint64_t rnd = seed_of(data, size);
	size_t off = 0;
	int n;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	check_route(copy, size);
	for (n = 0; n < MAX_REQUESTS && off < size; n++) {
		struct tb_http_request req;
		const char *p = copy + off;
		size_t len = size - off;
		enum tb_http_result r = parse_checked(p, len, &req);
		size_t body;

		check_prefixes(p, len, r, &req, &rnd);
		if (r != TB_HTTP_REQUEST)
			break;
		/* The next request starts after this one's body. */
		body = check_body(&req, p + req.header_len,
				  len - req.header_len, &rnd);
		if (body == SIZE_MAX)
			break;
		off += req.header_len + body;
		REQUIRE(off <= size);
	}
	free(copy);
	return 0;
}
