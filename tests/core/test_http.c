/* test_http.c: the request parser and router of core/http.c, as a
 * specification.  Links core/http.c alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static int passed, failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (cond) {                                                    \
			passed++;                                              \
		} else {                                                       \
			failed++;                                              \
			fprintf(stderr, "%s:%d: %s: failed: %s\n", __FILE__,   \
				__LINE__, current, #cond);                     \
		}                                                              \
	} while (0)

static const char *current = "";

static enum tb_http_result
parse(const char *s, struct tb_http_request *req)
{
	return tb_http_parse(s, strlen(s), req);
}

/* Expect a complete request, and return it. */
static struct tb_http_request
ok(const char *s)
{
	struct tb_http_request req;

	current = s;
	CHECK(parse(s, &req) == TB_HTTP_REQUEST);
	return req;
}

static void
expect_status(const char *name, const char *s, int status)
{
	struct tb_http_request req;
	enum tb_http_result r;

	current = name;
	r = parse(s, &req);
	CHECK(r == TB_HTTP_ERROR);
	if (r == TB_HTTP_ERROR && req.status != status)
		fprintf(stderr, "  %s: got status %d, want %d\n", name,
			req.status, status);
	CHECK(req.status == status);
}

static void
test_valid(void)
{
	struct tb_http_request req;
	const char *get = "GET /20k HTTP/1.1\r\nHost: x\r\n\r\n";

	req = ok(get);
	CHECK(req.method == TB_HTTP_GET);
	CHECK(req.version == 11);
	CHECK(req.path_len == 4 && memcmp(req.path, "/20k", 4) == 0);
	CHECK(req.conn == TB_HTTP_KEEP);
	CHECK(req.content_length == 0);
	CHECK(req.header_len == strlen(get));

	req = ok("HEAD / HTTP/1.1\r\n\r\n");
	CHECK(req.method == TB_HTTP_HEAD);
	CHECK(req.path_len == 1);

	req = ok("GET /1k?x=1&y=2 HTTP/1.1\r\n\r\n");
	CHECK(req.path_len == 3 && memcmp(req.path, "/1k", 3) == 0);

	req = ok("GET http://localhost:8443/5m HTTP/1.1\r\n\r\n");
	CHECK(req.path_len == 3 && memcmp(req.path, "/5m", 3) == 0);
	req = ok("GET https://localhost HTTP/1.1\r\n\r\n");
	CHECK(req.path_len == 1 && req.path[0] == '/');

	/* Empty lines before a request are skipped (RFC 9112 2.2). */
	req = ok("\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	CHECK(req.header_len == 22);

	/* Header values: optional whitespace, any case for names. */
	req = ok("GET / HTTP/1.1\r\nhOsT:x\r\nX-Empty:\r\nX:  a b \t\r\n\r\n");
	CHECK(req.method == TB_HTTP_GET);
}

static void
test_pipelined(void)
{
	const char *two = "GET /1 HTTP/1.1\r\n\r\nHEAD /2 HTTP/1.1\r\n\r\n";
	struct tb_http_request req;

	current = "pipelined";
	CHECK(parse(two, &req) == TB_HTTP_REQUEST);
	CHECK(req.header_len == 19);
	CHECK(req.path_len == 2 && req.path[1] == '1');
	CHECK(parse(two + req.header_len, &req) == TB_HTTP_REQUEST);
	CHECK(req.method == TB_HTTP_HEAD);
	CHECK(req.path_len == 2 && req.path[1] == '2');
	CHECK(req.header_len == 20);

	/* A body between pipelined requests is left to the caller. */
	CHECK(parse("GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET",
		    &req) == TB_HTTP_REQUEST);
	CHECK(req.content_length == 3);
	CHECK(req.header_len == 37);
}

static void
test_partial(void)
{
	static const char *const requests[] = {
		"GET /20k HTTP/1.1\r\nHost: localhost\r\nConnection: "
		"keep-alive\r\nContent-Length: 0\r\n\r\n",
		"\r\nHEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	};
	struct tb_http_request req;
	size_t i, k, len;

	for (k = 0; k < 2; k++) {
		const char *s = requests[k];
		int all_need_more = 1;

		current = s;
		len = strlen(s);
		for (i = 0; i < len; i++)
			if (tb_http_parse(s, i, &req) != TB_HTTP_NEED_MORE) {
				fprintf(stderr, "  split at %zu\n", i);
				all_need_more = 0;
			}
		CHECK(all_need_more);
		CHECK(tb_http_parse(s, len, &req) == TB_HTTP_REQUEST);
		CHECK(req.header_len == len);
	}
}

static void
test_errors(void)
{
	char *big;
	size_t n;

	expect_status("bare LF", "GET / HTTP/1.1\n\n", 400);
	expect_status("bare LF in headers", "GET / HTTP/1.1\r\nA: b\n\r\n",
		      400);
	expect_status("bare CR", "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400);
	expect_status("bare CR, partial", "GET / HTTP/1.1\r\nA: b\rc", 400);
	expect_status("TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00", 400);
	expect_status("binary method", "G\x01T / HTTP/1.1\r\n\r\n", 400);
	expect_status("no target", "GET HTTP/1.1\r\n\r\n", 400);
	expect_status("HTTP/0.9", "GET /\r\n\r\n", 400);
	expect_status("two spaces", "GET  / HTTP/1.1\r\n\r\n", 400);
	expect_status("trailing space", "GET / HTTP/1.1 \r\n\r\n", 400);
	expect_status("lowercase version", "GET / http/1.1\r\n\r\n", 400);
	expect_status("bad version", "GET / HTTP/1.x\r\n\r\n", 400);
	expect_status("target not a path", "GET 20k HTTP/1.1\r\n\r\n", 400);
	expect_status("control in target", "GET /\x7f HTTP/1.1\r\n\r\n", 400);
	expect_status("no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", 400);
	expect_status("space before colon",
		      "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
	expect_status("empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n", 400);
	expect_status("obs-fold", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400);
	expect_status("NUL in value", "GET / HTTP/1.1\r\nA: \x01\r\n\r\n", 400);
	expect_status("505 HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505);
	expect_status("505 HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", 505);
	expect_status("505 HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505);
	expect_status("405 POST", "POST / HTTP/1.1\r\n\r\n", 405);
	expect_status("405 lowercase get", "get / HTTP/1.1\r\n\r\n", 405);
	expect_status("405 OPTIONS *", "OPTIONS * HTTP/1.1\r\n\r\n", 405);
	/* Judged as soon as the request line is complete. */
	expect_status("405 before headers", "DELETE / HTTP/1.1\r\nHost:", 405);

	/* Content-Length and Transfer-Encoding. */
	expect_status("TE",
		      "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		      411);
	expect_status("TE and CL",
		      "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		      "Content-Length: 3\r\n\r\n",
		      411);
	expect_status("CL conflict",
		      "GET / HTTP/1.1\r\nContent-Length: 3\r\n"
		      "Content-Length: 4\r\n\r\n",
		      400);
	expect_status("CL list",
		      "GET / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n", 400);
	expect_status("CL sign", "GET / HTTP/1.1\r\nContent-Length: +3\r\n\r\n",
		      400);
	expect_status("CL empty", "GET / HTTP/1.1\r\nContent-Length:\r\n\r\n",
		      400);
	expect_status("CL hex",
		      "GET / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400);
	expect_status("CL over 1 MiB",
		      "GET / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 413);
	expect_status("CL overflow",
		      "GET / HTTP/1.1\r\nContent-Length: "
		      "99999999999999999999999999\r\n\r\n",
		      413);

	/* The 8 KiB header block limit. */
	n = TB_HTTP_HEADER_MAX + 100;
	big = malloc(n + 1);
	memset(big, 'a', n);
	big[n] = '\0';
	memcpy(big, "GET /", 5);
	expect_status("431 long target", big, 431);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	expect_status("431 long header", big, 431);
	free(big);
}

/* A request whose header block is exactly len bytes. */
static char *
request_of_length(size_t len)
{
	const char *start = "GET / HTTP/1.1\r\nX: ";
	char *s = malloc(len + 1);
	size_t n = strlen(start);

	memcpy(s, start, n);
	memset(s + n, 'v', len - n - 4);
	memcpy(s + len - 4, "\r\n\r\n", 4);
	s[len] = '\0';
	return s;
}

static void
test_limit_boundary(void)
{
	struct tb_http_request req;
	char *s;

	s = request_of_length(TB_HTTP_HEADER_MAX);
	current = "exactly 8192";
	CHECK(parse(s, &req) == TB_HTTP_REQUEST);
	CHECK(req.header_len == TB_HTTP_HEADER_MAX);
	/* Still fine when more bytes (the next request) follow. */
	s = realloc(s, TB_HTTP_HEADER_MAX + 20);
	strcat(s, "GET / HTTP/1.1");
	CHECK(parse(s, &req) == TB_HTTP_REQUEST);
	free(s);

	s = request_of_length(TB_HTTP_HEADER_MAX + 1);
	expect_status("8193", s, 431);
	/* With fewer bytes than the limit, the parser waits. */
	current = "8191 of 8193";
	CHECK(tb_http_parse(s, TB_HTTP_HEADER_MAX - 1, &req) ==
	      TB_HTTP_NEED_MORE);
	free(s);
}

static void
test_connection(void)
{
	struct tb_http_request req;

	req = ok("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
	CHECK(req.conn == TB_HTTP_CLOSE);
	req = ok("GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n");
	CHECK(req.conn == TB_HTTP_CLOSE);
	req = ok("GET / HTTP/1.1\r\nconnection: Upgrade, Close\r\n\r\n");
	CHECK(req.conn == TB_HTTP_CLOSE);
	req = ok("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n");
	CHECK(req.conn == TB_HTTP_KEEP);
	req = ok("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n");
	CHECK(req.conn == TB_HTTP_KEEP);
	req = ok("GET / HTTP/1.1\r\nConnection: keep-alive\r\n"
		 "Connection: close\r\n\r\n");
	CHECK(req.conn == TB_HTTP_CLOSE);
	req = ok("GET / HTTP/1.1\r\nConnection: ,, close ,\r\n\r\n");
	CHECK(req.conn == TB_HTTP_CLOSE);

	/* HTTP/1.0 closes unless asked to keep alive. */
	req = ok("GET / HTTP/1.0\r\n\r\n");
	CHECK(req.version == 10);
	CHECK(req.conn == TB_HTTP_CLOSE);
	req = ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	CHECK(req.conn == TB_HTTP_KEEP_ALIVE);
	req = ok("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
	CHECK(req.conn == TB_HTTP_CLOSE);
}

static void
test_content_length(void)
{
	struct tb_http_request req;

	req = ok("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	CHECK(req.content_length == 0);
	req = ok("GET / HTTP/1.1\r\ncontent-length:  12 \r\n\r\n");
	CHECK(req.content_length == 12);
	req = ok("GET / HTTP/1.1\r\nContent-Length: 5\r\n"
		 "Content-Length: 005\r\n\r\n");
	CHECK(req.content_length == 5);
	req = ok("GET / HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n");
	CHECK(req.content_length == TB_HTTP_BODY_MAX);
}

static void
expect_route(const char *path, int status, uint64_t size)
{
	uint64_t got = 12345;
	int r = tb_http_route(path, strlen(path), &got);

	current = path;
	CHECK(r == status);
	if (status == 200)
		CHECK(got == size);
}

static void
test_router(void)
{
	expect_route("/", 200, 20480);
	expect_route("/20k", 200, 20480);
	expect_route("/20K", 200, 20480);
	expect_route("/0", 200, 0);
	expect_route("/1", 200, 1);
	expect_route("/100", 200, 100);
	expect_route("/1k", 200, 1024);
	expect_route("/1m", 200, 1048576);
	expect_route("/64m", 200, 67108864);
	expect_route("/65536k", 200, 67108864);
	expect_route("/67108864", 200, 67108864);
	expect_route("/67108865", 404, 0);
	expect_route("/65m", 404, 0);
	expect_route("/999999999m", 404, 0);
	expect_route("/1234567890", 404, 0);
	expect_route("/1g", 404, 0);
	expect_route("/k", 404, 0);
	expect_route("/1kk", 404, 0);
	expect_route("/20k/", 404, 0);
	expect_route("/index.html", 404, 0);
	expect_route("//20k", 404, 0);
	expect_route("/-1", 404, 0);
	expect_route("", 404, 0);
}

static void
test_responses(void)
{
	static const int codes[] = {400, 404, 405, 408, 411, 413, 431, 505};
	char hdr[TB_HTTP_RESPONSE_HEADER_MAX];
	size_t i, len, n;

	/* Error texts: the status line, close, and a Content-Length that
	 * matches the body. */
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *r = tb_http_error_response(codes[i], &len);
		char want[16];
		const char *body, *cl;

		current = "error response";
		CHECK(r != NULL);
		if (r == NULL)
			continue;
		snprintf(want, sizeof(want), "HTTP/1.1 %d ", codes[i]);
		CHECK(strncmp(r, want, strlen(want)) == 0);
		CHECK(strstr(r, "\r\nConnection: close\r\n") != NULL);
		body = strstr(r, "\r\n\r\n");
		cl = strstr(r, "Content-Length: ");
		CHECK(body != NULL && cl != NULL);
		if (body != NULL && cl != NULL)
			CHECK(strtoul(cl + 16, NULL, 10) == strlen(body + 4));
		CHECK(len == strlen(r));
	}
	CHECK(strstr(tb_http_error_response(405, &len), "Allow: GET, HEAD") !=
	      NULL);
	CHECK(tb_http_error_response(200, &len) == NULL);

	current = "200 header";
	n = tb_http_response_header(hdr, 20480, TB_HTTP_KEEP);
	CHECK(n == strlen(hdr));
	CHECK(strcmp(hdr, "HTTP/1.1 200 OK\r\nServer: tlsbench\r\n"
			  "Content-Type: text/plain\r\n"
			  "Content-Length: 20480\r\n\r\n") == 0);
	n = tb_http_response_header(hdr, 67108864, TB_HTTP_CLOSE);
	CHECK(strstr(hdr, "Content-Length: 67108864\r\nConnection: close\r\n"
			  "\r\n") != NULL);
	n = tb_http_response_header(hdr, UINT64_MAX, TB_HTTP_KEEP_ALIVE);
	CHECK(n < TB_HTTP_RESPONSE_HEADER_MAX);
	CHECK(strstr(hdr, "Connection: keep-alive\r\n\r\n") != NULL);
}

int
main(void)
{
	test_valid();
	test_pipelined();
	test_partial();
	test_errors();
	test_limit_boundary();
	test_connection();
	test_content_length();
	test_router();
	test_responses();
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
