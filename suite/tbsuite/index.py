"""results/index.csv: one row per committed run, written by ci/publish.sh
and read by ci/regress.sh (the last run with instruction counts) and
suite/site (every run).

    python3 -m tbsuite.index add DIR RUN_ID [PROFILE]
    python3 -m tbsuite.index reindex DIR
    python3 -m tbsuite.index last-cost INDEX [RUN_ID [PROFILE]]

add indexes DIR/RUN_ID.csv and DIR/RUN_ID/ (report, cost/, memory/) in
DIR/index.csv, replacing the run's row if it has one; reindex rebuilds
DIR/index.csv from every run in DIR (keeping the profiles it recorded);
last-cost prints the cost CSV of the last indexed run other than RUN_ID
(of PROFILE, when given) that has one, or nothing.  Rows are kept in the
order the runs started; the file is replaced whole, never half written.
"""

import csv
import json
import os
import sys

from . import cli

COLUMNS = ['run_id', 'utc', 'git_commit', 'profile', 'host', 'cpu_model',
    'cores', 'cpu_flags', 'rows', 'errors', 'csv', 'report', 'cost_csv',
    'memory_csv']
INDEX = 'index.csv'

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


def meta(run_dir):
    """The run's run.json ({} when it has none or it does not parse)."""
    try:
        with open(os.path.join(run_dir, 'run.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def profile(m):
    """The profile a run.json records: its own, or the runner's default
    when it ran without --profile and --matrix; '' when unknown."""
    if m.get('profile'):
        return m['profile']
    if m.get('matrix'):
        return 'custom'
    return 'default' if m else ''


def is_run(to, name):
    """Whether DIR/name (a file or directory name) holds a run."""
    if name.endswith('.csv'):
        return name != INDEX
    d = os.path.join(to, name)
    return os.path.isdir(d) and any(os.path.exists(os.path.join(d, p))
        for p in ('run.json', 'report.md', 'cost/cost.csv',
        'memory/memory.csv'))


def scan(to):
    """The run ids in DIR: every RUN_ID.csv and RUN_ID/ with a run in it."""
    ids = set()
    for name in os.listdir(to):
        if is_run(to, name):
            ids.add(name[:-4] if name.endswith('.csv') else name)
    return sorted(ids)


def row(to, run_id, prof=''):
    """The index row of DIR/RUN_ID; paths relative to DIR."""
    def rel(p):
        return p if os.path.exists(os.path.join(to, p)) else ''

    main_csv = rel(run_id + '.csv')
    rows = _rows(os.path.join(to, main_csv)) if main_csv else []
    extra = []
    for p in (run_id + '/cost/cost.csv', run_id + '/memory/memory.csv'):
        if rel(p):
            extra += _rows(os.path.join(to, p))
    m = meta(os.path.join(to, run_id))
    first = (rows or extra or [{}])[0]
    started = m.get('started')
    return {'run_id': run_id,
        'utc': started[:19] + 'Z' if started else first.get('utc', ''),
        'git_commit': first.get('git_commit') or m.get('git_commit', ''),
        'profile': prof or profile(m),
        'host': first.get('host', ''),
        'cpu_model': first.get('cpu_model', ''),
        'cores': first.get('cores', ''),
        'cpu_flags': first.get('cpu_flags', ''),
        'rows': len(rows) + len(extra),
        'errors': sum(r.get('status') != 'ok' for r in rows + extra),
        'csv': main_csv, 'report': rel(run_id + '/report.md'),
        'cost_csv': rel(run_id + '/cost/cost.csv'),
        'memory_csv': rel(run_id + '/memory/memory.csv')}


def write(index, rows):
    """Replace the index with rows, in the order the runs started."""
    rows = sorted(rows, key=lambda r: (r.get('utc', ''), r['run_id']))
    tmp = index + '.tmp'
    with open(tmp, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction='ignore',
            lineterminator='\n')
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, '') for k in COLUMNS})
    os.replace(tmp, index)


def add(to, run_id, prof=''):
    """Index the run in TO/index.csv (its row replaced if there is one)."""
    index = os.path.join(to, INDEX)
    have = read(index)
    old = next((r for r in have if r['run_id'] == run_id), {})
    new = row(to, run_id, prof)
    if not new['profile']:
        new['profile'] = old.get('profile', '')
    write(index, [r for r in have if r['run_id'] != run_id] + [new])
    log('%s: %d rows, %d errors -> %s' % (run_id, new['rows'],
        new['errors'], index))


def reindex(to):
    """Rebuild TO/index.csv from the runs in TO."""
    index = os.path.join(to, INDEX)
    recorded = {r['run_id']: r.get('profile', '') for r in read(index)}
    rows = []
    for run_id in scan(to):
        r = row(to, run_id)
        r['profile'] = r['profile'] or recorded.get(run_id, '')
        rows.append(r)
    write(index, rows)
    log('%d runs -> %s' % (len(rows), index))


def runs(to):
    """Every run in TO, oldest first: the index's rows, and a row made
    from the files for a run the index does not have yet."""
    have = [r for r in read(os.path.join(to, INDEX)) if r['run_id'] in
        set(scan(to))]
    known = {r['run_id'] for r in have}
    more = [row(to, i) for i in scan(to) if i not in known]
    return sorted(have + more, key=lambda r: (r.get('utc', ''),
        r['run_id']))


def last_cost(index, run_id='', prof=''):
    """The cost CSV of the last run other than run_id (of profile, when
    given) whose cost CSV exists, or ''."""
    base = os.path.dirname(index)
    rows = [r for r in read(index) if r['run_id'] != run_id and
        (not prof or r.get('profile') == prof) and
        r.get('cost_csv') and os.path.exists(os.path.join(base,
        r['cost_csv']))]
    return os.path.join(base, rows[-1]['cost_csv']) if rows else ''


def main(argv):
    try:
        if argv[:1] == ['add'] and 3 <= len(argv) <= 4:
            add(*argv[1:])
            return 0
        if argv[:1] == ['reindex'] and len(argv) == 2:
            reindex(argv[1])
            return 0
    except OSError as e:
        log('cannot index: %s' % e)
        return 1
    if argv[:1] == ['last-cost'] and 2 <= len(argv) <= 4:
        print(last_cost(*argv[1:]))
        return 0
    print(__doc__.split('\n\n')[1], file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
