"""Statistics for published figures: medians with confidence intervals,
ratios with confidence intervals, and the benchstat-style verdict.

Every figure the suite publishes is a median with a 95% confidence
interval; every comparison is a ratio with its interval, called a
difference only when the interval excludes 1 (shown as `~` otherwise).

Intervals for a median come from order statistics: for n samples of a
continuous distribution, [x(k), x(n-k+1)] covers the true median with
probability 1 - 2 P(B <= k-1), B ~ Binomial(n, 1/2), whatever the
distribution.  No normality is assumed: CPU-time samples on a shared
machine are skewed (a slow time slot only ever adds).  The price is that
the level is reachable only from n = 6 (1 - 2/64 = 96.9%); with fewer
samples the widest interval, [min, max], is returned with its true, lower
level, and callers must not call a difference on it.

Comparisons are paired where the two cells ran in the same blocks: the
ratio a_i / b_i of one block cancels the block's machine speed, and the
interval is that of the median of those ratios.  Unpaired comparisons
(across runs) use a bootstrap of the ratio of medians with a fixed seed,
so a report renders the same twice.
"""

import math
import random

LEVEL = 0.95


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        raise ValueError('median of no samples')
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0


def _binom_cdf_half(k, n):
    """P(B <= k) for B ~ Binomial(n, 1/2)."""
    if k < 0:
        return 0.0
    return sum(math.comb(n, i) for i in range(0, min(k, n) + 1)) / 2.0 ** n


def median_rank(n, level=LEVEL):
    """(k, achieved): the 1-based rank k of the interval [x(k), x(n-k+1)]
    with the smallest width whose coverage 1 - 2 P(B <= k-1) is at least
    level, and that coverage.  When no k reaches it (n < 6 at 95%), k = 1
    and achieved is the coverage of [min, max]."""
    if n < 1:
        raise ValueError('no samples')
    best = 1
    for k in range(1, n // 2 + 1):
        if 1.0 - 2.0 * _binom_cdf_half(k - 1, n) >= level:
            best = k
        else:
            break
    achieved = 1.0 - 2.0 * _binom_cdf_half(best - 1, n)
    return best, achieved


class Interval:
    """A median with its interval; .level is the coverage actually
    reached (below LEVEL when there were too few samples)."""

    def __init__(self, value, lo, hi, n, level):
        self.value, self.lo, self.hi, self.n, self.level = \
            value, lo, hi, n, level

    @property
    def complete(self):
        """True when the interval reaches the nominal level."""
        return self.level >= LEVEL - 1e-12

    def half_width(self):
        """Half the interval's width relative to the value (0.03 = 3%)."""
        if not self.value:
            return math.inf
        return (self.hi - self.lo) / 2.0 / abs(self.value)

    def excludes(self, x):
        return self.complete and (self.hi < x or self.lo > x)

    def __repr__(self):
        return 'Interval(%g [%g, %g] n=%d %.1f%%)' % (self.value, self.lo,
            self.hi, self.n, 100 * self.level)


def median_ci(xs, level=LEVEL):
    """Interval for the median of xs by order statistics."""
    s = sorted(xs)
    n = len(s)
    k, achieved = median_rank(n, level)
    return Interval(median(s), s[k - 1], s[n - k], n, achieved)


def paired_ratio(a, b, level=LEVEL):
    """Interval for the median of a_i / b_i (same blocks, same order)."""
    if len(a) != len(b):
        raise ValueError('paired samples differ in length: %d, %d' % (
            len(a), len(b)))
    ratios = [x / y for x, y in zip(a, b) if y]
    if not ratios:
        raise ValueError('no pairs with a non-zero denominator')
    return median_ci(ratios, level)


def bootstrap_ratio(a, b, level=LEVEL, rounds=4000, seed=1):
    """Interval for median(a) / median(b), unpaired: percentile bootstrap
    with a fixed seed (reports render identically).  Its level is the
    nominal one only in the limit; with fewer than 6 samples on either
    side it is reported as incomplete."""
    if not a or not b:
        raise ValueError('bootstrap of no samples')
    rng = random.Random(seed)
    value = median(a) / median(b)
    reps = []
    for _ in range(rounds):
        ra = [a[rng.randrange(len(a))] for _ in a]
        rb = [b[rng.randrange(len(b))] for _ in b]
        mb = median(rb)
        if mb:
            reps.append(median(ra) / mb)
    reps.sort()
    tail = (1.0 - level) / 2.0
    lo = reps[int(math.floor(tail * (len(reps) - 1)))]
    hi = reps[int(math.ceil((1.0 - tail) * (len(reps) - 1)))]
    n = min(len(a), len(b))
    achieved = level if n >= 6 else median_rank(n, level)[1]
    return Interval(value, lo, hi, n, achieved)


def verdict(ratio):
    """benchstat's reading of a ratio interval: '+12.3%' or '-4.0%' when
    it excludes 1, '~' when it does not (or is incomplete)."""
    if not ratio.excludes(1.0):
        return '~'
    return '%+.1f%%' % ((ratio.value - 1.0) * 100.0)


def fmt(iv, digits=None):
    """'524 [510, 538]' with digits chosen from the value's size."""
    if digits is None:
        v = abs(iv.value)
        digits = 0 if v >= 100 else 1 if v >= 10 else 2 if v >= 1 else 3
    f = '%.' + str(digits) + 'f'
    text = (f + ' [' + f + ', ' + f + ']') % (iv.value, iv.lo, iv.hi)
    return text if iv.complete else text + ' (n=%d)' % iv.n
