/* wire.c: what each handshake puts on the wire, seen from the client.
 *
 * Three counts each way, from the first byte of the ClientHello to the
 * handshake's completion: bytes, TLS records (the msg callback's record
 * headers) and TCP segments (TCP_INFO's totals at completion less those at
 * the start, so the TCP handshake is not in them).  The bytes sent are the
 * socket's (a callback on the socket BIO).  The bytes received are those
 * of the records the handshake read: with read-ahead one read() can also
 * take what the server sent after its handshake (a 0.5-RTT answer to
 * early data), and that surplus is counted apart.  Records of early data
 * are counted apart (they carry the request), and so are the records that
 * carry a TLS 1.3 NewSessionTicket after the handshake.  The callbacks come
 * off after the connection's first response.
 */
#include "load.h"

#include <stddef.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/tcp.h> /* tcpi_segs_out: glibc's struct tcp_info lacks it */
#include <openssl/ssl.h>

#define TLS_EXT_KEY_SHARE 51

/* The random of a HelloRetryRequest (RFC 8446, 4.1.3): it is a ServerHello
 * on the wire, and the real one follows it. */
static const unsigned char hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* Whether a ServerHello (4-byte message header included) carries a
 * key_share extension: on a TLS 1.3 resumption its absence means the
 * server chose psk_ke.  -1: not a ServerHello this can read (an HRR, or
 * malformed: the library will have refused it). */
static int
server_hello_key_share(const unsigned char *p, size_t len)
{
	size_t off = 4 + 2, ext_end;

	if (len < off + 32 + 1 || memcmp(p + off, hrr_random, 32) == 0)
		return -1;
	off += 32;
	off += 1 + p[off]; /* legacy_session_id_echo */
	off += 2 + 1;	   /* cipher_suite, legacy_compression_method */
	if (off + 2 > len)
		return 0; /* TLS 1.2 without extensions */
	ext_end = off + 2 + ((size_t)p[off] << 8 | p[off + 1]);
	if (ext_end > len)
		return -1;
	for (off += 2; off + 4 <= ext_end;) {
		unsigned type = (unsigned)p[off] << 8 | p[off + 1];
		size_t elen = (size_t)p[off + 2] << 8 | p[off + 3];
		if (type == TLS_EXT_KEY_SHARE)
			return 1;
		off += 4 + elen;
	}
	return 0;
}

static void
msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
       SSL *ssl, void *arg)
{
	struct tl_wire *w = arg;
	const unsigned char *p = buf;

	(void)version;
	(void)ssl;
	if (w == NULL)
		return;
	switch (content_type) {
	case SSL3_RT_HEADER:
		if (len < 5)
			return;
		if (write_p) {
			w->records_out++;
			w->last_out = 5 + ((uint32_t)p[3] << 8 | p[4]);
		} else {
			w->records_in++;
			w->last_in = 5 + ((uint32_t)p[3] << 8 | p[4]);
			w->record_bytes_in += w->last_in;
			w->ticket_in_record = false;
		}
		return;
	case SSL3_RT_INNER_CONTENT_TYPE:
		/* Application data written before the handshake is done can
		 * only be early data; the record's header came just before. */
		if (write_p && !w->done && len == 1 &&
		    p[0] == SSL3_RT_APPLICATION_DATA) {
			w->early_bytes += w->last_out;
			w->early_records++;
		}
		return;
	case SSL3_RT_HANDSHAKE:
		if (write_p || len < 4)
			return;
		if (p[0] == SSL3_MT_SERVER_HELLO) {
			int ks = server_hello_key_share(p, len);
			if (ks >= 0)
				w->server_key_share = ks;
		} else if (p[0] == SSL3_MT_NEWSESSION_TICKET && w->done &&
			   !w->ticket_in_record) {
			w->ticket_bytes += w->last_in;
			w->ticket_records++;
			w->ticket_in_record = true;
		}
		return;
	default:
		return;
	}
}

static long
bio_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
       int ret, size_t *processed)
{
	struct tl_wire *w = (struct tl_wire *)BIO_get_callback_arg(b);

	(void)argp;
	(void)len;
	(void)argi;
	(void)argl;
	if (w == NULL || ret <= 0 || processed == NULL)
		return ret;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN))
		w->received += *processed;
	else if (oper == (BIO_CB_WRITE | BIO_CB_RETURN))
		w->sent += *processed;
	return ret;
}

static bool
tcp_segments(int fd, uint32_t *out, uint32_t *in)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < offsetof(struct tcp_info, tcpi_segs_in) +
			    sizeof(ti.tcpi_segs_in))
		return false;
	*out = ti.tcpi_segs_out;
	*in = ti.tcpi_segs_in;
	return true;
}

void
tl_wire_start(SSL *ssl, int fd, struct tl_wire *w)
{
	BIO *bio = SSL_get_rbio(ssl);

	memset(w, 0, sizeof(*w));
	w->have_segs = tcp_segments(fd, &w->segs_out, &w->segs_in);
	SSL_set_msg_callback(ssl, msg_cb);
	SSL_set_msg_callback_arg(ssl, w);
	/* SSL_set_fd made one socket BIO for both directions. */
	BIO_set_callback_arg(bio, (char *)w);
	BIO_set_callback_ex(bio, bio_cb);
}

void
tl_wire_handshake_done(SSL *ssl, int fd, struct tl_wire *w,
		       struct tl_wire_sum *sum)
{
	uint32_t out, in;

	w->done = true;
	BIO_set_callback_ex(SSL_get_rbio(ssl), NULL);
	if (sum == NULL)
		return;
	sum->handshakes++;
	sum->client_sent += w->sent - w->early_bytes;
	sum->server_sent += w->record_bytes_in;
	if (w->received > w->record_bytes_in)
		sum->read_ahead += w->received - w->record_bytes_in;
	sum->client_records += w->records_out - w->early_records;
	sum->server_records += w->records_in;
	sum->early_bytes += w->early_bytes;
	if (w->have_segs && tcp_segments(fd, &out, &in)) {
		sum->segs_n++;
		sum->client_segments += out - w->segs_out;
		sum->server_segments += in - w->segs_in;
	}
}

void
tl_wire_stop(SSL *ssl)
{
	SSL_set_msg_callback(ssl, NULL);
	SSL_set_msg_callback_arg(ssl, NULL);
	BIO_set_callback_ex(SSL_get_rbio(ssl), NULL);
}
