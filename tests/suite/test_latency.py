"""Latency under load and the resumption modes, without a server: the
capacity -> levels plan and where levels sit in the blocks, the window
sizing for the p99.9, the confirmed-mode rule, the expected share of full
handshakes with several workers, early data at both ends, the axes of the
matrix, and the profiles' estimates."""

import unittest

from tbsuite import (cells, matrixfile, openloop, protocol, resumemodes,
    runner)

SECTION = {'name': 'main', 'settings': {k: v[1] for k, v in
    matrixfile.SETTINGS.items()}}


def cell(cores=2, **axes):
    c = matrixfile.make_cell(axes, SECTION, cores)
    assert c is not None, axes
    return c


def row(c, block, rps='1000.0', status='ok', reason=''):
    return {'cell': c['id'] if isinstance(c, dict) else c,
        'block': str(block), 'status': status, 'rps': rps,
        'reason': reason, 'server_us_per_req': '100', 'measure_s': '1'}


# ---- the capacity -> levels plan -----------------------------------------

class LevelPlan(unittest.TestCase):
    level = cell(mode='full', load='0.5', cert='rsa2048')

    def test_a_level_is_its_capacity_cell_with_a_load(self):
        cap = openloop.capacity_cell(self.level)
        self.assertEqual(cap['load'], '-')
        self.assertEqual(cap['id'], cell(mode='full', cert='rsa2048')['id'])
        self.assertIn('load=0.5', self.level['id'])
        self.assertTrue(openloop.is_level_id(self.level['id']))
        self.assertFalse(openloop.is_level_id(cap['id']))

    def test_rate_is_the_fraction_of_the_median_capacity_before_the_block(
            self):
        cap = openloop.capacity_cell(self.level)
        rows = [row(cap, 1, '1000.0'), row(cap, 2, '1200.0'),
            row(cap, 3, '1100.0'), row(cap, 4, '9999.0'),
            row(cap, 2, '5000.0', status='error')]
        p = openloop.plan(self.level, rows, 4)   # blocks 1-3 only
        self.assertEqual(p['capacity_rps'], 1100.0)
        self.assertEqual(p['capacity_rows'], 3)
        self.assertAlmostEqual(p['offered_rps'], 550.0)
        self.assertEqual(p['load_fraction'], 0.5)
        self.assertEqual(openloop.load_args(dict(self.level, openloop=p)),
            ['-R', '550.00'])

    def test_no_capacity_is_an_error_and_a_refused_capacity_refuses(self):
        cap = openloop.capacity_cell(self.level)
        got = openloop.with_plan(self.level, [row(cap, 2)], 2)
        status, reason = openloop.problem(got)
        self.assertEqual(status, 'error')
        self.assertIn('no ok row in the blocks before block 2', reason)
        refused = [row(cap, 1, '', 'refused', 'X has no Y (Z has it)')]
        got = openloop.with_plan(self.level, refused, 2)
        self.assertEqual(openloop.problem(got), ('refused',
            'X has no Y (Z has it)'))
        # a closed-loop cell has no plan and no problem
        self.assertEqual(openloop.problem(openloop.with_plan(cap, [], 2)),
            ('', ''))

    def test_levels_start_in_block_2_and_run_level_blocks_blocks(self):
        cap = openloop.capacity_cell(self.level)
        plan = protocol.Plan([cap, self.level], cap, dict(
            SECTION['settings'], min_blocks=2, max_blocks=3), seed=1)
        self.assertEqual([c['id'] for c in plan.order([], 1)], [cap['id']])
        rows = [row(cap, 1)]
        self.assertEqual(sorted(c['id'] for c in plan.order(rows, 2)),
            sorted([cap['id'], self.level['id']]))
        rows += [row(cap, 2), row(self.level, 2)]
        self.assertNotIn(self.level['id'], [c['id'] for c in
            plan.order(rows, 3)])
        self.assertEqual(plan.stop_reason(rows, self.level['id']),
            'level_blocks')

    def test_the_runner_adds_missing_capacities_and_checks_the_blocks(self):
        got = runner.with_capacities([self.level])
        self.assertEqual([c['id'] for c in got], [openloop.capacity_cell(
            self.level)['id'], self.level['id']])
        with self.assertRaises(matrixfile.MatrixError) as e:
            runner.check_levels(got, got[0], dict(SECTION['settings'],
                min_blocks=1))
        self.assertIn('min_blocks must be at least 2', str(e.exception))
        with self.assertRaises(matrixfile.MatrixError):
            runner.check_levels(got, got[1], dict(SECTION['settings']))
        runner.check_levels(got, got[0], dict(SECTION['settings']))


# ---- the window for the p99.9 ---------------------------------------------

class WindowSizing(unittest.TestCase):
    def test_p999_rests_on_tail_samples(self):
        self.assertEqual(openloop.window(5000.0, 100, 120), (100000, False))
        self.assertEqual(openloop.tail_of(100000), 100)
        self.assertEqual(openloop.window(5000.0, 2, 120), (2000, False))

    def test_the_cap_comes_first_at_low_rates(self):
        # 450/s for 120 s: 54,000 requests, a p99.9 on 54 samples
        n, capped = openloop.window(450.0, 100, 120)
        self.assertEqual((n, capped), (54000, True))
        self.assertEqual(openloop.tail_of(n), 54)
        self.assertEqual(openloop.window(0.001, 100, 120), (1, True))

    def test_a_capped_row_says_so(self):
        level = cell(mode='keepalive', load='0.25')
        p = {'capacity_rps': 1800.0, 'offered_rps': 450.0,
            'load_fraction': 0.25, 'requests': 54000, 'capped': True}
        c = dict(level, openloop=p)
        f = openloop.row_fields(c, {'requests_ok': 54000, 'late_starts': 3})
        self.assertEqual((f['p999_samples'], f['window_capped'],
            f['late_starts'], f['offered_rps'], f['capacity_rps']),
            (54, 'yes', 3, '450.0', '1800.0'))
        self.assertIn('p99.9 rests on 54 samples, fewer than 100',
            openloop.notes(c, f)[0])
        closed = openloop.row_fields(cell(mode='keepalive'), {})
        self.assertEqual(set(closed.values()), {'-'})


# ---- what the server confirmed --------------------------------------------

def fields(full=0, resumed=1000, ticket=None, id_=0, psk_ke=0, psk_dhe=None,
        client_psk=None, early=None, client_early=None, counted=True):
    """A row's handshake and resumption columns; counted=False: a server
    without the counters (nginx)."""
    ticket = resumed if ticket is None else ticket
    psk_dhe = resumed if psk_dhe is None else psk_dhe
    cke, cdhe = client_psk or (psk_ke, psk_dhe)
    f = {'handshakes_full': full, 'handshakes_resumed': resumed,
        'client_resumed_psk_ke': cke, 'client_resumed_psk_dhe_ke': cdhe}
    if counted:
        f.update({'resumed_ticket': ticket, 'resumed_id': id_,
            'resumed_psk_ke': psk_ke, 'resumed_psk_dhe_ke': psk_dhe})
        for w, v in zip(('offered', 'accepted', 'rejected'), early or
                (0, 0, 0)):
            f['early_' + w] = v
    else:
        for k in ('resumed_ticket', 'resumed_id', 'resumed_psk_ke',
                'resumed_psk_dhe_ke'):
            f[k] = ''
    for w, v in zip(('offered', 'accepted', 'rejected'), client_early or
            early or (0, 0, 0)):
        f['client_early_' + w] = v
    f['confirmed_resumption'] = resumemodes.confirmed(f)
    return f


def problems(c, f):
    return resumemodes.problems(c, f, cells.AGREE, cells.STRAY)


class ConfirmedMode(unittest.TestCase):
    resumed13 = cell(mode='resumed')
    ke = cell(mode='resumed', psk='ke', lib='openssl@3.6-tuned')
    via_id = cell(mode='resumed', tls='1.2', resume_via='id')

    def test_what_the_server_confirmed(self):
        self.assertEqual(fields()['confirmed_resumption'],
            'ticket psk_dhe_ke')
        self.assertEqual(fields(ticket=0, id_=1000, psk_dhe=0)[
            'confirmed_resumption'], 'id')
        self.assertEqual(fields(resumed=0)['confirmed_resumption'], '-')
        self.assertEqual(fields(counted=False)['confirmed_resumption'], '')

    def test_the_cells_way_and_mode_are_ok(self):
        self.assertEqual(problems(self.resumed13, fields()), ([], []))
        self.assertEqual(problems(self.ke, fields(psk_ke=1000, psk_dhe=0)),
            ([], []))
        self.assertEqual(problems(self.via_id, fields(ticket=0, id_=1000,
            psk_dhe=0)), ([], []))

    def test_another_way_is_an_error(self):
        errors, _ = problems(self.via_id, fields(ticket=1000, id_=0,
            psk_dhe=0))
        self.assertEqual(len(errors), 1)
        self.assertIn('resumed 1000 of 1000 by ticket, not by session ID',
            errors[0])
        # 1% astray is tolerated, 2% is not
        self.assertEqual(problems(self.resumed13, fields(ticket=990,
            id_=10))[0], [])
        self.assertTrue(problems(self.resumed13, fields(ticket=980,
            id_=20))[0])

    def test_another_psk_mode_is_an_error_from_either_end(self):
        errors, _ = problems(self.ke, fields(psk_ke=0, psk_dhe=1000))
        self.assertIn('1000 of 1000 resumptions used psk_dhe_ke, not '
            'psk_ke', errors[0])
        # a server without counters: the client's view decides
        nginx = cell(server='nginx', mode='resumed')
        errors, _ = problems(nginx, fields(counted=False,
            client_psk=(1000, 0)))
        self.assertIn('psk_ke, not psk_dhe_ke (the client\'s count)',
            errors[0])
        self.assertEqual(problems(nginx, fields(counted=False)), ([], []))

    def test_the_ends_must_agree_on_psk_modes(self):
        errors, _ = problems(self.ke, fields(psk_ke=1000, psk_dhe=0,
            client_psk=(950, 50)))
        self.assertIn('PSK modes disagree: the client saw 950 psk_ke '
            'resumptions, the server counted 1000', ' '.join(errors))

    def test_tls12_has_no_psk_mode_and_other_modes_no_rule(self):
        self.assertIsNone(resumemodes.expected_psk(self.via_id))
        self.assertEqual(problems(cell(mode='full'), fields(resumed=0)),
            ([], []))


# ---- the expected share of full handshakes -------------------------------

class ExpectedFullShare(unittest.TestCase):
    def test_per_worker_cache_expects_n_minus_1_over_n(self):
        w2 = cell(mode='resumed', tls='1.2', resume_via='id', workers='2')
        self.assertEqual(resumemodes.expected_full_share(w2), 0.5)
        w2_0rtt = cell(mode='resumed-0rtt', workers='2')
        self.assertEqual(resumemodes.expected_full_share(w2_0rtt), 0.5)
        self.assertEqual(resumemodes.expected_full_share(cell(
            mode='resumed', tls='1.2', resume_via='id', workers='3',
            cores=4)), 2 / 3.0)
        # tickets open on every worker; nginx shares its cache; 1 worker
        for c in (cell(mode='resumed', workers='2'), cell(server='nginx',
                mode='resumed', tls='1.2', resume_via='id', workers='2'),
                cell(mode='resumed', tls='1.2', resume_via='id'),
                cell(mode='full-tickets', workers='2')):
            self.assertEqual(resumemodes.expected_full_share(c), 0.0, c)

    def test_about_half_is_stated_not_failed(self):
        w2 = cell(mode='resumed', tls='1.2', resume_via='id', workers='2')
        errors, notes = problems(w2, fields(full=1030, resumed=970,
            ticket=0, id_=970, psk_dhe=0))
        self.assertEqual(errors, [])
        self.assertIn('expected about 50% full handshakes (2 workers, '
            'each with its own session cache', notes[0])
        self.assertIn('1030 of 2000, 51.5%', notes[0])

    def test_far_from_the_share_is_an_error(self):
        w2 = cell(mode='resumed', tls='1.2', resume_via='id', workers='2')
        # 4 SDs of 2000 at p = 0.5: 4.5%; 60% full is beyond
        errors, _ = problems(w2, fields(full=1200, resumed=800, ticket=0,
            id_=800, psk_dhe=0))
        self.assertIn('a resumed window with 1200 full handshakes of 2000 '
            '(60.0%), expected 50% +- 4.5%', errors[0])
        # and every resumption is an error where none is expected
        errors, _ = problems(w2, fields(full=0, resumed=2000, ticket=0,
            id_=2000, psk_dhe=0))
        self.assertTrue(errors)

    def test_one_worker_keeps_the_1pct_rule(self):
        r = cell(mode='resumed')
        errors, _ = problems(r, fields(full=11, resumed=989))
        self.assertIn('a resumed window with 11 full handshakes of 1000 '
            '(more than 1%)', errors[0])


# ---- 0-RTT ---------------------------------------------------------------

class EarlyData(unittest.TestCase):
    zero = cell(mode='resumed-0rtt')

    def ok_fields(self, **kw):
        base = dict(ticket=0, id_=1000, early=(1000, 1000, 0))
        base.update(kw)
        return fields(**base)

    def test_both_ends_agree_and_every_resumption_accepted(self):
        self.assertEqual(problems(self.zero, self.ok_fields()), ([], []))

    def test_disagreeing_counts_are_an_error(self):
        errors, _ = problems(self.zero, self.ok_fields(
            client_early=(1000, 900, 100)))
        self.assertIn('early data counts disagree: the client accepted '
            '900, the server 1000', ' '.join(errors))

    def test_early_data_rejected_on_resumptions_is_an_error(self):
        errors, _ = problems(self.zero, self.ok_fields(early=(1000, 500,
            500)))
        self.assertIn('a 0-RTT window with early data accepted on 500 of '
            '1000 resumed handshakes', ' '.join(errors))

    def test_the_mode_resumes_from_the_cache_with_early_data(self):
        self.assertEqual(self.zero['resumption'], 'both')
        self.assertEqual(resumemodes.expected_via(self.zero), 'id')
        self.assertEqual(resumemodes.server_args(self.zero),
            ['--early-data'])
        self.assertEqual(resumemodes.client_args(self.zero,
            cells.MODES['resumed-0rtt'].load_args), ['--close', '--resume',
            'ticket', '--early-data'])

    def test_option_refusals_are_refused_rows(self):
        for line in ('tlsbench-server: --psk-mode ke: OpenSSL 3.0.19 '
                'resumes with psk_dhe_ke whenever the client offers both',
                'tlsbench-server: --early-data: BoringSSL has no '
                'protection against a replayed 0-RTT flight'):
            self.assertTrue(resumemodes.REFUSED_OPTION.search(line), line)
        self.assertFalse(resumemodes.REFUSED_OPTION.search(
            'tlsbench-server: --psk-mode: expected dhe or ke'))


# ---- the axes -------------------------------------------------------------

class Axes(unittest.TestCase):
    def test_ids_name_the_new_axes_only_when_set(self):
        c = cell(mode='resumed')
        self.assertNotIn('psk=', c['id'])
        self.assertTrue(c['id'].endswith(',io=native'))
        self.assertIn(',psk=ke', cell(mode='resumed', psk='ke')['id'])

    def test_axes_collapse_where_they_do_not_apply(self):
        self.assertEqual(cell(mode='full', psk='ke', resume_via='id')[
            'psk'], '-')
        self.assertEqual(cell(mode='resumed', tls='1.2', psk='ke')['psk'],
            '-')
        self.assertEqual(cell(mode='resumed-0rtt', resume_via='id')[
            'resume_via'], '-')
        self.assertEqual(cell(mode='cost-full', load='0.5')['load'], '-')

    def test_resume_via_sets_the_servers_resumption_and_the_client(self):
        c = cell(mode='resumed', tls='1.2', resume_via='id')
        self.assertEqual(c['resumption'], 'cache')
        self.assertEqual(resumemodes.client_args(c, ['--close', '--resume',
            'ticket']), ['--close', '--resume', 'id'])
        self.assertEqual(cell(mode='resumed', resume_via='ticket')[
            'resumption'], 'tickets')
        ke = cell(mode='resumed', psk='ke')
        self.assertEqual(resumemodes.client_args(ke, []), ['--psk-mode',
            'both'])
        self.assertEqual(resumemodes.server_args(ke), ['--psk-mode', 'ke'])

    def test_what_a_server_cannot_do_is_skipped(self):
        for axes in ({'server': 'nginx', 'mode': 'resumed', 'psk': 'ke'},
                {'server': 'asyncio', 'mode': 'resumed-0rtt'},
                {'mode': 'resumed', 'workers': '3'}):
            self.assertIsNone(matrixfile.make_cell(axes, SECTION, 2), axes)
        # one worker per CPU: the load generator shares them
        self.assertEqual(cell(mode='resumed', workers='2')['workers'], '2')

    def test_bad_values_are_refused_with_the_choices(self):
        for axes, want in (({'psk': 'none'}, 'psk "none": use one of dhe '
                'ke'), ({'resume_via': 'cache'}, 'use one of ticket id'),
                ({'load': '1.5'}, 'a fraction of the capacity'),
                ({'load': 'half'}, 'a fraction of the capacity')):
            with self.assertRaises(matrixfile.MatrixError) as e:
                matrixfile.make_cell(axes, SECTION, 2)
            self.assertIn(want, str(e.exception))

    def test_ticket_key_lifetime_goes_to_tlsbench(self):
        s = dict(SECTION['settings'], ticket_key_lifetime=60)
        c = matrixfile.make_cell({'mode': 'resumed'}, {'name': 'x',
            'settings': s}, 2)
        self.assertEqual(resumemodes.server_args(c),
            ['--ticket-key-lifetime', '60'])


# ---- the profiles -----------------------------------------------------------

class Profiles(unittest.TestCase):
    def matrix(self, name):
        return runner.Matrix({'profile': name, 'matrix': None, 'only': [],
            'set': []})

    def test_latency_has_every_library_and_nginx_in_three_modes(self):
        m = self.matrix('latency')
        levels = [c for c in m.cells if openloop.is_level(c)]
        caps = [c for c in m.cells if not openloop.is_level(c)]
        self.assertEqual(len(caps), 7 * 3)
        self.assertEqual(len(levels), 4 * len(caps))
        self.assertEqual({c['mode'] for c in caps},
            {'full', 'resumed', 'keepalive'})
        self.assertFalse(openloop.is_level(m.ref))
        if len(runner.hostfacts.cores()) == 2:
            least, most = runner.estimate(m)
            self.assertLessEqual(most, 2.25 * 3600)

    def test_resumption_compares_the_modes_within_half_an_hour(self):
        m = self.matrix('resumption')
        spans = {(a['psk'], b['psk'], a['mode'], b['mode'], a['resume_via'],
            b['resume_via'], a['workers'], b['workers']) for a, b in m.pairs}
        self.assertIn(('ke', 'dhe', 'resumed', 'resumed', '-', '-', '1',
            '1'), spans)
        self.assertIn(('dhe', 'dhe', 'resumed-0rtt', 'resumed', '-', '-',
            '1', '1'), spans)
        self.assertIn(('-', '-', 'resumed', 'resumed', 'id', 'ticket', '1',
            '1'), spans)
        self.assertIn(('-', '-', 'resumed', 'resumed', 'id', 'id', '2',
            '1'), spans)
        if len(runner.hostfacts.cores()) == 2:
            self.assertLessEqual(runner.estimate(m)[1], 30 * 60)


if __name__ == '__main__':
    unittest.main()
