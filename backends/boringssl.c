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
#include <openssl/base.h>

#ifndef OPENSSL_IS_BORINGSSL
#error "backends/boringssl.c needs BoringSSL headers (-Dtls=boringssl)"
#endif

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "boringssl_err.h"
#include "common.h"
#include "ssl_bio.h"
#include "tb_build.h"
#include "tls.h"
#include "tls_names.h"

struct tb_tls_ctx {
	SSL_CTX *ssl_ctx;
	BIO_METHOD *bio_method; /* --io core: the core's buffers */
	int key_type;	       /* EVP_PKEY_RSA, EVP_PKEY_EC, EVP_PKEY_ED25519 */
	uint16_t curve_sigalg; /* EC key: the TLS 1.3 scheme of its curve */
	struct tb_ticket_keys *ticket_keys; /* NULL: no tickets */
	struct tb_settings settings;
	const struct tb_tls_fact *facts;
};

struct tb_tls_conn {
	SSL *ssl;
	const struct tb_tls_ctx *ctx;
	struct tb_err err;     /* why the last call failed */
	uint16_t sigalg;       /* noted by note_sigalg during the handshake */
	uint8_t ticket_opened; /* this handshake's ticket opened */
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

enum { MAX_BUILDINFO = 32 };

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

/* Facts: the identity keys every backend has, then what moves BoringSSL's
 * numbers, then one buildinfo.<key> per line of a prefix build's
 * BUILDINFO. */
const struct tb_tls_fact *
tb_tls_build_facts(void)
{
	static struct tb_tls_fact facts[8 + MAX_BUILDINFO + 1];
	static char header[32];
	int aes_hw = EVP_has_aes_hardware();
	size_t n;

	if (facts[0].key != NULL)
		return facts;
	snprintf(header, sizeof(header), "BoringSSL API %d",
		 BORINGSSL_API_VERSION);
	/* No release number at run time either: "BoringSSL". */
	n = tb_identity_facts(facts, header, OpenSSL_version(OPENSSL_VERSION));
	facts[n++] = (struct tb_tls_fact){"aesni", aes_hw ? "yes" : "no"};
	facts[n++] = (struct tb_tls_fact){"openssl_small", small_build()};
	facts[n++] = (struct tb_tls_fact){"fips", FIPS_mode() ? "yes" : "no"};
	/* Decided by AES hardware (see tls13_suites_ok). */
	facts[n++] = (struct tb_tls_fact){
		"tls13_suite_choice",
		aes_hw ? "client order (not configurable)"
		       : "chacha20 first (not configurable)"};
	n += tb_buildinfo_facts(facts + n, MAX_BUILDINFO);
	facts[n] = (struct tb_tls_fact){NULL, NULL};
	return facts;
}

/* Debian's BoringSSL and a tuned build share the sonames libssl.so.0 /
 * libcrypto.so.0, so a version check cannot tell them apart: the files
 * actually mapped must live in the build's library directory. */
int
tb_tls_check_runtime(char *err, size_t errlen)
{
	if (tb_check_loaded_from((const void *)SSL_new, "BoringSSL libssl", err,
				 errlen) != 0 ||
	    tb_check_loaded_from((const void *)EVP_sha256,
				 "BoringSSL libcrypto", err, errlen) != 0)
		return -1;
	return 0;
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

/* Seals and opens tickets with the shared key table (backends/common.h);
 * BoringSSL then encrypts and MACs the ticket itself.  Returns 1, or 2
 * for a new ticket after this one, or when opening 0 for a ticket no key
 * opens (a full handshake follows); -1 fails the handshake. */
static int
ticket_key_cb(SSL *ssl, uint8_t *name, uint8_t *iv, EVP_CIPHER_CTX *cctx,
	      HMAC_CTX *hctx, int enc)
{
	const struct tb_tls_ctx *ctx =
		SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const struct tb_ticket_key *k;
	int renew = 0;

	if (enc) {
		k = tb_ticket_key_now(ctx->ticket_keys, name);
		if (!RAND_bytes(iv, TB_TICKET_IV_LEN) ||
		    !EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
					iv))
			return -1;
	} else {
		k = tb_ticket_key_find(ctx->ticket_keys, name, &renew);
		if (k == NULL)
			return 0;
		if (!EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
					iv))
			return -1;
		((struct tb_tls_conn *)SSL_get_app_data(ssl))->ticket_opened =
			1;
	}
	if (!HMAC_Init_ex(hctx, k->hmac, TB_TICKET_HMAC_LEN, EVP_sha256(),
			  NULL))
		return -1;
	return renew ? 2 : 1;
}

/* The session state a client can come back with, per tb_resumption. */
static int
set_resumption(struct tb_tls_ctx *ctx, const struct tb_tls_config *cfg,
	       char *err, size_t errlen)
{
	static const unsigned char sid_ctx[] = "tlsbench";
	SSL_CTX *ssl_ctx = ctx->ssl_ctx;
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
	/* The configured cache size and lifetime (BoringSSL's own: 20480,
	 * 2 hours for 1.2 but 2 days for 1.3). */
	SSL_CTX_sess_set_cache_size(ssl_ctx,
				    (unsigned long)cfg->session_cache_size);
	SSL_CTX_set_timeout(ssl_ctx, (uint32_t)cfg->session_lifetime_s);
	SSL_CTX_set_session_psk_dhe_timeout(ssl_ctx,
					    (uint32_t)cfg->session_lifetime_s);
	if (!tickets) {
		SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_TICKET);
		return 1;
	}
	/* BoringSSL sends two TLS 1.3 tickets by default; one per
	 * handshake is what the other backends send, so the cost of minting
	 * tickets is the same everywhere. */
	SSL_CTX_set_num_tickets(ssl_ctx, 1);
	/* The shared key table instead of BoringSSL's own keys (made lazily,
	 * per process, rotated every 48 hours): one policy for every
	 * backend. */
	ctx->ticket_keys =
		tb_ticket_keys_new(cfg->ticket_key_lifetime_s, err, errlen);
	if (ctx->ticket_keys == NULL)
		return 0;
	if (!SSL_CTX_set_app_data(ssl_ctx, ctx) ||
	    !SSL_CTX_set_tlsext_ticket_key_cb(ssl_ctx, ticket_key_cb)) {
		snprintf(err, errlen, "cannot install the ticket key callback");
		return 0;
	}
	return 1;
}

struct list_try {
	SSL_CTX *ssl_ctx;
	int (*setter)(SSL_CTX *, const char *);
};

static int
list_accepts(void *arg, const char *entry)
{
	struct list_try *t = arg;
	int ok = t->setter(t->ssl_ctx, entry);

	ERR_clear_error();
	return ok;
}

/* Sets a name list with setter, which refuses a bad list without saying
 * which name is wrong: each plain entry is tried alone first (common.h),
 * so the error names it. */
static int
set_list(SSL_CTX *ssl_ctx, int (*setter)(SSL_CTX *, const char *),
	 const char *list, const char *seps, const char *what, char *err,
	 size_t errlen)
{
	struct list_try t = {ssl_ctx, setter};
	char lib[160], bad[256];

	if (tb_list_find_bad(list, seps, list_accepts, &t, bad, sizeof(bad)) !=
	    0) {
		snprintf(err, errlen, "%s \"%s\" unknown to BoringSSL", what,
			 bad);
		return 0;
	}
	if (!setter(ssl_ctx, list)) {
		snprintf(err, errlen, "%s list \"%s\" rejected: %s", what, list,
			 lib_error(lib, sizeof(lib)));
		return 0;
	}
	return 1;
}

/* SSL_CTX_set1_groups_list arrived in API 19; the curves name works in 13
 * and 14 alike and takes the same names (X25519, P-256).  API 19 knows
 * X25519Kyber768Draft00 only as "X25519Kyber": each entry BoringSSL does
 * not take by its IANA name is tried by that one, then refused with what
 * this BoringSSL lacks or as unknown. */
static int
set_groups(SSL_CTX *ssl_ctx, const char *groups, char *err, size_t errlen)
{
	char list[512] = "", entry[64], lib[160];
	const char *p = groups, *e, *use;
	size_t len, used = 0;
	uint16_t id;

	while ((e = tb_list_next(&p, ":", &len)) != NULL) {
		if (len == 0 || len >= sizeof(entry)) {
			snprintf(err, errlen, "bad group list entry in \"%s\"",
				 groups);
			return 0;
		}
		memcpy(entry, e, len);
		entry[len] = '\0';
		id = tb_tls_group_id(entry, len);
		use = entry;
		if (!SSL_CTX_set1_curves_list(ssl_ctx, use))
			use = id == 0x6399 ? "X25519Kyber" : NULL;
		if (use != NULL && !SSL_CTX_set1_curves_list(ssl_ctx, use))
			use = NULL;
		ERR_clear_error();
		if (use == NULL) {
			if (!bssl_group_lacks(id, err, errlen))
				snprintf(err, errlen,
					 "group \"%s\" unknown to BoringSSL",
					 entry);
			return 0;
		}
		if (used + strlen(use) + 2 > sizeof(list)) {
			snprintf(err, errlen, "group list too long");
			return 0;
		}
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%s", used ? ":" : "", use);
	}
	if (!SSL_CTX_set1_curves_list(ssl_ctx, list)) {
		snprintf(err, errlen, "group list \"%s\" rejected: %s", list,
			 lib_error(lib, sizeof(lib)));
		return 0;
	}
	return 1;
}

static int
configure(struct tb_tls_ctx *ctx, const struct tb_tls_config *cfg, char *err,
	  size_t errlen)
{
	SSL_CTX *ssl_ctx = ctx->ssl_ctx;
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
	if (cfg->groups != NULL &&
	    !set_groups(ssl_ctx, cfg->groups, err, errlen))
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
	/* --idle-buffers: BoringSSL always frees its record buffers once they
	 * are empty (SSL_MODE_RELEASE_BUFFERS is a no-op there); "keep"
	 * cannot be had, and tls_settings says so. */
	if (bssl_key_lacks(cfg->key_file, err, errlen))
		return 0;
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
	/* BoringSSL resumes TLS 1.3 only with psk_dhe_ke: a client
	 * offering psk_ke alone gets a full handshake. */
	if (cfg->psk_mode == TB_PSK_KE) {
		snprintf(err, errlen,
			 "--psk-mode ke: BoringSSL resumes TLS 1.3 only with "
			 "psk_dhe_ke (no psk_ke); use --psk-mode dhe");
		return 0;
	}
	/* BoringSSL leaves a replayed 0-RTT flight to the application (its
	 * ssl.h: early data is replayable; callers must account for it) and
	 * offers no single-use tickets or ClientHello recording: 0-RTT is
	 * refused rather than measured without anti-replay. */
	if (cfg->max_early_data > 0) {
		snprintf(err, errlen,
			 "--early-data: BoringSSL has no protection against a "
			 "replayed 0-RTT flight (it leaves that to the "
			 "application), and 0-RTT is measured only with the "
			 "library's anti-replay on");
		return 0;
	}
	return set_resumption(ctx, cfg, err, errlen);
}

/* The key's type, and for EC keys the scheme of its curve: what
 * sigalg_id needs to follow BoringSSL's own choice. */
static int
record_key(struct tb_tls_ctx *ctx, char *err, size_t errlen)
{
	EVP_PKEY *pkey = SSL_CTX_get0_privatekey(ctx->ssl_ctx);
	const EC_KEY *ec;

	ctx->key_type = pkey != NULL ? EVP_PKEY_id(pkey) : EVP_PKEY_NONE;
	if (ctx->key_type != EVP_PKEY_EC)
		return 1;
	ec = EVP_PKEY_get0_EC_KEY(pkey);
	switch (EC_GROUP_get_curve_name(EC_KEY_get0_group(ec))) {
	case NID_X9_62_prime256v1:
		ctx->curve_sigalg = SSL_SIGN_ECDSA_SECP256R1_SHA256;
		return 1;
	case NID_secp384r1:
		ctx->curve_sigalg = SSL_SIGN_ECDSA_SECP384R1_SHA384;
		return 1;
	case NID_secp521r1:
		ctx->curve_sigalg = SSL_SIGN_ECDSA_SECP521R1_SHA512;
		return 1;
	}
	snprintf(err, errlen,
		 "ECDSA key on a curve BoringSSL cannot sign with");
	return 0;
}

static void
record_settings(struct tb_tls_ctx *ctx, const struct tb_tls_config *cfg)
{
	struct tb_settings *st = &ctx->settings;
	SSL_CTX *s = ctx->ssl_ctx;
	int tickets = !(SSL_CTX_get_options(s) & SSL_OP_NO_TICKET);

	tb_settings_number(st->session_cache_size,
			   sizeof(st->session_cache_size),
			   (long)SSL_CTX_sess_get_cache_size(s),
			   cfg->session_cache_size, "library limit");
	tb_settings_number(st->session_lifetime_s,
			   sizeof(st->session_lifetime_s),
			   (long)SSL_CTX_get_timeout(s),
			   cfg->session_lifetime_s, "library limit");
	tb_settings_idle(
		st->idle_buffers, sizeof(st->idle_buffers), TB_IDLE_RELEASE,
		cfg->idle_buffers == TB_IDLE_KEEP ? "BoringSSL always releases"
						  : NULL);
	/* set_resumption: one ticket per full handshake, or none. */
	snprintf(st->tickets_per_handshake, sizeof(st->tickets_per_handshake),
		 "%d", tickets);
	st->tls_object_reuse = "no (SSL_clear is deprecated)";
	ctx->facts = tb_settings_facts(st, cfg, ctx->ticket_keys, cfg->io);
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
	if (!configure(ctx, cfg, err, errlen) ||
	    !record_key(ctx, err, errlen)) {
		ERR_clear_error();
		tb_tls_ctx_free(ctx);
		return NULL;
	}
	if (cfg->io == TB_IO_CORE) {
		ctx->bio_method = tb_bio_method_new();
		if (ctx->bio_method == NULL) {
			snprintf(err, errlen, "cannot create the core I/O BIO");
			tb_tls_ctx_free(ctx);
			return NULL;
		}
	}
	record_settings(ctx, cfg);
	return ctx;
}

void
tb_tls_ctx_free(struct tb_tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	BIO_meth_free(ctx->bio_method);
	tb_ticket_keys_free(ctx->ticket_keys);
	free(ctx);
}

const struct tb_tls_fact *
tb_tls_ctx_facts(const struct tb_tls_ctx *ctx)
{
	return ctx->facts;
}

/* ------------------------------------------------------------------------
 * Connections. */

/* BoringSSL's default signing preferences (ssl/extensions.cc,
 * kSignSignatureAlgorithms); the server takes the first one its key can
 * make that the client offered. */
static const uint16_t sign_prefs[] = {
	SSL_SIGN_ED25519,
	SSL_SIGN_ECDSA_SECP256R1_SHA256,
	SSL_SIGN_RSA_PSS_RSAE_SHA256,
	SSL_SIGN_RSA_PKCS1_SHA256,
	SSL_SIGN_ECDSA_SECP384R1_SHA384,
	SSL_SIGN_RSA_PSS_RSAE_SHA384,
	SSL_SIGN_RSA_PKCS1_SHA384,
	SSL_SIGN_ECDSA_SECP521R1_SHA512,
	SSL_SIGN_RSA_PSS_RSAE_SHA512,
	SSL_SIGN_RSA_PKCS1_SHA512,
	SSL_SIGN_ECDSA_SHA1,
	SSL_SIGN_RSA_PKCS1_SHA1,
};

/* Whether BoringSSL's server may sign with sigalg (its
 * ssl_pkey_supports_algorithm): the key type must match; TLS 1.3 also
 * rules out PKCS#1 and SHA-1 and ties ECDSA to the key's curve. */
static int
key_can_sign(const struct tb_tls_ctx *ctx, uint16_t sigalg, int tls13)
{
	if (SSL_get_signature_algorithm_key_type(sigalg) != ctx->key_type)
		return 0;
	if (!tls13)
		return 1;
	if (ctx->key_type == EVP_PKEY_EC)
		return sigalg == ctx->curve_sigalg;
	return ctx->key_type != EVP_PKEY_RSA ||
	       SSL_is_signature_algorithm_rsa_pss(sigalg);
}

/* BoringSSL has no getter for the scheme it signed with (only the
 * peer's), and forgets the client's list with the handshake: replay its
 * choice from that list while it is there, in the certificate callback.
 * A TLS 1.2 client that sent no list gets the SHA-1 defaults. */
static uint16_t
sigalg_id(const struct tb_tls_conn *c, int tls13)
{
	static const uint16_t sha1_defaults[] = {SSL_SIGN_RSA_PKCS1_SHA1,
						 SSL_SIGN_ECDSA_SHA1};
	const uint16_t *peer;
	size_t npeer = SSL_get0_peer_verify_algorithms(c->ssl, &peer), i, k;

	if (npeer == 0 && !tls13) {
		peer = sha1_defaults;
		npeer = 2;
	}
	for (i = 0; i < sizeof(sign_prefs) / sizeof(sign_prefs[0]); i++) {
		if (!key_can_sign(c->ctx, sign_prefs[i], tls13))
			continue;
		for (k = 0; k < npeer; k++)
			if (peer[k] == sign_prefs[i])
				return sign_prefs[i];
	}
	return 0;
}

static int
note_sigalg(SSL *ssl, void *arg)
{
	struct tb_tls_conn *c = arg;

	c->sigalg = sigalg_id(c, SSL_version(ssl) >= TLS1_3_VERSION);
	return 1;
}

struct tb_tls_conn *
tb_tls_conn_new(struct tb_tls_ctx *ctx, int fd, struct tb_io *io)
{
	struct tb_tls_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ctx = ctx;
	c->ssl = SSL_new(ctx->ssl_ctx);
	/* SSL_set_fd wraps fd in a BIO_NOCLOSE socket BIO: the fd stays the
	 * caller's. */
	if (c->ssl == NULL ||
	    (io != NULL ? tb_bio_attach(c->ssl, ctx->bio_method, io) != 0
			: !SSL_set_fd(c->ssl, fd))) {
		SSL_free(c->ssl);
		free(c);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_accept_state(c->ssl);
	SSL_set_cert_cb(c->ssl, note_sigalg, c);
	SSL_set_app_data(c->ssl, c);
	return c;
}

/* BoringSSL's SSL_clear is deprecated ("free ssl and create a new one
 * instead", ssl.h): no reuse. */
int
tb_tls_conn_reuse(struct tb_tls_conn *c, int fd, struct tb_io *io)
{
	(void)c;
	(void)fd;
	(void)io;
	return -1;
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
conn_status(struct tb_tls_conn *c, int ret)
{
	int saved_errno = errno;
	int e = SSL_get_error(c->ssl, ret);

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
		/* ret 0 with an empty queue, or errno still 0 (cleared before
		 * the call): EOF without close_notify. */
		if (tb_tls_io_status(saved_errno,
				     ret == 0 || saved_errno == 0) == TB_CLOSED)
			return TB_CLOSED;
		return tb_err_set(&c->err, TB_ERR_ERRNO, 0, saved_errno);
	case SSL_ERROR_SSL:
		return tb_err_set(&c->err, TB_ERR_LIBRARY, ERR_peek_error(), 0);
	default:
		return tb_err_set(&c->err, TB_ERR_RESULT, (unsigned long)e, 0);
	}
}

static void
clear(void)
{
	ERR_clear_error();
	errno = 0;
}

enum tb_status
tb_tls_handshake(struct tb_tls_conn *c)
{
	clear();
	return conn_status(c, SSL_do_handshake(c->ssl));
}

enum tb_status
tb_tls_read(struct tb_tls_conn *c, void *buf, size_t len, size_t *n)
{
	enum tb_status st;
	int ret;

	*n = 0;
	if (len == 0)
		return TB_OK; /* SSL_read(…, 0) would look like a close */
	clear();
	ret = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	st = conn_status(c, ret);
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
	clear();
	ret = SSL_write(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	st = conn_status(c, ret);
	if (st == TB_OK)
		*n = (size_t)ret;
	return st;
}

/* One SSL_shutdown: it queues and flushes our close_notify and returns 0
 * ("peer's not seen yet"), which is all we want; we never wait for the
 * peer's.  Quiet shutdown stays off so close_notify is really sent.  The
 * core calls it once, on an established session (tls.h). */
enum tb_status
tb_tls_shutdown(struct tb_tls_conn *c)
{
	enum tb_status st;
	int ret;

	clear();
	ret = SSL_shutdown(c->ssl);
	if (ret >= 0)
		return TB_OK;
	st = conn_status(c, ret);
	return st == TB_WANT_READ || st == TB_WANT_WRITE ? TB_OK : st;
}

static void
lib_text(unsigned long code, char *buf, size_t len)
{
	ERR_error_string_n((uint32_t)code, buf, len);
}

const char *
tb_tls_conn_error(const struct tb_tls_conn *c)
{
	return tb_err_text(&c->err, lib_text);
}

void
tb_tls_conn_params(const struct tb_tls_conn *c, struct tb_tls_params *p)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
	int version = SSL_version(c->ssl);
	int resumed = SSL_session_reused(c->ssl) ? 1 : 0;

	p->version = (uint16_t)version;
	p->cipher = cipher != NULL ? SSL_CIPHER_get_protocol_id(cipher) : 0;
	p->resumed = (uint8_t)resumed;
	/* Resumed without opening a ticket: a TLS 1.2 session ID from the
	 * cache (BoringSSL has no stateful 1.3 tickets). */
	p->resumed_by = !resumed	   ? TB_RESUMED_UNKNOWN
			: c->ticket_opened ? TB_RESUMED_TICKET
					   : TB_RESUMED_ID;
	/* A resumed TLS 1.2 handshake exchanges no key (BoringSSL would
	 * still name the original session's group) and none signs. */
	p->group = resumed && version < TLS1_3_VERSION
			   ? 0
			   : SSL_get_curve_id(c->ssl);
	p->sigalg = resumed ? 0 : c->sigalg;
}
