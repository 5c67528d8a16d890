/* none.c: the plaintext backend: tls.h over bare recv/send (or the
 * core's buffers, --io core), no crypto.
 *
 * The baseline of every comparison: what the core, the event loop and the
 * kernel cost with no TLS at all, so that the TLS share of a number can be
 * read off by subtraction.  It serves http:// and ignores --cert/--key.
 */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"

struct tb_tls_ctx {
	struct tb_settings settings;
	const struct tb_tls_fact *facts;
};

struct tb_tls_conn {
	int fd;
	struct tb_io *io;  /* --io core: the core's buffers instead of fd */
	struct tb_err err; /* why the last call failed */
};

/* The keys every backend has, so result rows keep their columns. */
static const struct tb_tls_fact facts[] = {
	{"flavor", "none"},
	{"header_version", "none"},
	{"runtime_version", "none"},
	{"prefix", "none"},
	{NULL, NULL},
};

const char *
tb_tls_backend_name(void)
{
	return "none";
}

const char *
tb_tls_library_version(void)
{
	return "none";
}

const char *
tb_tls_url_scheme(void)
{
	return "http";
}

const struct tb_tls_fact *
tb_tls_build_facts(void)
{
	return facts;
}

int
tb_tls_check_runtime(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return 0;
}

struct tb_tls_ctx *
tb_tls_ctx_new(const struct tb_tls_config *cfg, char *err, size_t errlen)
{
	struct tb_tls_ctx *ctx = calloc(1, sizeof(*ctx));
	struct tb_settings *st;

	if (ctx == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* No sessions and no record buffers: nothing was applied. */
	st = &ctx->settings;
	snprintf(st->session_cache_size, sizeof(st->session_cache_size),
		 "0 (no TLS)");
	snprintf(st->session_lifetime_s, sizeof(st->session_lifetime_s),
		 "0 (no TLS)");
	tb_settings_idle(st->idle_buffers, sizeof(st->idle_buffers),
			 cfg->idle_buffers, "no TLS buffers");
	snprintf(st->tickets_per_handshake, sizeof(st->tickets_per_handshake),
		 "0 (no TLS)");
	st->tls_object_reuse = "yes (no library state)";
	ctx->facts = tb_settings_facts(st, NULL, NULL, cfg->io);
	return ctx;
}

const struct tb_tls_fact *
tb_tls_ctx_facts(const struct tb_tls_ctx *ctx)
{
	return ctx->facts;
}

void
tb_tls_ctx_free(struct tb_tls_ctx *ctx)
{
	free(ctx);
}

struct tb_tls_conn *
tb_tls_conn_new(struct tb_tls_ctx *ctx, int fd, struct tb_io *io)
{
	struct tb_tls_conn *c = calloc(1, sizeof(*c));

	(void)ctx;
	if (c != NULL)
		tb_tls_conn_reuse(c, fd, io);
	return c;
}

int
tb_tls_conn_reuse(struct tb_tls_conn *c, int fd, struct tb_io *io)
{
	c->fd = fd;
	c->io = io;
	c->err.kind = TB_ERR_NONE;
	return 0;
}

void
tb_tls_conn_free(struct tb_tls_conn *c)
{
	free(c);
}

/* The one place a socket result becomes a status. */
static enum tb_status
map_status(struct tb_tls_conn *c, ssize_t r, enum tb_status want, size_t *n)
{
	enum tb_status st;

	if (r > 0) {
		*n = (size_t)r;
		return TB_OK;
	}
	*n = 0;
	if (r == 0)
		return tb_tls_io_status(0, 1);
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return want;
	st = tb_tls_io_status(errno, 0);
	if (st == TB_ERROR)
		tb_err_set(&c->err, TB_ERR_ERRNO, 0, errno);
	return st;
}

enum tb_status
tb_tls_handshake(struct tb_tls_conn *c)
{
	(void)c;
	return TB_OK;
}

enum tb_status
tb_tls_read(struct tb_tls_conn *c, void *buf, size_t len, size_t *n)
{
	ssize_t r;

	if (len == 0) { /* recv() would say 0: a close */
		*n = 0;
		return TB_OK;
	}
	if (c->io != NULL)
		r = tb_io_read(c->io, buf, len);
	else
		do
			r = recv(c->fd, buf, len, 0);
		while (r < 0 && errno == EINTR);
	return map_status(c, r, TB_WANT_READ, n);
}

enum tb_status
tb_tls_write(struct tb_tls_conn *c, const void *buf, size_t len, size_t *n)
{
	ssize_t r;

	if (c->io != NULL)
		r = tb_io_write(c->io, buf, len);
	else
		do
			r = send(c->fd, buf, len, MSG_NOSIGNAL);
		while (r < 0 && errno == EINTR);
	/* send() returns 0 only for len 0, which is not a close. */
	if (r == 0 && len == 0) {
		*n = 0;
		return TB_OK;
	}
	return map_status(c, r, TB_WANT_WRITE, n);
}

/* The plaintext close_notify is the FIN.  Under --io core the response
 * may still be in the core's buffer: the FIN then leaves with the close
 * that follows the core's flush. */
enum tb_status
tb_tls_shutdown(struct tb_tls_conn *c)
{
	if (c->io == NULL)
		shutdown(c->fd, SHUT_WR);
	return TB_OK;
}

const char *
tb_tls_conn_error(const struct tb_tls_conn *c)
{
	return tb_err_text(&c->err, NULL);
}

void
tb_tls_conn_params(const struct tb_tls_conn *c, struct tb_tls_params *p)
{
	(void)c;
	*p = (struct tb_tls_params){0, 0, 0, 0, 0};
}
