/* floor.c: prints the crypto floor measured by tb_tls_bench_crypto.
 *
 * The floor is what a full handshake cannot avoid on the server: one
 * signature with the certificate's key and one ephemeral key exchange.
 * The backend does the timing through its own library; this file only
 * picks the group and prints the result for the suite to parse.
 */
#include "floor.h"

#include <stdio.h>
#include <string.h>

#include "tls.h"

#define PROG "tlsbench-server"

/* The group a handshake would negotiate first: the head of the list, as a
 * client offering the same list gets it.  Without a list, X25519, the
 * first default group of every backend. */
static void
first_group(const char *groups, char *out, size_t outlen)
{
	size_t n;

	if (groups == NULL || groups[0] == '\0')
		groups = "X25519";
	n = strcspn(groups, ":,");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, groups, n);
	out[n] = '\0';
}

int
tb_floor_run(const char *key_file, const char *groups, unsigned iterations)
{
	struct tb_crypto_floor f;
	char err[512], group[64];

	if (tb_tls_check_runtime(err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	first_group(groups, group, sizeof(group));
	memset(&f, 0, sizeof(f));
	if (tb_tls_bench_crypto(key_file, group, iterations, &f, err,
				sizeof(err)) != 0) {
		fprintf(stderr, PROG ": --bench-crypto: %s\n", err);
		return 2;
	}
	printf("backend: %s\n", tb_tls_backend_name());
	printf("library_version: %s\n", tb_tls_library_version());
	printf("key_file: %s\n", key_file);
	printf("sig_alg: %s\n", f.sig_alg);
	printf("group: %s\n", f.group);
	printf("sign_us: %.2f\n", f.sign_us);
	printf("kex_us: %.2f\n", f.kex_us);
	printf("floor_us: %.2f\n", f.sign_us + f.kex_us);
	printf("iterations: %u\n", f.iterations);
	fflush(stdout);
	return 0;
}
