/* bssl_client.c: a TLS 1.3 client on the build's BoringSSL, for what no
 * other client here offers (X25519Kyber768Draft00 is in no OpenSSL).
 *
 * Connects to 127.0.0.1:PORT, offers GROUPS (BoringSSL's names, e.g.
 * X25519Kyber), verifies the server against CAFILE for "localhost", sends
 * one GET and reads the response to the end, then prints what the
 * handshake negotiated, one `key: value` a line (version, cipher, group,
 * sigalg, status), named by core/tls_names.c as the server's stats are.
 * Exit 0 after a 200 response, 1 otherwise with the reason on stderr.
 *
 * Usage: bssl_client PORT CAFILE GROUPS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls_names.h"

static int
fail(const char *what)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	fprintf(stderr, "bssl_client: %s: %s\n", what, buf);
	return 1;
}

static int
connect_local(int port)
{
	/* every wait is bounded: a hung server fails the test */
	struct timeval tv = {.tv_sec = 10};
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	static const char req[] = "GET /1k HTTP/1.1\r\nHost: localhost\r\n"
				  "Connection: close\r\n\r\n";
	char resp[4096], b1[16], b2[16], b3[16], b4[16];
	size_t got = 0;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd, n;

	if (argc != 4) {
		fprintf(stderr, "usage: bssl_client PORT CAFILE GROUPS\n");
		return 2;
	}
	ctx = SSL_CTX_new(TLS_method());
	if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
		return fail("SSL_CTX_new");
	if (!SSL_CTX_load_verify_locations(ctx, argv[2], NULL))
		return fail(argv[2]);
	if (!SSL_CTX_set1_curves_list(ctx, argv[3]))
		return fail(argv[3]);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	fd = connect_local(atoi(argv[1]));
	if (fd < 0) {
		perror("bssl_client: connect");
		return 1;
	}
	ssl = SSL_new(ctx);
	if (ssl == NULL || !SSL_set_fd(ssl, fd) ||
	    !SSL_set_tlsext_host_name(ssl, "localhost") ||
	    !SSL_set1_host(ssl, "localhost"))
		return fail("SSL_new");
	if (SSL_connect(ssl) != 1)
		return fail("handshake");
	if (SSL_write(ssl, req, sizeof(req) - 1) != (int)sizeof(req) - 1)
		return fail("write");
	while (got < sizeof(resp) - 1 &&
	       (n = SSL_read(ssl, resp + got, (int)(sizeof(resp) - 1 - got))) >
		       0)
		got += (size_t)n;
	resp[got] = '\0';
	printf("version: %s\n",
	       tb_tls_version_name((uint16_t)SSL_version(ssl), b1, sizeof(b1)));
	printf("cipher: %s\n",
	       tb_tls_cipher_name(
		       SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(ssl)),
		       b2, sizeof(b2)));
	printf("group: %s\n",
	       tb_tls_group_name(SSL_get_curve_id(ssl), b3, sizeof(b3)));
	printf("sigalg: %s\n",
	       tb_tls_sigalg_name(SSL_get_peer_signature_algorithm(ssl), b4,
				  sizeof(b4)));
	printf("status: %.12s\n", resp);
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	return strncmp(resp, "HTTP/1.1 200", 12) == 0 ? 0 : 1;
}
