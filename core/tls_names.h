/* tls_names.h: IANA code points to names, one table for every backend. */
#ifndef TB_TLS_NAMES_H
#define TB_TLS_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Each returns the registry's name for id ("TLSv1.3",
 * "TLS_AES_128_GCM_SHA256", "X25519", "ecdsa_secp256r1_sha256"), "-" for
 * 0, or the id in hex ("0x11ee") written into buf (at least 8 bytes) when
 * the table does not know it. */
const char *tb_tls_version_name(uint16_t id, char *buf, size_t len);
const char *tb_tls_cipher_name(uint16_t id, char *buf, size_t len);
const char *tb_tls_group_name(uint16_t id, char *buf, size_t len);
const char *tb_tls_sigalg_name(uint16_t id, char *buf, size_t len);

/* The NamedGroup id of a group name or alias (case-insensitive: "P-256",
 * "secp256r1", "prime256v1"), or 0. */
uint16_t tb_tls_group_id(const char *name, size_t len);

/* Bytes a SignatureScheme signs in a TLS 1.3 CertificateVerify as the
 * floor measures it: the hash length (sha256 32, sha384 48, sha512 64), or
 * a 32-byte message for schemes without a prehash (EdDSA, ML-DSA); 0 for
 * an unknown scheme. */
size_t tb_tls_sigalg_digest_len(uint16_t id);

#endif
