/* client.c: one thread's event loop and its connections.
 *
 * Each connection slot is a small state machine on a raw non-blocking fd:
 * connect, TLS handshake (SSL_* called directly on the fd: clear the error
 * queue, call, map the result; with --early-data the request goes out
 * before the handshake finishes), write the request, read the response.
 * The slot re-arms itself from the closed-loop rule or the open-loop
 * schedule while the run's phase (window.c) lets requests start; else it
 * parks, its kept-alive connection open and idle.  Every request is
 * counted in the phase it started in.  Nothing is allocated per request;
 * per connection only what OpenSSL allocates in SSL_new and the handshake.
 */
#define _GNU_SOURCE /* memmem, RUSAGE_THREAD, pthread_setaffinity_np */
#include "load.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#define BUF_SIZE    16384
#define LATE_NS	    1000000	 /* a scheduled start this late is late */
#define UNREACH_NS  2000000000LL /* every slot failing this long: give up */
#define TICK_US	    100000	 /* how often a thread looks at the stop flag */
#define BACKOFF_MIN 10		 /* ms after the first failed connect */
#define BACKOFF_MAX 1000

enum slot_state {
	S_FREE,	      /* between requests; fd may hold a kept-alive conn */
	S_CONNECTING, /* waiting for the TCP connect */
	S_EARLY,      /* writing the request as early data */
	S_HANDSHAKE,
	S_WRITING,
	S_READING, /* status line, headers, body */
	S_TICKET,  /* response complete, waiting for the TLS 1.3 ticket */
	S_BACKOFF, /* after a failed connect, before the next request */
	S_RETIRED, /* the thread is finishing */
};

/* What an I/O call came to, TLS or not. */
enum io_status {
	IO_OK,
	IO_WANT_READ,
	IO_WANT_WRITE,
	IO_EOF,
	IO_RESET,
	IO_ERROR,
};

struct worker;

struct slot {
	struct worker *w;
	enum slot_state state;
	int fd;
	SSL *ssl;
	SSL_SESSION *session; /* the last one this slot got, offered next */
	struct event io;
	struct event timer;  /* request timeout, or the connect backoff */
	short io_what;	     /* what io is registered for; 0: not added */
	enum tl_phase phase; /* the one the request started in */
	bool on_free_list;
	int64_t start_ns; /* latency origin (the scheduled start when -R) */
	int64_t conn_ns;  /* TCP connect began */
	int64_t hs_ns;	  /* TLS handshake began */
	int64_t sent_ns;  /* request written */
	int64_t resp_ns;  /* response complete (S_TICKET) */
	size_t written;
	/* this connection's handshake */
	bool early;   /* the request went out as early data */
	bool wire_on; /* wire.c is counting on ssl */
	int hs_kind;  /* enum tl_hs_kind counted in the window, or -1 */
	struct tl_wire wire;
	/* the warm-up */
	uint64_t warm_ok; /* requests completed */
	bool resumed_once;
	bool warm;
	/* response */
	bool got_byte;
	bool in_body;
	bool server_close;
	int status;
	size_t have;	   /* header bytes in buf */
	int64_t clen;	   /* Content-Length; -1 when absent */
	int64_t body_left; /* body bytes still to come */
	int64_t body_len;  /* body bytes read */
	bool overflow;	   /* bytes past the response: no pipelining here */
	uint64_t resp_bytes;
	EVP_MD_CTX *sha; /* only with --expect-sha256 */
	/* connect failures */
	unsigned backoff_ms;
	int64_t fail_since;
	char buf[BUF_SIZE];
};

struct worker {
	struct tl_thread *t;
	struct tl_run *run;
	const struct tl_options *opt;
	struct event_base *base;
	SSL_CTX *ctx;
	EVP_MD *sha256;
	struct slot *slots;
	int nslots;
	int active;  /* slots not retired */
	int failing; /* slots whose last connect failed */
	int64_t last_fail_start;
	bool ever_connected;
	int inflight;
	bool done; /* finishing: no request starts, nothing is counted */
	enum tl_phase phase; /* the run's, as this thread last saw it */
	bool reported;	     /* told the main thread this phase's news */
	bool window_ended;   /* -d: the window's end time passed */
	bool window_began;
	bool need_resume; /* the warm-up waits for a resumption per slot */
	int cold;	  /* slots short of the warm-up's conditions */
	const struct timeval *req_timeout; /* a libevent common timeout */
	struct event tick, hard_timer, window_timer, sched_timer, wake;
	struct rusage ru_start, ru_end;
	/* open loop: request k is due at t0 + k * interval */
	int64_t t0, interval;
	uint64_t due, issued, limit; /* limit: one past the last k */
	/* free slots, first in first out, so every slot takes its turn */
	struct slot **free_ring;
	int free_head, nfree;
};

int64_t
tl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timeval
tv_of_ns(int64_t ns)
{
	struct timeval tv;

	if (ns < 0)
		ns = 0;
	tv.tv_sec = (time_t)(ns / 1000000000);
	tv.tv_usec = (suseconds_t)(ns % 1000000000 / 1000);
	return tv;
}

static void slot_next(struct slot *s);
static void slot_io_cb(evutil_socket_t fd, short what, void *arg);
static void read_response(struct slot *s);

/* ---- counting ------------------------------------------------------- */

static void
note_error(struct worker *w, enum tl_error kind, const char *detail)
{
	char *d = w->t->stats.error_detail[kind];

	if (d[0] == '\0' && detail)
		snprintf(d, sizeof(w->t->stats.error_detail[kind]), "%s",
			 detail);
}

/* ---- connection plumbing -------------------------------------------- */

static void
slot_wait(struct slot *s, short what)
{
	if (s->io_what == what)
		return;
	if (s->io_what)
		event_del(&s->io);
	event_assign(&s->io, s->w->base, s->fd, what | EV_PERSIST, slot_io_cb,
		     s);
	event_add(&s->io, NULL);
	s->io_what = what;
}

/* A WANT_READ or WANT_WRITE: wait for it, and say so. */
static bool
io_wait(struct slot *s, enum io_status st)
{
	if (st == IO_WANT_READ)
		slot_wait(s, EV_READ);
	else if (st == IO_WANT_WRITE)
		slot_wait(s, EV_WRITE);
	else
		return false;
	return true;
}

static void
conn_close(struct slot *s, bool clean)
{
	if (s->io_what) {
		event_del(&s->io);
		s->io_what = 0;
	}
	if (s->ssl) {
		/* One close_notify, no waiting for the peer's: a bounded,
		 * one-sided shutdown. */
		if (clean) {
			ERR_clear_error();
			SSL_shutdown(s->ssl);
		}
		SSL_free(s->ssl);
		s->ssl = NULL;
		s->wire_on = false;
	}
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	ERR_clear_error();
}

static enum io_status
errno_status(int err, short dir)
{
	switch (err) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
		return dir == EV_READ ? IO_WANT_READ : IO_WANT_WRITE;
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED:
		return IO_RESET;
	default:
		return IO_ERROR;
	}
}

/* The one place an OpenSSL result becomes our status. */
static enum io_status
ssl_status(SSL *ssl, int rc, int saved_errno)
{
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return IO_EOF;
	case SSL_ERROR_SYSCALL:
		if (saved_errno == 0)
			return IO_EOF;
		return errno_status(saved_errno, EV_READ) == IO_RESET
			       ? IO_RESET
			       : IO_ERROR;
	default:
		return IO_ERROR;
	}
}

static enum io_status
conn_read(struct slot *s, char *buf, size_t len, size_t *n)
{
	if (s->ssl) {
		ERR_clear_error();
		errno = 0;
		int rc = SSL_read_ex(s->ssl, buf, len, n);
		return rc == 1 ? IO_OK : ssl_status(s->ssl, rc, errno);
	}
	ssize_t r = read(s->fd, buf, len);
	if (r > 0) {
		*n = (size_t)r;
		return IO_OK;
	}
	return r == 0 ? IO_EOF : errno_status(errno, EV_READ);
}

static enum io_status
conn_write(struct slot *s, const char *buf, size_t len, size_t *n)
{
	if (s->ssl) {
		ERR_clear_error();
		errno = 0;
		int rc = SSL_write_ex(s->ssl, buf, len, n);
		return rc == 1 ? IO_OK : ssl_status(s->ssl, rc, errno);
	}
	ssize_t r = send(s->fd, buf, len, MSG_NOSIGNAL);
	if (r >= 0) {
		*n = (size_t)r;
		return IO_OK;
	}
	return errno_status(errno, EV_WRITE);
}

/* ---- phases ---------------------------------------------------------- */

/* Whether the phase lets this thread start another request. */
static bool
window_over(const struct worker *w)
{
	if (w->opt->rate > 0)
		return w->issued >= w->limit;
	if (w->t->quota)
		return w->t->stats.started >= w->t->quota;
	return w->window_ended || tl_now_ns() >= w->run->end_ns;
}

static bool
may_start(const struct worker *w)
{
	if (w->done)
		return false;
	return w->phase == TL_PHASE_WARMUP ||
	       (w->phase == TL_PHASE_WINDOW && !window_over(w));
}

/* How far the slots got in the warm-up, once, when it ends. */
static void
warmup_summary(struct worker *w)
{
	struct tl_stats *st = &w->t->stats;

	for (int i = 0; i < w->nslots; i++) {
		const struct slot *s = &w->slots[i];
		if (s->warm_ok < w->opt->warmup_per_slot)
			st->slots_cold++;
		if (w->need_resume && !s->resumed_once)
			st->slots_never_resumed++;
	}
}

static void
window_close(struct worker *w, int64_t now)
{
	w->t->end_ns = now;
	getrusage(RUSAGE_THREAD, &w->ru_end);
}

/* Tells the main thread what this thread reached, once per phase: the
 * quiesce is over when nothing is in flight, the window when it allows no
 * more starts and nothing is in flight. */
static void
progress(struct worker *w)
{
	if (w->done || w->reported || w->inflight)
		return;
	if (w->phase == TL_PHASE_QUIESCE) {
		w->reported = true;
		tl_window_report(w->run, TL_REPORT_IDLE);
	} else if (w->phase == TL_PHASE_WINDOW && window_over(w)) {
		w->reported = true;
		window_close(w, tl_now_ns());
		tl_window_report(w->run, TL_REPORT_DONE);
	}
}

/* A slot that met the warm-up's conditions; the last one makes the
 * thread warm. */
static void
warm_check(struct slot *s)
{
	struct worker *w = s->w;

	if (s->warm || s->warm_ok < w->opt->warmup_per_slot ||
	    (w->need_resume && !s->resumed_once))
		return;
	s->warm = true;
	if (--w->cold == 0)
		tl_window_report(w->run, TL_REPORT_WARM);
}

/* ---- request lifecycle ---------------------------------------------- */

/* Ends the thread's load: the slots still open close (a kept-alive idle
 * connection with a close_notify), window requests still in flight are
 * counted as abandoned. */
static void
worker_finish(struct worker *w, int64_t now)
{
	if (w->done)
		return;
	w->done = true;
	if (w->phase == TL_PHASE_WARMUP)
		warmup_summary(w);
	if (w->phase == TL_PHASE_WINDOW && !w->reported)
		window_close(w, now);
	for (int i = 0; i < w->nslots; i++) {
		struct slot *s = &w->slots[i];
		if (s->state >= S_CONNECTING && s->state <= S_TICKET &&
		    s->phase == TL_PHASE_WINDOW)
			w->t->stats.abandoned++;
		if (s->state == S_FREE && s->fd >= 0)
			conn_close(s, true);
	}
	event_base_loopbreak(w->base);
}

/* Every slot failing to connect means the server is gone: at once when it
 * was never reached, else after UNREACH_NS without a single success. */
static void
check_unreachable(struct worker *w, int64_t now, const char *detail)
{
	char reason[256];

	if (w->failing == 0 || w->failing < w->active || w->done)
		return;
	if (w->ever_connected && now - w->last_fail_start <= UNREACH_NS)
		return;
	snprintf(reason, sizeof(reason), "server unreachable (%s)",
		 detail ? detail : "connect failed");
	tl_stop(w->run, reason);
	worker_finish(w, now);
}

static void
retire(struct slot *s)
{
	if (s->state == S_RETIRED)
		return;
	event_del(&s->timer);
	conn_close(s, true);
	s->state = S_RETIRED;
	s->w->active--;
}

/* The tickets of this connection came before its first response: their
 * count joins its handshake's, and the counting stops. */
static void
wire_finish(struct slot *s)
{
	if (!s->wire_on)
		return;
	if (s->hs_kind >= 0) {
		struct tl_wire_sum *sum = &s->w->t->stats.wire[s->hs_kind];
		sum->ticket_bytes += s->wire.ticket_bytes;
		sum->ticket_records += s->wire.ticket_records;
	}
	tl_wire_stop(s->ssl);
	s->wire_on = false;
	s->hs_kind = -1;
}

/* A failed warm-up request ends the run: a window measured on a setup
 * that fails is no measurement. */
static void
warmup_failed(struct worker *w, enum tl_error err, const char *detail)
{
	char reason[256];

	w->t->stats.warmup_failed++;
	snprintf(reason, sizeof(reason), "a warm-up request failed: %s (%s)",
		 tl_error_names[err], detail ? detail : "-");
	tl_stop(w->run, reason);
}

/* Every request ends here, exactly once: err < 0 is a success. */
static void
request_end(struct slot *s, int err, const char *detail)
{
	struct worker *w = s->w;
	struct tl_stats *st = &w->t->stats;
	int64_t now = tl_now_ns();
	int64_t done = s->state == S_TICKET ? s->resp_ns : now;
	bool keep = err < 0 && !w->opt->close && !s->server_close;

	event_del(&s->timer);
	w->inflight--;
	if (s->phase == TL_PHASE_WINDOW && !w->done) {
		if (s->status >= 100 && s->status < 600)
			st->status[s->status]++;
		st->bytes_response += s->resp_bytes;
		if (err < 0) {
			st->ok++;
			st->bytes_body += (uint64_t)s->body_len;
			tl_hist_record(&st->latency,
				       (uint64_t)(done - s->start_ns));
			if (st->doc_length == -1)
				st->doc_length = s->body_len;
			else if (st->doc_length != s->body_len)
				st->doc_length = -2;
		} else {
			st->failed++;
			st->errors[err]++;
			note_error(w, (enum tl_error)err, detail);
		}
	} else if (s->phase == TL_PHASE_WARMUP && !w->done) {
		if (err < 0) {
			st->warmup_ok++;
			s->warm_ok++;
			warm_check(s);
		} else {
			warmup_failed(w, (enum tl_error)err, detail);
		}
	}
	wire_finish(s);
	if (!keep)
		conn_close(s, err < 0 || err == TL_ERR_STATUS ||
				      err == TL_ERR_BODY_MISMATCH);
	if (err == TL_ERR_CONNECT) {
		if (s->fail_since == 0) {
			s->fail_since = now;
			w->failing++;
			w->last_fail_start = now;
		}
		s->state = S_BACKOFF;
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN;
		if (s->backoff_ms > BACKOFF_MAX)
			s->backoff_ms = BACKOFF_MAX;
		struct timeval tv = tv_of_ns((int64_t)s->backoff_ms * 1000000);
		event_add(&s->timer, &tv);
		check_unreachable(w, now, detail);
	} else {
		s->state = S_FREE;
		slot_next(s);
	}
	progress(w);
}

static void
connect_failed(struct slot *s, int err)
{
	char detail[128];

	if (err == EADDRNOTAVAIL)
		snprintf(detail, sizeof(detail),
			 "connect: no free local port (EADDRNOTAVAIL: "
			 "TIME_WAIT exhaustion, see --help)");
	else
		snprintf(detail, sizeof(detail), "connect: %s", strerror(err));
	request_end(s, TL_ERR_CONNECT, detail);
}

/* The request is out: wait for the response. */
static void
await_response(struct slot *s)
{
	s->sent_ns = tl_now_ns();
	s->state = S_READING;
	slot_wait(s, EV_READ);
	/* Read ahead may hold bytes epoll will not announce again. */
	if (s->ssl && SSL_has_pending(s->ssl))
		read_response(s);
}

static void
send_request(struct slot *s)
{
	const struct tl_run *run = s->w->run;
	size_t n;

	s->state = S_WRITING;
	while (s->written < run->request_len) {
		n = 0;
		switch (conn_write(s, run->request + s->written,
				   run->request_len - s->written, &n)) {
		case IO_OK:
			s->written += n;
			break;
		case IO_WANT_WRITE:
			slot_wait(s, EV_WRITE);
			return;
		case IO_WANT_READ:
			slot_wait(s, EV_READ);
			return;
		case IO_EOF:
		case IO_RESET:
			request_end(s, TL_ERR_RESET,
				    "connection closed by the server while "
				    "sending the request");
			return;
		default:
			request_end(s, TL_ERR_OTHER, "write failed");
			return;
		}
	}
	await_response(s);
}

static void
handshake_failed(struct slot *s, enum io_status st, const char *what)
{
	char detail[160];

	if (st == IO_EOF || st == IO_RESET) {
		snprintf(detail, sizeof(detail),
			 "%s: connection closed by the server", what);
	} else {
		unsigned long e = ERR_peek_last_error();
		const char *why = e ? ERR_reason_error_string(e) : NULL;
		snprintf(detail, sizeof(detail), "%s: %s", what,
			 why ? why : "failed");
	}
	request_end(s, TL_ERR_HANDSHAKE, detail);
}

/* What a finished handshake counts: kind, time, bytes on the wire, the
 * PSK mode of a TLS 1.3 resumption, the fate of early data. */
static void
handshake_counted(struct slot *s, bool reused)
{
	struct worker *w = s->w;
	struct tl_stats *st = &w->t->stats;
	enum tl_hs_kind kind = reused ? TL_HS_RESUMED : TL_HS_FULL;
	bool counted = s->phase == TL_PHASE_WINDOW && !w->done;

	tl_wire_handshake_done(s->ssl, s->fd, &s->wire,
			       counted ? &st->wire[kind] : NULL);
	s->hs_kind = counted ? (int)kind : -1;
	if (reused)
		s->resumed_once = true;
	if (s->phase == TL_PHASE_WARMUP && !w->done) {
		if (reused)
			st->warmup_resumed++;
		else
			st->warmup_full++;
	}
	if (!counted)
		return;
	tl_hist_record(&st->handshake, (uint64_t)(tl_now_ns() - s->hs_ns));
	if (reused)
		st->hs_resumed++;
	else
		st->hs_full++;
	/* No key share in the ServerHello of a resumption: psk_ke. */
	if (reused && SSL_version(s->ssl) == TLS1_3_VERSION) {
		if (s->wire.server_key_share)
			st->resumed_psk_dhe_ke++;
		else
			st->resumed_psk_ke++;
	}
	if (s->early) {
		if (SSL_get_early_data_status(s->ssl) ==
		    SSL_EARLY_DATA_ACCEPTED)
			st->early_accepted++;
		else
			st->early_rejected++;
	}
}

static void
handshake_step(struct slot *s)
{
	struct tl_stats *st = &s->w->t->stats;
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_do_handshake(s->ssl);
	if (rc != 1) {
		enum io_status io = ssl_status(s->ssl, rc, errno);
		if (!io_wait(s, io))
			handshake_failed(s, io, "handshake");
		return;
	}
	bool reused = SSL_session_reused(s->ssl);
	handshake_counted(s, reused);
	if (st->version[0] == '\0' || (st->sigalg[0] == '\0' && !reused))
		tl_tls_negotiated(s->ssl, st);
	if (s->early &&
	    SSL_get_early_data_status(s->ssl) == SSL_EARLY_DATA_ACCEPTED) {
		await_response(s);
		return;
	}
	/* Rejected early data is lost: TLS wants it sent again. */
	s->written = 0;
	send_request(s);
}

/* --early-data: the request goes out with the ClientHello; the handshake
 * then finishes as usual. */
static void
early_step(struct slot *s)
{
	const struct tl_run *run = s->w->run;

	while (s->written < run->request_len) {
		size_t n = 0;
		ERR_clear_error();
		errno = 0;
		int rc =
			SSL_write_early_data(s->ssl, run->request + s->written,
					     run->request_len - s->written, &n);
		if (rc == 1) {
			s->written += n;
			continue;
		}
		enum io_status io = ssl_status(s->ssl, rc, errno);
		if (!io_wait(s, io))
			handshake_failed(s, io, "early data");
		return;
	}
	s->state = S_HANDSHAKE;
	handshake_step(s);
}

static void
conn_ready(struct slot *s)
{
	struct worker *w = s->w;
	int64_t now = tl_now_ns();

	if (s->phase == TL_PHASE_WINDOW && !w->done)
		tl_hist_record(&w->t->stats.connect,
			       (uint64_t)(now - s->conn_ns));
	w->ever_connected = true;
	s->backoff_ms = 0;
	if (s->fail_since) {
		s->fail_since = 0;
		w->failing--;
	}
	if (!w->opt->url.tls) {
		send_request(s);
		return;
	}
	s->ssl = SSL_new(w->ctx);
	if (s->ssl == NULL) {
		request_end(s, TL_ERR_OTHER, "SSL_new failed (out of memory?)");
		return;
	}
	tl_tls_keep_sessions(s->ssl, &s->session);
	SSL_set_fd(s->ssl, s->fd);
	tl_wire_start(s->ssl, s->fd, &s->wire);
	s->wire_on = true;
	s->hs_kind = -1;
	if (w->opt->sni)
		SSL_set_tlsext_host_name(s->ssl, w->opt->sni);
	else if (!w->opt->url.host_is_ip)
		SSL_set_tlsext_host_name(s->ssl, w->opt->url.host);
	if (w->opt->resume != TL_RESUME_NONE && s->session)
		SSL_set_session(s->ssl, s->session);
	SSL_set_connect_state(s->ssl);
	s->hs_ns = now;
	/* Early data only where the ticket allows the whole request (and
	 * is unused: OpenSSL resumes a TLS 1.3 session once). */
	s->early = w->opt->early_data && s->session &&
		   SSL_SESSION_is_resumable(s->session) &&
		   SSL_SESSION_get_max_early_data(s->session) >=
			   w->run->request_len;
	if (s->early) {
		if (s->phase == TL_PHASE_WINDOW && !w->done)
			w->t->stats.early_offered++;
		s->state = S_EARLY;
		early_step(s);
		return;
	}
	s->state = S_HANDSHAKE;
	handshake_step(s);
}

static void
conn_start(struct slot *s)
{
	const struct tl_url *u = &s->w->opt->url;
	int one = 1;

	s->fd = socket(u->addr.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (s->fd < 0) {
		connect_failed(s, errno);
		return;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->conn_ns = tl_now_ns();
	if (connect(s->fd, (const struct sockaddr *)&u->addr, u->addrlen) ==
	    0) {
		conn_ready(s);
		return;
	}
	if (errno == EINPROGRESS) {
		s->state = S_CONNECTING;
		slot_wait(s, EV_WRITE);
		return;
	}
	connect_failed(s, errno);
}

static void
connect_done(struct slot *s)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err)
		connect_failed(s, err);
	else
		conn_ready(s);
}

static void
start_request(struct slot *s, int64_t origin)
{
	struct worker *w = s->w;

	s->phase = w->phase;
	if (s->phase == TL_PHASE_WINDOW) {
		w->t->stats.started++;
		if (w->opt->rate > 0 && tl_now_ns() - origin > LATE_NS)
			w->t->stats.late_starts++;
	}
	s->start_ns = origin;
	s->written = 0;
	s->got_byte = false;
	s->in_body = false;
	s->server_close = false;
	s->status = 0;
	s->have = 0;
	s->body_left = 0;
	s->body_len = 0;
	s->clen = -1;
	s->overflow = false;
	s->resp_bytes = 0;
	if (s->sha)
		EVP_DigestInit_ex(s->sha, w->sha256, NULL);
	w->inflight++;
	event_add(&s->timer, w->req_timeout);
	if (s->fd >= 0)
		send_request(s);
	else
		conn_start(s);
}

static void
free_push(struct worker *w, struct slot *s)
{
	if (s->on_free_list)
		return;
	s->on_free_list = true;
	w->free_ring[(w->free_head + w->nfree++) % w->nslots] = s;
}

static struct slot *
free_pop(struct worker *w)
{
	struct slot *s = w->free_ring[w->free_head];

	w->free_head = (w->free_head + 1) % w->nslots;
	w->nfree--;
	s->on_free_list = false;
	return s;
}

/* What a free slot does next: the closed-loop rule, or the schedule; when
 * the phase starts nothing, it parks (kept-alive connection left open). */
static void
slot_next(struct slot *s)
{
	struct worker *w = s->w;

	if (w->done ||
	    atomic_load_explicit(&w->run->stop, memory_order_relaxed)) {
		retire(s);
		return;
	}
	if (w->opt->rate > 0) {
		if (may_start(w) && w->issued < w->due) {
			start_request(s, w->t0 + (int64_t)w->issued++ *
							 w->interval);
			return;
		}
		free_push(w, s);
		return;
	}
	if (may_start(w))
		start_request(s, tl_now_ns());
}

/* ---- response ------------------------------------------------------- */

/* The response head, once complete: its length, 0 while incomplete, -1 on
 * a response we cannot take. */
static long
parse_head(struct slot *s, size_t fresh, char *detail, size_t dlen)
{
	struct tl_response r;
	long hl = tl_http_parse_head(s->buf, s->have, fresh, s->w->opt->head,
				     &r, detail, dlen);

	if (hl <= 0)
		return hl;
	s->status = r.status;
	s->clen = r.content_length;
	s->server_close = r.close;
	s->body_len = 0;
	s->body_left = r.body_length;
	return hl;
}

static void
body_bytes(struct slot *s, const char *p, size_t n)
{
	if ((int64_t)n > s->body_left) {
		s->overflow = true;
		n = (size_t)s->body_left;
	}
	if (s->sha)
		EVP_DigestUpdate(s->sha, p, n);
	s->body_left -= (int64_t)n;
	s->body_len += (int64_t)n;
}

/* A TLS 1.3 ticket can come after the response (after a 0.5-RTT answer
 * to early data, say).  OpenSSL resumes a session once, so a --close
 * connection that got none yet waits for it, or for the server's close,
 * before it ends: its slot's next connection resumes. */
static bool
wants_ticket(const struct slot *s)
{
	const struct tl_options *o = s->w->opt;

	return s->ssl && o->close && o->resume != TL_RESUME_NONE &&
	       s->wire_on && s->wire.ticket_records == 0 &&
	       SSL_version(s->ssl) == TLS1_3_VERSION;
}

static void
ticket_wait(struct slot *s)
{
	size_t n;
	enum io_status st = conn_read(s, s->buf, BUF_SIZE, &n);

	if (s->wire.ticket_records)
		request_end(s, -1, NULL);
	else if (st == IO_OK)
		request_end(s, TL_ERR_OTHER,
			    "bytes after the response (unrequested data)");
	else if (!io_wait(s, st))
		request_end(s, -1, NULL); /* the server closed: no ticket */
}

static void
response_done(struct slot *s)
{
	const struct tl_options *o = s->w->opt;
	char detail[128];

	if (s->overflow) {
		request_end(s, TL_ERR_OTHER,
			    "bytes after the response (unrequested data)");
		return;
	}
	if (s->status < 200 || s->status > 299) {
		snprintf(detail, sizeof(detail), "HTTP status %d", s->status);
		request_end(s, TL_ERR_STATUS, detail);
		return;
	}
	if (o->expect_length >= 0 && s->clen != o->expect_length) {
		snprintf(detail, sizeof(detail),
			 "body length %lld, expected %lld", (long long)s->clen,
			 (long long)o->expect_length);
		request_end(s, TL_ERR_BODY_MISMATCH, detail);
		return;
	}
	if (s->sha && !o->head) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned len = 0;
		EVP_DigestFinal_ex(s->sha, md, &len);
		if (len != 32 || memcmp(md, o->sha256, 32) != 0) {
			request_end(s, TL_ERR_BODY_MISMATCH,
				    "body SHA-256 differs from "
				    "--expect-sha256");
			return;
		}
	}
	if (wants_ticket(s)) {
		s->resp_ns = tl_now_ns();
		s->state = S_TICKET;
		ticket_wait(s);
		return;
	}
	request_end(s, -1, NULL);
}

static void
read_response(struct slot *s)
{
	char detail[160];

	for (;;) {
		char *dst = s->in_body ? s->buf : s->buf + s->have;
		size_t room = s->in_body ? BUF_SIZE : BUF_SIZE - s->have;
		size_t n = 0;
		enum io_status st;

		if (room == 0) {
			request_end(s, TL_ERR_OTHER,
				    "response head over 16 KiB");
			return;
		}
		st = conn_read(s, dst, room, &n);
		if (st == IO_OK) {
			if (!s->got_byte) {
				s->got_byte = true;
				if (s->phase == TL_PHASE_WINDOW && !s->w->done)
					tl_hist_record(&s->w->t->stats.ttfb,
						       (uint64_t)(tl_now_ns() -
								  s->sent_ns));
			}
			s->resp_bytes += n;
			if (s->in_body) {
				body_bytes(s, dst, n);
			} else {
				s->have += n;
				long hl = parse_head(s, n, detail,
						     sizeof(detail));
				if (hl < 0) {
					request_end(s, TL_ERR_OTHER, detail);
					return;
				}
				if (hl == 0)
					continue;
				s->in_body = true;
				if (s->have > (size_t)hl)
					body_bytes(s, s->buf + hl,
						   s->have - (size_t)hl);
			}
			if (s->in_body && s->body_left == 0) {
				response_done(s);
				return;
			}
			continue;
		}
		if (io_wait(s, st))
			return;
		switch (st) {
		case IO_EOF:
			if (s->in_body) {
				snprintf(detail, sizeof(detail),
					 "EOF after %lld of %lld body bytes",
					 (long long)s->body_len,
					 (long long)s->clen);
				request_end(s, TL_ERR_SHORT_BODY, detail);
			} else {
				request_end(s, TL_ERR_RESET,
					    s->got_byte
						    ? "EOF in the response head"
						    : "EOF before a response");
			}
			return;
		case IO_RESET:
			request_end(s, TL_ERR_RESET,
				    "connection reset in the response");
			return;
		default: {
			unsigned long e = ERR_peek_last_error();
			const char *why = e ? ERR_reason_error_string(e) : NULL;
			snprintf(detail, sizeof(detail), "read: %s",
				 why ? why : strerror(errno));
			request_end(s, TL_ERR_OTHER, detail);
			return;
		}
		}
	}
}

/* A kept-alive connection between requests (open loop): TLS 1.3 tickets
 * are taken in; an EOF or anything else closes it quietly, and the next
 * request on this slot reconnects. */
static void
idle_read(struct slot *s)
{
	size_t n;

	for (;;) {
		switch (conn_read(s, s->buf, BUF_SIZE, &n)) {
		case IO_WANT_READ:
			return;
		default:
			conn_close(s, false);
			return;
		}
	}
}

static void
slot_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot *s = arg;

	(void)fd;
	(void)what;
	switch (s->state) {
	case S_CONNECTING:
		connect_done(s);
		break;
	case S_EARLY:
		early_step(s);
		break;
	case S_HANDSHAKE:
		handshake_step(s);
		break;
	case S_WRITING:
		send_request(s);
		break;
	case S_READING:
		read_response(s);
		break;
	case S_TICKET:
		ticket_wait(s);
		break;
	case S_FREE:
		if (s->fd >= 0)
			idle_read(s);
		break;
	default:
		break;
	}
}

static void
slot_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot *s = arg;
	static const char *const phase[] = {
		[S_CONNECTING] = "timeout in TCP connect",
		[S_EARLY] = "timeout sending early data",
		[S_HANDSHAKE] = "timeout in the TLS handshake",
		[S_WRITING] = "timeout sending the request",
		[S_READING] = "timeout waiting for the response",
	};

	(void)fd;
	(void)what;
	if (s->state == S_BACKOFF) {
		s->state = S_FREE;
		slot_next(s);
		progress(s->w);
		return;
	}
	if (s->state == S_TICKET)
		request_end(s, -1, NULL); /* complete; no ticket came */
	else if (s->state >= S_CONNECTING && s->state <= S_READING)
		request_end(s, TL_ERR_TIMEOUT, phase[s->state]);
}

/* ---- the thread's clocks --------------------------------------------- */

static void
add_timer_at(struct event *ev, int64_t at_ns)
{
	struct timeval tv = tv_of_ns(at_ns - tl_now_ns());

	event_add(ev, &tv);
}

/* The open-loop schedule: request k is due at t0 + k * interval; a due
 * request without a free slot waits for one (a late start). */
static void
sched_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	int64_t now = tl_now_ns();

	(void)fd;
	(void)what;
	if (!may_start(w))
		return;
	if (now >= w->t0) {
		uint64_t due = (uint64_t)((now - w->t0) / w->interval) + 1;
		if (due > w->limit)
			due = w->limit;
		if (due > w->due)
			w->due = due;
	}
	while (w->issued < w->due && w->nfree > 0 && !w->done)
		start_request(free_pop(w),
			      w->t0 + (int64_t)w->issued++ * w->interval);
	if (!w->done && w->due < w->limit)
		add_timer_at(&w->sched_timer,
			     w->t0 + (int64_t)w->due * w->interval);
	progress(w);
}

/* Starts the open-loop schedule at t0 (threads interleave theirs), for
 * limit requests. */
static void
sched_start(struct worker *w, int64_t from, uint64_t limit)
{
	const struct tl_run *run = w->run;

	w->t0 = from + w->interval * w->t->index / run->threads;
	w->due = w->issued = 0;
	w->limit = limit;
	add_timer_at(&w->sched_timer, w->t0);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (atomic_load(&w->run->stop))
		worker_finish(w, tl_now_ns());
	else
		check_unreachable(w, tl_now_ns(), w->t->stats.error_detail[0]);
}

static void
hard_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	char reason[128];

	(void)fd;
	(void)what;
	snprintf(reason, sizeof(reason), "--max-time %g s reached",
		 w->opt->max_time);
	tl_stop(w->run, reason);
	worker_finish(w, tl_now_ns());
}

/* -d: from here no request starts; the ones in flight finish.  libevent's
 * clock may run ahead of ours by a tick: the end is ours. */
static void
window_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (tl_now_ns() < w->run->end_ns) {
		add_timer_at(&w->window_timer, w->run->end_ns);
		return;
	}
	w->window_ended = true;
	progress(w);
}

static void
window_begin(struct worker *w)
{
	const struct tl_run *run = w->run;
	const struct tl_thread *t = w->t;

	w->window_began = true;
	getrusage(RUSAGE_THREAD, &w->ru_start);
	if (w->opt->rate > 0) {
		uint64_t limit = t->quota;
		if (!limit) {
			/* -d: the requests scheduled before the end. */
			int64_t t0 = run->window_ns +
				     w->interval * t->index / run->threads;
			int64_t span = run->end_ns - t0;
			limit = span > 0 ? (uint64_t)((span + w->interval - 1) /
						      w->interval)
					 : 0;
		}
		sched_start(w, run->window_ns, limit);
	} else {
		if (run->end_ns)
			add_timer_at(&w->window_timer, run->end_ns);
		for (int i = 0; i < w->nslots && may_start(w); i++)
			if (w->slots[i].state == S_FREE)
				slot_next(&w->slots[i]);
	}
	progress(w);
}

/* The main thread announced a phase (window.c). */
static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t n;
	enum tl_phase phase;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	phase = (enum tl_phase)atomic_load(&w->run->phase);
	if (phase == w->phase || w->done)
		return;
	if (phase == TL_PHASE_FINISH) {
		worker_finish(w, tl_now_ns());
		return;
	}
	if (w->phase == TL_PHASE_WARMUP)
		warmup_summary(w);
	w->phase = phase;
	w->reported = false;
	if (phase == TL_PHASE_WINDOW) {
		window_begin(w);
		return;
	}
	event_del(&w->sched_timer);
	progress(w);
}

static double
tv_seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* ---- the thread ------------------------------------------------------ */

static int
worker_setup(struct worker *w)
{
	const struct tl_options *o = w->opt;
	struct event_config *cfg = event_config_new();
	char err[512];

	if (cfg == NULL)
		return -1;
	/* One loop per thread, touched by that thread only. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
	/* The open-loop schedule needs timers finer than epoll's 1 ms; the
	 * closed loop does without (timerfd re-arming costs syscalls). */
	if (o->rate > 0)
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL)
		return -1;
	if (o->url.tls) {
		w->ctx = tl_tls_context(o, err, sizeof(err));
		if (w->ctx == NULL) {
			fprintf(stderr, "tlsbench-load: %s\n", err);
			return -1;
		}
	}
	if (o->expect_sha256) {
		w->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		if (w->sha256 == NULL)
			return -1;
	}
	struct timeval tv = tv_of_ns((int64_t)(o->timeout * 1e9));
	/* A common timeout: libevent keeps same-length timers in a queue,
	 * so re-arming one per request costs O(1), not a heap operation. */
	w->req_timeout = event_base_init_common_timeout(w->base, &tv);
	w->nslots = w->t->slots;
	w->active = w->nslots;
	w->need_resume = o->url.tls && o->resume != TL_RESUME_NONE && o->close;
	w->slots = calloc((size_t)w->nslots, sizeof(*w->slots));
	w->free_ring = calloc((size_t)w->nslots, sizeof(*w->free_ring));
	if (w->slots == NULL || w->free_ring == NULL)
		return -1;
	for (int i = 0; i < w->nslots; i++) {
		struct slot *s = &w->slots[i];
		s->w = w;
		s->fd = -1;
		s->state = S_FREE;
		s->hs_kind = -1;
		evtimer_assign(&s->timer, w->base, slot_timer_cb, s);
		if (o->expect_sha256 && (s->sha = EVP_MD_CTX_new()) == NULL)
			return -1;
	}
	evtimer_assign(&w->hard_timer, w->base, hard_end_cb, w);
	evtimer_assign(&w->window_timer, w->base, window_end_cb, w);
	evtimer_assign(&w->sched_timer, w->base, sched_cb, w);
	event_assign(&w->tick, w->base, -1, EV_PERSIST, tick_cb, w);
	event_assign(&w->wake, w->base, w->t->wake_fd, EV_READ | EV_PERSIST,
		     wake_cb, w);
	return 0;
}

static void
worker_cleanup(struct worker *w)
{
	if (w->slots) {
		for (int i = 0; i < w->nslots; i++) {
			struct slot *s = &w->slots[i];
			event_del(&s->timer);
			conn_close(s, false);
			if (s->session)
				SSL_SESSION_free(s->session);
			EVP_MD_CTX_free(s->sha);
		}
	}
	if (w->base) {
		event_del(&w->hard_timer);
		event_del(&w->window_timer);
		event_del(&w->sched_timer);
		event_del(&w->tick);
		event_del(&w->wake);
		event_base_free(w->base);
	}
	free(w->slots);
	free(w->free_ring);
	EVP_MD_free(w->sha256);
	SSL_CTX_free(w->ctx);
}

static void
worker_run(struct worker *w)
{
	const struct tl_run *run = w->run;
	struct tl_thread *t = w->t;
	struct timeval tick = {0, TICK_US};

	add_timer_at(&w->hard_timer, run->hard_end_ns);
	event_add(&w->tick, &tick);
	event_add(&w->wake, NULL);
	if (w->opt->rate > 0) {
		w->interval = (int64_t)(1e9 / t->rate);
		if (w->interval < 1)
			w->interval = 1;
		for (int i = 0; i < w->nslots; i++)
			free_push(w, &w->slots[i]);
	}
	w->phase = (enum tl_phase)atomic_load(&run->phase);
	if (w->phase == TL_PHASE_WARMUP) {
		w->cold = w->opt->warmup_per_slot ? w->nslots : 0;
		if (w->cold == 0)
			tl_window_report(w->run, TL_REPORT_WARM);
		if (w->opt->rate > 0)
			sched_start(w, run->start_ns, UINT64_MAX);
		else
			for (int i = 0; i < w->nslots && may_start(w); i++)
				slot_next(&w->slots[i]);
	} else {
		progress(w);
	}
	if (!w->done)
		event_base_dispatch(w->base);
	if (!w->done)
		worker_finish(w, tl_now_ns());

	if (w->window_began) {
		t->stats.cpu_user_s = tv_seconds(w->ru_end.ru_utime) -
				      tv_seconds(w->ru_start.ru_utime);
		t->stats.cpu_sys_s = tv_seconds(w->ru_end.ru_stime) -
				     tv_seconds(w->ru_start.ru_stime);
	}
}

void *
tl_thread_main(void *arg)
{
	struct tl_thread *t = arg;
	struct worker w = {0};

	w.t = t;
	w.run = t->run;
	w.opt = t->run->opt;
	tl_stats_init(&t->stats);
	if (t->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
			fprintf(stderr,
				"tlsbench-load: warning: cannot pin thread "
				"%d to CPU %d\n",
				t->index, t->cpu);
	}
	if (worker_setup(&w) != 0) {
		t->setup_failed = 1;
		tl_stop(t->run, "thread setup failed");
	}
	/* Twice: all threads are set up, then main has set the clock. */
	pthread_barrier_wait(&t->run->ready);
	pthread_barrier_wait(&t->run->ready);
	if (!t->setup_failed && !atomic_load(&t->run->stop))
		worker_run(&w);
	worker_cleanup(&w);
	return NULL;
}
