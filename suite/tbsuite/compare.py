"""suite/compare: two runs side by side, and a regression gate.

Two kinds of comparison, one command and one gate (--fail-over):

  cells  (default) per cell in both runs, NEW / OLD of the median server
         CPU per request with a bootstrap 95% interval and its verdict
         (the report's two-run table); default threshold 5%
  --cost per server, backend, TLS version, certificate and operation,
         instructions per operation (matrix cost-* rows or
         suite/cost/run_cost.sh CSVs); exact, default threshold 2%
         (ci/regress.sh)
"""

import csv
import sys

from . import figures, stats

USAGE = """\
usage: suite/compare NEW.csv OLD.csv [--fail-over PCT%]

Prints, for each cell in both runs, NEW / OLD of the median server CPU per
request with its bootstrap 95% interval and verdict (`~`: the interval
includes 1).  --fail-over 5%: exit 1 when a cell costs more than 5% more
with the interval excluding 1 (default threshold 5%, exit 0 regardless).
--cost: compare instructions per operation instead (cost-* rows of two
runs, or two suite/cost/run_cost.sh CSVs; default threshold 2%; see
suite/compare --cost --help).
"""

COST_USAGE = """\
usage: suite/compare --cost NEW.csv OLD.csv [--fail-over PCT%]

NEW and OLD are cost CSVs (cost.csv of two runs, or matrix CSVs with
cost rows).  Prints, per backend, TLS version, certificate and operation,
the instructions per operation of both runs and NEW / OLD.  Rows more than
PCT% more expensive are marked WORSE (default 2%); with --fail-over the exit
status is 1 when any is.  Exit 2 on a usage error or unreadable file.
"""

DEFAULT_THRESHOLD = {'cells': 0.05, 'cost': 0.02}
COST_KEY = ('server', 'backend', 'lib', 'tls_version', 'cert', 'op')


class Empty(Exception):
    """Nothing to compare: no cell or cost row is in both runs."""


def cells(new_path, old_path, threshold):
    """(header, rows, worse, notes) for the cells of two runs."""
    try:
        found = figures.across(figures.Run(new_path), figures.Run(old_path))
    except (ValueError, KeyError) as e:
        raise Empty('cannot read the runs: %s' % e)
    if not found:
        raise Empty('no cell is in both runs')
    header = ['server, library', 'mode', 'cell', 'version', 'new us/req',
        'old us/req', 'new / old', 'verdict', '']
    rows, worse = [], 0
    for a, b, c in found:
        bad = c.verdict != '~' and c.ratio.value > 1 + threshold
        worse += bad
        rows.append([a.label(version=False), a['mode'], a.where(),
            a.version if a.version == b.version else '%s -> %s' % (
            b.version, a.version), stats.fmt(a.us), stats.fmt(b.us),
            stats.fmt(c.ratio, 3), c.verdict, 'WORSE' if bad else ''])
    return header, rows, worse, ['%d cells, %d cost more than %g%% more '
        '(interval excluding 1)' % (len(rows), worse, threshold * 100)]


def read_cost(path):
    """{key: (instructions per op, library version)} of the ok rows."""
    out = {}
    with open(path, newline='') as f:
        for r in csv.DictReader(f):
            if r.get('status', 'ok') != 'ok' or not r.get('instr_per_op'):
                continue
            # matrix rows call the operation `mode`; cost rows `op`
            op = r.get('op') or r.get('mode', '')
            key = (r.get('server') or 'tlsbench', r.get('backend', ''),
                r.get('lib', '') or '-',
                r.get('tls_version', ''), r.get('cert', ''), op)
            try:
                out[key] = (float(r['instr_per_op']),
                    r.get('library_version', ''))
            except ValueError:
                continue
    return out


def cost(new_path, old_path, threshold):
    """(header, rows, worse, notes) for the instruction counts of two
    runs."""
    new, old = read_cost(new_path), read_cost(old_path)
    keys = sorted(k for k in new if k in old)
    if not keys:
        raise Empty('no cost row is in both runs')
    header = ['server', 'backend', 'lib', 'tls', 'cert', 'op', 'new instr/op',
        'old instr/op', 'ratio', '']
    rows, worse = [], 0
    for k in keys:
        (a, va), (b, vb) = new[k], old[k]
        ratio = a / b if b else float('inf')
        bad = ratio > 1 + threshold
        worse += bad
        note = 'WORSE' if bad else ''
        if va != vb:
            note += (' ' if note else '') + 'library %s -> %s' % (vb, va)
        rows.append(list(k) + ['%.0f' % a, '%.0f' % b, '%.4f' % ratio, note])
    gone = sorted(k for k in old if k not in new)
    notes = ['missing in NEW (error or not run): %s' % ' '.join(k)
        for k in gone[:10]]
    if len(gone) > 10:
        notes.append('... and %d more' % (len(gone) - 10))
    notes.append('%d comparisons, %d more expensive by more than %g%%%s' % (
        len(rows), worse, threshold * 100,
        ', %d cells missing' % len(gone) if gone else ''))
    return header, rows, worse, notes


def print_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for line in [header] + rows:
        print('  '.join(str(x).ljust(w) for x, w in zip(line, widths))
            .rstrip())


def main(argv, default_threshold=None):
    """suite/compare [--cost] NEW.csv OLD.csv [--fail-over PCT%]; the
    threshold without --fail-over is default_threshold, or the kind's."""
    argv = list(argv)
    kind = 'cost' if '--cost' in argv else 'cells'
    argv = [a for a in argv if a != '--cost']
    usage = COST_USAGE if kind == 'cost' else USAGE
    if '-h' in argv or '--help' in argv:
        print(usage, end='')
        return 0
    threshold = default_threshold or DEFAULT_THRESHOLD[kind]
    gate = '--fail-over' in argv
    if gate:
        i = argv.index('--fail-over')
        try:
            threshold = float(argv[i + 1].rstrip('%')) / 100
        except (IndexError, ValueError):
            print('compare: --fail-over needs a percentage like %g%%' % (
                DEFAULT_THRESHOLD[kind] * 100), file=sys.stderr)
            return 2
        del argv[i:i + 2]
    if len(argv) != 2:
        print(usage, end='', file=sys.stderr)
        return 2
    try:
        header, rows, worse, notes = (cost if kind == 'cost' else cells)(
            argv[0], argv[1], threshold)
    except OSError as e:
        print('compare: %s' % e, file=sys.stderr)
        return 2
    except Empty as e:
        print('compare: %s' % e, file=sys.stderr)
        return 2
    print_table(header, rows)
    for line in notes:
        print(line)
    return 1 if gate and worse else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
