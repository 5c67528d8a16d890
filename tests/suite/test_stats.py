"""The statistics behind every published interval, checked against
distributions whose answer is known.  Simulations use fixed seeds, so a
run is the same every time; their thresholds leave room for sampling
error at the chosen number of trials (binomial standard error ~0.5%)."""

import math
import random
import unittest

from tbsuite import stats


class MedianRank(unittest.TestCase):
    def test_smallest_n_reaching_95(self):
        # [min, max] of n samples covers the median with 1 - 2/2^n:
        # 93.75% at n = 5, 96.9% at n = 6
        k, level = stats.median_rank(5)
        self.assertEqual(k, 1)
        self.assertAlmostEqual(level, 1 - 2 / 32)
        k, level = stats.median_rank(6)
        self.assertEqual(k, 1)
        self.assertAlmostEqual(level, 1 - 2 / 64)

    def test_known_ranks(self):
        # textbook ranks for a 95% median interval
        self.assertEqual(stats.median_rank(10)[0], 2)   # 97.9%
        self.assertEqual(stats.median_rank(20)[0], 6)   # 95.9%
        self.assertEqual(stats.median_rank(100)[0], 40)  # 96.5%
        for n in range(6, 200):
            k, level = stats.median_rank(n)
            self.assertGreaterEqual(level, 0.95)
            # one rank narrower would fall below 95%
            narrower = 1 - 2 * stats._binom_cdf_half(k, n)
            self.assertLess(narrower, 0.95)


class MedianInterval(unittest.TestCase):
    def coverage(self, draw, true_median, n, trials=4000, seed=7):
        rng = random.Random(seed)
        hit = 0
        for _ in range(trials):
            iv = stats.median_ci([draw(rng) for _ in range(n)])
            hit += iv.lo <= true_median <= iv.hi
        return hit / trials

    def test_coverage_normal(self):
        c = self.coverage(lambda r: r.gauss(100, 10), 100, n=8)
        self.assertGreaterEqual(c, 0.94)
        self.assertLessEqual(c, 0.995)   # not trivially wide

    def test_coverage_skewed(self):
        # log-normal: median exp(mu); a slow time slot only ever adds
        mu = math.log(300)
        c = self.coverage(lambda r: r.lognormvariate(mu, 0.3), 300, n=12)
        self.assertGreaterEqual(c, 0.94)

    def test_coverage_exponential(self):
        c = self.coverage(lambda r: r.expovariate(1.0), math.log(2), n=20)
        self.assertGreaterEqual(c, 0.94)

    def test_small_n_is_incomplete(self):
        iv = stats.median_ci([3.0, 1.0, 2.0])
        self.assertFalse(iv.complete)
        self.assertEqual((iv.lo, iv.value, iv.hi), (1.0, 2.0, 3.0))
        self.assertFalse(iv.excludes(10.0))   # never a verdict on it
        self.assertIn('(n=3)', stats.fmt(iv))

    def test_half_width(self):
        iv = stats.Interval(100.0, 97.0, 103.0, 10, 0.97)
        self.assertAlmostEqual(iv.half_width(), 0.03)


class Ratios(unittest.TestCase):
    def test_paired_cancels_block_speed(self):
        # each block runs 0.7x to 1.5x slower; B costs 10% more than A in
        # every block: the paired ratio sees exactly that
        rng = random.Random(3)
        a, b = [], []
        for _ in range(8):
            speed = rng.uniform(0.7, 1.5)
            a.append(100 * speed * rng.gauss(1, 0.005))
            b.append(110 * speed * rng.gauss(1, 0.005))
        iv = stats.paired_ratio(b, a)
        self.assertTrue(iv.excludes(1.0))
        self.assertLess(abs(iv.value - 1.10), 0.01)
        self.assertTrue(stats.verdict(iv).startswith('+'))
        # unpaired, the drift swamps the same 10%
        self.assertEqual(stats.verdict(stats.bootstrap_ratio(b, a)), '~')

    def test_false_positive_rate(self):
        # the same distribution on both sides: a difference is called in
        # at most ~5% of trials
        rng = random.Random(11)
        called = 0
        trials = 2000
        for _ in range(trials):
            a = [rng.lognormvariate(0, 0.1) for _ in range(8)]
            b = [rng.lognormvariate(0, 0.1) for _ in range(8)]
            called += stats.verdict(stats.paired_ratio(a, b)) != '~'
        self.assertLessEqual(called / trials, 0.06)

    def test_power(self):
        # a 5% difference under 1% noise is found every time with 8 blocks
        rng = random.Random(5)
        for _ in range(200):
            a = [rng.gauss(1.00, 0.01) for _ in range(8)]
            b = [rng.gauss(1.05, 0.01) for _ in range(8)]
            self.assertNotEqual(stats.verdict(stats.paired_ratio(b, a)), '~')

    def test_bootstrap_deterministic(self):
        a = [1.0, 1.1, 0.9, 1.05, 0.95, 1.02]
        b = [2.0, 2.1, 1.9, 2.05, 1.95, 2.02]
        x, y = stats.bootstrap_ratio(a, b), stats.bootstrap_ratio(a, b)
        self.assertEqual((x.lo, x.hi), (y.lo, y.hi))
        self.assertAlmostEqual(x.value, 0.5, places=2)
        self.assertTrue(x.excludes(1.0))

    def test_mismatched_pairs(self):
        with self.assertRaises(ValueError):
            stats.paired_ratio([1, 2], [1])


if __name__ == '__main__':
    unittest.main()
