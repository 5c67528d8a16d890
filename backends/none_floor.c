/* none_floor.c: tb_tls_bench_crypto for the plaintext backend: no floor. */
#include <stdio.h>
#include <string.h>

#include "tls.h"

int
tb_tls_bench_crypto(const char *key_file, const char *group,
		    unsigned iterations, struct tb_crypto_floor *out, char *err,
		    size_t errlen)
{
	(void)key_file;
	(void)group;
	(void)iterations;
	memset(out, 0, sizeof(*out));
	snprintf(err, errlen, "no cryptography in the plaintext backend");
	return -1;
}
