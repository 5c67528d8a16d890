/* boringssl.c: core/tls.h on BoringSSL's own API (API 17 and later).
 *
 * Where BoringSSL differs from OpenSSL, this file does what BoringSSL
 * recommends and says so, so that numbers are read right:
 * - TLS 1.3 cipher suites are fixed in BoringSSL (AES-128-GCM, AES-256-GCM,
 *   ChaCha20-Poly1305) and chosen by the library, not by configuration;
 * - TLS 1.3 resumption is ticket-based only (no stateful PSK), so the
 *   "cache" mode cannot resume TLS 1.3 and is refused when 1.3 is enabled;
 * - a BoringSSL server never renegotiates, so there is nothing to disable.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif

#include <openssl/base.h>

#ifndef OPENSSL_IS_BORINGSSL
#error "backends/boringssl.c needs BoringSSL headers (-Dtls=boringssl)"
#endif

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "boringssl_names.h"
#include "tb_build.h"
#include "tls.h"

struct tb_tls_ctx {
	SSL_CTX *ssl_ctx;
};

/* Session cache entries per process and the lifetime of a session or
 * ticket: the same numbers as openssl.c (wolfSSL: see wolfssl.c). */
enum { SESSION_CACHE_SIZE = 20480, SESSION_LIFETIME_S = 7200 };

struct tb_tls_conn {
	SSL *ssl;
	int shutdown_sent;
	char err[192];
};

const char *
tb_tls_backend_name(void)
{
	return "boringssl";
}

const char *
tb_tls_url_scheme(void)
{
	return "https";
}

/* BoringSSL has no release numbers: OpenSSL_version() answers "BoringSSL"
 * and the header's API version is the only version there is.  That the
 * library loaded is the one built against is tb_tls_check_runtime's job. */
const char *
tb_tls_library_version(void)
{
	static char version[64];

	if (version[0] == '\0')
		snprintf(version, sizeof(version), "%s (API %d)",
			 OpenSSL_version(OPENSSL_VERSION),
			 BORINGSSL_API_VERSION);
	return version;
}

/* ------------------------------------------------------------------------
 * Build facts. */

enum { MAX_BUILDINFO_LINES = 32 };

static struct tb_tls_fact facts[12 + MAX_BUILDINFO_LINES + 1];
static char buildinfo_text[sizeof(TB_BUILDINFO)];
static char buildinfo_keys[MAX_BUILDINFO_LINES][64];

/* OPENSSL_SMALL is a flag of the library's own compile, invisible in its
 * headers.  Debian's package is built with it (no fast P-256 tables); for
 * a prefix build only its BUILDINFO can tell. */
static const char *
small_build(void)
{
	if (strcmp(TB_LIB_FLAVOR, "debian") == 0)
		return "yes (debian build)";
	if (strstr(TB_BUILDINFO, "-DOPENSSL_SMALL") != NULL)
		return "yes (buildinfo)";
	if (strstr(TB_BUILDINFO, "openssl_small: no") != NULL)
		return "no (buildinfo)";
	return "unknown";
}

static void
add_fact(size_t *n, const char *key, const char *value)
{
	facts[*n].key = key;
	facts[*n].value = value;
	++*n;
}

static void
add_buildinfo_facts(size_t *n)
{
	char *line, *next;
	size_t i = 0;

	memcpy(buildinfo_text, TB_BUILDINFO, sizeof(buildinfo_text));
	for (line = buildinfo_text; *line != '\0' && i < MAX_BUILDINFO_LINES;
	     line = next) {
		char *colon;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		colon = strstr(line, ": ");
		if (colon == NULL)
			continue;
		*colon = '\0';
		snprintf(buildinfo_keys[i], sizeof(buildinfo_keys[i]),
			 "buildinfo.%s", line);
		add_fact(n, buildinfo_keys[i++], colon + 2);
	}
}

/* Facts: flavor, header_version, runtime_version, prefix (the keys every
 * backend has), then what moves BoringSSL's numbers, then one
 * buildinfo.<key> per "key: value" line of a prefix build's BUILDINFO. */
const struct tb_tls_fact *
tb_tls_build_facts(void)
{
	static char header[32], cache[16];
	static int filled;
	int aes_hw = EVP_has_aes_hardware();
	size_t n = 0;

	if (filled)
		return facts;
	snprintf(header, sizeof(header), "BoringSSL API %d",
		 BORINGSSL_API_VERSION);
	snprintf(cache, sizeof(cache), "%d", SESSION_CACHE_SIZE);
	add_fact(&n, "flavor", TB_LIB_FLAVOR);
	add_fact(&n, "header_version", header);
	/* No release number at run time either: "BoringSSL". */
	add_fact(&n, "runtime_version", OpenSSL_version(OPENSSL_VERSION));
	add_fact(&n, "prefix",
		 TB_LIB_PREFIX[0] != '\0' ? TB_LIB_PREFIX : "system");
	add_fact(&n, "aesni", aes_hw ? "yes" : "no");
	add_fact(&n, "session_cache_size", cache);
	add_fact(&n, "idle_buffers", "released (always)");
	add_fact(&n, "openssl_small", small_build());
	add_fact(&n, "fips", FIPS_mode() ? "yes" : "no");
	/* Decided by AES hardware (see tls13_suites_ok). */
	add_fact(&n, "tls13_suite_choice",
		 aes_hw ? "client order (not configurable)"
			: "chacha20 first (not configurable)");
	add_buildinfo_facts(&n);
	facts[n].key = NULL;
	facts[n].value = NULL;
	filled = 1;
	return facts;
}

/* ------------------------------------------------------------------------
 * Which library was loaded.  Debian's BoringSSL and a tuned build share the
 * sonames libssl.so.0 / libcrypto.so.0, so a version check cannot tell
 * them apart: the files actually mapped must live in TB_LIB_DIR. */

static const char *
loaded_from(const void *symbol)
{
	Dl_info info;

	if (dladdr(symbol, &info) == 0 || info.dli_fname == NULL)
		return "(unknown)";
	return info.dli_fname;
}

static int
file_in_dir(const char *file, const char *dir)
{
	char real_file[PATH_MAX], real_dir[PATH_MAX];
	size_t n;

	if (realpath(file, real_file) == NULL ||
	    realpath(dir, real_dir) == NULL)
		return 0;
	n = strlen(real_dir);
	return strncmp(real_file, real_dir, n) == 0 && real_file[n] == '/' &&
	       strchr(real_file + n + 1, '/') == NULL;
}

int
tb_tls_check_runtime(char *err, size_t errlen)
{
	const char *ssl_file = loaded_from((const void *)SSL_new);
	const char *crypto_file = loaded_from((const void *)EVP_sha256);

	if (file_in_dir(ssl_file, TB_LIB_DIR) &&
	    file_in_dir(crypto_file, TB_LIB_DIR))
		return 0;
	snprintf(err, errlen,
		 "BoringSSL loaded from %s and %s, built against %s: "
		 "a same-soname libssl.so.0/libcrypto.so.0 shadows it "
		 "(check LD_LIBRARY_PATH and the RUNPATH)",
		 ssl_file, crypto_file, TB_LIB_DIR);
	return -1;
}

/* ------------------------------------------------------------------------
 * Context. */

static int
proto_version(int v)
{
	return v == TB_TLS12   ? TLS1_2_VERSION
	       : v == TB_TLS13 ? TLS1_3_VERSION
			       : 0;
}

/* BoringSSL's TLS 1.3 suites are not configurable: all three are always
 * enabled, and the server does not apply its own order to them.  Measured
 * with API 17: on AES hardware it takes the client's first choice (an
 * OpenSSL client gets AES-256-GCM), without AES hardware ChaCha20-Poly1305
 * when offered.  A list is accepted only when it asks for what BoringSSL
 * does anyway: all three suites, starting with the one BoringSSL itself
 * ranks first on this CPU (AES-128-GCM with AES hardware, else ChaCha20).
 * Anything narrower ("only AES-128-GCM") would be silently widened, so it
 * fails; pin the suite from the client instead. */
static int
tls13_suites_ok(const char *list, char *err, size_t errlen)
{
	static const char *const fixed[] = {
		"TLS_AES_128_GCM_SHA256",
		"TLS_AES_256_GCM_SHA384",
		"TLS_CHACHA20_POLY1305_SHA256",
	};
	const char *first_wanted = EVP_has_aes_hardware()
					   ? "TLS_AES_128_GCM_SHA256"
					   : "TLS_CHACHA20_POLY1305_SHA256";
	unsigned seen = 0, count = 0;
	const char *p = list;

	while (*p != '\0') {
		size_t len = strcspn(p, ":"), i;

		for (i = 0; i < 3; i++)
			if (strlen(fixed[i]) == len &&
			    strncmp(p, fixed[i], len) == 0)
				break;
		if (i == 3) {
			snprintf(err, errlen,
				 "TLS 1.3 ciphersuite \"%.*s\" unknown to "
				 "BoringSSL "
				 "(it has only TLS_AES_128_GCM_SHA256, "
				 "TLS_AES_256_GCM_SHA384, "
				 "TLS_CHACHA20_POLY1305_SHA256)",
				 (int)len, p);
			return 0;
		}
		if (count == 0 && strcmp(fixed[i], first_wanted) != 0)
			break;
		seen |= 1u << i;
		count++;
		p += len;
		if (*p == ':')
			p++;
	}
	if (seen == 7 && count == 3)
		return 1;
	snprintf(err, errlen,
		 "TLS 1.3 suites \"%s\" cannot be honoured: BoringSSL "
		 "always enables all three and picks by itself; give all "
		 "three starting with %s, or pin the suite from the client",
		 list, first_wanted);
	return 0;
}

/* The session state a client can come back with, per tb_resumption. */
static int
set_resumption(SSL_CTX *ssl_ctx, const struct tb_tls_config *cfg, char *err,
	       size_t errlen)
{
	static const unsigned char sid_ctx[] = "tlsbench";
	uint8_t ticket_keys[48];
	int cache = cfg->resumption == TB_RESUME_CACHE ||
		    cfg->resumption == TB_RESUME_BOTH;
	int tickets = cfg->resumption == TB_RESUME_TICKETS ||
		      cfg->resumption == TB_RESUME_BOTH;

	/* BoringSSL implements TLS 1.3 resumption with tickets only: with
	 * SSL_OP_NO_TICKET it sends no NewSessionTicket and every 1.3
	 * handshake is full.  Refuse rather than measure "cache" as full
	 * handshakes. */
	if (cfg->resumption == TB_RESUME_CACHE &&
	    cfg->max_version >= TB_TLS13) {
		snprintf(err, errlen,
			 "--resumption cache with TLS 1.3 enabled: BoringSSL "
			 "resumes TLS 1.3 only with tickets (no stateful "
			 "PSK); use --tls-max 1.2 or --resumption "
			 "tickets|both");
		return 0;
	}
	if (!SSL_CTX_set_session_id_context(ssl_ctx, sid_ctx,
					    sizeof(sid_ctx) - 1)) {
		snprintf(err, errlen, "cannot set session id context");
		return 0;
	}
	SSL_CTX_set_session_cache_mode(ssl_ctx, cache ? SSL_SESS_CACHE_SERVER
						      : SSL_SESS_CACHE_OFF);
	/* The same cache size and session lifetime as the other backends
	 * (BoringSSL's own: 20480, 2 hours for 1.2 but 2 days for 1.3). */
	SSL_CTX_sess_set_cache_size(ssl_ctx, SESSION_CACHE_SIZE);
	SSL_CTX_set_timeout(ssl_ctx, SESSION_LIFETIME_S);
	SSL_CTX_set_session_psk_dhe_timeout(ssl_ctx, SESSION_LIFETIME_S);
	if (!tickets) {
		SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_TICKET);
		return 1;
	}
	/* BoringSSL sends two TLS 1.3 tickets by default; one per
	 * handshake is what the other backends send, so the cost of minting
	 * tickets is the same everywhere. */
	SSL_CTX_set_num_tickets(ssl_ctx, 1);
	/* Fixed keys instead of BoringSSL's lazily generated, rotating ones:
	 * a context made before the workers fork then shares one key, and a
	 * ticket from one worker resumes on any other. */
	if (!RAND_bytes(ticket_keys, sizeof(ticket_keys)) ||
	    !SSL_CTX_set_tlsext_ticket_keys(ssl_ctx, ticket_keys,
					    sizeof(ticket_keys))) {
		snprintf(err, errlen, "cannot set session ticket keys");
		return 0;
	}
	return 1;
}

/* Sets a name list with setter, which refuses a bad list without saying
 * which name is wrong: each plain entry is tried alone first, so the
 * error names it.  Operators (!x, -x, +x, @x) and equal-preference
 * groups ([a|b]) are left to the call on the whole list. */
static int
set_list(SSL_CTX *ssl_ctx, int (*setter)(SSL_CTX *, const char *),
	 const char *list, const char *seps, const char *what, char *err,
	 size_t errlen)
{
	char lib[160], copy[1024], *tok, *save = NULL;

	if (strlen(list) >= sizeof(copy)) {
		snprintf(err, errlen, "%s list too long: \"%.40s...\"", what,
			 list);
		return 0;
	}
	strcpy(copy, list);
	for (tok = strtok_r(copy, seps, &save); tok != NULL;
	     tok = strtok_r(NULL, seps, &save)) {
		if (strchr("!-+@", tok[0]) != NULL || strpbrk(tok, "[|]"))
			continue;
		if (!setter(ssl_ctx, tok)) {
			ERR_clear_error();
			snprintf(err, errlen, "%s \"%s\" unknown to BoringSSL",
				 what, tok);
			return 0;
		}
	}
	if (!setter(ssl_ctx, list)) {
		snprintf(err, errlen, "%s list \"%s\" rejected: %s", what, list,
			 lib_error(lib, sizeof(lib)));
		return 0;
	}
	return 1;
}

static int
configure(SSL_CTX *ssl_ctx, const struct tb_tls_config *cfg, char *err,
	  size_t errlen)
{
	char lib[160];
	int min = proto_version(cfg->min_version);
	int max = proto_version(cfg->max_version);

	if (min == 0 || max == 0 || min > max) {
		snprintf(err, errlen,
			 "TLS version range %d..%d unsupported (12 or 13, "
			 "min <= max)",
			 cfg->min_version, cfg->max_version);
		return 0;
	}
	/* BoringSSL's recommended way; the SSL_OP_NO_TLS* flags are
	 * deprecated. */
	if (!SSL_CTX_set_min_proto_version(ssl_ctx, (uint16_t)min) ||
	    !SSL_CTX_set_max_proto_version(ssl_ctx, (uint16_t)max)) {
		snprintf(err, errlen, "cannot set TLS versions: %s",
			 lib_error(lib, sizeof(lib)));
		return 0;
	}
	/* The "strict" setter is BoringSSL's recommended one: an unknown
	 * name or stray separator fails instead of being skipped. */
	if (cfg->ciphers != NULL &&
	    !set_list(ssl_ctx, SSL_CTX_set_strict_cipher_list, cfg->ciphers,
		      ":, ", "TLS 1.2 cipher", err, errlen))
		return 0;
	if (cfg->ciphersuites != NULL &&
	    !tls13_suites_ok(cfg->ciphersuites, err, errlen))
		return 0;
	/* SSL_CTX_set1_groups_list arrived in API 19; the curves name works
	 * in 13 and 14 alike and takes the same names (X25519, P-256). */
	if (cfg->groups != NULL &&
	    !set_list(ssl_ctx, SSL_CTX_set1_curves_list, cfg->groups, ":",
		      "group", err, errlen))
		return 0;
	/* The configured order decides, as nginx's ssl_prefer_server_ciphers
	 * does: in BoringSSL this covers the TLS 1.2 cipher and the group
	 * (1.2 and 1.3), not the 1.3 suite.  A 1.3 client whose key share is
	 * not the server's first shared group gets a HelloRetryRequest, an
	 * extra round trip the numbers then include. */
	SSL_CTX_set_options(ssl_ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Partial writes let tb_tls_write report progress per record, and
	 * the core may retry from a buffer that has moved (tls.h asks for the
	 * same buffer; this makes a copy harmless, not required). */
	SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Memory per connection: BoringSSL always frees its record buffers
	 * once they are empty (SSL_MODE_RELEASE_BUFFERS is a no-op there),
	 * so an idle connection holds none; OpenSSL keeps them (see
	 * openssl.c, fact idle_buffers). */
	if (!SSL_CTX_use_certificate_chain_file(ssl_ctx, cfg->cert_file)) {
		snprintf(err, errlen, "cannot load certificate chain %s: %s",
			 cfg->cert_file, lib_error(lib, sizeof(lib)));
		return 0;
	}
	if (!SSL_CTX_use_PrivateKey_file(ssl_ctx, cfg->key_file,
					 SSL_FILETYPE_PEM)) {
		snprintf(err, errlen, "cannot load private key %s: %s",
			 cfg->key_file, lib_error(lib, sizeof(lib)));
		return 0;
	}
	if (!SSL_CTX_check_private_key(ssl_ctx)) {
		snprintf(err, errlen, "private key %s does not match %s",
			 cfg->key_file, cfg->cert_file);
		return 0;
	}
	return set_resumption(ssl_ctx, cfg, err, errlen);
}

struct tb_tls_ctx *
tb_tls_ctx_new(const struct tb_tls_config *cfg, char *err, size_t errlen)
{
	struct tb_tls_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	ctx->ssl_ctx = SSL_CTX_new(TLS_method());
	if (ctx->ssl_ctx == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		free(ctx);
		return NULL;
	}
	if (!configure(ctx->ssl_ctx, cfg, err, errlen)) {
		ERR_clear_error();
		tb_tls_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void
tb_tls_ctx_free(struct tb_tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

/* ------------------------------------------------------------------------
 * Connections. */

struct tb_tls_conn *
tb_tls_conn_new(struct tb_tls_ctx *ctx, int fd)
{
	struct tb_tls_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ssl = SSL_new(ctx->ssl_ctx);
	/* SSL_set_fd wraps fd in a BIO_NOCLOSE socket BIO: the fd stays the
	 * caller's. */
	if (c->ssl == NULL || !SSL_set_fd(c->ssl, fd)) {
		SSL_free(c->ssl);
		free(c);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_accept_state(c->ssl);
	return c;
}

void
tb_tls_conn_free(struct tb_tls_conn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	free(c);
}

/* The one place a BoringSSL result becomes a tb_status.  Call it straight
 * after the SSL_* call, before anything can touch errno or the error
 * queue. */
static enum tb_status
conn_status(struct tb_tls_conn *c, const char *op, int ret)
{
	int saved_errno = errno;
	int e = SSL_get_error(c->ssl, ret);
	char lib[160];

	switch (e) {
	case SSL_ERROR_NONE:
		return TB_OK;
	case SSL_ERROR_WANT_READ:
		return TB_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TB_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TB_CLOSED; /* close_notify */
	case SSL_ERROR_SYSCALL:
		/* ret 0 with an empty queue: EOF without close_notify.  errno
		 * is meaningful only when the socket call itself failed. */
		if (ret == 0 || saved_errno == ECONNRESET ||
		    saved_errno == EPIPE || saved_errno == ENOTCONN ||
		    saved_errno == 0)
			return TB_CLOSED;
		snprintf(c->err, sizeof(c->err), "%s: %s", op,
			 strerror(saved_errno));
		ERR_clear_error();
		return TB_ERROR;
	case SSL_ERROR_SSL:
		snprintf(c->err, sizeof(c->err), "%s: %s", op,
			 lib_error(lib, sizeof(lib)));
		return TB_ERROR;
	default:
		snprintf(c->err, sizeof(c->err), "%s: unexpected SSL error %d",
			 op, e);
		ERR_clear_error();
		return TB_ERROR;
	}
}

enum tb_status
tb_tls_handshake(struct tb_tls_conn *c)
{
	int ret;

	ERR_clear_error();
	errno = 0;
	ret = SSL_do_handshake(c->ssl);
	return conn_status(c, "handshake", ret);
}

enum tb_status
tb_tls_read(struct tb_tls_conn *c, void *buf, size_t len, size_t *n)
{
	enum tb_status st;
	int ret;

	*n = 0;
	if (len == 0)
		return TB_OK; /* SSL_read(…, 0) would look like a close */
	ERR_clear_error();
	errno = 0;
	ret = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	st = conn_status(c, "read", ret);
	if (st == TB_OK)
		*n = (size_t)ret;
	return st;
}

enum tb_status
tb_tls_write(struct tb_tls_conn *c, const void *buf, size_t len, size_t *n)
{
	enum tb_status st;
	int ret;

	*n = 0;
	if (len == 0)
		return TB_OK; /* SSL_write(…, 0) is not a clean no-op */
	ERR_clear_error();
	errno = 0;
	ret = SSL_write(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	st = conn_status(c, "write", ret);
	if (st == TB_OK)
		*n = (size_t)ret;
	return st;
}

/* One SSL_shutdown: it queues and flushes our close_notify and returns 0
 * ("peer's not seen yet"), which is all we want; we never wait for the
 * peer's.  Quiet shutdown stays off so close_notify is really sent.  As
 * in the other backends: nothing before the handshake is done, nothing
 * twice, and a full socket buffer drops the alert rather than wait. */
enum tb_status
tb_tls_shutdown(struct tb_tls_conn *c)
{
	enum tb_status st;
	int ret;

	if (c->shutdown_sent || !SSL_is_init_finished(c->ssl))
		return TB_OK;
	c->shutdown_sent = 1;
	ERR_clear_error();
	errno = 0;
	ret = SSL_shutdown(c->ssl);
	if (ret >= 0)
		return TB_OK;
	st = conn_status(c, "shutdown", ret);
	return st == TB_WANT_READ || st == TB_WANT_WRITE ? TB_OK : st;
}

const char *
tb_tls_conn_error(const struct tb_tls_conn *c)
{
	return c->err[0] != '\0' ? c->err : "no error";
}

void
tb_tls_conn_info(const struct tb_tls_conn *c, struct tb_tls_info *info)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
	int resumed = SSL_session_reused(c->ssl) ? 1 : 0;
	/* A resumed TLS 1.2 handshake exchanges no key; BoringSSL would
	 * still name the group of the original session (the others say -). */
	uint16_t group = resumed && SSL_version(c->ssl) < TLS1_3_VERSION
				 ? 0
				 : SSL_get_curve_id(c->ssl);
	const char *group_name = group != 0 ? SSL_get_curve_name(group) : NULL;
	const char *cipher_name =
		cipher != NULL ? SSL_CIPHER_standard_name(cipher) : NULL;

	info->version = SSL_get_version(c->ssl);
	/* IANA names, comparable with the other backends. */
	info->cipher = cipher_name != NULL ? cipher_name : "-";
	info->group = group_name != NULL ? group_name : "-";
	info->resumed = resumed;
}
