"""Running a block plan: each block's cells measured in the plan's order,
each row written with its block, position, seed and ratio to the block's
reference, and the cost and memory cells after the blocks.  Shared by a
run (runner) and its verification (verify).

A block's rows measured before its reference wait in memory until the
reference is measured (a row's ratio needs it), so the CSV never holds a
row of a block without that block's reference row; a run killed in the
middle of a block loses at most those rows, and --resume measures them
again in the same order.
"""

import datetime
import signal
import sys
import time

from . import cells as cellrun
from . import matrixfile, openloop, protocol, results


class Interrupted(Exception):
    pass


def on_signal(signum, frame):
    """SIGTERM and SIGINT: end the run where it is (its rows are kept)."""
    raise Interrupted(signal.Signals(signum).name)


def hms(seconds):
    seconds = int(max(0, seconds))
    if seconds >= 3600:
        return '%dh%02dm' % (seconds // 3600, seconds % 3600 // 60)
    return '%dm%02ds' % (seconds // 60, seconds % 60)


def cell_title(c):
    who = c['server'] + ('/' + c['backend'] if c['server'] == 'tlsbench'
        else '')
    if c['lib'] != '-':
        who = c['server'] + '/' + c['lib']
    extra = ''.join(' %s' % c[k] for k in ('group', 'suite') if c[k] != '-')
    if c['io'] not in ('native', '-'):
        extra += ' io=' + c['io']
    for k in matrixfile.OPTIONAL_AXES:
        if c.get(k, '-') != '-':
            extra += ' %s=%s' % (k, c[k])
    return '%s tls%s %s%s %s c%s %s w%s' % (who, c['tls'], c['cert'], extra,
        c['mode'], c['concurrency'], c['body'], c['workers'])


def base_row(run_id, commit, host, ctx, cell):
    row = {'run_id': run_id, 'git_commit': commit}
    row.update(host)
    row.update({
        'cell': cell['id'],
        'server': cell['server'],
        'backend': cell['backend'],
        'tls_version': cell['tls'],
        'cert': cell['cert'],
        'group': cell['group'],
        'suite': cell['suite'],
        'mode': cell['mode'],
        'resumption': cell['resumption'],
        'concurrency': cell['concurrency'],
        'body_bytes': matrixfile.parse_body(cell['body']),
        'workers': cell['workers'],
        'io': cell['io'],
        'psk': cell['psk'],
        'resume_via': cell['resume_via'],
        'load_fraction': cell['load'],
        'server_cpus': ctx.server_cpus(cell),
        'client_cpus': ctx.client_cpus(cell),
        'client_shares_core': 'yes' if set(ctx.client_cpu_list(cell)) &
        set(ctx.server_cpu_list(cell)) else 'no',
        'negotiated_cipher': '', 'negotiated_group': '',
        'client_library': ctx.client_facts.get('client_library', ''),
        'utc': datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ'),
    })
    row.update(ctx.lib_facts(cell))
    return row


def progress_line(row):
    """What a finished row says in the progress line."""
    if row['status'] != 'ok':
        return '%s %s' % (row['status'].upper(), row['reason'][:90])
    if row.get('instr_per_op'):
        return '%s instructions/op' % row['instr_per_op']
    if row.get('kib_per_conn'):
        return '%s KiB/connection' % row['kib_per_conn']
    ratio = ' ratio %s' % row['ratio_to_ref'] if row.get('ratio_to_ref') \
        else ''
    mib = ' (%s us/MiB)' % row['server_us_per_mib'] if \
        row.get('server_us_per_mib') else ''
    return '%s us/req%s, %s rps, %s-bound%s' % (row['server_us_per_req'],
        mib, row['rps'], row['bound'], ratio)


def set_ratio(row, ref_row):
    """The row's ratio_to_ref against its block's reference row."""
    us = protocol.number(row, 'server_us_per_req')
    ref = protocol.number(ref_row, 'server_us_per_req') \
        if ref_row and ref_row['status'] == 'ok' else None
    row['ratio_to_ref'] = '%.4f' % (us / ref) if us and ref else ''


class Writer:
    """Rows to the CSV as the protocol allows: a block's rows measured
    before its reference wait for it (their ratio needs it), so the file
    never holds a row of a block without that block's reference row."""

    def __init__(self, fd, rows, t0, label):
        self.fd = fd
        self.rows = rows      # every row of the run so far, in file order
        self.t0 = t0
        self.label = label
        self.count = 0

    def progress(self, row, title, where):
        self.count += 1
        print('[%s %d] %s elapsed  %s %s: %s' % (self.label, self.count,
            hms(time.monotonic() - self.t0), where, title,
            progress_line(row)), file=sys.stderr, flush=True)

    def append(self, row):
        results.append(self.fd, row)
        # kept as the CSV would give it back: strings, every column
        self.rows.append({c: '' if row.get(c) is None else str(row[c])
            for c in results.COLUMNS})


def run_block(ctx, plan, block, base, w):
    """Measure block `block`: every cell of its order that has no row
    yet.  base(cell) -> the cell's base row."""
    order = plan.order(w.rows, block)
    ref_id = plan.ref['id']
    done = {r['cell']: r for r in w.rows if r.get('block') == str(block)}
    ref_row = done.get(ref_id)
    pending = []
    seed = protocol.block_seed(plan.seed, block)
    for pos, cell in enumerate(order, 1):
        if cell['id'] in done:
            continue
        repeat = 1 + sum(1 for r in w.rows if r['cell'] == cell['id'])
        row = base(cell)
        row.update({'block': block, 'block_pos': pos, 'block_seed': seed,
            'is_reference': 'yes' if cell['id'] == ref_id else 'no'})
        # a level's rate: its capacity in the blocks before this one
        row = cellrun.run(ctx, openloop.with_plan(cell, w.rows, block),
            repeat, row)
        if cell['id'] == ref_id:
            ref_row = row
            set_ratio(row, row)
            w.append(row)
            for p in pending:
                set_ratio(p, ref_row)
                w.append(p)
            pending = []
        elif ref_row is None:
            pending.append(row)
        else:
            set_ratio(row, ref_row)
            w.append(row)
        w.progress(row, cell_title(cell), 'block %d/%d #%d' % (block,
            plan.max_blocks, pos))


def run_blocks(ctx, plan, base, w):
    """Blocks 1.. until the plan says the run is done."""
    block = 1
    while block <= plan.max_blocks:
        if not plan.order(w.rows, block):
            break
        run_block(ctx, plan, block, base, w)
        block += 1


def run_others(ctx, cells, base, w):
    """Cost and memory cells: `repeats` rows each, after the blocks."""
    done = {(r['cell'], r['repeat']) for r in w.rows if not r.get('block')}
    for c in cells:
        for rep in range(1, c['settings']['repeats'] + 1):
            if (c['id'], str(rep)) in done:
                continue
            row = cellrun.run(ctx, c, rep, base(c))
            w.append(row)
            w.progress(row, cell_title(c), '#%d' % rep)


def prepare(ctx, cells):
    ctx.prepare_builds(cells)
    ctx.prepare_certs()
    ctx.prepare_bodies(cells)
