/* floor.c: the crypto floor, measured the same way for every backend.
 *
 * The floor is what a full handshake cannot avoid on the server: one
 * signature with the certificate's key and one ephemeral key exchange (for
 * a KEM group, the encapsulation to the client's key).
 * The backend supplies the two operations through its library (tls.h);
 * this file owns the rest, once: the warm-up, a fresh client share for
 * every key exchange (no library is flattered by a repeated peer point),
 * a different digest of the scheme's length for every signature, timing
 * each operation, the statistics and the `key: value` lines the suite
 * parses (suite/cost/cost.py).
 */
#include "floor.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tls.h"
#include "tls_names.h"

#define PROG "tlsbench-server"

/* Operations of each kind run before timing starts: caches, lazily built
 * tables and the CPU's frequency settle. */
#define WARMUP 8

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
tb_floor_stats(double *us, size_t n, struct tb_floor_stats *out)
{
	/* Distribution-free interval of the median: the ranks n/2 -+
	 * 1.96 sqrt(n)/2 of the sorted sample (binomial, normal
	 * approximation), clamped to the sample. */
	double half = 1.96 * sqrt((double)n) / 2;
	long lo = (long)floor((double)n / 2 - half);
	long hi = (long)ceil((double)n / 2 + 1 + half);
	double sum = 0;
	size_t i;

	qsort(us, n, sizeof(*us), cmp_double);
	for (i = 0; i < n; i++)
		sum += us[i];
	out->mean = sum / (double)n;
	out->median = n % 2 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2;
	if (lo < 1)
		lo = 1;
	if (hi > (long)n)
		hi = (long)n;
	out->ci_lo = us[lo - 1];
	out->ci_hi = us[hi - 1];
}

/* The group a handshake would negotiate first: the head of the list, as a
 * client offering the same list gets it.  Without a list, X25519, the
 * first default group of every backend. */
static uint16_t
first_group(const char *groups, size_t *len)
{
	if (groups == NULL || groups[0] == '\0')
		groups = "X25519";
	*len = strcspn(groups, ":,");
	return tb_tls_group_id(groups, *len);
}

/* A digest no earlier signature signed: a fixed pattern with the
 * operation's number in front. */
static void
next_digest(uint8_t *d, size_t len, uint32_t i)
{
	for (size_t k = 0; k < len; k++)
		d[k] = (uint8_t)(k * 7 + 1);
	memcpy(d, &i, sizeof(i));
}

static void
print_stats(const char *what, const struct tb_floor_stats *s)
{
	printf("%s_us: %.2f\n", what, s->median);
	printf("%s_us_mean: %.2f\n", what, s->mean);
	printf("%s_us_ci_lo: %.2f\n", what, s->ci_lo);
	printf("%s_us_ci_hi: %.2f\n", what, s->ci_hi);
}

/* Times n operations after WARMUP untimed ones; op(f, i) with i counting
 * from 0 over both.  0, or -1 at the first failure. */
static int
measure(struct tb_floor *f, int (*op)(struct tb_floor *, unsigned), unsigned n,
	double *us)
{
	unsigned i;

	for (i = 0; i < WARMUP; i++)
		if (op(f, i) != 0)
			return -1;
	for (i = 0; i < n; i++) {
		double t0 = now_us();

		if (op(f, WARMUP + i) != 0)
			return -1;
		us[i] = now_us() - t0;
	}
	return 0;
}

static size_t digest_len;

static int
sign_op(struct tb_floor *f, unsigned i)
{
	uint8_t digest[64];

	next_digest(digest, digest_len, (uint32_t)i);
	return tb_floor_sign(f, digest, digest_len);
}

static int
kex_op(struct tb_floor *f, unsigned i)
{
	return tb_floor_kex(f, i);
}

int
tb_floor_run(const char *key_file, const char *groups, unsigned iterations)
{
	struct tb_floor_stats sign, kex;
	struct tb_floor *f = NULL;
	char err[512], gbuf[16], sbuf[16];
	uint16_t group, sigalg = 0;
	double *us = NULL;
	size_t glen;
	int rc = 2;

	if (tb_tls_check_runtime(err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	group = first_group(groups, &glen);
	if (group == 0) {
		fprintf(stderr,
			PROG ": --bench-crypto: group \"%.*s\" unknown (e.g. "
			     "X25519, P-256, ffdhe2048, X25519MLKEM768)\n",
			(int)glen, groups);
		return 2;
	}
	us = calloc(iterations, sizeof(*us));
	if (us == NULL) {
		fprintf(stderr, PROG ": --bench-crypto: out of memory\n");
		return 2;
	}
	/* One client share per key exchange, warm-up included: none is
	 * used twice. */
	f = tb_floor_new(key_file, group, WARMUP + iterations, &sigalg, err,
			 sizeof(err));
	if (f == NULL) {
		fprintf(stderr, PROG ": --bench-crypto: %s\n", err);
		goto done;
	}
	digest_len = tb_tls_sigalg_digest_len(sigalg);
	if (digest_len == 0) {
		fprintf(stderr,
			PROG ": --bench-crypto: no digest length known for "
			     "signature scheme %s\n",
			tb_tls_sigalg_name(sigalg, sbuf, sizeof(sbuf)));
		goto done;
	}
	if (measure(f, sign_op, iterations, us) != 0) {
		fprintf(stderr,
			PROG ": --bench-crypto: signing with %s (%s) failed\n",
			key_file,
			tb_tls_sigalg_name(sigalg, sbuf, sizeof(sbuf)));
		goto done;
	}
	tb_floor_stats(us, iterations, &sign);
	if (measure(f, kex_op, iterations, us) != 0) {
		fprintf(stderr,
			PROG ": --bench-crypto: %s key exchange failed\n",
			tb_tls_group_name(group, gbuf, sizeof(gbuf)));
		goto done;
	}
	tb_floor_stats(us, iterations, &kex);

	printf("backend: %s\n", tb_tls_backend_name());
	printf("library_version: %s\n", tb_tls_library_version());
	printf("key_file: %s\n", key_file);
	printf("sig_alg: %s\n", tb_tls_sigalg_name(sigalg, sbuf, sizeof(sbuf)));
	printf("group: %s\n", tb_tls_group_name(group, gbuf, sizeof(gbuf)));
	/* *_us are medians; floor_us is their sum. */
	print_stats("sign", &sign);
	print_stats("kex", &kex);
	printf("floor_us: %.2f\n", sign.median + kex.median);
	printf("iterations: %u\n", iterations);
	printf("warmup_iterations: %d\n", WARMUP);
	fflush(stdout);
	rc = 0;
done:
	tb_floor_free(f);
	free(us);
	return rc;
}
