"""suite/run_matrix.sh: run a matrix profile in randomized blocks, one CSV
row per cell and block, then the per-cell summary with intervals.

Called by the bash entry point after it checked the tools; see --help.
"""

import argparse
import datetime
import json
import os
import random
import resource
import shutil
import signal
import sys
import time

from . import (blockrun, cellstats, cli, context, hostfacts, matrixfile,
    openloop, protocol, report, results, verify)
from .blockrun import cell_title, hms
from .cli import ROOT, shown

log = cli.logger('run_matrix')
MATRIX_DIR = os.path.join(ROOT, 'suite', 'matrix')

USAGE = """\
usage: suite/run_matrix.sh [options]
       suite/run_matrix.sh --verify RUN_ID [--sample N] [--seed S]

Runs a benchmark matrix over tlsbench (every backend), nginx and an asyncio
server in randomized, interleaved blocks: block b measures every cell once
plus the profile's reference cell, in an order shuffled by the block's
seed; after min_blocks, only cells whose ratio-to-reference interval is
wider than target_half_width run again (up to max_blocks or time_budget).
One CSV row per cell and block in results/<run-id>.csv; at the end the
medians with 95%% intervals per cell (results/<run-id>/cells.csv), the
profile's comparisons (comparisons.csv), a summary, and the report.

  --profile NAME       suite/matrix/NAME.matrix (default: default); one of:
                       %(profiles)s
  --matrix FILE        a matrix file of your own instead of a profile
  --only AXIS=V[,V]    narrow (or set) an axis, repeatable:
                       --only backend=openssl,wolfssl --only mode=full
                       axes: %(axes)s
  --set NAME=VALUE     override a setting, repeatable (--set min_blocks=3)
                       settings: %(settings)s
  --resume RUN_ID      complete an interrupted run: same matrix, seed and
                       client, skips the rows already in its CSV
  --run-id ID          name the run (default: UTC time and commit)
  --results DIR        where the CSV and report go (default: results/)
  --build-root DIR     build directories, certificates, bodies
                       (default: build/)
  --no-build           use existing builds as they are (no ninja)
  --no-report          skip rendering the report at the end
  --list               print the cells and an estimate, run nothing
  --help               this text

  --verify RUN_ID      re-measure a sample of a committed run's cells, in
                       randomized blocks with its reference and settings,
                       and say whether it reproduced: per cell the
                       committed ratio-to-reference interval, the new
                       median ratio, and whether it falls inside.  The run
                       reproduced when at least 75%% of the sampled cells'
                       new medians fall inside their committed intervals
                       and no sampled cell's new interval is disjoint from
                       its committed one (that is a real shift).  Writes
                       results/RUN_ID/verify-<utc>.txt (and .csv, the
                       rows); exit 0 when reproduced, 1 when not.
  --sample N           cells to re-measure (default 8; at least one of each
                       mode present; never the reference itself)
  --seed S             the sample's and the blocks' seed (default: drawn,
                       and printed)

Matrix files: `axis = v1 v2 ...` and `setting = value` lines, # comments,
optional [section]s (see suite/matrix/README.md).  Exit status: 0 when
every row is ok (refused cells, a library's stated limit, count as ok), 1
when some rows are errors or a row cannot be written (a full disk: the CSV
keeps the rows before it), 2 on usage errors.
"""


def profiles():
    try:
        return sorted(f[:-7] for f in os.listdir(MATRIX_DIR)
            if f.endswith('.matrix'))
    except OSError:
        return []


def usage():
    return USAGE % {'profiles': ' '.join(profiles()),
        'axes': ' '.join(matrixfile.AXES),
        'settings': ' '.join(sorted(matrixfile.SETTINGS))}


class UsageError(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(add_help=False, usage=argparse.SUPPRESS)
    p.add_argument('--profile')
    p.add_argument('--matrix')
    p.add_argument('--only', action='append', default=[])
    p.add_argument('--set', action='append', default=[])
    p.add_argument('--resume')
    p.add_argument('--run-id')
    p.add_argument('--results', default=os.path.join(ROOT, 'results'))
    p.add_argument('--build-root', default=os.path.join(ROOT, 'build'))
    p.add_argument('--no-build', action='store_true')
    p.add_argument('--no-report', action='store_true')
    p.add_argument('--list', action='store_true')
    p.add_argument('--verify')
    p.add_argument('--sample', type=int, default=8)
    p.add_argument('--seed', type=int)
    p.add_argument('--help', '-h', action='store_true')
    try:
        args, rest = p.parse_known_args(argv)
    except SystemExit:
        raise UsageError('bad arguments (see --help)')
    if rest:
        raise UsageError('unknown argument %s (see --help)' % rest[0])
    if args.verify and (args.resume or args.list):
        raise UsageError('--verify runs alone (no --resume or --list)')
    if args.sample < 1:
        raise UsageError('--sample %d: at least 1' % args.sample)
    return args


class Matrix:
    """What a run measures: the cells, the reference, the comparisons and
    the run-level settings of a spec ({'profile', 'matrix', 'only',
    'set'})."""

    def __init__(self, spec):
        self.path = spec['matrix'] or os.path.join(MATRIX_DIR,
            (spec['profile'] or 'default') + '.matrix')
        if not os.path.exists(self.path):
            raise UsageError('no matrix file %s (profiles: %s)' % (
                self.path, ' '.join(profiles())))
        with open(self.path) as f:
            self.sections = matrixfile.parse(f.read(),
                os.path.relpath(self.path, ROOT))
        overrides = matrixfile.parse_set(spec['set'])
        for s in self.sections:
            s['settings'].update(overrides)
        self.settings = self.sections[0]['settings']
        matrixfile.check_run_settings(self.settings)
        self.cores = len(hostfacts.cores())
        only = matrixfile.parse_only(spec['only'])
        self.cells = with_capacities(matrixfile.expand(self.sections, only,
            self.cores))
        self.windowed = [c for c in self.cells
            if c['mode'] in matrixfile.WINDOW_MODES]
        self.others = [c for c in self.cells
            if c['mode'] not in matrixfile.WINDOW_MODES]
        self.ref = matrixfile.reference_cell(self.sections, self.cells,
            self.cores) if self.windowed else None
        check_levels(self.cells, self.ref, self.settings)
        group = self.group()
        self.pairs = matrixfile.comparison_pairs(group,
            self.settings['compare'], self.cores)

    def group(self):
        """The block group: the window-mode cells and the reference."""
        ids = [c['id'] for c in self.windowed]
        return self.windowed + ([self.ref] if self.ref and
            self.ref['id'] not in ids else [])

    def plan(self, seed):
        return protocol.Plan(self.windowed, self.ref, self.settings, seed) \
            if self.ref else None

    def by_id(self, cell_id):
        return next((c for c in self.group() if c['id'] == cell_id), None)


def with_capacities(cells):
    """The cells with the capacity cell of every open-loop level (the
    level's section), each before its first level, where --only or the
    file left it out."""
    ids = {c['id'] for c in cells}
    out = []
    for c in cells:
        if openloop.is_level(c):
            cap = openloop.capacity_cell(c)
            if cap['id'] not in ids:
                ids.add(cap['id'])
                out.append(cap)
        out.append(c)
    return out


def check_levels(cells, ref, settings):
    """Open-loop levels need block 1 for their capacities and a
    closed-loop reference (MatrixError otherwise)."""
    if not any(openloop.is_level(c) for c in cells):
        return
    if settings['min_blocks'] < openloop.FIRST_BLOCK:
        raise matrixfile.MatrixError('open-loop levels (load = a fraction) '
            'run from block %d, after block 1 measured their capacity: '
            'min_blocks must be at least %d' % (openloop.FIRST_BLOCK,
            openloop.FIRST_BLOCK))
    if settings['level_blocks'] < 1:
        raise matrixfile.MatrixError('level_blocks = %d: at least 1' %
            settings['level_blocks'])
    if ref is not None and openloop.is_level(ref):
        raise matrixfile.MatrixError('reference %s: an open-loop level '
            'cannot be the reference (use its closed-loop cell, load = -)'
            % ref['id'])


# requests/s one server core gives, roughly, on a 2020s x86 machine: only
# for --list's estimate (the asyncio server about 2.5 times slower)
EST_RATE = {'full': 1500.0, 'full-tickets': 1500.0, 'resumed': 2000.0,
    'keepalive': 20000.0, 'resumed-0rtt': 2000.0}
# bulk: MiB of bodies per second (the one client core decrypts as much)
EST_BULK_MIB_S = 500.0
# how much slower a full handshake is with these keys and groups than
# with ECDSA P-256 and X25519 (signing, and P-384's key exchange)
EST_FULL_SLOWER = {'rsa2048': 2.0, 'rsa3072': 3.0, 'rsa4096': 6.0,
    'ecdsa-p384': 1.5, 'mldsa65': 1.5, 'SecP384r1MLKEM1024': 2.0}


def est_rate(cell):
    """The cell's requests/s in a closed loop, roughly."""
    if cell['mode'] == 'bulk':
        rate = EST_BULK_MIB_S * 1024 * 1024 / matrixfile.parse_body(
            cell['body'])
    else:
        rate = EST_RATE[cell['mode']] * int(cell['workers'])
    if cell['mode'] in ('full', 'full-tickets'):
        for axis in ('cert', 'group'):
            rate /= EST_FULL_SLOWER.get(cell[axis], 1.0)
    if cell['server'] == 'asyncio':
        rate /= 2.5
    return rate


def estimate_s(cell):
    """Seconds one row of the cell takes, roughly."""
    s = cell['settings']
    if cell['mode'].startswith('cost-'):
        return 60.0     # two runs under callgrind (~50x slower)
    if cell['mode'] == 'memory':
        return 10.0 + int(cell['concurrency']) / 150.0
    rate = est_rate(cell)
    if openloop.is_level(cell):
        # the warm-up and the window run on the level's schedule
        offered = rate * matrixfile.load_fraction(cell['load'])
        return 0.4 + max(s['warmup'], 2 * int(cell['concurrency']) /
            offered) + openloop.seconds(cell, rate)
    warm = max(s['warmup'], 2 * int(cell['concurrency']) / rate)
    # canary, start, check run and stop: about 0.4 s
    return 0.4 + warm + context.window_requests(cell) / rate


def estimate(m):
    """(least, most) seconds: min_blocks blocks of the group, or
    max_blocks, an open-loop level level_blocks; plus the cost and memory
    rows."""
    s = m.settings
    least = most = 0.0
    for c in m.group():
        blocks = (s['level_blocks'],) * 2 if openloop.is_level(c) else \
            (s['min_blocks'], s['max_blocks'])
        least += blocks[0] * estimate_s(c)
        most += blocks[1] * estimate_s(c)
    rest = sum(c['settings']['repeats'] * estimate_s(c) for c in m.others)
    return least + rest, most + rest


def print_list(m):
    ref = m.ref['id'] if m.ref else None
    for c in m.group():
        print('%-62s %s[%s]' % (cell_title(c), 'REFERENCE ' if c['id'] ==
            ref else '', c['section'] if c in m.cells else 'reference'))
    for c in m.others:
        print('%-62s x%d  [%s]' % (cell_title(c), c['settings']['repeats'],
            c['section']))
    for a, b in m.pairs:
        print('compare %s  vs  %s' % (cell_title(a), cell_title(b)))
    s = m.settings
    least, most = estimate(m)
    parts = []
    if m.ref:
        parts.append('%d cells with the reference in %d to %d blocks' % (
            len(m.group()), s['min_blocks'], s['max_blocks']))
        levels = sum(1 for c in m.group() if openloop.is_level(c))
        if levels:
            parts[-1] += ' (%d open-loop levels of them in %d, from block ' \
                '%d)' % (levels, s['level_blocks'], openloop.FIRST_BLOCK)
    if m.others:
        parts.append('%d cost/memory rows' % sum(c['settings']['repeats']
            for c in m.others))
    print('%s: about %s%s' % (', '.join(parts), hms(least), '' if
        least == most else ' (at most %s)' % hms(most)))


def read_meta(results_dir, run_id):
    path = os.path.join(results_dir, run_id, 'run.json')
    if not os.path.exists(path):
        raise UsageError('no run %s: %s is missing (runs: %s)' % (
            run_id, path, ' '.join(sorted(
            f[:-4] for f in os.listdir(results_dir)
            if f.endswith('.csv'))) or 'none'))
    with open(path) as f:
        return json.load(f)


def run_spec(args, argv):
    """What to run: a new run's profile, --only and --set, or, with
    --resume or --verify, the run's own (from its run.json)."""
    old = args.resume or args.verify
    if not old:
        return {'profile': args.profile, 'matrix': args.matrix and
            os.path.abspath(args.matrix), 'only': args.only, 'set': args.set}
    spec = read_meta(args.results, old)
    if args.profile or args.matrix or args.only or args.set:
        log('%s reuses the run\'s own profile, --only and --set; '
            'ignoring those given now' % ('--resume' if args.resume else
            '--verify'))
    return spec


def new_run(args, argv, spec, commit, m):
    """A new run's id, its directory and run.json (with the seed, the
    client, the reference and the comparisons, so a resume, a report and
    a verification need nothing else)."""
    run_id = args.run_id or '%s-%s' % (
        datetime.datetime.utcnow().strftime('%Y%m%dT%H%M%SZ'),
        hostfacts.short_commit(commit))
    if os.path.exists(os.path.join(args.results, run_id + '.csv')):
        raise UsageError('run %s exists; use --resume %s' % (run_id, run_id))
    run_dir = os.path.join(args.results, run_id)
    os.makedirs(run_dir, exist_ok=True)
    seed = m.settings['order_seed'] or random.SystemRandom().randrange(1,
        2 ** 31)
    spec = dict(spec, started=datetime.datetime.utcnow().isoformat() + 'Z',
        git_commit=commit, argv=argv, seed=seed,
        client=context.Context.resolve_client(m.settings['client']),
        reference=m.ref['id'] if m.ref else None,
        cells=[c['id'] for c in m.group() + m.others],
        comparisons=[[a['id'], b['id']] for a, b in m.pairs],
        protocol={k: m.settings[k] for k in matrixfile.RUN_SETTINGS
            if k != 'compare'})
    with open(os.path.join(run_dir, 'run.json'), 'w') as f:
        json.dump(spec, f, indent=1)
    return run_id, spec


def fmt_iv(value, lo, hi):
    if not value:
        return '-'
    return '%s [%s, %s]' % (value, lo, hi)


def summary_table(lines):
    header = ['cell', 'n', 'us/req [95% CI]', 'ratio to ref [95% CI]',
        'rps', 'bound', 'stop']
    out = []
    for c in lines:
        title = cell_title(cellstats.axes_of(c['cell']))
        if c['is_reference'] == 'yes':
            title += ' (reference)'
        if c['status'] != 'ok':
            out.append([title, str(c['n']), c['status'].upper(), '', '',
                '', c['reason'][:60]])
            continue
        if c['instr_per_op'] or c['kib_per_conn']:
            out.append([title, str(c['n']), '%s instructions/op' % c[
                'instr_per_op'] if c['instr_per_op'] else '%s KiB/connection'
                % c['kib_per_conn'], '', '', '', ''])
            continue
        out.append([title, str(c['n']), fmt_iv(c['us_per_req'],
            c['us_per_req_lo'], c['us_per_req_hi']),
            fmt_iv(c['ratio_to_ref'], c['ratio_to_ref_lo'],
            c['ratio_to_ref_hi']), c['rps'] or '-', c['bound'] or '-',
            c['stop_reason'] or '-'])
    widths = [max(len(r[i]) for r in [header] + out) for i in
        range(len(header))]
    text = ['  '.join(h.ljust(w) for h, w in zip(header, widths))]
    text += ['  '.join(x.ljust(w) for x, w in zip(r, widths)) for r in out]
    return '\n'.join(text)


def summary(run_id, csv_path, t0, no_report):
    """cells.csv and comparisons.csv, the medians with intervals on
    stdout, the report; the exit status."""
    rows = results.read(csv_path)
    cells_csv, comp_csv = cellstats.write(csv_path, rows)
    lines = results.read(cells_csv)
    print('\nrun %s: %d rows in %s (%s)' % (run_id, len(rows),
        shown(csv_path), hms(time.monotonic() - t0)))
    print('per cell (%s): median server CPU per request with its 95%% '
        'interval, the ratio to the reference paired by block, the bound '
        'class, why it stopped' % shown(cells_csv))
    print(summary_table(lines))
    comps = results.read(comp_csv)
    if comps:
        print('comparisons (%s): a / b of server CPU per request, paired '
            'by block; ~ where the interval includes 1' % shown(comp_csv))
        for c in comps:
            print('  %-7s %s [%s, %s] n=%s%s  %s  vs  %s' % (
                c['verdict'] or '-', c['ratio'] or '-', c['lo'], c['hi'],
                c['n'], '' if c['both_server_bound'] == 'yes' else
                ' (not both server-bound)',
                cell_title(cellstats.axes_of(c['a'])),
                cell_title(cellstats.axes_of(c['b']))))
    bad = sum(1 for r in rows if r['status'] == 'error')
    if bad:
        print('%d error rows (see the reason column)' % bad)
    if not no_report:
        try:
            print('report: %s' % shown(report.render([csv_path])))
        except report.ReportError as e:
            print('run_matrix: report failed: %s' % e, file=sys.stderr)
    return 1 if bad else 0


def main(argv):
    try:
        args = parse_args(argv)
        if args.help:
            print(usage(), end='')
            return 0
        os.makedirs(args.results, exist_ok=True)
        spec = run_spec(args, argv)
        m = Matrix(spec)
    except (UsageError, matrixfile.MatrixError, ValueError) as e:
        print('run_matrix: %s' % e, file=sys.stderr)
        return 2
    if not m.cells:
        print('run_matrix: the matrix has no runnable cells (check --only)',
            file=sys.stderr)
        return 2
    if args.list:
        print_list(m)
        return 0
    signal.signal(signal.SIGTERM, blockrun.on_signal)
    signal.signal(signal.SIGINT, blockrun.on_signal)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.verify:
        return verify.main(args, spec, m)

    commit = hostfacts.git_commit(ROOT)
    try:
        if args.resume:
            run_id = args.resume
            if 'seed' not in spec:
                raise UsageError('run %s has no seed in its run.json: it '
                    'was made before blocks; start a new run' % run_id)
        else:
            run_id, spec = new_run(args, argv, spec, commit, m)
    except UsageError as e:
        print('run_matrix: %s' % e, file=sys.stderr)
        return 2
    csv_path = os.path.join(args.results, run_id + '.csv')

    t0 = time.monotonic()
    least, most = estimate(m)
    what = ['%d cells in %d-%d blocks (seed %d, reference %s)' % (
        len(m.group()), m.settings['min_blocks'], m.settings['max_blocks'],
        spec['seed'], cell_title(m.ref))] if m.ref else []
    if m.others:
        what.append('%d cost/memory cells' % len(m.others))
    log('run %s: %s, %s, client %s, about %s%s' % (run_id, shown(m.path),
        ', '.join(what), spec['client'], hms(least), '' if least == most
        else ' (at most %s)' % hms(most)))
    ctx = context.Context(ROOT, os.path.abspath(args.build_root),
        os.path.abspath(args.results), no_build=args.no_build)
    ctx.client = spec['client']
    try:
        fd = results.open_for_append(csv_path)
    except (ValueError, results.WriteError) as e:
        print('run_matrix: %s' % e, file=sys.stderr)
        return 1
    host = hostfacts.host()
    w = blockrun.Writer(fd, results.read(csv_path), t0, run_id)
    try:
        blockrun.prepare(ctx, m.cells + ([m.ref] if m.ref else []))

        def base(cell):
            return blockrun.base_row(run_id, commit, host, ctx, cell)
        if m.ref:
            blockrun.run_blocks(ctx, m.plan(spec['seed']), base, w)
        blockrun.run_others(ctx, m.others, base, w)
    except blockrun.Interrupted as e:
        print('run_matrix: interrupted (%s); complete it with: '
            'suite/run_matrix.sh --resume %s' % (e, run_id),
            file=sys.stderr)
        return 130
    except results.WriteError as e:
        print('run_matrix: %s; the rows before it are kept: free space, '
            'then complete the run with: suite/run_matrix.sh --resume %s'
            % (e, run_id), file=sys.stderr)
        return 1
    finally:
        os.close(fd)
        shutil.rmtree(ctx.tmp_root, ignore_errors=True)
    return summary(run_id, csv_path, t0, args.no_report)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
