/* client.c: one thread's event loop and its connections.
 *
 * Each connection slot is a small state machine on a raw non-blocking fd:
 * connect, TLS handshake (SSL_* called directly on the fd: clear the error
 * queue, call, map the result), write the request, read the response.  The
 * slot re-arms itself from the closed-loop rule or the open-loop schedule.
 * Nothing is allocated per request; per connection only what OpenSSL
 * allocates in SSL_new and the handshake.
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
	S_HANDSHAKE,
	S_WRITING,
	S_READING, /* status line, headers, body */
	S_BACKOFF, /* after a failed connect, before the next request */
	S_RETIRED, /* no more requests for this slot */
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
	struct event timer; /* request timeout, or the connect backoff */
	short io_what;	    /* what io is registered for; 0: not added */
	bool counted;	    /* the request started inside the window */
	bool on_free_list;
	int64_t start_ns; /* latency origin (the scheduled start when -R) */
	int64_t conn_ns;  /* TCP connect began */
	int64_t hs_ns;	  /* TLS handshake began */
	int64_t sent_ns;  /* request written */
	size_t written;
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
	uint64_t started; /* counted requests started */
	bool done;
	const struct timeval *req_timeout; /* a libevent common timeout */
	struct event tick, end_timer, window_timer, sched_timer;
	struct rusage ru_start;
	/* open loop: request k is due at t0 + k * interval */
	int64_t t0, interval;
	uint64_t due, issued, limit; /* limit: one past the last k (-n) */
	struct slot **free_list;
	int nfree;
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

/* ---- request lifecycle ---------------------------------------------- */

static void
worker_finish(struct worker *w, int64_t now)
{
	if (w->done)
		return;
	w->done = true;
	w->t->end_ns = now;
	event_base_loopbreak(w->base);
}

static bool
quota_done(const struct worker *w)
{
	return w->t->quota && w->started >= w->t->quota;
}

static void
check_done(struct worker *w)
{
	if (w->inflight == 0 && quota_done(w))
		worker_finish(w, tl_now_ns());
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

/* Every request ends here, exactly once: err < 0 is a success. */
static void
request_end(struct slot *s, int err, const char *detail)
{
	struct worker *w = s->w;
	struct tl_stats *st = &w->t->stats;
	int64_t now = tl_now_ns();
	bool keep = err < 0 && !w->opt->close && !s->server_close;

	event_del(&s->timer);
	w->inflight--;
	if (s->counted && !w->done) {
		if (s->status >= 100 && s->status < 600)
			st->status[s->status]++;
		st->bytes_response += s->resp_bytes;
		if (err < 0) {
			st->ok++;
			st->bytes_body += (uint64_t)s->body_len;
			tl_hist_record(&st->latency,
				       (uint64_t)(now - s->start_ns));
			if (st->doc_length == -1)
				st->doc_length = s->body_len;
			else if (st->doc_length != s->body_len)
				st->doc_length = -2;
		} else {
			st->failed++;
			st->errors[err]++;
			note_error(w, (enum tl_error)err, detail);
		}
	}
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
	check_done(w);
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
	s->sent_ns = tl_now_ns();
	s->state = S_READING;
	slot_wait(s, EV_READ);
	/* Read ahead may hold bytes epoll will not announce again. */
	if (s->ssl && SSL_has_pending(s->ssl))
		read_response(s);
}

static void
handshake_step(struct slot *s)
{
	struct worker *w = s->w;
	char detail[160];
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_do_handshake(s->ssl);
	if (rc == 1) {
		if (s->counted && !w->done) {
			struct tl_stats *st = &w->t->stats;
			tl_hist_record(&st->handshake,
				       (uint64_t)(tl_now_ns() - s->hs_ns));
			if (SSL_session_reused(s->ssl))
				st->hs_resumed++;
			else
				st->hs_full++;
		}
		if (w->t->stats.version[0] == '\0')
			tl_tls_negotiated(s->ssl, &w->t->stats);
		send_request(s);
		return;
	}
	switch (ssl_status(s->ssl, rc, errno)) {
	case IO_WANT_READ:
		slot_wait(s, EV_READ);
		return;
	case IO_WANT_WRITE:
		slot_wait(s, EV_WRITE);
		return;
	case IO_EOF:
	case IO_RESET:
		request_end(s, TL_ERR_HANDSHAKE,
			    "handshake: connection closed by the server");
		return;
	default: {
		unsigned long e = ERR_peek_last_error();
		const char *why = e ? ERR_reason_error_string(e) : NULL;
		snprintf(detail, sizeof(detail), "handshake: %s",
			 why ? why : "failed");
		request_end(s, TL_ERR_HANDSHAKE, detail);
		return;
	}
	}
}

static void
conn_ready(struct slot *s)
{
	struct worker *w = s->w;
	int64_t now = tl_now_ns();

	if (s->counted && !w->done)
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
	if (w->opt->sni)
		SSL_set_tlsext_host_name(s->ssl, w->opt->sni);
	else if (!w->opt->url.host_is_ip)
		SSL_set_tlsext_host_name(s->ssl, w->opt->url.host);
	if (w->opt->resume != TL_RESUME_NONE && s->session)
		SSL_set_session(s->ssl, s->session);
	SSL_set_connect_state(s->ssl);
	s->state = S_HANDSHAKE;
	s->hs_ns = now;
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

	s->counted = origin >= w->run->window_ns;
	if (s->counted) {
		w->started++;
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

/* What a free slot does next: the closed-loop rule, or the schedule. */
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
		if (w->issued < w->due) {
			start_request(s, w->t0 + (int64_t)w->issued++ *
							 w->interval);
			return;
		}
		if (!s->on_free_list) {
			s->on_free_list = true;
			w->free_list[w->nfree++] = s;
		}
		return;
	}
	int64_t now = tl_now_ns();
	if (quota_done(w) && now >= w->run->window_ns) {
		retire(s);
		return;
	}
	start_request(s, now);
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
				if (s->counted && !s->w->done)
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
		switch (st) {
		case IO_WANT_READ:
			slot_wait(s, EV_READ);
			return;
		case IO_WANT_WRITE:
			slot_wait(s, EV_WRITE);
			return;
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
	case S_HANDSHAKE:
		handshake_step(s);
		break;
	case S_WRITING:
		send_request(s);
		break;
	case S_READING:
		read_response(s);
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
		[S_HANDSHAKE] = "timeout in the TLS handshake",
		[S_WRITING] = "timeout sending the request",
		[S_READING] = "timeout waiting for the response",
	};

	(void)fd;
	(void)what;
	if (s->state == S_BACKOFF) {
		s->state = S_FREE;
		slot_next(s);
		check_done(s->w);
		return;
	}
	if (s->state >= S_CONNECTING && s->state <= S_READING)
		request_end(s, TL_ERR_TIMEOUT, phase[s->state]);
}

/* ---- the thread's clocks --------------------------------------------- */

static void
add_timer_at(struct event *ev, int64_t at_ns)
{
	struct timeval tv = tv_of_ns(at_ns - tl_now_ns());

	event_add(ev, &tv);
}

static void
sched_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	int64_t now = tl_now_ns();

	(void)fd;
	(void)what;
	if (w->done)
		return;
	if (now >= w->t0) {
		uint64_t due = (uint64_t)((now - w->t0) / w->interval) + 1;
		if (w->limit && due > w->limit)
			due = w->limit;
		if (due > w->due)
			w->due = due;
	}
	while (w->issued < w->due && w->nfree > 0 && !w->done) {
		struct slot *s = w->free_list[--w->nfree];
		s->on_free_list = false;
		start_request(s, w->t0 + (int64_t)w->issued++ * w->interval);
	}
	if (!w->done && (!w->limit || w->due < w->limit))
		add_timer_at(&w->sched_timer,
			     w->t0 + (int64_t)w->due * w->interval);
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
end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	const struct tl_run *run = w->run;
	char reason[128];

	(void)fd;
	(void)what;
	if (run->end_ns && run->end_ns <= run->hard_end_ns) {
		worker_finish(w, run->end_ns);
		return;
	}
	snprintf(reason, sizeof(reason), "--max-time %g s reached",
		 w->opt->max_time);
	tl_stop(w->run, reason);
	worker_finish(w, tl_now_ns());
}

static void
window_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	getrusage(RUSAGE_THREAD, &w->ru_start);
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
	w->slots = calloc((size_t)w->nslots, sizeof(*w->slots));
	w->free_list = calloc((size_t)w->nslots, sizeof(*w->free_list));
	if (w->slots == NULL || w->free_list == NULL)
		return -1;
	for (int i = 0; i < w->nslots; i++) {
		struct slot *s = &w->slots[i];
		s->w = w;
		s->fd = -1;
		s->state = S_FREE;
		evtimer_assign(&s->timer, w->base, slot_timer_cb, s);
		if (o->expect_sha256 && (s->sha = EVP_MD_CTX_new()) == NULL)
			return -1;
	}
	evtimer_assign(&w->end_timer, w->base, end_cb, w);
	evtimer_assign(&w->window_timer, w->base, window_cb, w);
	evtimer_assign(&w->sched_timer, w->base, sched_cb, w);
	event_assign(&w->tick, w->base, -1, EV_PERSIST, tick_cb, w);
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
		event_del(&w->end_timer);
		event_del(&w->window_timer);
		event_del(&w->sched_timer);
		event_del(&w->tick);
		event_base_free(w->base);
	}
	free(w->slots);
	free(w->free_list);
	EVP_MD_free(w->sha256);
	SSL_CTX_free(w->ctx);
}

static void
worker_run(struct worker *w)
{
	const struct tl_run *run = w->run;
	struct tl_thread *t = w->t;
	struct timeval tick = {0, TICK_US};
	int64_t end = run->hard_end_ns;

	if (run->end_ns && run->end_ns < end)
		end = run->end_ns;
	add_timer_at(&w->end_timer, end);
	event_add(&w->tick, &tick);
	if (run->window_ns > run->start_ns)
		add_timer_at(&w->window_timer, run->window_ns);
	else
		getrusage(RUSAGE_THREAD, &w->ru_start);

	if (w->opt->rate > 0) {
		/* Threads share the rate and interleave their schedules. */
		w->interval = (int64_t)(1e9 / t->rate);
		if (w->interval < 1)
			w->interval = 1;
		w->t0 = run->start_ns + w->interval * t->index / run->threads;
		if (t->quota) {
			uint64_t k0 = 0;
			if (run->window_ns > w->t0)
				k0 = (uint64_t)((run->window_ns - w->t0 +
						 w->interval - 1) /
						w->interval);
			w->limit = k0 + t->quota;
		}
		for (int i = w->nslots - 1; i >= 0; i--) {
			w->slots[i].on_free_list = true;
			w->free_list[w->nfree++] = &w->slots[i];
		}
		add_timer_at(&w->sched_timer, w->t0);
	} else {
		for (int i = 0; i < w->nslots && !w->done; i++)
			slot_next(&w->slots[i]);
	}
	if (!w->done)
		event_base_dispatch(w->base);
	if (!w->done)
		worker_finish(w, tl_now_ns());

	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	if (t->end_ns > run->window_ns) {
		t->stats.cpu_user_s = tv_seconds(ru.ru_utime) -
				      tv_seconds(w->ru_start.ru_utime);
		t->stats.cpu_sys_s = tv_seconds(ru.ru_stime) -
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
