/* fuzz_http.c: libFuzzer target for the request parser and router of
 * core/http.c, on arbitrary bytes.
 *
 * The connection re-parses its buffer from the start each time bytes
 * arrive, so the parser must judge every prefix of a stream the way it
 * judges the whole: a prefix that is already a request (or an error) must
 * stay exactly that request (or that error) however the rest arrives, and
 * a stream that needs more must need more at every prefix.  Split points
 * come from a generator seeded by the input, so one input tries several
 * ways of arriving.  Pipelined requests are walked as the connection
 * walks them: header block, then the Content-Length body, then the next.
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

static int
is_error_status(int status)
{
	switch (status) {
	case 400:
	case 405:
	case 411:
	case 413:
	case 431:
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
	if (status == 200) {
		char hdr[TB_HTTP_RESPONSE_HEADER_MAX];
		size_t n;
		int conn;

		REQUIRE(size <= TB_HTTP_SIZE_MAX);
		for (conn = TB_HTTP_KEEP; conn <= TB_HTTP_CLOSE; conn++) {
			n = tb_http_response_header(
				hdr, size, (enum tb_http_connection)conn);
			REQUIRE(n > 17 && n < sizeof(hdr));
			REQUIRE(memcmp(hdr, "HTTP/1.1 200 OK\r\n", 17) == 0);
			REQUIRE(memcmp(hdr + n - 4, "\r\n\r\n", 4) == 0);
		}
	}
}

/* What one parse says, checked against what any parse may say. */
static enum tb_http_result
parse_checked(const char *buf, size_t len, struct tb_http_request *req)
{
	enum tb_http_result r = tb_http_parse(buf, len, req);
	size_t elen;

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
		REQUIRE(req->method == TB_HTTP_GET ||
			req->method == TB_HTTP_HEAD);
		REQUIRE(req->version == 10 || req->version == 11);
		REQUIRE(req->conn == TB_HTTP_KEEP ||
			req->conn == TB_HTTP_KEEP_ALIVE ||
			req->conn == TB_HTTP_CLOSE);
		REQUIRE(req->version == 11 || req->conn != TB_HTTP_KEEP);
		REQUIRE(req->content_length <= TB_HTTP_BODY_MAX);
		/* The path points into the header block (or is the "/" an
		 * absolute-form target without a path stands for). */
		REQUIRE(req->path != NULL && req->path_len > 0);
		REQUIRE(req->path[0] == '/');
		if (req->path >= buf && req->path < buf + len)
			REQUIRE(req->path + req->path_len <=
				buf + req->header_len);
		else
			REQUIRE(req->path_len == 1);
		check_route(req->path, req->path_len);
		break;
	case TB_HTTP_ERROR:
		REQUIRE(is_error_status(req->status));
		REQUIRE(tb_http_error_response(req->status, &elen) != NULL);
		REQUIRE(elen > 0);
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
		if (r == TB_HTTP_ERROR) {
			REQUIRE(req.status == wreq->status);
		} else {
			REQUIRE(req.header_len == wreq->header_len);
			REQUIRE(req.method == wreq->method);
			REQUIRE(req.version == wreq->version);
			REQUIRE(req.conn == wreq->conn);
			REQUIRE(req.content_length == wreq->content_length);
			REQUIRE(req.path_len == wreq->path_len);
		}
	}
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
		uint64_t body;

		check_prefixes(p, len, r, &req, &rnd);
		if (r != TB_HTTP_REQUEST)
			break;
		/* The next request starts after this one's body. */
		body = req.content_length;
		if (body > len - req.header_len)
			break;
		off += req.header_len + (size_t)body;
		REQUIRE(off <= size);
	}
	free(copy);
	return 0;
}
