/* conn.c: the per-connection state machine.
 *
 *   HANDSHAKE -> READ_REQUEST -> [DISCARD_BODY] -> WRITE_RESPONSE
 *        ^------------ keep-alive (pipelined bytes first) -----'
 *   a response that closes:  WRITE_RESPONSE -> CLOSING -> close
 *     after a status other than 200: CLOSING -> LINGER -> close
 *   after a 200 that closes, on a 0-RTT connection whose handshake the
 *   library has not finished (tls.h, early data):
 *                          WRITE_RESPONSE -> CONFIRM -> close
 *
 * With --io native the TLS library reads and writes the socket itself.
 * With --io core it works on the core's buffers (core/io.h): a TB_WANT_*
 * goes to tb_io_advance, which flushes what the library wrote, reads the
 * socket once when it may hold bytes, and says whether to retry at once
 * or which direction to wait for.  CLOSING sends the close_notify (queued
 * with the response under --io core) before the close.
 *
 * One edge-triggered event per connection, watching ONE direction: the
 * one the last TB_WANT_* asked for (either can come from any operation).
 * Watching both would wake us for every ACK that frees send-buffer space
 * while we only wait to read: wasted work on every keep-alive request, and
 * noise in instruction counts.  Edge-triggered means a wakeup comes only
 * after a direction was found blocked, so conn_run drives the machine
 * until an operation returns TB_WANT_*: every wait then follows an EAGAIN,
 * and the next edge is certain to arrive.  A blocked operation is retried
 * as it was (for writes: same pointer, same length, which
 * conn_write_response recomputes from the progress fields).
 *
 * The direction changes only when the machine blocks the other way (a
 * slow reader, or TLS wanting the other direction), not per request:
 * reading a request and writing a response that fits the send buffer never
 * leave read interest.  So one embedded event, re-assigned on a change
 * (epoll_ctl DEL then ADD; the ADD reports the current readiness, so
 * nothing that arrived meanwhile is missed), costs less than a second
 * event in every connection (over 100 bytes, paid even while idle).
 *
 * One timer per connection, for the phase: the header deadline from
 * accept (handshake and first request) and from the first byte of each
 * later request, the idle timeout between keep-alive requests, the write
 * timeout from the last write progress, and a short linger.  A phase that
 * ends no earlier than the timer already armed only notes its start
 * (conn_arm); the timer, when it fires, re-arms itself for what is left of
 * the phase then in force.  And the header and write deadlines begin only
 * when the machine waits in their phase (conn_blocked): a request that
 * arrives whole and a response that leaves at once never wait.  So a
 * keep-alive request usually costs no timer operation at all.
 */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "body.h"
#include "http.h"
#include "io.h"
#include "server.h"
#include "stats.h"
#include "tls.h"

/* Room for a whole header block (8 KiB) plus pipelined requests; the
 * allocation has TB_HTTP_RESPONSE_MAX more for a response header or a
 * whole status response. */
#define READ_BUF_SIZE  16384
#define READ_BUF_ALLOC (READ_BUF_SIZE + TB_HTTP_RESPONSE_MAX)
/* Spare read buffers, and closed connections, a worker keeps for reuse
 * instead of freeing. */
#define SPARE_MAX 64
/* Steps one wakeup may take before yielding to other connections; a
 * client pipelining without pause would otherwise hold the loop. */
#define RUN_BUDGET 64
/* After an error response, read and drop at most this much before close,
 * so the close does not turn unread input into a reset that destroys the
 * response on its way to the client. */
#define LINGER_MAX_BYTES (1024 * 1024)
/* A timer that fires this close to its phase's end ends the phase: the
 * coarse clock conn.c reads lags the loop's by up to a tick. */
#define TIMER_SLACK_MS 10

enum conn_state {
	ST_HANDSHAKE,
	ST_READ_REQUEST,
	ST_DISCARD_BODY,
	ST_WRITE_RESPONSE,
	ST_CLOSING,
	ST_LINGER,
	ST_CONFIRM,
};

enum conn_timer {
	TM_HEADER,
	TM_IDLE,
	TM_WRITE,
	TM_LINGER,
};

/* The counter a connection ends in; the first decision wins. */
enum conn_fate {
	FATE_OPEN,
	FATE_COMPLETED,
	FATE_FAILED,
	FATE_TIMED_OUT,
};

/* Kept lean: an idle keep-alive connection holds only this (and the TLS
 * library's state); the read buffer goes back to the worker's spares
 * whenever it is empty and the connection waits for a request. */
struct tb_conn {
	struct event ev; /* the socket: one direction at a time */
	struct event timer;
	struct tb_worker *w;
	struct tb_tls_conn *tls;
	struct tb_io io; /* --io core: the socket's buffers */
	struct tb_conn *prev, *next;
	char *buf;	       /* read buffer, NULL while idle */
	const char *head;      /* response bytes before the streamed body */
	uint64_t body_off;     /* next body byte to write */
	uint64_t body_left;    /* body bytes still to write */
	uint64_t discard_left; /* linger bytes to drop */
	struct tb_http_body req_body; /* the request body being dropped */
	uint32_t size;		      /* what a 200 serves, until prepared */
	uint8_t conn_kind : 2;	      /* enum tb_http_connection of the reply */
	uint8_t head_only : 1;	      /* HEAD: no content in the response */
	uint8_t sync_lost : 1;	      /* the request stream is lost: close */
	uint8_t interim : 1; /* writing 100 Continue; the body comes next */
	uint32_t buf_len;
	uint32_t head_len;
	uint32_t since;	  /* ms: when the timer's phase began */
	uint32_t expires; /* ms: when the armed timer fires */
	int fd;
	uint16_t status;
	uint8_t state;
	uint8_t timer_kind;
	uint8_t fate;
	uint8_t close_after : 1; /* close once the response is written */
	uint8_t handshake_done : 1;
	uint8_t unconfirmed : 1; /* 0-RTT: the client's Finished not yet in */
	/* The core owns the TLS layer's life (tls.h): after TB_CLOSED or
	 * TB_ERROR no call but free, and tb_tls_shutdown at most once. */
	uint8_t tls_dead : 1;	/* TB_CLOSED or TB_ERROR seen: no more calls */
	uint8_t shut : 1;	/* tb_tls_shutdown already called */
	uint8_t write_wait : 1; /* tb_tls_write waits to be retried */
	uint8_t wrote : 1;	/* write progress since the timer was armed */
	uint8_t timer_on : 1;	/* the timer is pending, until expires */
	uint8_t io_write : 1;	/* ev watches EV_WRITE, else EV_READ */
};

static void conn_run(struct tb_conn *c);
static void conn_io_cb(evutil_socket_t fd, short what, void *arg);

/* Point ev at dir (EV_READ or EV_WRITE) alone and add it; ev must not be
 * pending.  0, or -1 when libevent cannot (the caller then drops the
 * connection, so ev watches io_write's direction while the connection
 * lives). */
static int
conn_watch_assign(struct tb_conn *c, short dir)
{
	/* --io core also asks to hear of the peer's FIN (EPOLLRDHUP): it can
	 * arrive with the last bytes, and a short read does not show it
	 * (core/io.h). */
	short closed = c->w->core_io && dir == EV_READ ? EV_CLOSED : 0;

	event_assign(&c->ev, c->w->base, c->fd,
		     dir | closed | EV_PERSIST | EV_ET, conn_io_cb, c);
	c->io_write = dir == EV_WRITE;
	return event_add(&c->ev, NULL);
}

/* Wait for dir: nothing to do while it is the direction watched already,
 * the common case (see the top of the file). */
static int
conn_watch(struct tb_conn *c, short dir)
{
	if (c->io_write == (dir == EV_WRITE))
		return 0;
	event_del(&c->ev);
	return conn_watch_assign(c, dir);
}

static char *
buf_get(struct tb_worker *w)
{
	return tb_pool_get(&w->read_bufs);
}

static void
buf_put(struct tb_worker *w, char *b)
{
	tb_pool_put(&w->read_bufs, b);
}

void
tb_conn_init_spares(struct tb_worker *w)
{
	w->read_bufs = (struct tb_pool){NULL, READ_BUF_ALLOC, 0, SPARE_MAX};
	tb_io_worker_init(&w->io, w->stats, SPARE_MAX);
	w->spare_conns = NULL;
	w->nspare_conns = 0;
}

void
tb_conn_free_spares(struct tb_worker *w)
{
	tb_pool_drain(&w->read_bufs);
	tb_io_worker_free(&w->io);
	while (w->spare_conns != NULL) {
		struct tb_conn *c = w->spare_conns;

		w->spare_conns = c->next;
		tb_tls_conn_free(c->tls);
		free(c);
	}
	w->nspare_conns = 0;
}

/* A connection object for fd, a kept one when there is one: its TLS
 * object too, when the library can reuse it (tls.h).  NULL when out of
 * memory. */
static struct tb_conn *
conn_get(struct tb_worker *w, int fd)
{
	struct tb_conn *c = w->spare_conns;
	struct tb_tls_conn *tls = NULL;
	struct tb_io *io;

	if (c != NULL) {
		w->spare_conns = c->next;
		w->nspare_conns--;
		tls = c->tls;
		memset(c, 0, sizeof(*c));
	} else {
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			return NULL;
	}
	io = w->core_io ? &c->io : NULL;
	if (io != NULL)
		tb_io_init(io, &w->io, fd);
	if (tls != NULL && tb_tls_conn_reuse(tls, fd, io) != 0) {
		tb_tls_conn_free(tls);
		tls = NULL;
	}
	c->tls = tls != NULL ? tls : tb_tls_conn_new(w->tls, fd, io);
	if (c->tls == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

static void
conn_put(struct tb_worker *w, struct tb_conn *c)
{
	if (w->nspare_conns >= SPARE_MAX) {
		tb_tls_conn_free(c->tls);
		free(c);
		return;
	}
	c->next = w->spare_conns;
	w->spare_conns = c;
	w->nspare_conns++;
}

/* Milliseconds of a monotonic clock that costs no system call. */
static uint32_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec * 1000u + (uint32_t)(ts.tv_nsec / 1000000);
}

static const struct tb_timeout *
conn_timeout(const struct tb_conn *c, enum conn_timer kind)
{
	switch (kind) {
	case TM_HEADER:
		return &c->w->header;
	case TM_IDLE:
		return &c->w->idle;
	case TM_WRITE:
		return &c->w->write;
	case TM_LINGER:
		break;
	}
	return &c->w->linger;
}

/* Enter a timed phase.  libevent is touched only when the phase ends
 * before the armed timer fires (or none is armed); otherwise the timer
 * fires early and conn_timer_cb re-arms it (see the top of the file). */
static void
conn_arm(struct tb_conn *c, enum conn_timer kind)
{
	const struct tb_timeout *t = conn_timeout(c, kind);
	uint32_t now = now_ms();

	c->timer_kind = (uint8_t)kind;
	c->wrote = 0;
	c->since = now;
	if (c->timer_on && (int32_t)(c->expires - (now + t->ms)) <= 0)
		return;
	c->timer_on = 1;
	c->expires = now + t->ms;
	evtimer_add(&c->timer, t->tv);
}

/* The machine waits: a phase whose deadline runs only while waiting
 * begins now if it has not yet (see the top of the file). */
static void
conn_blocked(struct tb_conn *c)
{
	switch ((enum conn_state)c->state) {
	case ST_READ_REQUEST:
		/* Part of a request is here: its header deadline runs. */
		if (c->buf_len > 0 && c->timer_kind == TM_IDLE)
			conn_arm(c, TM_HEADER);
		break;
	case ST_DISCARD_BODY:
		if (c->timer_kind == TM_IDLE)
			conn_arm(c, TM_HEADER);
		break;
	case ST_WRITE_RESPONSE:
	case ST_CLOSING:
		if (c->timer_kind != TM_WRITE || c->wrote)
			conn_arm(c, TM_WRITE);
		break;
	case ST_HANDSHAKE:
	case ST_LINGER:
	case ST_CONFIRM:
		break;
	}
}

static void
conn_set_fate(struct tb_conn *c, enum conn_fate fate)
{
	if (c->fate == FATE_OPEN)
		c->fate = (uint8_t)fate;
}

/* close_notify once, only on an established session the library has
 * not given up on and with no record half sent (tls.h); never waiting for
 * it to leave or for the peer's: a benchmark server does not linger on
 * clean closes. */
static void
conn_shutdown(struct tb_conn *c)
{
	if (!c->handshake_done || c->tls_dead || c->shut || c->write_wait)
		return;
	c->shut = 1;
	tb_tls_shutdown(c->tls);
}

static void
conn_free(struct tb_conn *c)
{
	struct tb_worker *w = c->w;
	struct tb_stats_slot *s = w->stats;

	event_del(&c->ev);
	event_del(&c->timer);
	conn_shutdown(c);
	if (c->w->core_io) {
		/* What the library wrote last (a close_notify, an alert) gets
		 * one try: a close does not wait for a slow reader.  Not the
		 * rest of a response still on its way: it counts only once
		 * sent, and is cut here as it would be on the socket. */
		if (c->state != ST_WRITE_RESPONSE && c->state != ST_CLOSING)
			tb_io_flush(&c->io);
		tb_io_release(&c->io);
	}
	close(c->fd);
	tb_count(&s->sys_close, 1);

	switch (c->fate) {
	case FATE_COMPLETED:
		tb_count(&s->conns_completed, 1);
		break;
	case FATE_TIMED_OUT:
		tb_count(&s->conns_timed_out, 1);
		break;
	default:
		tb_count(&s->conns_failed, 1);
		break;
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	tb_count_down(&s->conns_active);
	buf_put(w, c->buf);
	conn_put(w, c);
}

/* A TLS error on stderr, at most one line per second per worker with the
 * number left out since the last line: enough to diagnose a failing
 * configuration, and a flood of failures (an overload test) costs neither
 * the measured path nor the disk much.  The backend made no text when the
 * call failed; it is built here, for the lines that are printed. */
static void
conn_log_tls_error(struct tb_conn *c)
{
	static const char *const phase[] = {
		[ST_HANDSHAKE] = "handshake", [ST_READ_REQUEST] = "read",
		[ST_DISCARD_BODY] = "read",   [ST_WRITE_RESPONSE] = "write",
		[ST_CLOSING] = "write",	      [ST_LINGER] = "read",
		[ST_CONFIRM] = "handshake",
	};
	struct tb_worker *w = c->w;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (w->log_second != 0 && now.tv_sec == w->log_second) {
		w->log_suppressed++;
		return;
	}
	w->log_second = now.tv_sec;
	if (w->log_suppressed > 0)
		fprintf(stderr,
			"tlsbench-server[%d]: TLS error in %s: %s (and %lu "
			"more not shown)\n",
			(int)getpid(), phase[c->state],
			tb_tls_conn_error(c->tls), w->log_suppressed);
	else
		fprintf(stderr, "tlsbench-server[%d]: TLS error in %s: %s\n",
			(int)getpid(), phase[c->state],
			tb_tls_conn_error(c->tls));
	w->log_suppressed = 0;
}

/* A TLS call's failure during a request or response: the peer vanished
 * mid-exchange, or the library failed. */
static enum tb_status
conn_tls_failed(struct tb_conn *c, enum tb_status st)
{
	c->tls_dead = 1;
	if (st == TB_ERROR) {
		tb_count(&c->w->stats->tls_errors, 1);
		conn_log_tls_error(c);
	}
	conn_set_fate(c, FATE_FAILED);
	return st;
}

static void
conn_consume(struct tb_conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->buf_len - n);
	c->buf_len -= (uint32_t)n;
}

static void
count_status(struct tb_stats_slot *s, int status)
{
	switch (status) {
	case 200:
		tb_count(&s->status_200, 1);
		break;
	case 400:
		tb_count(&s->status_400, 1);
		break;
	case 404:
		tb_count(&s->status_404, 1);
		break;
	case 405:
		tb_count(&s->status_405, 1);
		break;
	case 408:
		tb_count(&s->status_408, 1);
		break;
	case 411:
		tb_count(&s->status_411, 1);
		break;
	case 413:
		tb_count(&s->status_413, 1);
		break;
	case 431:
		tb_count(&s->status_431, 1);
		break;
	case 505:
		tb_count(&s->status_505, 1);
		break;
	case 304:
		tb_count(&s->status_304, 1);
		break;
	case 412:
		tb_count(&s->status_412, 1);
		break;
	case 414:
		tb_count(&s->status_414, 1);
		break;
	case 417:
		tb_count(&s->status_417, 1);
		break;
	case 421:
		tb_count(&s->status_421, 1);
		break;
	case 501:
		tb_count(&s->status_501, 1);
		break;
	}
}

/* The wall-clock second for Date: the event loop's cached time, so no
 * system call per request. */
static int64_t
conn_now(const struct tb_conn *c)
{
	struct timeval tv;

	if (event_base_gettimeofday_cached(c->w->base, &tv) != 0)
		return (int64_t)time(NULL);
	return (int64_t)tv.tv_sec;
}

/* The final response, once the request and its body are read: the
 * prebuilt 20 KiB response, a 200 header (in the read buffer's tail)
 * followed by the body streamed from the shared buffer, or a whole status
 * text in the tail.  Built only now, so its Date is the time it leaves. */
static void
conn_prepare_response(struct tb_conn *c)
{
	enum tb_http_connection conn = (enum tb_http_connection)c->conn_kind;
	const char *date = tb_body_date(conn_now(c));
	char *tail = c->buf + READ_BUF_SIZE;
	size_t len, header_len;

	c->body_left = 0;
	if (c->status == 200 && c->size == TB_HTTP_DEFAULT_SIZE) {
		c->head = tb_body_default_response(conn, &len, &header_len);
	} else if (c->status == 200) {
		len = header_len =
			tb_http_response_header(tail, c->size, conn, date);
		c->head = tail;
		c->body_left = c->size;
	} else {
		len = tb_http_response(tail, c->status, conn, date,
				       &header_len);
		c->head = tail;
	}
	/* RFC 9110 9.3.2: no content in a response to HEAD, whatever its
	 * status. */
	if (c->head_only) {
		len = header_len;
		c->body_left = 0;
	}
	c->head_len = (uint32_t)len;
	c->body_off = 0;
	c->close_after = conn == TB_HTTP_CLOSE;
	c->state = ST_WRITE_RESPONSE;
}

/* A status that loses the request stream (malformed framing or syntax, a
 * limit, a timeout): its response, then close. */
static void
conn_respond_error(struct tb_conn *c, int status)
{
	c->status = (uint16_t)status;
	c->sync_lost = 1;
	c->conn_kind = TB_HTTP_CLOSE;
	conn_prepare_response(c);
}

/* Give the buffered bytes to the request body (what follows it stays in
 * the buffer for the next request) and, once it ends, prepare the
 * response.  0 while more of the body is to come. */
static int
conn_feed_body(struct tb_conn *c)
{
	size_t used = 0;
	enum tb_http_body_result r =
		tb_http_body_read(&c->req_body, c->buf, c->buf_len, &used);

	conn_consume(c, used);
	if (r == TB_HTTP_BODY_MORE)
		return 0;
	if (r == TB_HTTP_BODY_DONE)
		conn_prepare_response(c);
	else
		conn_respond_error(c, c->req_body.status);
	return 1;
}

/* A complete header block: its status is decided now, answered once the
 * body (if any) is read and dropped, so the connection stays in step with
 * the client whatever the status, and stays open unless asked to close. */
static enum tb_status
conn_start_request(struct tb_conn *c, const struct tb_http_request *req)
{
	uint64_t size = 0;
	int status = tb_http_status(req, tb_tls_url_scheme(), &size);
	int received;

	c->status = (uint16_t)status;
	c->size = (uint32_t)size;
	c->head_only = req->method == TB_HTTP_HEAD;
	c->conn_kind = req->conn;
	conn_consume(c, req->header_len);
	if (req->framing == TB_HTTP_NO_BODY) {
		conn_prepare_response(c);
		return TB_OK;
	}
	tb_http_body_start(&c->req_body, req);
	received = c->buf_len > 0;
	if (conn_feed_body(c))
		return TB_OK;
	/* RFC 9110 10.1.1: a client that expects 100-continue waits for it
	 * before sending the body.  A final status known already is sent at
	 * once, and since the body may then never come, the connection
	 * closes after it.  No 100 once some of the body is here. */
	if (req->expect_continue && status != 200) {
		c->conn_kind = TB_HTTP_CLOSE;
		conn_prepare_response(c);
		return TB_OK;
	}
	if (req->expect_continue && !received) {
		c->interim = 1;
		c->head = TB_HTTP_CONTINUE;
		c->head_len = (uint32_t)(sizeof(TB_HTTP_CONTINUE) - 1);
		c->body_left = 0;
		c->state = ST_WRITE_RESPONSE;
		return TB_OK;
	}
	/* The header deadline keeps running: the whole request must arrive
	 * within --header-timeout. */
	c->state = ST_DISCARD_BODY;
	return TB_OK;
}

static enum tb_status
conn_handshake(struct tb_conn *c)
{
	struct tb_stats_slot *s = c->w->stats;
	enum tb_status st = tb_tls_handshake(c->tls);
	struct tb_tls_params p;

	switch (st) {
	case TB_OK:
		c->handshake_done = 1;
		/* Numbers only: names are made when a stats line is. */
		tb_tls_conn_params(c->tls, &p);
		tb_count_handshake(s, &p);
		c->unconfirmed = p.early_data == TB_EARLY_ACCEPTED;
		c->state = ST_READ_REQUEST;
		return TB_OK;
	case TB_WANT_READ:
	case TB_WANT_WRITE:
		return st;
	case TB_CLOSED:
	case TB_ERROR:
		break;
	}
	tb_count(&s->handshakes_failed, 1);
	return conn_tls_failed(c, st);
}

static enum tb_status
conn_read_request(struct tb_conn *c)
{
	struct tb_http_request req;
	enum tb_status st;
	size_t n;

	if (c->buf == NULL) {
		c->buf = buf_get(c->w);
		if (c->buf == NULL) {
			conn_set_fate(c, FATE_FAILED);
			return TB_ERROR;
		}
	}
	for (;;) {
		if (c->buf_len > 0) {
			switch (tb_http_parse(c->buf, c->buf_len, &req)) {
			case TB_HTTP_REQUEST:
				return conn_start_request(c, &req);
			case TB_HTTP_ERROR:
				c->head_only = req.method == TB_HTTP_HEAD;
				conn_respond_error(c, req.status);
				return TB_OK;
			case TB_HTTP_NEED_MORE:
				break;
			}
			/* Unreachable while the buffer exceeds the header
			 * limit; a guard, not a path. */
			if (c->buf_len == READ_BUF_SIZE) {
				conn_respond_error(c, 431);
				return TB_OK;
			}
		}
		st = tb_tls_read(c->tls, c->buf + c->buf_len,
				 READ_BUF_SIZE - c->buf_len, &n);
		if (st == TB_OK && n > 0) {
			c->buf_len += (uint32_t)n;
			continue;
		}
		if (st == TB_OK || st == TB_WANT_READ || st == TB_WANT_WRITE) {
			if (c->buf_len == 0) {
				buf_put(c->w, c->buf);
				c->buf = NULL;
			}
			/* TB_OK with 0 bytes breaks the contract; waiting
			 * (bounded by the timer) is safer than spinning. */
			return st == TB_OK ? TB_WANT_READ : st;
		}
		/* A clean close between requests is the normal end of a
		 * keep-alive connection; inside a request it is not. */
		if (st == TB_CLOSED && c->buf_len == 0) {
			c->tls_dead = 1;
			conn_set_fate(c, FATE_COMPLETED);
			return st;
		}
		return conn_tls_failed(c, st);
	}
}

static enum tb_status
conn_discard_body(struct tb_conn *c)
{
	enum tb_status st;
	size_t n;

	for (;;) {
		st = tb_tls_read(c->tls, c->buf, READ_BUF_SIZE, &n);
		if (st == TB_OK && n == 0)
			return TB_WANT_READ;
		if (st != TB_OK) {
			if (st == TB_WANT_READ || st == TB_WANT_WRITE)
				return st;
			return conn_tls_failed(c, st);
		}
		c->buf_len = (uint32_t)n;
		if (conn_feed_body(c))
			return TB_OK;
	}
}

/* --io core: what the library wrote has not all left yet.  A response
 * counts once it has, as under --io native, where the last write call
 * returning means the kernel has it. */
static int
conn_unsent(const struct tb_conn *c)
{
	return c->w->core_io && tb_io_pending(&c->io);
}

static void
conn_count_response(struct tb_conn *c)
{
	struct tb_stats_slot *s = c->w->stats;

	tb_count(&s->requests, 1);
	count_status(s, c->status);
}

/* The response is written: keep the connection, or end it. */
static enum tb_status
conn_response_done(struct tb_conn *c)
{
	c->head_only = 0;
	/* A response that closes leaves with its close_notify (CLOSING),
	 * unless a 0-RTT handshake must finish first (CONFIRM). */
	if (c->close_after && !(c->status == 200 && c->unconfirmed)) {
		c->state = ST_CLOSING;
		return TB_OK;
	}
	if (conn_unsent(c))
		return TB_WANT_WRITE; /* flush, then come back */
	conn_count_response(c);
	if (c->close_after) {
		/* 0-RTT: the library finishes the handshake first (tls.h),
		 * bounded by the linger timer; the exchange is complete. */
		conn_set_fate(c, FATE_COMPLETED);
		c->state = ST_CONFIRM;
		conn_arm(c, TM_LINGER);
		return TB_OK;
	}
	/* Pipelined bytes start a header deadline only if the request they
	 * begin has to wait (conn_blocked). */
	c->state = ST_READ_REQUEST;
	conn_arm(c, TM_IDLE);
	return TB_OK;
}

/* The last response is written: the close_notify follows it (under --io
 * core in the same send), then the close, or after an error status a
 * linger. */
static enum tb_status
conn_closing(struct tb_conn *c)
{
	struct tb_stats_slot *s = c->w->stats;

	/* Under --io core the close_notify must find room in the output
	 * (tb_tls_shutdown never waits): flush a full one first. */
	if (!c->shut && c->w->core_io && tb_io_room(&c->io) < TB_IO_ALERT_ROOM)
		return TB_WANT_WRITE;
	conn_shutdown(c);
	if (conn_unsent(c))
		return TB_WANT_WRITE;
	conn_count_response(c);
	if (c->status == 200) {
		conn_set_fate(c, FATE_COMPLETED);
		return TB_CLOSED;
	}
	/* A request answered in step (404, 405, ...) that asked to close is
	 * a completed exchange; only a lost stream is a failure. */
	conn_set_fate(c, c->sync_lost ? FATE_FAILED : FATE_COMPLETED);
	/* Half-close and drain what the client still sends (see
	 * LINGER_MAX_BYTES); the TLS layer is done, so read the raw fd. */
	shutdown(c->fd, SHUT_WR);
	tb_count(&s->sys_other, 1);
	if (c->buf == NULL)
		c->buf = buf_get(c->w);
	if (c->buf == NULL)
		return TB_CLOSED;
	c->buf_len = 0;
	c->discard_left = LINGER_MAX_BYTES;
	c->state = ST_LINGER;
	conn_arm(c, TM_LINGER);
	return TB_OK;
}

/* A write that stopped inside a prebuilt response's header: send the rest
 * of the header from a copy in the tail and the body from the shared
 * buffer, since tb_body_date may rewrite the Date before the socket drains
 * (the body bytes never change). */
static void
conn_unshare_head(struct tb_conn *c)
{
	size_t n = tb_body_unshare(c->head, c->buf + READ_BUF_SIZE);

	if (n == 0)
		return;
	c->body_left = c->head_len - n;
	c->body_off = 0;
	c->head = c->buf + READ_BUF_SIZE;
	c->head_len = (uint32_t)n;
}

static enum tb_status
conn_write_response(struct tb_conn *c)
{
	struct tb_stats_slot *s = c->w->stats;
	enum tb_status st;
	const char *p;
	size_t len, n;

	for (;;) {
		if (c->head_len > 0) {
			p = c->head;
			len = c->head_len;
		} else if (c->body_left > 0) {
			size_t max = c->body_left < TB_BODY_CHUNK
					     ? (size_t)c->body_left
					     : TB_BODY_CHUNK;

			p = tb_body_at(c->body_off, max, &len);
		} else if (c->interim) {
			/* 100 Continue is out: now the body. */
			c->interim = 0;
			c->state = ST_DISCARD_BODY;
			if (c->timer_kind != TM_HEADER)
				conn_arm(c, TM_HEADER);
			return TB_OK;
		} else {
			return conn_response_done(c);
		}
		st = tb_tls_write(c->tls, p, len, &n);
		c->write_wait = st == TB_WANT_READ || st == TB_WANT_WRITE;
		if (st != TB_OK) {
			if (c->write_wait)
				return st;
			return conn_tls_failed(c, st);
		}
		tb_count(&s->bytes_sent, n);
		c->wrote = 1;
		if (c->head_len > 0) {
			c->head += n;
			c->head_len -= (uint32_t)n;
			if (c->head_len > 0)
				conn_unshare_head(c);
		} else {
			c->body_off += n;
			c->body_left -= n;
		}
	}
}

static enum tb_status
conn_linger(struct tb_conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf, READ_BUF_SIZE, 0);

		tb_count(&c->w->stats->sys_read, 1);
		if (n > 0) {
			if ((uint64_t)n >= c->discard_left)
				return TB_CLOSED;
			c->discard_left -= (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return TB_WANT_READ;
		return TB_CLOSED;
	}
}

/* A 0-RTT connection about to close: let the library finish the handshake
 * first (tls.h), bounded by the linger timer.  The exchange is complete
 * already, whatever happens here. */
static enum tb_status
conn_confirm(struct tb_conn *c)
{
	enum tb_status st = tb_tls_handshake(c->tls);

	if (st == TB_OK) {
		c->unconfirmed = 0;
		return TB_CLOSED;
	}
	if (st == TB_WANT_READ || st == TB_WANT_WRITE)
		return st;
	return conn_tls_failed(c, st);
}

static enum tb_status
conn_step(struct tb_conn *c)
{
	switch ((enum conn_state)c->state) {
	case ST_HANDSHAKE:
		return conn_handshake(c);
	case ST_READ_REQUEST:
		return conn_read_request(c);
	case ST_DISCARD_BODY:
		return conn_discard_body(c);
	case ST_WRITE_RESPONSE:
		return conn_write_response(c);
	case ST_CLOSING:
		return conn_closing(c);
	case ST_LINGER:
		return conn_linger(c);
	case ST_CONFIRM:
		return conn_confirm(c);
	}
	return TB_ERROR;
}

static void
conn_run(struct tb_conn *c)
{
	int budget = RUN_BUDGET;

	for (;;) {
		enum tb_status st = conn_step(c);

		/* --io core: the core moves the bytes the library waits for,
		 * and the machine waits only when the socket has to.  (LINGER
		 * reads the raw socket itself.) */
		if ((st == TB_WANT_READ || st == TB_WANT_WRITE) &&
		    c->w->core_io && c->state != ST_LINGER)
			st = tb_io_advance(&c->io, st);
		switch (st) {
		case TB_OK:
			if (--budget == 0) {
				/* Nothing blocked, so no edge will come:
				 * schedule ourselves after the others (with
				 * no direction: the socket's state is as it
				 * was). */
				event_active(&c->ev, 0, 0);
				return;
			}
			continue;
		case TB_WANT_READ:
		case TB_WANT_WRITE:
			conn_blocked(c);
			if (conn_watch(c, st == TB_WANT_WRITE ? EV_WRITE
							      : EV_READ) == 0)
				return;
			conn_set_fate(c, FATE_FAILED);
			break;
		case TB_CLOSED:
		case TB_ERROR:
			break;
		}
		conn_free(c);
		return;
	}
}

static void
conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tb_conn *c = arg;

	(void)fd;
	tb_count(&c->w->stats->wakeups, 1);
	if ((what & (EV_READ | EV_CLOSED)) && c->w->core_io)
		tb_io_readable(&c->io, (what & EV_CLOSED) != 0);
	conn_run(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tb_conn *c = arg;
	struct tb_stats_slot *s = c->w->stats;
	uint32_t end = c->since + conn_timeout(c, c->timer_kind)->ms;
	uint32_t now = now_ms();

	(void)fd;
	(void)what;
	c->timer_on = 0;
	/* Armed for an earlier phase: wait out the rest of this one. */
	if ((int32_t)(end - now) > TIMER_SLACK_MS) {
		struct timeval tv = {(time_t)((end - now) / 1000),
				     (suseconds_t)((end - now) % 1000 * 1000)};

		c->timer_on = 1;
		c->expires = end;
		evtimer_add(&c->timer, &tv);
		return;
	}
	switch ((enum conn_timer)c->timer_kind) {
	case TM_HEADER:
		tb_count(&s->timeouts_header, 1);
		conn_set_fate(c, FATE_TIMED_OUT);
		/* A request was started: tell the client with a 408. */
		if (c->handshake_done && !c->tls_dead &&
		    ((c->state == ST_READ_REQUEST && c->buf_len > 0) ||
		     c->state == ST_DISCARD_BODY)) {
			conn_respond_error(c, 408);
			conn_run(c);
			return;
		}
		break;
	case TM_IDLE:
		tb_count(&s->timeouts_idle, 1);
		conn_set_fate(c, FATE_TIMED_OUT);
		break;
	case TM_WRITE:
		tb_count(&s->timeouts_write, 1);
		conn_set_fate(c, FATE_TIMED_OUT);
		break;
	case TM_LINGER:
		break;
	}
	conn_free(c);
}

void
tb_conn_start(struct tb_worker *w, int fd)
{
	struct tb_conn *c = conn_get(w, fd);

	tb_count(&w->stats->conns_accepted, 1);
	if (c == NULL) {
		close(fd);
		tb_count(&w->stats->sys_close, 1);
		tb_count(&w->stats->conns_failed, 1);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->state = ST_HANDSHAKE;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	tb_count(&w->stats->conns_active, 1);
	evtimer_assign(&c->timer, w->base, conn_timer_cb, c);
	conn_arm(c, TM_HEADER);
	/* The server speaks second: wait for the ClientHello (or request).
	 * Adding an edge-triggered event reports the current readiness, so one
	 * already queued wakes us without a wasted read now.  Under
	 * TCP_DEFER_ACCEPT it has arrived (unless the wait timed out): start
	 * at once and save the loop a turn. */
	if (conn_watch_assign(c, EV_READ) != 0) {
		conn_set_fate(c, FATE_FAILED);
		conn_free(c);
		return;
	}
	if (w->defer_accept)
		conn_run(c);
}

void
tb_conn_close_all(struct tb_worker *w)
{
	while (w->conns != NULL) {
		struct tb_conn *c = w->conns;

		/* Stopping between requests ends a connection normally. */
		if (c->state == ST_READ_REQUEST && c->buf_len == 0)
			conn_set_fate(c, FATE_COMPLETED);
		conn_set_fate(c, FATE_FAILED);
		conn_free(c);
	}
}
