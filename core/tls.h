/* tls.h: the TLS layer between the HTTPS core and one TLS library.
 *
 * Exactly one backend file (backends/<name>.c) implements this header in a
 * build; meson picks it with -Dtls=.  The core never includes a library
 * header and never tests which backend it has.  A backend holds library
 * calls and nothing else: names, statistics, timing loops and the socket
 * error table live once, in the core or in backends/common.c.
 *
 * The non-blocking contract, for every operation that returns a status:
 *
 *   TB_OK          the call did its work; for read and write *n says how
 *                  many bytes (write may be partial: call again with the
 *                  rest).  Call again whenever there is more to do.
 *   TB_WANT_READ   nothing could be done until the socket is readable:
 *   TB_WANT_WRITE  ... or writable.  Wait for that direction, then retry
 *                  the SAME call; for write, with the same buffer and
 *                  length (the library may keep a pointer to it).
 *                  Either direction can come back from any operation.
 *   TB_CLOSED      the peer has gone, cleanly (close_notify) or abruptly
 *                  (EOF, reset: see tb_tls_io_status in backends/common.h,
 *                  the one table every backend uses).  Not an error for
 *                  counters.
 *   TB_ERROR       a protocol or library failure on this connection;
 *                  tb_tls_conn_error() says why.  Drop the connection.
 *
 * Who moves the bytes (--io, cfg->io):
 *   TB_IO_NATIVE   the library reads and writes the fd itself, with its
 *                  own buffering, as most applications deploy it.
 *   TB_IO_CORE     the core owns the socket (core/io.c) and the library
 *                  works on memory: tb_tls_conn_new gets a struct tb_io,
 *                  and the library's I/O callbacks (a BIO, wolfSSL's
 *                  callbacks) do nothing but call tb_io_read() and
 *                  tb_io_write() below, never the fd.  The statuses then
 *                  mean: TB_WANT_READ, the input the core gave is used up
 *                  (the core reads the socket, once per readable edge,
 *                  and retries); TB_WANT_WRITE, the core's output buffer
 *                  is full (it must be flushed first).  What the library
 *                  writes stays in that buffer until the core flushes it:
 *                  when the machine waits, when the buffer fills, and
 *                  before a close, so a flight leaves in one write.
 *                  tb_tls_shutdown() only queues its close_notify there.
 *
 * The core owns the connection's life: after TB_CLOSED or TB_ERROR the only
 * calls it makes are tb_tls_conn_error() and tb_tls_conn_free().  It calls
 * tb_tls_shutdown() at most once, only after tb_tls_handshake() returned
 * TB_OK, never after TB_CLOSED or TB_ERROR, and never while a tb_tls_write()
 * waits to be retried (its record half sent: no alert could leave before
 * it), so a backend keeps no flags of its own for any of these.  The fd belongs
 * to the caller: the backend never closes it.  Library data read ahead of a
 * request is returned by the next read even when the socket has nothing: drive
 * reads until TB_WANT_READ before waiting.
 *
 * Early data (TLS 1.3 0-RTT, tb_tls_config.max_early_data > 0): when the
 * library accepts a client's early data, tb_tls_handshake() returns TB_OK
 * once the server's flight is out, before the client's Finished, and
 * tb_tls_conn_params() says early_data TB_EARLY_ACCEPTED.  From then on
 * tb_tls_read() returns the early data, then the 1-RTT data (the library
 * takes the client's Finished on the way), and tb_tls_write() sends at
 * once (0.5-RTT data).  Every request this server answers is free of side
 * effects (GET and HEAD of fixed bytes; other methods are refused), so
 * answering one that may be a replay is safe (RFC 8470 3) and is what
 * makes 0-RTT save a round trip.  tb_tls_handshake() called again
 * finishes the handshake: TB_OK once the client's Finished is verified
 * and the library's tickets are written (at once if a read did that
 * already).  The core does so before it closes such a connection itself,
 * so the client gets its ticket and no unread Finished turns the close
 * into a reset; tb_tls_shutdown() on a handshake still unfinished sends
 * nothing.  With early data rejected or not sent, TB_OK means the
 * handshake is complete, as always.
 *
 * Failure paths stay cheap: a backend records the raw code(s) when a call
 * fails and builds text only when tb_tls_conn_error() is asked.
 */
#ifndef TB_TLS_H
#define TB_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum tb_status {
	TB_OK,
	TB_WANT_READ,
	TB_WANT_WRITE,
	TB_CLOSED,
	TB_ERROR,
};

/* What the server remembers to let a client skip the full handshake. */
enum tb_resumption {
	TB_RESUME_NONE,	 /* no session cache, no tickets (TLS 1.3: none sent) */
	TB_RESUME_CACHE, /* server-side session cache (IDs; 1.3 stateful PSK) */
	TB_RESUME_TICKETS, /* stateless tickets only */
	TB_RESUME_BOTH,
};

/* TLS 1.3 resumption's key exchange (RFC 8446 4.2.9): psk_dhe_ke makes a
 * fresh (EC)DHE share as a full handshake does; psk_ke, when the client
 * offers it, resumes on the PSK alone (no key share, no forward secrecy
 * for the resumed connection). */
enum tb_psk_mode {
	TB_PSK_DHE, /* psk_dhe_ke only */
	TB_PSK_KE,  /* psk_ke whenever the client offers it */
};

/* Record buffers of an idle connection: released when empty (nginx's
 * SSL_MODE_RELEASE_BUFFERS, less memory per connection) or kept. */
enum tb_idle_buffers {
	TB_IDLE_RELEASE,
	TB_IDLE_KEEP,
};

/* Who reads and writes the socket (see the top of this file). */
enum tb_io_mode {
	TB_IO_NATIVE,
	TB_IO_CORE,
};

/* TLS versions as plain numbers: 12 is TLS 1.2, 13 is TLS 1.3. */
enum {
	TB_TLS12 = 12,
	TB_TLS13 = 13,
};

/* Every default is set once, in core/cli.c. */
struct tb_tls_config {
	const char *cert_file; /* PEM, leaf first, then chain */
	const char *key_file;  /* PEM private key */
	int min_version;       /* TB_TLS12 or TB_TLS13 */
	int max_version;       /* TB_TLS12 or TB_TLS13 */
	const char *ciphers;   /* TLS 1.2 list, OpenSSL syntax; NULL: default */
	const char *ciphersuites; /* TLS 1.3 list, colon separated */
	const char *groups; /* e.g. "X25519:P-256"; NULL: library default */
	enum tb_resumption resumption;
	long session_cache_size; /* sessions kept per process */
	long session_lifetime_s; /* how long a session or ticket resumes */
	/* Ticket keys (backends/common.h): 0 keeps one key for the server's
	 * life; S > 0 changes it every S seconds, the previous one still
	 * opening tickets. */
	long ticket_key_lifetime_s;
	enum tb_psk_mode psk_mode;
	/* TLS 1.3 early data a resuming client may send (bytes), with the
	 * library's anti-replay protection on; 0: no 0-RTT. */
	uint32_t max_early_data;
	enum tb_idle_buffers idle_buffers;
	enum tb_io_mode io;
};

/* What a resumed handshake resumed from, as far as the library tells. */
enum tb_resumed_by {
	TB_RESUMED_UNKNOWN, /* not resumed, or the library does not say */
	TB_RESUMED_TICKET,  /* a stateless ticket the server's keys opened */
	TB_RESUMED_ID,	    /* the server's session cache: a TLS 1.2 session
			     * ID, or a TLS 1.3 ticket that is a cache key */
};

/* What became of a client's TLS 1.3 early data. */
enum tb_early_data {
	TB_EARLY_NONE,	   /* not offered */
	TB_EARLY_ACCEPTED, /* read before the handshake finished */
	TB_EARLY_REJECTED, /* offered and skipped: a 1-RTT handshake */
};

/* What a handshake negotiated, as IANA code points (names come from
 * core/tls_names.h, one table for every backend); 0 where there is none,
 * e.g. no group and no signature in a resumed TLS 1.2 handshake, no group
 * in a TLS 1.3 psk_ke resumption, no signature in any resumed one. */
struct tb_tls_params {
	uint16_t version;   /* wire version: 0x0303 TLS 1.2, 0x0304 TLS 1.3 */
	uint16_t cipher;    /* cipher suite */
	uint16_t group;	    /* NamedGroup of the key exchange */
	uint16_t sigalg;    /* SignatureScheme of the server's signature */
	uint8_t resumed;    /* 1 when the handshake resumed a session */
	uint8_t resumed_by; /* enum tb_resumed_by */
	uint8_t early_data; /* enum tb_early_data */
};

/* One fact, e.g. { "aesni", "yes" }; lists end with a NULL key. */
struct tb_tls_fact {
	const char *key;
	const char *value;
};

struct tb_tls_ctx;  /* per server: certificate, settings, session state */
struct tb_tls_conn; /* per connection */

/* Backend identity: "openssl", "wolfssl", "boringssl" or "none". */
const char *tb_tls_backend_name(void);
/* The version of the library loaded at run time, e.g. "OpenSSL 3.0.19". */
const char *tb_tls_library_version(void);
/* "https", or "http" for the plaintext backend. */
const char *tb_tls_url_scheme(void);
/* Facts of the build that move numbers (flavor, assembly, math). */
const struct tb_tls_fact *tb_tls_build_facts(void);
/* 0 when the library loaded at run time is the one this binary was built
 * against (same version and, for a prefix build, same directory). */
int tb_tls_check_runtime(char *err, size_t errlen);

/* NULL on failure with a one-line reason in err (bad file, unknown group,
 * a setting the library cannot honour: never silently something else). */
struct tb_tls_ctx *tb_tls_ctx_new(const struct tb_tls_config *cfg, char *err,
				  size_t errlen);
void tb_tls_ctx_free(struct tb_tls_ctx *ctx);
/* What the library actually got, fixed once the context exists:
 * session_cache_size, session_lifetime_s, idle_buffers,
 * tickets_per_handshake, ticket_keys, session_cache, psk_mode, early_data
 * and anti_replay, each as applied, with a short reason in the value where
 * it differs from what was asked, e.g. "33 (compile-time table)";
 * tls_object_reuse: "yes (how)" when tb_tls_conn_reuse works, else
 * "no (why)"; and io: "native" or "core". */
const struct tb_tls_fact *tb_tls_ctx_facts(const struct tb_tls_ctx *ctx);

/* The core's buffers of one connection under TB_IO_CORE (core/io.h). */
struct tb_io;

/* Server side of a TLS connection on a connected non-blocking fd; io is
 * the core's buffers when the context was made with TB_IO_CORE, else
 * NULL.  NULL only when out of memory. */
struct tb_tls_conn *tb_tls_conn_new(struct tb_tls_ctx *ctx, int fd,
				    struct tb_io *io);
/* The object of a connection that has ended (at any status), made ready
 * for a new connection on fd and io as tb_tls_conn_new makes one, keeping
 * what the library allocated.  0, or -1 when the library cannot reuse its
 * objects (then the caller frees c and calls tb_tls_conn_new). */
int tb_tls_conn_reuse(struct tb_tls_conn *c, int fd, struct tb_io *io);
void tb_tls_conn_free(struct tb_tls_conn *c);

enum tb_status tb_tls_handshake(struct tb_tls_conn *c);
enum tb_status tb_tls_read(struct tb_tls_conn *c, void *buf, size_t len,
			   size_t *n);
enum tb_status tb_tls_write(struct tb_tls_conn *c, const void *buf, size_t len,
			    size_t *n);
/* Sends close_notify and returns; never waits for the peer's.  A full
 * socket buffer drops the alert (TB_OK all the same). */
enum tb_status tb_tls_shutdown(struct tb_tls_conn *c);

/* Why the last call returned TB_ERROR, built on demand; never NULL.  The
 * text stays valid until the next call of this function. */
const char *tb_tls_conn_error(const struct tb_tls_conn *c);
/* Valid after tb_tls_handshake returned TB_OK; the library's cheapest
 * getters only, as this runs once per handshake in the measured path. */
void tb_tls_conn_params(const struct tb_tls_conn *c, struct tb_tls_params *p);

/* TB_IO_CORE: what a library's I/O callbacks call, implemented by the
 * core (core/io.c).  They behave as recv() and send() on a non-blocking
 * socket: the bytes moved (> 0); 0 from tb_io_read once the peer has
 * closed its side and every byte before that was read; -1 with errno
 * EAGAIN when the input is used up (read) or the output buffer is full
 * (write), or with the socket's errno once a socket call failed. */
ssize_t tb_io_read(struct tb_io *io, void *buf, size_t len);
ssize_t tb_io_write(struct tb_io *io, const void *buf, size_t len);

/* ------------------------------------------------------------------------
 * The crypto floor: the public-key work a server cannot avoid in a full
 * handshake, one signature and one key exchange, through the library.
 * core/floor.c owns everything else (warm-up, digests, timing, statistics,
 * printing); a backend supplies the operations:
 *
 * tb_floor_new   loads key_file, says the TLS 1.3 SignatureScheme it signs
 *                with (*sigalg), and makes `shares` distinct client key
 *                shares for group (a NamedGroup id) the way a client would.
 *                NULL with a one-line reason in err.
 * tb_floor_sign  one signature over digest (len bytes: the scheme's hash
 *                length, or the message for EdDSA and ML-DSA).  0 on
 *                success.
 * tb_floor_kex   what the server does for client share i, i < shares:
 *                decode it, make the server's share, derive the secret.
 *                For a KEM group the server's share is an encapsulation
 *                to the client's key; for a hybrid (X25519MLKEM768) also
 *                the classical half, key pair and secret, as the
 *                library's own TLS server does it.  The client's key
 *                generation, ML-KEM's included, is tb_floor_new's, outside
 *                the timing.  Each i is used once.  0 on success.
 *
 * What a library cannot do (a group, a key type) is refused by
 * tb_tls_ctx_new and tb_floor_new alike, with the same one-line reason.
 */
struct tb_floor;

struct tb_floor *tb_floor_new(const char *key_file, uint16_t group,
			      unsigned shares, uint16_t *sigalg, char *err,
			      size_t errlen);
int tb_floor_sign(struct tb_floor *f, const uint8_t *digest, size_t len);
int tb_floor_kex(struct tb_floor *f, unsigned i);
void tb_floor_free(struct tb_floor *f);

#endif
