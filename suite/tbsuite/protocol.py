"""The measurement protocol: randomized, interleaved blocks with a
same-block reference, and adaptive repeats.

Every window-mode cell of a run belongs to one group.  Block b measures
each cell of the group once plus the reference cell, in an order shuffled
by random.Random(block_seed(seed, b)), so a slow time slot of the machine
lands on every cell alike and, within a block, on a cell and the reference
alike: a row's `ratio_to_ref` (its CPU per request over the same block's
reference's) cancels the block's machine speed.

Blocks 1..min_blocks measure every cell.  A later block measures only the
cells whose ratio-to-reference interval (stats.paired_ratio over the
blocks so far) is incomplete or wider than target_half_width, plus the
reference, until every cell meets the target, max_blocks is reached, or
the rows so far took time_budget minutes.  A cell refused by its library
is not measured again; a cell with no usable ratio after min_blocks stops.

Everything here is a function of the cells, the settings, the seed and
the rows already measured, so `--resume` rebuilds the same plan from the
CSV and measures only what is missing.

Open-loop levels (openloop.py) run from block 2, once block 1 measured
their capacity, in `level_blocks` blocks (default 1: one long window).
"""

import hashlib
import random

from . import openloop, stats

# why a cell's measurement stopped (cells.csv `stop_reason`)
STOP_REASONS = ('converged', 'max_blocks', 'time_budget', 'refused', 'error',
    'incomplete', 'level_blocks')


def block_seed(seed, block):
    """The shuffle seed of block `block` of a run seeded `seed`: 32 bits
    of SHA-256 over both, the same on every machine and Python."""
    digest = hashlib.sha256(b'%d:%d' % (seed, block)).hexdigest()
    return int(digest[:8], 16)


def block_order(cells, seed, block):
    """The block's cells, shuffled by its seed (cells in matrix order
    before the shuffle)."""
    order = list(cells)
    random.Random(block_seed(seed, block)).shuffle(order)
    return order


def number(row, key):
    try:
        return float(row[key])
    except (KeyError, TypeError, ValueError):
        return None


def by_block(rows, cell_id, key='server_us_per_req'):
    """{block: figure} of the cell's ok rows that have it."""
    return {int(r['block']): number(r, key) for r in rows
        if r['cell'] == cell_id and r['status'] == 'ok' and r.get('block')
        and number(r, key)}


def paired(rows, a_id, b_id, key='server_us_per_req'):
    """([a_i], [b_i], [blocks]) over the blocks where both cells have an
    ok row with the figure."""
    a = by_block(rows, a_id, key)
    b = by_block(rows, b_id, key)
    blocks = sorted(set(a) & set(b))
    return [a[k] for k in blocks], [b[k] for k in blocks], blocks


def ratio_interval(rows, cell_id, ref_id):
    """The cell's ratio-to-reference interval over the blocks so far, or
    None when no block has both."""
    if cell_id == ref_id:
        n = len(by_block(rows, ref_id))
        return stats.median_ci([1.0] * n) if n else None
    a, b, _ = paired(rows, cell_id, ref_id)
    return stats.paired_ratio(a, b) if a else None


def converged(iv, target):
    return iv is not None and iv.complete and iv.half_width() <= target


def spent_s(rows):
    """Seconds the run's rows took (their `measure_s`)."""
    return sum(number(r, 'measure_s') or 0.0 for r in rows)


class Plan:
    """The block plan of one run: cells (window modes), the reference,
    the run-level settings and the seed."""

    def __init__(self, cells, ref, settings, seed):
        self.ref = ref
        ids = [c['id'] for c in cells]
        self.cells = list(cells) + ([] if ref['id'] in ids else [ref])
        self.min_blocks = settings['min_blocks']
        self.max_blocks = settings['max_blocks']
        self.target = settings['target_half_width']
        self.budget_s = settings['time_budget'] * 60.0
        self.level_blocks = settings['level_blocks']
        self.seed = seed

    def refused(self, rows, cell_id):
        return any(r['cell'] == cell_id and r['status'] == 'refused'
            for r in rows)

    def budget_spent(self, rows):
        return self.budget_s > 0 and spent_s(rows) >= self.budget_s

    def levels_done(self, rows, cell_id):
        """An open-loop level measured in its level_blocks blocks."""
        return openloop.is_level_id(cell_id) and len({r['block']
            for r in rows if r['cell'] == cell_id}) >= self.level_blocks

    def due(self, rows, cell, block):
        """Whether a live cell may be measured in `block`: a level from
        block openloop.FIRST_BLOCK, in level_blocks blocks."""
        if openloop.is_level(cell) and block < openloop.FIRST_BLOCK:
            return False
        return not self.levels_done(rows, cell['id'])

    def active(self, rows, block):
        """The cells block `block` measures (the reference last, before
        the shuffle), from the rows of the blocks before it (a resumed
        block's own rows do not change its plan); [] when the run is
        done."""
        if block > self.max_blocks:
            return []
        rows = [r for r in rows if r.get('block') and
            int(r['block']) < block]
        live = [c for c in self.cells if not self.refused(rows, c['id'])
            and self.due(rows, c, block)]
        if block <= self.min_blocks:
            return live
        if self.budget_spent(rows):
            return []
        more = []
        for c in live:
            iv = ratio_interval(rows, c['id'], self.ref['id'])
            if c['id'] != self.ref['id'] and iv is not None and \
                    not converged(iv, self.target):
                more.append(c)
        return more + [self.ref] if more else []

    def order(self, rows, block):
        """The block's cells in the order they are measured."""
        active = self.active(rows, block)
        return block_order(active, self.seed, block) if active else []

    def stop_reason(self, rows, cell_id):
        """Why the cell's measurement ended (after the run)."""
        if self.refused(rows, cell_id):
            return 'refused'
        iv = ratio_interval(rows, cell_id, self.ref['id'])
        if iv is None:
            return 'error'
        if converged(iv, self.target):
            return 'converged'
        if self.levels_done(rows, cell_id):
            return 'level_blocks'
        blocks = {r['block'] for r in rows if r['cell'] == cell_id}
        if len(blocks) >= self.max_blocks:
            return 'max_blocks'
        if self.budget_spent(rows):
            return 'time_budget'
        return 'incomplete'
