"""The matrix's cost and memory modes and its crypto-floor columns.

suite/lib/cells.py lists these in its MODES; the measurements themselves
live in suite/cost/cost.py and suite/memory/memory.py, which also run on
their own.  Modes:

  cost-full, cost-resumed, cost-keepalive
      instructions per operation under callgrind (tlsbench and nginx;
      concurrency is always 1)
  memory
      server RSS per idle keep-alive connection, `concurrency` connections
      held (tlsbench)

Floor columns go on every `full` and `cost-full` row of a TLS server:
tlsbench's own library, and for nginx and asyncio (both on the system
OpenSSL) the openssl backend's Debian build.
"""

import os
import tempfile
import types

from . import cost, memory

ROOT = cost.ROOT

COST_MODES = ('cost-full', 'cost-resumed', 'cost-keepalive')
MEMORY_MODES = ('memory',)
COLUMNS = ('ops_n1', 'ops_n2', 'instr_n1', 'instr_n2', 'instr_per_op',
    'cost_top_file', 'mem_conns', 'rss_base_kib', 'rss_held_kib',
    'rss_after_kib', 'kib_per_conn', 'floor_sig_alg', 'floor_group',
    'floor_sign_us', 'floor_kex_us', 'floor_us', 'cost_over_floor',
    'floor_instr', 'cost_over_floor_instr')

_floor_cache = {}


def problem(cell):
    """Why a cost or memory cell cannot run, or ''."""
    if cell['mode'] in COST_MODES and cell['server'] not in ('tlsbench',
            'nginx'):
        return 'cost modes run tlsbench and nginx only (%s under callgrind ' \
            'would count its interpreter)' % cell['server']
    if cell['mode'] in COST_MODES and cell['server'] == 'nginx' and \
            cell['workers'] != '1':
        return 'cost modes run nginx as one process (workers = 1)'
    if cell['mode'] in MEMORY_MODES and cell['server'] != 'tlsbench':
        return 'memory mode measures tlsbench only'
    if cell['mode'] in COST_MODES + MEMORY_MODES and cell['workers'] != '1':
        return '%s mode measures one worker (workers = 1)' % cell['mode']
    return ''


def _args(ctx, cell, binary=None):
    s = cell['settings']
    cert_dir = os.path.dirname(ctx.cert_files(cell['cert'])[0]) \
        if cell['cert'] != '-' else ''
    a = types.SimpleNamespace(
        aslr_cmd=cost.aslr_prefix()[0],
        server_cpu=ctx.server_cpus(cell).split(',')[0].split('-')[0],
        client_cpu=ctx.client_cpus(cell).split(',')[0].split('-')[0],
        seed=s['seed'], certs=cert_dir, groups=s['groups'],
        load=ctx.load_binary, body=cell['body'],
        # memory.py
        hold_bin=None, parallel=32, max_time=300, builds='',
        server_path=binary)
    return a


def _cost_cell(cell):
    who = cell['server'] if cell['server'] != 'tlsbench' else 'tlsbench'
    return {'server': who, 'backend': cell['backend'], 'tls': cell['tls'],
        'cert': cell['cert'], 'op': cell['mode'][len('cost-'):]}


def _top_dir(ctx, row):
    base = getattr(ctx, 'results_dir', None) or os.path.join(ROOT, 'results')
    return os.path.join(base, row['run_id'], 'cost')


def measure_cost(ctx, cell, repeat, row):
    c = _cost_cell(cell)
    binary = ctx.server_binary(cell) if cell['server'] == 'tlsbench' else \
        'nginx'
    args = _args(ctx, cell)
    n1, n2 = cost.DEFAULT_COUNTS[c['op']]
    work = tempfile.mkdtemp(prefix='tbcost-', dir=ctx.tmp_root)
    try:
        i1, _, f1 = cost.one_run(args, binary, c, n1, work, 'n1')
        i2, load, f2 = cost.one_run(args, binary, c, n2, work, 'n2')
        per_op = (i2 - i1) / float(n2 - n1)
        top_dir = _top_dir(ctx, row)
        name = '%s-r%d.txt' % (cost.cell_name(c), repeat)
        cost.write_top(os.path.join(top_dir, name), c, per_op,
            cost.top_functions(f1, f2, float(n2 - n1), per_op))
    except cost.CellError as e:
        row['status'], row['reason'] = 'error', str(e)
        return row
    neg = load.get('negotiated') or {}
    row.update({'concurrency': '1', 'requests': n2, 'errors': 0,
        'negotiated_cipher': neg.get('cipher') or '-',
        'negotiated_group': neg.get('group') or '-',
        'handshakes_full': load.get('handshakes_full', 0),
        'handshakes_resumed': load.get('handshakes_resumed', 0),
        'handshakes_source': 'client',
        'ops_n1': n1, 'ops_n2': n2, 'instr_n1': i1, 'instr_n2': i2,
        'instr_per_op': '%.0f' % per_op,
        'cost_top_file': os.path.join(row['run_id'], 'cost', name),
        'server_command': 'valgrind --tool=callgrind ' + ctx.shown(binary),
        'status': 'ok', 'reason': ''})
    if c['op'] == 'full':
        add_floor(ctx, cell, row)
        if row.get('floor_instr'):
            row['cost_over_floor_instr'] = '%.2f' % (per_op /
                float(row['floor_instr']))
    return row


def measure_memory(ctx, cell, repeat, row):
    args = _args(ctx, cell, ctx.server_binary(cell))
    args.hold_bin = memory.ensure_hold(types.SimpleNamespace(hold=None,
        no_build=False))
    mcell = {'backend': cell['backend'], 'tls': cell['tls'],
        'cert': cell['cert'], 'conns': int(cell['concurrency'])}
    work = tempfile.mkdtemp(prefix='tbmem-', dir=ctx.tmp_root)
    try:
        got = memory.run_cell(args, mcell, work)
    except memory.CellError as e:
        row['status'], row['reason'] = 'error', str(e)
        return row
    row.update(got)
    row.update({'mem_conns': mcell['conns'],
        'server_peak_rss_kib': got['rss_held_kib'],
        'requests': mcell['conns'], 'status': 'ok', 'reason': ''})
    return row


def _floor_binary(ctx, cell):
    """The tlsbench binary whose library is the cell server's."""
    if cell['server'] == 'tlsbench':
        return ctx.server_binary(cell) if cell['backend'] != 'none' else None
    for name, info in getattr(ctx, 'builds', {}).items():
        if name == 'openssl' and info.get('binary'):
            return info['binary']
    return None


def add_floor(ctx, cell, row):
    """The floor columns of a full-handshake row (cached per binary,
    certificate and group for the run)."""
    if cell['tls'] == '-' or row.get('status') == 'error':
        return row
    binary = _floor_binary(ctx, cell)
    if binary is None:
        return row
    group = row.get('negotiated_group') or ''
    key = (binary, cell['cert'], group.lower())
    if key not in _floor_cache:
        args = _args(ctx, cell)
        work = tempfile.mkdtemp(prefix='tbfloor-', dir=ctx.tmp_root)
        c = {'cert': cell['cert']}
        try:
            f = cost.crypto_floor(args, binary, c, group)
            f.update(cost.floor_instructions(args, binary, c, group, work))
        except cost.CellError as e:
            f = {'floor_sig_alg': 'error: %s' % e}
        _floor_cache[key] = f
    row.update(_floor_cache[key])
    us, fl = row.get('server_us_per_req'), row.get('floor_us')
    try:
        row['cost_over_floor'] = '%.2f' % (float(us) / float(fl))
    except (TypeError, ValueError, ZeroDivisionError):
        pass
    return row
