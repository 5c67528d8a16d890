/* replay.c: tlsbench-load --replay-early-data, a check rather than load.
 *
 * One full handshake takes a ticket; then the SAME session is offered twice,
 * each time with the same request as early data.  A server that protects
 * against replay accepts the first early data and refuses the second (its
 * ticket is single-use, or it remembers the ClientHello); one that does not
 * accepts both.  OpenSSL's client marks a TLS 1.3 session used once it
 * resumed with it, so each replay offers a fresh copy decoded from the
 * same bytes: the same ticket and keys on the wire.  Blocking sockets
 * bounded by --timeout: three connections, one after the other.
 */
#include "load.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define ATTEMPTS 3 /* the full handshake, then the same session twice */

struct attempt {
	bool resumed;
	const char *early; /* not_sent, accepted, rejected */
	int status;	   /* HTTP status, 0 when none came */
	char error[160];   /* "" when the request succeeded */
};

static const char *
early_name(int status)
{
	switch (status) {
	case SSL_EARLY_DATA_ACCEPTED:
		return "accepted";
	case SSL_EARLY_DATA_REJECTED:
		return "rejected";
	default:
		return "not_sent";
	}
}

static void
fail(struct attempt *a, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;

	snprintf(a->error, sizeof(a->error), "%s: %s", what,
		 why ? why : (errno ? strerror(errno) : "failed"));
}

static int
dial(const struct tl_options *o)
{
	struct timeval tv = {
		.tv_sec = (time_t)o->timeout,
		.tv_usec = (suseconds_t)((o->timeout -
					  (double)(time_t)o->timeout) *
					 1e6)};
	int one = 1;
	int fd = socket(o->url.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
			IPPROTO_TCP);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&o->url.addr,
		    o->url.addrlen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads one whole response: the head, then Content-Length body bytes. */
static void
read_response(SSL *ssl, const struct tl_options *o, struct attempt *a)
{
	char buf[16384];
	size_t have = 0, n;
	int64_t left = -1;
	struct tl_response r;

	for (;;) {
		if (left == 0)
			return;
		ERR_clear_error();
		errno = 0;
		if (SSL_read_ex(ssl, left < 0 ? buf + have : buf,
				left < 0 ? sizeof(buf) - have : sizeof(buf),
				&n) != 1) {
			fail(a, "reading the response");
			return;
		}
		if (left >= 0) {
			left -= (int64_t)n < left ? (int64_t)n : left;
			continue;
		}
		have += n;
		long hl = tl_http_parse_head(buf, have, n, o->head, &r,
					     a->error, sizeof(a->error));
		if (hl < 0)
			return;
		if (hl == 0) {
			if (have == sizeof(buf)) {
				snprintf(a->error, sizeof(a->error),
					 "response head over 16 KiB");
				return;
			}
			continue;
		}
		a->status = r.status;
		left = r.body_length - (int64_t)(have - (size_t)hl);
		if (left < 0)
			left = 0;
	}
}

/* One connection: offers *offer (with the request as early data when the
 * session allows it), keeps the tickets it gets in *keep. */
static void
attempt(SSL_CTX *ctx, const struct tl_options *o, const unsigned char *der,
	long derlen, SSL_SESSION **keep, const char *req, size_t len,
	struct attempt *a)
{
	SSL *ssl = NULL;
	SSL_SESSION *offer = NULL;
	size_t n = 0;
	int fd = dial(o);

	memset(a, 0, sizeof(*a));
	a->early = "not_sent";
	if (fd < 0) {
		fail(a, "connect");
		return;
	}
	ssl = SSL_new(ctx);
	if (ssl == NULL) {
		fail(a, "SSL_new");
		close(fd);
		return;
	}
	tl_tls_keep_sessions(ssl, keep);
	SSL_set_fd(ssl, fd);
	if (o->sni)
		SSL_set_tlsext_host_name(ssl, o->sni);
	else if (!o->url.host_is_ip)
		SSL_set_tlsext_host_name(ssl, o->url.host);
	if (der) {
		offer = d2i_SSL_SESSION(NULL, &der, derlen);
		if (offer == NULL || !SSL_set_session(ssl, offer)) {
			fail(a, "decoding the session");
			goto out;
		}
		ERR_clear_error();
		if (SSL_write_early_data(ssl, req, len, &n) != 1) {
			fail(a, "early data");
			goto out;
		}
	}
	ERR_clear_error();
	if (SSL_connect(ssl) != 1) {
		fail(a, "handshake");
		goto out;
	}
	a->resumed = SSL_session_reused(ssl);
	a->early = early_name(SSL_get_early_data_status(ssl));
	/* Early data not accepted is lost: send the request again. */
	if (strcmp(a->early, "accepted") != 0 &&
	    SSL_write_ex(ssl, req, len, &n) != 1) {
		fail(a, "sending the request");
		goto out;
	}
	read_response(ssl, o, a);
	if (a->error[0] == '\0' && (a->status < 200 || a->status > 299))
		snprintf(a->error, sizeof(a->error), "HTTP status %d",
			 a->status);
	if (a->error[0] == '\0')
		SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	SSL_SESSION_free(offer);
	close(fd);
	ERR_clear_error();
}

static void
print_json(const struct tl_options *o, uint32_t max_early,
	   const struct attempt *a, int n, const char *reason)
{
	printf("{\"url\":");
	tl_json_string(o->url_text);
	printf(",\"client_library\":");
	tl_json_string(tl_tls_library());
	printf(",\"max_early_data\":%u,\"attempts\":[", max_early);
	for (int i = 0; i < n; i++) {
		printf("%s{\"offered\":%s,\"resumed\":%s,"
		       "\"early_data\":\"%s\",\"status\":%d,\"error\":",
		       i ? "," : "", i ? "true" : "false",
		       a[i].resumed ? "true" : "false", a[i].early,
		       a[i].status);
		tl_json_string(a[i].error);
		putchar('}');
	}
	printf("],\"reason\":");
	tl_json_string(reason);
	printf("}\n");
}

static void
print_text(uint32_t max_early, const struct attempt *a, int n)
{
	for (int i = 0; i < n; i++) {
		if (i == 0)
			printf("ticket:   full handshake, HTTP %d, "
			       "max_early_data %u%s%s\n",
			       a[i].status, max_early,
			       a[i].error[0] ? ", " : "", a[i].error);
		else
			printf("replay %d: %s, early data %s, HTTP %d%s%s\n", i,
			       a[i].resumed ? "resumed" : "full handshake",
			       a[i].early, a[i].status,
			       a[i].error[0] ? ", " : "", a[i].error);
	}
}

int
tl_replay_run(const struct tl_options *o, const char *req, size_t len)
{
	struct attempt a[ATTEMPTS];
	SSL_SESSION *session = NULL, *discard = NULL;
	unsigned char *der = NULL;
	int derlen = 0;
	char err[512], reason[256] = "";
	uint32_t max_early = 0;
	int n = 0, rc = 0;
	SSL_CTX *ctx;

	if (!o->url.tls) {
		fprintf(stderr, "tlsbench-load: --replay-early-data needs an "
				"https:// URL\n");
		return 2;
	}
	ctx = tl_tls_context(o, err, sizeof(err));
	if (ctx == NULL) {
		fprintf(stderr, "tlsbench-load: %s\n", err);
		return 2;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	attempt(ctx, o, NULL, 0, &session, req, len, &a[n++]);
	if (a[0].error[0]) {
		snprintf(reason, sizeof(reason), "the full handshake failed");
	} else if (session == NULL) {
		snprintf(reason, sizeof(reason),
			 "the server sent no session ticket");
	} else if ((max_early = SSL_SESSION_get_max_early_data(session)) <
		   len) {
		snprintf(reason, sizeof(reason),
			 "the server's ticket allows %u bytes of early data, "
			 "the request is %zu",
			 max_early, len);
	} else if ((derlen = i2d_SSL_SESSION(session, &der)) <= 0) {
		snprintf(reason, sizeof(reason), "cannot encode the session");
	} else {
		/* Tickets from the replays go to discard: the replayed
		 * session stays the one from the full handshake. */
		for (; n < ATTEMPTS; n++) {
			attempt(ctx, o, der, derlen, &discard, req, len, &a[n]);
			if (a[n].error[0] && reason[0] == '\0')
				snprintf(reason, sizeof(reason),
					 "replay %d failed", n);
		}
	}
	if (reason[0])
		rc = 1;
	if (o->json)
		print_json(o, max_early, a, n, reason);
	else
		print_text(max_early, a, n);
	if (rc)
		fprintf(stderr, "tlsbench-load: %s\n", reason);
	OPENSSL_free(der);
	SSL_SESSION_free(session);
	SSL_SESSION_free(discard);
	SSL_CTX_free(ctx);
	return rc;
}
