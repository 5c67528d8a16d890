"""suite/run_matrix.sh --verify RUN_ID: does a committed run reproduce?

A sample of the run's cells (--sample N, default 8, drawn with a recorded
seed, at least one of each window mode present, never the reference
itself) is measured again in randomized blocks with the run's reference,
settings and client.  Per cell: the committed ratio-to-reference interval
(its cells.csv), the new median ratio, inside or not, and whether the new
interval is disjoint from the committed one.  The rule (RULE below, also in
--help and results/README.md): the run reproduced when at least 75% of
the sampled cells' new medians fall inside their committed intervals and
no sampled cell's new interval is disjoint from its committed one.

The output goes to stdout and results/RUN_ID/verify-<utc>.txt, the new
rows to verify-<utc>.csv next to it.  Exit 0: reproduced; 1: not; 2: usage.
"""

import datetime
import os
import random
import shutil
import sys
import time

from . import (blockrun, cellstats, context, hostfacts, matrixfile, openloop,
    protocol, results)
from .blockrun import cell_title
from .cli import ROOT, shown

INSIDE_SHARE = 0.75
RULE = ('reproduced when at least 75% of the sampled cells\' new median '
    'ratios fall inside their committed intervals and no sampled cell\'s '
    'new interval is disjoint from its committed one')


def sample(lines, ref_id, n, rng):
    """n cell ids from cells.csv lines with a ratio interval: one of each
    window mode first, the rest at random.  Open-loop levels are not
    sampled: one window each, they have no interval to reproduce."""
    pool = [c for c in lines if c['status'] == 'ok' and c['cell'] != ref_id
        and c['mode'] in matrixfile.WINDOW_MODES and c['ratio_to_ref_lo']
        and not openloop.is_level_id(c['cell'])]
    chosen = []
    for mode in matrixfile.WINDOW_MODES:
        of_mode = [c for c in pool if c['mode'] == mode]
        if of_mode and len(chosen) < n:
            chosen.append(rng.choice(of_mode))
    rest = [c for c in pool if c not in chosen]
    rng.shuffle(rest)
    chosen += rest[:max(0, n - len(chosen))]
    return [c['cell'] for c in chosen]


def judge(committed, new):
    """committed: {cell: (lo, hi)}; new: {cell: Interval or None}.
    Returns (reproduced, [(cell, lo, hi, median, inside, disjoint)])."""
    out = []
    for cell, (lo, hi) in committed.items():
        iv = new.get(cell)
        if iv is None:
            out.append((cell, lo, hi, None, False, False))
            continue
        inside = lo <= iv.value <= hi
        disjoint = iv.hi < lo or iv.lo > hi
        out.append((cell, lo, hi, iv, inside, disjoint))
    n_inside = sum(1 for o in out if o[4])
    ok = bool(out) and n_inside >= INSIDE_SHARE * len(out) and \
        not any(o[5] for o in out)
    return ok, out


def report(run_id, seed, verdict, rows_path):
    ok, per_cell = verdict
    text = ['verify %s: %d cells re-measured (seed %d), rows in %s' % (
        run_id, len(per_cell), seed, shown(rows_path)), '']
    for cell, lo, hi, iv, inside, disjoint in per_cell:
        title = cell_title(cellstats.axes_of(cell))
        if iv is None:
            new = 'no new ratio (every new row failed)'
        else:
            new = 'new %.4f [%.4f, %.4f] n=%d' % (iv.value, iv.lo, iv.hi,
                iv.n)
        mark = 'DISJOINT' if disjoint else 'inside' if inside else 'outside'
        text.append('%-8s %s\n         committed [%.4f, %.4f], %s' % (
            mark, title, lo, hi, new))
    n_inside = sum(1 for o in per_cell if o[4])
    n_disjoint = sum(1 for o in per_cell if o[5])
    text += ['', '%d of %d inside (%.0f%%), %d disjoint; the rule: %s.' % (
        n_inside, len(per_cell), 100.0 * n_inside / max(1, len(per_cell)),
        n_disjoint, RULE),
        'verdict: %s' % ('REPRODUCED' if ok else 'NOT REPRODUCED')]
    return '\n'.join(text) + '\n'


def main(args, spec, m):
    """--verify RUN_ID; m is the run's Matrix (its own spec)."""
    run_id = args.verify
    run_dir = os.path.join(args.results, run_id)
    cells_csv = os.path.join(run_dir, 'cells.csv')
    csv_path = os.path.join(args.results, run_id + '.csv')
    if not os.path.exists(cells_csv) and os.path.exists(csv_path):
        cellstats.write(csv_path)
    if not os.path.exists(cells_csv):
        print('run_matrix: %s has no cells.csv and no rows to make one '
            'from' % shown(run_dir), file=sys.stderr)
        return 2
    lines = results.read(cells_csv)
    ref_id = next((c['cell'] for c in lines if c['is_reference'] == 'yes'),
        None)
    ref = m.by_id(ref_id) if ref_id else None
    if ref is None:
        print('run_matrix: run %s has no reference cell to verify against'
            % run_id, file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else \
        random.SystemRandom().randrange(1, 2 ** 31)
    chosen = sample(lines, ref_id, args.sample, random.Random(seed))
    cells = [m.by_id(c) for c in chosen]
    missing = [c for c, cell in zip(chosen, cells) if cell is None]
    if missing or not cells:
        print('run_matrix: %s: the run\'s matrix no longer has %s' % (
            run_id, missing[0] if missing else 'any cell with an interval'),
            file=sys.stderr)
        return 2
    committed = {c['cell']: (float(c['ratio_to_ref_lo']),
        float(c['ratio_to_ref_hi'])) for c in lines if c['cell'] in chosen}

    stamp = datetime.datetime.utcnow().strftime('%Y%m%dT%H%M%SZ')
    rows_path = os.path.join(run_dir, 'verify-%s.csv' % stamp)
    text_path = os.path.join(run_dir, 'verify-%s.txt' % stamp)
    print('run_matrix: verify %s: %d cells, seed %d, reference %s' % (
        run_id, len(cells), seed, cell_title(ref)), file=sys.stderr)
    ctx = context.Context(ROOT, os.path.abspath(args.build_root),
        os.path.abspath(args.results), no_build=args.no_build)
    ctx.client = spec.get('client', 'system')
    commit = hostfacts.git_commit(ROOT)
    host = hostfacts.host()
    plan = protocol.Plan(cells, ref, m.settings, seed)
    fd = results.open_for_append(rows_path)
    w = blockrun.Writer(fd, [], time.monotonic(), 'verify')
    try:
        blockrun.prepare(ctx, cells + [ref])
        blockrun.run_blocks(ctx, plan, lambda cell: blockrun.base_row(
            '%s/verify-%s' % (run_id, stamp), commit, host, ctx, cell), w)
    except blockrun.Interrupted as e:
        print('run_matrix: verification interrupted (%s)' % e,
            file=sys.stderr)
        return 130
    finally:
        os.close(fd)
        shutil.rmtree(ctx.tmp_root, ignore_errors=True)
    new = {c: protocol.ratio_interval(w.rows, c, ref_id) for c in chosen}
    verdict = judge(committed, new)
    text = report(run_id, seed, verdict, rows_path)
    with open(text_path, 'w') as f:
        f.write(text)
    print(text, end='')
    print('written to %s' % shown(text_path))
    return 0 if verdict[0] else 1
