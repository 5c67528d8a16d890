/* tls_names.c: the IANA TLS registries the server reports from.
 *
 * Backends hand over numbers (struct tb_tls_params); names are made here,
 * only when a stats line or the crypto floor is printed, so every backend
 * reports identical names and none looks a name up in a handshake.
 */
#include "tls_names.h"

#include <stdio.h>
#include <strings.h>

struct name {
	uint16_t id;
	const char *name;
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct name versions[] = {
	{0x0301, "TLSv1"},
	{0x0302, "TLSv1.1"},
	{0x0303, "TLSv1.2"},
	{0x0304, "TLSv1.3"},
};

/* TLS 1.3 suites, then the TLS 1.2 suites a benchmark may configure. */
static const struct name ciphers[] = {
	{0x1301, "TLS_AES_128_GCM_SHA256"},
	{0x1302, "TLS_AES_256_GCM_SHA384"},
	{0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
	{0x1304, "TLS_AES_128_CCM_SHA256"},
	{0x1305, "TLS_AES_128_CCM_8_SHA256"},
	{0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
	{0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
	{0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
	{0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
	{0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
	{0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
	{0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
	{0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
	{0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
	{0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
	{0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
	{0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
	{0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
	{0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
	{0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
	{0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
	{0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"},
	{0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"},
	{0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"},
	{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
};

/* The short names results have always used for the classic curves
 * (P-256, not secp256r1); IANA's for the rest. */
static const struct name groups[] = {
	{0x0017, "P-256"},
	{0x0018, "P-384"},
	{0x0019, "P-521"},
	{0x001d, "X25519"},
	{0x001e, "X448"},
	{0x001a, "brainpoolP256r1"},
	{0x001b, "brainpoolP384r1"},
	{0x001c, "brainpoolP512r1"},
	{0x001f, "brainpoolP256r1tls13"},
	{0x0020, "brainpoolP384r1tls13"},
	{0x0021, "brainpoolP512r1tls13"},
	{0x0100, "ffdhe2048"},
	{0x0101, "ffdhe3072"},
	{0x0102, "ffdhe4096"},
	{0x0103, "ffdhe6144"},
	{0x0104, "ffdhe8192"},
	{0x0200, "MLKEM512"},
	{0x0201, "MLKEM768"},
	{0x0202, "MLKEM1024"},
	{0x11eb, "SecP256r1MLKEM768"},
	{0x11ec, "X25519MLKEM768"},
	{0x11ed, "SecP384r1MLKEM1024"},
	{0x6399, "X25519Kyber768Draft00"},
};

/* Other spellings of a group, accepted where a name is parsed. */
static const struct name group_aliases[] = {
	{0x0017, "secp256r1"},
	{0x0017, "prime256v1"},
	{0x0018, "secp384r1"},
	{0x0019, "secp521r1"},
};

static const struct name sigalgs[] = {
	{0x0401, "rsa_pkcs1_sha256"},
	{0x0501, "rsa_pkcs1_sha384"},
	{0x0601, "rsa_pkcs1_sha512"},
	{0x0403, "ecdsa_secp256r1_sha256"},
	{0x0503, "ecdsa_secp384r1_sha384"},
	{0x0603, "ecdsa_secp521r1_sha512"},
	{0x0804, "rsa_pss_rsae_sha256"},
	{0x0805, "rsa_pss_rsae_sha384"},
	{0x0806, "rsa_pss_rsae_sha512"},
	{0x0807, "ed25519"},
	{0x0808, "ed448"},
	{0x0809, "rsa_pss_pss_sha256"},
	{0x080a, "rsa_pss_pss_sha384"},
	{0x080b, "rsa_pss_pss_sha512"},
	{0x081a, "ecdsa_brainpoolP256r1tls13_sha256"},
	{0x081b, "ecdsa_brainpoolP384r1tls13_sha384"},
	{0x081c, "ecdsa_brainpoolP512r1tls13_sha512"},
	{0x0904, "mldsa44"},
	{0x0905, "mldsa65"},
	{0x0906, "mldsa87"},
	{0x0201, "rsa_pkcs1_sha1"},
	{0x0203, "ecdsa_sha1"},
};

static const char *
lookup(const struct name *t, size_t n, uint16_t id, char *buf, size_t len)
{
	size_t i;

	if (id == 0)
		return "-";
	for (i = 0; i < n; i++)
		if (t[i].id == id)
			return t[i].name;
	snprintf(buf, len, "0x%04x", id);
	return buf;
}

const char *
tb_tls_version_name(uint16_t id, char *buf, size_t len)
{
	return lookup(versions, COUNT(versions), id, buf, len);
}

const char *
tb_tls_cipher_name(uint16_t id, char *buf, size_t len)
{
	return lookup(ciphers, COUNT(ciphers), id, buf, len);
}

const char *
tb_tls_group_name(uint16_t id, char *buf, size_t len)
{
	return lookup(groups, COUNT(groups), id, buf, len);
}

const char *
tb_tls_sigalg_name(uint16_t id, char *buf, size_t len)
{
	return lookup(sigalgs, COUNT(sigalgs), id, buf, len);
}

static uint16_t
find_id(const struct name *t, size_t n, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strncasecmp(t[i].name, name, len) == 0 &&
		    t[i].name[len] == '\0')
			return t[i].id;
	return 0;
}

uint16_t
tb_tls_group_id(const char *name, size_t len)
{
	uint16_t id = find_id(groups, COUNT(groups), name, len);

	return id != 0 ? id
		       : find_id(group_aliases, COUNT(group_aliases), name,
				 len);
}

size_t
tb_tls_sigalg_digest_len(uint16_t id)
{
	switch (id) {
	case 0x0401:
	case 0x0403:
	case 0x0804:
	case 0x0809:
	case 0x081a:
		return 32;
	case 0x0501:
	case 0x0503:
	case 0x0805:
	case 0x080a:
	case 0x081b:
		return 48;
	case 0x0601:
	case 0x0603:
	case 0x0806:
	case 0x080b:
	case 0x081c:
		return 64;
	case 0x0807:
	case 0x0808:
	case 0x0904:
	case 0x0905:
	case 0x0906:
		return 32; /* no prehash: a 32-byte message */
	}
	return 0;
}
