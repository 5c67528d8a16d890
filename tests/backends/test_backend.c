/* test_backend.c: the contract of core/tls.h, checked on the backend this
 * build links, with one table of cases for every backend.
 *
 * The backend side runs here, in-process, on an accepted non-blocking
 * socket; the peer is tests/backends/peer.c (the system OpenSSL, or plain
 * sockets for the plaintext backend), run as a subprocess over loopback
 * and released step by step through its stdin, so what the backend sees
 * first is decided here, not by timing.  Each case runs with TLS 1.3 and
 * TLS 1.2 peers, and with both --io modes: native (the library on the
 * socket) and core (the library on core/io.c's buffers, driven here as
 * core/conn.c drives them: tb_io_advance on every TB_WANT_*, a flush
 * before the close).  Prints PASS/FAIL per case and `N passed, N failed`.
 *
 * Usage: test_backend PEER
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "io.h"
#include "tls.h"

#define WAIT_MS 10000 /* any single wait; a hang is a failure */
#define BIG	(1024 * 1024)

static const char *peer_bin;
static char dir[] = "/tmp/test_backend.XXXXXX";
static char cert[64], key[64];
static int plain; /* the plaintext backend: no handshake, no alerts */
static int core;  /* the cases now run with --io core */
static struct tb_stats_slot io_stats;
static struct tb_io_worker io_worker;
static int passed, failed;
static char why[512];

static int
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *
status_name(enum tb_status st)
{
	static const char *const names[] = {"TB_OK", "TB_WANT_READ",
					    "TB_WANT_WRITE", "TB_CLOSED",
					    "TB_ERROR"};

	return (unsigned)st < 5 ? names[st] : "?";
}

/* One peer process and the server side of its connection. */
struct run {
	pid_t pid;
	FILE *to_peer; /* its stdin: "go" lines */
	int from_peer; /* its stdout */
	int fd;	       /* our accepted socket */
	struct tb_tls_conn *c;
	struct tb_io io; /* --io core: the buffers c works on */
	unsigned wants;	 /* 1 << TB_WANT_* seen by drive() */
	int refused;	 /* tb_tls_conn_reuse said no (start's reuse) */
};

/* Runs the peer with script and accepts its connection; the server side
 * is a new connection object, or reuse made ready with
 * tb_tls_conn_reuse. */
static int
start_reusing(struct tb_tls_ctx *ctx, struct run *r, const char *script,
	      const char *mode, const char *arg, int sndbuf,
	      struct tb_tls_conn *reuse)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int in[2], out[2];
	char port[32];

	memset(r, 0, sizeof(*r));
	/* An address of our own in 127/8: a port the kernel hands out here
	 * may have been another program's a moment ago, and a client of that
	 * program retrying 127.0.0.1:PORT must not become our peer. */
	a.sin_addr.s_addr =
		htonl(0x7f000000u | (uint32_t)(getpid() & 0xffff) << 8 | 0x01);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(lfd, 1) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) != 0 ||
	    pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
		return fail("setup: %s", strerror(errno));
	snprintf(port, sizeof(port), "%s:%d", inet_ntoa(a.sin_addr),
		 ntohs(a.sin_port));
	r->pid = fork();
	if (r->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(peer_bin, peer_bin, script, port, mode, arg,
		      (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	r->to_peer = fdopen(in[1], "w");
	r->from_peer = out[0];
	r->fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	close(lfd);
	if (r->fd < 0)
		return fail("accept: %s", strerror(errno));
	if (sndbuf > 0)
		setsockopt(r->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
			   sizeof(sndbuf));
	if (core)
		tb_io_init(&r->io, &io_worker, r->fd);
	if (reuse != NULL &&
	    tb_tls_conn_reuse(reuse, r->fd, core ? &r->io : NULL) == 0) {
		r->c = reuse;
		return 0;
	}
	if (reuse != NULL) {
		tb_tls_conn_free(reuse);
		r->refused = 1;
	}
	r->c = tb_tls_conn_new(ctx, r->fd, core ? &r->io : NULL);
	return r->c != NULL ? 0 : fail("tb_tls_conn_new failed");
}

static int
start(struct tb_tls_ctx *ctx, struct run *r, const char *script,
      const char *mode, const char *arg, int sndbuf)
{
	return start_reusing(ctx, r, script, mode, arg, sndbuf, NULL);
}

static void
go(struct run *r)
{
	fputs("go\n", r->to_peer);
	fflush(r->to_peer);
}

/* --io core: what the library wrote leaves before the close, as core/conn.c
 * sends it (one send, then more once the socket is writable). */
static void
flush_before_close(struct run *r)
{
	struct pollfd p = {r->fd, POLLOUT, 0};

	while (tb_io_flush(&r->io) == TB_WANT_WRITE)
		if (poll(&p, 1, WAIT_MS) != 1)
			break;
	tb_io_release(&r->io);
}

/* The peer's result line, after it exited. */
static int
finish(struct run *r, char *line, size_t len)
{
	ssize_t n, got = 0;
	int status = 0;

	if (r->to_peer != NULL)
		fclose(r->to_peer);
	if (core && r->fd >= 0)
		flush_before_close(r);
	if (r->c != NULL)
		tb_tls_conn_free(r->c);
	if (r->fd >= 0)
		close(r->fd);
	while ((n = read(r->from_peer, line + got, len - 1 - (size_t)got)) > 0)
		got += n;
	line[got > 0 ? got : 0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	close(r->from_peer);
	waitpid(r->pid, &status, 0);
	if ((!WIFEXITED(status) || WEXITSTATUS(status) != 0) && why[0] == '\0')
		return fail("peer exited with status %d", status);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

/* Waits for the direction st asks for; the contract allows either from
 * any call.  With --io core the core's buffers move first, and the wait
 * may not be needed. */
static int
wait_for(struct run *r, enum tb_status st)
{
	struct pollfd p = {r->fd, 0, 0};

	r->wants |= 1u << st;
	if (core) {
		st = tb_io_advance(&r->io, st);
		if (st == TB_OK)
			return 0;
	}
	p.events = st == TB_WANT_WRITE ? POLLOUT : POLLIN | POLLRDHUP;
	if (poll(&p, 1, WAIT_MS) != 1)
		return fail("no %s readiness in %d ms after %s",
			    st == TB_WANT_WRITE ? "write" : "read", WAIT_MS,
			    status_name(st));
	if (core && st == TB_WANT_READ)
		tb_io_readable(&r->io, (p.revents & POLLRDHUP) != 0);
	return 0;
}

static enum tb_status
handshake(struct run *r)
{
	enum tb_status st;

	while ((st = tb_tls_handshake(r->c)) == TB_WANT_READ ||
	       st == TB_WANT_WRITE)
		if (wait_for(r, st) != 0)
			return TB_ERROR;
	return st;
}

/* Reads until data, a close or an error: the status, n bytes in buf. */
static enum tb_status
read_some(struct run *r, char *buf, size_t len, size_t *n)
{
	enum tb_status st;

	for (;;) {
		st = tb_tls_read(r->c, buf, len, n);
		if (st == TB_OK && *n == 0)
			return fail("read returned TB_OK with 0 bytes"),
			       TB_ERROR;
		if (st != TB_WANT_READ && st != TB_WANT_WRITE)
			return st;
		if (wait_for(r, st) != 0)
			return TB_ERROR;
	}
}

static int
expect(enum tb_status got, enum tb_status want, const char *what)
{
	if (got == want)
		return 0;
	if (why[0] != '\0')
		return -1;
	return fail("%s: %s, want %s%s%s", what, status_name(got),
		    status_name(want), got == TB_ERROR ? " (" : "",
		    got == TB_ERROR ? "error)" : "");
}

/* ---- the cases ---- */

/* Handshake and read both wait for the peer (want-read from each), a
 * 0-byte read is TB_OK with nothing, and data then arrives intact. */
static int
case_want_read_and_zero_read(struct tb_tls_ctx *ctx, const char *mode)
{
	struct run r;
	char buf[64], line[64];
	size_t n = 1;
	enum tb_status st;
	int rc = -1;

	if (start(ctx, &r, "hello", mode, NULL, 0) != 0)
		goto out;
	st = tb_tls_handshake(r.c);
	if (!plain && expect(st, TB_WANT_READ, "handshake before hello"))
		goto out;
	go(&r);
	if (expect(handshake(&r), TB_OK, "handshake") != 0)
		goto out;
	st = tb_tls_read(r.c, buf, 0, &n);
	if (expect(st, TB_OK, "0-byte read") != 0)
		goto out;
	if (n != 0) {
		fail("0-byte read gave n=%zu", n);
		goto out;
	}
	st = tb_tls_read(r.c, buf, sizeof(buf), &n);
	if (expect(st, TB_WANT_READ, "read before the peer wrote") != 0)
		goto out;
	go(&r);
	st = read_some(&r, buf, sizeof(buf), &n);
	if (expect(st, TB_OK, "read") != 0)
		goto out;
	if (n != 4 || memcmp(buf, "ping", 4) != 0) {
		fail("read %zu bytes, want \"ping\"", n);
		goto out;
	}
	rc = 0;
out:
	if (finish(&r, line, sizeof(line)) != 0)
		rc = -1;
	return rc;
}

static uint64_t
fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n-- > 0)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* A write bigger than both socket buffers to a slow reader: want-write
 * comes back, and the same call repeated with the same buffer and length
 * finishes it; the peer receives every byte in order. */
static int
case_partial_write(struct tb_tls_ctx *ctx, const char *mode)
{
	static unsigned char data[BIG];
	char arg[32], line[128], want[128];
	struct run r;
	size_t off = 0, n;
	enum tb_status st;
	int rc = -1;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 131 + (i >> 9));
	snprintf(arg, sizeof(arg), "%d", BIG);
	if (start(ctx, &r, "slowread", mode, arg, 4096) != 0)
		goto out;
	if (expect(handshake(&r), TB_OK, "handshake") != 0)
		goto out;
	while (off < sizeof(data)) {
		const unsigned char *p = data + off;
		size_t len = sizeof(data) - off;

		st = tb_tls_write(r.c, p, len, &n);
		while (st == TB_WANT_WRITE || st == TB_WANT_READ) {
			if (wait_for(&r, st) != 0)
				goto out;
			st = tb_tls_write(r.c, p, len, &n); /* same call */
		}
		if (expect(st, TB_OK, "write") != 0)
			goto out;
		if (n == 0 || n > len) {
			fail("write of %zu returned n=%zu", len, n);
			goto out;
		}
		off += n;
	}
	if (!(r.wants & (1u << TB_WANT_WRITE))) {
		fail("1 MiB into a 4 KiB send buffer never wanted write");
		goto out;
	}
	rc = 0;
out:
	if (finish(&r, line, sizeof(line)) != 0)
		rc = -1;
	snprintf(want, sizeof(want), "hash %d %016llx", BIG,
		 (unsigned long long)fnv1a(data, sizeof(data)));
	if (rc == 0 && strcmp(line, want) != 0)
		rc = fail("peer got \"%s\", want \"%s\"", line, want);
	return rc;
}

/* The peer sends its ClientHello and goes: a close, not an error, so
 * every backend counts it the same (handshakes_failed, not tls_errors). */
static int
case_close_in_handshake(struct tb_tls_ctx *ctx, const char *mode)
{
	struct run r;
	char line[64];
	int rc = -1;

	if (start(ctx, &r, "hs_close", mode, NULL, 0) != 0)
		goto out;
	if (plain) {
		char buf[16];
		size_t n;

		rc = expect(read_some(&r, buf, sizeof(buf), &n), TB_CLOSED,
			    "read after the peer closed");
		goto out;
	}
	rc = expect(handshake(&r), TB_CLOSED, "handshake");
out:
	if (finish(&r, line, sizeof(line)) != 0)
		rc = -1;
	return rc;
}

/* After the handshake the peer ends the connection (script: a
 * close_notify, a FIN, an RST): the next read says TB_CLOSED. */
static int
case_peer_ends(struct tb_tls_ctx *ctx, const char *mode, const char *script)
{
	struct run r;
	char buf[64], line[64];
	size_t n;
	int rc = -1;

	if (start(ctx, &r, script, mode, NULL, 0) != 0)
		goto out;
	if (expect(handshake(&r), TB_OK, "handshake") != 0)
		goto out;
	/* Only now: a TLS 1.3 server may still be writing its ticket when
	 * the client's handshake is done. */
	go(&r);
	rc = expect(read_some(&r, buf, sizeof(buf), &n), TB_CLOSED, "read");
out:
	if (finish(&r, line, sizeof(line)) != 0)
		rc = -1;
	return rc;
}

static int
case_close_notify(struct tb_tls_ctx *ctx, const char *mode)
{
	return case_peer_ends(ctx, mode, "notify");
}

static int
case_eof(struct tb_tls_ctx *ctx, const char *mode)
{
	return case_peer_ends(ctx, mode, "eof");
}

static int
case_reset(struct tb_tls_ctx *ctx, const char *mode)
{
	return case_peer_ends(ctx, mode, "reset");
}

/* One tb_tls_shutdown after the handshake: TB_OK, and the peer sees a
 * close_notify (a FIN for the plaintext backend). */
static int
case_shutdown(struct tb_tls_ctx *ctx, const char *mode)
{
	struct run r;
	char line[64];
	int rc = -1;

	if (start(ctx, &r, "expect_end", mode, NULL, 0) != 0)
		goto out;
	if (expect(handshake(&r), TB_OK, "handshake") != 0 ||
	    expect(tb_tls_shutdown(r.c), TB_OK, "shutdown") != 0)
		goto out;
	rc = 0;
out:
	if (finish(&r, line, sizeof(line)) != 0)
		rc = -1;
	if (rc == 0 && strcmp(line, "close_notify") != 0)
		rc = fail("peer saw \"%s\", want close_notify", line);
	return rc;
}

/* The value of fact key in the context's facts, or "". */
static const char *
ctx_fact(const struct tb_tls_ctx *ctx, const char *name)
{
	for (const struct tb_tls_fact *f = tb_tls_ctx_facts(ctx); f->key; f++)
		if (strcmp(f->key, name) == 0)
			return f->value;
	return "";
}

/* The hello exchange of the first case on r: handshake, then "ping". */
static int
hello(struct run *r)
{
	char buf[64];
	size_t n;

	go(r);
	if (expect(handshake(r), TB_OK, "handshake") != 0)
		return -1;
	go(r);
	if (expect(read_some(r, buf, sizeof(buf), &n), TB_OK, "read") != 0)
		return -1;
	if (n != 4 || memcmp(buf, "ping", 4) != 0)
		return fail("read %zu bytes, want \"ping\"", n);
	return 0;
}

/* The object of an ended connection serves a second one after
 * tb_tls_conn_reuse as a new object would; or the library refuses, and
 * tls_object_reuse says "no" (and "yes" when it does not refuse). */
static int
case_reuse(struct tb_tls_ctx *ctx, const char *mode)
{
	const char *says = ctx_fact(ctx, "tls_object_reuse");
	struct tb_tls_conn *kept;
	struct run r, r2;
	char line[64];
	int rc = -1;

	if (start(ctx, &r, "hello", mode, NULL, 0) != 0 || hello(&r) != 0) {
		finish(&r, line, sizeof(line));
		return -1;
	}
	kept = r.c;
	r.c = NULL;
	if (finish(&r, line, sizeof(line)) != 0) {
		tb_tls_conn_free(kept);
		return -1;
	}
	if (start_reusing(ctx, &r2, "hello", mode, NULL, 0, kept) != 0)
		goto out;
	if (strncmp(says, r2.refused ? "no" : "yes", r2.refused ? 2 : 3) != 0) {
		fail("tb_tls_conn_reuse %s, but tls_object_reuse is \"%s\"",
		     r2.refused ? "refused" : "worked", says);
		goto out;
	}
	rc = hello(&r2);
out:
	if (finish(&r2, line, sizeof(line)) != 0)
		rc = -1;
	return rc;
}

/* The one table of socket endings (common.h). */
static int
case_io_status(void)
{
	static const struct {
		int err, eof;
		enum tb_status want;
	} table[] = {
		{0, 1, TB_CLOSED},	    {ECONNRESET, 0, TB_CLOSED},
		{EPIPE, 0, TB_CLOSED},	    {ENOTCONN, 0, TB_CLOSED},
		{ETIMEDOUT, 0, TB_CLOSED},  {EBADF, 0, TB_ERROR},
		{ENOMEM, 0, TB_ERROR},	    {0, 0, TB_ERROR},
		{ECONNRESET, 1, TB_CLOSED},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		enum tb_status st =
			tb_tls_io_status(table[i].err, table[i].eof);

		if (st != table[i].want)
			return fail("tb_tls_io_status(%s, eof=%d) = %s",
				    strerror(table[i].err), table[i].eof,
				    status_name(st));
	}
	return 0;
}

static void
report(const char *name, const char *mode, int rc)
{
	const char *io = mode == NULL ? "" : core ? " io=core" : " io=native";

	if (rc == 0) {
		printf("PASS %s%s%s%s\n", name, mode ? " " : "",
		       mode ? mode : "", io);
		passed++;
	} else {
		printf("FAIL %s%s%s%s: %s\n", name, mode ? " " : "",
		       mode ? mode : "", io, why);
		failed++;
	}
	why[0] = '\0';
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct tb_tls_ctx *, const char *);
	} cases[] = {
		{"want_read_and_zero_read", case_want_read_and_zero_read},
		{"partial_write_retried", case_partial_write},
		{"peer_close_in_handshake", case_close_in_handshake},
		{"peer_close_notify", case_close_notify},
		{"peer_eof", case_eof},
		{"peer_reset", case_reset},
		{"shutdown_once", case_shutdown},
		{"object_reused", case_reuse},
	};
	static const char *const tls_modes[] = {"tls13", "tls12"};
	static const char *const plain_modes[] = {"plain"};
	struct tb_tls_config cfg = {
		.cert_file = cert,
		.key_file = key,
		.min_version = TB_TLS12,
		.max_version = TB_TLS13,
		.resumption = TB_RESUME_BOTH,
		.session_cache_size = 20480,
		.session_lifetime_s = 7200,
		.idle_buffers = TB_IDLE_RELEASE,
	};
	const char *const *modes;
	struct tb_tls_ctx *ctx;
	char err[512], cmd[600];
	size_t nmodes;

	if (argc != 2) {
		fprintf(stderr, "usage: test_backend PEER\n");
		return 2;
	}
	peer_bin = argv[1];
	signal(SIGPIPE, SIG_IGN);
	plain = strcmp(tb_tls_url_scheme(), "http") == 0;
	modes = plain ? plain_modes : tls_modes;
	nmodes = plain ? 1 : 2;
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd), "'%s' gencert %s", peer_bin, dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_backend: %s failed\n", cmd);
		return 2;
	}
	printf("# backend %s\n", tb_tls_backend_name());
	report("io_status_table", NULL, case_io_status());
	tb_io_worker_init(&io_worker, &io_stats, 4);
	for (core = 0; core <= 1; core++) {
		cfg.io = core ? TB_IO_CORE : TB_IO_NATIVE;
		ctx = tb_tls_ctx_new(&cfg, err, sizeof(err));
		if (ctx == NULL) {
			fprintf(stderr, "test_backend: tb_tls_ctx_new: %s\n",
				err);
			return 2;
		}
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			for (size_t m = 0; m < nmodes; m++)
				report(cases[i].name, modes[m],
				       cases[i].run(ctx, modes[m]));
		tb_tls_ctx_free(ctx);
	}
	tb_io_worker_free(&io_worker);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	printf("%d passed, %d failed\n", passed, failed);
	return failed > 0 ? 1 : 0;
}
