/* floor.h: --bench-crypto, the crypto floor of one full handshake. */
#ifndef TB_FLOOR_H
#define TB_FLOOR_H

/* Times one signature with key_file plus one key share and shared secret
 * for the first group of the groups list (X25519 when NULL) through the
 * linked library, prints `key: value` lines on stdout and returns the
 * process exit status: 0, or 2 after a one-line error on stderr. */
int tb_floor_run(const char *key_file, const char *groups, unsigned iterations);

#endif
