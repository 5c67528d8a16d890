/* pool.c: free lists of same-size blocks (pool.h). */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

void *
tb_pool_get(struct tb_pool *p)
{
	void *b = p->free;

	if (b == NULL)
		return malloc(p->size);
	memcpy(&p->free, b, sizeof(void *));
	p->n--;
	return b;
}

void
tb_pool_put(struct tb_pool *p, void *b)
{
	if (b == NULL)
		return;
	if (p->n >= p->max) {
		free(b);
		return;
	}
	memcpy(b, &p->free, sizeof(void *));
	p->free = b;
	p->n++;
}

void
tb_pool_drain(struct tb_pool *p)
{
	while (p->free != NULL)
		free(tb_pool_get(p));
}
