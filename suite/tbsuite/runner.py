"""suite/run_matrix.sh: run a matrix profile, one CSV row per cell x repeat.

Called by the bash entry point after it checked the tools; see --help.
"""

import argparse
import datetime
import json
import os
import resource
import shutil
import signal
import sys
import time

from . import cells as cellrun
from . import cli, context, hostfacts, matrixfile, report, results, tables
from .cli import ROOT, shown

log = cli.logger('run_matrix')
MATRIX_DIR = os.path.join(ROOT, 'suite', 'matrix')

USAGE = """\
usage: suite/run_matrix.sh [options]

Runs a benchmark matrix over tlsbench (every backend), nginx and an asyncio
server, one CSV row per cell and repeat in results/<run-id>.csv, then
renders results/<run-id>/report.md and prints a summary.

  --profile NAME       suite/matrix/NAME.matrix (default: default); one of:
                       %(profiles)s
  --matrix FILE        a matrix file of your own instead of a profile
  --only AXIS=V[,V]    narrow (or set) an axis, repeatable:
                       --only backend=openssl,wolfssl --only mode=full
                       axes: %(axes)s
  --set NAME=VALUE     override a setting, repeatable (--set duration=1)
                       settings: %(settings)s
  --resume RUN_ID      complete an interrupted run: same matrix, skips the
                       cell x repeat rows already in its CSV
  --run-id ID          name the run (default: UTC time and commit)
  --results DIR        where the CSV and report go (default: results/)
  --build-root DIR     build directories, certificates, bodies
                       (default: build/)
  --no-build           use existing builds as they are (no ninja)
  --no-report          skip rendering the report at the end
  --list               print the cells and an estimate, run nothing
  --help               this text

Matrix files: `axis = v1 v2 ...` and `setting = value` lines, # comments,
optional [block] sections (see suite/matrix/README.md).  Exit status: 0
when every row is ok, 1 when some rows are errors or a row cannot be
written (a full disk: the CSV keeps the rows before it), 2 on usage errors.
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
    p.add_argument('--help', '-h', action='store_true')
    args, rest = p.parse_known_args(argv)
    if rest:
        raise UsageError('unknown argument %s (see --help)' % rest[0])
    return args


def load_matrix(spec):
    """spec: {'profile', 'matrix', 'only', 'set'} -> cells."""
    path = spec['matrix'] or os.path.join(MATRIX_DIR,
        (spec['profile'] or 'default') + '.matrix')
    if not os.path.exists(path):
        raise UsageError('no matrix file %s (profiles: %s)' % (path,
            ' '.join(profiles())))
    with open(path) as f:
        blocks = matrixfile.parse(f.read(), os.path.relpath(path, ROOT))
    overrides = matrixfile.parse_set(spec['set'])
    for b in blocks:
        b['settings'].update(overrides)
    only = matrixfile.parse_only(spec['only'])
    return matrixfile.expand(blocks, only, len(hostfacts.cores())), path


def estimate_repeat_s(cell):
    s = cell['settings']
    if cell['mode'].startswith('cost-'):
        return 60.0     # two runs under callgrind (~50x slower)
    if cell['mode'] == 'memory':
        return 10.0 + int(cell['concurrency']) / 150.0
    # a request-bounded window: assume full handshakes at a few hundred/s
    window = s['duration'] if s['requests'] <= 0 else \
        max(1.0, s['requests'] / 300.0)
    return s['warmup'] + window + 0.8


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
    if c['io'] == 'core':
        who += ' io=core'
    return '%s tls%s %s %s c%s %s w%s' % (who, c['tls'], c['cert'],
        c['mode'], c['concurrency'], c['body'], c['workers'])


def base_row(run_id, commit, host, ctx, cell):
    row = {'run_id': run_id, 'git_commit': commit}
    row.update(host)
    row.update({
        'cell': cell['id'],
        'server': cell['server'],
        'backend': cell['backend'],
        'io': cell['io'],
        'tls_version': cell['tls'],
        'cert': cell['cert'],
        'mode': cell['mode'],
        'resumption': cell['resumption'],
        'concurrency': cell['concurrency'],
        'body_bytes': matrixfile.parse_body(cell['body']),
        'workers': cell['workers'],
        'server_cpus': ctx.server_cpus(cell),
        'client_cpus': ctx.client_cpus(cell),
        'negotiated_cipher': '', 'negotiated_group': '',
    })
    row.update(ctx.lib_facts(cell))
    return row


class Interrupted(Exception):
    pass


def on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def run_spec(args, argv):
    """What to run: a new run's profile, --only and --set, or, with
    --resume, the interrupted run's own (from its run.json)."""
    if not args.resume:
        return {'profile': args.profile, 'matrix': args.matrix and
            os.path.abspath(args.matrix), 'only': args.only, 'set': args.set}
    meta_path = os.path.join(args.results, args.resume, 'run.json')
    if not os.path.exists(meta_path):
        raise UsageError('no run %s: %s is missing (runs: %s)' % (
            args.resume, meta_path, ' '.join(sorted(
            f[:-4] for f in os.listdir(args.results)
            if f.endswith('.csv'))) or 'none'))
    with open(meta_path) as f:
        spec = json.load(f)
    if args.profile or args.matrix or args.only or args.set:
        log('--resume reuses the run\'s own profile, --only and --set; '
            'ignoring those given now')
    return spec


def new_run(args, argv, spec, commit):
    """A new run's id, its directory and run.json."""
    run_id = args.run_id or '%s-%s' % (
        datetime.datetime.utcnow().strftime('%Y%m%dT%H%M%SZ'),
        hostfacts.short_commit(commit))
    if os.path.exists(os.path.join(args.results, run_id + '.csv')):
        raise UsageError('run %s exists; use --resume %s' % (run_id, run_id))
    run_dir = os.path.join(args.results, run_id)
    os.makedirs(run_dir, exist_ok=True)
    spec = dict(spec, started=datetime.datetime.utcnow().isoformat() + 'Z',
        git_commit=commit, argv=argv)
    with open(os.path.join(run_dir, 'run.json'), 'w') as f:
        json.dump(spec, f, indent=1)
    return run_id


def progress_line(row):
    """What a finished row says in the progress line."""
    if row['status'] != 'ok':
        return 'ERROR %s' % row['reason'][:90]
    if row.get('instr_per_op'):
        return '%s instructions/op' % row['instr_per_op']
    if row.get('kib_per_conn'):
        return '%s KiB/connection' % row['kib_per_conn']
    return '%s rps' % row['rps']


def run_cells(ctx, cells, run_id, commit, csv_path, done, t0):
    """Every cell x repeat not in `done`, one row each, appended to the
    CSV as it finishes, with a progress line on stderr."""
    total = sum(c['settings']['repeats'] for c in cells)
    host = hostfacts.host()
    fd = results.open_for_append(csv_path)
    try:
        n = len([1 for c in cells for r in range(c['settings']['repeats'])
            if (c['id'], str(r + 1)) in done])
        t_cells = time.monotonic()
        ran = 0
        for c in cells:
            for rep in range(1, c['settings']['repeats'] + 1):
                if (c['id'], str(rep)) in done:
                    continue
                row = base_row(run_id, commit, host, ctx, c)
                row['utc'] = datetime.datetime.utcnow().strftime(
                    '%Y-%m-%dT%H:%M:%SZ')
                row = cellrun.run(ctx, c, rep, row)
                results.append(fd, row)
                n += 1
                ran += 1
                left = (time.monotonic() - t_cells) / ran * (total - n)
                print('[%d/%d] %s elapsed, ~%s left  %s #%d: %s' % (n,
                    total, hms(time.monotonic() - t0), hms(left),
                    cell_title(c), rep, progress_line(row)),
                    file=sys.stderr, flush=True)
    finally:
        os.close(fd)


def summary(run_id, csv_path, t0, no_report):
    """The medians per cell on stdout and the report; the exit status."""
    rows = results.read(csv_path)
    header, trs = tables.summary_rows(tables.group(rows))
    print('\nrun %s: %d rows in %s (%s)' % (run_id, len(rows),
        shown(csv_path), hms(time.monotonic() - t0)))
    print('medians per cell (hs/s: full or resumed handshakes per second '
        'by the server; us/req: server CPU per request):')
    print(tables.text_table(header, trs))
    bad = sum(1 for r in rows if r['status'] != 'ok')
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
        cells, matrix_path = load_matrix(spec)
    except (UsageError, matrixfile.MatrixError, ValueError) as e:
        print('run_matrix: %s' % e, file=sys.stderr)
        return 2
    if not cells:
        print('run_matrix: the matrix has no runnable cells (check --only)',
            file=sys.stderr)
        return 2

    total = sum(c['settings']['repeats'] for c in cells)
    est = sum(c['settings']['repeats'] * estimate_repeat_s(c) for c in cells)
    if args.list:
        for c in cells:
            print('%-60s x%d  [%s]' % (cell_title(c),
                c['settings']['repeats'], c['block']))
        print('%d cells, %d rows, about %s' % (len(cells), total, hms(est)))
        return 0

    commit = hostfacts.git_commit(ROOT)
    try:
        run_id = args.resume or new_run(args, argv, spec, commit)
    except UsageError as e:
        print('run_matrix: %s' % e, file=sys.stderr)
        return 2
    csv_path = os.path.join(args.results, run_id + '.csv')
    done = results.done_keys(csv_path)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    t0 = time.monotonic()
    log('run %s: %s, %d cells, %d rows%s, about %s' % (run_id,
        shown(matrix_path), len(cells), total,
        ', %d already done' % len(done) if done else '', hms(est)))
    ctx = context.Context(ROOT, os.path.abspath(args.build_root),
        os.path.abspath(args.results), no_build=args.no_build)
    try:
        ctx.prepare_builds(cells)
        ctx.prepare_certs(cells)
        ctx.prepare_bodies(cells)
        run_cells(ctx, cells, run_id, commit, csv_path, done, t0)
    except Interrupted as e:
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
        shutil.rmtree(ctx.tmp_root, ignore_errors=True)
    return summary(run_id, csv_path, t0, args.no_report)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
