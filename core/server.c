/* server.c: listening sockets, accepting, and pausing when out of fds. */
#define _GNU_SOURCE /* accept4, CPU_SETSIZE */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"

/* How long accepting stays off after running out of descriptors or
 * reaching --max-conns: long enough not to spin, short enough not to
 * matter to a benchmark that overloads on purpose. */
#define ACCEPT_PAUSE_US 100000
/* listen() backlog; the kernel caps it at net.core.somaxconn. */
#define LISTEN_BACKLOG 65535
/* After an error response, how long to drain the client before closing. */
#define LINGER_US 2000000

static int
split_host_port(const char *spec, char *host, size_t hostlen, char *port,
		size_t portlen)
{
	const char *colon;
	size_t n;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (end == NULL || end[1] != ':')
			return -1;
		n = (size_t)(end - spec - 1);
		if (n == 0 || n >= hostlen)
			return -1;
		memcpy(host, spec + 1, n);
		host[n] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL || memchr(spec, ':', (size_t)(colon - spec)))
			return -1;
		n = (size_t)(colon - spec);
		if (n == 0 || n >= hostlen)
			return -1;
		memcpy(host, spec, n);
		host[n] = '\0';
	}
	n = strlen(colon + 1);
	if (n == 0 || n >= portlen || strspn(colon + 1, "0123456789") != n ||
	    atoi(colon + 1) > 65535)
		return -1;
	memcpy(port, colon + 1, n + 1);
	return 0;
}

static int
listen_one(const struct sockaddr *sa, socklen_t salen, int reuseport,
	   int defer_accept_s, char *err, size_t errlen, const char *spec)
{
	int one = 1;
	int fd = socket(sa->sa_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errlen, "--listen %s: socket: %s", spec,
			 strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
		snprintf(err, errlen, "--listen %s: SO_REUSEPORT: %s", spec,
			 strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, sa, salen) != 0) {
		snprintf(err, errlen, "--listen %s: bind: %s", spec,
			 strerror(errno));
		close(fd);
		return -1;
	}
	/* Accepted sockets inherit TCP_NODELAY from the listener (Linux), so
	 * it is set once here rather than once per connection. */
	if (reuseport &&
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
		snprintf(err, errlen, "--listen %s: TCP_NODELAY: %s", spec,
			 strerror(errno));
		close(fd);
		return -1;
	}
	if (reuseport && defer_accept_s > 0 &&
	    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_accept_s,
		       sizeof(defer_accept_s)) != 0) {
		snprintf(err, errlen, "--defer-accept: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (reuseport && listen(fd, LISTEN_BACKLOG) != 0) {
		snprintf(err, errlen, "--listen %s: listen: %s", spec,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
tb_listen_open(const char *spec, int count, int defer_accept_s, int *fds,
	       char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host[256], port[8];
	int i, rc;

	if (split_host_port(spec, host, sizeof(host), port, sizeof(port)) !=
	    0) {
		snprintf(err, errlen,
			 "--listen %s: expected HOST:PORT or [IPV6]:PORT",
			 spec);
		return -2;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0 || ai == NULL) {
		snprintf(err, errlen, "--listen %s: %s", spec,
			 gai_strerror(rc));
		if (ai != NULL)
			freeaddrinfo(ai);
		return -1;
	}
	memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
	addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);

	/* SO_REUSEPORT would let us share a fixed port with a stale server
	 * (same user) that then takes half the connections: a plain bind
	 * first proves the port is free. */
	if (strcmp(port, "0") != 0) {
		int probe = listen_one((struct sockaddr *)&addr, addrlen, 0, 0,
				       err, errlen, spec);

		if (probe < 0)
			return -1;
		close(probe);
	}
	for (i = 0; i < count; i++) {
		fds[i] = listen_one((struct sockaddr *)&addr, addrlen, 1,
				    defer_accept_s, err, errlen, spec);
		if (fds[i] < 0) {
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
		/* The first socket resolves port 0; the rest share it. */
		if (i == 0) {
			addrlen = sizeof(addr);
			getsockname(fds[0], (struct sockaddr *)&addr, &addrlen);
		}
	}
	return 0;
}

int
tb_listen_url(int fd, const char *scheme, char *buf, size_t len)
{
	struct sockaddr_storage addr;
	socklen_t addrlen = sizeof(addr);
	char host[INET6_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&addr, &addrlen) != 0)
		return -1;
	if (addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&addr;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "%s://[%s]:%u", scheme, host,
			 ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const void *)&addr;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s://%s:%u", scheme, host,
			 ntohs(a->sin_port));
	}
	return 0;
}

static void
accept_pause(struct tb_worker *w)
{
	struct timeval tv = {0, ACCEPT_PAUSE_US};

	event_del(w->listen_ev);
	tb_count(&w->stats->accept_pauses, 1);
	evtimer_add(w->resume_ev, &tv);
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tb_worker *w = arg;

	(void)fd;
	(void)what;
	event_add(w->listen_ev, NULL);
}

static void
accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct tb_worker *w = arg;

	(void)what;
	tb_count(&w->stats->wakeups, 1);
	for (;;) {
		int fd;

		if (__atomic_load_n(&w->stats->conns_active,
				    __ATOMIC_RELAXED) >=
		    (uint64_t)w->max_conns) {
			accept_pause(w);
			return;
		}
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		tb_count(&w->stats->sys_accept, 1);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EPROTO)
				continue;
			/* EMFILE, ENFILE, ENOBUFS, ENOMEM, or worse: the
			 * listener stays readable, so back off rather than
			 * spin. */
			accept_pause(w);
			return;
		}
		tb_conn_start(w, fd);
	}
}

static int
common_timeout(struct tb_timeout *t, struct event_base *base, double seconds)
{
	struct timeval tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	t->tv = event_base_init_common_timeout(base, &tv);
	t->ms = (uint32_t)(seconds * 1000 + 0.5);
	return t->tv != NULL ? 0 : -1;
}

int
tb_worker_init(struct tb_worker *w, struct event_base *base,
	       const struct tb_options *opt, struct tb_tls_ctx *tls,
	       struct tb_stats_slot *stats, int listen_fd)
{
	memset(w, 0, sizeof(*w));
	w->base = base;
	w->tls = tls;
	w->stats = stats;
	w->listen_fd = listen_fd;
	w->max_conns = opt->max_conns;
	w->defer_accept = opt->defer_accept > 0;
	w->core_io = opt->tls.io == TB_IO_CORE;
	tb_conn_init_spares(w);
	w->listen_ev =
		event_new(base, listen_fd, EV_READ | EV_PERSIST, accept_cb, w);
	w->resume_ev = evtimer_new(base, accept_resume_cb, w);
	if (common_timeout(&w->header, base, opt->header_timeout) != 0 ||
	    common_timeout(&w->idle, base, opt->idle_timeout) != 0 ||
	    common_timeout(&w->write, base, opt->write_timeout) != 0 ||
	    common_timeout(&w->linger, base, LINGER_US / 1e6) != 0 ||
	    w->listen_ev == NULL || w->resume_ev == NULL ||
	    event_add(w->listen_ev, NULL) != 0) {
		tb_worker_free(w);
		return -1;
	}
	return 0;
}

void
tb_worker_stop(struct tb_worker *w)
{
	if (w->listen_ev != NULL)
		event_del(w->listen_ev);
	if (w->resume_ev != NULL)
		event_del(w->resume_ev);
	tb_conn_close_all(w);
}

void
tb_worker_free(struct tb_worker *w)
{
	tb_worker_stop(w);
	if (w->listen_ev != NULL)
		event_free(w->listen_ev);
	if (w->resume_ev != NULL)
		event_free(w->resume_ev);
	w->listen_ev = NULL;
	w->resume_ev = NULL;
	if (w->listen_fd >= 0)
		close(w->listen_fd);
	w->listen_fd = -1;
	tb_conn_free_spares(w);
}
