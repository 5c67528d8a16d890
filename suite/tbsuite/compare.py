"""suite/compare: per-cell ratios of two runs, and a regression gate."""

import sys

from . import costcompare, report, results, tables

USAGE = """\
usage: suite/compare NEW.csv OLD.csv [--fail-over PCT%]

Prints, for each cell in both runs, NEW / OLD ratios of requests/s,
handshakes/s and server CPU per request (medians) with their spread.
--fail-over 5%: exit 1 when a metric got worse by more than 5% with its
whole spread on the bad side (default threshold 5%, exit 0 regardless).
--cost: compare instructions per operation instead (cost-* rows of two
runs, or two suite/cost/run_cost.sh CSVs; default threshold 2%; see
suite/cost/compare.py --help).
"""


def main(argv):
    if '--cost' in argv:
        # instructions per operation (cost modes, run_cost.sh rows)
        return costcompare.main([a for a in argv if a != '--cost'])
    if '-h' in argv or '--help' in argv:
        print(USAGE, end='')
        return 0
    threshold, gate = 0.05, False
    if '--fail-over' in argv:
        i = argv.index('--fail-over')
        try:
            threshold = float(argv[i + 1].rstrip('%')) / 100
        except (IndexError, ValueError):
            print('compare: --fail-over needs a percentage like 5%',
                file=sys.stderr)
            return 2
        gate = True
        del argv[i:i + 2]
    if len(argv) != 2:
        print(USAGE, end='', file=sys.stderr)
        return 2
    try:
        new, old = (tables.group(results.read(p)) for p in argv)
    except OSError as e:
        print('compare: %s' % e, file=sys.stderr)
        return 2
    rows = report.ratios(new, old, threshold)
    if not rows:
        print('compare: no cell is in both runs', file=sys.stderr)
        return 2
    header = ['server', 'mode', 'cell', 'metric', 'new', 'old', 'ratio',
        'spread', '']
    out = [[report.who(r['cell']), r['cell']['mode'],
        report.cell_name(r['cell']), r['metric'], tables.fmt(r['a'], 1),
        tables.fmt(r['b'], 1), '%.3f' % r['ratio'],
        '%.3f-%.3f' % (r['lo'], r['hi']), 'WORSE' if r['worse'] else '']
        for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *out)]
    for line in [header] + out:
        print('  '.join(str(x).ljust(w) for x, w in zip(line, widths)))
    worse = sum(r['worse'] for r in rows)
    print('%d comparisons, %d worse by more than %g%%' % (len(rows), worse,
        threshold * 100))
    return 1 if gate and worse else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
