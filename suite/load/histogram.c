/* histogram.c: log-linear latency histogram (see histogram.h). */
#include "histogram.h"

#include <string.h>

void
tl_hist_reset(struct tl_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

/* The bucket of a value in nanoseconds.  Above TL_HIST_EXACT, a value with
 * its top bit at position e keeps its 8 leading bits: 128 buckets per
 * octave, each 2^(e-7) wide. */
static unsigned
bucket_of(uint64_t ns)
{
	if (ns < TL_HIST_EXACT)
		return (unsigned)ns;
	if (ns >= (UINT64_C(1) << TL_HIST_MAX_LOG))
		return TL_HIST_BUCKETS - 1;
	unsigned e = 63 - (unsigned)__builtin_clzll(ns);
	unsigned shift = e - 7;
	return TL_HIST_EXACT + (e - 8) * TL_HIST_SUB +
	       (unsigned)((ns >> shift) - TL_HIST_SUB);
}

/* The midpoint of a bucket, in nanoseconds: the value a percentile reports. */
static double
bucket_value(unsigned b)
{
	if (b < TL_HIST_EXACT)
		return b;
	unsigned e = (b - TL_HIST_EXACT) / TL_HIST_SUB + 8;
	unsigned sub = (b - TL_HIST_EXACT) % TL_HIST_SUB + TL_HIST_SUB;
	double width = (double)(UINT64_C(1) << (e - 7));
	return sub * width + width / 2;
}

void
tl_hist_record(struct tl_hist *h, uint64_t ns)
{
	h->count++;
	h->sum_ns += ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->buckets[bucket_of(ns)]++;
}

void
tl_hist_merge(struct tl_hist *into, const struct tl_hist *from)
{
	if (from->count == 0)
		return;
	into->count += from->count;
	into->sum_ns += from->sum_ns;
	if (from->min_ns < into->min_ns)
		into->min_ns = from->min_ns;
	if (from->max_ns > into->max_ns)
		into->max_ns = from->max_ns;
	for (unsigned i = 0; i < TL_HIST_BUCKETS; i++)
		into->buckets[i] += from->buckets[i];
}

/* The smallest recorded value (bucket midpoint, clamped to the exact min and
 * max) with at least p of the samples at or below it; p in [0, 1].  In us. */
double
tl_hist_percentile(const struct tl_hist *h, double p)
{
	if (h->count == 0)
		return 0;
	uint64_t want = (uint64_t)(p * (double)h->count + 0.999999);
	if (want < 1)
		want = 1;
	if (want > h->count)
		want = h->count;
	uint64_t seen = 0;
	double v = (double)h->max_ns;
	for (unsigned i = 0; i < TL_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= want) {
			v = bucket_value(i);
			break;
		}
	}
	if (v < (double)h->min_ns)
		v = (double)h->min_ns;
	if (v > (double)h->max_ns)
		v = (double)h->max_ns;
	return v / 1000.0;
}

void
tl_hist_summarize(const struct tl_hist *h, struct tl_hist_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->count = h->count;
	if (h->count == 0)
		return;
	s->min = h->min_ns / 1000.0;
	s->max = h->max_ns / 1000.0;
	s->mean = (double)h->sum_ns / (double)h->count / 1000.0;
	s->p50 = tl_hist_percentile(h, 0.50);
	s->p90 = tl_hist_percentile(h, 0.90);
	s->p99 = tl_hist_percentile(h, 0.99);
	s->p999 = tl_hist_percentile(h, 0.999);
}
