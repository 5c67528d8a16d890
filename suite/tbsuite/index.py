"""results/index.csv: one row per published run, written by ci/publish.sh
and read by ci/regress.sh (the last run with instruction counts).

    python3 -m tbsuite.index add DIR RUN_ID [PROFILE]
    python3 -m tbsuite.index last-cost INDEX [RUN_ID [PROFILE]]

add indexes DIR/RUN_ID.csv and DIR/RUN_ID/ (report, cost/, memory/) in
DIR/index.csv, once; last-cost prints the cost CSV of the last indexed run
other than RUN_ID (of PROFILE, when given) that has one, or nothing.
"""

import csv
import datetime
import json
import os
import socket
import sys

from . import cli, hostfacts

COLUMNS = ['run_id', 'utc', 'git_commit', 'profile', 'host', 'cpu_model',
    'rows', 'errors', 'csv', 'report', 'cost_csv', 'memory_csv']

log = cli.logger('publish.sh')


def read(index):
    """The index's rows, oldest first ([] when there is no index)."""
    if not os.path.exists(index):
        return []
    with open(index, newline='') as f:
        return list(csv.DictReader(f))


def _rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def add(to, run_id, profile=''):
    """Index the run in TO/index.csv; paths relative to TO."""
    index = os.path.join(to, 'index.csv')
    have = read(index)
    if any(r['run_id'] == run_id for r in have):
        log('%s is already in %s' % (run_id, index))
        return

    def rel(p):
        return p if os.path.exists(os.path.join(to, p)) else ''

    main_csv = rel(run_id + '.csv')
    rows = _rows(os.path.join(to, main_csv)) if main_csv else []
    extra = []
    for p in (run_id + '/cost/cost.csv', run_id + '/memory/memory.csv'):
        if rel(p):
            extra += _rows(os.path.join(to, p))
    meta = {}
    try:
        with open(os.path.join(to, run_id, 'run.json')) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        pass
    first = rows[0] if rows else {}
    row = {'run_id': run_id,
        'utc': first.get('utc') or meta.get('started') or
            datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ'),
        'git_commit': first.get('git_commit') or meta.get('git_commit') or
            hostfacts.git_commit(cli.ROOT),
        'profile': profile or meta.get('profile') or '',
        'host': first.get('host') or socket.gethostname(),
        'cpu_model': first.get('cpu_model') or hostfacts.cpu_model(),
        'rows': len(rows) + len(extra),
        'errors': sum(r.get('status') != 'ok' for r in rows + extra),
        'csv': main_csv, 'report': rel(run_id + '/report.md'),
        'cost_csv': rel(run_id + '/cost/cost.csv'),
        'memory_csv': rel(run_id + '/memory/memory.csv')}
    new = not os.path.exists(index)
    with open(index, 'a', newline='') as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            w.writeheader()
        w.writerow(row)
    log('%s: %d rows, %d errors -> %s' % (run_id, row['rows'],
        row['errors'], index))


def last_cost(index, run_id='', profile=''):
    """The cost CSV of the last run other than run_id (of profile, when
    given) whose cost CSV exists, or ''."""
    base = os.path.dirname(index)
    rows = [r for r in read(index) if r['run_id'] != run_id and
        (not profile or r.get('profile') == profile) and
        r.get('cost_csv') and os.path.exists(os.path.join(base,
        r['cost_csv']))]
    return os.path.join(base, rows[-1]['cost_csv']) if rows else ''


def main(argv):
    if argv[:1] == ['add'] and 3 <= len(argv) <= 4:
        add(*argv[1:])
        return 0
    if argv[:1] == ['last-cost'] and 2 <= len(argv) <= 4:
        print(last_cost(*argv[1:]))
        return 0
    print(__doc__.split('\n\n')[1], file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
