/* peer.c: the scripted client of the backend contract test.
 *
 * Built against the system OpenSSL (like tlsbench-load), never against the
 * backend under test.  One script per run, on one TCP connection to
 * 127.0.0.1:PORT; "go" lines on stdin release the steps the test wants to
 * observe first; the result is one line on stdout.
 *
 *   peer gencert DIR                  DIR/cert.pem, DIR/key.pem (P-256)
 *   peer SCRIPT ADDR:PORT tls12|tls13|plain [ARG]
 *
 * Scripts:
 *   hello      wait go; handshake; wait go; send "ping"; read to the end
 *   slowread N small receive buffer; handshake; read N bytes slowly;
 *              print "hash N FNV1A64"
 *   hs_close   send the ClientHello, then close (no handshake)
 *   notify     handshake; wait go; send close_notify; read to the end
 *   eof        handshake; wait go; close without close_notify
 *   reset      handshake; wait go; close with an RST (SO_LINGER 0)
 *   expect_end handshake; read: print "close_notify", "eof" or "data"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static void
die(const char *what)
{
	fprintf(stderr, "peer: %s: %s\n", what,
		errno != 0 ? strerror(errno) : "failed");
	ERR_print_errors_fp(stderr);
	exit(2);
}

static int
gencert(const char *dir)
{
	char path[512];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f;

	if (key == NULL || x == NULL)
		die("key");
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"localhost", -1, -1,
				   0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (!X509_sign(x, key, EVP_sha256()))
		die("sign");
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	f = fopen(path, "w");
	if (f == NULL || !PEM_write_X509(f, x))
		die(path);
	fclose(f);
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	f = fopen(path, "w");
	if (f == NULL ||
	    !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL))
		die(path);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(key);
	return 0;
}

static void
wait_go(void)
{
	char line[16];

	if (fgets(line, sizeof(line), stdin) == NULL)
		exit(3); /* the test went away */
}

static int
connect_to(const char *spec, int rcvbuf)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	const char *colon = strrchr(spec, ':');
	char host[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		die("ADDR:PORT");
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		die("ADDR");
	if (fd < 0)
		die("socket");
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("connect");
	return fd;
}

static SSL *
tls_client(int fd, const char *mode)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	int v = strcmp(mode, "tls12") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;

	if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, v) ||
	    !SSL_CTX_set_max_proto_version(ctx, v))
		die("SSL_CTX");
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	if (ssl == NULL || !SSL_set_fd(ssl, fd))
		die("SSL_new");
	return ssl;
}

struct peer {
	int fd;
	SSL *ssl; /* NULL: plain */
};

static void
handshake(struct peer *p)
{
	if (p->ssl != NULL && SSL_connect(p->ssl) != 1)
		die("handshake");
}

static long
peer_read(struct peer *p, void *buf, size_t len)
{
	if (p->ssl == NULL)
		return recv(p->fd, buf, len, 0);
	return SSL_read(p->ssl, buf, (int)len);
}

static void
peer_write(struct peer *p, const void *buf, size_t len)
{
	long n = p->ssl != NULL ? SSL_write(p->ssl, buf, (int)len)
				: send(p->fd, buf, len, MSG_NOSIGNAL);

	if (n != (long)len)
		die("write");
}

/* Reads until the server ends the connection, however it does. */
static void
read_to_end(struct peer *p)
{
	char buf[4096];

	while (peer_read(p, buf, sizeof(buf)) > 0)
		;
}

int
main(int argc, char **argv)
{
	struct peer p = {-1, NULL};
	const char *script;
	char buf[4096];

	if (argc == 3 && strcmp(argv[1], "gencert") == 0)
		return gencert(argv[2]);
	if (argc < 4) {
		fprintf(stderr, "usage: peer gencert DIR | peer SCRIPT "
				"ADDR:PORT tls12|tls13|plain [ARG]\n");
		return 2;
	}
	script = argv[1];
	p.fd = connect_to(argv[2], strcmp(script, "slowread") == 0 ? 4096 : 0);
	if (strcmp(argv[3], "plain") != 0)
		p.ssl = tls_client(p.fd, argv[3]);

	if (strcmp(script, "hello") == 0) {
		wait_go();
		handshake(&p);
		wait_go();
		peer_write(&p, "ping", 4);
		read_to_end(&p);
		puts("done");
	} else if (strcmp(script, "slowread") == 0) {
		unsigned long long want =
			argc > 4 ? strtoull(argv[4], 0, 10) : 0;
		unsigned long long got = 0, h = 0xcbf29ce484222325ULL;
		struct timespec pause = {0, 1000 * 1000};

		handshake(&p);
		while (got < want) {
			long n = peer_read(&p, buf, sizeof(buf));

			if (n <= 0)
				break;
			for (long i = 0; i < n; i++)
				h = (h ^ (unsigned char)buf[i]) *
				    0x100000001b3ULL;
			got += (unsigned long long)n;
			nanosleep(&pause, NULL);
		}
		printf("hash %llu %016llx\n", got, h);
	} else if (strcmp(script, "hs_close") == 0) {
		if (p.ssl != NULL) {
			/* The ClientHello is made into memory and sent by
			 * hand: SSL_connect on the socket would go on with the
			 * handshake whenever the server's reply is quick. */
			BIO *rbio = BIO_new(BIO_s_mem()),
			    *wbio = BIO_new(BIO_s_mem());
			char *hello;
			long len;

			SSL_set_bio(p.ssl, rbio, wbio);
			SSL_connect(p.ssl);
			len = BIO_get_mem_data(wbio, &hello);
			if (len <= 0 ||
			    send(p.fd, hello, (size_t)len, 0) != len)
				die("ClientHello");
		}
		close(p.fd);
		p.fd = -1;
		puts("done");
	} else if (strcmp(script, "notify") == 0) {
		handshake(&p);
		wait_go();
		if (p.ssl != NULL)
			SSL_shutdown(p.ssl);
		else
			shutdown(p.fd, SHUT_WR);
		read_to_end(&p);
		puts("done");
	} else if (strcmp(script, "eof") == 0) {
		handshake(&p);
		wait_go();
		close(p.fd);
		p.fd = -1;
		puts("done");
	} else if (strcmp(script, "reset") == 0) {
		struct linger l = {1, 0};

		handshake(&p);
		wait_go();
		setsockopt(p.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(p.fd);
		p.fd = -1;
		puts("done");
	} else if (strcmp(script, "expect_end") == 0) {
		long n;

		handshake(&p);
		n = peer_read(&p, buf, sizeof(buf));
		if (n > 0)
			puts("data");
		else if (p.ssl == NULL ||
			 SSL_get_error(p.ssl, (int)n) == SSL_ERROR_ZERO_RETURN)
			puts("close_notify");
		else
			puts("eof");
	} else {
		fprintf(stderr, "peer: unknown script %s\n", script);
		return 2;
	}
	fflush(stdout);
	SSL_free(p.ssl);
	if (p.fd >= 0)
		close(p.fd);
	return 0;
}
