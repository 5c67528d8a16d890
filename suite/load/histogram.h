/* histogram.h: a log-linear latency histogram, HDR style.
 *
 * Values are recorded in nanoseconds: exact below 256 ns, then 128 buckets
 * per power of two up to 2^36 ns (68 s), so a reported percentile (the
 * bucket midpoint) is within 0.4% of the true value anywhere from 1 us to
 * 60 s.  Fixed size, no allocation, mergeable by adding counts, which is
 * how the per-thread histograms become one report.
 */
#ifndef TL_HISTOGRAM_H
#define TL_HISTOGRAM_H

#include <stdint.h>

/* Values below TL_HIST_EXACT ns have a bucket each; above, TL_HIST_SUB
 * buckets per power of two; values from 2^TL_HIST_MAX_LOG ns (68 s) up are
 * clamped into the last bucket. */
#define TL_HIST_EXACT	256
#define TL_HIST_SUB	128
#define TL_HIST_MAX_LOG 36
#define TL_HIST_BUCKETS (TL_HIST_EXACT + (TL_HIST_MAX_LOG - 8) * TL_HIST_SUB)

struct tl_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t min_ns;
	uint64_t max_ns;
	uint64_t buckets[TL_HIST_BUCKETS];
};

/* The summary the report prints, all in microseconds. */
struct tl_hist_summary {
	uint64_t count;
	double min, mean, p50, p90, p99, p999, max;
};

void tl_hist_reset(struct tl_hist *h);
void tl_hist_record(struct tl_hist *h, uint64_t ns);
void tl_hist_merge(struct tl_hist *into, const struct tl_hist *from);
double tl_hist_percentile(const struct tl_hist *h, double p);
void tl_hist_summarize(const struct tl_hist *h, struct tl_hist_summary *s);

#endif
