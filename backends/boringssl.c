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
#include <strings.h>
#include <time.h>

#include <openssl/aead.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/curve25519.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdh.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>

#include "tb_build.h"
#include "tls.h"

struct tb_tls_ctx {
	SSL_CTX *ssl_ctx;
};

struct tb_tls_conn {
	SSL *ssl;
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

static struct tb_tls_fact facts[8 + MAX_BUILDINFO_LINES + 1];
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

const struct tb_tls_fact *
tb_tls_build_facts(void)
{
	static char api[16];
	static int filled;
	int aes_hw = EVP_has_aes_hardware();
	size_t n = 0;

	if (filled)
		return facts;
	snprintf(api, sizeof(api), "%d", BORINGSSL_API_VERSION);
	add_fact(&n, "flavor", TB_LIB_FLAVOR);
	add_fact(&n, "api_version", api);
	add_fact(&n, "prefix",
		 TB_LIB_PREFIX[0] != '\0' ? TB_LIB_PREFIX : "debian android");
	add_fact(&n, "opensmall", small_build());
	add_fact(&n, "fips", FIPS_mode() ? "yes" : "no");
	/* Decides BoringSSL's TLS 1.3 cipher choice (see tls13_suites_ok). */
	add_fact(&n, "aes_hw", aes_hw ? "yes" : "no");
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

/* The oldest queued library error as text, or "no library error". */
static const char *
lib_error(char *buf, size_t len)
{
	uint32_t e = ERR_get_error();

	if (e == 0)
		snprintf(buf, len, "no library error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

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
				 "TLS 1.3 suite \"%.*s\" unknown to BoringSSL "
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

static int
configure(SSL_CTX *ssl_ctx, const struct tb_tls_config *cfg, char *err,
	  size_t errlen)
{
	char lib[160];
	int min = proto_version(cfg->min_version);
	int max = proto_version(cfg->max_version);

	if (min == 0 || max == 0 || min > max) {
		snprintf(err, errlen, "bad TLS version range %d..%d",
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
	    !SSL_CTX_set_strict_cipher_list(ssl_ctx, cfg->ciphers)) {
		snprintf(err, errlen, "TLS 1.2 cipher list \"%s\" rejected: %s",
			 cfg->ciphers, lib_error(lib, sizeof(lib)));
		return 0;
	}
	if (cfg->ciphersuites != NULL &&
	    !tls13_suites_ok(cfg->ciphersuites, err, errlen))
		return 0;
	/* SSL_CTX_set1_groups_list arrived in API 19; the curves name works
	 * in 13 and 14 alike and takes the same names (X25519, P-256). */
	if (cfg->groups != NULL &&
	    !SSL_CTX_set1_curves_list(ssl_ctx, cfg->groups)) {
		snprintf(err, errlen,
			 "group list \"%s\" rejected (BoringSSL knows X25519, "
			 "P-256, P-384, P-521)",
			 cfg->groups);
		ERR_clear_error();
		return 0;
	}
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
 * peer's.  Quiet shutdown stays off so close_notify is really sent. */
enum tb_status
tb_tls_shutdown(struct tb_tls_conn *c)
{
	int ret;

	ERR_clear_error();
	errno = 0;
	ret = SSL_shutdown(c->ssl);
	if (ret >= 0)
		return TB_OK;
	return conn_status(c, "shutdown", ret);
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
	uint16_t group = SSL_get_curve_id(c->ssl);
	const char *group_name = group != 0 ? SSL_get_curve_name(group) : NULL;
	const char *cipher_name =
		cipher != NULL ? SSL_CIPHER_standard_name(cipher) : NULL;

	info->version = SSL_get_version(c->ssl);
	/* IANA names, comparable with the other backends. */
	info->cipher = cipher_name != NULL ? cipher_name : "-";
	info->group = group_name != NULL ? group_name : "-";
	info->resumed = SSL_session_reused(c->ssl) ? 1 : 0;
}

/* ------------------------------------------------------------------------
 * The public-key floor of one full handshake, through BoringSSL itself. */

enum { WARMUP_ITERATIONS = 8 };

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* How a TLS 1.3 server signs with this key (CertificateVerify). */
struct signer {
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *pctx; /* RSA-PSS and ECDSA: sign a digest */
	EVP_MD_CTX *md_ctx; /* Ed25519: sign the message itself */
	uint8_t digest[64];
	size_t digest_len;
	uint8_t *sig;
	size_t sig_cap;
};

static int
signer_init(struct signer *s, const char *key_file, const char **alg, char *err,
	    size_t errlen)
{
	char lib[160];
	const EVP_MD *md = EVP_sha256();
	BIO *bio = BIO_new_file(key_file, "r");
	int type;

	if (bio != NULL)
		s->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (s->pkey == NULL) {
		snprintf(err, errlen, "cannot read private key %s: %s",
			 key_file, lib_error(lib, sizeof(lib)));
		return 0;
	}
	type = EVP_PKEY_id(s->pkey);
	s->sig_cap = (size_t)EVP_PKEY_size(s->pkey);
	s->sig = malloc(s->sig_cap);
	RAND_bytes(s->digest, sizeof(s->digest));
	s->digest_len = 32;
	if (s->sig == NULL) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	if (type == EVP_PKEY_ED25519) {
		*alg = "ed25519";
		s->md_ctx = EVP_MD_CTX_new();
		if (s->md_ctx == NULL)
			snprintf(err, errlen, "out of memory");
		return s->md_ctx != NULL;
	}
	if (type == EVP_PKEY_RSA) {
		*alg = "rsa_pss_rsae_sha256";
	} else if (type == EVP_PKEY_EC) {
		const EC_GROUP *g =
			EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(s->pkey));
		unsigned bits = EC_GROUP_get_degree(g);

		/* TLS 1.3 ties the hash to the curve. */
		if (bits <= 256) {
			*alg = "ecdsa_secp256r1_sha256";
		} else if (bits <= 384) {
			*alg = "ecdsa_secp384r1_sha384";
			md = EVP_sha384();
			s->digest_len = 48;
		} else {
			*alg = "ecdsa_secp521r1_sha512";
			md = EVP_sha512();
			s->digest_len = 64;
		}
	} else {
		snprintf(err, errlen, "%s: key type %d has no TLS 1.3 scheme",
			 key_file, type);
		return 0;
	}
	s->pctx = EVP_PKEY_CTX_new(s->pkey, NULL);
	if (s->pctx == NULL || EVP_PKEY_sign_init(s->pctx) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(s->pctx, md) <= 0 ||
	    (type == EVP_PKEY_RSA &&
	     (EVP_PKEY_CTX_set_rsa_padding(s->pctx, RSA_PKCS1_PSS_PADDING) <=
		      0 ||
	      /* -1: salt as long as the hash, as TLS 1.3 requires */
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(s->pctx, -1) <= 0))) {
		snprintf(err, errlen, "cannot set up signing with %s: %s",
			 key_file, lib_error(lib, sizeof(lib)));
		return 0;
	}
	return 1;
}

static int
signer_sign(struct signer *s)
{
	size_t len = s->sig_cap;

	if (s->md_ctx != NULL)
		return EVP_DigestSignInit(s->md_ctx, NULL, NULL, NULL,
					  s->pkey) == 1 &&
		       EVP_DigestSign(s->md_ctx, s->sig, &len, s->digest,
				      s->digest_len) == 1;
	return EVP_PKEY_sign(s->pctx, s->sig, &len, s->digest, s->digest_len) ==
	       1;
}

static void
signer_free(struct signer *s)
{
	EVP_MD_CTX_free(s->md_ctx);
	EVP_PKEY_CTX_free(s->pctx);
	EVP_PKEY_free(s->pkey);
	free(s->sig);
}

/* A key exchange group as the server meets it: the client's share arrives
 * as bytes, one per handshake and never repeated (a repeated peer point
 * flatters libraries that cache it). */
struct kex {
	const char *name;
	int nid; /* NID_undef for X25519 */
	size_t share_len;
	uint8_t *peers; /* iterations * share_len */
	EC_GROUP *group;
};

static int
kex_lookup(struct kex *k, const char *name)
{
	static const struct {
		const char *alias;
		const char *name;
		int nid;
		size_t share_len;
	} table[] = {
		{"X25519", "X25519", NID_undef, 32},
		{"P-256", "P-256", NID_X9_62_prime256v1, 65},
		{"prime256v1", "P-256", NID_X9_62_prime256v1, 65},
		{"secp256r1", "P-256", NID_X9_62_prime256v1, 65},
		{"P-384", "P-384", NID_secp384r1, 97},
		{"secp384r1", "P-384", NID_secp384r1, 97},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcasecmp(name, table[i].alias) == 0) {
			k->name = table[i].name;
			k->nid = table[i].nid;
			k->share_len = table[i].share_len;
			return 1;
		}
	}
	return 0;
}

/* A public key share in wire form. */
static int
ec_share(const EC_KEY *key, uint8_t *out, size_t len)
{
	return EC_POINT_point2oct(
		       EC_KEY_get0_group(key), EC_KEY_get0_public_key(key),
		       POINT_CONVERSION_UNCOMPRESSED, out, len, NULL) == len;
}

static int
kex_make_peers(struct kex *k, unsigned count)
{
	uint8_t priv[32];

	k->peers = malloc((size_t)count * k->share_len);
	if (k->peers == NULL)
		return 0;
	for (unsigned i = 0; i < count; i++) {
		uint8_t *share = k->peers + (size_t)i * k->share_len;
		EC_KEY *key;
		int ok;

		if (k->nid == NID_undef) {
			X25519_keypair(share, priv);
			continue;
		}
		key = EC_KEY_new_by_curve_name(k->nid);
		ok = key != NULL && EC_KEY_generate_key(key) &&
		     ec_share(key, share, k->share_len);
		if (ok && k->group == NULL)
			k->group = EC_GROUP_new_by_curve_name(k->nid);
		EC_KEY_free(key);
		if (!ok || k->group == NULL)
			return 0;
	}
	return 1;
}

/* One server key share plus the shared secret against peer share i. */
static int
kex_once(const struct kex *k, unsigned i)
{
	const uint8_t *peer = k->peers + (size_t)i * k->share_len;
	uint8_t share[97], secret[48];
	EC_POINT *point;
	EC_KEY *key;
	int ok;

	if (k->nid == NID_undef) {
		uint8_t priv[32];

		X25519_keypair(share, priv);
		return X25519(secret, priv, peer);
	}
	point = EC_POINT_new(k->group);
	key = EC_KEY_new_by_curve_name(k->nid);
	ok = point != NULL && key != NULL &&
	     EC_POINT_oct2point(k->group, point, peer, k->share_len, NULL) &&
	     EC_KEY_generate_key(key) && ec_share(key, share, k->share_len) &&
	     ECDH_compute_key(secret, sizeof(secret), point, key, NULL) > 0;
	EC_KEY_free(key);
	EC_POINT_free(point);
	return ok;
}

int
tb_tls_bench_crypto(const char *key_file, const char *group,
		    unsigned iterations, struct tb_crypto_floor *out, char *err,
		    size_t errlen)
{
	struct signer s = {0};
	struct kex k = {0};
	const char *alg = "-";
	char lib[160];
	double t0;
	int ok = 0;
	unsigned i;

	if (iterations == 0) {
		snprintf(err, errlen, "bench_crypto: iterations must be > 0");
		return -1;
	}
	if (!kex_lookup(&k, group != NULL ? group : "X25519")) {
		snprintf(err, errlen,
			 "group \"%s\" not benchmarked "
			 "(X25519, P-256, P-384)",
			 group);
		return -1;
	}
	ERR_clear_error();
	if (!signer_init(&s, key_file, &alg, err, errlen))
		goto done;
	if (!kex_make_peers(&k, iterations)) {
		snprintf(err, errlen, "cannot generate %u %s peer keys: %s",
			 iterations, k.name, lib_error(lib, sizeof(lib)));
		goto done;
	}
	for (i = 0; i < WARMUP_ITERATIONS; i++)
		if (!signer_sign(&s) || !kex_once(&k, i % iterations))
			break;
	if (i < WARMUP_ITERATIONS) {
		snprintf(err, errlen, "%s / %s failed: %s", alg, k.name,
			 lib_error(lib, sizeof(lib)));
		goto done;
	}

	t0 = now_us();
	for (i = 0; i < iterations && signer_sign(&s); i++)
		;
	out->sign_us = (now_us() - t0) / iterations;
	if (i < iterations) {
		snprintf(err, errlen, "signing with %s failed: %s", key_file,
			 lib_error(lib, sizeof(lib)));
		goto done;
	}
	t0 = now_us();
	for (i = 0; i < iterations && kex_once(&k, i); i++)
		;
	out->kex_us = (now_us() - t0) / iterations;
	if (i < iterations) {
		snprintf(err, errlen, "%s key exchange failed: %s", k.name,
			 lib_error(lib, sizeof(lib)));
		goto done;
	}
	out->sig_alg = alg;
	out->group = k.name;
	out->iterations = iterations;
	ok = 1;
done:
	signer_free(&s);
	free(k.peers);
	EC_GROUP_free(k.group);
	return ok ? 0 : -1;
}
