/* http.h: HTTP/1.x requests (parser, body framing, router) and the
 * response texts.
 *
 * Pure functions over bytes: no I/O, no libevent, no TLS, so the unit tests
 * and a fuzzer can link core/http*.c alone.  core/HTTP.md lists every
 * requirement RFC 9110 and RFC 9112 place on an origin server and where
 * each is met.
 */
#ifndef TB_HTTP_H
#define TB_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* The request line and header fields, with the blank line that ends them
 * (and any empty lines before the request line), may not exceed this. */
#define TB_HTTP_HEADER_MAX 8192
/* Largest request body the server reads and discards, counted as it
 * arrives: the Content-Length, or the whole chunked encoding (sizes,
 * extensions, data and trailer fields). */
#define TB_HTTP_BODY_MAX (1024 * 1024)
/* Largest response body the router serves. */
#define TB_HTTP_SIZE_MAX ((uint64_t)64 * 1024 * 1024)
/* The size served for "/" and "/20k". */
#define TB_HTTP_DEFAULT_SIZE 20480
/* Room for any response the functions below build. */
#define TB_HTTP_RESPONSE_MAX 256
/* An IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (no NUL). */
#define TB_HTTP_DATE_LEN 29
/* The interim response to "Expect: 100-continue". */
#define TB_HTTP_CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"

enum tb_http_result {
	TB_HTTP_NEED_MORE, /* no decision yet: read more bytes */
	TB_HTTP_REQUEST,   /* a complete header block: read its body, then
			    * answer tb_http_status() */
	TB_HTTP_ERROR,	   /* the stream cannot be followed: answer
			    * req->status, then close */
};

enum tb_http_method {
	TB_HTTP_GET,
	TB_HTTP_HEAD,
	TB_HTTP_OTHER, /* answered 405 or 501 (req->status) */
};

/* How the response to a request ends the connection or keeps it. */
enum tb_http_connection {
	TB_HTTP_KEEP,	    /* HTTP/1.1 default: no Connection header */
	TB_HTTP_KEEP_ALIVE, /* HTTP/1.0 asked for it: "Connection: keep-alive"
			     */
	TB_HTTP_CLOSE,	    /* "Connection: close", then close */
};

/* How the request body is delimited (RFC 9112 6.3). */
enum tb_http_framing {
	TB_HTTP_NO_BODY,
	TB_HTTP_LENGTH,	 /* content_length bytes */
	TB_HTTP_CHUNKED, /* Transfer-Encoding: chunked */
};

/* What an If-Match or If-None-Match field asked for. */
enum tb_http_condition {
	TB_HTTP_COND_NONE, /* no such field */
	TB_HTTP_COND_ANY,  /* "*" */
	TB_HTTP_COND_TAGS, /* entity tags: none can match, none is sent */
};

struct tb_http_request {
	enum tb_http_method method; /* set once the request line is read */
	const char *path; /* into the parsed buffer; query string removed */
	size_t path_len;
	int version;		      /* 10 or 11 (1.2 and up count as 11) */
	enum tb_http_connection conn; /* what the response must do */
	enum tb_http_framing framing;
	uint64_t content_length; /* TB_HTTP_LENGTH: body bytes */
	size_t header_len;	 /* bytes the header block used */
	/* TB_HTTP_ERROR: 400 413 414 431 501 505.  TB_HTTP_REQUEST: 0, or
	 * the status whatever the path (405 417 501). */
	int status;
	uint8_t expect_continue; /* HTTP/1.1, 100-continue, a body follows */
	uint8_t https_target;	 /* absolute-form "https://..." */
	uint8_t if_match;	 /* enum tb_http_condition */
	uint8_t if_none_match;	 /* enum tb_http_condition */
};

/* Parse the start of buf.  A request is judged as its bytes arrive: an error
 * that loses the stream is reported as soon as a complete line (or an
 * impossible method byte, a bare CR or LF, or the size limit) shows it,
 * without waiting for the rest; anything else waits for the whole header
 * block.  Line endings must be CRLF: a bare LF is a 400 (lenient LF parsing
 * is how request smuggling starts, and no real client sends it). */
enum tb_http_result tb_http_parse(const char *buf, size_t len,
				  struct tb_http_request *req);

/* The status a complete request gets once its body is read: req->status,
 * 421 for an https target on a connection whose scheme (the TLS layer's
 * tb_tls_url_scheme) is not "https", the router's 404, the preconditions'
 * 412 or 304, else 200 with *size set. */
int tb_http_status(const struct tb_http_request *req, const char *scheme,
		   uint64_t *size);

/* 200 and *size for a path the server serves, else 404. */
int tb_http_route(const char *path, size_t len, uint64_t *size);

/* Reading a request body to drop it: a Content-Length count, or the
 * chunked coding decoded as it arrives (never buffered). */
struct tb_http_body {
	/* Both stay within TB_HTTP_BODY_MAX: a connection holds this. */
	uint32_t left; /* length bytes, or this chunk's data bytes, to come */
	uint32_t seen; /* bytes of the chunked coding so far */
	uint8_t framing;
	uint8_t state;
	uint16_t status; /* after TB_HTTP_BODY_ERROR: 400 or 413 */
};

enum tb_http_body_result {
	TB_HTTP_BODY_MORE,  /* all bytes given were body: read more */
	TB_HTTP_BODY_DONE,  /* the body ended; *used says where */
	TB_HTTP_BODY_ERROR, /* b->status, then close */
};

void tb_http_body_start(struct tb_http_body *b,
			const struct tb_http_request *req);
/* Consume the body's share of the len bytes at p (*used of them); the rest
 * belongs to the next request. */
enum tb_http_body_result tb_http_body_read(struct tb_http_body *b,
					   const char *p, size_t len,
					   size_t *used);

/* Write the IMF-fixdate of the Unix time t into out. */
void tb_http_date(char *out, int64_t t);

/* Write the 200 header for a body of size bytes into buf (at least
 * TB_HTTP_RESPONSE_MAX bytes), date being TB_HTTP_DATE_LEN bytes; returns
 * its length. */
size_t tb_http_response_header(char *buf, uint64_t size,
			       enum tb_http_connection conn, const char *date);

/* Write the whole response for any other final status the server sends
 * (304 400 404 405 408 412 413 414 417 421 431 501 505) into buf: header,
 * then the reason phrase as a one-line text body (none for 304).
 * *header_len is what a response to HEAD sends.  0 for other codes. */
size_t tb_http_response(char *buf, int status, enum tb_http_connection conn,
			const char *date, size_t *header_len);

#endif
