"""Open-loop windows: the load axis's levels and how long they run.

A cell with `load = f` is a level of its capacity cell, the same cell with
`load = -`: a closed-loop window of the protocol's size whose requests/s
(the server's count over the window) is the capacity.  The level offers f
times that capacity on a fixed schedule (tlsbench-load -R: latency from
each request's scheduled start, so a stalled server shows in the figures
instead of slowing the client down; starts more than 1 ms late for want of
a free connection are counted), with at most `concurrency` requests in
flight, as in its capacity cell.

The capacity is measured in the same run: block 1 measures the capacity
cells only, and from block 2 (FIRST_BLOCK) a level runs at f times the
median requests/s of its capacity cell's ok rows in the blocks before its
own, so the plan of a block depends only on the blocks before it (a
resumed run offers the same rates).  A level is measured in
`level_blocks` blocks (default 1: one long window per level).

A window's tail: the p99.9 of n requests rests on the n / 1000 slowest.
A level's window holds 1000 x `tail_samples` requests (100: 100,000
requests), unless that would take longer than `window_cap` seconds at the
offered rate: then it holds what the cap allows and its row says on how
few samples its p99.9 rests (`p999_samples`, `window_capped = yes`).
"""

import math
import re

from . import matrixfile, stats

FIRST_BLOCK = 2     # block 1 measures the capacities the levels need
QUANTILE = 0.999    # the highest percentile a row reports


def is_level(cell):
    return cell.get('load', '-') != '-'


def is_level_id(cell_id):
    """A level's cell id names its load (a capacity cell's does not)."""
    return re.search(r'(^|,)load=[^-,]', cell_id) is not None


def capacity_cell(cell):
    """The level's capacity cell: the same axes, load `-`."""
    c = dict(cell, load='-')
    c['id'] = matrixfile.cell_id(c)
    return c


def capacity(rows, capacity_id, block):
    """(median requests/s, rows) of the capacity cell's ok rows in blocks
    before `block`, or None when it has none."""
    xs = []
    for r in rows:
        if r['cell'] == capacity_id and r['status'] == 'ok' and \
                r.get('block') and int(r['block']) < block:
            try:
                xs.append(float(r['rps']))
            except (TypeError, ValueError):
                pass
    xs = [x for x in xs if x > 0]
    return (stats.median(xs), len(xs)) if xs else None


def tail_of(requests):
    """The samples at or beyond the p99.9 of `requests` latencies."""
    return int(math.floor(requests * (1 - QUANTILE) + 1e-9))


def window(rate, tail_samples, cap_s):
    """(requests, capped): 1000 x tail_samples requests, or as many as
    `cap_s` seconds hold at `rate` requests/s when that is fewer."""
    want = int(round(tail_samples / (1 - QUANTILE)))
    fit = int(math.floor(rate * cap_s))
    if want <= fit:
        return want, False
    return max(fit, 1), True


class NoCapacity(Exception):
    """status: `refused` when the capacity cell was refused (its library
    lacks what the cell asks for), else `error`."""

    def __init__(self, status, reason):
        Exception.__init__(self, reason)
        self.status = status


def plan(cell, rows, block):
    """The level's window in block `block`: {capacity_rps, offered_rps,
    load_fraction, requests, capped}, from the rows before the block.
    Raises NoCapacity when its capacity cell has no ok row yet."""
    s = cell['settings']
    cap_id = capacity_cell(cell)['id']
    got = capacity(rows, cap_id, block)
    if got is None:
        refused = [r['reason'] for r in rows if r['cell'] == cap_id and
            r['status'] == 'refused']
        if refused:
            raise NoCapacity('refused', refused[0])
        raise NoCapacity('error', 'no capacity: the closed-loop cell %s '
            'has no ok row in the blocks before block %d' % (cap_id, block))
    rps, n = got
    fraction = matrixfile.load_fraction(cell['load'])
    offered = fraction * rps
    requests, capped = window(offered, s['tail_samples'], s['window_cap'])
    return {'capacity_rps': rps, 'capacity_rows': n,
        'offered_rps': offered, 'load_fraction': fraction,
        'requests': requests, 'capped': capped}


def with_plan(cell, rows, block):
    """The cell to measure in `block`: a level gets its plan (or the
    reason it has none) in cell['openloop']; any other cell is itself."""
    if not is_level(cell):
        return cell
    try:
        return dict(cell, openloop=plan(cell, rows, block))
    except NoCapacity as e:
        return dict(cell, openloop={'problem': (e.status, str(e))})


def problem(cell):
    """(status, reason) of a level that cannot run, else ('', '')."""
    return (cell.get('openloop') or {}).get('problem', ('', ''))


def load_args(cell):
    """tlsbench-load's open-loop rate for a planned level, else []."""
    p = cell.get('openloop')
    return ['-R', '%.2f' % p['offered_rps']] if p and 'offered_rps' in p \
        else []


def row_fields(cell, load):
    """The open-loop columns of a row (load: the client's JSON); `-` in a
    closed-loop row, where they do not apply."""
    p = cell.get('openloop')
    if not p or 'offered_rps' not in p:
        return {k: '-' for k in ('late_starts', 'offered_rps',
            'capacity_rps', 'p999_samples', 'window_capped')}
    return {'late_starts': int(load.get('late_starts') or 0),
        'offered_rps': '%.1f' % p['offered_rps'],
        'capacity_rps': '%.1f' % p['capacity_rps'],
        'p999_samples': tail_of(int(load.get('requests_ok') or 0)),
        'window_capped': 'yes' if p['capped'] else 'no'}


def notes(cell, fields):
    """What makes a level's row less than it should be (not errors)."""
    p = cell.get('openloop')
    if not p or not p.get('capped'):
        return []
    s = cell['settings']
    return ['p99.9 rests on %s samples, fewer than %d: the window was '
        'capped at %gs (%d requests at %.0f/s)' % (fields['p999_samples'],
        s['tail_samples'], s['window_cap'], p['requests'],
        p['offered_rps'])]


def seconds(cell, est_rate):
    """A level's window in seconds at an estimated capacity (--list)."""
    s = cell['settings']
    rate = matrixfile.load_fraction(cell['load']) * est_rate
    requests, _ = window(rate, s['tail_samples'], s['window_cap'])
    return requests / rate
