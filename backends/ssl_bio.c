/* ssl_bio.c: the core's buffers as an OpenSSL-API BIO (ssl_bio.h).
 *
 * The callbacks turn the core's recv()-like results into what the
 * library's own socket BIO would report: the retry flags for EAGAIN, and
 * where the API has one (OpenSSL) the end-of-input flag for a 0 read, so
 * the library takes the same paths as on a socket.  A flush is the
 * core's business: BIO_flush, which the library calls after a flight,
 * succeeds without moving a byte. */
#include "ssl_bio.h"

#include <errno.h>

#include "tls.h"

static int
bio_write(BIO *b, const char *buf, int len)
{
	ssize_t n = tb_io_write(BIO_get_data(b), buf, (size_t)len);

	BIO_clear_retry_flags(b);
	if (n < 0 && errno == EAGAIN)
		BIO_set_retry_write(b);
	return (int)n;
}

static int
bio_read(BIO *b, char *buf, int len)
{
	ssize_t n = tb_io_read(BIO_get_data(b), buf, (size_t)len);

	BIO_clear_retry_flags(b);
	if (n < 0 && errno == EAGAIN)
		BIO_set_retry_read(b);
#ifdef BIO_FLAGS_IN_EOF
	if (n == 0 && len > 0)
		BIO_set_flags(b, BIO_FLAGS_IN_EOF);
#endif
	return (int)n;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
#ifdef BIO_FLAGS_IN_EOF
	case BIO_CTRL_EOF:
		return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
#endif
	}
	(void)b;
	return 0;
}

BIO_METHOD *
tb_bio_method_new(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				     "tlsbench core I/O");

	if (m == NULL)
		return NULL;
	if (!BIO_meth_set_write(m, bio_write) ||
	    !BIO_meth_set_read(m, bio_read) ||
	    !BIO_meth_set_ctrl(m, bio_ctrl)) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

int
tb_bio_attach(SSL *ssl, const BIO_METHOD *m, struct tb_io *io)
{
	BIO *b = BIO_new(m);

	if (b == NULL)
		return -1;
	BIO_set_data(b, io);
	BIO_set_init(b, 1);
	/* One BIO both ways: SSL_set_bio takes the one reference. */
	SSL_set_bio(ssl, b, b);
	return 0;
}

void
tb_bio_reset(SSL *ssl, struct tb_io *io)
{
	BIO *b = SSL_get_rbio(ssl);

	BIO_set_data(b, io);
	BIO_clear_retry_flags(b);
#ifdef BIO_FLAGS_IN_EOF
	BIO_clear_flags(b, BIO_FLAGS_IN_EOF);
#endif
}
