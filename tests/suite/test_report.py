"""The report: figures with their intervals from cells.csv or, for runs
without one, recomputed from the rows (and said so); verdicts; bound
classes in their own tables; the two-run comparison.  Runs are synthetic
(tests/suite/synth.py) or written here with known numbers."""

import copy
import csv
import os
import shutil
import tempfile
import unittest

import synth
from tbsuite import figures, latreport, report, results, stats


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def write_rows(path, rows):
    columns = results.COLUMNS + synth.PROTOCOL_COLUMNS
    with open(path, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator='\n')
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, '') for k in columns})


class Known(unittest.TestCase):
    """Two cells over six blocks with known values: A takes 100, 102, ...
    110 µs, B exactly twice A's in the same block."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        cs = [c for c in synth.cells() if c['server'] == 'tlsbench' and
            c['library'] in ('openssl', 'wolfssl') and c['flavor'] ==
            'debian' and c['mode'] == 'full']
        rng = __import__('random').Random(1)
        rows = []
        for b in range(1, 7):
            for pos, c in enumerate(cs):
                r = synth.row('20261126T000000Z-0a0a0a0a',
                    '2026-11-26T00:00:00Z', '0a' * 20, c, b, pos, b, 1.0,
                    rng)
                us = 98 + 2 * b
                r['server_us_per_req'] = str(us * (2 if c['library'] ==
                    'wolfssl' else 1))
                r['ratio_to_ref'] = ''
                rows.append(r)
        self.csv = os.path.join(self.dir, '20261126T000000Z-0a0a0a0a.csv')
        write_rows(self.csv, rows)

    def test_recomputed_from_rows_and_said_so(self):
        run = figures.Run(self.csv)
        self.assertEqual(run.source, 'rows')
        a = next(c for c in run.cells if c.library == 'openssl')
        # six samples: the 95% interval is [min, max] (96.9%)
        self.assertEqual((a.us.value, a.us.lo, a.us.hi), (105, 100, 110))
        self.assertTrue(a.us.complete)
        text = read(report.render([self.csv]))
        self.assertIn('recomputed from its', text)
        self.assertIn('105 [100, 110]', text)
        self.assertIn('210 [200, 220]', text)

    def test_paired_by_block(self):
        run = figures.Run(self.csv)
        a, b = (next(c for c in run.cells if c.library == lib) for lib in
            ('openssl', 'wolfssl'))
        cmp_ = run.compare(b, a)
        self.assertEqual(cmp_.how, 'paired')
        self.assertEqual((cmp_.ratio.value, cmp_.ratio.lo, cmp_.ratio.hi),
            (2.0, 2.0, 2.0))
        self.assertEqual(cmp_.verdict, '+100.0%')
        text = read(report.render([self.csv]))
        self.assertIn('| +100.0% | paired |', text)

    def test_cells_csv_is_read_not_recomputed(self):
        run_dir = os.path.join(self.dir, '20261126T000000Z-0a0a0a0a')
        os.makedirs(run_dir, exist_ok=True)
        # columns in another order, an unknown one, figures of its own
        cols = ['status', 'flavor', 'extra_column'] + [
            c for c in synth.CELLS_COLUMNS if c not in ('status', 'flavor')]
        rows = []
        for c in figures.Run(self.csv).cells:
            t = {k: c.get(k) for k in synth.AXES}
            t.update({'cell': c.id, 'library': c.library, 'version':
                c.version, 'flavor': c.flavor, 'n': '6', 'status': 'ok',
                'us_per_req': '111', 'us_per_req_lo': '101',
                'us_per_req_hi': '121', 'stop_reason': 'max_blocks',
                'bound': 'client', 'bound_client': '5', 'bound_server': '1',
                'extra_column': 'x'})
            rows.append(t)
        with open(os.path.join(run_dir, 'cells.csv'), 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=cols, restval='')
            w.writeheader()
            w.writerows(rows)
        run = figures.Run(self.csv)
        self.assertEqual(run.source, 'cells.csv')
        c = run.cells[0]
        self.assertEqual((c.us.value, c.us.lo, c.us.hi), (111, 101, 121))
        self.assertEqual((c.bound_counts['client'], c.bound_counts[
            'server']), (5, 1))
        text = read(report.render([self.csv]))
        self.assertIn("the run's own summary (`cells.csv`)", text)
        self.assertIn('111 [101, 121]', text)
        self.assertIn('max_blocks', text)
        self.assertIn('client (5/6)', text)
        self.assertNotIn('recomputed', text)

    def test_missing_columns_are_named(self):
        with open(self.csv) as f:
            text = f.read()
        with open(self.csv, 'w') as f:
            f.write(text.replace('server_command', 'server_cmd', 1))
        with self.assertRaises(report.ReportError) as e:
            report.render([self.csv])
        self.assertIn('server_command', str(e.exception))

    def test_no_rows_is_an_error(self):
        with open(self.csv, 'w') as f:
            f.write(','.join(results.COLUMNS) + '\n')
        with self.assertRaises(report.ReportError):
            report.render([self.csv])


class Protocol(unittest.TestCase):
    """A synthetic run of the block protocol's shape."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.csv = synth.write_run(cls.dir)
        cls.measured = figures.Run(cls.csv)
        cls.text = read(report.render([cls.csv]))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def test_reference_and_canary_stated(self):
        self.assertTrue(self.measured.reference.is_reference)
        self.assertIn('Reference cell: tlsbench · OpenSSL 3.0.22 Debian, '
            'full handshake', self.text)
        lo, med, hi = self.measured.canary()
        self.assertIn('median %.2f ms, %.2f–%.2f ms' % (med / 1e6,
            lo / 1e6, hi / 1e6), self.text)

    def test_listed_comparisons_with_verdict(self):
        self.assertEqual(len(self.measured.listed), 4)
        self.assertIn('## Comparisons', self.text)
        for c in self.measured.listed:
            self.assertIn('| %s | %s | %s |' % (stats.fmt(c.ratio),
                c.verdict, c.ratio.n), self.text)
        # the pair where one side is latency-bound is marked
        self.assertIn('| **no** |', self.text)

    def test_a_listed_pair_read_either_way_round(self):
        c = self.measured.listed[0]
        self.assertIs(self.measured.compare(c.a, c.b), c)
        back = self.measured.compare(c.b, c.a)
        self.assertEqual(back.how, 'listed')
        self.assertAlmostEqual(back.ratio.value, 1 / c.ratio.value)
        self.assertAlmostEqual(back.ratio.lo, 1 / c.ratio.hi)
        self.assertEqual(back.verdict, '%+.1f%%' % (
            (1 / c.ratio.value - 1) * 100))

    def test_bound_classes_in_their_own_marked_tables(self):
        self.assertIn('**Client-bound** (the server was not the limit',
            self.text)
        self.assertIn('**Latency-bound** (the server was not the limit',
            self.text)
        client = self.text.split('**Client-bound**')[1].split('###')[0]
        self.assertIn('asyncio · OpenSSL 3.0.22 Debian', client)
        # not compared: no verdict for it in the headline either
        line = next(ln for ln in self.text.splitlines() if ln.startswith(
            '| keep-alive request | asyncio'))
        self.assertIn('| client-bound |', line)

    def test_panel_labels_name_what_varies_in_the_panel(self):
        # two cells of one library that differ only in their suite (or
        # io mode) must not share a label: the axis is written out
        full = [c for c in self.measured.cells if c['mode'] == 'full' and
            c.label() == 'tlsbench · OpenSSL 3.0.22 Debian']
        self.assertEqual(len(full), 1)
        axes = full[0].axes
        twin = copy.copy(full[0])
        twin.axes = dict(axes, suite='TLS_CHACHA20_POLY1305_SHA256',
            io='core')
        full[0].axes = dict(axes, suite='TLS_AES_128_GCM_SHA256',
            io='native')
        try:
            panel = report.panels(self.measured, [full[0], twin])[0]
        finally:
            full[0].axes = axes
        self.assertEqual([b.label for b in panel.bars], [
            'tlsbench · OpenSSL 3.0.22 Debian · AES_128_GCM · io native',
            'tlsbench · OpenSSL 3.0.22 Debian · CHACHA20_POLY1305 · io '
            'core'])
        # one cell per library: labels as before, and an axis that does
        # not apply ('-', nginx's io) or is unset ('') is no difference
        cells = [c for c in self.measured.cells if c['mode'] == 'full']
        dash = copy.copy(cells[1])
        dash.axes = dict(cells[1].axes, suite='-', io='native')
        one = report.panels(self.measured, [cells[0], dash] + cells[2:])[0]
        self.assertNotIn(' · ', ''.join(b.label.split(' · ', 1)[1] for b in
            one.bars))

    def test_stop_reason_per_cell(self):
        self.assertEqual(self.text.count('| converged |'), len(
            self.measured.cells))

    def test_charts_written_and_linked(self):
        for name in ('cpu-per-request-ecdsa-p256-tls1.3.svg',
                'requests-per-s-ecdsa-p256-tls1.3.svg'):
            self.assertTrue(os.path.exists(os.path.join(self.measured.dir,
                name)))
            self.assertIn('](%s)' % name, self.text)

    def test_against_a_baseline(self):
        base = synth.write_run(self.dir, '20261125T120000Z-4d4d4d4d',
            seed=3, versions={'openssl': '3.6.2'})
        text = read(report.render([self.csv, base]))
        part = text.split('## Against 20261125T120000Z-4d4d4d4d')[1]
        rows = [ln for ln in part.splitlines() if ln.startswith('| ') and
            '·' in ln and 'server · library' not in ln]
        self.assertEqual(len(rows), len(self.measured.cells))
        self.assertIn('| 3.6.2 → 3.6.3 |', part)
        self.assertIn('Canary medians:', part)


class CostAndMemory(unittest.TestCase):
    def test_sections_from_the_run_directory(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        path = synth.write_run(d, blocks=2)
        run_dir = os.path.join(d, '20261126T120000Z-5e7e7e7e')
        os.makedirs(os.path.join(run_dir, 'cost'))
        os.makedirs(os.path.join(run_dir, 'memory'))
        with open(os.path.join(run_dir, 'cost', 'cost.csv'), 'w') as f:
            f.write('server,backend,library_version,tls_version,cert,op,'
                'instr_per_op,top_file,status,floor_sig_alg,floor_group,'
                'floor_sign_us,floor_kex_us,floor_us,floor_instr,'
                'cost_over_floor_instr\n'
                'tlsbench,openssl,3.0.22,1.3,ecdsa-p256,full,1234567,'
                'top/full.txt,ok,ecdsa_secp256r1_sha256,X25519,30.0,40.0,'
                '70.0,700000,1.76\n')
        with open(os.path.join(run_dir, 'memory', 'memory.csv'), 'w') as f:
            f.write('backend,library_version,tls_version,cert,mem_conns,'
                'rss_base_kib,rss_held_kib,rss_after_kib,kib_per_conn,'
                'status\nopenssl,3.0.22,1.3,ecdsa-p256,1000,5000,65000,'
                '9000,60.0,ok\n')
        text = read(report.render([path]))
        self.assertIn('## Instructions per operation', text)
        self.assertIn('1,234,567', text)
        self.assertIn('](cost/top/full.txt)', text)
        self.assertIn('## Memory per idle connection', text)
        self.assertEqual(text.count('## Cost over the crypto floor'), 1)
        self.assertIn('ecdsa_secp256r1_sha256', text)


class LatencyCharts(unittest.TestCase):
    """A latency run's levels: one chart and table per mode with nginx
    beside tlsbench (nginx has no io axis); the io mode is named only where
    a mode holds both."""

    def rows(self):
        out = []
        servers = (('tlsbench', 'openssl', 'openssl@3.6-tuned', 'native'),
            ('tlsbench', 'openssl', 'openssl@3.6-tuned', 'core'),
            ('nginx', '-', 'openssl@3.0-debian', '-'))
        for mode in ('full', 'keepalive'):
            for server, backend, lib, io in servers:
                if mode == 'full' and io == 'core':
                    continue
                for load in ('-', '0.5', '0.9'):
                    cell = 'server=%s,lib=%s,io=%s,mode=%s,load=%s' % (
                        server, lib, io, mode, load)
                    out.append({'run_id': '20261130T000000Z-00000000',
                        'cell': cell, 'server': server, 'backend': backend,
                        'lib': lib, 'tls_version': '1.3', 'cert': 'rsa2048',
                        'mode': mode, 'resumption': 'none', 'io': io,
                        'concurrency': '100', 'body_bytes': '20480',
                        'workers': '1', 'load_fraction': load,
                        'status': 'ok', 'block': '1', 'rps': '1000',
                        'server_us_per_req': '400', 'lat_p99_us': '2000',
                        'bound': 'server'})
        return out

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        path = os.path.join(self.dir, '20261130T000000Z-00000000.csv')
        write_rows(path, self.rows())
        self.run_ = figures.Run(path)

    def test_nginx_shares_the_chart_and_io_is_named_where_both(self):
        groups = latreport.level_groups(self.run_)
        self.assertEqual([k[0] for k in groups], ['full', 'keepalive'])
        self.assertTrue(all('io ' not in k[1] for k in groups))
        full, keepalive = (list(v) for v in groups.values())
        self.assertEqual(len(full), 2)
        self.assertTrue(any(x.startswith('nginx') for x in full))
        self.assertFalse(any('io ' in x for x in full))
        self.assertEqual(len(keepalive), 3)
        self.assertEqual(sorted(x.split(' · ')[-1] for x in keepalive
            if x.startswith('tlsbench')), ['io core', 'io native'])
        for cap, levels in groups[('full', next(iter(groups))[1])].values():
            self.assertIsNotNone(cap)
            self.assertEqual([latreport.fraction(c) for c in levels],
                [0.5, 0.9])

    def test_the_front_page_charts_are_the_ones_the_report_draws(self):
        latreport.load_section(self.run_, self.dir)
        front = latreport.front_charts(self.run_)
        self.assertEqual(front, ['latency-load-1-full-p99.svg',
            'latency-load-2-keepalive-p99.svg'])
        for f in front:
            self.assertTrue(os.path.exists(os.path.join(self.dir, f)), f)
        self.assertEqual(report.front_charts(self.run_)[-2:], front)


class OldRun(unittest.TestCase):
    def test_fixture_run(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        src = os.path.join(os.path.dirname(__file__), 'fixtures', 'results')
        shutil.copytree(src, d, dirs_exist_ok=True)
        path = os.path.join(d, '20261125T202027Z-4e5f7274.csv')
        run = figures.Run(path)
        self.assertFalse(run.blocks())
        self.assertIsNone(run.reference)
        text = read(report.render([path]))
        self.assertIn('names no reference cell', text)
        self.assertIn('No machine-speed canary', text)
        self.assertIn('(n=3)', text)
        self.assertIn('| unpaired |', text)
        # three repeats never reach 95%: nothing is called a difference
        self.assertNotRegex(text, r'\| [+-]\d+\.\d% \| unpaired')
        self.assertIn('fixed repeats', text)


if __name__ == '__main__':
    unittest.main()
