/* http.h: the HTTP/1.x request parser, router and response texts.
 *
 * Pure functions over bytes: no I/O, no libevent, no TLS, so the unit tests
 * and a fuzzer can link core/http.c alone.
 */
#ifndef TB_HTTP_H
#define TB_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* The request line and header fields, with the blank line that ends them
 * (and any empty lines before the request line), may not exceed this. */
#define TB_HTTP_HEADER_MAX 8192
/* Largest Content-Length body the server reads and discards. */
#define TB_HTTP_BODY_MAX (1024 * 1024)
/* Largest response body the router serves. */
#define TB_HTTP_SIZE_MAX ((uint64_t)64 * 1024 * 1024)
/* The size served for "/" and "/20k". */
#define TB_HTTP_DEFAULT_SIZE 20480
/* Room for any header tb_http_response_header builds. */
#define TB_HTTP_RESPONSE_HEADER_MAX 160

enum tb_http_result {
	TB_HTTP_NEED_MORE, /* no decision yet: read more bytes */
	TB_HTTP_REQUEST,   /* a complete header block was parsed */
	TB_HTTP_ERROR,	   /* answer req->status, then close */
};

enum tb_http_method {
	TB_HTTP_GET,
	TB_HTTP_HEAD,
	TB_HTTP_OTHER,
};

/* How the response to a request ends the connection or keeps it. */
enum tb_http_connection {
	TB_HTTP_KEEP,	    /* HTTP/1.1 default: no Connection header */
	TB_HTTP_KEEP_ALIVE, /* HTTP/1.0 asked for it: "Connection: keep-alive"
			     */
	TB_HTTP_CLOSE,	    /* "Connection: close", then close */
};

struct tb_http_request {
	enum tb_http_method method;
	const char *path; /* into the parsed buffer; query string removed */
	size_t path_len;
	int version;		      /* 10 or 11 */
	enum tb_http_connection conn; /* what the response must do */
	uint64_t content_length;      /* body bytes that follow the header */
	size_t header_len;	      /* bytes the header block used */
	int status; /* TB_HTTP_ERROR: 400 405 411 413 431 505 */
};

/* Parse the start of buf.  A request is judged as its bytes arrive: an error
 * is reported as soon as a complete line (or an impossible method byte, a
 * bare CR or LF, or the size limit) shows it, without waiting for the rest.
 * Line endings must be CRLF: a bare LF is a 400 (lenient LF parsing is how
 * request smuggling starts, and no real client sends it). */
enum tb_http_result tb_http_parse(const char *buf, size_t len,
				  struct tb_http_request *req);

/* 200 and *size for a path the server serves, else 404. */
int tb_http_route(const char *path, size_t len, uint64_t *size);

/* Write the 200 header for a body of size bytes into buf (at least
 * TB_HTTP_RESPONSE_HEADER_MAX bytes); returns its length. */
size_t tb_http_response_header(char *buf, uint64_t size,
			       enum tb_http_connection conn);

/* The complete response (with "Connection: close") for an error status:
 * 400 404 405 408 411 413 431 505.  Static text; NULL for other codes. */
const char *tb_http_error_response(int status, size_t *len);

#endif
