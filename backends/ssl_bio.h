/* ssl_bio.h: --io core for the OpenSSL API, shared by the OpenSSL and the
 * BoringSSL backends: a BIO whose read and write are the core's
 * tb_io_read() and tb_io_write() (tls.h) and nothing else. */
#ifndef TB_SSL_BIO_H
#define TB_SSL_BIO_H

#include <openssl/bio.h>
#include <openssl/ssl.h>

struct tb_io;

/* The method, made once per context; NULL when out of memory. */
BIO_METHOD *tb_bio_method_new(void);
/* A BIO of method m on io as ssl's read and write BIO; 0, or -1 when out
 * of memory. */
int tb_bio_attach(SSL *ssl, const BIO_METHOD *m, struct tb_io *io);
/* ssl's BIO (from tb_bio_attach) on io, for a new connection. */
void tb_bio_reset(SSL *ssl, struct tb_io *io);

#endif
