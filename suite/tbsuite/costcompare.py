"""Compare the instruction counts of two cost runs (suite/cost/run_cost.sh).

Instructions per operation do not drift with machine load, so a small
threshold (2%) catches real regressions: a library update, a new code path.
"""

import csv
import sys

USAGE = """\
usage: suite/cost/compare.py NEW.csv OLD.csv [--fail-over PCT%]

NEW and OLD are cost CSVs (cost.csv of two runs, or matrix CSVs with
cost rows).  Prints, per backend, TLS version, certificate and operation,
the instructions per operation of both runs and NEW / OLD.  Rows more than
PCT% more expensive are marked WORSE (default 2%); with --fail-over the exit
status is 1 when any is.  Exit 2 on a usage error or unreadable file.
"""

KEY = ('server', 'backend', 'lib', 'tls_version', 'cert', 'op')


def read(path):
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


def main(argv):
    if '-h' in argv or '--help' in argv:
        print(USAGE, end='')
        return 0
    threshold, gate = 0.02, False
    if '--fail-over' in argv:
        i = argv.index('--fail-over')
        try:
            threshold = float(argv[i + 1].rstrip('%')) / 100
        except (IndexError, ValueError):
            print('compare: --fail-over needs a percentage like 2%',
                file=sys.stderr)
            return 2
        gate = True
        del argv[i:i + 2]
    if len(argv) != 2:
        print(USAGE, end='', file=sys.stderr)
        return 2
    try:
        new, old = read(argv[0]), read(argv[1])
    except OSError as e:
        print('compare: %s' % e, file=sys.stderr)
        return 2
    keys = sorted(k for k in new if k in old)
    if not keys:
        print('compare: no cost row is in both runs', file=sys.stderr)
        return 2
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
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for line in [header] + rows:
        print('  '.join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip())
    gone = sorted(k for k in old if k not in new)
    for k in gone[:10]:
        print('missing in NEW (error or not run): %s' % ' '.join(k))
    if len(gone) > 10:
        print('... and %d more' % (len(gone) - 10))
    print('%d comparisons, %d more expensive by more than %g%%%s' % (
        len(rows), worse, threshold * 100,
        ', %d cells missing' % len(gone) if gone else ''))
    return 1 if gate and worse else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
