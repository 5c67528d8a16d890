/* conn.h: one client connection, from accept to close. */
#ifndef TB_CONN_H
#define TB_CONN_H

struct tb_worker;

/* Take over an accepted non-blocking fd (closed here on failure). */
void tb_conn_start(struct tb_worker *w, int fd);
/* Close every connection of the worker (graceful stop). */
void tb_conn_close_all(struct tb_worker *w);
/* Free the worker's spare read buffers. */
void tb_conn_free_buffers(struct tb_worker *w);

#endif
