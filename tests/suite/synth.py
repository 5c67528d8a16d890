"""Synthetic runs of exactly the shape the block protocol writes, for the
report, index and site tests: results/<run-id>.csv (every column of
tbsuite.results plus the protocol's), and results/<run-id>/run.json,
cells.csv and comparisons.csv.  Figures are made up (host `synthetic`) and
deterministic: a seed gives the same files byte for byte.

    python3 tests/suite/synth.py DIR [RUN_ID]   (writes one run into DIR)

Each block has a machine speed (a factor on every cell of the block, as a
shared machine drifts); each cell a true server CPU per request, so a
paired ratio is tight while the cells' own intervals are wide.
"""

import csv
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)),
    'suite'))

from tbsuite import results, stats  # noqa: E402

PROTOCOL_COLUMNS = ('block', 'block_pos', 'block_seed', 'is_reference',
    'canary_ns', 'steal_s', 'server_cpu_s', 'ratio_to_ref', 'server_util',
    'bound')
AXES = ('server', 'lib', 'backend', 'tls_version', 'cert', 'mode',
    'resumption', 'concurrency', 'body_bytes', 'workers')
CELLS_COLUMNS = ('cell',) + AXES + ('library', 'version', 'flavor', 'n',
    'status', 'us_per_req', 'us_per_req_lo', 'us_per_req_hi', 'rps',
    'rps_lo', 'rps_hi', 'ratio_to_ref', 'ratio_to_ref_lo', 'ratio_to_ref_hi',
    'ratio_half_width', 'stop_reason', 'bound', 'bound_server',
    'bound_client', 'bound_neither', 'server_util', 'canary_ns')
COMPARISON_COLUMNS = ('a', 'b', 'ratio', 'lo', 'hi', 'verdict', 'n',
    'both_server_bound')

# (server, backend, library, version, flavor): the servers of a run
SERVERS = (
    ('tlsbench', 'openssl', 'openssl', '3.0.22', 'debian'),
    ('tlsbench', 'openssl', 'openssl', '3.6.3', 'tuned'),
    ('tlsbench', 'wolfssl', 'wolfssl', '5.5.4', 'debian'),
    ('tlsbench', 'wolfssl', 'wolfssl', '5.9.2', 'tuned'),
    ('tlsbench', 'boringssl', 'boringssl', '13.0.0', 'debian'),
    ('tlsbench', 'boringssl', 'boringssl', '14.0.0', 'tuned'),
    ('nginx', '-', 'openssl', '3.0.22', 'debian'),
    ('asyncio', '-', 'openssl', '3.0.22', 'debian'),
)
# true server CPU per request, µs, by library and mode
TRUE_US = {
    ('openssl', 'debian'): {'full': 330, 'resumed': 300, 'keepalive': 36},
    ('openssl', 'tuned'): {'full': 300, 'resumed': 270, 'keepalive': 28},
    ('wolfssl', 'debian'): {'full': 480, 'resumed': 410, 'keepalive': 215},
    ('wolfssl', 'tuned'): {'full': 225, 'resumed': 230, 'keepalive': 31},
    ('boringssl', 'debian'): {'full': 380, 'resumed': 215, 'keepalive': 33},
    ('boringssl', 'tuned'): {'full': 230, 'resumed': 214, 'keepalive': 30},
    ('nginx', 'debian'): {'full': 500, 'resumed': 320, 'keepalive': 37},
    ('asyncio', 'debian'): {'full': 470, 'resumed': 410, 'keepalive': 110},
}
MODES = ('full', 'resumed', 'keepalive')
RESUMPTION = {'full': 'none', 'resumed': 'both', 'keepalive': 'both'}
# cells that are not server-bound (the client or latency limits them)
NOT_SERVER = {('asyncio', 'keepalive'): 'client',
    ('wolfssl', 'resumed'): 'neither'}
REFERENCE = ('tlsbench', 'openssl', 'debian', 'full')
COMPARE = ((('openssl', 'tuned', 'full'), ('openssl', 'debian', 'full')),
    (('wolfssl', 'tuned', 'full'), ('wolfssl', 'debian', 'full')),
    (('boringssl', 'tuned', 'resumed'), ('boringssl', 'debian', 'resumed')),
    (('wolfssl', 'tuned', 'resumed'), ('wolfssl', 'debian', 'resumed')))


def cell_id(c):
    return ('server=%s,lib=%s,backend=%s,tls=1.3,cert=ecdsa-p256,mode=%s,'
        'resumption=%s,concurrency=100,body=20k,workers=1' % (c['server'],
        '-' if c['flavor'] == 'debian' else '%s@%s-tuned' % (
        c['library'], c['version'].rsplit('.', 1)[0]), c['backend'],
        c['mode'], c['resumption']))


def cells(versions=None):
    """Every server x mode, as dicts; versions: {library: version} of the
    tuned builds (a library upgrade between two runs)."""
    out = []
    for server, backend, lib, version, flavor in SERVERS:
        if flavor == 'tuned' and versions and lib in versions:
            version = versions[lib]
        for mode in MODES:
            fam = (lib if server == 'tlsbench' else server, flavor)
            c = {'server': server, 'backend': backend, 'library': lib,
                'version': version, 'flavor': flavor, 'mode': mode,
                'resumption': RESUMPTION[mode], 'true_us':
                TRUE_US[fam][mode], 'bound': NOT_SERVER.get((fam[0], mode),
                'server')}
            c['id'] = cell_id(c)
            c['reference'] = (server, backend, flavor, mode) == REFERENCE
            out.append(c)
    return out


def row(run_id, utc, commit, c, block, pos, seed, speed, rng):
    us = c['true_us'] * speed * rng.uniform(0.99, 1.01)
    rps = 1e6 / us * (0.7 if c['bound'] != 'server' else 0.97)
    util = rps * us / 1e6
    share = 0.95 if c['bound'] == 'client' else 0.5
    r = {k: '' for k in results.COLUMNS + PROTOCOL_COLUMNS}
    r.update({'run_id': run_id, 'utc': utc, 'git_commit': commit,
        'host': 'synthetic', 'cpu_model': 'synthetic (tests/suite/synth.py)',
        'cores': '2', 'kernel': '0.0-synthetic', 'cpu_flags': 'aes adx',
        'cell': c['id'], 'server': c['server'], 'backend': c['backend'],
        'lib': '%s@%s-%s' % (c['library'], c['version'], c['flavor']),
        'library_version': c['version'], 'flavor': c['flavor'],
        'build_facts': 'tlsbench=0.1.0;header_version=%s;buildinfo.flavor=%s'
            % (c['version'], c['flavor']),
        'tls_version': '1.3', 'negotiated_cipher': 'TLS_AES_128_GCM_SHA256',
        'negotiated_group': 'x25519', 'cert': 'ecdsa-p256',
        'mode': c['mode'], 'resumption': c['resumption'],
        'concurrency': '100', 'body_bytes': '20480', 'workers': '1',
        'server_cpus': '0', 'client_cpus': '1', 'repeat': str(block),
        'duration_s': '1.000', 'requests': '%d' % rps, 'errors': '0',
        'rps': '%.1f' % rps, 'server_requests': '%d' % rps,
        'lat_p50_us': '%.1f' % (100e6 / rps), 'lat_p99_us': '%.1f' % (
            130e6 / rps),
        'server_cpu_user_s': '%.3f' % (util * 0.8),
        'server_cpu_sys_s': '%.3f' % (util * 0.2),
        'server_us_per_req': '%.2f' % us, 'client_cpu_share': '%.3f' % share,
        'client_saturated': 'yes' if share >= 0.9 else 'no',
        'server_command': 'taskset -c 0 tlsbench-server --synthetic',
        'command': 'taskset -c 1 tlsbench-load --synthetic',
        'status': 'ok', 'block': str(block), 'block_pos': str(pos),
        'block_seed': str(seed), 'is_reference': 'yes' if c['reference']
        else 'no', 'canary_ns': '%d' % (20e6 * speed), 'steal_s': '0.000',
        'server_cpu_s': '%.4f' % util, 'server_util': '%.3f' % util,
        'bound': c['bound']})
    return r


def write_run(results_dir, run_id='20261126T120000Z-5e7e7e7e', blocks=6,
        seed=1, utc='2026-11-26T12:00:00Z', versions=None, summary=True):
    """Write one run into results_dir; return the CSV's path.  summary:
    also cells.csv and comparisons.csv (a run measured by the protocol);
    False leaves only the rows (as an old run has)."""
    rng = random.Random(seed)
    commit = run_id.split('-', 1)[1] * 5
    cs = cells(versions)
    rows = []
    for b in range(1, blocks + 1):
        bseed = seed * 1000 + b
        order = list(cs)
        random.Random(bseed).shuffle(order)
        speed = rng.uniform(0.9, 1.3)
        for pos, c in enumerate(order):
            rows.append(row(run_id, utc, commit, c, b, pos, bseed, speed,
                rng))
    # each row's ratio to the same block's reference
    ref = {r['block']: float(r['server_us_per_req']) for r in rows
        if r['is_reference'] == 'yes'}
    for r in rows:
        r['ratio_to_ref'] = '%.4f' % (float(r['server_us_per_req']) /
            ref[r['block']])
    os.makedirs(os.path.join(results_dir, run_id), exist_ok=True)
    path = os.path.join(results_dir, run_id + '.csv')
    columns = results.COLUMNS + PROTOCOL_COLUMNS
    _write(path, columns, rows)
    with open(os.path.join(results_dir, run_id, 'run.json'), 'w') as f:
        json.dump({'profile': 'synthetic', 'matrix': None, 'only': [],
            'set': [], 'started': utc, 'git_commit': commit, 'seed': seed,
            'argv': ['--profile', 'synthetic']}, f, indent=1)
    if summary:
        write_summary(os.path.join(results_dir, run_id), cs, rows)
    return path


def _write(path, columns, rows):
    with open(path, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator='\n')
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, '') for k in columns})


def _values(rows, cid, key):
    return [float(r[key]) for r in rows if r['cell'] == cid]


def write_summary(run_dir, cs, rows):
    out = []
    for c in cs:
        crow = next(r for r in rows if r['cell'] == c['id'])
        t = {k: crow[k] for k in AXES}
        t.update({'cell': c['id'], 'library': c['library'],
            'version': c['version'], 'flavor': c['flavor'],
            'n': str(len(_values(rows, c['id'], 'rps'))), 'status': 'ok',
            'stop_reason': 'converged', 'bound': c['bound'],
            'bound_server': '0', 'bound_client': '0', 'bound_neither': '0'})
        t['bound_' + c['bound']] = t['n']
        for col, key in (('us_per_req', 'server_us_per_req'),
                ('rps', 'rps'), ('ratio_to_ref', 'ratio_to_ref')):
            iv = stats.median_ci(_values(rows, c['id'], key))
            t[col], t[col + '_lo'], t[col + '_hi'] = ('%.4g' % x for x in
                (iv.value, iv.lo, iv.hi))
            if col == 'ratio_to_ref':
                t['ratio_half_width'] = '%.4f' % iv.half_width()
        t['server_util'] = '%.3f' % stats.median(_values(rows, c['id'],
            'server_util'))
        t['canary_ns'] = '%d' % stats.median(_values(rows, c['id'],
            'canary_ns'))
        out.append(t)
    _write(os.path.join(run_dir, 'cells.csv'), CELLS_COLUMNS, out)
    comps = []
    for a_spec, b_spec in COMPARE:
        a, b = (next(c for c in cs if (c['library'], c['flavor'], c['mode'])
            == spec and c['server'] == 'tlsbench') for spec in (a_spec,
            b_spec))
        iv = stats.paired_ratio(*(_by_block(rows, x['id']) for x in (a, b)))
        comps.append({'a': a['id'], 'b': b['id'], 'ratio': '%.4f' %
            iv.value, 'lo': '%.4f' % iv.lo, 'hi': '%.4f' % iv.hi,
            'verdict': stats.verdict(iv), 'n': str(iv.n),
            'both_server_bound': 'yes' if a['bound'] == b['bound'] ==
            'server' else 'no'})
    _write(os.path.join(run_dir, 'comparisons.csv'), COMPARISON_COLUMNS,
        comps)


def _by_block(rows, cid):
    return [float(r['server_us_per_req']) for r in sorted((r for r in rows
        if r['cell'] == cid), key=lambda r: int(r['block']))]


if __name__ == '__main__':
    if len(sys.argv) not in (2, 3) or sys.argv[1] in ('-h', '--help'):
        print(__doc__.split('\n\n')[1].strip())
        sys.exit(0 if len(sys.argv) > 1 else 2)
    print(write_run(*sys.argv[1:]))
