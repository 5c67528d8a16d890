"""The handshakes people are moving to, without a server: bytes on the wire
in the rows (from a canned load-generator JSON), bulk windows sized by
bytes and their CPU per MiB, the suite axis on every server, refusals
stated by nginx and by the client, cells.csv's medians, the report's pq,
keys and ciphers sections, and the three profiles' cells."""

import csv
import json
import os
import shutil
import tempfile
import unittest

from tbsuite import (axisreport, cells, cellstats, context, figures,
    matrixfile, nginx_conf, report, results, runner, servers)

SECTION = {'name': 'main', 'settings': {k: v[1] for k, v in
    matrixfile.SETTINGS.items()}}


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def cell(**axes):
    c = matrixfile.make_cell(axes, SECTION, 2)
    assert c is not None, axes
    return c


# What tlsbench-load --json printed for a window of 2000 full handshakes
# with X25519MLKEM768 (trimmed to the fields the row reads).
LOAD_JSON = '''{"duration_s":0.81,"requests_ok":2000,"requests_failed":0,
"handshakes_full":2000,"handshakes_resumed":0,
"window_requests_started":2000,"window_requests_completed":2000,
"inflight_abandoned":0,"client_cpu_user_s":0.5,"client_cpu_sys_s":0.2,
"client_cpu_share":0.86,"warmup_s":0.6,"warmup_requests":900,
"handshake_bytes":{"full":{"handshakes":2000,"client_sent":1469.00,
"server_sent":2741.00,"client_records":3.00,"server_records":6.00,
"client_segments":3.00,"server_segments":2.00,"ticket_bytes":0.00,
"ticket_records":0.00,"early_data_bytes":0.00,"server_read_ahead":0.00},
"resumed":{"handshakes":0,"client_sent":null,"server_sent":null,
"client_records":null,"server_records":null,"client_segments":null,
"server_segments":null,"ticket_bytes":null,"ticket_records":null,
"early_data_bytes":null,"server_read_ahead":null}},
"client_library":"OpenSSL 3.6.3 9 Jun 2026",
"negotiated":{"version":"TLSv1.3","cipher":"TLS_AES_256_GCM_SHA384",
"group":"X25519MLKEM768","sigalg":"ecdsa_secp256r1_sha256"},"reason":""}'''


def samples(load, served=2000, full=2000, resumed=0, cpu_ns=0.4e9):
    return {'load_rc': 0, 'load': load, 'load_err': '',
        'counters': ({'requests': 0, 'handshakes_full': 0,
            'handshakes_resumed': 0}, {'requests': served,
            'handshakes_full': full, 'handshakes_resumed': resumed}),
        'cpu': ({'ns': 0, 'user_s': 0.0, 'sys_s': 0.0},
            {'ns': cpu_ns, 'user_s': 0.3, 'sys_s': 0.1}),
        'steal_s': 0.0, 'peak_rss_kib': 9000, 'scrape_cost': 0,
        'hs_source': 'server', 'tls_settings': '', 'stop': (0, '')}


def load_for(**changes):
    out = json.loads(LOAD_JSON)
    out.update(changes)
    return out


class WireColumns(unittest.TestCase):
    pq = cell(mode='full', group='X25519MLKEM768', lib='openssl@3.6-tuned')

    def test_full_rows_carry_the_full_handshakes_means(self):
        f = cells.row_fields(self.pq, samples(load_for()))
        self.assertEqual([f[c] for c in results.WIRE_COLUMNS], ['1469.0',
            '2741.0', '3.0', '6.0', '3.0', '2.0', '0.0'])
        self.assertEqual(f['server_us_per_mib'], '')
        self.assertEqual(cells.judge(self.pq, samples(load_for()), f)[0],
            'ok')

    def test_resumed_rows_carry_the_resumed_ones(self):
        load = load_for(handshakes_full=0, handshakes_resumed=2000)
        load['handshake_bytes']['resumed'] = dict(
            load['handshake_bytes']['full'], client_sent=1744.0,
            server_sent=1329.0, ticket_bytes=255.0)
        load['handshake_bytes']['full'] = {'handshakes': 0,
            'client_sent': None}
        c = cell(mode='resumed', group='X25519MLKEM768',
            lib='openssl@3.6-tuned')
        f = cells.row_fields(c, samples(load, full=0, resumed=2000))
        self.assertEqual((f['hs_client_bytes'], f['hs_server_bytes'],
            f['hs_ticket_bytes']), ('1744.0', '1329.0', '255.0'))
        # a resumed window whose means are missing has no bytes
        load['handshake_bytes']['resumed'] = {'handshakes': 0}
        f = cells.row_fields(c, samples(load, full=0, resumed=2000))
        self.assertEqual({f[k] for k in results.WIRE_COLUMNS}, {''})

    def test_modes_without_handshakes_in_the_window_have_none(self):
        for mode in ('keepalive', 'bulk'):
            c = cell(mode=mode, body='1m' if mode == 'bulk' else '20k')
            self.assertIsNone(cells.handshake_kind(c))
            f = cells.row_fields(c, samples(load_for(), full=0))
            self.assertEqual({f[k] for k in results.WIRE_COLUMNS}, {''})
        self.assertEqual(cells.handshake_kind(cell(mode='full-tickets')),
            'full')
        self.assertIsNone(cells.handshake_kind(cell(mode='full',
            backend='none')))

    def test_older_csv_reads_with_the_new_columns_empty(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        path = os.path.join(d, 'old.csv')
        old = [c for c in results.COLUMNS if c not in results.SINCE_WIRE]
        with open(path, 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(old)
            w.writerow(['x'] * len(old))
        self.assertEqual(results.missing_columns(old), [])
        row = results.read(path)[0]
        self.assertEqual(row['hs_server_bytes'], '')
        self.assertEqual(row['server_us_per_mib'], '')


class Bulk(unittest.TestCase):
    def test_windows_are_sized_by_bytes(self):
        self.assertEqual(context.window_requests(cell(mode='bulk',
            body='1m', concurrency='4')), 256)
        self.assertEqual(context.window_requests(cell(mode='bulk',
            body='16m', concurrency='4')), 16)
        # at least BULK_MIN_PER_CONN requests per connection
        self.assertEqual(context.window_requests(cell(mode='bulk',
            body='16m', concurrency='10')), 40)
        # a body that does not divide bulk_mib: rounded up
        self.assertEqual(context.window_requests(cell(mode='bulk',
            body='3m', concurrency='1')), 86)
        settings = dict(SECTION['settings'], bulk_mib=64)
        c = matrixfile.make_cell({'mode': 'bulk', 'body': '1m',
            'concurrency': '4'}, {'name': 'main', 'settings': settings}, 2)
        self.assertEqual(context.window_requests(c), 64)
        settings = dict(SECTION['settings'], requests=100)
        c = matrixfile.make_cell({'mode': 'bulk', 'body': '1m',
            'concurrency': '4'}, {'name': 'main', 'settings': settings}, 2)
        self.assertEqual(context.window_requests(c), 100)
        # other modes keep their request counts
        self.assertEqual(context.window_requests(cell(mode='keepalive',
            concurrency='100')), 30000)

    def test_cpu_per_mib(self):
        c = cell(mode='bulk', body='1m', concurrency='4')
        load = load_for(requests_ok=256, handshakes_full=0,
            window_requests_started=256, window_requests_completed=256)
        f = cells.row_fields(c, samples(load, served=256, full=0,
            cpu_ns=0.2e9))
        # 0.2 s of CPU over 256 MiB
        self.assertEqual(f['server_us_per_mib'], '781.25')
        self.assertEqual(f['server_us_per_req'], '781.25')
        c = cell(mode='bulk', body='16m', concurrency='4')
        f = cells.row_fields(c, samples(load, served=256, full=0,
            cpu_ns=0.2e9))
        self.assertEqual(f['server_us_per_mib'], '48.83')

    def test_bulk_runs_in_blocks_with_keep_alive_requests(self):
        self.assertIn('bulk', matrixfile.WINDOW_MODES)
        self.assertEqual(cells.MODES['bulk'].load_args, [])
        # --list's estimate: 256 MiB at EST_BULK_MIB_S, whatever the body
        a = runner.estimate_s(cell(mode='bulk', body='1m', concurrency='4'))
        b = runner.estimate_s(cell(mode='bulk', body='16m',
            concurrency='4'))
        self.assertAlmostEqual(a, b, delta=0.3)


class SuiteAxis(unittest.TestCase):
    SUITE = 'TLS_CHACHA20_POLY1305_SHA256'

    def test_the_client_pins_it_and_the_servers_that_can(self):
        for lib, server_has in (('openssl@3.6-tuned', True),
                ('wolfssl@5.9-tuned', True), ('boringssl@14-tuned', False)):
            c = cell(mode='bulk', body='1m', lib=lib, suite=self.SUITE)
            self.assertEqual(dict(cells.tls_lists(c))['ciphersuites'],
                self.SUITE)
            self.assertEqual('ciphersuites' in cells.server_lists(c),
                server_has, lib)
        # a ciphersuites setting is the user's list: every server gets it
        settings = dict(SECTION['settings'], ciphersuites=self.SUITE)
        c = matrixfile.make_cell({'lib': 'boringssl@14-tuned'},
            {'name': 'main', 'settings': settings}, 2)
        self.assertIn('ciphersuites', cells.server_lists(c))

    def test_nginx_pins_it_with_ssl_conf_command(self):
        text = nginx_conf.render('/tmp/x', 8443, 'c.pem', 'k.pem', '/b',
            ciphersuites=self.SUITE)
        self.assertIn('ssl_conf_command Ciphersuites %s;' % self.SUITE, text)

    def test_a_negotiated_suite_other_than_the_cells_is_an_error(self):
        c = cell(mode='full', suite=self.SUITE, group='X25519MLKEM768',
            lib='openssl@3.6-tuned')
        s = samples(load_for())
        status, reasons = cells.judge(c, s, cells.row_fields(c, s))
        self.assertEqual(status, 'error')
        self.assertIn('negotiated suite TLS_AES_256_GCM_SHA384, not %s' %
            self.SUITE, reasons)
        load = load_for()
        load['negotiated']['cipher'] = self.SUITE
        s = samples(load)
        self.assertEqual(cells.judge(c, s, cells.row_fields(c, s))[0], 'ok')


class Refusals(unittest.TestCase):
    def test_the_clients_openssl_lacking_a_group(self):
        class Ctx:
            client_facts = {'client_library': 'OpenSSL 3.6.3 9 Jun 2026'}
        e = 'load generator exit 2 without JSON: tlsbench-load: --groups ' \
            '"X25519Kyber768Draft00": not a valid list'
        line = cells.client_refusal(Ctx(), e)
        self.assertEqual(line, 'the client\'s OpenSSL 3.6.3 has no '
            'X25519Kyber768Draft00 (tlsbench-load: --groups '
            '"X25519Kyber768Draft00": not a valid list)')
        self.assertTrue(cells.REFUSAL.search(line))
        self.assertIsNone(cells.client_refusal(Ctx(), 'no successful '
            'requests: connection refused'))

    def test_nginx_lacking_a_group(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        s = servers.Nginx(d, {})
        with open(s.stderr, 'w') as f:
            f.write('nginx: [emerg] SSL_CTX_set1_curves_list('
                '"X25519MLKEM768") failed (SSL: error:0A080106:SSL '
                'routines::passed invalid argument:group \'X25519MLKEM768\' '
                'cannot be set)\n')
        line = cells.refusal(s)
        self.assertTrue(line.startswith("nginx's OpenSSL has no "
            'X25519MLKEM768 (nginx: SSL_CTX_set1_curves_list('), line)
        self.assertTrue(cells.REFUSAL.search(line))
        with open(s.stderr, 'w') as f:
            f.write('nginx: [emerg] cannot load certificate "x.pem"\n')
        self.assertIsNone(cells.refusal(s))


# ---- cells.csv and the report ------------------------------------------

GROUP_BYTES = {'X25519': (291, 1653), 'X25519MLKEM768': (1469, 2741)}


def write_run(d, specs, compare):
    """A run of six blocks: specs [(axes, us per request, extra row
    fields or 'refused: reason')]; returns the CSV's path."""
    run_id = '20261201T000000Z-0b0b0b0b'
    made = [(cell(**axes), us, extra) for axes, us, extra in specs]
    rows = []
    for b in range(1, 7):
        speed = 1.0     # blocks alike: the figures are exact
        for c, us, extra in made:
            r = {k: '' for k in results.COLUMNS}
            r.update({'run_id': run_id, 'utc': '2026-12-01T00:00:00Z',
                'git_commit': '0b' * 20, 'host': 'synthetic',
                'cpu_model': 'synthetic', 'cores': '2', 'kernel': '0',
                'cell': c['id'], 'server': c['server'],
                'backend': c['backend'], 'lib': c['lib'].replace('3.6',
                '3.6.3') if c['lib'] != '-' else 'openssl@3.0.19-debian',
                'tls_version': c['tls'], 'cert': c['cert'],
                'group': c['group'], 'suite': c['suite'],
                'mode': c['mode'], 'resumption': c['resumption'],
                'concurrency': c['concurrency'], 'workers': '1',
                'body_bytes': str(matrixfile.parse_body(c['body'])),
                'io': c['io'], 'block': str(b), 'repeat': str(b),
                'is_reference': 'yes' if c is made[0][0] else 'no'})
            r['library_version'] = r['lib'].split('@')[1].split('-')[0]
            r['flavor'] = r['lib'].rsplit('-', 1)[1]
            if isinstance(extra, str):
                if b > 1:
                    continue        # a refused cell is measured once
                r.update({'status': 'refused', 'reason': extra})
            else:
                r.update({'status': 'ok', 'bound': 'server',
                    'server_util': '0.98', 'rps': '%.1f' % (1e6 / us),
                    'server_us_per_req': '%.2f' % (us * speed)})
                r.update(extra)
            rows.append(r)
    ref = {r['block']: float(r['server_us_per_req']) for r in rows
        if r['is_reference'] == 'yes'}
    for r in rows:
        if r['status'] == 'ok':
            r['ratio_to_ref'] = '%.4f' % (float(r['server_us_per_req']) /
                ref[r['block']])
    path = os.path.join(d, run_id + '.csv')
    with open(path, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=results.COLUMNS,
            lineterminator='\n')
        w.writeheader()
        w.writerows(rows)
    os.makedirs(os.path.join(d, run_id))
    by = {}
    for c, _, _ in made:
        by[c['id']] = c
    pairs = matrixfile.comparison_pairs(list(by.values()),
        [matrixfile.parse_pair(p) for p in compare], 2)
    with open(os.path.join(d, run_id, 'run.json'), 'w') as f:
        json.dump({'profile': 'synthetic', 'seed': 1,
            'cells': list(by), 'reference': made[0][0]['id'],
            'comparisons': [[a['id'], b['id']] for a, b in pairs]}, f)
    cellstats.write(path)
    return path


def wire(group):
    client, server = GROUP_BYTES[group]
    return {'hs_client_bytes': '%.1f' % client, 'hs_server_bytes': '%.1f' %
        server, 'hs_client_records': '3.0', 'hs_server_records': '6.0',
        'hs_client_segments': '3.0', 'hs_server_segments': '2.0',
        'hs_ticket_bytes': '0.0'}


class Sections(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def test_pq_section_bytes_ratio_and_refusals(self):
        tuned = {'lib': 'openssl@3.6-tuned', 'mode': 'full',
            'concurrency': '100'}
        debian = {'lib': 'openssl@3.0-debian', 'mode': 'full',
            'concurrency': '100'}
        path = write_run(self.dir, [
            (dict(tuned, group='X25519'), 170.0, wire('X25519')),
            (dict(tuned, group='X25519MLKEM768'), 210.0,
                wire('X25519MLKEM768')),
            (dict(debian, group='X25519'), 200.0, wire('X25519')),
            (dict(debian, group='X25519MLKEM768'), 0, 'tlsbench-server: '
                'OpenSSL 3.0.19 has no X25519MLKEM768 (OpenSSL 3.5 or later '
                'has it)')],
            ['group=X25519MLKEM768 vs group=X25519'])
        lines = {l['group'] + l['lib']: l for l in results.read(
            path[:-4] + '/cells.csv')}
        got = lines['X25519MLKEM768openssl@3.6-tuned']
        self.assertEqual((got['hs_client_bytes'], got['hs_server_bytes']),
            ('1469.0', '2741.0'))
        self.assertEqual(lines['X25519MLKEM768openssl@3.0-debian']['status'],
            'refused')
        text = read(report.render([path]))
        part = text.split('## Post-quantum key exchange', 1)[1].split(
            '\n## ', 1)[0]
        self.assertIn('### tlsbench · OpenSSL 3.6.3 tuned', part)
        # 210 / 170 in every block: the paired ratio and its verdict
        self.assertIn('| X25519MLKEM768 | full handshake | 210 [210, 210] | '
            '2,741 | 1,469 | 1.24 [1.24, 1.24] | +23.5% | yes | server |',
            part)
        self.assertIn('| X25519 | full handshake | 170 [170, 170] | 1,653 | '
            '291 | baseline |', part)
        self.assertIn('refused: tlsbench-server: OpenSSL 3.0.19 has no '
            'X25519MLKEM768', part)
        # the handshake table of every cell shows the bytes too
        full = text.split('### Full handshake', 1)[1].split('\n### ')[0]
        self.assertIn('bytes server→client', full)
        self.assertIn('| 2,741 | 1,469 |', full)
        # no other varied axis: no keys or ciphers section
        self.assertNotIn('## Key types', text)
        self.assertNotIn('## Ciphers', text)

    def test_0rtt_rows_and_tables_carry_the_resumed_bytes(self):
        # a 0-RTT window resumes: its rows carry the resumed means
        self.assertEqual(cells.handshake_kind(cell(mode='resumed-0rtt',
            tls='1.3')), 'resumed')
        path = write_run(self.dir, [
            ({'lib': 'openssl@3.6-tuned', 'tls': '1.3', 'mode': 'resumed'},
                100.0, wire('X25519')),
            ({'lib': 'openssl@3.6-tuned', 'tls': '1.3',
                'mode': 'resumed-0rtt'}, 90.0, wire('X25519MLKEM768'))], [])
        text = read(report.render([path]))
        zero = text.split('### Resumed handshake with 0-RTT early data',
            1)[1].split('\n### ')[0]
        self.assertIn('bytes server→client', zero)
        self.assertIn('| 2,741 | 1,469 |', zero)

    def test_keys_and_ciphers_sections(self):
        keys = {'lib': 'wolfssl@5.9-tuned', 'mode': 'full',
            'concurrency': '100', 'group': 'X25519'}
        bulk = {'lib': 'wolfssl@5.9-tuned', 'mode': 'bulk', 'body': '1m',
            'concurrency': '4', 'group': 'X25519'}
        mib = lambda us: {'server_us_per_mib': '%.2f' % us, 'bound':
            'client', 'rps': '1000.0'}
        path = write_run(self.dir, [
            (dict(keys, cert='ecdsa-p256'), 150.0, wire('X25519')),
            (dict(keys, cert='rsa2048'), 600.0, wire('X25519')),
            (dict(bulk, suite='TLS_AES_128_GCM_SHA256'), 300.0, mib(300)),
            (dict(bulk, suite='TLS_CHACHA20_POLY1305_SHA256'), 450.0,
                mib(450))],
            ['cert=rsa2048 vs cert=ecdsa-p256'])
        line = next(l for l in results.read(path[:-4] + '/cells.csv')
            if l['suite'] == 'TLS_AES_128_GCM_SHA256')
        self.assertEqual((line['us_per_mib'], line['us_per_mib_lo'],
            line['us_per_mib_hi']), ('300.0', '300.0', '300.0'))
        text = read(report.render([path]))
        part = text.split('## Key types', 1)[1].split('\n## ', 1)[0]
        self.assertIn('| rsa2048 | full handshake | 600 [600, 600] | 1,653 | '
            '291 | 4.00 [4.00, 4.00] | +300.0% | yes | server |', part)
        part = text.split('## Ciphers: server CPU per MiB', 1)[1].split(
            '\n## ', 1)[0]
        # not listed in comparisons.csv: paired by block all the same; a
        # client-bound pair is marked
        self.assertIn('| TLS_CHACHA20_POLY1305_SHA256 | bulk transfer, 1m | '
            '450 [450, 450] | 1000 [1000, 1000] | 1.50 [1.50, 1.50] | '
            '+50.0% | no | client |', part)
        self.assertNotIn('## Post-quantum', text)
        # the bulk table of every cell shows the CPU per MiB
        bulk_table = text.split('### Bulk transfer', 1)[1].split('\n### ')[0]
        self.assertRegex(bulk_table, r'\| stop \| server µs/MiB \|')
        self.assertRegex(bulk_table, r'\| 450 \[450, 450\] \|\n')

    def test_a_section_needs_two_values_and_the_baseline(self):
        path = write_run(self.dir, [
            ({'lib': 'openssl@3.6-tuned', 'group': 'X25519MLKEM768'}, 200.0,
                wire('X25519MLKEM768')),
            ({'lib': 'openssl@3.6-tuned', 'group': 'SecP256r1MLKEM768'},
                210.0, wire('X25519MLKEM768'))], [])
        run = figures.Run(path)
        self.assertEqual(axisreport.section(run, axisreport.SECTIONS[0]),
            [])


# ---- the profiles --------------------------------------------------------

class Profiles(unittest.TestCase):
    def matrix(self, name, only=()):
        return runner.Matrix({'profile': name, 'matrix': None,
            'only': list(only), 'set': []})

    def test_pq(self):
        m = self.matrix('pq')
        groups = {c['group'] for c in m.cells}
        self.assertEqual(groups, {'X25519', 'X25519MLKEM768',
            'SecP256r1MLKEM768', 'SecP384r1MLKEM1024',
            'X25519Kyber768Draft00'})
        # six libraries and nginx, five groups, full and resumed
        self.assertEqual(len(m.cells), 7 * 5 * 2)
        self.assertEqual({c['mode'] for c in m.cells}, {'full', 'resumed'})
        self.assertTrue(all(c['cert'] == 'ecdsa-p256' and c['tls'] == '1.3'
            and c['concurrency'] == '100' for c in m.cells))
        # every hybrid against the same library's X25519
        for a, b in m.pairs:
            self.assertEqual(b['group'], 'X25519')
            self.assertEqual([a[k] for k in matrixfile.AXES if k !=
                'group'], [b[k] for k in matrixfile.AXES if k != 'group'])
        self.assertEqual(len(m.pairs), 7 * 4 * 2)
        self.assertEqual(m.ref['lib'], 'openssl@3.6-tuned')

    def test_keys(self):
        m = self.matrix('keys')
        self.assertEqual(len(m.cells), 6 * 7 * 2)
        self.assertEqual({c['group'] for c in m.cells}, {'X25519'})
        self.assertTrue(all(b['cert'] == 'ecdsa-p256' for _, b in m.pairs))
        self.assertEqual(len(m.pairs), 6 * 6 * 2)
        self.assertEqual(m.settings['max_blocks'], 8)

    def test_ciphers(self):
        m = self.matrix('ciphers')
        bulk = [c for c in m.cells if c['mode'] == 'bulk']
        self.assertEqual({c['body'] for c in bulk}, {'1m', '16m'})
        # six libraries, nginx and asyncio; three suites; two bodies
        self.assertEqual(len(bulk), 8 * 3 * 2)
        self.assertEqual(len([c for c in m.cells if c['mode'] ==
            'keepalive']), 8 * 3)
        self.assertEqual(m.ref['mode'], 'bulk')
        suites = [(a['suite'], b['suite']) for a, b in m.pairs
            if a['suite'] != b['suite']]
        self.assertTrue(suites and all(b == 'TLS_AES_128_GCM_SHA256'
            for _, b in suites))


if __name__ == '__main__':
    unittest.main()
