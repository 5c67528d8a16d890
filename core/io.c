/* io.c: the core's side of a connection's socket under --io core (io.h). */
#include "io.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

void
tb_io_worker_init(struct tb_io_worker *w, struct tb_stats_slot *stats,
		  unsigned spares)
{
	w->in = (struct tb_pool){NULL, TB_IO_IN_SIZE, 0, spares};
	w->out = (struct tb_pool){NULL, TB_IO_OUT_SIZE, 0, spares};
	w->stats = stats;
}

void
tb_io_worker_free(struct tb_io_worker *w)
{
	tb_pool_drain(&w->in);
	tb_pool_drain(&w->out);
}

void
tb_io_init(struct tb_io *io, struct tb_io_worker *w, int fd)
{
	memset(io, 0, sizeof(*io));
	io->w = w;
	io->fd = fd;
}

static void
in_release(struct tb_io *io)
{
	tb_pool_put(&io->w->in, io->in);
	io->in = NULL;
	io->in_pos = io->in_len = 0;
}

static void
out_release(struct tb_io *io)
{
	tb_pool_put(&io->w->out, io->out);
	io->out = NULL;
	io->out_pos = io->out_len = 0;
}

void
tb_io_release(struct tb_io *io)
{
	in_release(io);
	out_release(io);
}

ssize_t
tb_io_read(struct tb_io *io, void *buf, size_t len)
{
	size_t n = io->in_len - io->in_pos;

	if (n > 0 && len > 0) {
		if (n > len)
			n = len;
		memcpy(buf, io->in + io->in_pos, n);
		io->in_pos += (uint32_t)n;
		if (io->in_pos == io->in_len)
			in_release(io);
		return (ssize_t)n;
	}
	if (io->err != 0) {
		errno = io->err;
		return -1;
	}
	if (io->eof || len == 0)
		return 0;
	errno = EAGAIN;
	return -1;
}

ssize_t
tb_io_write(struct tb_io *io, const void *buf, size_t len)
{
	size_t room;

	if (io->err != 0) {
		errno = io->err;
		return -1;
	}
	if (io->out == NULL) {
		io->out = tb_pool_get(&io->w->out);
		if (io->out == NULL) {
			errno = ENOMEM;
			return -1;
		}
	}
	/* Part of the buffer left in an earlier send: move the rest up. */
	if (io->out_pos > 0 && io->out_len == TB_IO_OUT_SIZE) {
		memmove(io->out, io->out + io->out_pos,
			io->out_len - io->out_pos);
		io->out_len -= io->out_pos;
		io->out_pos = 0;
	}
	room = TB_IO_OUT_SIZE - io->out_len;
	if (room == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (len > room)
		len = room;
	memcpy(io->out + io->out_len, buf, len);
	io->out_len += (uint32_t)len;
	return (ssize_t)len;
}

/* One recv into the input's free room: 1 when the library has something
 * new to read (bytes, the peer's close, a failure), 0 when the socket had
 * nothing. */
static int
io_fill(struct tb_io *io)
{
	size_t room;
	ssize_t n;

	if (io->in == NULL) {
		io->in = tb_pool_get(&io->w->in);
		if (io->in == NULL) {
			io->err = ENOMEM;
			return 1;
		}
	}
	if (io->in_pos > 0) {
		memmove(io->in, io->in + io->in_pos, io->in_len - io->in_pos);
		io->in_len -= io->in_pos;
		io->in_pos = 0;
	}
	room = TB_IO_IN_SIZE - io->in_len;
	do {
		n = recv(io->fd, io->in + io->in_len, room, 0);
		tb_count(&io->w->stats->sys_read, 1);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		io->in_len += (uint32_t)n;
		io->drained = (size_t)n < room && !io->hup;
		return 1;
	}
	io->drained = 1;
	if (io->in_len == 0)
		in_release(io);
	if (n == 0) {
		io->eof = 1;
		return 1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	io->err = errno;
	return 1;
}

enum tb_status
tb_io_flush(struct tb_io *io)
{
	ssize_t n;

	if (io->out_pos == io->out_len)
		return TB_OK;
	if (io->err != 0) {
		out_release(io);
		return TB_OK;
	}
	do {
		n = send(io->fd, io->out + io->out_pos,
			 io->out_len - io->out_pos, MSG_NOSIGNAL);
		tb_count(&io->w->stats->sys_write, 1);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		io->out_pos += (uint32_t)n;
		if (io->out_pos < io->out_len)
			return TB_WANT_WRITE; /* a short send: the socket is
						 full */
		out_release(io);
		return TB_OK;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return TB_WANT_WRITE;
	/* The peer is gone (or worse): what is left can never leave, and
	 * the library hears it on its next call. */
	io->err = n < 0 ? errno : EPIPE;
	out_release(io);
	return TB_OK;
}

enum tb_status
tb_io_advance(struct tb_io *io, enum tb_status st)
{
	int failed = io->err != 0;

	/* A flight is complete when the machine waits: it leaves first. */
	if (tb_io_flush(io) == TB_WANT_WRITE)
		return TB_WANT_WRITE;
	/* Retry: the output is out, or the socket failed just now and the
	 * library has yet to hear it. */
	if (st != TB_WANT_READ || (io->err != 0 && !failed))
		return TB_OK;
	/* The library has heard the end already and still waits: wait too
	 * (the connection's timer ends it) rather than spin. */
	if (io->eof || io->err != 0)
		return TB_WANT_READ;
	if (!io->drained && io_fill(io))
		return TB_OK;
	return TB_WANT_READ;
}

void
tb_io_readable(struct tb_io *io, int hup)
{
	io->drained = 0;
	if (hup)
		io->hup = 1;
}
