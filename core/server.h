/* server.h: listening sockets and one worker's accept loop. */
#ifndef TB_SERVER_H
#define TB_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "cli.h"
#include "io.h"
#include "pool.h"
#include "stats.h"
#include "tls.h"

struct event_base;
struct event;
struct tb_conn;

/* A connection phase's timeout, shared by every connection in it: a
 * libevent "common timeout" (re-arming is a list append instead of a heap
 * update) and the same duration in milliseconds for conn.c's arithmetic. */
struct tb_timeout {
	const struct timeval *tv;
	uint32_t ms;
};

/* What one worker process (or the single process) serves with. */
struct tb_worker {
	struct event_base *base;
	struct tb_tls_ctx *tls;
	struct tb_stats_slot *stats;
	int listen_fd;
	struct event *listen_ev;
	struct event *resume_ev; /* turns accepting back on after a pause */
	struct tb_conn *conns;	 /* every open connection, to close at stop */
	long max_conns;		 /* against stats->conns_active */
	int defer_accept;	 /* TCP_DEFER_ACCEPT: a new socket has data */
	/* TLS error lines: the second of the last one, and how many were
	 * left out since (conn.c). */
	long log_second;
	unsigned long log_suppressed;
	/* Kept for reuse (conn.c): read buffers, and closed connections
	 * with their TLS objects, linked through next. */
	struct tb_pool read_bufs;
	struct tb_conn *spare_conns;
	unsigned nspare_conns;
	struct tb_io_worker io; /* --io core: buffers and counters */
	int core_io;		/* --io core */
	struct tb_timeout header, idle, write, linger;
};

/* Open count listening sockets on spec ("HOST:PORT", "[V6]:PORT") with
 * SO_REUSEPORT: the first resolves port 0, the others bind the same port.
 * defer_accept_s > 0 sets TCP_DEFER_ACCEPT.  0, or a one-line reason in
 * err and -2 (malformed spec: a usage error) or -1 (the system refused). */
int tb_listen_open(const char *spec, int count, int defer_accept_s, int *fds,
		   char *err, size_t errlen);
/* "scheme://HOST:PORT" of a listening socket into buf. */
int tb_listen_url(int fd, const char *scheme, char *buf, size_t len);

/* Start accepting on listen_fd (the worker owns it from now on). */
int tb_worker_init(struct tb_worker *w, struct event_base *base,
		   const struct tb_options *opt, struct tb_tls_ctx *tls,
		   struct tb_stats_slot *stats, int listen_fd);
/* Stop accepting and close every connection. */
void tb_worker_stop(struct tb_worker *w);
void tb_worker_free(struct tb_worker *w);

#endif
