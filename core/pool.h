/* pool.h: a worker's free list of same-size blocks (read buffers, I/O
 * buffers), so a connection reuses memory instead of a malloc and a free
 * per use.  One worker, one thread: no locks. */
#ifndef TB_POOL_H
#define TB_POOL_H

#include <stddef.h>

struct tb_pool {
	void *free;   /* kept blocks, linked through their first bytes */
	size_t size;  /* bytes per block, at least a pointer */
	unsigned n;   /* blocks kept */
	unsigned max; /* kept at most; more are freed */
};

/* A block of p->size bytes (contents undefined), or NULL when out of
 * memory. */
void *tb_pool_get(struct tb_pool *p);
/* Give b back (NULL is ignored). */
void tb_pool_put(struct tb_pool *p, void *b);
/* Free every kept block. */
void tb_pool_drain(struct tb_pool *p);

#endif
