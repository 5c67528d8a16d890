/* floor.h: --bench-crypto, the crypto floor of one full handshake. */
#ifndef TB_FLOOR_H
#define TB_FLOOR_H

#include <stddef.h>

/* Times one signature with key_file plus one server-side key exchange for
 * the first group of the groups list (X25519 when NULL) through the linked
 * library, prints `key: value` lines on stdout and returns the process
 * exit status: 0, or 2 after a one-line error on stderr. */
int tb_floor_run(const char *key_file, const char *groups, unsigned iterations);

/* The statistics printed for each operation (exposed for tests). */
struct tb_floor_stats {
	double median, mean;
	double ci_lo, ci_hi; /* 95% confidence interval of the median */
};

/* Sorts us[0..n-1] in place and summarises it; n > 0. */
void tb_floor_stats(double *us, size_t n, struct tb_floor_stats *out);

#endif
