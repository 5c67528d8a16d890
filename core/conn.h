/* conn.h: one client connection, from accept to close. */
#ifndef TB_CONN_H
#define TB_CONN_H

struct tb_worker;

/* Take over an accepted non-blocking fd (closed here on failure). */
void tb_conn_start(struct tb_worker *w, int fd);
/* Close every connection of the worker (graceful stop). */
void tb_conn_close_all(struct tb_worker *w);
/* Set up the worker's spares (buffers, connection objects): at start. */
void tb_conn_init_spares(struct tb_worker *w);
/* Free them: at the worker's end. */
void tb_conn_free_spares(struct tb_worker *w);

#endif
