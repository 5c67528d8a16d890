"""The SVG charts: well-formed, labels whole, one colour per library in
every chart, panels on their own scales, intervals drawn as error bars.
(tests/suite/site_browser.py checks the same charts as Chromium draws
them: no text cut or overlapping.)"""

import re
import unittest
import xml.etree.ElementTree as ET

from tbsuite import charts, stats

NS = '{http://www.w3.org/2000/svg}'


def parse(svg):
    return ET.fromstring(svg)


def texts(root):
    return [t.text or '' for t in root.iter(NS + 'text')]


def iv(v, lo, hi, n=6):
    return stats.Interval(v, lo, hi, n, stats.median_rank(n)[1])


LONG = 'tlsbench · BoringSSL 14.0.0 tuned with a much longer name than fits'


def panels():
    full = charts.Panel('Full handshake', 'µs', [
        charts.Bar('tlsbench · OpenSSL 3.0.22 Debian', iv(1000, 950, 1050),
            charts.colour(('openssl', 'debian')), 'reference', '', False),
        charts.Bar(LONG, iv(900, 880, 990, n=3), charts.colour((
            'boringssl', 'tuned')), '~', '', True)])
    ka = charts.Panel('Keep-alive', 'µs', [
        charts.Bar('tlsbench · OpenSSL 3.0.22 Debian', iv(30, 29, 31),
            charts.colour(('openssl', 'debian')), 'reference', '', False),
        charts.Bar('nginx · OpenSSL 3.0.22 Debian', iv(36, 35, 38),
            charts.colour(('nginx', 'debian')), '+20.0%', 'worse', False)])
    return [full, ka]


class Text(unittest.TestCase):
    def test_wrap_keeps_every_word_and_the_width(self):
        for width in (60, 120, 200, 400):
            lines = charts.wrap(LONG, width)
            self.assertEqual(' '.join(lines), LONG)
            for ln in lines:
                self.assertTrue(charts.text_width(ln) <= width or
                    ' ' not in ln, (width, ln))

    def test_width_grows_with_the_text(self):
        self.assertLess(charts.text_width('iii'), charts.text_width('MMM'))
        self.assertAlmostEqual(charts.text_width('ab', 24),
            2 * charts.text_width('ab', 12))

    def test_escaped(self):
        root = parse(charts.bar_panels('a < b & c', panels()))
        self.assertIn('a < b & c', texts(root))

    def test_ticks_are_round_and_cover(self):
        for hi in (0.7, 3, 47, 1234, 98765):
            t = charts.nice_ticks(hi)
            self.assertEqual(t[0], 0)
            self.assertGreaterEqual(t[-1], hi)
            self.assertLessEqual(len(t), 8)
            step = t[1]
            self.assertRegex('%g' % (step / 10 ** int(
                __import__('math').floor(__import__('math').log10(step)))),
                r'^(1|2|2\.5|5)$')


class Bars(unittest.TestCase):
    def setUp(self):
        self.svg = charts.bar_panels('Server CPU per request', panels(),
            ['a note'])
        self.root = parse(self.svg)

    def test_labels_whole(self):
        shown = ' '.join(texts(self.root))
        for word in LONG.split():
            self.assertIn(word, shown)
        # the long label is wrapped onto lines that together are the label
        lines = [t for t in texts(self.root) if len(t) > 3 and t in LONG]
        self.assertEqual(' '.join(lines), LONG)
        self.assertGreater(len(lines), 1)

    def test_each_panel_has_its_own_scale(self):
        # keep-alive (30 µs) does not vanish next to full (1000 µs): its
        # longest bar spans most of the plot as the full one does
        bars = [r for r in self.root.iter(NS + 'rect') if r.get('fill') not
            in ('#fff', 'url(#hatch)') and r.get('height') != '100%']
        widths = [float(r.get('width')) for r in bars]
        self.assertEqual(len(widths), 4)
        self.assertGreater(min(widths[2:]) / max(widths[:2]), 0.5)

    def test_colours_from_the_palette(self):
        fills = [r.get('fill') for r in self.root.iter(NS + 'rect')]
        self.assertEqual(fills.count(charts.PALETTE[('openssl', 'debian')]),
            2)
        self.assertIn(charts.PALETTE[('boringssl', 'tuned')], fills)
        self.assertIn(charts.PALETTE[('nginx', 'debian')], fills)

    def test_error_bars_dashed_when_incomplete(self):
        lines = list(self.root.iter(NS + 'line'))
        dashed = [ln for ln in lines if ln.get('stroke-dasharray') == '3,2']
        self.assertEqual(len(dashed), 1)       # the n=3 interval only
        x1, x2 = float(dashed[0].get('x1')), float(dashed[0].get('x2'))
        self.assertGreater(x2, x1)

    def test_values_and_verdicts_written(self):
        t = texts(self.root)
        self.assertIn('1,000 [950, 1,050]', t)
        self.assertIn('900 [880, 990] (n=3)', t)
        self.assertIn('+20.0%', t)
        self.assertIn('reference', t)

    def test_hatched_when_not_compared(self):
        self.assertEqual(len([r for r in self.root.iter(NS + 'rect') if
            r.get('fill') == 'url(#hatch)']), 1)

    def test_fits_its_height(self):
        h = int(self.root.get('height'))
        ys = [float(t.get('y')) for t in self.root.iter(NS + 'text')]
        self.assertLess(max(ys), h)


class Palette(unittest.TestCase):
    def test_tuned_and_debian_differ_each_library_one_colour(self):
        for lib in ('openssl', 'wolfssl', 'boringssl'):
            self.assertNotEqual(charts.colour((lib, 'debian')),
                charts.colour((lib, 'tuned')))
        cols = [charts.colour(k) for k in charts.PALETTE]
        self.assertEqual(len(cols), len(set(cols)))

    def test_unknown_is_stable(self):
        self.assertEqual(charts.colour(('newlib', 'tuned')),
            charts.colour(('newlib', 'tuned')))
        self.assertEqual(charts.colour(('openssl', 'other')),
            charts.colour(('openssl', 'debian')))


class Trend(unittest.TestCase):
    def test_points_error_bars_and_version_marks(self):
        series = [charts.Series('tlsbench · OpenSSL tuned', '#08519c', [
            charts.Point(0, iv(300, 290, 310), None),
            charts.Point(1, iv(280, 270, 295), '3.6.3 → 3.6.4 at run2')]),
            charts.Series('nginx · OpenSSL Debian', '#9e9ac8', [
            charts.Point(1, iv(500, 480, 520, n=3), None)])]
        root = parse(charts.trend('Full handshake', [('aaaa', 'day 1'),
            ('bbbb', 'day 2')], series, 'µs'))
        self.assertEqual(len(list(root.iter(NS + 'circle'))), 3)
        self.assertEqual(len(list(root.iter(NS + 'path'))), 1)
        t = texts(root)
        self.assertIn('▼ tlsbench · OpenSSL tuned: 3.6.3 → 3.6.4 at run2',
            t)
        for s in ('aaaa', 'bbbb', 'day 1', 'day 2'):
            self.assertIn(s, t)
        self.assertTrue(any(ln.get('stroke-dasharray') == '3,2' for ln in
            root.iter(NS + 'line')))

    def test_many_runs_rotate_their_labels(self):
        runs = [('%08x' % i, '2026-11-%02d 12:00' % (i + 1)) for i in
            range(30)]
        pts = [charts.Point(i, iv(100, 90, 110), None) for i in range(30)]
        svg = charts.trend('t', runs, [charts.Series('s', '#000', pts)],
            'µs')
        self.assertEqual(len(re.findall(r'rotate\(-45', svg)), 60)


class Lines(unittest.TestCase):
    def test_log_axes_decades(self):
        svg = charts.log_lines('lat', 'connections', 'ms', [charts.Line(
            'a p50', '#000', False, [(1, 0.05), (10, 0.3), (1000, 40)])])
        t = texts(parse(svg))
        for label in ('0.01', '1', '10', '100', '1,000'):
            self.assertIn(label, t)

    def test_nothing_to_draw(self):
        self.assertIsNone(charts.log_lines('t', 'x', 'y', [charts.Line(
            'a', '#000', False, [(1, None)])]))


if __name__ == '__main__':
    unittest.main()
