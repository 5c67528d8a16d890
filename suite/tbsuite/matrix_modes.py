"""The matrix's cost and memory modes and its crypto-floor columns.

cells.py lists these in its MODES (matrixfile.py decides which cells they
apply to); the measurements are callgrind.py's, memory.py's and floor.py's,
which suite/cost/run_cost.sh and suite/memory/run_memory.sh also run.
Modes:

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

from . import callgrind, floor, memory

_floor_cache = {}


def _first_cpu(cpus):
    return cpus.split(',')[0].split('-')[0]


def _setup(ctx, cell):
    s = cell['settings']
    certs = os.path.dirname(ctx.cert_files(cell['cert'])[0]) \
        if cell['cert'] != '-' else ''
    return callgrind.Setup(ctx.load_binary,
        _first_cpu(ctx.server_cpus(cell)), _first_cpu(ctx.client_cpus(cell)),
        certs, s['seed'], s['groups'], cell['body'])


def measure_cost(ctx, cell, repeat, row):
    c = {'server': cell['server'], 'backend': cell['backend'],
        'io': cell['io'], 'tls': cell['tls'], 'cert': cell['cert'],
        'op': cell['mode'][len('cost-'):]}
    binary = ctx.server_binary(cell) if cell['server'] == 'tlsbench' else \
        'nginx'
    name = '%s-r%d.txt' % (callgrind.cell_name(c), repeat)
    work = tempfile.mkdtemp(prefix='tbcost-', dir=ctx.tmp_root)
    setup = _setup(ctx, cell)
    try:
        per_op, runs = callgrind.per_op(setup, c, binary,
            callgrind.DEFAULT_COUNTS[c['op']], work)
        callgrind.write_top(os.path.join(ctx.results_dir, row['run_id'],
            'cost', name), c, per_op, runs)
        row.update(callgrind.objects_per_op(runs))
        row.update(callgrind.syscalls_per_op(setup, c, binary,
            callgrind.DEFAULT_COUNTS[c['op']], work))
    except callgrind.CountError as e:
        row['status'], row['reason'] = 'error', str(e)
        return row
    load = runs['load']
    neg = load.get('negotiated') or {}
    row.update({'concurrency': '1', 'requests': runs['n2'], 'errors': 0,
        'negotiated_cipher': neg.get('cipher') or '-',
        'negotiated_group': neg.get('group') or '-',
        'handshakes_full': load.get('handshakes_full', 0),
        'handshakes_resumed': load.get('handshakes_resumed', 0),
        'handshakes_source': 'client',
        'ops_n1': runs['n1'], 'ops_n2': runs['n2'],
        'instr_n1': runs['i1'], 'instr_n2': runs['i2'],
        'instr_per_op': '%.0f' % per_op,
        'cost_top_file': os.path.join(row['run_id'], 'cost', name),
        'server_command': 'valgrind --tool=callgrind ' + ctx.shown(binary) +
            (' --io ' + c['io'] if c['io'] != '-' else ''),
        'status': 'ok', 'reason': ''})
    if c['op'] == 'full':
        add_floor(ctx, cell, row)
        if row.get('floor_instr'):
            row['cost_over_floor_instr'] = floor.over(per_op, row)
    return row


def measure_memory(ctx, cell, repeat, row):
    certs = os.path.dirname(ctx.cert_files(cell['cert'])[0])
    mcell = {'backend': cell['backend'], 'tls': cell['tls'],
        'cert': cell['cert'], 'conns': int(cell['concurrency'])}
    work = tempfile.mkdtemp(prefix='tbmem-', dir=ctx.tmp_root)
    try:
        got = memory.run_cell(ctx.server_binary(cell), mcell, work,
            certs=certs, hold=memory.ensure_hold(),
            server_cpu=_first_cpu(ctx.server_cpus(cell)),
            client_cpu=_first_cpu(ctx.client_cpus(cell)), body=cell['body'])
    except (memory.CellError, ValueError) as e:
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
    info = ctx.builds.get('openssl', {})
    return info.get('binary')


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
        setup = _setup(ctx, cell)
        work = tempfile.mkdtemp(prefix='tbfloor-', dir=ctx.tmp_root)
        try:
            f = floor.both(binary, setup.cert_files(cell['cert'])[1], group,
                setup.server_cpu, work, setup.aslr_cmd)
        except floor.FloorError as e:
            f = {'floor_sig_alg': 'error: %s' % e}
        _floor_cache[key] = f
    row.update(_floor_cache[key])
    us, fl = row.get('server_us_per_req'), row.get('floor_us')
    try:
        row['cost_over_floor'] = '%.2f' % (float(us) / float(fl))
    except (TypeError, ValueError, ZeroDivisionError):
        pass
    return row
