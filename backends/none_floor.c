/* none_floor.c: the crypto floor for the plaintext backend: there is none. */
#include <stdio.h>

#include "tls.h"

struct tb_floor *
tb_floor_new(const char *key_file, uint16_t group, unsigned shares,
	     uint16_t *sigalg, char *err, size_t errlen)
{
	(void)key_file;
	(void)group;
	(void)shares;
	*sigalg = 0;
	snprintf(err, errlen, "no cryptography in the plaintext backend");
	return NULL;
}

int
tb_floor_sign(struct tb_floor *f, const uint8_t *digest, size_t len)
{
	(void)f;
	(void)digest;
	(void)len;
	return -1;
}

int
tb_floor_kex(struct tb_floor *f, unsigned i)
{
	(void)f;
	(void)i;
	return -1;
}

void
tb_floor_free(struct tb_floor *f)
{
	(void)f;
}
