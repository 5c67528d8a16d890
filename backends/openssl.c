/* openssl.c: core/tls.h on OpenSSL 3, native API on the raw socket fd. */
#define _GNU_SOURCE /* dladdr */

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "tb_build.h"
#include "tls.h"

/* BoringSSL and LibreSSL headers define OPENSSL_VERSION_NUMBER too. */
#if !defined(OPENSSL_VERSION_NUMBER) || defined(OPENSSL_IS_BORINGSSL) ||       \
	defined(LIBRESSL_VERSION_NUMBER) ||                                    \
	OPENSSL_VERSION_NUMBER < 0x30000000L
#error "backends/openssl.c needs OpenSSL 3 headers (-Dtls=openssl)"
#endif

#include "openssl_names.h"

struct tb_tls_ctx {
	SSL_CTX *ssl_ctx;
};

struct tb_tls_conn {
	SSL *ssl;
	/* SSL_ERROR_SYSCALL or SSL_ERROR_SSL was seen: OpenSSL forbids
	 * SSL_shutdown after those, and the peer is gone or hostile. */
	int fatal;
	int shutdown_sent;
	char err[256];
};

/* The session cache holds this many sessions per process (OpenSSL's own
 * default, SSL_SESSION_CACHE_MAX_SIZE_DEFAULT, written out so the number
 * sits next to the other backends' and cannot drift with a release). */
enum { SESSION_CACHE_SIZE = 20480 };

/* How long a cached session or a ticket stays valid (OpenSSL's own is
 * 300 s, shorter than a long run): the same in BoringSSL; wolfSSL keeps
 * its 500 s (see wolfssl.c). */
enum { SESSION_LIFETIME_S = 7200 };

/* Ties cached sessions to this server; OpenSSL refuses to resume a
 * cached session whose context differs. */
static const unsigned char session_id_context[] = "tlsbench";

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Identity and build facts */

const char *
tb_tls_backend_name(void)
{
	return "openssl";
}

const char *
tb_tls_library_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

const char *
tb_tls_url_scheme(void)
{
	return "https";
}

/* The file a symbol was loaded from, or NULL. */
static const char *
symbol_file(void *sym)
{
	Dl_info info;

	if (dladdr(sym, &info) == 0 || info.dli_fname == NULL)
		return NULL;
	return info.dli_fname;
}

/* "yes"/"no" from OpenSSL's CPU capability vector ("OPENSSL_ia32cap=
 * 0xLOW:0xHIGH", see OPENSSL_ia32cap(3)); bit 57 is CPUID.1:ECX.AESNI.
 * Honours an OPENSSL_ia32cap override, as the library itself does. */
static const char *
aesni_from_cpu_info(const char *cpu)
{
	static const char tag[] = "OPENSSL_ia32cap=";
	unsigned long long caps;

	if (strncmp(cpu, tag, sizeof(tag) - 1) != 0)
		return "unknown";
	caps = strtoull(cpu + sizeof(tag) - 1, NULL, 16);
	return (caps >> 57) & 1 ? "yes" : "no";
}

/* Facts: flavor, header_version, runtime_version, prefix (the keys every
 * backend has), aesni, session_cache_size, idle_buffers, libssl (the
 * file loaded), security_level (Debian builds default to 2, upstream to
 * 1), cpu_info (OpenSSL's capability vector: which assembly paths run),
 * and one buildinfo.<key> per "key: value" line of a prefix build's
 * BUILDINFO.  CFLAGS, build date and platform are left out: they are
 * noise next to these. */
static struct tb_tls_fact facts[12 + sizeof(TB_BUILDINFO)];
static char cache_size[16];
static char buildinfo_store[sizeof(TB_BUILDINFO) * 4 + 16];
static char security_level[16];

static size_t
add_buildinfo_facts(size_t n)
{
	static const char prefix[] = "buildinfo.";
	const char *line = TB_BUILDINFO;
	char *out = buildinfo_store;
	char *end = buildinfo_store + sizeof(buildinfo_store);

	while (*line != '\0') {
		const char *eol = strchr(line, '\n');
		const char *sep = strstr(line, ": ");
		size_t linelen = eol ? (size_t)(eol - line) : strlen(line);

		if (sep != NULL && sep > line &&
		    (size_t)(sep - line) < linelen &&
		    (size_t)(end - out) > sizeof(prefix) + linelen + 1) {
			size_t klen = (size_t)(sep - line);
			size_t vlen = linelen - klen - 2;

			facts[n].key = out;
			out += sprintf(out, "%s%.*s", prefix, (int)klen, line) +
			       1;
			facts[n].value = out;
			memcpy(out, sep + 2, vlen);
			out[vlen] = '\0';
			out += vlen + 1;
			n++;
		}
		line += linelen + (eol != NULL);
	}
	return n;
}

const struct tb_tls_fact *
tb_tls_build_facts(void)
{
	const char *cpu, *libssl;
	SSL_CTX *probe;
	size_t n = 0;

	if (facts[0].key != NULL)
		return facts;
	ossl_init();
	cpu = OpenSSL_version(OPENSSL_CPU_INFO);
	if (strncmp(cpu, "CPUINFO: ", 9) == 0)
		cpu += 9;
	libssl = symbol_file((void *)SSL_new);
	probe = SSL_CTX_new(TLS_server_method());
	if (probe != NULL)
		snprintf(security_level, sizeof(security_level), "%d",
			 SSL_CTX_get_security_level(probe));
	else
		snprintf(security_level, sizeof(security_level), "unknown");
	SSL_CTX_free(probe);
	ERR_clear_error();

	facts[n++] = (struct tb_tls_fact){"flavor", TB_LIB_FLAVOR};
	facts[n++] =
		(struct tb_tls_fact){"header_version", OPENSSL_VERSION_TEXT};
	facts[n++] = (struct tb_tls_fact){"runtime_version",
					  OpenSSL_version(OPENSSL_VERSION)};
	facts[n++] = (struct tb_tls_fact){
		"prefix", TB_LIB_PREFIX[0] != '\0' ? TB_LIB_PREFIX : "system"};
	facts[n++] = (struct tb_tls_fact){"aesni", aesni_from_cpu_info(cpu)};
	snprintf(cache_size, sizeof(cache_size), "%d", SESSION_CACHE_SIZE);
	facts[n++] = (struct tb_tls_fact){"session_cache_size", cache_size};
	facts[n++] = (struct tb_tls_fact){"idle_buffers",
					  "kept (no SSL_MODE_RELEASE_BUFFERS)"};
	facts[n++] = (struct tb_tls_fact){"libssl",
					  libssl != NULL ? libssl : "unknown"};
	facts[n++] = (struct tb_tls_fact){"security_level", security_level};
	facts[n++] = (struct tb_tls_fact){"cpu_info", cpu};
	n = add_buildinfo_facts(n);
	facts[n] = (struct tb_tls_fact){NULL, NULL};
	return facts;
}

/* The library file holding sym must lie inside dir (both resolved). */
static int
check_loaded_from(void *sym, const char *what, const char *dir, char *err,
		  size_t errlen)
{
	char real_dir[PATH_MAX], real_file[PATH_MAX];
	const char *file = symbol_file(sym);
	size_t len;

	if (file == NULL || realpath(file, real_file) == NULL) {
		set_err(err, errlen, "cannot tell which %s was loaded", what);
		return -1;
	}
	if (realpath(dir, real_dir) == NULL) {
		set_err(err, errlen, "library dir %s: %s", dir,
			strerror(errno));
		return -1;
	}
	len = strlen(real_dir);
	if (strncmp(real_file, real_dir, len) != 0 || real_file[len] != '/') {
		set_err(err, errlen,
			"%s loaded from %s, not from the build's %s (check "
			"LD_LIBRARY_PATH / LD_PRELOAD)",
			what, real_file, real_dir);
		return -1;
	}
	return 0;
}

int
tb_tls_check_runtime(char *err, size_t errlen)
{
	/* 3.x numbers are 0xMNN00PP0: the top 12 bits are major.minor. */
	unsigned long built = (unsigned long)OPENSSL_VERSION_NUMBER >> 20;
	unsigned long loaded = OpenSSL_version_num() >> 20;

	if (built != loaded) {
		set_err(err, errlen,
			"built against %s headers but running %s "
			"(rebuild, or fix the library search path)",
			OPENSSL_VERSION_TEXT, OpenSSL_version(OPENSSL_VERSION));
		return -1;
	}
	if (TB_LIB_DIR[0] == '\0')
		return 0;
	if (check_loaded_from((void *)SSL_new, "libssl", TB_LIB_DIR, err,
			      errlen) != 0 ||
	    check_loaded_from((void *)EVP_PKEY_new, "libcrypto", TB_LIB_DIR,
			      err, errlen) != 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Context */

static int
proto_version(int v)
{
	switch (v) {
	case TB_TLS12:
		return TLS1_2_VERSION;
	case TB_TLS13:
		return TLS1_3_VERSION;
	}
	return 0;
}

/* SSL_CTX_set_cipher_list() succeeds when any one entry matches and
 * drops the rest without a word; try each plain entry alone so a typo
 * fails loudly.  Operators (!x, -x, +x, @SECLEVEL) are left to OpenSSL. */
static int
set_tls12_ciphers(SSL_CTX *ssl_ctx, const char *list, char *err, size_t errlen)
{
	char lib[160], copy[1024], *tok, *save = NULL;

	if (strlen(list) >= sizeof(copy)) {
		set_err(err, errlen, "cipher list too long: \"%.40s...\"",
			list);
		return -1;
	}
	strcpy(copy, list);
	for (tok = strtok_r(copy, ":, ", &save); tok != NULL;
	     tok = strtok_r(NULL, ":, ", &save)) {
		if (strchr("!-+@", tok[0]) != NULL)
			continue;
		if (!SSL_CTX_set_cipher_list(ssl_ctx, tok)) {
			ERR_clear_error();
			set_err(err, errlen,
				"TLS 1.2 cipher \"%s\" unknown to OpenSSL",
				tok);
			return -1;
		}
	}
	if (!SSL_CTX_set_cipher_list(ssl_ctx, list)) {
		set_err(err, errlen, "TLS 1.2 cipher list \"%s\" rejected: %s",
			list, ossl_reason(lib, sizeof(lib)));
		return -1;
	}
	return 0;
}

/* SSL_CTX_set_ciphersuites() skips unknown names, and fails only when
 * none is known; try each one alone so any unknown name fails loudly. */
static int
set_tls13_suites(SSL_CTX *ssl_ctx, const char *list, char *err, size_t errlen)
{
	char lib[160], copy[1024], *tok, *save = NULL;
	int count = 0;

	if (strlen(list) >= sizeof(copy)) {
		set_err(err, errlen, "ciphersuite list too long: \"%.40s...\"",
			list);
		return -1;
	}
	strcpy(copy, list);
	for (tok = strtok_r(copy, ":", &save); tok != NULL;
	     tok = strtok_r(NULL, ":", &save), count++) {
		if (!SSL_CTX_set_ciphersuites(ssl_ctx, tok)) {
			ERR_clear_error();
			set_err(err, errlen,
				"TLS 1.3 ciphersuite \"%s\" unknown to OpenSSL "
				"(use IANA names, e.g. TLS_AES_128_GCM_SHA256)",
				tok);
			return -1;
		}
	}
	if (count == 0) {
		set_err(err, errlen, "empty TLS 1.3 ciphersuite list");
		return -1;
	}
	if (!SSL_CTX_set_ciphersuites(ssl_ctx, list)) {
		set_err(err, errlen, "TLS 1.3 ciphersuites \"%s\" rejected: %s",
			list, ossl_reason(lib, sizeof(lib)));
		return -1;
	}
	return 0;
}

/* SSL_CTX_set1_groups_list() refuses a list without saying which name
 * is wrong; try each one alone first so the error names it. */
static int
set_groups(SSL_CTX *ssl_ctx, const char *list, char *err, size_t errlen)
{
	char lib[160], copy[1024], *tok, *save = NULL;

	if (strlen(list) >= sizeof(copy)) {
		set_err(err, errlen, "group list too long: \"%.40s...\"", list);
		return -1;
	}
	strcpy(copy, list);
	for (tok = strtok_r(copy, ":", &save); tok != NULL;
	     tok = strtok_r(NULL, ":", &save)) {
		if (!SSL_CTX_set1_groups_list(ssl_ctx, tok)) {
			ERR_clear_error();
			set_err(err, errlen, "group \"%s\" unknown to OpenSSL",
				tok);
			return -1;
		}
	}
	if (!SSL_CTX_set1_groups_list(ssl_ctx, list)) {
		set_err(err, errlen, "group list \"%s\" rejected: %s", list,
			ossl_reason(lib, sizeof(lib)));
		return -1;
	}
	return 0;
}

static void
set_resumption(SSL_CTX *ssl_ctx, enum tb_resumption mode)
{
	int cache = mode == TB_RESUME_CACHE || mode == TB_RESUME_BOTH;
	int tickets = mode == TB_RESUME_TICKETS || mode == TB_RESUME_BOTH;

	/* The cache is per process: with several workers a client resumes
	 * by session ID only on the worker that issued it. */
	SSL_CTX_set_session_cache_mode(ssl_ctx, cache ? SSL_SESS_CACHE_SERVER
						      : SSL_SESS_CACHE_OFF);
	SSL_CTX_sess_set_cache_size(ssl_ctx, SESSION_CACHE_SIZE);
	SSL_CTX_set_timeout(ssl_ctx, SESSION_LIFETIME_S);
	SSL_CTX_set_session_id_context(ssl_ctx, session_id_context,
				       sizeof(session_id_context) - 1);

	/* SSL_OP_NO_TICKET means no stateless tickets.  In TLS 1.2 that is
	 * all it means.  In TLS 1.3 OpenSSL then issues *stateful* tickets:
	 * the ticket is only a key into the session cache, so "cache" mode
	 * in TLS 1.3 is server-side state, like session IDs in 1.2.  With
	 * the cache off as well (mode none) no ticket could ever be honoured,
	 * so none is sent (num_tickets 0). */
	if (tickets)
		SSL_CTX_clear_options(ssl_ctx, SSL_OP_NO_TICKET);
	else
		SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_TICKET);

	/* TLS 1.3: one ticket per full handshake, not OpenSSL's default two:
	 * wolfSSL and BoringSSL send one, and each ticket costs the server an
	 * encryption (or a cache entry) and a record on every connection. */
	SSL_CTX_set_num_tickets(ssl_ctx, mode == TB_RESUME_NONE ? 0 : 1);

	/* Ticket keys are random per SSL_CTX and never rotate: workers share
	 * them only when the context is made before they fork. */
}

struct tb_tls_ctx *
tb_tls_ctx_new(const struct tb_tls_config *cfg, char *err, size_t errlen)
{
	struct tb_tls_ctx *ctx;
	SSL_CTX *s;
	int min = proto_version(cfg->min_version);
	int max = proto_version(cfg->max_version);
	char lib[160];

	if (min == 0 || max == 0 || min > max) {
		set_err(err, errlen,
			"TLS version range %d..%d unsupported (12 or 13, "
			"min <= max)",
			cfg->min_version, cfg->max_version);
		return NULL;
	}
	ossl_init();
	ERR_clear_error();
	ctx = calloc(1, sizeof(*ctx));
	s = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL || s == NULL) {
		set_err(err, errlen, "cannot create SSL_CTX: %s",
			ossl_reason(lib, sizeof(lib)));
		goto fail;
	}
	ctx->ssl_ctx = s;

	/* A client that drops TCP without close_notify has ended its
	 * connection, not attacked it: HTTP framing (Content-Length) guards
	 * against truncation.  Reported as a plain close, as with 1.1.1. */
	SSL_CTX_set_options(s, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Renegotiation is an attack surface and no load client uses it. */
	SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION);
	/* The server's preference order decides.  Every backend is given
	 * the same lists, so the first entry that the client also offers is
	 * what a matrix cell names, whatever the client's order.  (TLS 1.3
	 * groups: OpenSSL 3.0 still takes a group the client sent a key share
	 * for rather than ask for another with a HelloRetryRequest.) */
	SSL_CTX_set_options(s, SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Return as soon as one record is sent (partial writes), and let a
	 * retried SSL_write() come from a new address: tls.h promises the
	 * same bytes, not the same pointer. */
	SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE |
				    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* SSL_MODE_RELEASE_BUFFERS is deliberately NOT set: it frees the
	 * ~34 KiB of record buffers whenever a connection goes idle and
	 * mallocs them again on the next record, trading speed for memory.
	 * OpenSSL's default keeps them, and so do we; nginx sets it, and
	 * BoringSSL always releases (its flag is a no-op), as does wolfSSL
	 * (record buffers grown per record, shrunk when flushed), so memory
	 * per connection differs between backends for that (fact
	 * idle_buffers). */

	/* No 0-RTT: max_early_data 0 is OpenSSL's default, set here so it is
	 * visibly off.  Anti-replay (which deletes cache entries on resume)
	 * only acts when early data is on, so it never runs. */
	SSL_CTX_set_max_early_data(s, 0);

	if (!SSL_CTX_set_min_proto_version(s, min) ||
	    !SSL_CTX_set_max_proto_version(s, max)) {
		set_err(err, errlen, "cannot set TLS versions %d..%d: %s",
			cfg->min_version, cfg->max_version,
			ossl_reason(lib, sizeof(lib)));
		goto fail;
	}
	if (cfg->ciphers != NULL &&
	    set_tls12_ciphers(s, cfg->ciphers, err, errlen) != 0)
		goto fail;
	if (cfg->ciphersuites != NULL &&
	    set_tls13_suites(s, cfg->ciphersuites, err, errlen) != 0)
		goto fail;
	if (cfg->groups != NULL && set_groups(s, cfg->groups, err, errlen) != 0)
		goto fail;
	set_resumption(s, cfg->resumption);

	if (!SSL_CTX_use_certificate_chain_file(s, cfg->cert_file)) {
		set_err(err, errlen, "cannot load certificate chain %s: %s",
			cfg->cert_file, ossl_reason(lib, sizeof(lib)));
		goto fail;
	}
	if (!SSL_CTX_use_PrivateKey_file(s, cfg->key_file, SSL_FILETYPE_PEM)) {
		set_err(err, errlen, "cannot load private key %s: %s",
			cfg->key_file, ossl_reason(lib, sizeof(lib)));
		goto fail;
	}
	if (!SSL_CTX_check_private_key(s)) {
		set_err(err, errlen, "private key %s does not match %s: %s",
			cfg->key_file, cfg->cert_file,
			ossl_reason(lib, sizeof(lib)));
		goto fail;
	}
	return ctx;
fail:
	tb_tls_ctx_free(ctx);
	if (ctx == NULL)
		SSL_CTX_free(s);
	return NULL;
}

void
tb_tls_ctx_free(struct tb_tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

/* ------------------------------------------------------------------ */
/* Connections */

struct tb_tls_conn *
tb_tls_conn_new(struct tb_tls_ctx *ctx, int fd)
{
	struct tb_tls_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ssl = SSL_new(ctx->ssl_ctx);
	/* The socket BIO is BIO_NOCLOSE: the fd stays the caller's. */
	if (c->ssl == NULL || !SSL_set_fd(c->ssl, fd)) {
		ERR_clear_error();
		SSL_free(c->ssl);
		free(c);
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

/* Before each call: no stale error from an earlier connection, and no
 * stale errno (a plain EOF leaves errno untouched, and a left-over
 * EAGAIN must not be read as the reason). */
static void
clear(void)
{
	ERR_clear_error();
	errno = 0;
}

/* The one place OpenSSL results become statuses.  ret is what the
 * SSL_*() call returned; anything but 1 (the _ex and handshake calls'
 * success) is looked up with SSL_get_error(). */
static enum tb_status
map(struct tb_tls_conn *c, int ret)
{
	int saved_errno = errno;
	unsigned long code;
	int e;

	if (ret == 1)
		return TB_OK;
	e = SSL_get_error(c->ssl, ret);
	switch (e) {
	case SSL_ERROR_NONE:
		return TB_OK;
	case SSL_ERROR_WANT_READ:
		return TB_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TB_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		/* close_notify, or EOF under SSL_OP_IGNORE_UNEXPECTED_EOF */
		return TB_CLOSED;
	case SSL_ERROR_SYSCALL:
		c->fatal = 1;
		if (saved_errno == 0 || saved_errno == ECONNRESET ||
		    saved_errno == EPIPE)
			return TB_CLOSED;
		snprintf(c->err, sizeof(c->err), "%s", strerror(saved_errno));
		return TB_ERROR;
	case SSL_ERROR_SSL:
		c->fatal = 1;
		code = ERR_peek_error();
		if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
		    ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			return TB_CLOSED;
		ossl_reason(c->err, sizeof(c->err));
		return TB_ERROR;
	default:
		c->fatal = 1;
		snprintf(c->err, sizeof(c->err),
			 "unexpected SSL_get_error() result %d", e);
		return TB_ERROR;
	}
}

enum tb_status
tb_tls_handshake(struct tb_tls_conn *c)
{
	clear();
	return map(c, SSL_do_handshake(c->ssl));
}

enum tb_status
tb_tls_read(struct tb_tls_conn *c, void *buf, size_t len, size_t *n)
{
	*n = 0;
	if (len == 0)
		return TB_OK;
	clear();
	return map(c, SSL_read_ex(c->ssl, buf, len, n));
}

enum tb_status
tb_tls_write(struct tb_tls_conn *c, const void *buf, size_t len, size_t *n)
{
	*n = 0;
	if (len == 0)
		return TB_OK;
	clear();
	return map(c, SSL_write_ex(c->ssl, buf, len, n));
}

enum tb_status
tb_tls_shutdown(struct tb_tls_conn *c)
{
	enum tb_status st;
	int ret;

	/* One close_notify, only on a healthy established session; the
	 * peer's reply is never awaited, the caller closes the fd next. */
	if (c->fatal || c->shutdown_sent || !SSL_is_init_finished(c->ssl))
		return TB_OK;
	c->shutdown_sent = 1;
	clear();
	ret = SSL_shutdown(c->ssl);
	if (ret >= 0) /* 0: ours sent, theirs not seen; 1: both */
		return TB_OK;
	st = map(c, ret);
	/* A full socket buffer drops the alert: we do not wait to retry. */
	return st == TB_WANT_READ || st == TB_WANT_WRITE ? TB_OK : st;
}

const char *
tb_tls_conn_error(const struct tb_tls_conn *c)
{
	return c->err[0] != '\0' ? c->err : "no error recorded";
}

/* OpenSSL's group name ("secp256r1") as every backend reports it. */
static const char *
group_short_name(const char *name)
{
	const struct ossl_group *g = ossl_group_find(name);

	return g != NULL ? g->name : name;
}

void
tb_tls_conn_info(const struct tb_tls_conn *c, struct tb_tls_info *info)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
	const char *cipher_name =
		cipher != NULL ? SSL_CIPHER_standard_name(cipher) : NULL;
	int resumed = SSL_session_reused(c->ssl);
	/* A resumed TLS 1.2 handshake exchanges no key: OpenSSL would still
	 * name the group of the original session. */
	int nid = resumed && SSL_version(c->ssl) < TLS1_3_VERSION
			  ? 0
			  : SSL_get_negotiated_group(c->ssl);
	const char *group = nid != 0 ? SSL_group_to_name(c->ssl, nid) : NULL;

	if (nid != 0 && group == NULL)
		group = OBJ_nid2sn(nid);
	info->version = SSL_get_version(c->ssl);
	/* IANA names ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), as the
	 * other libraries can print them too; OpenSSL's own differ. */
	info->cipher = cipher_name != NULL ? cipher_name : "-";
	info->group = group != NULL ? group_short_name(group) : "-";
	info->resumed = resumed;
}
