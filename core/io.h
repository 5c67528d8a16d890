/* io.h: the core's side of a connection's socket under --io core.
 *
 * The TLS library reads from an input buffer and writes into an output
 * buffer (tb_io_read and tb_io_write, declared in tls.h: the only calls
 * its callbacks make); the core moves the bytes between those buffers and
 * the socket, the same way for every library:
 *
 *   in   filled by ONE recv when the library has used up its input and the
 *        socket may hold more; a recv that returns less than it asked for
 *        has drained the socket, so the next one waits for a readable edge
 *        (as nginx does), unless the peer's FIN is known to be there (the
 *        wakeup said so: EPOLLRDHUP), which only a recv returning 0 shows;
 *   out  collects everything the library writes and leaves in ONE send
 *        when the machine waits (a handshake flight; a response, with its
 *        close_notify when the connection ends after it), when it is full,
 *        and before a close.
 *
 * Both buffers come from the worker's pools and go back whenever they are
 * empty, so an idle connection holds neither.
 */
#ifndef TB_IO_H
#define TB_IO_H

#include <stdint.h>

#include "pool.h"
#include "stats.h"
#include "tls.h"

/* A whole TLS record (16 KiB of plaintext plus the largest AEAD overhead
 * and header) fits the input, so one recv brings one; the output holds a
 * 20 KiB response's records with a ticket and the close_notify. */
#define TB_IO_IN_SIZE  (17 * 1024)
#define TB_IO_OUT_SIZE (32 * 1024)
/* Room for one alert record (a close_notify: 24 to 31 bytes with AEAD). */
#define TB_IO_ALERT_ROOM 64

/* What a worker's connections share: spare buffers and the counters the
 * core's reads and writes go to. */
struct tb_io_worker {
	struct tb_pool in;
	struct tb_pool out;
	struct tb_stats_slot *stats;
};

struct tb_io {
	struct tb_io_worker *w;
	char *in;		   /* NULL while empty */
	char *out;		   /* NULL while empty */
	uint32_t in_pos, in_len;   /* unread bytes: in[in_pos .. in_len) */
	uint32_t out_pos, out_len; /* unsent bytes: out[out_pos .. out_len) */
	int fd;
	int err;     /* errno of a failed socket call; then every call fails */
	uint8_t eof; /* the peer closed its side */
	uint8_t drained; /* the last recv emptied the socket */
	uint8_t hup;	 /* the peer's FIN is in: a short recv is not empty */
};

/* Pools of spare buffers, kept at most spares each. */
void tb_io_worker_init(struct tb_io_worker *w, struct tb_stats_slot *stats,
		       unsigned spares);
void tb_io_worker_free(struct tb_io_worker *w);

void tb_io_init(struct tb_io *io, struct tb_io_worker *w, int fd);
/* Give both buffers back; what they held is dropped. */
void tb_io_release(struct tb_io *io);

/* The library's operation returned st (TB_WANT_READ or TB_WANT_WRITE):
 * flush the output, and for a read fill the input if the socket may have
 * bytes.  TB_OK: retry the operation now; TB_WANT_READ or TB_WANT_WRITE:
 * wait until the socket is readable or writable, then call again. */
enum tb_status tb_io_advance(struct tb_io *io, enum tb_status st);
/* The socket became readable (hup: the peer's FIN is in as well): the
 * next fill may read it. */
void tb_io_readable(struct tb_io *io, int hup);
/* Output waits to be flushed. */
static inline int
tb_io_pending(const struct tb_io *io)
{
	return io->out_pos != io->out_len;
}

/* Bytes the output can still take. */
static inline uint32_t
tb_io_room(const struct tb_io *io)
{
	return TB_IO_OUT_SIZE - (io->out_len - io->out_pos);
}
/* Send what the output holds: TB_OK when nothing is left (sent, or lost
 * to a failed socket), TB_WANT_WRITE when the socket is full. */
enum tb_status tb_io_flush(struct tb_io *io);

#endif
