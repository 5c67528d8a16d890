/* body.h: the response bytes: the body generated once per process start,
 * and the prebuilt 20 KiB responses whose Date follows the clock. */
#ifndef TB_BODY_H
#define TB_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

/* Responses longer than this repeat the buffer: byte i of any body is
 * buffer[i % TB_BODY_SIZE], so no request allocates and /20k is a prefix of
 * /1m.  A multiple of TB_BODY_CHUNK keeps every chunk whole. */
#define TB_BODY_SIZE (1024 * 1024)
/* One write call's worth of body: one full TLS record of plaintext. */
#define TB_BODY_CHUNK 16384

/* Fill the buffer with [A-Z0-9] from seed; 0, or -1 when out of memory. */
int tb_body_init(uint64_t seed);
void tb_body_free(void);

/* Up to max bytes of the body starting at offset off, never crossing the
 * end of the buffer or a TB_BODY_CHUNK boundary; *len says how many. */
const char *tb_body_at(uint64_t off, size_t max, size_t *len);

/* The Date value (TB_HTTP_DATE_LEN bytes) for the Unix second now.  When
 * the second changed since the last call, the Date of every prebuilt
 * response is rewritten too: at most once a second, never per request. */
const char *tb_body_date(int64_t now);

/* The whole 20 KiB response (header and body in one buffer, so it leaves
 * in one write) for each way the connection can go on, dated by the last
 * tb_body_date call; for HEAD, send only the first *header_len bytes. */
const char *tb_body_default_response(enum tb_http_connection conn, size_t *len,
				     size_t *header_len);

/* When p points into a prebuilt response's header, copy the header bytes
 * from p on into buf (TB_HTTP_RESPONSE_MAX bytes) and return how many:
 * a write that stopped inside the header must not send the rest from
 * bytes tb_body_date may rewrite meanwhile.  0 otherwise. */
size_t tb_body_unshare(const char *p, char *buf);

#endif
