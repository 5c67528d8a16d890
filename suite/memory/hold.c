/* hold.c: opens N TLS keep-alive connections, one request each, and holds
 * them idle until told to let go.
 *
 * tlsbench-load always has a request in flight; the memory mode needs the
 * opposite: many established, idle connections, so the server's RSS growth
 * divided by N is its memory per connection.  One thread, epoll, at most
 * --parallel handshakes in flight, the system OpenSSL with its buffers
 * released while idle (SSL_MODE_RELEASE_BUFFERS) so 10000 connections fit
 * in a small client.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define PROG "tlsbench-hold"

static const char usage_text[] =
	"Usage: " PROG " [options] URL\n"
	"Opens N TLS (or plaintext, for http://) keep-alive connections to\n"
	"URL (https://127.0.0.1:PORT/PATH or http://...; loopback only), "
	"makes\n"
	"one GET on each, reads the response, and holds them idle.  Prints\n"
	"`held N` on stdout once all are established and idle, then waits for\n"
	"a line (or EOF) on stdin or SIGTERM, closes them all (close_notify,\n"
	"then close) and prints `released N`.\n"
	"\n"
	"  -c N              connections (default 1000)\n"
	"  --parallel N      connections being set up at once (default 32)\n"
	"  --tls 1.2|1.3     offer only that version (default: both)\n"
	"  --groups L        key exchange groups (default: OpenSSL's)\n"
	"  --max-time S      bound on setting them all up (default 300)\n"
	"  --help            this text\n"
	"\n"
	"The server certificate is not verified (the handshake signature is).\n"
	"Exit: 0 after a release, 1 when a connection failed or time ran out\n"
	"(one line on stderr), 2 on a usage error.\n";

enum phase { P_IDLE, P_CONNECT, P_HANDSHAKE, P_SEND, P_RECV, P_HELD };

struct hconn {
	int fd;
	SSL *ssl;
	enum phase phase;
	size_t sent;
	size_t got;	 /* bytes of the response seen */
	long want;	 /* header + body length, -1 until headers seen */
	char head[1024]; /* start of the response, for the headers */
	size_t head_len;
};

static struct {
	struct sockaddr_in addr;
	char host[64];
	char path[256];
	char request[512];
	size_t request_len;
	int tls;
	SSL_CTX *ctx;
	int epfd;
	struct hconn *conns;
	long n, parallel, started, held, in_flight;
} g;

static volatile sig_atomic_t got_term;

static void
on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void
die(int code, const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(code);
}

static long
parse_num(const char *flag, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, PROG ": %s: expected %ld..%ld, got '%s'\n",
			flag, lo, hi, s);
		exit(2);
	}
	return v;
}

/* https://127.0.0.1:PORT/PATH: loopback addresses only. */
static void
parse_url(const char *url)
{
	const char *p = url, *colon, *slash;
	long port;
	size_t hl;

	if (strncmp(p, "https://", 8) == 0) {
		g.tls = 1;
		p += 8;
	} else if (strncmp(p, "http://", 7) == 0) {
		p += 7;
	} else {
		die(2, "URL must start with https:// or http://, got '%s'",
		    url);
	}
	colon = strchr(p, ':');
	slash = strchr(p, '/');
	if (colon == NULL || (slash != NULL && slash < colon))
		die(2, "URL needs HOST:PORT, got '%s'", url);
	hl = (size_t)(colon - p);
	if (hl >= sizeof(g.host))
		die(2, "host too long in '%s'", url);
	memcpy(g.host, p, hl);
	g.host[hl] = '\0';
	if (strcmp(g.host, "localhost") == 0)
		strcpy(g.host, "127.0.0.1");
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535)
		die(2, "bad port in '%s'", url);
	g.addr.sin_family = AF_INET;
	g.addr.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, g.host, &g.addr.sin_addr) != 1 ||
	    (ntohl(g.addr.sin_addr.s_addr) >> 24) != 127)
		die(2, "only loopback IPv4 hosts (127.x.x.x), got '%s'", url);
	snprintf(g.path, sizeof(g.path), "%s", slash ? slash : "/");
	g.request_len = (size_t)snprintf(g.request, sizeof(g.request),
					 "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
					 g.path, g.host);
}

static void
fail(struct hconn *c, const char *what)
{
	char buf[256] = "";
	unsigned long e = ERR_get_error();

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	fprintf(stderr, PROG ": connection %ld: %s%s%s%s\n",
		(long)(c - g.conns), what, buf[0] ? ": " : "", buf,
		errno && !buf[0] ? strerror(errno) : "");
	exit(1);
}

static void
watch(struct hconn *c, unsigned events, int op)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	if (epoll_ctl(g.epfd, op, c->fd, &ev) != 0)
		fail(c, "epoll_ctl");
}

static void
start_one(struct hconn *c)
{
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		fail(c, "socket (raise ulimit -n)");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->want = -1;
	if (connect(c->fd, (struct sockaddr *)&g.addr, sizeof(g.addr)) != 0 &&
	    errno != EINPROGRESS)
		fail(c, "connect");
	c->phase = P_CONNECT;
	watch(c, EPOLLOUT, EPOLL_CTL_ADD);
	g.started++;
	g.in_flight++;
}

/* 1: go on, 0: wait for the direction set in *ev. */
static int
ssl_wait(struct hconn *c, int r, unsigned *ev, const char *what)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*ev = EPOLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*ev = EPOLLOUT;
		return 0;
	default:
		fail(c, what);
	}
	return 0;
}

static void
see_response(struct hconn *c, const char *buf, size_t n)
{
	if (c->want < 0) {
		size_t room = sizeof(c->head) - 1 - c->head_len;
		char *end, *cl;

		memcpy(c->head + c->head_len, buf, n < room ? n : room);
		c->head_len += n < room ? n : room;
		c->head[c->head_len] = '\0';
		end = strstr(c->head, "\r\n\r\n");
		if (end != NULL) {
			if (strncmp(c->head, "HTTP/1.1 200", 12) != 0)
				fail(c, "response is not 200 OK");
			cl = strcasestr(c->head, "\r\ncontent-length:");
			if (cl == NULL)
				fail(c, "response without Content-Length");
			c->want =
				(end + 4 - c->head) + strtol(cl + 17, NULL, 10);
		} else if (c->head_len == sizeof(c->head) - 1) {
			fail(c, "response headers too long");
		}
	}
	c->got += n;
}

static long
io_read(struct hconn *c, char *buf, size_t len, unsigned *ev)
{
	ssize_t r;

	if (g.tls) {
		int n = SSL_read(c->ssl, buf, (int)len);

		if (n > 0)
			return n;
		if (SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN)
			fail(c, "server closed the connection");
		return ssl_wait(c, n, ev, "read") - 1;
	}
	r = read(c->fd, buf, len);
	if (r > 0)
		return r;
	if (r < 0 && errno == EAGAIN) {
		*ev = EPOLLIN;
		return -1;
	}
	fail(c, r == 0 ? "server closed the connection" : "read");
	return -1;
}

static void
step(struct hconn *c)
{
	unsigned ev = 0;
	char buf[16384];

	if (c->phase == P_CONNECT) {
		int err = 0;
		socklen_t el = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err != 0) {
			errno = err;
			fail(c, "connect");
		}
		if (g.tls) {
			c->ssl = SSL_new(g.ctx);
			if (c->ssl == NULL || !SSL_set_fd(c->ssl, c->fd))
				fail(c, "SSL_new");
			SSL_set_connect_state(c->ssl);
			c->phase = P_HANDSHAKE;
		} else {
			c->phase = P_SEND;
		}
	}
	if (c->phase == P_HANDSHAKE) {
		int r = SSL_do_handshake(c->ssl);

		if (r != 1 && !ssl_wait(c, r, &ev, "handshake"))
			goto wait;
		c->phase = P_SEND;
	}
	while (c->phase == P_SEND) {
		const char *p = g.request + c->sent;
		size_t left = g.request_len - c->sent;
		long n;

		if (g.tls) {
			n = SSL_write(c->ssl, p, (int)left);
			if (n <= 0 && !ssl_wait(c, (int)n, &ev, "write"))
				goto wait;
		} else {
			n = write(c->fd, p, left);
			if (n < 0 && errno == EAGAIN) {
				ev = EPOLLOUT;
				goto wait;
			}
			if (n < 0)
				fail(c, "write");
		}
		c->sent += (size_t)n;
		if (c->sent == g.request_len)
			c->phase = P_RECV;
	}
	while (c->phase == P_RECV) {
		long n = io_read(c, buf, sizeof(buf), &ev);

		if (n < 0)
			goto wait;
		see_response(c, buf, (size_t)n);
		if (c->want >= 0 && (long)c->got >= c->want) {
			if ((long)c->got > c->want)
				fail(c, "more bytes than the response");
			c->phase = P_HELD;
		}
	}
	/* Held: no events wanted; the socket stays open and idle. */
	if (epoll_ctl(g.epfd, EPOLL_CTL_DEL, c->fd, NULL) != 0)
		fail(c, "epoll_ctl");
	g.in_flight--;
	g.held++;
	return;
wait:
	watch(c, ev, EPOLL_CTL_MOD);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
open_all(double max_time)
{
	struct epoll_event evs[256];
	double deadline = now_s() + max_time;

	while (g.held < g.n) {
		int i, k;

		while (g.started < g.n && g.in_flight < g.parallel)
			start_one(&g.conns[g.started]);
		if (got_term)
			die(1, "stopped by a signal after %s",
			    "a partial set up");
		if (now_s() > deadline) {
			fprintf(stderr,
				PROG ": only %ld of %ld connections set up "
				     "within --max-time\n",
				g.held, g.n);
			exit(1);
		}
		k = epoll_wait(g.epfd, evs, 256, 1000);
		for (i = 0; i < k; i++)
			step(evs[i].data.ptr);
	}
}

static void
release_all(void)
{
	long i;

	for (i = 0; i < g.n; i++) {
		struct hconn *c = &g.conns[i];

		if (c->ssl != NULL) {
			SSL_shutdown(c->ssl); /* one close_notify, no wait */
			SSL_free(c->ssl);
		}
		close(c->fd);
	}
}

static void
raise_nofile(long need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if ((long)rl.rlim_cur < need + 16) {
		fprintf(stderr,
			PROG ": %ld connections need %ld open files, the hard "
			     "limit is %ld (raise it: ulimit -Hn)\n",
			need, need + 16, (long)rl.rlim_max);
		exit(2);
	}
}

static void
setup_tls(const char *tls, const char *groups)
{
	g.ctx = SSL_CTX_new(TLS_client_method());
	if (g.ctx == NULL)
		die(1, "SSL_CTX_new failed%s", "");
	SSL_CTX_set_verify(g.ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(g.ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(g.ctx, SSL_SESS_CACHE_OFF);
	if (tls != NULL) {
		int v = strcmp(tls, "1.3") == 0	  ? TLS1_3_VERSION
			: strcmp(tls, "1.2") == 0 ? TLS1_2_VERSION
						  : 0;

		if (v == 0)
			die(2, "--tls: expected 1.2 or 1.3, got '%s'", tls);
		SSL_CTX_set_min_proto_version(g.ctx, v);
		SSL_CTX_set_max_proto_version(g.ctx, v);
	}
	if (groups != NULL && !SSL_CTX_set1_groups_list(g.ctx, groups))
		die(2, "--groups: unknown group in '%s'", groups);
}

int
main(int argc, char **argv)
{
	const char *tls = NULL, *groups = NULL, *url = NULL;
	double max_time = 300;
	char line[64];
	int i;

	g.n = 1000;
	g.parallel = 32;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (a[0] != '-') {
			url = a;
			continue;
		}
		if (v == NULL)
			die(2, "%s needs an argument (see --help)", a);
		if (strcmp(a, "-c") == 0)
			g.n = parse_num("-c", v, 1, 1000000);
		else if (strcmp(a, "--parallel") == 0)
			g.parallel = parse_num("--parallel", v, 1, 10000);
		else if (strcmp(a, "--tls") == 0)
			tls = v;
		else if (strcmp(a, "--groups") == 0)
			groups = v;
		else if (strcmp(a, "--max-time") == 0)
			max_time = (double)parse_num("--max-time", v, 1, 86400);
		else
			die(2, "unknown option %s (see --help)", a);
		i++;
	}
	if (url == NULL)
		die(2, "a URL is needed (see --help)%s", "");
	parse_url(url);
	raise_nofile(g.n);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if (g.tls)
		setup_tls(tls, groups);
	g.conns = calloc((size_t)g.n, sizeof(*g.conns));
	g.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g.conns == NULL || g.epfd < 0)
		die(1, "out of memory for %s connections", "the");
	open_all(max_time);
	printf("held %ld\n", g.n);
	fflush(stdout);
	/* Idle until the driver says so: a line, EOF, or a signal. */
	while (!got_term) {
		struct pollfd p = {.fd = 0, .events = POLLIN};

		if (poll(&p, 1, 1000) > 0) {
			if (fgets(line, sizeof(line), stdin) == NULL ||
			    line[0] != '\0')
				break;
		}
	}
	release_all();
	printf("released %ld\n", g.n);
	fflush(stdout);
	SSL_CTX_free(g.ctx);
	free(g.conns);
	return 0;
}
