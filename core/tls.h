/* tls.h: the TLS layer between the HTTPS core and one TLS library.
 *
 * Exactly one backend file (backends/<name>.c) implements this header in a
 * build; meson picks it with -Dtls=.  The core never includes a library
 * header and never tests which backend it has.
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
 *                  (EOF, reset).  Not an error for counters.
 *   TB_ERROR       a protocol or library failure on this connection;
 *                  tb_tls_conn_error() says why.  Drop the connection.
 *
 * After TB_CLOSED or TB_ERROR the only calls allowed are
 * tb_tls_conn_error(), tb_tls_conn_info() and tb_tls_conn_free().
 * The fd belongs to the caller: the backend never closes it.
 * Library data read ahead of a request is returned by the next read even
 * when the socket has nothing: drive reads until TB_WANT_READ before waiting.
 */
#ifndef TB_TLS_H
#define TB_TLS_H

#include <stddef.h>

enum tb_status {
	TB_OK,
	TB_WANT_READ,
	TB_WANT_WRITE,
	TB_CLOSED,
	TB_ERROR,
};

/* What the server remembers to let a client skip the full handshake. */
enum tb_resumption {
	TB_RESUME_NONE,	   /* no cache, no tickets (TLS 1.3: none sent) */
	TB_RESUME_CACHE,   /* session cache (IDs; 1.3 stateful PSK) */
	TB_RESUME_TICKETS, /* stateless tickets only */
	TB_RESUME_BOTH,
};

/* TLS versions as plain numbers: 12 is TLS 1.2, 13 is TLS 1.3. */
enum {
	TB_TLS12 = 12,
	TB_TLS13 = 13,
};

struct tb_tls_config {
	const char *cert_file;	  /* PEM, leaf first, then chain */
	const char *key_file;	  /* PEM private key */
	int min_version;	  /* TB_TLS12 or TB_TLS13 */
	int max_version;	  /* TB_TLS12 or TB_TLS13 */
	const char *ciphers;	  /* TLS 1.2, OpenSSL syntax; NULL: default */
	const char *ciphersuites; /* TLS 1.3, colon separated; NULL: default */
	const char *groups;	  /* e.g. "X25519:P-256"; NULL: default */
	enum tb_resumption resumption;
};

/* Negotiated parameters; strings are valid while the connection lives. */
struct tb_tls_info {
	const char *version; /* "TLSv1.3"; "none" for plaintext */
	const char *cipher;  /* IANA or library name, "-" when unknown */
	const char *group;   /* key exchange group, "-" when none/unknown */
	int resumed;	     /* 1 when the handshake resumed a session */
};

/* One build fact, e.g. { "aesni", "yes" }. */
struct tb_tls_fact {
	const char *key;
	const char *value;
};

/* The server-side public-key work of one full handshake, measured through
 * the library itself (see tb_tls_bench_crypto). */
struct tb_crypto_floor {
	const char *sig_alg; /* e.g. "ecdsa_secp256r1_sha256" */
	const char *group;   /* e.g. "X25519" */
	double sign_us;	     /* one signature with the key */
	double kex_us;	     /* one key share and one shared secret */
	unsigned iterations;
};

struct tb_tls_ctx;  /* per server: certificate, settings, session state */
struct tb_tls_conn; /* per connection */

/* Backend identity: "openssl", "wolfssl", "boringssl" or "none". */
const char *tb_tls_backend_name(void);
/* The version of the library loaded at run time, e.g. "OpenSSL 3.0.19". */
const char *tb_tls_library_version(void);
/* "https", or "http" for the plaintext backend. */
const char *tb_tls_url_scheme(void);
/* Facts that move numbers (flavor, assembly, math), NULL-key terminated. */
const struct tb_tls_fact *tb_tls_build_facts(void);
/* 0 when the library loaded at run time is the one this binary was built
 * against (same version and, for a prefix build, same directory). */
int tb_tls_check_runtime(char *err, size_t errlen);

/* NULL on failure with a one-line reason in err (bad file, unknown group,
 * a setting the library cannot honour: never silently something else). */
struct tb_tls_ctx *tb_tls_ctx_new(const struct tb_tls_config *cfg, char *err,
				  size_t errlen);
void tb_tls_ctx_free(struct tb_tls_ctx *ctx);

/* Server side of a TLS connection on a connected non-blocking fd.
 * NULL only when out of memory. */
struct tb_tls_conn *tb_tls_conn_new(struct tb_tls_ctx *ctx, int fd);
void tb_tls_conn_free(struct tb_tls_conn *c);

enum tb_status tb_tls_handshake(struct tb_tls_conn *c);
enum tb_status tb_tls_read(struct tb_tls_conn *c, void *buf, size_t len,
			   size_t *n);
enum tb_status tb_tls_write(struct tb_tls_conn *c, const void *buf, size_t len,
			    size_t *n);
/* Sends close_notify once and returns; never waits for the peer's. */
enum tb_status tb_tls_shutdown(struct tb_tls_conn *c);

/* Why the last call returned TB_ERROR; never NULL. */
const char *tb_tls_conn_error(const struct tb_tls_conn *c);
/* Valid after tb_tls_handshake returned TB_OK. */
void tb_tls_conn_info(const struct tb_tls_conn *c, struct tb_tls_info *info);

/* Time the public-key work of one full handshake: signing with key_file
 * and generating a key share plus shared secret for group.  0 on success. */
int tb_tls_bench_crypto(const char *key_file, const char *group,
			unsigned iterations, struct tb_crypto_floor *out,
			char *err, size_t errlen);

#endif
