/* load.h: what the files of tlsbench-load share.
 *
 * main.c runs the threads and decides the exit status, options.c reads the
 * command line, url.c parses the target, client.c drives connections on
 * one thread's event loop, report.c prints the summary and the JSON.
 */
#ifndef TL_LOAD_H
#define TL_LOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "histogram.h"

/* Why a request failed; each failed request counts under exactly one. */
enum tl_error {
	TL_ERR_CONNECT,	      /* TCP connect refused, unreachable, no port */
	TL_ERR_HANDSHAKE,     /* TLS handshake failed */
	TL_ERR_TIMEOUT,	      /* no complete response within --timeout */
	TL_ERR_STATUS,	      /* a complete response with a non-2xx status */
	TL_ERR_SHORT_BODY,    /* EOF before Content-Length body bytes */
	TL_ERR_RESET,	      /* reset, broken pipe, EOF before the body */
	TL_ERR_BODY_MISMATCH, /* length or SHA-256 not what was expected */
	TL_ERR_OTHER,	      /* malformed or unsupported response, I/O */
	TL_ERR_COUNT,
};

extern const char *const tl_error_names[TL_ERR_COUNT];

enum tl_resume {
	TL_RESUME_NONE,
	TL_RESUME_TICKET,
	TL_RESUME_ID,
};

extern const char *const tl_resume_names[3];

#define TL_MAX_CPUS 1024

struct tl_url {
	bool tls;	 /* https */
	bool host_is_ip; /* no SNI for an address */
	int port;
	char host[256];	     /* without IPv6 brackets */
	char authority[300]; /* host[:port] as written: the Host header */
	char path[4096];     /* starts with '/' */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

struct tl_options {
	const char *url_text;
	struct tl_url url;
	int connections;
	uint64_t requests; /* -n; 0 when the run is timed (-d) */
	double duration;   /* -d seconds; 0 with -n */
	int threads;
	int cpus[TL_MAX_CPUS];
	int ncpus;
	double rate; /* -R requests/s; 0: closed loop */
	bool close;
	enum tl_resume resume;
	int tls_version; /* 0: library default range, 12 or 13: only that */
	const char *ciphers;
	const char *ciphersuites;
	const char *groups;
	const char *sni;
	const char *alpn;
	const char *cacert;
	bool insecure;
	double warmup;
	double timeout;
	double max_time;
	bool expect_sha256;
	unsigned char sha256[32];
	int64_t expect_length; /* -1: not checked */
	bool head;
	bool json;
};

/* Reads argv into *o; prints the problem and exits 2 on a usage error. */
void tl_options_parse(int argc, char **argv, struct tl_options *o);

/* Parses and resolves "https://host[:port]/path"; 0 or -1 with err set. */
int tl_url_parse(const char *text, struct tl_url *u, char *err, size_t errlen);

/* What a response head says. */
struct tl_response {
	int status;
	bool close;		/* the server closes after this response */
	int64_t content_length; /* -1 when absent */
	int64_t body_length; /* bytes of body to read (0 for HEAD, 204, 304) */
};

/* Parses buf[0..have) once it holds "\r\n\r\n" (fresh: bytes added since
 * the last call): the head's length, 0 while incomplete, or -1 for a
 * response the client cannot take (detail says why). */
long tl_http_parse_head(const char *buf, size_t have, size_t fresh, bool head,
			struct tl_response *r, char *detail, size_t dlen);

/* The counters of one thread; merged into one for the report. */
struct tl_stats {
	uint64_t ok;
	uint64_t failed;
	uint64_t errors[TL_ERR_COUNT];
	char error_detail[TL_ERR_COUNT][128]; /* the first seen, per kind */
	uint64_t status[600];
	uint64_t hs_full;
	uint64_t hs_resumed;
	uint64_t bytes_body;
	uint64_t bytes_response; /* status line + headers + body */
	uint64_t late_starts;
	int64_t doc_length; /* body length of ok responses; -1 none, -2 mixed */
	struct tl_hist latency;
	struct tl_hist connect;
	struct tl_hist handshake;
	struct tl_hist ttfb;
	double cpu_user_s;
	double cpu_sys_s;
	char version[32];
	char cipher[96];
	char group[64];
};

void tl_stats_init(struct tl_stats *s);
void tl_stats_merge(struct tl_stats *into, const struct tl_stats *from);

/* What all threads share; fixed before they start except stop and reason. */
struct tl_run {
	const struct tl_options *opt;
	const char *request; /* the request bytes, the same for every request */
	size_t request_len;
	int threads;
	pthread_barrier_t ready;
	int64_t start_ns;    /* CLOCK_MONOTONIC: load (and warm-up) begins */
	int64_t window_ns;   /* measurement begins: start + warmup */
	int64_t end_ns;	     /* -d: measurement ends; 0 with -n */
	int64_t hard_end_ns; /* start + --max-time */
	atomic_int stop;
	pthread_mutex_t reason_lock;
	char reason[256]; /* why the run was cut short; "" when it was not */
};

/* Ends the run on every thread; the first reason given is kept. */
void tl_stop(struct tl_run *run, const char *reason);

struct tl_thread {
	struct tl_run *run;
	pthread_t tid;
	int index;
	int cpu;	/* -1: not pinned */
	int slots;	/* connections this thread keeps */
	uint64_t quota; /* requests to start in the window; 0: timed */
	double rate;	/* requests/s on this thread; 0: closed loop */
	int64_t end_ns; /* when this thread's measurement ended */
	int setup_failed;
	struct tl_stats stats;
};

void *tl_thread_main(void *arg);

/* The client TLS context every thread builds the same way; NULL with err. */
struct ssl_ctx_st *tl_tls_context(const struct tl_options *o, char *err,
				  size_t errlen);
/* Sessions the server hands out on ssl (TLS 1.2 handshake, TLS 1.3 tickets
 * after it) replace *keep; *keep holds a reference. */
struct ssl_st;
struct ssl_session_st;
void tl_tls_keep_sessions(struct ssl_st *ssl, struct ssl_session_st **keep);
/* Version, cipher and group of a finished handshake into st. */
void tl_tls_negotiated(struct ssl_st *ssl, struct tl_stats *st);

int64_t tl_now_ns(void);

/* The report of a finished run. */
struct tl_result {
	const struct tl_options *opt;
	int threads;
	double duration_s;
	const char *reason; /* "" when the run passed */
	struct tl_stats stats;
};

void tl_report_text(const struct tl_result *r);
void tl_report_json(const struct tl_result *r);

#endif
