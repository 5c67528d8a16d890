/* openssl.c: core/tls.h on OpenSSL 3: on the raw socket fd (--io
 * native), or on the core's buffers through a BIO (--io core). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "openssl_init.h"

#include "common.h"
#include "ssl_bio.h"
#include "tb_build.h"
#include "tls.h"
#include "tls_names.h"

struct tb_tls_ctx {
	SSL_CTX *ssl_ctx;
	BIO_METHOD *bio_method; /* --io core: the core's buffers */
	int rsa_pss_key; /* the key is RSA-PSS (rsa_pss_pss_*), not RSA */
	struct tb_ticket_keys *ticket_keys; /* NULL: no stateless tickets */
	EVP_CIPHER *ticket_cipher;	    /* fetched once, not per ticket */
	int psk_ke;			    /* --psk-mode ke */
	int reuse; /* tb_tls_conn_reuse may SSL_clear (no early data) */
	struct tb_settings settings;
	const struct tb_tls_fact *facts;
};

struct tb_tls_conn {
	SSL *ssl;
	const struct tb_tls_ctx *ctx;
	struct tb_err err;     /* why the last call failed */
	uint8_t rsa_pss_key;   /* copied from the context */
	uint8_t ticket_opened; /* this handshake's ticket opened */
	uint8_t watch_kex;     /* --psk-mode ke: note_key_share watches */
	uint8_t key_share;     /* the ServerHello sent carried a key_share */
	struct tb_early early; /* --early-data: SSL_read_early_data first */
};

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

enum { MAX_BUILDINFO = 32 };

/* Facts: the identity keys every backend has, aesni, libssl (the file
 * loaded), security_level (Debian builds default to 2, upstream to 1),
 * cpu_info (OpenSSL's capability vector: which assembly paths run), and
 * one buildinfo.<key> per line of a prefix build's BUILDINFO.  CFLAGS,
 * build date and platform are left out: they are noise next to these. */
const struct tb_tls_fact *
tb_tls_build_facts(void)
{
	static struct tb_tls_fact facts[8 + MAX_BUILDINFO + 1];
	static char security_level[16];
	const char *cpu, *libssl;
	SSL_CTX *probe;
	size_t n;

	if (facts[0].key != NULL)
		return facts;
	ossl_init();
	cpu = OpenSSL_version(OPENSSL_CPU_INFO);
	if (strncmp(cpu, "CPUINFO: ", 9) == 0)
		cpu += 9;
	libssl = tb_loaded_file((const void *)SSL_new);
	probe = SSL_CTX_new(TLS_server_method());
	if (probe != NULL)
		snprintf(security_level, sizeof(security_level), "%d",
			 SSL_CTX_get_security_level(probe));
	else
		snprintf(security_level, sizeof(security_level), "unknown");
	SSL_CTX_free(probe);
	ERR_clear_error();

	n = tb_identity_facts(facts, OPENSSL_VERSION_TEXT,
			      OpenSSL_version(OPENSSL_VERSION));
	facts[n++] = (struct tb_tls_fact){"aesni", aesni_from_cpu_info(cpu)};
	facts[n++] = (struct tb_tls_fact){"libssl",
					  libssl != NULL ? libssl : "unknown"};
	facts[n++] = (struct tb_tls_fact){"security_level", security_level};
	facts[n++] = (struct tb_tls_fact){"cpu_info", cpu};
	n += tb_buildinfo_facts(facts + n, MAX_BUILDINFO);
	facts[n] = (struct tb_tls_fact){NULL, NULL};
	return facts;
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
	if (tb_check_loaded_from((const void *)SSL_new, "libssl", err,
				 errlen) != 0 ||
	    tb_check_loaded_from((const void *)EVP_PKEY_new, "libcrypto", err,
				 errlen) != 0)
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

/* Each list setter is tried with one entry alone (common.h), so a typo
 * is named instead of dropped or reported as "the list". */
static int
accepts_cipher(void *arg, const char *name)
{
	int ok = SSL_CTX_set_cipher_list(arg, name);

	ERR_clear_error();
	return ok;
}

static int
accepts_suite(void *arg, const char *name)
{
	int ok = SSL_CTX_set_ciphersuites(arg, name);

	ERR_clear_error();
	return ok;
}

static int
accepts_group(void *arg, const char *name)
{
	int ok = SSL_CTX_set1_groups_list(arg, name);

	ERR_clear_error();
	return ok;
}

/* SSL_CTX_set_cipher_list() succeeds when any one entry matches and drops
 * the rest without a word; SSL_CTX_set_ciphersuites() skips unknown names;
 * SSL_CTX_set1_groups_list() refuses without saying which name is wrong. */
static int
set_lists(SSL_CTX *s, const struct tb_tls_config *cfg, char *err, size_t errlen)
{
	char bad[256], lib[160];

	if (cfg->ciphers != NULL) {
		if (tb_list_find_bad(cfg->ciphers, ":, ", accepts_cipher, s,
				     bad, sizeof(bad)) != 0) {
			set_err(err, errlen,
				"TLS 1.2 cipher \"%s\" unknown to OpenSSL",
				bad);
			return -1;
		}
		if (!SSL_CTX_set_cipher_list(s, cfg->ciphers)) {
			set_err(err, errlen,
				"TLS 1.2 cipher list \"%s\" rejected: %s",
				cfg->ciphers, ossl_reason(lib, sizeof(lib)));
			return -1;
		}
	}
	if (cfg->ciphersuites != NULL) {
		if (tb_list_find_bad(cfg->ciphersuites, ":", accepts_suite, s,
				     bad, sizeof(bad)) != 0) {
			set_err(err, errlen,
				"TLS 1.3 ciphersuite \"%s\" unknown to OpenSSL "
				"(use IANA names, e.g. TLS_AES_128_GCM_SHA256)",
				bad);
			return -1;
		}
		if (cfg->ciphersuites[0] == '\0' ||
		    !SSL_CTX_set_ciphersuites(s, cfg->ciphersuites)) {
			set_err(err, errlen,
				"TLS 1.3 ciphersuites \"%s\" rejected: %s",
				cfg->ciphersuites,
				ossl_reason(lib, sizeof(lib)));
			return -1;
		}
	}
	if (cfg->groups != NULL) {
		if (tb_list_find_bad(cfg->groups, ":", accepts_group, s, bad,
				     sizeof(bad)) != 0) {
			if (!ossl_group_lacks(tb_tls_group_id(bad, strlen(bad)),
					      err, errlen))
				set_err(err, errlen,
					"group \"%s\" unknown to OpenSSL", bad);
			return -1;
		}
		if (!SSL_CTX_set1_groups_list(s, cfg->groups)) {
			set_err(err, errlen, "group list \"%s\" rejected: %s",
				cfg->groups, ossl_reason(lib, sizeof(lib)));
			return -1;
		}
	}
	return 0;
}

/* Seals and opens stateless tickets with the shared key table
 * (backends/common.h); OpenSSL then encrypts and MACs the ticket itself.
 * Returns 1, or 2 for a new ticket after this one, or when opening 0 for
 * a ticket no key opens (a full handshake follows); -1 fails the
 * handshake. */
static int
ticket_key_cb(SSL *ssl, unsigned char name[TB_TICKET_NAME_LEN],
	      unsigned char *iv, EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx,
	      int enc)
{
	const struct tb_tls_ctx *ctx =
		SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const struct tb_ticket_key *k;
	OSSL_PARAM params[3];
	int renew = 0;

	if (enc) {
		k = tb_ticket_key_now(ctx->ticket_keys, name);
		if (RAND_bytes(iv, TB_TICKET_IV_LEN) <= 0 ||
		    !EVP_EncryptInit_ex(cctx, ctx->ticket_cipher, NULL, k->aes,
					iv))
			return -1;
	} else {
		k = tb_ticket_key_find(ctx->ticket_keys, name, &renew);
		if (k == NULL)
			return 0;
		if (!EVP_DecryptInit_ex(cctx, ctx->ticket_cipher, NULL, k->aes,
					iv))
			return -1;
		((struct tb_tls_conn *)SSL_get_app_data(ssl))->ticket_opened =
			1;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     "SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(
		OSSL_MAC_PARAM_KEY, (void *)k->hmac, TB_TICKET_HMAC_LEN);
	params[2] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_CTX_set_params(hctx, params))
		return -1;
	/* TLS 1.3: a new ticket after every resumption, as OpenSSL does
	 * with its own keys (a callback must ask for it). */
	return renew || SSL_version(ssl) >= TLS1_3_VERSION ? 2 : 1;
}

static int
set_resumption(struct tb_tls_ctx *ctx, const struct tb_tls_config *cfg,
	       char *err, size_t errlen)
{
	SSL_CTX *ssl_ctx = ctx->ssl_ctx;
	char lib[160];

	enum tb_resumption mode = cfg->resumption;
	int cache = mode == TB_RESUME_CACHE || mode == TB_RESUME_BOTH;
	int tickets = mode == TB_RESUME_TICKETS || mode == TB_RESUME_BOTH;

	/* The cache is per process: with several workers a client resumes
	 * by session ID only on the worker that issued it. */
	SSL_CTX_set_session_cache_mode(ssl_ctx, cache ? SSL_SESS_CACHE_SERVER
						      : SSL_SESS_CACHE_OFF);
	SSL_CTX_sess_set_cache_size(ssl_ctx, cfg->session_cache_size);
	SSL_CTX_set_timeout(ssl_ctx, cfg->session_lifetime_s);
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

	if (!tickets)
		return 0;
	/* Ticket keys from the shared table, not OpenSSL's own (random per
	 * SSL_CTX, never rotated): one policy for every backend. */
	ctx->ticket_keys =
		tb_ticket_keys_new(cfg->ticket_key_lifetime_s, err, errlen);
	if (ctx->ticket_keys == NULL)
		return -1;
	ctx->ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
	if (ctx->ticket_cipher == NULL || !SSL_CTX_set_app_data(ssl_ctx, ctx) ||
	    !SSL_CTX_set_tlsext_ticket_key_evp_cb(ssl_ctx, ticket_key_cb)) {
		set_err(err, errlen,
			"cannot install the ticket key callback: %s",
			ossl_reason(lib, sizeof(lib)));
		return -1;
	}
	return 0;
}

/* --psk-mode ke: resume TLS 1.3 on the PSK alone whenever the client
 * offers psk_ke.  OpenSSL takes psk_dhe_ke when the client offers both
 * (every OpenSSL client does) unless SSL_OP_PREFER_NO_DHE_KEX (3.3) says
 * otherwise: before 3.3 the mode cannot be had and is refused. */
static int
set_psk_mode(struct tb_tls_ctx *ctx, const struct tb_tls_config *cfg, char *err,
	     size_t errlen)
{
	if (cfg->psk_mode != TB_PSK_KE)
		return 0;
#ifdef SSL_OP_PREFER_NO_DHE_KEX
	(void)err;
	(void)errlen;
	SSL_CTX_set_options(ctx->ssl_ctx,
			    SSL_OP_ALLOW_NO_DHE_KEX | SSL_OP_PREFER_NO_DHE_KEX);
	ctx->psk_ke = 1;
	return 0;
#else
	(void)ctx;
	set_err(err, errlen,
		"--psk-mode ke: %s resumes with psk_dhe_ke whenever the "
		"client offers both modes, as every OpenSSL client does "
		"(SSL_OP_PREFER_NO_DHE_KEX came with OpenSSL 3.3); use "
		"--psk-mode dhe or OpenSSL 3.3 or later",
		OPENSSL_VERSION_TEXT);
	return -1;
#endif
}

/* --early-data.  OpenSSL's anti-replay (on whenever max_early_data > 0,
 * unless SSL_OP_NO_ANTI_REPLAY) makes TLS 1.3 tickets single-use: each
 * ticket issued is a session-cache entry (stateful, as with
 * SSL_OP_NO_TICKET) and its first use deletes it, so a replayed flight
 * finds nothing and gets a full handshake.  That needs the session
 * cache: with --resumption tickets it is refused.  The cache is per
 * worker: a TLS 1.3 resumption then lands on the issuing worker only.
 * Without --early-data max_early_data stays 0, OpenSSL's default, and
 * anti-replay never acts. */
static int
set_early_data(struct tb_tls_ctx *ctx, const struct tb_tls_config *cfg,
	       char *err, size_t errlen)
{
	if (cfg->max_early_data == 0) {
		SSL_CTX_set_max_early_data(ctx->ssl_ctx, 0);
		return 0;
	}
	if (cfg->resumption != TB_RESUME_CACHE &&
	    cfg->resumption != TB_RESUME_BOTH) {
		set_err(err, errlen,
			"--early-data: OpenSSL's anti-replay keeps every TLS "
			"1.3 ticket in the session cache and deletes it on "
			"first use, so it needs the cache: use --resumption "
			"cache or both");
		return -1;
	}
	SSL_CTX_clear_options(ctx->ssl_ctx, SSL_OP_NO_ANTI_REPLAY);
	if (!SSL_CTX_set_max_early_data(ctx->ssl_ctx, cfg->max_early_data) ||
	    !SSL_CTX_set_recv_max_early_data(ctx->ssl_ctx,
					     cfg->max_early_data)) {
		set_err(err, errlen, "cannot set max_early_data %u",
			(unsigned)cfg->max_early_data);
		return -1;
	}
	ctx->settings.anti_replay =
		"single-use TLS 1.3 tickets: each is kept in the session cache "
		"(per worker, so it resumes only on the worker that issued "
		"it) and deleted on first use";
	return 0;
}

/* tb_tls_ctx_facts: read back from the library, not echoed. */
static void
record_settings(struct tb_tls_ctx *ctx, const struct tb_tls_config *cfg)
{
	struct tb_settings *st = &ctx->settings;
	SSL_CTX *s = ctx->ssl_ctx;
	int tickets13 = (int)SSL_CTX_get_num_tickets(s);
	int tickets12 = !(SSL_CTX_get_options(s) & SSL_OP_NO_TICKET);

	tb_settings_number(st->session_cache_size,
			   sizeof(st->session_cache_size),
			   SSL_CTX_sess_get_cache_size(s),
			   cfg->session_cache_size, "library limit");
	tb_settings_number(st->session_lifetime_s,
			   sizeof(st->session_lifetime_s),
			   SSL_CTX_get_timeout(s), cfg->session_lifetime_s,
			   "library limit");
	tb_settings_idle(st->idle_buffers, sizeof(st->idle_buffers),
			 SSL_CTX_get_mode(s) & SSL_MODE_RELEASE_BUFFERS
				 ? TB_IDLE_RELEASE
				 : TB_IDLE_KEEP,
			 NULL);
	snprintf(st->tickets_per_handshake, sizeof(st->tickets_per_handshake),
		 "%d", cfg->max_version >= TB_TLS13 ? tickets13 : tickets12);
	/* SSL_clear leaves a connection's early-data state as it was, and
	 * SSL_read_early_data then refuses the next connection's. */
	ctx->reuse = cfg->max_early_data == 0;
	st->tls_object_reuse =
		ctx->reuse ? "yes (SSL_clear)"
			   : "no (SSL_clear keeps the early-data state)";
	ctx->facts = tb_settings_facts(st, cfg, ctx->ticket_keys, cfg->io);
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

	/* EOF without close_notify ends the connection like a close (see
	 * tb_tls_io_status), as with OpenSSL 1.1.1. */
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
	/* --idle-buffers release (nginx's choice) frees the ~34 KiB of record
	 * buffers whenever a connection goes idle and mallocs them again on
	 * the next record, trading speed for memory; keep is OpenSSL's
	 * default.  BoringSSL always releases, wolfSSL per its build. */
	if (cfg->idle_buffers == TB_IDLE_RELEASE)
		SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS);

	if (!SSL_CTX_set_min_proto_version(s, min) ||
	    !SSL_CTX_set_max_proto_version(s, max)) {
		set_err(err, errlen, "cannot set TLS versions %d..%d: %s",
			cfg->min_version, cfg->max_version,
			ossl_reason(lib, sizeof(lib)));
		goto fail;
	}
	if (set_lists(s, cfg, err, errlen) != 0 ||
	    set_resumption(ctx, cfg, err, errlen) != 0 ||
	    set_psk_mode(ctx, cfg, err, errlen) != 0 ||
	    set_early_data(ctx, cfg, err, errlen) != 0)
		goto fail;

	if (ossl_key_lacks(cfg->key_file, err, errlen))
		goto fail;
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
	ctx->rsa_pss_key = EVP_PKEY_get_base_id(SSL_CTX_get0_privatekey(s)) ==
			   EVP_PKEY_RSA_PSS;
	if (cfg->io == TB_IO_CORE) {
		ctx->bio_method = tb_bio_method_new();
		if (ctx->bio_method == NULL) {
			set_err(err, errlen, "cannot create the core I/O BIO");
			goto fail;
		}
	}
	record_settings(ctx, cfg);
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
	BIO_meth_free(ctx->bio_method);
	EVP_CIPHER_free(ctx->ticket_cipher);
	tb_ticket_keys_free(ctx->ticket_keys);
	free(ctx);
}

const struct tb_tls_fact *
tb_tls_ctx_facts(const struct tb_tls_ctx *ctx)
{
	return ctx->facts;
}

/* ------------------------------------------------------------------ */
/* Connections */

/* Whether a TLS 1.3 resumption exchanged a key: OpenSSL names the
 * original session's group when it did not (3.3 and later), so the
 * answer is read from the ServerHello this server sent: psk_ke sends no
 * key_share (RFC 8446 4.2.8).  The last ServerHello wins (a
 * HelloRetryRequest is one too).  Watched only under --psk-mode ke, and
 * only until the handshake ends: the callback would see every record. */
static void
note_key_share(int write_p, int version, int content_type, const void *buf,
	       size_t len, SSL *ssl, void *arg)
{
	const unsigned char *p = buf, *end = p + len;
	struct tb_tls_conn *c = arg;
	size_t skip;

	(void)version;
	(void)ssl;
	/* type(1) length(3) legacy_version(2) random(32) */
	if (!write_p || content_type != SSL3_RT_HANDSHAKE || len < 39 ||
	    p[0] != SSL3_MT_SERVER_HELLO)
		return;
	c->key_share = 0;
	p += 38;
	/* session_id echo, cipher_suite(2), compression(1), extensions(2) */
	skip = 1 + (size_t)p[0] + 2 + 1 + 2;
	if ((size_t)(end - p) < skip)
		return;
	p += skip;
	while (end - p >= 4) {
		size_t ext_len = (size_t)p[2] << 8 | p[3];

		if (((unsigned)p[0] << 8 | p[1]) == TLSEXT_TYPE_key_share) {
			c->key_share = 1;
			return;
		}
		if ((size_t)(end - p) < 4 + ext_len)
			return;
		p += 4 + ext_len;
	}
}

/* What a connection starts with beyond the SSL object: none of this
 * handshake's findings yet, the ServerHello watched under --psk-mode ke,
 * SSL_read_early_data first under --early-data. */
static void
conn_begin(struct tb_tls_conn *c, const struct tb_tls_ctx *ctx)
{
	c->ticket_opened = 0;
	c->key_share = 0;
	c->watch_kex = (uint8_t)ctx->psk_ke;
	if (ctx->psk_ke) {
		SSL_set_msg_callback(c->ssl, note_key_share);
		SSL_set_msg_callback_arg(c->ssl, c);
	}
	tb_early_free(&c->early);
	c->early.given = 0;
	c->early.reading = SSL_get_max_early_data(c->ssl) > 0;
}

/* A peer that closed (close_notify, or EOF under
 * SSL_OP_IGNORE_UNEXPECTED_EOF) ended a good session.  We never answer
 * its close_notify, and SSL_free (or SSL_clear) drops the session of a
 * connection that did not send one from the cache as if it had broken: a
 * TLS 1.2 session ID or a TLS 1.3 stateful ticket would then never resume
 * after a client that closes first. */
static void
conn_end(struct tb_tls_conn *c)
{
	if (SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN)
		SSL_set_shutdown(c->ssl,
				 SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	tb_early_free(&c->early);
}

struct tb_tls_conn *
tb_tls_conn_new(struct tb_tls_ctx *ctx, int fd, struct tb_io *io)
{
	struct tb_tls_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ssl = SSL_new(ctx->ssl_ctx);
	/* The socket BIO is BIO_NOCLOSE: the fd stays the caller's. */
	if (c->ssl == NULL ||
	    (io != NULL ? tb_bio_attach(c->ssl, ctx->bio_method, io) != 0
			: !SSL_set_fd(c->ssl, fd))) {
		ERR_clear_error();
		SSL_free(c->ssl);
		free(c);
		return NULL;
	}
	SSL_set_accept_state(c->ssl);
	SSL_set_app_data(c->ssl, c);
	c->ctx = ctx;
	c->rsa_pss_key = (uint8_t)ctx->rsa_pss_key;
	conn_begin(c, ctx);
	return c;
}

/* SSL_clear is OpenSSL's way to use an SSL for another connection: it
 * resets the handshake and record state and keeps the settings and the
 * BIO, whose descriptor (or core buffers) alone change.  A session still
 * open is dropped from the cache as SSL_free would drop it. */
int
tb_tls_conn_reuse(struct tb_tls_conn *c, int fd, struct tb_io *io)
{
	if (!c->ctx->reuse)
		return -1;
	conn_end(c);
	ERR_clear_error();
	if (!SSL_clear(c->ssl)) {
		ERR_clear_error();
		return -1;
	}
	if (io != NULL)
		tb_bio_reset(c->ssl, io);
	else if (BIO_set_fd(SSL_get_rbio(c->ssl), fd, BIO_NOCLOSE) != 1)
		return -1;
	c->err.kind = TB_ERR_NONE;
	conn_begin(c, c->ctx);
	return 0;
}

void
tb_tls_conn_free(struct tb_tls_conn *c)
{
	if (c == NULL)
		return;
	conn_end(c);
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
		/* errno was cleared before the call: 0 means the socket said
		 * EOF rather than failing. */
		if (tb_tls_io_status(saved_errno, saved_errno == 0) ==
		    TB_CLOSED)
			return TB_CLOSED;
		return tb_err_set(&c->err, TB_ERR_ERRNO, 0, saved_errno);
	case SSL_ERROR_SSL:
		code = ERR_peek_error();
		if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
		    ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			return tb_tls_io_status(0, 1);
		return tb_err_set(&c->err, TB_ERR_LIBRARY, code, 0);
	default:
		return tb_err_set(&c->err, TB_ERR_RESULT, (unsigned long)e, 0);
	}
}

/* One SSL_read_early_data: TB_OK with *n > 0 for early data, TB_OK with
 * *n == 0 once there is no more (rejected, not sent, or all read: the
 * handshake then goes on as usual). */
static enum tb_status
read_early(void *conn, void *buf, size_t len, size_t *n)
{
	struct tb_tls_conn *c = conn;
	int r;

	*n = 0;
	clear();
	r = SSL_read_early_data(c->ssl, buf, len, n);
	if (r == SSL_READ_EARLY_DATA_FINISH) {
		c->early.reading = 0;
		*n = 0;
		return TB_OK;
	}
	return r == SSL_READ_EARLY_DATA_SUCCESS ? TB_OK : map(c, 0);
}

enum tb_status
tb_tls_handshake(struct tb_tls_conn *c)
{
	enum tb_status st;
	int now;

	st = tb_early_handshake(&c->early, read_early, c, &c->err, &now);
	if (st == TB_OK && !now) {
		clear();
		st = map(c, SSL_do_handshake(c->ssl));
	}
	if (st == TB_OK)
		SSL_set_msg_callback(c->ssl, NULL); /* see note_key_share */
	return st;
}

enum tb_status
tb_tls_read(struct tb_tls_conn *c, void *buf, size_t len, size_t *n)
{
	enum tb_status st;

	*n = 0;
	if (len == 0)
		return TB_OK;
	*n = tb_early_take(&c->early, buf, len);
	if (*n > 0)
		return TB_OK;
	if (c->early.reading) {
		st = read_early(c, buf, len, n);
		if (st != TB_OK || *n > 0)
			return st;
	}
	/* SSL_read_ex finishes a 0-RTT handshake on the way. */
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
	/* 0.5-RTT: before the client's Finished, only this call writes. */
	if (c->early.given && !SSL_is_init_finished(c->ssl))
		return map(c, SSL_write_early_data(c->ssl, buf, len, n));
	return map(c, SSL_write_ex(c->ssl, buf, len, n));
}

enum tb_status
tb_tls_shutdown(struct tb_tls_conn *c)
{
	enum tb_status st;
	int ret;

	/* The core calls this once, on an established session (tls.h); a
	 * 0-RTT handshake not finished yet cannot send close_notify. */
	if (!SSL_is_init_finished(c->ssl))
		return TB_OK;
	clear();
	ret = SSL_shutdown(c->ssl);
	if (ret >= 0) /* 0: ours sent, theirs not seen; 1: both */
		return TB_OK;
	st = map(c, ret);
	/* A full socket buffer drops the alert: we do not wait to retry. */
	return st == TB_WANT_READ || st == TB_WANT_WRITE ? TB_OK : st;
}

static void
lib_text(unsigned long code, char *buf, size_t len)
{
	ERR_error_string_n(code, buf, len);
}

const char *
tb_tls_conn_error(const struct tb_tls_conn *c)
{
	return tb_err_text(&c->err, lib_text);
}

/* OpenSSL reports the group as a NID: the IANA NamedGroup for the ones it
 * has NIDs for, and TLSEXT_nid_unknown | id for the rest (provider groups
 * such as X25519MLKEM768). */
static uint16_t
group_id(int nid)
{
	switch (nid) {
	case NID_undef:
		return 0;
	case NID_X9_62_prime256v1:
		return 0x0017;
	case NID_secp384r1:
		return 0x0018;
	case NID_secp521r1:
		return 0x0019;
	case NID_X25519:
		return 0x001d;
	case NID_X448:
		return 0x001e;
	case NID_brainpoolP256r1:
		return 0x001a;
	case NID_brainpoolP384r1:
		return 0x001b;
	case NID_brainpoolP512r1:
		return 0x001c;
	case NID_ffdhe2048:
		return 0x0100;
	case NID_ffdhe3072:
		return 0x0101;
	case NID_ffdhe4096:
		return 0x0102;
	case NID_ffdhe6144:
		return 0x0103;
	case NID_ffdhe8192:
		return 0x0104;
	}
	return (nid & TLSEXT_nid_unknown) != 0 ? (uint16_t)(nid & 0xffff) : 0;
}

/* The SignatureScheme this server signed with: OpenSSL gives the
 * signature type and the hash as NIDs; the key type tells rsae from pss. */
static uint16_t
sigalg_id(const struct tb_tls_conn *c)
{
	int type = NID_undef, hash = NID_undef, step;

	if (!SSL_get_signature_type_nid(c->ssl, &type))
		return 0;
	SSL_get_signature_nid(c->ssl, &hash);
	step = hash == NID_sha384 ? 1 : hash == NID_sha512 ? 2 : 0;
	switch (type) {
	case EVP_PKEY_RSA_PSS:
		return (uint16_t)((c->rsa_pss_key ? 0x0809 : 0x0804) + step);
	case EVP_PKEY_RSA:
		return hash == NID_sha1 ? 0x0201
					: (uint16_t)(0x0401 + 0x100 * step);
	case EVP_PKEY_EC:
		return hash == NID_sha1 ? 0x0203
					: (uint16_t)(0x0403 + 0x100 * step);
	case EVP_PKEY_ED25519:
		return 0x0807;
	case EVP_PKEY_ED448:
		return 0x0808;
#ifdef NID_ML_DSA_44
	/* 3.5 and later: a provider scheme, named by its algorithm's NID */
	case NID_ML_DSA_44:
		return 0x0904;
	case NID_ML_DSA_65:
		return 0x0905;
	case NID_ML_DSA_87:
		return 0x0906;
#endif
	}
	return 0;
}

void
tb_tls_conn_params(const struct tb_tls_conn *c, struct tb_tls_params *p)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
	int version = SSL_version(c->ssl);
	int resumed = SSL_session_reused(c->ssl);

	p->version = (uint16_t)version;
	p->cipher = cipher != NULL ? SSL_CIPHER_get_protocol_id(cipher) : 0;
	p->resumed = (uint8_t)resumed;
	/* Without --early-data OpenSSL still says REJECTED when a client
	 * offered some; the other libraries cannot tell, so it is not
	 * counted. */
	switch (SSL_get_max_early_data(c->ssl) > 0
			? SSL_get_early_data_status(c->ssl)
			: SSL_EARLY_DATA_NOT_SENT) {
	case SSL_EARLY_DATA_ACCEPTED:
		p->early_data = TB_EARLY_ACCEPTED;
		break;
	case SSL_EARLY_DATA_REJECTED:
		p->early_data = TB_EARLY_REJECTED;
		break;
	default:
		p->early_data = TB_EARLY_NONE;
	}
	/* Resumed without opening a ticket: from the session cache (a 1.2
	 * session ID, or a 1.3 stateful ticket). */
	p->resumed_by = !resumed	   ? TB_RESUMED_UNKNOWN
			: c->ticket_opened ? TB_RESUMED_TICKET
					   : TB_RESUMED_ID;
	/* A resumed TLS 1.2 handshake exchanges no key, nor does a 1.3 psk_ke
	 * one (OpenSSL would still name the original session's group), and
	 * none signs. */
	p->group = resumed && (version < TLS1_3_VERSION ||
			       (c->watch_kex && !c->key_share))
			   ? 0
			   : group_id(SSL_get_negotiated_group(c->ssl));
	p->sigalg = resumed ? 0 : sigalg_id(c);
}
