/* wolfssl.c: the TLS layer on wolfSSL's native API (not its OpenSSL shim):
 * on the raw socket fd (--io native), or on the core's buffers through
 * wolfSSL's I/O callbacks (--io core). */
#define _GNU_SOURCE

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>

#ifndef LIBWOLFSSL_VERSION_HEX
#error "backends/wolfssl.c needs wolfSSL's headers (wolfssl/version.h)"
#endif
#ifndef WOLFSSL_TLS13
#error "this wolfSSL was built without TLS 1.3 (configure --enable-tls13)"
#endif

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tb_build.h"
#include "tls.h"
#include "tls_names.h"
#include "wolfssl_common.h"

struct tb_tls_ctx {
	WOLFSSL_CTX *ctx;
	uint16_t sigalg13; /* the TLS 1.3 scheme of the key (sha256 for RSA) */
	uint8_t key_kind;  /* TB_WOLF_KEY_* */
	struct tb_ticket_keys *ticket_keys; /* NULL: no tickets */
	struct tb_settings settings;
	const struct tb_tls_fact *facts;
};

/* Why a call failed, kept raw; tb_tls_conn_error makes the text. */
struct tb_tls_conn {
	WOLFSSL *ssl;
	const struct tb_tls_ctx *ctx;
	struct tb_err err; /* why the last call failed */
	/* wolfSSL's socket I/O reads its context as a pointer to the fd
	 * (wolfSSL_SetIOReadCtx): this one, so that ticket_cb (and under
	 * --io core the I/O callbacks) find the connection from it
	 * (conn_of_io_ctx). */
	int fd;
	struct tb_io *io;      /* --io core: the core's buffers */
	uint8_t ticket_opened; /* this handshake's ticket opened */
	struct tb_early early; /* --early-data: wolfSSL_read_early_data first */
};

/* The connection whose fd field ctx points at (wolfSSL's I/O context). */
static struct tb_tls_conn *
conn_of_io_ctx(void *ctx)
{
	return (struct tb_tls_conn *)((char *)ctx -
				      offsetof(struct tb_tls_conn, fd));
}

const char *
tb_tls_backend_name(void)
{
	return "wolfssl";
}

const char *
tb_tls_library_version(void)
{
	return wolfSSL_lib_version();
}

const char *
tb_tls_url_scheme(void)
{
	return "https";
}

/* ------------------------------------------------------------------ */
/* Build facts */

#if defined(WOLFSSL_AESNI)
#define TB_F_AESNI "yes"
#else
#define TB_F_AESNI "no"
#endif
#if defined(USE_INTEL_SPEEDUP)
#define TB_F_INTEL "yes"
#else
#define TB_F_INTEL "no"
#endif
#if defined(WOLFSSL_SP_MATH) || defined(WOLFSSL_SP_MATH_ALL) ||                \
	defined(WOLFSSL_HAVE_SP_RSA) || defined(WOLFSSL_HAVE_SP_ECC)
#define TB_F_SP "yes"
#else
#define TB_F_SP "no"
#endif
#if defined(WOLFSSL_SP_X86_64_ASM)
#define TB_F_SP_ASM "yes"
#else
#define TB_F_SP_ASM "no"
#endif
#if defined(TFM_NO_ASM) || defined(WOLFSSL_NO_ASM)
#define TB_F_NO_ASM "yes"
#else
#define TB_F_NO_ASM "no"
#endif
#if defined(FP_ECC)
#define TB_F_FP_ECC "yes"
#else
#define TB_F_FP_ECC "no"
#endif
#if defined(HAVE_SESSION_TICKET)
#define TB_F_TICKET "yes"
#else
#define TB_F_TICKET "no"
#endif
#if defined(HAVE_CURVE25519)
#define TB_F_X25519 "yes"
#else
#define TB_F_X25519 "no"
#endif

/* wolfSSL's server session cache is one static table per process, sized
 * when the library is compiled (ssl_sess.c): 33 sessions unless built
 * with a bigger cache.  Far below the 20480 of OpenSSL and BoringSSL, so
 * session-ID resumption ("cache") with many clients can miss here. */
#if defined(HUGE_SESSION_CACHE)
#define TB_WOLF_CACHE 65791
#elif defined(BIG_SESSION_CACHE)
#define TB_WOLF_CACHE 20027
#elif defined(MEDIUM_SESSION_CACHE)
#define TB_WOLF_CACHE 1055
#elif defined(SMALL_SESSION_CACHE)
#define TB_WOLF_CACHE 6
#elif defined(NO_SESSION_CACHE)
#define TB_WOLF_CACHE 0
#else
#define TB_WOLF_CACHE 33
#endif

enum { MAX_BUILDINFO = 32 };

const struct tb_tls_fact *
tb_tls_build_facts(void)
{
	static struct tb_tls_fact facts[16 + MAX_BUILDINFO + 1];
	size_t n;

	/* Filled once at startup, before any worker exists. */
	if (facts[0].key != NULL)
		return facts;
	n = tb_identity_facts(facts, LIBWOLFSSL_VERSION_STRING,
			      wolfSSL_lib_version());
	facts[n++] = (struct tb_tls_fact){"aesni", TB_F_AESNI};
	facts[n++] = (struct tb_tls_fact){"intel_speedup", TB_F_INTEL};
	facts[n++] = (struct tb_tls_fact){"sp_math", TB_F_SP};
	facts[n++] = (struct tb_tls_fact){"sp_asm", TB_F_SP_ASM};
	facts[n++] = (struct tb_tls_fact){"asm_disabled", TB_F_NO_ASM};
	facts[n++] = (struct tb_tls_fact){"fp_ecc", TB_F_FP_ECC};
	facts[n++] = (struct tb_tls_fact){"tls13", "yes"};
	facts[n++] = (struct tb_tls_fact){"session_ticket", TB_F_TICKET};
	facts[n++] = (struct tb_tls_fact){"curve25519", TB_F_X25519};
	facts[n++] = (struct tb_tls_fact){"mlkem_hybrids",
					  TB_WOLF_HYBRIDS ? "yes" : "no"};
	facts[n++] =
		(struct tb_tls_fact){"mldsa", TB_WOLF_HAS_MLDSA ? "yes" : "no"};
	n += tb_buildinfo_facts(facts + n, MAX_BUILDINFO);
	facts[n] = (struct tb_tls_fact){NULL, NULL};
	return facts;
}

int
tb_tls_check_runtime(char *err, size_t errlen)
{
	if (wolfSSL_lib_version_hex() != (word32)LIBWOLFSSL_VERSION_HEX) {
		snprintf(err, errlen,
			 "wolfSSL %s loaded at run time, built against %s",
			 wolfSSL_lib_version(), LIBWOLFSSL_VERSION_STRING);
		return -1;
	}
	return tb_check_loaded_from((const void *)wolfSSL_new, "libwolfssl",
				    err, errlen);
}

/* ------------------------------------------------------------------ */
/* Context */

/* The config speaks IANA names for TLS 1.3 suites; wolfSSL's list parser
 * wants its own.  wolfSSL's own names are accepted as they are. */
static const struct {
	const char *iana;
	const char *wolf;
} tls13_names[] = {
	{"TLS_AES_128_GCM_SHA256", "TLS13-AES128-GCM-SHA256"},
	{"TLS_AES_256_GCM_SHA384", "TLS13-AES256-GCM-SHA384"},
	{"TLS_CHACHA20_POLY1305_SHA256", "TLS13-CHACHA20-POLY1305-SHA256"},
	{"TLS_AES_128_CCM_SHA256", "TLS13-AES128-CCM-SHA256"},
	{"TLS_AES_128_CCM_8_SHA256", "TLS13-AES128-CCM-8-SHA256"},
};

/* Used for the half of the list the config leaves out, so that giving only
 * --ciphers does not switch TLS 1.3 off (one list covers both versions). */
static const char default_tls13[] = "TLS13-AES128-GCM-SHA256:"
				    "TLS13-AES256-GCM-SHA384:"
				    "TLS13-CHACHA20-POLY1305-SHA256";
static const char default_tls12[] = "ECDHE-ECDSA-AES128-GCM-SHA256:"
				    "ECDHE-RSA-AES128-GCM-SHA256:"
				    "ECDHE-ECDSA-AES256-GCM-SHA384:"
				    "ECDHE-RSA-AES256-GCM-SHA384:"
				    "ECDHE-ECDSA-CHACHA20-POLY1305:"
				    "ECDHE-RSA-CHACHA20-POLY1305";

/* The suite named by one list entry, or -1 when this build lacks it. */
static int
suite_is_tls13(const char *name)
{
	unsigned char c0, c1;
	int flags = 0;

	if (wolfSSL_get_cipher_suite_from_name(name, &c0, &c1, &flags) != 0)
		return -1;
	return c0 == 0x13; /* RFC 8446: TLS 1.3 suites are 0x13,0xNN */
}

/* Append the entries of list (colon separated) to out, translating TLS 1.3
 * IANA names; every entry must be a suite this build has, of the right TLS
 * version: wolfSSL itself skips unknown names silently. */
static int
append_suites(char *out, size_t outlen, const char *list, int tls13, char *err,
	      size_t errlen)
{
	char name[128];
	const char *p = list, *entry, *use;
	size_t len, i, used = strlen(out);
	int is13;

	while ((entry = tb_list_next(&p, ":", &len)) != NULL) {
		if (len == 0 || len >= sizeof(name)) {
			snprintf(err, errlen, "bad cipher list entry in \"%s\"",
				 list);
			return -1;
		}
		memcpy(name, entry, len);
		name[len] = '\0';
		use = name;
		for (i = 0; i < sizeof(tls13_names) / sizeof(tls13_names[0]);
		     i++)
			if (strcmp(name, tls13_names[i].iana) == 0)
				use = tls13_names[i].wolf;
		is13 = suite_is_tls13(use);
		if (is13 < 0) {
			snprintf(
				err, errlen,
				tls13 ? "TLS 1.3 ciphersuite \"%s\" unknown to "
					"wolfSSL"
				      : "TLS 1.2 cipher \"%s\" unknown to "
					"wolfSSL "
					"(give suite names, not keywords)",
				name);
			return -1;
		}
		if (is13 != tls13) {
			snprintf(err, errlen,
				 "\"%s\" is a TLS %s suite: list it "
				 "in %s",
				 name, is13 ? "1.3" : "1.2",
				 is13 ? "--ciphersuites" : "--ciphers");
			return -1;
		}
		if (used + strlen(use) + 2 > outlen) {
			snprintf(err, errlen, "cipher list too long");
			return -1;
		}
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
					 used ? ":" : "", use);
	}
	return 0;
}

/* wolfSSL takes one list for both versions: TLS 1.3 suites, then 1.2.
 * The order is the server's preference: wolfSSL servers pick by their own
 * order unless wolfSSL_CTX_UseClientSuites() is called, which we never do
 * (so no SSL_OP_CIPHER_SERVER_PREFERENCE, a compat-layer flag, is needed). */
static int
set_ciphers(WOLFSSL_CTX *wctx, const struct tb_tls_config *cfg, char *err,
	    size_t errlen)
{
	char list[4096] = "";
	int ret;

	if (!cfg->ciphers && !cfg->ciphersuites)
		return 0; /* the library's default list */
	if (append_suites(list, sizeof(list),
			  cfg->ciphersuites ? cfg->ciphersuites : default_tls13,
			  1, err, errlen) < 0)
		return -1;
	if (append_suites(list, sizeof(list),
			  cfg->ciphers ? cfg->ciphers : default_tls12, 0, err,
			  errlen) < 0)
		return -1;
	ret = wolfSSL_CTX_set_cipher_list(wctx, list);
	if (ret != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "wolfSSL rejected cipher list \"%s\"",
			 list);
		return -1;
	}
	return 0;
}

/* The config's groups, in order, as the server's ranking.  In TLS 1.3 a
 * wolfSSL server takes the client's key share when its group is in this
 * list (the best ranked among the shares offered) and sends a
 * HelloRetryRequest only when no offered share is acceptable.
 * A TLS 1.2 wolfSSL server takes the client's first usable curve and
 * ignores wolfSSL_CTX_set_groups (among allowed curves it prefers the
 * default ephemeral key size, 32 bytes); only the curve mask that
 * wolfSSL_CTX_set1_curves_list sets (OpenSSL compatibility layer, a
 * configuration call only) restricts it.  Without that layer, groups with
 * TLS 1.2 enabled cannot be honoured and are refused. */
static int
set_groups(WOLFSSL_CTX *wctx, const struct tb_tls_config *cfg, char *err,
	   size_t errlen)
{
	int ids[WOLFSSL_MAX_GROUP_COUNT];
	char names[WOLFSSL_MAX_GROUP_COUNT * 24] = "";
	const struct wolf_group *g;
	const char *p = cfg->groups, *entry;
	size_t len, used = 0;
	int n = 0, ret;

	if (!p)
		return 0;
	while ((entry = tb_list_next(&p, ":", &len)) != NULL) {
		g = wolf_group_by(tb_tls_group_id(entry, len), NULL);
		if (!g) {
			snprintf(err, errlen,
				 "group \"%.*s\" unknown to wolfSSL", (int)len,
				 entry);
			return -1;
		}
		if (!g->usable) {
			wolf_group_lacks(g, err, errlen);
			return -1;
		}
		if (n == WOLFSSL_MAX_GROUP_COUNT) {
			snprintf(err, errlen, "more than %d groups",
				 WOLFSSL_MAX_GROUP_COUNT);
			return -1;
		}
		ids[n++] = g->id;
		used += (size_t)snprintf(names + used, sizeof(names) - used,
					 "%s%s", used ? ":" : "", g->canon);
	}
	if (n == 0) {
		snprintf(err, errlen, "empty group list");
		return -1;
	}
#if defined(OPENSSL_EXTRA) && defined(HAVE_ECC) && defined(WOLFSSL_HAVE_MLKEM)
	/* The same parser as set1_curves_list, minus its refusal of
	 * anything that is not a curve: the hybrid groups pass. */
	(void)ids;
	ret = wolfSSL_CTX_set1_groups_list(wctx, names);
#elif defined(OPENSSL_EXTRA) && defined(HAVE_ECC)
	(void)ids;
	ret = wolfSSL_CTX_set1_curves_list(wctx, names);
#else
	if (cfg->min_version == TB_TLS12) {
		snprintf(err, errlen,
			 "this wolfSSL cannot restrict TLS 1.2 groups (needs "
			 "--enable-opensslextra): drop --groups or use "
			 "--tls-min 1.3");
		return -1;
	}
	ret = wolfSSL_CTX_set_groups(wctx, ids, n);
#endif
	if (ret != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "wolfSSL rejected groups \"%s\" (%d)",
			 names, ret);
		return -1;
	}
	return 0;
}

#if defined(HAVE_SESSION_TICKET)
/* Constant time: a MAC comparison must not say how much matched. */
static int
same_mac(const unsigned char *a, const unsigned char *b, size_t len)
{
	unsigned char diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* HMAC-SHA256 over key name, IV and ciphertext into mac. */
static int
ticket_mac(const struct tb_ticket_key *k, const unsigned char *name,
	   const unsigned char *iv, const unsigned char *data, int len,
	   unsigned char mac[WC_SHA256_DIGEST_SIZE])
{
	Hmac h;
	int ret = wc_HmacInit(&h, NULL, INVALID_DEVID);

	if (ret != 0)
		return ret;
	ret = wc_HmacSetKey(&h, WC_SHA256, k->hmac, TB_TICKET_HMAC_LEN);
	if (ret == 0)
		ret = wc_HmacUpdate(&h, name, TB_TICKET_NAME_LEN);
	if (ret == 0)
		ret = wc_HmacUpdate(&h, iv, TB_TICKET_IV_LEN);
	if (ret == 0)
		ret = wc_HmacUpdate(&h, data, (word32)len);
	if (ret == 0)
		ret = wc_HmacFinal(&h, mac);
	wc_HmacFree(&h);
	return ret;
}

static int
ticket_cbc(const struct tb_ticket_key *k, const unsigned char *iv,
	   unsigned char *data, int len, int dir)
{
	Aes aes;
	int ret = wc_AesInit(&aes, NULL, INVALID_DEVID);

	if (ret != 0)
		return ret;
	ret = wc_AesSetKey(&aes, k->aes, TB_TICKET_AES_LEN, iv, dir);
	if (ret == 0)
		ret = dir == AES_ENCRYPTION
			      ? wc_AesCbcEncrypt(&aes, data, data, (word32)len)
			      : wc_AesCbcDecrypt(&aes, data, data, (word32)len);
	wc_AesFree(&aes);
	return ret;
}

/* Seals and opens tickets with the shared key table (backends/common.h)
 * the way OpenSSL and BoringSSL do through theirs: AES-256-CBC over the
 * padded state, HMAC-SHA256 over name, IV and ciphertext; wolfSSL leaves
 * all of it to the callback.  wolfSSL keeps WOLFSSL_TICKET_MAC_SZ (32)
 * bytes for the MAC and room for a block of padding.  A TLS 1.2 ticket
 * is renewed (RET_CREATE) only when its key is the previous one, as in
 * the OpenSSL and BoringSSL backends. */
static int
ticket_cb(WOLFSSL *ssl, unsigned char name[WOLFSSL_TICKET_NAME_SZ],
	  unsigned char iv[WOLFSSL_TICKET_IV_SZ],
	  unsigned char mac[WOLFSSL_TICKET_MAC_SZ], int enc,
	  unsigned char *ticket, int in_len, int *out_len, void *arg)
{
	const struct tb_tls_ctx *ctx = arg;
	const struct tb_ticket_key *k;
	unsigned char check[WC_SHA256_DIGEST_SIZE];
	struct tb_tls_conn *c;
	int renew = 0, pad;

	if (enc) {
		k = tb_ticket_key_now(ctx->ticket_keys, name);
		pad = 16 - in_len % 16; /* PKCS#7 */
		memset(ticket + in_len, pad, (size_t)pad);
		if (wc_RNG_GenerateBlock(wolfSSL_GetRNG(ssl), iv,
					 TB_TICKET_IV_LEN) != 0 ||
		    ticket_cbc(k, iv, ticket, in_len + pad, AES_ENCRYPTION) !=
			    0 ||
		    ticket_mac(k, name, iv, ticket, in_len + pad, mac) != 0)
			return WOLFSSL_TICKET_RET_FATAL;
		*out_len = in_len + pad;
		return WOLFSSL_TICKET_RET_OK;
	}
	k = tb_ticket_key_find(ctx->ticket_keys, name, &renew);
	if (k == NULL || in_len < 16 || in_len % 16 != 0 ||
	    ticket_mac(k, name, iv, ticket, in_len, check) != 0 ||
	    !same_mac(check, mac, sizeof(check)) ||
	    ticket_cbc(k, iv, ticket, in_len, AES_DECRYPTION) != 0)
		return WOLFSSL_TICKET_RET_REJECT;
	pad = ticket[in_len - 1];
	if (pad < 1 || pad > 16)
		return WOLFSSL_TICKET_RET_REJECT;
	*out_len = in_len - pad;
	c = conn_of_io_ctx(wolfSSL_GetIOReadCtx(ssl));
	c->ticket_opened = 1;
	return renew && wolfSSL_GetVersion(ssl) != WOLFSSL_TLSV1_3
		       ? WOLFSSL_TICKET_RET_CREATE
		       : WOLFSSL_TICKET_RET_OK;
}
#endif

/* What each mode means here:
 *   none     cache off, no tickets in either version.
 *   cache    TLS 1.2: session IDs in wolfSSL's internal cache, no tickets.
 *            TLS 1.3: wolfSSL resumes 1.3 only through NewSessionTicket.
 *            From 5.6.2 WOLFSSL_OP_NO_TICKET is meant to make that ticket
 *            a session ID into the cache (stateful PSK), but against 5.9.2
 *            a client offering it was not resumed: refused in every
 *            version, as with BoringSSL, rather than measured wrong.
 *   tickets  cache off; tickets sealed with the shared key table (not
 *            wolfSSL's own key, made lazily in each worker: a ticket
 *            would open only on the worker that issued it) for 1.2 and
 *            1.3.
 *   both     cache and tickets.
 * One TLS 1.3 ticket per full handshake, as the other backends send. */
static int
set_resumption(struct tb_tls_ctx *ctx, const struct tb_tls_config *cfg,
	       char *err, size_t errlen)
{
	WOLFSSL_CTX *wctx = ctx->ctx;
	enum tb_resumption mode = cfg->resumption;
	int want_tickets = mode == TB_RESUME_TICKETS || mode == TB_RESUME_BOTH;
	int want_cache = mode == TB_RESUME_CACHE || mode == TB_RESUME_BOTH;

#ifndef HAVE_SESSION_TICKET
	if (want_tickets || (want_cache && cfg->max_version >= TB_TLS13)) {
		snprintf(err, errlen,
			 "this wolfSSL has no session tickets "
			 "(configure --enable-session-ticket)");
		return -1;
	}
#else
	if (mode == TB_RESUME_CACHE && cfg->max_version >= TB_TLS13) {
		snprintf(err, errlen,
			 "--resumption cache with TLS 1.3 enabled: wolfSSL %s "
			 "resumes TLS 1.3 only with tickets; use --tls-max 1.2 "
			 "or --resumption tickets|both",
			 LIBWOLFSSL_VERSION_STRING);
		return -1;
	}
#endif
	if (!want_cache)
		wolfSSL_CTX_set_session_cache_mode(wctx,
						   WOLFSSL_SESS_CACHE_OFF);
	/* Sessions and tickets alike, in seconds as in OpenSSL.  With the
	 * compatibility layer's error codes this returns the previous
	 * timeout, not WOLFSSL_SUCCESS: only a negative value is a failure. */
	if (wolfSSL_CTX_set_timeout(wctx, (unsigned)cfg->session_lifetime_s) <
	    0) {
		snprintf(err, errlen, "wolfSSL_CTX_set_timeout(%ld) failed",
			 cfg->session_lifetime_s);
		return -1;
	}
#if defined(HAVE_SESSION_TICKET)
	if (!want_tickets) {
		wolfSSL_CTX_NoTicketTLSv12(wctx);
		wolfSSL_CTX_no_ticket_TLSv13(wctx);
	}
	if (wolfSSL_CTX_set_num_tickets(wctx, 1) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "wolfSSL_CTX_set_num_tickets failed");
		return -1;
	}
	if (!want_tickets)
		return 0;
	ctx->ticket_keys =
		tb_ticket_keys_new(cfg->ticket_key_lifetime_s, err, errlen);
	if (ctx->ticket_keys == NULL)
		return -1;
	/* The lifetime a ticket announces: set_timeout does it only with
	 * the compatibility layer. */
	if (wolfSSL_CTX_set_TicketEncCb(wctx, ticket_cb) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_TicketEncCtx(wctx, ctx) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_TicketHint(wctx, (int)cfg->session_lifetime_s) !=
		    WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "cannot install the ticket key callback");
		return -1;
	}
#endif
	return 0;
}

/* --psk-mode ke: wolfSSL_CTX_no_dhe_psk makes the server resume TLS 1.3
 * with psk_ke whenever the client offers it, and fail the handshake
 * (illegal_parameter) of a client that offers psk_dhe_ke alone rather
 * than resume it with a key exchange: tls_settings says so. */
static int
set_psk_mode(WOLFSSL_CTX *wctx, const struct tb_tls_config *cfg, char *err,
	     size_t errlen)
{
	if (cfg->psk_mode == TB_PSK_KE && wolfSSL_CTX_no_dhe_psk(wctx) != 0) {
		snprintf(err, errlen, "wolfSSL_CTX_no_dhe_psk failed");
		return -1;
	}
	return 0;
}

/* --early-data.  wolfSSL's anti-replay (5.9.2) accepts a 0-RTT flight
 * only when it can evict the flight's session from its session cache
 * (RFC 8446 8.1: single use).  In 5.9.2 that does not hold: the ticket
 * wolfSSL sends on the resumed connection carries the same session ID
 * and puts the evicted session back, so a replay of the same flight is
 * accepted again (the replay test sees both accepted).  Up to 5.9.2 early
 * data is therefore refused, as it is in a build without it (configure
 * --enable-earlydata); a later version is let through and checked by the
 * same test.  The cache must be on, so only --resumption both has it with
 * tickets; it is per worker, so a ticket resumes on every worker (the
 * keys are shared) but brings its 0-RTT only to the one that issued it. */
static int
set_early_data(struct tb_tls_ctx *ctx, const struct tb_tls_config *cfg,
	       char *err, size_t errlen)
{
	if (cfg->max_early_data == 0)
		return 0;
#if !defined(WOLFSSL_EARLY_DATA)
	(void)ctx;
	snprintf(err, errlen,
		 "--early-data: this wolfSSL %s has no early data (configure "
		 "--enable-earlydata)",
		 LIBWOLFSSL_VERSION_STRING);
	return -1;
#elif LIBWOLFSSL_VERSION_HEX <= 0x05009002 || defined(NO_SESSION_CACHE) ||     \
	defined(WOLFSSL_EARLY_DATA_NO_ANTI_REPLAY)
	(void)ctx;
	snprintf(err, errlen,
		 "--early-data: wolfSSL %s accepts a replayed 0-RTT flight "
		 "(the ticket it sends on the resumed connection puts back "
		 "the session its first use evicted from the cache)",
		 LIBWOLFSSL_VERSION_STRING);
	return -1;
#else
	if (cfg->resumption != TB_RESUME_BOTH) {
		snprintf(err, errlen,
			 "--early-data: wolfSSL's anti-replay evicts a 0-RTT "
			 "session from its session cache, so it needs the "
			 "cache as well as tickets: use --resumption both");
		return -1;
	}
	if (wolfSSL_CTX_set_max_early_data(ctx->ctx, cfg->max_early_data) < 0) {
		snprintf(err, errlen, "wolfSSL_CTX_set_max_early_data failed");
		return -1;
	}
	ctx->settings.anti_replay =
		"single-use sessions: 0-RTT only while the ticket's session is "
		"in the session cache, which the first use evicts (per worker: "
		"the ticket resumes on any worker, its 0-RTT only on the one "
		"that issued it)";
	return 0;
#endif
}

/* wolfSSL picks the protocol range with the method: the version-flexible
 * method plus a floor (wolfSSL_CTX_SetMinVersion), or a fixed-version
 * method.  A ceiling of 1.2 is natively only wolfTLSv1_2_server_method;
 * wolfSSL_CTX_set_max_proto_version exists only in the OpenSSL
 * compatibility layer, used when present (see below). */
static WOLFSSL_CTX *
new_wolf_ctx(const struct tb_tls_config *cfg, char *err, size_t errlen)
{
	WOLFSSL_METHOD *method;
	WOLFSSL_CTX *wctx;

	if (cfg->min_version > cfg->max_version ||
	    cfg->min_version < TB_TLS12 || cfg->max_version > TB_TLS13) {
		snprintf(err, errlen,
			 "TLS version range %d..%d unsupported (12 or 13, "
			 "min <= max)",
			 cfg->min_version, cfg->max_version);
		return NULL;
	}
	if (cfg->min_version == TB_TLS13)
		method = wolfTLSv1_3_server_method();
#if !defined(OPENSSL_EXTRA)
	else if (cfg->max_version == TB_TLS12)
		method = wolfTLSv1_2_server_method();
#endif
	else
		method = wolfSSLv23_server_method();
	wctx = method ? wolfSSL_CTX_new(method) : NULL;
	if (!wctx) {
		snprintf(err, errlen, "wolfSSL_CTX_new failed");
		return NULL;
	}
	if (cfg->min_version == TB_TLS12 &&
	    wolfSSL_CTX_SetMinVersion(wctx, WOLFSSL_TLSV1_2) !=
		    WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "wolfSSL_CTX_SetMinVersion failed");
		wolfSSL_CTX_free(wctx);
		return NULL;
	}
#if defined(OPENSSL_EXTRA)
	/* With the compatibility layer present, a 1.2 cap on the flexible
	 * method keeps one method for all ranges, and set1_curves_list (see
	 * set_groups) refuses a 1.2-only method. */
	if (cfg->max_version == TB_TLS12 &&
	    wolfSSL_CTX_set_max_proto_version(wctx, TLS1_2_VERSION) !=
		    WOLFSSL_SUCCESS) {
		snprintf(err, errlen,
			 "wolfSSL_CTX_set_max_proto_version failed");
		wolfSSL_CTX_free(wctx);
		return NULL;
	}
#endif
	return wctx;
}

static void
wolf_error_text(int code, char *buf, size_t len)
{
	char text[WOLFSSL_MAX_ERROR_SZ];

	wolfSSL_ERR_error_string_n((unsigned long)code, text, sizeof(text));
	snprintf(buf, len, "%s (%d)", text, code);
}

/* wolfSSL reports a missing file as a bare failure: say which and why. */
static int
check_readable(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

static int
load_cert_key(WOLFSSL_CTX *wctx, const struct tb_tls_config *cfg, char *err,
	      size_t errlen)
{
	char why[WOLFSSL_MAX_ERROR_SZ + 16];
	int ret;

	if (check_readable(cfg->cert_file, err, errlen) < 0 ||
	    check_readable(cfg->key_file, err, errlen) < 0 ||
	    tb_wolf_key_lacks(cfg->key_file, err, errlen))
		return -1;
	ret = wolfSSL_CTX_use_certificate_chain_file(wctx, cfg->cert_file);
	if (ret != WOLFSSL_SUCCESS) {
		wolf_error_text(ret, why, sizeof(why));
		snprintf(err, errlen,
			 "%s is not a usable PEM certificate chain "
			 "(%s)",
			 cfg->cert_file, why);
		return -1;
	}
	ret = wolfSSL_CTX_use_PrivateKey_file(wctx, cfg->key_file,
					      WOLFSSL_FILETYPE_PEM);
	if (ret != WOLFSSL_SUCCESS) {
		wolf_error_text(ret, why, sizeof(why));
		snprintf(err, errlen, "%s is not a usable PEM private key (%s)",
			 cfg->key_file, why);
		return -1;
	}
#if !defined(NO_CHECK_PRIVATE_KEY)
	if (wolfSSL_CTX_check_private_key(wctx) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "key %s does not match certificate %s",
			 cfg->key_file, cfg->cert_file);
		return -1;
	}
#endif
	return 0;
}

/* The key's kind and TLS 1.3 scheme, for tb_tls_conn_params. */
static int
record_key(struct tb_tls_ctx *ctx, const char *key_file, char *err,
	   size_t errlen)
{
	int kind, param;

	if (tb_wolf_key_kind(key_file, &kind, &param, err, errlen) != 0)
		return -1;
	ctx->key_kind = (uint8_t)kind;
	ctx->sigalg13 = tb_wolf_sigalg13(kind, param);
	return 0;
}

static void
record_settings(struct tb_tls_ctx *ctx, const struct tb_tls_config *cfg)
{
	struct tb_settings *st = &ctx->settings;
	int tickets = cfg->resumption == TB_RESUME_TICKETS ||
		      cfg->resumption == TB_RESUME_BOTH;

	tb_settings_number(st->session_cache_size,
			   sizeof(st->session_cache_size), TB_WOLF_CACHE,
			   cfg->session_cache_size, "compile-time table");
	tb_settings_number(
		st->session_lifetime_s, sizeof(st->session_lifetime_s),
		cfg->session_lifetime_s, cfg->session_lifetime_s, NULL);
#if defined(LARGE_STATIC_BUFFERS)
	tb_settings_idle(st->idle_buffers, sizeof(st->idle_buffers),
			 TB_IDLE_KEEP,
			 cfg->idle_buffers == TB_IDLE_RELEASE
				 ? "LARGE_STATIC_BUFFERS build"
				 : NULL);
#else
	/* Without LARGE_STATIC_BUFFERS wolfSSL allocates a record buffer
	 * when a record needs it and frees it once the record is consumed or
	 * flushed, so an idle connection holds none. */
	tb_settings_idle(st->idle_buffers, sizeof(st->idle_buffers),
			 TB_IDLE_RELEASE,
			 cfg->idle_buffers == TB_IDLE_KEEP
				 ? "per record; keeping needs a "
				   "LARGE_STATIC_BUFFERS build"
				 : NULL);
#endif
	snprintf(st->tickets_per_handshake, sizeof(st->tickets_per_handshake),
		 "%d", tickets);
	st->psk_ke_note = "a client offering psk_dhe_ke alone fails its "
			  "handshake, as wolfSSL_CTX_no_dhe_psk does";
	st->tls_object_reuse = "no (wolfSSL_clear keeps the last session)";
	ctx->facts = tb_settings_facts(st, cfg, ctx->ticket_keys, cfg->io);
}

/* --io core: wolfSSL's I/O callbacks on the core's buffers (the I/O
 * context is the connection's fd field, as on a socket).  The core's
 * recv()-like results become the codes wolfSSL's own socket callbacks
 * (wolfio.c) give, so the library takes the same paths as on a socket;
 * errno stays as the core left it, for map_result. */
static int
core_io_code(ssize_t n, int want)
{
	if (n > 0)
		return (int)n;
	if (n == 0)
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	switch (errno) {
	case EAGAIN:
		return want;
	case ECONNRESET:
		return WOLFSSL_CBIO_ERR_CONN_RST;
	case EPIPE:
	case ECONNABORTED:
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	}
	return WOLFSSL_CBIO_ERR_GENERAL;
}

static int
core_recv(WOLFSSL *ssl, char *buf, int sz, void *io_ctx)
{
	(void)ssl;
	return core_io_code(
		tb_io_read(conn_of_io_ctx(io_ctx)->io, buf, (size_t)sz),
		WOLFSSL_CBIO_ERR_WANT_READ);
}

static int
core_send(WOLFSSL *ssl, char *buf, int sz, void *io_ctx)
{
	(void)ssl;
	return core_io_code(
		tb_io_write(conn_of_io_ctx(io_ctx)->io, buf, (size_t)sz),
		WOLFSSL_CBIO_ERR_WANT_WRITE);
}

struct tb_tls_ctx *
tb_tls_ctx_new(const struct tb_tls_config *cfg, char *err, size_t errlen)
{
	struct tb_tls_ctx *ctx;

	if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "wolfSSL_Init failed");
		return NULL;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		snprintf(err, errlen, "out of memory");
		wolfSSL_Cleanup();
		return NULL;
	}
	ctx->ctx = new_wolf_ctx(cfg, err, errlen);
	if (!ctx->ctx)
		goto fail;
	wolfSSL_CTX_set_verify(ctx->ctx, WOLFSSL_VERIFY_NONE, NULL);
	if (cfg->io == TB_IO_CORE) {
		wolfSSL_CTX_SetIORecv(ctx->ctx, core_recv);
		wolfSSL_CTX_SetIOSend(ctx->ctx, core_send);
	}
	if (load_cert_key(ctx->ctx, cfg, err, errlen) < 0 ||
	    set_ciphers(ctx->ctx, cfg, err, errlen) < 0 ||
	    set_groups(ctx->ctx, cfg, err, errlen) < 0 ||
	    set_resumption(ctx, cfg, err, errlen) < 0 ||
	    set_psk_mode(ctx->ctx, cfg, err, errlen) < 0 ||
	    set_early_data(ctx, cfg, err, errlen) < 0 ||
	    record_key(ctx, cfg->key_file, err, errlen) < 0)
		goto fail;
	record_settings(ctx, cfg);
	return ctx;
fail:
	tb_tls_ctx_free(ctx);
	return NULL;
}

const struct tb_tls_fact *
tb_tls_ctx_facts(const struct tb_tls_ctx *ctx)
{
	return ctx->facts;
}

void
tb_tls_ctx_free(struct tb_tls_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->ctx)
		wolfSSL_CTX_free(ctx->ctx);
	tb_ticket_keys_free(ctx->ticket_keys);
	free(ctx);
	wolfSSL_Cleanup();
}

/* ------------------------------------------------------------------ */
/* Connections */

struct tb_tls_conn *
tb_tls_conn_new(struct tb_tls_ctx *ctx, int fd, struct tb_io *io)
{
	struct tb_tls_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ctx = ctx;
	c->ssl = wolfSSL_new(ctx->ctx);
	if (!c->ssl) {
		tb_tls_conn_free(c);
		return NULL;
	}
	if (io == NULL && wolfSSL_set_fd(c->ssl, fd) != WOLFSSL_SUCCESS) {
		tb_tls_conn_free(c);
		return NULL;
	}
	c->fd = fd;
	c->io = io;
	wolfSSL_SetIOReadCtx(c->ssl, &c->fd);
	wolfSSL_SetIOWriteCtx(c->ssl, &c->fd);
#if defined(WOLFSSL_EARLY_DATA)
	c->early.reading = wolfSSL_get_max_early_data(c->ssl) > 0;
#endif
	return c;
}

/* wolfSSL_clear (compatibility layer) resets a hand-kept list of fields
 * and keeps a completed connection's session: not the fresh object
 * wolfSSL_new makes, so no reuse. */
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
	if (!c)
		return;
	if (c->ssl)
		wolfSSL_free(c->ssl);
	tb_early_free(&c->early);
	free(c);
}

/* The one place a wolfSSL result becomes a status.  errno is read right
 * after the call, before anything can change it. */
static enum tb_status
map_result(struct tb_tls_conn *c, int ret, int saved_errno)
{
	int code = wolfSSL_get_error(c->ssl, ret);

	switch (code) {
	case WOLFSSL_ERROR_NONE:
		return TB_OK;
	case WOLFSSL_ERROR_WANT_READ:
		return TB_WANT_READ;
	case WOLFSSL_ERROR_WANT_WRITE:
		return TB_WANT_WRITE;
	case WOLFSSL_ERROR_ZERO_RETURN:
		return TB_CLOSED; /* close_notify */
	case SOCKET_PEER_CLOSED_E:
		/* recv() returned 0: EOF without close_notify */
		return tb_tls_io_status(0, 1);
	case SOCKET_ERROR_E:
	case WOLFSSL_ERROR_SYSCALL:
		/* errno was cleared before the call: 0 means EOF.  With the
		 * OpenSSL compatibility layer (5.9's opensslextra) wolfSSL
		 * reports a failed or ended socket as ERROR_SYSCALL, the
		 * OpenSSL way; without it, as SOCKET_ERROR_E. */
		if (tb_tls_io_status(saved_errno, saved_errno == 0) ==
		    TB_CLOSED)
			return TB_CLOSED;
		break;
	default:
		break;
	}
	return tb_err_set(&c->err, TB_ERR_LIBRARY, (unsigned long)code,
			  code == SOCKET_ERROR_E ||
					  code == WOLFSSL_ERROR_SYSCALL
				  ? saved_errno
				  : 0);
}

/* One wolfSSL_read_early_data: TB_OK with *n > 0 for early data, TB_OK
 * with *n == 0 once there is no more (not sent, rejected, or the client's
 * Finished read; or a TLS 1.2 client, which the call refuses). */
static enum tb_status
read_early(void *conn, void *buf, size_t len, size_t *n)
{
	struct tb_tls_conn *c = conn;
	int got = 0;

	*n = 0;
#if defined(WOLFSSL_EARLY_DATA)
	if (wolfSSL_GetVersion(c->ssl) == WOLFSSL_TLSV1_3) {
		int ret;

		errno = 0;
		ret = wolfSSL_read_early_data(
			c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len, &got);
		if (ret < 0)
			return map_result(c, ret, errno);
	}
#else
	(void)buf;
	(void)len;
#endif
	if (got > 0)
		*n = (size_t)got;
	else
		c->early.reading = 0;
	return TB_OK;
}

enum tb_status
tb_tls_handshake(struct tb_tls_conn *c)
{
	enum tb_status st;
	int ret, now;

	st = tb_early_handshake(&c->early, read_early, c, &c->err, &now);
	if (st != TB_OK || now)
		return st;
	errno = 0;
	ret = wolfSSL_accept(c->ssl);
	if (ret == WOLFSSL_SUCCESS)
		return TB_OK;
	return map_result(c, ret, errno);
}

enum tb_status
tb_tls_read(struct tb_tls_conn *c, void *buf, size_t len, size_t *n)
{
	enum tb_status st;
	int ret;

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
	/* A 0-RTT handshake is finished by now (wolfSSL_read_early_data
	 * read the client's Finished), and wolfSSL_write sends 0.5-RTT data
	 * without help. */
	errno = 0;
	ret = wolfSSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (ret > 0) {
		*n = (size_t)ret;
		return TB_OK;
	}
	return map_result(c, ret, errno);
}

enum tb_status
tb_tls_write(struct tb_tls_conn *c, const void *buf, size_t len, size_t *n)
{
	int ret;

	*n = 0;
	if (len == 0)
		return TB_OK;
	errno = 0;
	ret = wolfSSL_write(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (ret > 0) {
		*n = (size_t)ret;
		return TB_OK;
	}
	return map_result(c, ret, errno);
}

enum tb_status
tb_tls_shutdown(struct tb_tls_conn *c)
{
	enum tb_status st;
	int ret;

	/* A 0-RTT handshake not finished yet sends nothing (tls.h). */
	if (c->early.given && !wolfSSL_is_init_finished(c->ssl))
		return TB_OK;
	errno = 0;
	ret = wolfSSL_shutdown(c->ssl);
	/* SHUTDOWN_NOT_DONE: our close_notify went out, the peer's did not
	 * arrive, and we never wait for it. */
	if (ret == WOLFSSL_SUCCESS || ret == WOLFSSL_SHUTDOWN_NOT_DONE)
		return TB_OK;
	st = map_result(c, ret, errno);
	return st == TB_WANT_READ || st == TB_WANT_WRITE ? TB_OK : st;
}

static void
lib_text(unsigned long code, char *buf, size_t len)
{
	wolf_error_text((int)code, buf, len);
}

const char *
tb_tls_conn_error(const struct tb_tls_conn *c)
{
	return tb_err_text(&c->err, lib_text);
}

/* The group by wolfSSL's name for it: the only getter wolfSSL has. */
static uint16_t
group_id(WOLFSSL *ssl)
{
	const char *name = wolfSSL_get_curve_name(ssl);
	const struct wolf_group *g =
		name != NULL ? wolf_group_by(0, name) : NULL;

	return g != NULL ? g->id : 0;
}

/* wolfSSL has no getter for the scheme it signed with.  The key decides
 * it in TLS 1.3 (ECDSA: the curve's hash); the hash wolfSSL picked, where
 * the compatibility layer tells it, moves it in TLS 1.2 and for RSA-PSS.
 * RSA keys sign with PSS in both versions (wolfSSL prefers PSS whenever
 * the client offers it, and every client measured here does). */
static uint16_t
sigalg_id(const struct tb_tls_conn *c, int tls13)
{
	uint16_t base = c->ctx->sigalg13;
	int step = 0;

	if (c->ctx->key_kind == TB_WOLF_KEY_ED25519 ||
	    c->ctx->key_kind == TB_WOLF_KEY_MLDSA)
		return base;
	if (c->ctx->key_kind == TB_WOLF_KEY_ECC && tls13)
		return base;
#if defined(OPENSSL_EXTRA)
	{
		int nid = 0;

		if (wolfSSL_get_signature_nid(c->ssl, &nid) == WOLFSSL_SUCCESS)
			step = nid == NID_sha384   ? 1
			       : nid == NID_sha512 ? 2
						   : 0;
	}
#endif
	if (c->ctx->key_kind == TB_WOLF_KEY_ECC)
		return (uint16_t)(0x0403 + 0x100 * step);
	return (uint16_t)(base + step);
}

void
tb_tls_conn_params(const struct tb_tls_conn *c, struct tb_tls_params *p)
{
	int version = wolfSSL_GetVersion(c->ssl);
	int suite = wolfSSL_get_current_cipher_suite(c->ssl);
	int resumed = wolfSSL_session_reused(c->ssl) ? 1 : 0;
	int tls13 = version == WOLFSSL_TLSV1_3;

	p->version = tls13 ? 0x0304 : version == WOLFSSL_TLSV1_2 ? 0x0303 : 0;
	p->cipher = suite >= 0 ? (uint16_t)suite : 0;
	p->resumed = (uint8_t)resumed;
#if defined(WOLFSSL_EARLY_DATA)
	switch (wolfSSL_get_max_early_data(c->ssl) > 0 && tls13
			? wolfSSL_get_early_data_status(c->ssl)
			: WOLFSSL_EARLY_DATA_NOT_SENT) {
	case WOLFSSL_EARLY_DATA_ACCEPTED:
		p->early_data = TB_EARLY_ACCEPTED;
		break;
	case WOLFSSL_EARLY_DATA_REJECTED:
		p->early_data = TB_EARLY_REJECTED;
		break;
	default:
		p->early_data = TB_EARLY_NONE;
	}
#else
	p->early_data = TB_EARLY_NONE;
#endif
	/* Resumed without opening a ticket: a TLS 1.2 session ID from the
	 * cache. */
	p->resumed_by = !resumed	   ? TB_RESUMED_UNKNOWN
			: c->ticket_opened ? TB_RESUMED_TICKET
					   : TB_RESUMED_ID;
	/* A resumed TLS 1.2 handshake exchanges no key, and none signs. */
	p->group = resumed && !tls13 ? 0 : group_id(c->ssl);
	p->sigalg = resumed ? 0 : sigalg_id(c, tls13);
}
