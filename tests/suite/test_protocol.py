"""The measurement protocol without a server: the window rules (judge,
row_fields), the block plan (every cell once per block, shuffled by a
recorded seed, adaptive repeats, resume), the per-cell summary and the
comparisons from synthetic rows with known answers, and --verify's rule."""

import contextlib
import csv
import io
import os
import random
import re
import shutil
import tempfile
import unittest

from tbsuite import (blockrun, cells, cellstats, matrixfile, protocol,
    results, stats, verify)

SECTION = {'name': 'main', 'settings': {k: v[1] for k, v in
    matrixfile.SETTINGS.items()}}


def cell(**axes):
    c = matrixfile.make_cell(axes, SECTION, 2)
    assert c is not None, axes
    return c


# ---- the window rules --------------------------------------------------

def samples(served=1000, full=1000, resumed=0, client=None, rc=0,
        stop=(0, ''), started=None, completed=None, abandoned=0,
        version='TLSv1.3', group='x25519', failed=0, cpu_ns=0.2e9,
        duration=1.0):
    """A window's samples as run_window returns them: the server counted
    `served` requests and full/resumed handshakes; the client what
    `client` says (default: the same)."""
    cfull, cres, cok = client or (full, resumed, served)
    load = {'duration_s': duration, 'requests_ok': cok,
        'requests_failed': failed, 'handshakes_full': cfull,
        'handshakes_resumed': cres,
        'window_requests_started': cok if started is None else started,
        'window_requests_completed': cok if completed is None else completed,
        'inflight_abandoned': abandoned, 'client_cpu_share': 0.5,
        'client_cpu_user_s': 0.4, 'client_cpu_sys_s': 0.1,
        'negotiated': {'version': version, 'group': group,
            'cipher': 'TLS_AES_128_GCM_SHA256',
            'sigalg': 'ecdsa_secp256r1_sha256'},
        'client_library': 'OpenSSL 3.6.3', 'reason': 'a reason'}
    c0 = {'requests': 10, 'handshakes_full': 5, 'handshakes_resumed': 5}
    c1 = {'requests': 10 + served, 'handshakes_full': 5 + full,
        'handshakes_resumed': 5 + resumed}
    return {'load_rc': rc, 'load': load, 'load_err': '',
        'counters': (c0, c1),
        'cpu': ({'ns': 1e9, 'user_s': 1.0, 'sys_s': 0.5},
            {'ns': 1e9 + cpu_ns, 'user_s': 1.15, 'sys_s': 0.55}),
        'steal_s': 0.01, 'peak_rss_kib': 9000, 'scrape_cost': 0,
        'hs_source': 'server', 'tls_settings': 'tickets=0', 'stop': stop}


def judged(c, s):
    fields = cells.row_fields(c, s)
    return cells.judge(c, s, fields), fields


class WindowRules(unittest.TestCase):
    full = cell(mode='full')
    resumed = cell(mode='resumed')

    def test_clean_full_window_is_ok(self):
        (status, reasons), f = judged(self.full, samples())
        self.assertEqual((status, reasons), ('ok', []))
        # CPU from schedstat over the server's count, per window second
        self.assertEqual(f['server_us_per_req'], '200.00')
        self.assertEqual(f['rps'], '1000.0')
        self.assertEqual(f['server_util'], '0.200')
        self.assertEqual(f['server_cpu_user_s'], '0.15')
        self.assertEqual(f['bound'], 'neither')

    def test_resumed_window_with_full_handshakes_is_an_error(self):
        # 11 full handshakes of 1000: more than 1%, counted by both sides
        s = samples(full=11, resumed=989)
        (status, reasons), _ = judged(self.resumed, s)
        self.assertEqual(status, 'error')
        self.assertIn('a resumed window with 11 full handshakes of 1000',
            reasons[0])
        # 10 of 1000 is within the 1% a resumed window may hold
        (status, _), _ = judged(self.resumed, samples(full=10, resumed=990))
        self.assertEqual(status, 'ok')

    def test_full_window_with_a_resumed_handshake_is_an_error(self):
        (status, reasons), _ = judged(self.full, samples(full=999,
            resumed=1))
        self.assertEqual(status, 'error')
        self.assertIn('1 resumed handshakes of 1000', ' '.join(reasons))

    def test_client_and_server_counts_must_agree_within_1pct(self):
        # the server counted 1011 requests, the client completed 1000
        s = samples(served=1011, full=1011, client=(1011, 0, 1000))
        (status, reasons), _ = judged(self.full, s)
        self.assertEqual(status, 'error')
        self.assertIn('the client completed 1000 requests, the server '
            'counted 1011', reasons[0])
        # a fake handshake count: requests agree, handshakes do not
        s = samples(served=1000, full=900, client=(1000, 0, 1000))
        (status, reasons), _ = judged(self.full, s)
        self.assertEqual(status, 'error')
        self.assertIn('the client made 1000 full handshakes, the server '
            'counted 900', ' '.join(reasons))
        # 1% is tolerated (1010 against 1000)
        s = samples(served=1010, full=1010, client=(1010, 0, 1000))
        self.assertEqual(judged(self.full, s)[0][0], 'ok')

    def test_window_cut_short_is_an_error(self):
        s = samples(started=1000, completed=990, abandoned=10)
        (status, reasons), _ = judged(self.full, s)
        self.assertEqual(status, 'error')
        self.assertIn('window cut short', reasons[0])

    def test_negotiated_version_and_group_are_the_cells(self):
        (status, reasons), _ = judged(self.full, samples(version='TLSv1.2'))
        self.assertEqual(status, 'error')
        self.assertIn('negotiated TLSv1.2, not TLS 1.3', reasons)
        pq = cell(mode='full', group='X25519MLKEM768', lib='openssl@3.6-tuned')
        (status, reasons), _ = judged(pq, samples(group='x25519'))
        self.assertEqual(status, 'error')
        self.assertIn('negotiated group x25519, not X25519MLKEM768', reasons)
        (status, _), _ = judged(pq, samples(group='X25519MLKEM768'))
        self.assertEqual(status, 'ok')

    def test_failed_requests_beyond_1pct_are_an_error(self):
        s = samples(rc=1, failed=5, served=1000, client=(1000, 0, 1000))
        (status, reasons), _ = judged(self.full, s)
        self.assertEqual(status, 'ok')
        self.assertIn('5 requests failed', reasons[0])
        s = samples(rc=1, failed=20, served=1000, client=(1000, 0, 1000))
        self.assertEqual(judged(self.full, s)[0][0], 'error')

    def test_unclean_server_exit_is_an_error(self):
        s = samples(stop=(-9, 'server did not exit within 15s of SIGTERM'))
        (status, reasons), _ = judged(self.full, s)
        self.assertEqual(status, 'error')
        self.assertEqual(reasons, ['server did not exit within 15s of '
            'SIGTERM'])

    def test_bound_classes(self):
        self.assertEqual(cells.bound_class(0.95, 0.99, 0.9), 'server')
        self.assertEqual(cells.bound_class(0.5, 0.92, 0.9), 'client')
        self.assertEqual(cells.bound_class(0.5, 0.5, 0.9), 'neither')
        self.assertEqual(cells.bound_class(None, None, 0.9), 'neither')
        s = samples(cpu_ns=0.95e9)
        self.assertEqual(judged(self.full, s)[1]['bound'], 'server')

    def test_refusal_line(self):
        line = 'tlsbench-server: OpenSSL 3.0.19 has no X25519MLKEM768 ' \
            '(OpenSSL 3.5 or later has it)'
        self.assertTrue(cells.REFUSAL.search(line))
        self.assertFalse(cells.REFUSAL.search('tlsbench-server: --cert '
            'x.pem: No such file or directory'))


# ---- matrix files --------------------------------------------------------

class MatrixRules(unittest.TestCase):
    def test_full_runs_without_resumption_full_tickets_with_it(self):
        self.assertEqual(cell(mode='full', resumption='both')['resumption'],
            'none')
        self.assertEqual(cell(mode='full-tickets')['resumption'], 'both')
        self.assertIsNone(matrixfile.make_cell({'mode': 'full-tickets',
            'resumption': 'none'}, SECTION, 2))

    def test_axes_collapse_where_they_do_not_apply(self):
        c = cell(mode='keepalive', backend='none', group='X25519')
        self.assertEqual((c['tls'], c['group'], c['suite']), ('-', '-', '-'))
        c = cell(tls='1.2', suite='TLS_AES_128_GCM_SHA256')
        self.assertEqual(c['suite'], '-')
        c = cell(server='nginx', io='core')
        self.assertEqual(c['io'], '-')

    def test_spec_and_reference(self):
        spec = matrixfile.parse_spec('server=tlsbench backend=openssl '
            'mode=full concurrency=100')
        self.assertEqual(spec['concurrency'], '100')
        # a cell id parses as a spec
        c = cell(mode='resumed')
        self.assertEqual(cell(**matrixfile.parse_spec(c['id']))['id'],
            c['id'])
        with self.assertRaises(matrixfile.MatrixError):
            matrixfile.parse_spec('server=tlsbench colour=blue')
        text = 'reference = mode=full concurrency=5\nmode = resumed\n'
        sections = matrixfile.parse(text)
        got = matrixfile.expand(sections, {}, 2)
        ref = matrixfile.reference_cell(sections, got, 2)
        self.assertEqual((ref['mode'], ref['concurrency']), ('full', '5'))
        self.assertNotIn(ref['id'], [c['id'] for c in got])

    def test_run_level_settings_and_removed_ones(self):
        with self.assertRaises(matrixfile.MatrixError) as e:
            matrixfile.parse('[a]\nmin_blocks = 3\n')
        self.assertIn('run-level', str(e.exception))
        with self.assertRaises(matrixfile.MatrixError) as e:
            matrixfile.parse('duration = 3\n')
        self.assertIn('use requests = N', str(e.exception))
        s = matrixfile.parse('compare = mode=resumed vs mode=full\n'
            'compare = backend=wolfssl vs backend=openssl\n')[0]['settings']
        self.assertEqual(len(s['compare']), 2)
        bad = dict(s, min_blocks=5, max_blocks=4)
        with self.assertRaises(matrixfile.MatrixError):
            matrixfile.check_run_settings(bad)

    def test_comparison_pairs(self):
        text = 'backend = openssl wolfssl\nmode = full keepalive\n'
        got = matrixfile.expand(matrixfile.parse(text), {}, 2)
        pairs = matrixfile.comparison_pairs(got,
            [matrixfile.parse_pair('backend=wolfssl vs backend=openssl')], 2)
        self.assertEqual([(a['backend'], b['backend'], a['mode'] == b['mode'])
            for a, b in pairs], [('wolfssl', 'openssl', True)] * 2)
        # server change: nginx's cells against tlsbench/openssl's
        text = 'server = tlsbench nginx\nmode = full\n'
        got = matrixfile.expand(matrixfile.parse(text), {}, 2)
        pairs = matrixfile.comparison_pairs(got, [matrixfile.parse_pair(
            'server=nginx vs server=tlsbench backend=openssl')], 2)
        self.assertEqual(len(pairs), 1)


# ---- the block plan ------------------------------------------------------

def ids(n):
    return [cell(mode='keepalive', concurrency=str(i + 1)) for i in range(n)]


def settings(**kw):
    s = dict(SECTION['settings'])
    s.update(kw)
    return s


def fake_row(c, block, us, status='ok', measure_s=1.0):
    return {'cell': c['id'], 'block': str(block), 'status': status,
        'server_us_per_req': '%g' % us if us else '', 'reason': '',
        'measure_s': '%g' % measure_s, 'repeat': '1', 'mode': c['mode']}


class BlockPlan(unittest.TestCase):
    def test_every_cell_once_per_block_shuffled_by_the_seed(self):
        group = ids(8)
        plan = protocol.Plan(group[1:], group[0], settings(), seed=42)
        orders = [plan.order([], b) for b in range(1, 7)]
        for o in orders:
            self.assertEqual(sorted(c['id'] for c in o),
                sorted(c['id'] for c in group))
        self.assertGreater(len({tuple(c['id'] for c in o) for o in orders}),
            1)
        # the same seed gives the same orders; another seed others
        again = protocol.Plan(group[1:], group[0], settings(), seed=42)
        self.assertEqual([c['id'] for c in again.order([], 3)],
            [c['id'] for c in orders[2]])
        other = protocol.Plan(group[1:], group[0], settings(), seed=43)
        self.assertNotEqual([[c['id'] for c in other.order([], b)]
            for b in range(1, 7)], [[c['id'] for c in o] for o in orders])
        self.assertEqual(protocol.block_seed(42, 3),
            protocol.block_seed(42, 3))

    def rows_for(self, plan, blocks, noisy):
        """Rows of the plan's blocks: the reference 100 us/req, each cell
        200 us/req times a per-block factor; `noisy` cells vary 20%."""
        rows = []
        rng = random.Random(1)
        for b in range(1, blocks + 1):
            drift = 1.0 + rng.uniform(-0.2, 0.2)   # the block's speed
            for c in plan.order(rows, b):
                us = 100.0 * drift if c['id'] == plan.ref['id'] else \
                    200.0 * drift * (1 + rng.uniform(-0.2, 0.2)
                    if c['id'] in noisy else 1.0)
                rows.append(fake_row(c, b, us))
        return rows

    def test_adaptive_repeats_run_only_wide_cells(self):
        group = ids(4)
        noisy = {group[1]['id']}
        plan = protocol.Plan(group[1:], group[0], settings(min_blocks=6,
            max_blocks=9), seed=5)
        rows = self.rows_for(plan, 9, noisy)
        later = {r['cell'] for r in rows if int(r['block']) > 6}
        # the steady cells cancel the drift exactly: converged after 6
        self.assertEqual(later, noisy | {group[0]['id']})
        self.assertEqual(plan.stop_reason(rows, group[1]['id']),
            'max_blocks')
        self.assertEqual(plan.stop_reason(rows, group[2]['id']),
            'converged')
        self.assertEqual(plan.order(rows, 10), [])

    def test_time_budget_stops_the_extra_blocks(self):
        group = ids(3)
        noisy = {group[1]['id']}
        plan = protocol.Plan(group[1:], group[0], settings(min_blocks=6,
            max_blocks=10, time_budget=0.2), seed=5)   # 12 s
        rows = self.rows_for(plan, 6, noisy)           # 18 rows of 1 s
        self.assertEqual(plan.order(rows, 7), [])
        self.assertEqual(plan.stop_reason(rows, group[1]['id']),
            'time_budget')

    def test_refused_cells_are_not_measured_again(self):
        group = ids(3)
        plan = protocol.Plan(group[1:], group[0], settings(), seed=5)
        rows = [fake_row(group[1], 1, None, status='refused')]
        self.assertNotIn(group[1]['id'], [c['id'] for c in
            plan.order(rows, 2)])
        self.assertEqual(plan.stop_reason(rows, group[1]['id']), 'refused')


class FakeCtx:
    client_facts = {}


class ResumeSkipsDoneRows(unittest.TestCase):
    """run_blocks through a fake measurement: a run interrupted in block 2
    and resumed measures every (cell, block) once, in the plan's order,
    and every row carries its block's ratio."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.csv = os.path.join(self.dir, 'run.csv')
        self.measured = []
        self.real_run = blockrun.cellrun.run
        blockrun.cellrun.run = self.fake_run
        self.stop_after = None

    def tearDown(self):
        blockrun.cellrun.run = self.real_run
        shutil.rmtree(self.dir)

    def fake_run(self, ctx, c, repeat, row):
        if self.stop_after is not None and \
                len(self.measured) >= self.stop_after:
            raise blockrun.Interrupted('SIGTERM')
        self.measured.append((c['id'], row['block']))
        us = 100 + len(self.measured)
        row = dict(row, repeat=repeat, status='ok', reason='', rps='1',
            bound='server', measure_s='1.0', server_us_per_req='%d' % us)
        return row

    def run_plan(self, plan):
        fd = results.open_for_append(self.csv)
        w = blockrun.Writer(fd, results.read(self.csv), 0, 'test')
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # progress
                blockrun.run_blocks(FakeCtx(), plan,
                    lambda c: {'cell': c['id'], 'run_id': 'test'}, w)
        finally:
            os.close(fd)

    def test_resume(self):
        group = ids(4)
        plan = protocol.Plan(group[1:], group[0], settings(min_blocks=3,
            max_blocks=3), seed=9)
        self.stop_after = 6     # in block 2, after 2 of its 4 cells
        with self.assertRaises(blockrun.Interrupted):
            self.run_plan(plan)
        first = list(self.measured)
        written = results.read(self.csv)
        # nothing of a block is written before its reference
        for b in {r['block'] for r in written}:
            self.assertIn(group[0]['id'], [r['cell'] for r in written
                if r['block'] == b])
        self.stop_after = None
        self.run_plan(plan)
        rows = results.read(self.csv)
        keys = [(r['cell'], r['block']) for r in rows]
        self.assertEqual(len(keys), len(set(keys)))
        self.assertEqual(sorted(keys), sorted((c['id'], str(b))
            for c in group for b in (1, 2, 3)))
        # measured again: only what was not written
        again = self.measured[len(first):]
        self.assertFalse(set(again) & {(r['cell'], r['block'])
            for r in written})
        # the plan's order, block seed recorded, ratios against the block's
        # reference
        for b in (1, 2, 3):
            order = [c['id'] for c in plan.order([], b)]
            got = sorted((int(r['block_pos']), r['cell']) for r in rows
                if r['block'] == str(b))
            self.assertEqual([cid for _, cid in got], order)
            ref = next(r for r in rows if r['block'] == str(b) and
                r['is_reference'] == 'yes')
            for r in rows:
                if r['block'] == str(b):
                    self.assertEqual(r['block_seed'],
                        str(protocol.block_seed(9, b)))
                    self.assertAlmostEqual(float(r['ratio_to_ref']),
                        float(r['server_us_per_req']) /
                        float(ref['server_us_per_req']), places=3)


# ---- the summary and the comparisons -----------------------------------

class Summary(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write_rows(self, rows):
        path = os.path.join(self.dir, 'synthetic.csv')
        fd = results.open_for_append(path)
        try:
            for r in rows:
                results.append(fd, r)
        finally:
            os.close(fd)
        return path

    def test_known_medians_intervals_and_comparisons(self):
        ref, a, b = cell(mode='full'), cell(mode='resumed'), \
            cell(mode='keepalive')
        rows = []
        us = {ref['id']: [100, 104, 98, 102, 110, 96],
            a['id']: [50, 52, 49, 51, 55, 48],           # 0.5 of the ref
            b['id']: [10, 30, 11, 12, 10, 11]}
        bound = {ref['id']: 'server', a['id']: 'server', b['id']: 'client'}
        for blk in range(6):
            for c in (ref, a, b):
                rows.append({'cell': c['id'], 'mode': c['mode'],
                    'block': blk + 1, 'status': 'ok', 'reason': '',
                    'is_reference': 'yes' if c is ref else 'no',
                    'server_us_per_req': us[c['id']][blk],
                    'rps': 1000 + blk, 'bound': bound[c['id']],
                    'lib': 'openssl@3.0.19-debian', 'library_version':
                    '3.0.19', 'flavor': 'debian', 'measure_s': 1})
        rows.append({'cell': b['id'], 'mode': 'keepalive', 'block': 7,
            'status': 'error', 'reason': 'window counts disagree',
            'is_reference': 'no'})
        path = self.write_rows(rows)
        meta = {'comparisons': [[a['id'], ref['id']], [b['id'], a['id']]],
            'protocol': {'min_blocks': 6, 'max_blocks': 10,
            'target_half_width': 0.03}}
        got = {c['cell']: c for c in cellstats.cells(results.read(path),
            meta)}
        r = got[ref['id']]
        # median of 6 with [min, max] (96.9%)
        self.assertEqual((r['us_per_req'], r['us_per_req_lo'],
            r['us_per_req_hi']), ('101.0', '96.0', '110.0'))
        self.assertEqual((r['ratio_to_ref'], r['complete'], r['stop_reason'],
            r['is_reference']), ('1.0000', 'yes', 'converged', 'yes'))
        self.assertEqual((r['library'], r['version'], r['flavor']),
            ('openssl', '3.0.19', 'debian'))
        ra = got[a['id']]
        self.assertEqual((ra['ratio_to_ref'], ra['ratio_to_ref_lo'],
            ra['ratio_to_ref_hi']), ('0.5000', '0.5000', '0.5000'))
        self.assertEqual(ra['stop_reason'], 'converged')
        rb = got[b['id']]
        self.assertEqual((rb['n'], rb['n_error'], rb['status']),
            (6, 1, 'ok'))
        self.assertEqual(rb['bound'], 'client')
        self.assertEqual(rb['bound_client'], 6)
        self.assertIn('window counts disagree', rb['reason'])
        self.assertEqual(rb['stop_reason'], 'incomplete')
        comps = cellstats.comparisons(results.read(path), meta,
            list(got.values()))
        self.assertEqual((comps[0]['ratio'], comps[0]['verdict'],
            comps[0]['n'], comps[0]['both_server_bound']),
            ('0.5000', '-50.0%', 6, 'yes'))
        self.assertEqual(comps[1]['both_server_bound'], 'no')
        # the files, written next to the rows
        cpath, mpath = cellstats.write(path)
        with open(cpath) as f:
            self.assertEqual(tuple(next(csv.reader(f))),
                cellstats.CELL_COLUMNS)
        with open(mpath) as f:
            self.assertEqual(tuple(next(csv.reader(f))),
                cellstats.COMPARISON_COLUMNS)

    def test_readme_documents_every_column_in_order(self):
        path = os.path.join(os.path.dirname(__file__), '..', '..',
            'results', 'README.md')
        with open(path) as f:
            doc = f.read()
        for title, columns in (('## cells.csv', cellstats.CELL_COLUMNS),
                ('## comparisons.csv', cellstats.COMPARISON_COLUMNS)):
            table = doc.split(title, 1)[1].split('\n## ', 1)[0]
            got = []
            for first in re.findall(r'^\| (`[^|]+) \|', table, re.M):
                got += re.findall(r'`([a-z0-9_]+)`', first)
            self.assertEqual(tuple(got), columns, title)

    def test_verdict_is_tilde_when_the_interval_holds_one(self):
        iv = stats.paired_ratio([1.0, 1.1, 0.9, 1.05, 0.95, 1.0], [1.0] * 6)
        self.assertEqual(stats.verdict(iv), '~')


# ---- --verify's rule ---------------------------------------------------

class VerifyRule(unittest.TestCase):
    def iv(self, value, lo, hi):
        return stats.Interval(value, lo, hi, 6, 0.969)

    def test_rule(self):
        committed = {'a': (0.9, 1.1), 'b': (0.4, 0.6), 'c': (1.9, 2.1),
            'd': (0.09, 0.11)}
        inside = {'a': self.iv(1.0, 0.95, 1.05), 'b': self.iv(0.5, 0.45,
            0.55), 'c': self.iv(2.0, 1.95, 2.05), 'd': self.iv(0.1, 0.09,
            0.11)}
        self.assertTrue(verify.judge(committed, inside)[0])
        # one of four outside but overlapping: 75% inside, reproduced
        one_out = dict(inside, d=self.iv(0.115, 0.105, 0.12))
        ok, per = verify.judge(committed, one_out)
        self.assertTrue(ok)
        self.assertEqual([p[4] for p in per], [True, True, True, False])
        # one disjoint (a real shift): not reproduced, however many inside
        shifted = dict(inside, d=self.iv(0.2, 0.19, 0.21))
        self.assertFalse(verify.judge(committed, shifted)[0])
        # two of four outside: 50% < 75%
        two_out = dict(one_out, c=self.iv(2.15, 2.0, 2.2))
        self.assertFalse(verify.judge(committed, two_out)[0])
        # a cell that could not be measured again counts as outside
        self.assertFalse(verify.judge(committed, dict(one_out, a=None))[0])

    def test_sample_takes_each_mode_and_never_the_reference(self):
        lines = []
        modes = matrixfile.WINDOW_MODES
        for i in range(3 * len(modes)):
            lines.append({'cell': 'c%d' % i, 'mode': modes[i % len(modes)],
                'status': 'ok', 'ratio_to_ref_lo': '1'})
        lines.append({'cell': 'ref', 'mode': 'full', 'status': 'ok',
            'ratio_to_ref_lo': '1'})
        n = len(modes) + 1
        for seed in range(20):
            got = verify.sample(lines, 'ref', n, random.Random(seed))
            self.assertEqual(len(got), n)
            self.assertNotIn('ref', got)
            modes = {l['mode'] for l in lines if l['cell'] in got}
            self.assertEqual(modes, set(matrixfile.WINDOW_MODES))
        self.assertEqual(verify.sample(lines, 'ref', n, random.Random(3)),
            verify.sample(lines, 'ref', n, random.Random(3)))


if __name__ == '__main__':
    unittest.main()
