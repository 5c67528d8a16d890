/* load.h: what the files of tlsbench-load share.
 *
 * main.c runs the threads and decides the exit status, options.c reads the
 * command line, url.c parses the target, window.c moves the run through
 * its phases (warm-up, quiesced boundaries, the window) and speaks the
 * control protocol, client.c drives connections on one thread's event
 * loop, wire.c counts what each handshake puts on the wire, tls.c builds
 * the client context, replay.c is the early-data replay check, report.c
 * prints the summary and the JSON.
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

/* The PSK key-exchange modes offered on a TLS 1.3 resumption. */
enum tl_psk_mode {
	TL_PSK_DHE,  /* psk_dhe_ke only (OpenSSL's default) */
	TL_PSK_KE,   /* psk_ke only: OpenSSL cannot, tls.c refuses it */
	TL_PSK_BOTH, /* psk_dhe_ke and psk_ke; the server picks */
};

extern const char *const tl_psk_mode_names[3];

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
	double warmup;		  /* --warmup: the warm-up's minimum seconds */
	uint64_t warmup_per_slot; /* K: every slot completes K requests */
	int control_fd;		  /* -1: no control protocol */
	bool early_data;
	enum tl_psk_mode psk_mode;
	bool replay; /* --replay-early-data: the replay check only */
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

/* Handshake kinds, the index of per-kind counters. */
enum tl_hs_kind {
	TL_HS_FULL,
	TL_HS_RESUMED,
	TL_HS_KINDS,
};

/* What one connection's handshake put on the wire, counted by wire.c from
 * the first byte of the ClientHello to the handshake's completion, and
 * the session tickets that came after it. */
struct tl_wire {
	uint64_t sent, received;  /* socket bytes, by the BIO callback */
	uint64_t record_bytes_in; /* bytes of the records read */
	uint32_t records_out, records_in; /* TLS records, by the msg callback */
	uint32_t last_out, last_in; /* bytes of the last record each way */
	uint64_t early_bytes;	    /* records of early data (sent) */
	uint32_t early_records;
	uint64_t ticket_bytes; /* records carrying a post-handshake ticket */
	uint32_t ticket_records;
	bool ticket_in_record; /* the current record is already counted */
	bool done;	       /* handshake complete: later records are after */
	bool server_key_share; /* the ServerHello had a key_share */
	bool have_segs;	       /* TCP_INFO worked at the start */
	uint32_t segs_out, segs_in; /* TCP segments before the ClientHello */
};

/* Sums over the handshakes of one kind; the report prints their means. */
struct tl_wire_sum {
	uint64_t handshakes;
	uint64_t client_sent, server_sent;
	uint64_t client_records, server_records;
	uint64_t segs_n; /* handshakes behind the segment sums */
	uint64_t client_segments, server_segments;
	uint64_t ticket_bytes, ticket_records;
	uint64_t early_bytes;
	uint64_t read_ahead; /* socket bytes read past the handshake's */
};

/* The counters of one thread; merged into one for the report.  All but
 * the warmup_ ones count the window only. */
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
	uint64_t started;	/* requests started in the window */
	uint64_t abandoned;	/* window requests in flight at a cut */
	uint64_t early_offered; /* requests sent as early data */
	uint64_t early_accepted;
	uint64_t early_rejected; /* and then resent after the handshake */
	uint64_t resumed_psk_ke; /* TLS 1.3 resumptions without a key share */
	uint64_t resumed_psk_dhe_ke; /* and with one */
	struct tl_wire_sum wire[TL_HS_KINDS];
	uint64_t warmup_ok;
	uint64_t warmup_failed;
	uint64_t warmup_full;
	uint64_t warmup_resumed;
	uint64_t slots_cold; /* slots short of K at the warm-up's end */
	uint64_t slots_never_resumed; /* slots without a resumption by then */
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
	char sigalg[64]; /* the server's signature scheme (full handshakes) */
};

void tl_stats_init(struct tl_stats *s);
void tl_stats_merge(struct tl_stats *into, const struct tl_stats *from);

/* The phases of a run, in order.  window.c moves the run from one to the
 * next on the main thread; the worker threads follow. */
enum tl_phase {
	TL_PHASE_WARMUP,  /* load, counted apart, until the warm-up holds */
	TL_PHASE_QUIESCE, /* no new request; in-flight ones finish */
	TL_PHASE_WINDOW,  /* the measured requests, every one completed */
	TL_PHASE_FINISH,  /* close everything and end the thread */
};

/* What all threads share.  The clocks are set by the main thread before
 * it announces the phase that uses them; lock guards the reports. */
struct tl_run {
	const struct tl_options *opt;
	const char *request; /* the request bytes, the same for every request */
	size_t request_len;
	int threads;
	struct tl_thread *thread; /* [threads] */
	pthread_barrier_t ready;
	int64_t start_ns;      /* CLOCK_MONOTONIC: load (and warm-up) begins */
	int64_t window_ns;     /* "go": the window begins */
	int64_t end_ns;	       /* -d: no request starts from here; 0 with -n */
	int64_t hard_end_ns;   /* start + --max-time */
	int64_t warmup_end_ns; /* the last warm-up request completed */
	atomic_int phase;      /* enum tl_phase */
	atomic_int stop;
	bool warmup_done;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a report arrived, or the run stopped */
	int warm;	     /* threads whose slots all met the warm-up */
	int idle;	     /* threads quiesced */
	int done;	     /* threads whose window ended */
	char reason[256];    /* why the run was cut short; "" when it was not */
};

/* Ends the run on every thread; the first reason given is kept. */
void tl_stop(struct tl_run *run, const char *reason);

/* What a worker thread tells the main thread, once per phase. */
enum tl_report {
	TL_REPORT_WARM, /* every slot met the warm-up's conditions */
	TL_REPORT_IDLE, /* quiesced: nothing in flight */
	TL_REPORT_DONE, /* the window's requests all completed */
};

void tl_window_report(struct tl_run *run, enum tl_report what);

/* Runs the phases from the start of the load to the end of the window on
 * the main thread, with the control protocol when --control-fd is given;
 * returns when every thread was told to finish. */
void tl_window_run(struct tl_run *run);

struct tl_thread {
	struct tl_run *run;
	pthread_t tid;
	int index;
	int cpu;	/* -1: not pinned */
	int slots;	/* connections this thread keeps */
	uint64_t quota; /* requests to start in the window; 0: timed */
	double rate;	/* requests/s on this thread; 0: closed loop */
	int wake_fd;	/* eventfd: the main thread announced a phase */
	int64_t end_ns; /* the last window request completed (or the cut) */
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
/* Version, cipher, group and signature scheme of a finished handshake
 * into st. */
void tl_tls_negotiated(struct ssl_st *ssl, struct tl_stats *st);
/* The OpenSSL this binary runs with, as it names itself. */
const char *tl_tls_library(void);

/* Starts counting on a new connection's ssl (its fd set): zeroes *w. */
void tl_wire_start(struct ssl_st *ssl, int fd, struct tl_wire *w);
/* At the handshake's completion: adds what *w counted into *sum. */
void tl_wire_handshake_done(struct ssl_st *ssl, int fd, struct tl_wire *w,
			    struct tl_wire_sum *sum);
/* Stops counting (after the first response: the tickets came before). */
void tl_wire_stop(struct ssl_st *ssl);

/* --replay-early-data: one full handshake for a ticket, then the same
 * session twice with the request as early data; prints the outcome and
 * returns the exit status. */
int tl_replay_run(const struct tl_options *o, const char *request,
		  size_t request_len);

int64_t tl_now_ns(void);

/* The report of a finished run. */
struct tl_result {
	const struct tl_options *opt;
	int threads;
	double duration_s;  /* "go" to the last completion */
	double warmup_s;    /* start to the last warm-up completion */
	const char *reason; /* "" when the run passed */
	struct tl_stats stats;
};

void tl_report_text(const struct tl_result *r);
/* s as a JSON string, quoted and escaped, on stdout. */
void tl_json_string(const char *s);
void tl_report_json(const struct tl_result *r);

#endif
