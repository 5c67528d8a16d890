/* test_http.c: the request parser, body reader, router and response texts
 * of core/http*.c, as a specification.  Links them alone.
 *
 * Each test names the RFC section it holds the code to ("9112 3.2" is RFC
 * 9112 section 3.2); core/HTTP.md maps every MUST of RFC 9110 and RFC 9112
 * that binds an origin server to these tests and to the integration cases
 * in tests/integration/test_http.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_chars.h"

static int passed, failed;
static const char *current = "";

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
check_error(const char *name, const char *s, size_t len, int status)
{
	struct tb_http_request req;
	enum tb_http_result r;

	current = name;
	r = tb_http_parse(s, len, &req);
	CHECK(r == TB_HTTP_ERROR);
	if (r != TB_HTTP_ERROR || req.status != status)
		fprintf(stderr,
			"  %s: got result %d status %d, want error %d\n", name,
			r, req.status, status);
	CHECK(req.status == status);
}

/* A status that loses the stream: answered, then the connection closes. */
static void
expect_status(const char *name, const char *s, int status)
{
	check_error(name, s, strlen(s), status);
}

/* A complete request answered with this status, in step with the stream
 * (over a plaintext connection). */
static void
expect_answer(const char *name, const char *s, int status)
{
	struct tb_http_request req;
	uint64_t size = 0;
	int got = 0;

	current = name;
	CHECK(parse(s, &req) == TB_HTTP_REQUEST);
	if (req.header_len > 0)
		got = tb_http_status(&req, "http", &size);
	if (got != status)
		fprintf(stderr, "  %s: got status %d, want %d\n", name, got,
			status);
	CHECK(got == status);
}

#define GET(target, fields)                                                    \
	"GET " target " HTTP/1.1\r\nHost: a\r\n" fields "\r\n"

static int
in(const char *set, int c)
{
	return c != 0 && strchr(set, c) != NULL;
}

/* The class table against the grammar's own lists (RFC 9110 5.6.2, 5.5;
 * RFC 3986 2.2, 2.3, 3.3). */
static void
test_char_classes(void)
{
	int c;

	current = "character classes";
	for (c = 0; c < 256; c++) {
		int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z');
		int reg = alnum || in("-._~!$&'()*+,;=", c);

		CHECK(tb_http_is((unsigned char)c, TB_HTTP_TCHAR) ==
		      (alnum || in("!#$%&'*+-.^_`|~", c)));
		CHECK(tb_http_is((unsigned char)c, TB_HTTP_REG_NAME) == reg);
		CHECK(tb_http_is((unsigned char)c, TB_HTTP_TARGET) ==
		      (reg || in(":@/?", c)));
		CHECK(tb_http_is((unsigned char)c, TB_HTTP_VALUE) ==
		      (c == '\t' || (c >= 0x20 && c != 0x7f)));
		CHECK(tb_http_is((unsigned char)c, TB_HTTP_HEX) ==
		      ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		       (c >= 'A' && c <= 'F')));
	}
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
	CHECK(req.framing == TB_HTTP_NO_BODY);
	CHECK(req.status == 0);
	CHECK(req.header_len == strlen(get));

	req = ok("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
	CHECK(req.method == TB_HTTP_HEAD);
	CHECK(req.path_len == 1);

	req = ok(GET("/1k?x=1&y=2/?", ""));
	CHECK(req.path_len == 3 && memcmp(req.path, "/1k", 3) == 0);

	/* Header values: optional whitespace, any case for names. */
	req = ok("GET / HTTP/1.1\r\nhOsT:x\r\nX-Empty:\r\nX:  a b \t\r\n\r\n");
	CHECK(req.method == TB_HTTP_GET);
}

/* RFC 9112 2.2: octets, CRLF, and what may come before a request. */
static void
test_9112_2_2_message_format(void)
{
	struct tb_http_request req;

	/* Empty lines before a request are skipped. */
	req = ok("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
	CHECK(req.header_len == 31);
	/* Field values are octets: obs-text passes untouched. */
	ok(GET("/", "X: caf\xc3\xa9 \xff\r\n"));

	expect_status("9112 2.2 bare LF", "GET / HTTP/1.1\n\n", 400);
	expect_status("9112 2.2 bare LF in fields",
		      "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400);
	expect_status("9112 2.2 bare CR", "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
		      400);
	expect_status("9112 2.2 bare CR, partial", "GET / HTTP/1.1\r\nA: b\rc",
		      400);
	expect_status("9112 2.2 bare CR in request line",
		      "GET /\r HTTP/1.1\r\n\r\n", 400);
	expect_status("9112 2.2 whitespace before the first field",
		      "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
	expect_status("9112 2.2 tab before the first field",
		      "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", 400);
	expect_status("9112 2.2 TLS ClientHello",
		      "\x16\x03\x01\x02\x00\x01\x00", 400);
}

/* RFC 9112 2.3 and RFC 9110 6.2: the version. */
static void
test_9112_2_3_version(void)
{
	struct tb_http_request req;

	req = ok("GET / HTTP/1.2\r\nHost: a\r\n\r\n");
	CHECK(req.version == 11);
	req = ok("GET / HTTP/1.9\r\nHost: a\r\n\r\n");
	CHECK(req.version == 11);
	/* 1.2 is read as 1.1: a Host is required. */
	expect_status("9110 6.2 HTTP/1.2 without Host",
		      "GET / HTTP/1.2\r\n\r\n", 400);
	expect_status("9112 2.3 HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505);
	expect_status("9112 2.3 HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505);
	expect_status("9112 2.3 HTTP/3.1", "GET / HTTP/3.1\r\n\r\n", 505);
	expect_status("9112 2.3 case-sensitive", "GET / http/1.1\r\n\r\n", 400);
	expect_status("9112 2.3 bad version", "GET / HTTP/1.x\r\n\r\n", 400);
	expect_status("9112 2.3 two digits", "GET / HTTP/1.10\r\n\r\n", 400);
	expect_status("9112 2.3 HTTP/0.9 request", "GET /\r\n\r\n", 400);
}

/* RFC 9112 3 and RFC 9110 9.1: the request line and the method. */
static void
test_9112_3_request_line(void)
{
	char *big;
	size_t n;

	expect_status("9112 3 no target", "GET HTTP/1.1\r\n\r\n", 400);
	expect_status("9112 3 two spaces", "GET  / HTTP/1.1\r\n\r\n", 400);
	expect_status("9112 3 trailing space", "GET / HTTP/1.1 \r\n\r\n", 400);
	expect_status("9112 3 tab separator", "GET\t/ HTTP/1.1\r\n\r\n", 400);
	expect_status("9112 3 binary method", "G\x01T / HTTP/1.1\r\n\r\n", 400);

	/* 9110 9.1: a known method not allowed here is a 405 (with Allow,
	 * see test_responses); one this server does not know is a 501.
	 * Both wait for the whole request, which keeps the connection. */
	expect_answer("9110 9.1 405 POST", "POST / HTTP/1.1\r\nHost: a\r\n\r\n",
		      405);
	expect_answer("9110 9.1 405 DELETE",
		      "DELETE /nope HTTP/1.1\r\nHost: a\r\n\r\n", 405);
	expect_answer("9110 9.1 405 TRACE",
		      "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 405);
	expect_answer("9110 9.1 501 unknown method",
		      "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501);
	expect_answer("9110 9.1 501 PATCH",
		      "PATCH / HTTP/1.1\r\nHost: a\r\n\r\n", 501);
	/* 9112 3.1: methods are case-sensitive. */
	expect_answer("9112 3.1 501 lowercase get",
		      "get / HTTP/1.1\r\nHost: a\r\n\r\n", 501);
	/* 9110 5.3: no answer before the whole header section. */
	{
		struct tb_http_request req;

		current = "9110 5.3 405 waits for the header block";
		CHECK(parse("DELETE / HTTP/1.1\r\nHost: a\r\n", &req) ==
		      TB_HTTP_NEED_MORE);
	}
	/* A bad header after a bad method still loses the stream. */
	expect_status("9112 3.2 405 then two Hosts",
		      "POST / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);

	/* 9112 3: a method longer than the header limit is a 501, a
	 * target a 414; both are seen before the request line ends. */
	n = TB_HTTP_HEADER_MAX + 100;
	big = malloc(n + 1);
	memset(big, 'A', n);
	big[n] = '\0';
	expect_status("9112 3 501 endless method", big, 501);
	memset(big, 'a', n);
	memcpy(big, "GET /", 5);
	expect_status("9112 3 414 endless target", big, 414);
	memcpy(big, "GET / HTTP/1.1", 14);
	expect_status("9112 3 400 endless version", big, 400);
	free(big);
}

/* RFC 9112 3.2 (and RFC 9110 7.2): Host. */
static void
test_9112_3_2_host(void)
{
	static const char *const valid[] = {
		"localhost",
		"localhost:8443",
		"127.0.0.1",
		"127.0.0.1:80",
		"[::1]",
		"[::1]:8443",
		"[2001:db8::7]:1",
		"[v1.x:y]",
		"",
		"a-b.c_d~e",
		"%41bc",
		"x:",
		"sub.example.com:65535",
	};
	static const char *const invalid[] = {
		"a b", "user@host", "host:port", "::1",	 "[::1",       "[::g]",
		"[]",  "a/b",	    "a?b",	 "a#b",	 "host:65536", "%4",
		"%zz", "[::1]x",    "[::1]:x",	 "h\"q",
	};
	char s[256];
	size_t i;

	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n",
			 valid[i]);
		ok(s);
	}
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n",
			 invalid[i]);
		expect_status(invalid[i], s, 400);
	}
	expect_status("9112 3.2 no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n",
		      400);
	expect_status("9112 3.2 no Host, absolute-form",
		      "GET http://a/ HTTP/1.1\r\n\r\n", 400);
	expect_status("9112 3.2 two Hosts",
		      "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400);
	expect_status("9112 3.2 two Hosts in HTTP/1.0",
		      "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	expect_status("9112 3.2 invalid Host in HTTP/1.0",
		      "GET / HTTP/1.0\r\nHost: a b\r\n\r\n", 400);
	/* Judged at the line: the rest need not arrive. */
	expect_status("9112 3.2 two Hosts, partial",
		      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n", 400);
	ok("GET / HTTP/1.0\r\n\r\n");
	/* RFC 9110 5.5: the whitespace around a value is not part of it. */
	ok("GET / HTTP/1.1\r\nHost: \t a:1 \t\r\n\r\n");
}

/* RFC 9112 3.2.1 to 3.2.4: the four forms of request-target. */
static void
test_9112_3_2_target(void)
{
	struct tb_http_request req;

	/* 3.2.1 origin-form: pchar, "/" and "?" only. */
	ok(GET("/a-b._~!$&'()*+,;=:@%20/?q=/?", ""));
	expect_status("9112 3.2.1 not a path", GET("20k", ""), 400);
	expect_status("9112 3.2.1 fragment", GET("/#f", ""), 400);
	expect_status("9112 3.2.1 control", GET("/\x7f", ""), 400);
	expect_status("9112 3.2.1 obs-text", GET("/\xe9", ""), 400);
	expect_status("9112 3.2.1 angle bracket", GET("/<", ""), 400);
	expect_status("9112 3.2.1 bad pct-encoding", GET("/%g0", ""), 400);
	expect_status("9112 3.2.1 short pct-encoding", GET("/%2", ""), 400);

	/* 3.2.2 absolute-form: accepted; its host wins over Host (3.3),
	 * which the router never reads anyway. */
	req = ok(
		"GET http://localhost:8443/5m HTTP/1.1\r\nHost: other\r\n\r\n");
	CHECK(req.path_len == 3 && memcmp(req.path, "/5m", 3) == 0);
	CHECK(!req.https_target);
	req = ok(GET("HTTPS://localhost", ""));
	CHECK(req.path_len == 1 && req.path[0] == '/');
	CHECK(req.https_target);
	req = ok(GET("http://[::1]:1?x", ""));
	CHECK(req.path_len == 1 && req.path[0] == '/');
	req = ok(GET("http://a/1k?x", ""));
	CHECK(req.path_len == 3);
	/* RFC 9110 4.2.1, 4.2.2: an empty host is invalid; 4.2.4:
	 * userinfo is an error. */
	expect_status("9110 4.2.1 empty host", GET("http:///x", ""), 400);
	expect_status("9110 4.2.2 empty host", GET("https://", ""), 400);
	expect_status("9110 4.2.1 empty host, port", GET("http://:80/", ""),
		      400);
	expect_status("9110 4.2.4 userinfo", GET("http://u@a/", ""), 400);
	expect_status("9112 3.2.2 other scheme", GET("ftp://a/", ""), 400);
	expect_status("9112 3.2.2 fragment", GET("http://a/#f", ""), 400);

	/* 3.2.3 authority-form: CONNECT only; its port must be valid
	 * (RFC 9110 9.3.6). */
	expect_answer("9112 3.2.3 CONNECT",
		      "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405);
	expect_status("9110 9.3.6 CONNECT without port",
		      "CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	expect_status("9110 9.3.6 CONNECT empty port",
		      "CONNECT a: HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	expect_status("9110 9.3.6 CONNECT port 70000",
		      "CONNECT a:70000 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	expect_status("9112 3.2.3 CONNECT origin-form",
		      "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	expect_status("9112 3.2.3 GET authority-form", GET("a:443", ""), 400);

	/* 3.2.4 asterisk-form: OPTIONS only. */
	expect_answer("9112 3.2.4 OPTIONS *",
		      "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 405);
	expect_answer("9112 3.2.4 OPTIONS /",
		      "OPTIONS / HTTP/1.1\r\nHost: a\r\n\r\n", 405);
	expect_status("9112 3.2.4 GET *", GET("*", ""), 400);
	expect_status("9112 3.2.4 unknown method *",
		      "BREW * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

/* RFC 9112 5 and RFC 9110 5.5: field lines and values. */
static void
test_9112_5_fields(void)
{
	expect_status("9112 5 no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", 400);
	expect_status("9112 5.1 space before colon",
		      "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
	expect_status("9112 5.1 tab before colon",
		      "GET / HTTP/1.1\r\nHost: a\r\nX\t: x\r\n\r\n", 400);
	expect_status("9112 5 empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n",
		      400);
	expect_status("9112 5 name not a token",
		      "GET / HTTP/1.1\r\nX(y): z\r\n\r\n", 400);
	expect_status("9112 5.2 obs-fold",
		      "GET / HTTP/1.1\r\nHost: a\r\nA: b\r\n c\r\n\r\n", 400);
	expect_status("9110 5.5 control in value",
		      "GET / HTTP/1.1\r\nA: \x01\r\n\r\n", 400);
	expect_status("9110 5.5 DEL in value",
		      "GET / HTTP/1.1\r\nA: \x7f\r\n\r\n", 400);
	/* NUL needs an explicit length. */
	{
		static const char nul_value[] =
			"GET / HTTP/1.1\r\nHost: a\r\nA: b\0c\r\n\r\n";
		static const char nul_name[] =
			"GET / HTTP/1.1\r\nHost: a\r\nA\0: b\r\n\r\n";
		static const char nul_target[] = "GET /\0 HTTP/1.1\r\n\r\n";

		check_error("9110 5.5 NUL in value", nul_value,
			    sizeof(nul_value) - 1, 400);
		check_error("9110 5.5 NUL in name", nul_name,
			    sizeof(nul_name) - 1, 400);
		check_error("9112 3.2.1 NUL in target", nul_target,
			    sizeof(nul_target) - 1, 400);
	}
}

static void
test_pipelined(void)
{
	const char *two = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
			  "HEAD /2 HTTP/1.1\r\nHost: a\r\n\r\n";
	struct tb_http_request req;

	current = "pipelined";
	CHECK(parse(two, &req) == TB_HTTP_REQUEST);
	CHECK(req.header_len == 28);
	CHECK(req.path_len == 2 && req.path[1] == '1');
	CHECK(parse(two + req.header_len, &req) == TB_HTTP_REQUEST);
	CHECK(req.method == TB_HTTP_HEAD);
	CHECK(req.path_len == 2 && req.path[1] == '2');
	CHECK(req.header_len == 29);

	/* A body between pipelined requests is left to the caller. */
	CHECK(parse(GET("/", "Content-Length: 3\r\n") "abcGET", &req) ==
	      TB_HTTP_REQUEST);
	CHECK(req.framing == TB_HTTP_LENGTH);
	CHECK(req.content_length == 3);
	CHECK(req.header_len == 46);
}

static void
test_partial(void)
{
	static const char *const requests[] = {
		"GET /20k HTTP/1.1\r\nHost: localhost\r\nConnection: "
		"keep-alive\r\nContent-Length: 0\r\n\r\n",
		"\r\nHEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
		"Transfer-Encoding: chunked\r\n\r\n",
	};
	struct tb_http_request req;
	size_t i, k, len;

	for (k = 0; k < sizeof(requests) / sizeof(requests[0]); k++) {
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

/* RFC 9112 6.1, 6.2, 6.3: how the body is framed. */
static void
test_9112_6_framing(void)
{
	struct tb_http_request req;

	req = ok(GET("/", "Content-Length: 0\r\n"));
	CHECK(req.framing == TB_HTTP_NO_BODY);
	req = ok(GET("/", "content-length:  12 \r\n"));
	CHECK(req.framing == TB_HTTP_LENGTH && req.content_length == 12);
	req = ok(GET("/", "Content-Length: 5\r\nContent-Length: 005\r\n"));
	CHECK(req.content_length == 5);
	/* 6.3: a list of one value repeated stands for that value. */
	req = ok(GET("/", "Content-Length: 7, 7,7\r\n"));
	CHECK(req.content_length == 7);
	req = ok(GET("/", "Content-Length: 1048576\r\n"));
	CHECK(req.content_length == TB_HTTP_BODY_MAX);
	req = ok(GET("/", "Transfer-Encoding: chunked\r\n"));
	CHECK(req.framing == TB_HTTP_CHUNKED);
	req = ok(GET("/", "Transfer-Encoding: , Chunked ,\r\n"));
	CHECK(req.framing == TB_HTTP_CHUNKED);
	/* 6.1: the body is read whatever the method. */
	req = ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n");
	CHECK(req.framing == TB_HTTP_LENGTH && req.status == 405);

	expect_status("9112 6.3 CL conflict",
		      GET("/", "Content-Length: 3\r\nContent-Length: 4\r\n"),
		      400);
	expect_status("9112 6.3 CL differing list",
		      GET("/", "Content-Length: 3, 4\r\n"), 400);
	expect_status("9112 6.3 CL sign", GET("/", "Content-Length: +3\r\n"),
		      400);
	expect_status("9112 6.3 CL empty", GET("/", "Content-Length:\r\n"),
		      400);
	expect_status("9112 6.3 CL comma only",
		      GET("/", "Content-Length: ,\r\n"), 400);
	expect_status("9112 6.3 CL hex", GET("/", "Content-Length: 0x10\r\n"),
		      400);
	expect_status("9112 6.3 CL space inside",
		      GET("/", "Content-Length: 1 2\r\n"), 400);
	expect_status("9112 6.3 CL over 1 MiB",
		      GET("/", "Content-Length: 1048577\r\n"), 413);
	expect_status(
		"9110 8.6 CL overflow",
		GET("/", "Content-Length: 99999999999999999999999999\r\n"),
		413);

	expect_status("9112 6.3 TE not ending in chunked",
		      GET("/", "Transfer-Encoding: gzip\r\n"), 400);
	expect_status("9112 6.3 TE chunked then gzip",
		      GET("/", "Transfer-Encoding: chunked, gzip\r\n"), 400);
	expect_status("9112 6.3 TE over two lines",
		      GET("/", "Transfer-Encoding: chunked\r\n"
			       "Transfer-Encoding: gzip\r\n"),
		      400);
	expect_status("9112 7.1 TE chunked with a parameter",
		      GET("/", "Transfer-Encoding: chunked;q=1\r\n"), 400);
	expect_status("9112 6.3 TE empty", GET("/", "Transfer-Encoding:\r\n"),
		      400);
	expect_status("9112 6.1 TE unknown coding before chunked",
		      GET("/", "Transfer-Encoding: gzip, chunked\r\n"), 501);
	expect_status("9112 6.1 TE chunked twice",
		      GET("/", "Transfer-Encoding: gzip\r\n"
			       "Transfer-Encoding: chunked\r\n"),
		      501);
	expect_status("9112 6.1 TE and CL",
		      GET("/", "Transfer-Encoding: chunked\r\n"
			       "Content-Length: 3\r\n"),
		      400);
	expect_status("9112 6.1 CL and TE",
		      GET("/", "Content-Length: 3\r\n"
			       "Transfer-Encoding: chunked\r\n"),
		      400);
	expect_status("9112 6.1 TE in HTTP/1.0",
		      "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		      400);
}

/* Feed a body to the reader in pieces of step bytes (0: all at once);
 * returns the result and the bytes used in total. */
static enum tb_http_body_result
read_body(const char *s, size_t len, size_t step, size_t *total, int *status)
{
	struct tb_http_request req = {0};
	struct tb_http_body b;
	enum tb_http_body_result r = TB_HTTP_BODY_MORE;
	size_t off = 0;

	req.framing = TB_HTTP_CHUNKED;
	tb_http_body_start(&b, &req);
	while (r == TB_HTTP_BODY_MORE && off < len) {
		size_t n = step == 0 || len - off < step ? len - off : step;
		size_t used = 0;

		r = tb_http_body_read(&b, s + off, n, &used);
		CHECK(used <= n);
		CHECK(r != TB_HTTP_BODY_MORE || used == n);
		off += used;
	}
	*total = off;
	*status = r == TB_HTTP_BODY_ERROR ? b.status : 0;
	return r;
}

/* A chunked body (then "NEXT"): read whole and byte by byte alike. */
static void
expect_chunked(const char *name, const char *body, int status)
{
	size_t len = strlen(body), total, total1;
	int st, st1;
	enum tb_http_body_result r, r1;

	current = name;
	r = read_body(body, len, 0, &total, &st);
	r1 = read_body(body, len, 1, &total1, &st1);
	CHECK(r == r1 && st == st1);
	if (status == 0) {
		CHECK(r == TB_HTTP_BODY_DONE);
		/* The next request is left where it starts. */
		CHECK(total == len - 4 && memcmp(body + total, "NEXT", 4) == 0);
		CHECK(total1 == total);
	} else {
		CHECK(r == TB_HTTP_BODY_ERROR);
		if (st != status)
			fprintf(stderr, "  %s: status %d, want %d\n", name, st,
				status);
		CHECK(st == status);
	}
}

/* RFC 9112 7.1: the chunked coding, read to the end and dropped. */
static void
test_9112_7_1_chunked(void)
{
	char *big;
	size_t n, total;
	int st;

	expect_chunked("9112 7.1 last chunk only", "0\r\n\r\nNEXT", 0);
	expect_chunked("9112 7.1 two chunks",
		       "5\r\nhello\r\na\r\n0123456789\r\n0\r\n\r\nNEXT", 0);
	expect_chunked("9112 7.1 hex digits any case",
		       "A\r\n0123456789\r\nb\r\n0123456789a\r\n0\r\n\r\nNEXT",
		       0);
	expect_chunked("9112 7.1 leading zeros",
		       "0000000000000000000000003\r\nabc\r\n000\r\n\r\nNEXT",
		       0);
	expect_chunked("9112 7.1 data holds CRLF",
		       "4\r\n\r\n\r\n\r\n0\r\n\r\nNEXT", 0);
	/* 7.1.1: extensions are parsed and ignored, BWS included (RFC
	 * 9110 5.6.3); values are tokens or quoted strings (5.6.4). */
	expect_chunked("9112 7.1.1 extensions",
		       "3;a\r\nabc\r\n3 ; b = c ;d=\"e \\\" f\"\r\nabc\r\n"
		       "0;last\r\n\r\nNEXT",
		       0);
	/* 7.1.2: trailer fields are read and dropped. */
	expect_chunked("9112 7.1.2 trailers",
		       "3\r\nabc\r\n0\r\nX-Sum: 1\r\nY:\r\n\r\nNEXT", 0);

	expect_chunked("9112 7.1 no size", "\r\nabc\r\n0\r\n\r\n", 400);
	expect_chunked("9112 7.1 size not hex", "g\r\n", 400);
	expect_chunked("9112 7.1 negative size", "-1\r\n", 400);
	expect_chunked("9112 7.1 space before size", " 3\r\nabc\r\n", 400);
	expect_chunked("9112 7.1 BWS without extension", "3 \r\nabc\r\n", 400);
	expect_chunked("9112 2.2 bare LF after size", "3\nabc\r\n", 400);
	expect_chunked("9112 2.2 bare CR after size", "3\rabc\r\n", 400);
	expect_chunked("9112 7.1 data longer than its size",
		       "3\r\nabcd\r\n0\r\n\r\n", 400);
	expect_chunked("9112 2.2 bare LF after data", "3\r\nabc\n0\r\n\r\n",
		       400);
	expect_chunked("9112 7.1.1 extension without name", "3;\r\nabc\r\n",
		       400);
	expect_chunked("9112 7.1.1 extension name not a token",
		       "3;a@b\r\nabc\r\n", 400);
	expect_chunked("9112 7.1.1 empty extension value", "3;a=\r\nabc\r\n",
		       400);
	expect_chunked("9112 7.1.1 unterminated quote", "3;a=\"b\r\nabc\r\n",
		       400);
	expect_chunked("9112 7.1.1 BWS after name, no =", "3;a \r\nabc\r\n",
		       400);
	expect_chunked("9112 7.1.1 control in quoted value",
		       "3;a=\"\x01\"\r\nabc\r\n", 400);
	expect_chunked("9112 7.1.2 trailer obs-fold", "0\r\nX: 1\r\n 2\r\n\r\n",
		       400);
	expect_chunked("9112 7.1.2 trailer without colon", "0\r\nX\r\n\r\n",
		       400);
	expect_chunked("9112 7.1.2 trailer space before colon",
		       "0\r\nX : 1\r\n\r\n", 400);
	expect_chunked("9112 7.1.2 bare LF in trailer", "0\r\nX: 1\n\r\n", 400);
	expect_chunked("9112 7.1.2 bare LF ending", "0\r\n\n", 400);
	/* 7.1: a huge numeral is neither an overflow nor a wait. */
	expect_chunked("9112 7.1 size overflow", "ffffffffffffffffffffffff\r\n",
		       413);
	expect_chunked("9112 7.1 size over 1 MiB", "100001\r\n", 413);
	/* Exactly the limit, counted as sent: "100000\r\n" plus data is
	 * already more. */
	expect_chunked("9112 7.1 size at the limit", "100000\r\n", 413);

	/* The limit counts framing too: 1 MiB of extensions is a 413
	 * before any data. */
	n = TB_HTTP_BODY_MAX + 16;
	big = malloc(n);
	memset(big, 'x', n);
	memcpy(big, "1;", 2);
	current = "9112 7.1.1 endless extension";
	CHECK(read_body(big, n, 0, &total, &st) == TB_HTTP_BODY_ERROR);
	CHECK(st == 413);
	free(big);

	/* Data up to the limit: 16 chunks of 64 KiB minus the framing. */
	{
		size_t chunk = 65536 - 16, k, off = 0;

		big = malloc(TB_HTTP_BODY_MAX + 64);
		for (k = 0; k < 16; k++) {
			off += (size_t)sprintf(big + off, "%zx\r\n", chunk);
			memset(big + off, 'd', chunk);
			off += chunk;
			memcpy(big + off, "\r\n", 2);
			off += 2;
		}
		memcpy(big + off, "0\r\n\r\n", 5);
		off += 5;
		current = "9112 7.1 a body just under the limit";
		CHECK(read_body(big, off, 0, &total, &st) == TB_HTTP_BODY_DONE);
		CHECK(total == off);
		CHECK(off <= TB_HTTP_BODY_MAX);
		free(big);
	}
}

static void
test_content_length_body(void)
{
	struct tb_http_request req = {0};
	struct tb_http_body b;
	size_t used;

	current = "9112 6.3 Content-Length body";
	req.framing = TB_HTTP_LENGTH;
	req.content_length = 5;
	tb_http_body_start(&b, &req);
	CHECK(tb_http_body_read(&b, "abc", 3, &used) == TB_HTTP_BODY_MORE);
	CHECK(used == 3);
	CHECK(tb_http_body_read(&b, "deGET", 5, &used) == TB_HTTP_BODY_DONE);
	CHECK(used == 2);
	req.framing = TB_HTTP_NO_BODY;
	tb_http_body_start(&b, &req);
	CHECK(tb_http_body_read(&b, "GET", 3, &used) == TB_HTTP_BODY_DONE);
	CHECK(used == 0);
}

/* RFC 9110 5.4 (and RFC 6585 5): the 8 KiB header block limit. */
static char *
request_of_length(size_t len)
{
	const char *start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	char *s = malloc(len + 1);
	size_t n = strlen(start);

	memcpy(s, start, n);
	memset(s + n, 'v', len - n - 4);
	memcpy(s + len - 4, "\r\n\r\n", 4);
	s[len] = '\0';
	return s;
}

static void
test_9110_5_4_limit(void)
{
	struct tb_http_request req;
	char *s, *big;
	size_t n;

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
	expect_status("9110 5.4 8193", s, 431);
	/* With fewer bytes than the limit, the parser waits. */
	current = "8191 of 8193";
	CHECK(tb_http_parse(s, TB_HTTP_HEADER_MAX - 1, &req) ==
	      TB_HTTP_NEED_MORE);
	free(s);

	n = TB_HTTP_HEADER_MAX + 100;
	big = malloc(n + 1);
	memset(big, 'a', n);
	big[n] = '\0';
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	expect_status("9110 5.4 431 long field", big, 431);
	free(big);
}

/* RFC 9112 9.3 and 9.6: persistence and close. */
static void
test_9112_9_connection(void)
{
	struct tb_http_request req;

	req = ok(GET("/", "Connection: close\r\n"));
	CHECK(req.conn == TB_HTTP_CLOSE);
	req = ok(GET("/", "Connection: CLOSE\r\n"));
	CHECK(req.conn == TB_HTTP_CLOSE);
	req = ok(GET("/", "connection: Upgrade, Close\r\n"));
	CHECK(req.conn == TB_HTTP_CLOSE);
	req = ok(GET("/", "Connection: keep-alive\r\n"));
	CHECK(req.conn == TB_HTTP_KEEP);
	req = ok(GET("/", "Connection: closed\r\n"));
	CHECK(req.conn == TB_HTTP_KEEP);
	req = ok(GET("/", "Connection: keep-alive\r\nConnection: close\r\n"));
	CHECK(req.conn == TB_HTTP_CLOSE);
	/* RFC 9110 5.6.1: empty list elements are ignored. */
	req = ok(GET("/", "Connection: ,, close ,\r\n"));
	CHECK(req.conn == TB_HTTP_CLOSE);
	/* RFC 9110 7.8: Upgrade is ignored; the request is served. */
	req = ok(GET("/", "Upgrade: h2c\r\nConnection: Upgrade\r\n"));
	CHECK(req.conn == TB_HTTP_KEEP);

	/* HTTP/1.0 closes unless asked to keep alive. */
	req = ok("GET / HTTP/1.0\r\n\r\n");
	CHECK(req.version == 10);
	CHECK(req.conn == TB_HTTP_CLOSE);
	req = ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	CHECK(req.conn == TB_HTTP_KEEP_ALIVE);
	req = ok("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
	CHECK(req.conn == TB_HTTP_CLOSE);
}

/* RFC 9110 10.1.1: Expect. */
static void
test_9110_10_1_1_expect(void)
{
	struct tb_http_request req;

	req = ok(GET("/", "Expect: 100-continue\r\nContent-Length: 5\r\n"));
	CHECK(req.expect_continue && req.status == 0);
	req = ok(GET("/", "Expect: 100-Continue\r\n"
			  "Transfer-Encoding: chunked\r\n"));
	CHECK(req.expect_continue);
	/* No body: nothing to continue to. */
	req = ok(GET("/", "Expect: 100-continue\r\n"));
	CHECK(!req.expect_continue && req.status == 0);
	req = ok(GET("/", "Expect: 100-continue\r\nContent-Length: 0\r\n"));
	CHECK(!req.expect_continue);
	/* An HTTP/1.0 request's expectations are ignored. */
	req = ok("GET / HTTP/1.0\r\nExpect: 100-continue\r\n"
		 "Content-Length: 5\r\n\r\n");
	CHECK(!req.expect_continue && req.status == 0);
	req = ok("GET / HTTP/1.0\r\nExpect: teapot\r\n\r\n");
	CHECK(req.status == 0);
	/* Any other expectation: 417, in step with the stream. */
	expect_answer("9110 10.1.1 417 unknown expectation",
		      GET("/", "Expect: teapot\r\n"), 417);
	expect_answer("9110 10.1.1 417 with 100-continue",
		      GET("/", "Expect: 100-continue, teapot\r\n"), 417);
	expect_answer("9110 10.1.1 417 with parameters",
		      GET("/", "Expect: 100-continue;x=1\r\n"), 417);
	expect_answer("9110 5.6.1 empty Expect elements",
		      GET("/", "Expect: ,100-continue,\r\n"), 200);
	/* The method is judged first. */
	expect_answer("9110 10.1.1 405 before 417",
		      "PUT / HTTP/1.1\r\nHost: a\r\nExpect: x\r\n\r\n", 405);
}

/* RFC 9110 13: conditional requests.  No entity tag and no modification
 * date is ever sent. */
static void
test_9110_13_conditions(void)
{
	expect_answer("9110 13.1.1 If-Match tag fails",
		      GET("/", "If-Match: \"x\"\r\n"), 412);
	expect_answer("9110 13.1.1 If-Match weak tag fails",
		      GET("/1k", "If-Match: W/\"x\", \"y\"\r\n"), 412);
	expect_answer("9110 13.1.1 If-Match * holds",
		      GET("/", "If-Match: *\r\n"), 200);
	expect_answer("9110 13.1.2 If-None-Match * fails",
		      GET("/", "If-None-Match: *\r\n"), 304);
	expect_answer("9110 13.1.2 If-None-Match * on HEAD",
		      "HEAD / HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n",
		      304);
	expect_answer("9110 13.1.2 If-None-Match tag holds",
		      GET("/", "If-None-Match: \"x\"\r\n"), 200);
	/* 13.2.2: If-Match is evaluated first. */
	expect_answer("9110 13.2.2 If-Match before If-None-Match",
		      GET("/", "If-None-Match: *\r\nIf-Match: \"x\"\r\n"), 412);
	/* 13.2.1: a status other than 2xx wins. */
	expect_answer("9110 13.2.1 404 before 412",
		      GET("/nope", "If-Match: \"x\"\r\n"), 404);
	expect_answer(
		"9110 13.2.1 405 before 304",
		"DELETE / HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n",
		405);
	/* 13.1.3, 13.1.4: no Last-Modified, so the dates are ignored;
	 * 13.1.5: If-Range goes with the Range that is ignored (14.2). */
	expect_answer("9110 13.1.3 If-Modified-Since ignored",
		      GET("/", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 "
			       "GMT\r\n"),
		      200);
	expect_answer("9110 13.1.4 If-Unmodified-Since ignored",
		      GET("/", "If-Unmodified-Since: Sun, 06 Nov 1994 "
			       "08:49:37 GMT\r\n"),
		      200);
	expect_answer("9110 14.2 Range ignored",
		      GET("/", "Range: bytes=0-1\r\nIf-Range: \"x\"\r\n"), 200);
}

/* RFC 9110 7.4: an https resource only over a secured connection. */
static void
test_9110_7_4_misdirected(void)
{
	struct tb_http_request req;
	uint64_t size;

	current = "9110 7.4 https target";
	CHECK(parse(GET("https://a/1k", ""), &req) == TB_HTTP_REQUEST);
	CHECK(tb_http_status(&req, "http", &size) == 421);
	CHECK(tb_http_status(&req, "https", &size) == 200 && size == 1024);
	CHECK(parse(GET("http://a/1k", ""), &req) == TB_HTTP_REQUEST);
	CHECK(tb_http_status(&req, "http", &size) == 200);
	CHECK(tb_http_status(&req, "https", &size) == 200);
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

/* RFC 9110 5.6.7: IMF-fixdate. */
static void
test_9110_5_6_7_date(void)
{
	char d[TB_HTTP_DATE_LEN + 1] = {0};

	current = "9110 5.6.7 IMF-fixdate";
	tb_http_date(d, 784111777);
	CHECK(strcmp(d, "Sun, 06 Nov 1994 08:49:37 GMT") == 0);
	tb_http_date(d, 0);
	CHECK(strcmp(d, "Thu, 01 Jan 1970 00:00:00 GMT") == 0);
	tb_http_date(d, 1772323199); /* the last second of a leap February */
	CHECK(strcmp(d, "Sat, 28 Feb 2026 23:59:59 GMT") == 0);
	tb_http_date(d, 1709251199);
	CHECK(strcmp(d, "Thu, 29 Feb 2024 23:59:59 GMT") == 0);
}

/* A response's header block parsed back: the value of field name, or
 * NULL. */
static const char *
field_of(const char *r, size_t header_len, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *p = strstr(r, "\r\n") + 2;

	while (p < r + header_len - 2) {
		const char *eol = strstr(p, "\r\n");

		if ((size_t)(eol - p) > nlen && memcmp(p, name, nlen) == 0 &&
		    p[nlen] == ':') {
			*vlen = (size_t)(eol - p) - nlen - 2;
			return p + nlen + 2;
		}
		p = eol + 2;
	}
	return NULL;
}

/* RFC 9110 6.6.1, 8.6, 9.3.2, 10.2.1, 15; RFC 9112 4: every response the
 * server builds. */
static void
test_responses(void)
{
	static const int codes[] = {304, 400, 404, 405, 408, 412, 413,
				    414, 417, 421, 431, 501, 505};
	static const char date[] = "Sun, 06 Nov 1994 08:49:37 GMT";
	char r[TB_HTTP_RESPONSE_MAX];
	size_t i, len, hlen, vlen;
	int conn;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		for (conn = TB_HTTP_KEEP; conn <= TB_HTTP_CLOSE; conn++) {
			char want[16];
			const char *v;

			current = "9110 15 status response";
			len = tb_http_response(r, codes[i],
					       (enum tb_http_connection)conn,
					       date, &hlen);
			CHECK(len > 0 && len < sizeof(r));
			if (len == 0)
				continue;
			/* 9112 4: status-line with its SP and reason. */
			snprintf(want, sizeof(want), "HTTP/1.1 %d ", codes[i]);
			CHECK(strncmp(r, want, strlen(want)) == 0);
			CHECK(r[strlen(want)] > ' ');
			CHECK(hlen <= len &&
			      memcmp(r + hlen - 4, "\r\n\r\n", 4) == 0);
			/* 9110 6.6.1: Date in every one. */
			v = field_of(r, hlen, "Date", &vlen);
			CHECK(v != NULL && vlen == TB_HTTP_DATE_LEN &&
			      memcmp(v, date, vlen) == 0);
			v = field_of(r, hlen, "Connection", &vlen);
			if (conn == TB_HTTP_KEEP)
				CHECK(v == NULL);
			else
				CHECK(v != NULL &&
				      vlen == (conn == TB_HTTP_CLOSE ? 5u
								     : 10u));
			v = field_of(r, hlen, "Content-Length", &vlen);
			if (codes[i] == 304) {
				/* 9110 15.4.5, 8.6: no content, no length. */
				CHECK(v == NULL && len == hlen);
			} else {
				/* The length frames the text exactly. */
				CHECK(v != NULL &&
				      strtoul(v, NULL, 10) == len - hlen);
				CHECK(len > hlen && r[len - 1] == '\n');
			}
			/* 9110 10.2.1, 15.5.6: Allow in a 405 (only). */
			v = field_of(r, hlen, "Allow", &vlen);
			CHECK((v != NULL) == (codes[i] == 405));
			if (v != NULL)
				CHECK(vlen == 9 &&
				      memcmp(v, "GET, HEAD", 9) == 0);
		}
	}
	current = "unknown status";
	CHECK(tb_http_response(r, 200, TB_HTTP_KEEP, date, &hlen) == 0);
	CHECK(tb_http_response(r, 411, TB_HTTP_KEEP, date, &hlen) == 0);
	/* 9110 8.6, 15.2: an interim response has no length. */
	current = "9110 8.6 100 Continue";
	CHECK(strcmp(TB_HTTP_CONTINUE, "HTTP/1.1 100 Continue\r\n\r\n") == 0);

	current = "200 header";
	len = tb_http_response_header(r, 20480, TB_HTTP_KEEP, date);
	CHECK(len == strlen(r));
	CHECK(strcmp(r, "HTTP/1.1 200 OK\r\nServer: tlsbench\r\n"
			"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
			"Content-Type: text/plain\r\n"
			"Content-Length: 20480\r\n\r\n") == 0);
	len = tb_http_response_header(r, 67108864, TB_HTTP_CLOSE, date);
	CHECK(strstr(r, "Content-Length: 67108864\r\nConnection: close\r\n"
			"\r\n") != NULL);
	len = tb_http_response_header(r, UINT64_MAX, TB_HTTP_KEEP_ALIVE, date);
	CHECK(len < TB_HTTP_RESPONSE_MAX);
	CHECK(strstr(r, "Connection: keep-alive\r\n\r\n") != NULL);
}

int
main(void)
{
	test_char_classes();
	test_valid();
	test_9112_2_2_message_format();
	test_9112_2_3_version();
	test_9112_3_request_line();
	test_9112_3_2_host();
	test_9112_3_2_target();
	test_9112_5_fields();
	test_pipelined();
	test_partial();
	test_9112_6_framing();
	test_9112_7_1_chunked();
	test_content_length_body();
	test_9110_5_4_limit();
	test_9112_9_connection();
	test_9110_10_1_1_expect();
	test_9110_13_conditions();
	test_9110_7_4_misdirected();
	test_router();
	test_9110_5_6_7_date();
	test_responses();
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
