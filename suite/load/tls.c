/* tls.c: the client TLS context (built the same way on every thread) and
 * what the client learns from a handshake: the session to offer next time
 * and the negotiated parameters. */
#include "load.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

static int ssl_slot_index = -1;

/* TLS 1.3 tickets arrive after the handshake, inside the first reads; the
 * callback is the one place that sees every session the server hands out,
 * in either version.  Keeping the latest per slot is what --resume offers. */
static int
new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	SSL_SESSION **keep = SSL_get_ex_data(ssl, ssl_slot_index);

	if (keep == NULL)
		return 0;
	if (*keep)
		SSL_SESSION_free(*keep);
	*keep = sess;
	return 1; /* the reference is ours */
}

static int
alpn_wire(const char *list, unsigned char *out, size_t outlen, size_t *len)
{
	size_t n = 0;

	while (*list) {
		size_t l = strcspn(list, ",");
		if (l == 0 || l > 255 || n + 1 + l > outlen)
			return -1;
		out[n++] = (unsigned char)l;
		memcpy(out + n, list, l);
		n += l;
		list += l;
		if (*list == ',')
			list++;
	}
	*len = n;
	return n ? 0 : -1;
}

static void
ssl_error_text(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", buf);
}

SSL_CTX *
tl_tls_context(const struct tl_options *o, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const struct tl_url *u = &o->url;
	const char *name = o->sni ? o->sni : u->host;

	/* main builds one context before the threads start, so this is set
	 * once, single-threaded. */
	if (ssl_slot_index < 0)
		ssl_slot_index =
			SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (ctx == NULL) {
		ssl_error_text(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	ERR_clear_error();
	/* A server that closes without close_notify after its response
	 * (Connection: close) reads as a plain EOF. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Read whole socket buffers, not a 5-byte header and then a record:
	 * half the read() calls.  The client drains SSL_read to WANT_READ
	 * and checks SSL_has_pending before it waits. */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (o->tls_version) {
		int v = o->tls_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
		SSL_CTX_set_min_proto_version(ctx, v);
		SSL_CTX_set_max_proto_version(ctx, v);
	}
	if (o->ciphers && !SSL_CTX_set_cipher_list(ctx, o->ciphers)) {
		snprintf(err, errlen, "--ciphers \"%s\": no usable cipher",
			 o->ciphers);
		goto fail;
	}
	if (o->ciphersuites &&
	    !SSL_CTX_set_ciphersuites(ctx, o->ciphersuites)) {
		snprintf(err, errlen, "--ciphersuites \"%s\": not a valid list",
			 o->ciphersuites);
		goto fail;
	}
	if (o->groups && !SSL_CTX_set1_groups_list(ctx, o->groups)) {
		snprintf(err, errlen, "--groups \"%s\": not a valid list",
			 o->groups);
		goto fail;
	}
	if (o->alpn) {
		unsigned char wire[1024];
		size_t len;
		if (alpn_wire(o->alpn, wire, sizeof(wire), &len) != 0 ||
		    SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)len) != 0) {
			snprintf(err, errlen, "--alpn \"%s\": not a valid list",
				 o->alpn);
			goto fail;
		}
	}
	if (o->insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	} else {
		if (o->cacert) {
			if (!SSL_CTX_load_verify_locations(ctx, o->cacert,
							   NULL)) {
				char what[512];
				snprintf(what, sizeof(what),
					 "--cacert %s: cannot load CA "
					 "certificates",
					 o->cacert);
				ssl_error_text(err, errlen, what);
				goto fail;
			}
		} else if (!SSL_CTX_set_default_verify_paths(ctx)) {
			ssl_error_text(err, errlen,
				       "cannot load the system CA store");
			goto fail;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		/* Checked once in the context's parameters; every SSL copies
		 * them.  An address is checked against the IP SANs. */
		X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
		int ok = (u->host_is_ip && !o->sni)
				 ? X509_VERIFY_PARAM_set1_ip_asc(param, name)
				 : X509_VERIFY_PARAM_set1_host(param, name, 0);
		if (!ok) {
			snprintf(err, errlen, "cannot verify against \"%s\"",
				 name);
			goto fail;
		}
	}
	if (o->resume == TL_RESUME_NONE) {
		/* No session is kept or offered; tickets are declined so a
		 * TLS 1.2 server does not spend work on one nobody uses. */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	} else {
		SSL_CTX_set_session_cache_mode(
			ctx, SSL_SESS_CACHE_CLIENT |
				     SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
		/* id: no ticket extension, so a TLS 1.2 server must resume
		 * from its session-ID cache.  In TLS 1.3 the client cannot
		 * ask for that: the server's configuration decides. */
		if (o->resume == TL_RESUME_ID)
			SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	}
	/* OpenSSL's client (3.0 to 3.6) always lists psk_dhe_ke and adds
	 * psk_ke after it with SSL_OP_ALLOW_NO_DHE_KEX; the server picks (an
	 * OpenSSL server takes psk_dhe_ke unless it sets
	 * SSL_OP_PREFER_NO_DHE_KEX).  psk_ke alone it cannot offer, and it
	 * sends a key share in every ClientHello either way. */
	if (o->psk_mode == TL_PSK_KE) {
		snprintf(err, errlen,
			 "--psk-mode ke: the OpenSSL client always offers "
			 "psk_dhe_ke too; use --psk-mode both with a server "
			 "that prefers psk_ke");
		goto fail;
	}
	if (o->psk_mode == TL_PSK_BOTH)
		SSL_CTX_set_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
	/* Every full handshake generates a fresh ephemeral key share, as
	 * OpenSSL always does; a client reusing points (wolfSSL's FP_ECC
	 * cache, say) would flatter the client side of the handshake. */
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void
tl_tls_keep_sessions(SSL *ssl, SSL_SESSION **keep)
{
	SSL_set_ex_data(ssl, ssl_slot_index, keep);
}

const char *
tl_tls_library(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

/* The IANA name of the scheme the server signed the handshake with, "" for
 * none (a resumption).  OpenSSL 3.5 names it; before, it is put together
 * from the key type and digest the same way. */
static void
peer_sigalg(SSL *ssl, char *out, size_t len)
{
#if OPENSSL_VERSION_NUMBER >= 0x30500000L
	const char *name = NULL;

	snprintf(out, len, "%s",
		 SSL_get0_peer_signature_name(ssl, &name) && name ? name : "");
#else
	int type = NID_undef, hash = NID_undef;
	const char *h;

	out[0] = '\0';
	if (!SSL_get_peer_signature_type_nid(ssl, &type) || type == NID_undef)
		return;
	SSL_get_peer_signature_nid(ssl, &hash);
	h = hash == NID_sha256	 ? "sha256"
	    : hash == NID_sha384 ? "sha384"
	    : hash == NID_sha512 ? "sha512"
	    : hash == NID_sha1	 ? "sha1"
				 : OBJ_nid2sn(hash);
	if (type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448) {
		snprintf(out, len, "%s",
			 type == EVP_PKEY_ED25519 ? "ed25519" : "ed448");
	} else if (type == EVP_PKEY_EC) {
		const char *curve = hash == NID_sha256	 ? "secp256r1_"
				    : hash == NID_sha384 ? "secp384r1_"
				    : hash == NID_sha512 ? "secp521r1_"
							 : "";
		snprintf(out, len, "ecdsa_%s%s", curve, h);
	} else if (type == EVP_PKEY_RSA_PSS) {
		/* rsae: the certificate's key is a plain RSA key. */
		X509 *cert = SSL_get0_peer_certificate(ssl);
		EVP_PKEY *key = cert ? X509_get0_pubkey(cert) : NULL;
		bool pss = key && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA_PSS;
		snprintf(out, len, "rsa_pss_%s_%s", pss ? "pss" : "rsae", h);
	} else if (type == EVP_PKEY_RSA) {
		snprintf(out, len, "rsa_pkcs1_%s", h);
	} else {
		snprintf(out, len, "%s+%s", OBJ_nid2sn(type), h);
	}
#endif
}

void
tl_tls_negotiated(SSL *ssl, struct tl_stats *st)
{
	const char *g = NULL;
	int nid;

	/* A resumption signs nothing: the first full handshake names it. */
	if (st->sigalg[0] == '\0')
		peer_sigalg(ssl, st->sigalg, sizeof(st->sigalg));
	if (st->version[0] != '\0')
		return;

	snprintf(st->version, sizeof(st->version), "%s", SSL_get_version(ssl));
	snprintf(st->cipher, sizeof(st->cipher), "%s",
		 SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
	nid = SSL_get_negotiated_group(ssl);
	if (nid != 0 && nid != NID_undef)
		g = SSL_group_to_name(ssl, nid);
	if (g == NULL) {
		EVP_PKEY *key = NULL;
		if (SSL_get_peer_tmp_key(ssl, &key) && key) {
			char name[64];
			size_t len;
			if (EVP_PKEY_get_group_name(key, name, sizeof(name),
						    &len))
				snprintf(st->group, sizeof(st->group), "%s",
					 name);
			else
				snprintf(st->group, sizeof(st->group), "%s",
					 EVP_PKEY_get0_type_name(key));
			EVP_PKEY_free(key);
		}
	} else {
		snprintf(st->group, sizeof(st->group), "%s", g);
	}
	if (st->group[0] == '\0')
		snprintf(st->group, sizeof(st->group), "-");
}
