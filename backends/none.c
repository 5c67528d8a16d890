/* none.c: the plaintext backend: tls.h over bare recv/send, no crypto.
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

struct tb_tls_ctx {
	int unused;
};

struct tb_tls_conn {
	int fd;
	char error[128];
};

/* The keys every backend has, so result rows keep their columns. */
static const struct tb_tls_fact facts[] = {
	{"flavor", "none"},	     {"header_version", "none"},
	{"runtime_version", "none"}, {"prefix", "none"},
	{"idle_buffers", "none"},    {NULL, NULL},
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

	(void)cfg;
	if (ctx == NULL)
		snprintf(err, errlen, "out of memory");
	return ctx;
}

void
tb_tls_ctx_free(struct tb_tls_ctx *ctx)
{
	free(ctx);
}

struct tb_tls_conn *
tb_tls_conn_new(struct tb_tls_ctx *ctx, int fd)
{
	struct tb_tls_conn *c = calloc(1, sizeof(*c));

	(void)ctx;
	if (c != NULL)
		c->fd = fd;
	return c;
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
	if (r > 0) {
		*n = (size_t)r;
		return TB_OK;
	}
	*n = 0;
	if (r == 0)
		return TB_CLOSED;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return want;
	if (errno == ECONNRESET || errno == EPIPE)
		return TB_CLOSED;
	snprintf(c->error, sizeof(c->error), "socket: %s", strerror(errno));
	return TB_ERROR;
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

	do
		r = recv(c->fd, buf, len, 0);
	while (r < 0 && errno == EINTR);
	return map_status(c, r, TB_WANT_READ, n);
}

enum tb_status
tb_tls_write(struct tb_tls_conn *c, const void *buf, size_t len, size_t *n)
{
	ssize_t r;

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

enum tb_status
tb_tls_shutdown(struct tb_tls_conn *c)
{
	shutdown(c->fd, SHUT_WR);
	return TB_OK;
}

const char *
tb_tls_conn_error(const struct tb_tls_conn *c)
{
	return c->error[0] != '\0' ? c->error : "no error";
}

void
tb_tls_conn_info(const struct tb_tls_conn *c, struct tb_tls_info *info)
{
	(void)c;
	info->version = "none";
	info->cipher = "-";
	info->group = "-";
	info->resumed = 0;
}
