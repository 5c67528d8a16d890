/* fuzz_conn.c: libFuzzer target driving one whole connection through the
 * core (core/conn.c with the plaintext backend) on a socket pair.
 *
 * Input: one control byte, then the bytes the client sends.  The control
 * byte picks how the client ends (keeps the socket open, sends EOF, or
 * closes outright), how eagerly it reads, how large its writes are, and
 * who does the server's socket I/O (--io native: the plaintext backend's
 * own recv and send; --io core: core/io.c's buffers, one read per edge
 * and one send per flight), so one input tries pipelining, partial reads,
 * back-pressure and aborts on both paths.
 * The event loop runs between writes for a bounded number of rounds; a
 * connection still open then is closed as a graceful stop closes it.
 *
 * Checks, beyond what ASan/UBSan/LeakSanitizer catch: every response is
 * a well-formed, dated HTTP/1.1 message whose status is what the parser
 * says the request deserves (the parser's own verdicts, walked request by
 * request through header block and body, are the model), a 100 Continue
 * comes only where 100-continue was asked for, bodies are [A-Z0-9],
 * connections close exactly when the model says, nothing follows a
 * closing response,
 * the counters add up (accepted = completed + failed + timed out; one
 * status per response) and counted responses are exactly the complete
 * ones the client received.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "body.h"
#include "conn.h"
#include "http.h"
#include "server.h"
#include "stats.h"
#include "tls.h"

/* Event-loop rounds per input: each writes a chunk, runs the loop once
 * and reads some output. */
#define MAX_ROUNDS 256
/* Responses the model follows per input. */
#define MAX_EXPECT 64
/* A response header this long without its end is malformed. */
#define RESPONSE_HEADER_MAX 512

#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

/* How the client ends once its bytes are sent (control bits 0-1). */
enum client_end {
	END_KEEP_OPEN,
	END_EOF,   /* shutdown(SHUT_WR): the server reads EOF */
	END_CLOSE, /* close(): the server's writes fail */
	END_EOF2,
};

/* How much the client reads per round (control bits 2-3); bits 4-6 pick
 * the largest write (1 byte to 16 KiB), bit 7 the server's --io. */
static const size_t drain_per_round[] = {65536, 16384, 0, 256};

/* One response the model expects, in order.  Where the server's choice
 * depends on timing (how much of a body had arrived when the header block
 * was read), the model allows each outcome. */
struct expect {
	int status;
	int alt_status;	  /* another status that may come instead, or 0 */
	int head;	  /* HEAD: header only */
	int closes;	  /* the server closes after it */
	int may_close;	  /* or it may close anyway (an early answer to
			   * Expect: 100-continue, the body unread) */
	int may_continue; /* a 100 Continue may come first */
	int optional;	  /* it may never come (the body never ends) */
};

/* The client's reading of the response stream. */
struct reader {
	const struct expect *exp;
	size_t nexp;
	size_t done; /* complete responses */
	char hdr[RESPONSE_HEADER_MAX];
	size_t hdr_len;
	uint64_t body_left;
	int in_body;
	int in_200_body;
	int closing;   /* the response being read says Connection: close */
	int continued; /* a 100 Continue came for the next response */
	int closed;    /* a closing response was complete */
};

static struct event_base *base;
static struct tb_stats_slot stats;
static struct tb_worker worker;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tb_tls_config cfg = {0};
	struct timeval tv = {30, 0};
	char err[256];

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	REQUIRE(tb_body_init(1) == 0);
	base = event_base_new();
	REQUIRE(base != NULL);
	memset(&worker, 0, sizeof(worker));
	worker.base = base;
	worker.tls = tb_tls_ctx_new(&cfg, err, sizeof(err));
	REQUIRE(worker.tls != NULL);
	worker.stats = &stats;
	worker.listen_fd = -1;
	worker.max_conns = 1000;
	tb_conn_init_spares(&worker);
	/* Long enough never to fire within one input: the rounds, not the
	 * clock, bound a run, so every input replays the same way. */
	worker.header.tv = event_base_init_common_timeout(base, &tv);
	REQUIRE(worker.header.tv != NULL);
	worker.header.ms = (uint32_t)tv.tv_sec * 1000;
	worker.idle = worker.write = worker.linger = worker.header;
	return 0;
}

/* The parser's verdicts on the client's stream, request by request, as
 * the connection walks it (header block, body, next). */
static size_t
model(const char *s, size_t len, struct expect *e)
{
	size_t off = 0, n = 0;

	while (n < MAX_EXPECT && off < len) {
		struct tb_http_request req;
		struct tb_http_body b;
		enum tb_http_body_result r;
		uint64_t size;
		size_t used = 0;
		int status, early;

		switch (tb_http_parse(s + off, len - off, &req)) {
		case TB_HTTP_NEED_MORE:
			return n;
		case TB_HTTP_ERROR:
			e[n++] = (struct expect){.status = req.status,
						 .head = req.method ==
							 TB_HTTP_HEAD,
						 .closes = 1};
			return n;
		case TB_HTTP_REQUEST:
			break;
		}
		status = tb_http_status(&req, "http", &size);
		off += req.header_len;
		tb_http_body_start(&b, &req);
		r = tb_http_body_read(&b, s + off, len - off, &used);
		/* A status known before a body the client holds back for
		 * 100-continue is sent at once, and closes. */
		early = req.expect_continue && status != 200;
		e[n] = (struct expect){
			.status = status,
			.head = req.method == TB_HTTP_HEAD,
			.closes = req.conn == TB_HTTP_CLOSE,
			.may_close = early,
			.may_continue = req.expect_continue && status == 200,
		};
		if (r == TB_HTTP_BODY_MORE) {
			/* The body never completes: only an early answer, or
			 * the 100 Continue that asks for the body and then
			 * nothing (the final response never comes). */
			if (early || e[n].may_continue) {
				e[n].optional = 1;
				n++;
			}
			return n;
		}
		if (r == TB_HTTP_BODY_ERROR) {
			if (early)
				e[n].alt_status = e[n].status;
			e[n].status = b.status;
			e[n].closes = 1;
			return n + 1;
		}
		n++;
		if (req.conn == TB_HTTP_CLOSE)
			return n;
		off += used;
	}
	return n;
}

static uint64_t
header_content_length(const char *h, size_t len)
{
	static const char name[] = "\r\nContent-Length: ";
	const char *p = memmem(h, len, name, sizeof(name) - 1);
	uint64_t v = 0;

	REQUIRE(p != NULL);
	p += sizeof(name) - 1;
	REQUIRE(*p >= '0' && *p <= '9');
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	REQUIRE(*p == '\r');
	return v;
}

/* A complete response header in r->hdr: check it against the model. */
static void
reader_header(struct reader *r)
{
	const struct expect *e;
	int status, closes;

	REQUIRE(r->done < r->nexp);
	e = &r->exp[r->done];
	REQUIRE(r->hdr_len > 13 && memcmp(r->hdr, "HTTP/1.1 ", 9) == 0);
	REQUIRE(r->hdr[9] >= '1' && r->hdr[9] <= '5' && r->hdr[12] == ' ');
	status = (r->hdr[9] - '0') * 100 + (r->hdr[10] - '0') * 10 +
		 (r->hdr[11] - '0');
	if (status == 100) {
		/* Once, before the response it announces, and nothing
		 * else in it. */
		REQUIRE(e->may_continue && !r->continued);
		REQUIRE(r->hdr_len == strlen(TB_HTTP_CONTINUE) &&
			memcmp(r->hdr, TB_HTTP_CONTINUE, r->hdr_len) == 0);
		r->continued = 1;
		r->hdr_len = 0;
		return;
	}
	REQUIRE(status == e->status ||
		(e->alt_status != 0 && status == e->alt_status));
	/* RFC 9110 6.6.1: Date in every final response. */
	REQUIRE(memmem(r->hdr, r->hdr_len, "\r\nDate: ", 8) != NULL);
	closes = memmem(r->hdr, r->hdr_len, "\r\nConnection: close\r\n", 21) !=
		 NULL;
	REQUIRE(closes == e->closes || (closes && e->may_close));
	r->closing = closes;
	r->body_left =
		status == 304 ? 0 : header_content_length(r->hdr, r->hdr_len);
	if (e->head)
		r->body_left = 0;
	r->in_200_body = status == 200;
	r->in_body = 1;
}

static void
reader_done(struct reader *r)
{
	r->closed = r->closing;
	r->done++;
	r->in_body = 0;
	r->continued = 0;
	r->hdr_len = 0;
}

static void
reader_feed(struct reader *r, const char *p, size_t n)
{
	while (n > 0) {
		if (r->in_body) {
			size_t take =
				r->body_left < n ? (size_t)r->body_left : n;
			size_t i;

			if (r->in_200_body)
				for (i = 0; i < take; i++)
					REQUIRE((p[i] >= 'A' && p[i] <= 'Z') ||
						(p[i] >= '0' && p[i] <= '9'));
			p += take;
			n -= take;
			r->body_left -= take;
			if (r->body_left == 0)
				reader_done(r);
			continue;
		}
		/* Nothing may follow a response that closes. */
		REQUIRE(!r->closed);
		REQUIRE(r->hdr_len < sizeof(r->hdr));
		r->hdr[r->hdr_len++] = *p++;
		n--;
		if (r->hdr_len >= 4 &&
		    memcmp(r->hdr + r->hdr_len - 4, "\r\n\r\n", 4) == 0)
			reader_header(r);
		/* A header with no body ends here. */
		if (r->in_body && r->body_left == 0)
			reader_done(r);
	}
}

/* Read up to max bytes (all there is when max is 0); 1 at the end. */
static int
drain(int fd, struct reader *r, size_t max)
{
	char buf[16384];
	size_t total = 0;

	while (max == 0 || total < max) {
		size_t want = sizeof(buf);
		ssize_t n;

		if (max != 0 && max - total < want)
			want = max - total;
		n = recv(fd, buf, want, 0);
		if (n > 0) {
			reader_feed(r, buf, (size_t)n);
			total += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* A unix socket closed with unread input resets its peer,
		 * after the peer has read what was queued. */
		return n == 0 || (n < 0 && errno == ECONNRESET);
	}
	return 0;
}

static uint64_t
next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct expect exp[MAX_EXPECT];
	struct reader rd = {0};
	struct tb_stats_slot before = stats;
	const char *in;
	size_t len, off = 0, chunk_max;
	uint64_t rnd;
	int sv[2], ctl, end, ended = 0, natural = 0, round, sndbuf = 4096;
	size_t per_round;

	if (size < 1)
		return 0;
	ctl = data[0];
	in = (const char *)data + 1;
	len = size - 1;
	end = ctl & 3;
	per_round = drain_per_round[(ctl >> 2) & 3];
	chunk_max = (size_t)1 << (((ctl >> 4) & 7) * 2); /* 1 B .. 16 KiB */
	worker.core_io = ctl >> 7;
	rnd = (uint64_t)ctl * 0x9e3779b97f4a7c15ULL + len + 1;

	rd.exp = exp;
	rd.nexp = model(in, len, exp);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	/* Small buffers: the server meets back-pressure within a response. */
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
	tb_conn_start(&worker, sv[1]);

	for (round = 0; round < MAX_ROUNDS; round++) {
		if (off < len) {
			size_t n = 1 + (size_t)(next_random(&rnd) % chunk_max);
			ssize_t w;

			if (n > len - off)
				n = len - off;
			w = send(sv[0], in + off, n, MSG_NOSIGNAL);
			if (w > 0)
				off += (size_t)w;
		} else if (!ended) {
			ended = 1;
			if (end == END_EOF || end == END_EOF2)
				shutdown(sv[0], SHUT_WR);
			if (end == END_CLOSE) {
				close(sv[0]);
				sv[0] = -1;
			}
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (sv[0] >= 0 && per_round > 0)
			drain(sv[0], &rd, per_round);
		if (stats.conns_active == 0 && ended) {
			natural = 1;
			break;
		}
	}
	if (stats.conns_active > 0)
		tb_conn_close_all(&worker);
	REQUIRE(stats.conns_active == 0 && worker.conns == NULL);
	/* Run what the close may have left active (nothing, we expect). */
	event_base_loop(base, EVLOOP_NONBLOCK);

	REQUIRE(stats.conns_accepted - before.conns_accepted == 1);
	REQUIRE((stats.conns_completed - before.conns_completed) +
			(stats.conns_failed - before.conns_failed) +
			(stats.conns_timed_out - before.conns_timed_out) ==
		1);
	REQUIRE(stats.conns_timed_out == before.conns_timed_out);
	REQUIRE((stats.status_200 - before.status_200) +
			(stats.status_400 - before.status_400) +
			(stats.status_404 - before.status_404) +
			(stats.status_405 - before.status_405) +
			(stats.status_408 - before.status_408) +
			(stats.status_411 - before.status_411) +
			(stats.status_413 - before.status_413) +
			(stats.status_431 - before.status_431) +
			(stats.status_505 - before.status_505) +
			(stats.status_304 - before.status_304) +
			(stats.status_412 - before.status_412) +
			(stats.status_414 - before.status_414) +
			(stats.status_417 - before.status_417) +
			(stats.status_421 - before.status_421) +
			(stats.status_501 - before.status_501) ==
		stats.requests - before.requests);
	if (sv[0] >= 0) {
		/* Everything the server wrote is still in the socket. */
		REQUIRE(drain(sv[0], &rd, 0) == 1);
		REQUIRE(stats.requests - before.requests == rd.done);
		/* A connection that ended by itself after the client's EOF
		 * answered every request the model saw, but for one it may
		 * never have (optional), or any after an early close. */
		if (natural && end != END_KEEP_OPEN)
			REQUIRE(rd.done == rd.nexp ||
				(rd.done == rd.nexp - 1 &&
				 rd.exp[rd.done].optional) ||
				(rd.done > 0 && rd.closed &&
				 rd.exp[rd.done - 1].may_close));
		close(sv[0]);
	}
	tb_conn_free_spares(&worker);
	return 0;
}
