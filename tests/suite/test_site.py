"""suite/site without a browser: the pages it writes, their links (every
relative href and src names a file of the site), the front page's newest
run per profile, trends marking a library upgrade, runs that cannot be
read, and an output directory it did not make.  tests/suite/site_browser.py
opens the same site in Chromium."""

import html.parser
import os
import shutil
import tempfile
import unittest
import urllib.parse

import synth
from tbsuite import site

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, 'fixtures', 'results')
OLD = '20261125T202027Z-4e5f7274'
A = '20261126T120000Z-5e7e7e7e'
B = '20261127T120000Z-6f8f8f8f'


class Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ('href', 'src', 'data'):
            if a.get(k):
                self.refs.append(a[k])
        if a.get('id'):
            self.ids.add(a['id'])


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


class Site(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.results = os.path.join(cls.dir, 'results')
        shutil.copytree(FIXTURE, cls.results)
        synth.write_run(cls.results, A, seed=1, utc='2026-11-26T12:00:00Z')
        synth.write_run(cls.results, B, seed=2, utc='2026-11-27T12:00:00Z',
            versions={'openssl': '3.6.4'})
        cls.out = os.path.join(cls.dir, 'site')
        cls.failed = site.build(cls.results, cls.out)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def test_pages(self):
        self.assertEqual(self.failed, {})
        for p in ('index.html', 'trends.html', 'methods.html', 'style.css',
                'runs/%s/index.html' % OLD, 'runs/%s/index.html' % B,
                'runs/%s/%s.csv' % (B, B), 'runs/%s/cells.csv' % B,
                'runs/%s/comparisons.csv' % B, 'runs/%s/report.md' % B):
            self.assertTrue(os.path.isfile(os.path.join(self.out, p)), p)

    def test_every_reference_resolves_and_no_script(self):
        pages = [os.path.join(d, f) for d, _, fs in os.walk(self.out)
            for f in fs if f.endswith('.html')]
        self.assertGreaterEqual(len(pages), 6)
        for page in pages:
            text = read(page)
            self.assertNotIn('<script', text)
            p = Refs()
            p.feed(text)
            for ref in p.refs:
                u = urllib.parse.urlparse(ref)
                self.assertEqual(u.scheme, '', (page, ref))
                self.assertFalse(ref.startswith('/'), (page, ref))
                if not u.path:
                    self.assertIn(u.fragment, p.ids, (page, ref))
                    continue
                target = os.path.normpath(os.path.join(os.path.dirname(
                    page), urllib.parse.unquote(u.path)))
                self.assertTrue(target.startswith(self.out), (page, ref))
                self.assertTrue(os.path.isfile(target), (page, ref))

    def test_front_page_newest_run_of_each_profile(self):
        text = read(os.path.join(self.out, 'index.html'))
        self.assertIn('Profile synthetic', text)
        self.assertIn('Profile seed-2017', text)
        synthetic = text.split('Profile synthetic')[1].split('<h2')[0]
        self.assertIn('runs/%s/cpu-per-request-ecdsa-p256-tls1.3.svg' % B,
            synthetic)
        self.assertNotIn('runs/%s/' % A, synthetic)
        # every run is listed, newest first
        runs = text.split('Every run')[1]
        self.assertLess(runs.index(B), runs.index(A))
        self.assertLess(runs.index(A), runs.index(OLD))

    def test_run_page_has_commands_builds_and_cpu(self):
        text = read(os.path.join(self.out, 'runs', B, 'index.html'))
        for words in ('suite/run_matrix.sh --profile synthetic',
                'taskset -c 0 tlsbench-server --synthetic', 'buildinfo.flavor',
                'crypto features', 'Comparisons', '-8.5%', 'converged',
                'Client-bound'):
            self.assertIn(words, text)
        self.assertIn('href="../../methods.html"', text)

    def test_trends_mark_the_upgrade(self):
        charts = os.listdir(os.path.join(self.out, 'charts'))
        full = [c for c in charts if c.startswith('trend-full-handshake')]
        self.assertEqual(len(full), 1)
        svg = read(os.path.join(self.out, 'charts', full[0]))
        self.assertIn('3.6.3 → 3.6.4 at %s' % B, svg)
        text = read(os.path.join(self.out, 'trends.html'))
        self.assertIn('Measured in one run only', text)

    def test_verdicts_coloured(self):
        p = site.md_to_html('| a | b |\n|---|--:|\n| x | -8.5% |\n'
            '| y | +3.0% |\n| z | ~ |\n')
        self.assertIn('<td class="num better">-8.5%</td>', p)
        self.assertIn('<td class="num worse">+3.0%</td>', p)
        self.assertIn('<td class="num">~</td>', p)

    def test_markdown_escapes_and_rewrites_links(self):
        p = site.md_to_html('# T <x>\n\nsee [the notes](../README.md) and '
            '`a<b>`\n\n![chart](c.svg)\n', lambda h: 'X' + h)
        self.assertIn('<h1 id="t-x">T &lt;x&gt;</h1>', p)
        self.assertIn('<a href="X../README.md">the notes</a>', p)
        self.assertIn('<code>a&lt;b&gt;</code>', p)
        self.assertIn('<img class="chart" src="Xc.svg" alt="chart">', p)


class Refusals(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.results = os.path.join(self.dir, 'results')
        shutil.copytree(FIXTURE, self.results)

    def test_a_directory_it_did_not_make_is_left_alone(self):
        out = os.path.join(self.dir, 'mine')
        os.makedirs(out)
        with open(os.path.join(out, 'notes.txt'), 'w') as f:
            f.write('mine')
        with self.assertRaises(site.SiteError) as e:
            site.build(self.results, out)
        self.assertIn('not a site', str(e.exception))
        self.assertEqual(os.listdir(out), ['notes.txt'])
        self.assertEqual(site.main(['--results', self.results, '--out',
            out]), 2)

    def test_rebuild_replaces_its_own(self):
        out = os.path.join(self.dir, 'site')
        site.build(self.results, out)
        with open(os.path.join(out, 'stale.html'), 'w') as f:
            f.write('old')
        site.build(self.results, out)
        self.assertFalse(os.path.exists(os.path.join(out, 'stale.html')))

    def test_an_unreadable_run_is_listed_and_the_rest_built(self):
        with open(os.path.join(self.results, 'broken-run.csv'), 'w') as f:
            f.write('run_id,utc\nbroken-run,2026-11-28T00:00:00Z\n')
        out = os.path.join(self.dir, 'site')
        self.assertEqual(site.main(['--results', self.results, '--out',
            out]), 1)
        front = read(os.path.join(out, 'index.html'))
        self.assertIn('broken-run', front)
        self.assertIn('lacks columns', front)
        self.assertTrue(os.path.exists(os.path.join(out, 'runs', OLD,
            'index.html')))

    def test_no_results_directory(self):
        self.assertEqual(site.main(['--results', os.path.join(self.dir,
            'none'), '--out', os.path.join(self.dir, 'o')]), 2)


if __name__ == '__main__':
    unittest.main()
