"""A run's figures per cell and its comparisons, with their intervals:
results/<run-id>/cells.csv and results/<run-id>/comparisons.csv.

Both are computed from the run's rows (results/<run-id>.csv) and its
run.json alone, at the end of a run and again by suite/report, so they
can be rebuilt at any time.  Every figure is a median with its 95%
order-statistics interval over the cell's ok rows (tbsuite.stats); the
ratio to the reference and every comparison are paired by block.
results/README.md documents each column.
"""

import collections
import csv
import json
import os

from . import matrixfile, protocol, results, stats

CELL_COLUMNS = (
    # the cell: its axes, and the libraries that ran it
    'cell', 'server', 'lib', 'backend', 'tls_version', 'cert', 'group',
    'suite', 'mode', 'resumption', 'concurrency', 'body_bytes', 'workers',
    'io', 'library', 'version', 'flavor', 'client_library', 'is_reference',
    # how it was measured
    'n', 'n_error', 'status', 'stop_reason',
    # its figures: median, 95% interval
    'us_per_req', 'us_per_req_lo', 'us_per_req_hi',
    'rps', 'rps_lo', 'rps_hi',
    'hs_per_s', 'hs_per_s_lo', 'hs_per_s_hi',
    'ratio_to_ref', 'ratio_to_ref_lo', 'ratio_to_ref_hi', 'ratio_half_width',
    'ci_level', 'complete',
    # what limited it, and the machine meanwhile
    'bound', 'bound_server', 'bound_client', 'bound_neither',
    'server_util', 'canary_ns', 'steal_s',
    'lat_p50_us', 'lat_p99_us',
    # bulk cells: CPU per MiB, median and 95% interval; handshake cells:
    # bytes, records and segments on the wire per handshake (medians)
    'us_per_mib', 'us_per_mib_lo', 'us_per_mib_hi',
) + results.WIRE_COLUMNS + (
    # cost and memory cells
    'instr_per_op', 'kib_per_conn',
    # the resumption axes, open-loop levels (medians of their rows) and
    # the handshake phase
    'psk', 'resume_via', 'load_fraction', 'capacity_rps', 'offered_rps',
    'late_starts', 'p999_samples', 'lat_p90_us', 'lat_p999_us', 'hs_p50_us',
    'hs_p90_us', 'hs_p99_us', 'hs_p999_us',
    'reason',
)
# medians of the rows' figures, digits
LEVEL_MEDIANS = (('capacity_rps', 1), ('offered_rps', 1), ('late_starts', 0),
    ('p999_samples', 0), ('lat_p90_us', 1), ('lat_p999_us', 1),
    ('hs_p50_us', 1), ('hs_p90_us', 1), ('hs_p99_us', 1), ('hs_p999_us', 1))

COMPARISON_COLUMNS = ('a', 'b', 'metric', 'ratio', 'lo', 'hi', 'verdict',
    'n', 'ci_level', 'both_server_bound')

BOUNDS = ('server', 'client', 'neither')


def axes_of(cell_id):
    """{axis: value} from a cell id `server=tlsbench,lib=-,...` (an
    optional axis it does not name is `-`)."""
    axes = dict.fromkeys(matrixfile.OPTIONAL_AXES, '-')
    axes.update(part.split('=', 1) for part in cell_id.split(','))
    return axes


def _f(x, digits):
    if x is None:
        return ''
    return ('%.' + str(digits) + 'f') % x


def _digits(v):
    v = abs(v)
    return 0 if v >= 1000 else 1 if v >= 100 else 2 if v >= 1 else 4


def _interval(rows, key):
    xs = [v for v in (protocol.number(r, key) for r in rows)
        if v is not None]
    return stats.median_ci(xs) if xs else None


def _put(out, name, iv, digits=None):
    """name, name_lo, name_hi from an interval (empty without one)."""
    if iv is None:
        return
    d = _digits(iv.value) if digits is None else digits
    out[name] = _f(iv.value, d)
    out[name + '_lo'] = _f(iv.lo, d)
    out[name + '_hi'] = _f(iv.hi, d)


def _median(rows, key, digits):
    iv = _interval(rows, key)
    return _f(iv.value, digits) if iv else ''


def majority_bound(rows):
    """(class, {class: count}) over the rows' `bound`; ties go to the
    more cautious class (neither, then client)."""
    counts = collections.Counter(r.get('bound') for r in rows
        if r.get('bound') in BOUNDS)
    if not counts:
        return '', counts
    best = max(counts.values())
    for b in ('neither', 'client', 'server'):
        if counts[b] == best:
            return b, counts


def hs_key(mode):
    return {'full': 'hs_full_per_s', 'full-tickets': 'hs_full_per_s',
        'resumed': 'hs_resumed_per_s',
        'resumed-0rtt': 'hs_resumed_per_s'}.get(mode)


def reference_id(rows):
    return next((r['cell'] for r in rows if r.get('is_reference') == 'yes'),
        None)


def plan_settings(meta):
    """The run's protocol settings from run.json (defaults for older
    runs)."""
    got = dict((k, v[1]) for k, v in matrixfile.SETTINGS.items()
        if k in matrixfile.RUN_SETTINGS)
    got.update(meta.get('protocol') or {})
    return got


def cell_row(cell_id, rows, all_rows, ref, settings):
    """One line of cells.csv for the cell's rows."""
    first = rows[0]
    axes = axes_of(cell_id)
    ok = [r for r in rows if r['status'] == 'ok']
    out = {k: axes.get(k, '') for k in matrixfile.AXES}
    out['cell'] = cell_id
    out['tls_version'] = axes.get('tls', first.get('tls_version', ''))
    out['body_bytes'] = matrixfile.parse_body(axes['body']) \
        if 'body' in axes else first.get('body_bytes', '')
    lib = (ok or rows)[0].get('lib') or ''
    out['library'] = lib.split('@')[0]
    out['version'] = (ok or rows)[0].get('library_version', '')
    out['flavor'] = (ok or rows)[0].get('flavor', '')
    out['client_library'] = (ok or rows)[0].get('client_library', '')
    out['is_reference'] = 'yes' if cell_id == ref else 'no'
    out['n'] = len(ok)
    out['n_error'] = len(rows) - len(ok)
    if any(r['status'] == 'refused' for r in rows):
        out['status'] = 'refused'
    else:
        out['status'] = 'ok' if ok else 'error'
    windowed = first.get('mode') in matrixfile.WINDOW_MODES
    if windowed and ref:
        plan = protocol.Plan([], {'id': ref}, settings, 0)
        out['stop_reason'] = plan.stop_reason(all_rows, cell_id)
    _put(out, 'us_per_req', _interval(ok, 'server_us_per_req'))
    _put(out, 'rps', _interval(ok, 'rps'), 0)
    key = hs_key(first.get('mode'))
    if key:
        _put(out, 'hs_per_s', _interval(ok, key), 0)
    level = _interval(ok, 'server_us_per_req')
    ratio = protocol.ratio_interval(all_rows, cell_id, ref) if ref else None
    if ratio is not None:
        _put(out, 'ratio_to_ref', ratio, 4)
        out['ratio_half_width'] = _f(ratio.half_width(), 4)
        level = ratio
    if level is not None:
        out['ci_level'] = _f(level.level, 3)
        out['complete'] = 'yes' if level.complete else 'no'
    bound, counts = majority_bound(ok)
    out['bound'] = bound
    for b in BOUNDS:
        out['bound_' + b] = counts[b] if windowed else ''
    out['server_util'] = _median(ok, 'server_util', 3)
    out['canary_ns'] = _median(rows, 'canary_ns', 0)
    out['steal_s'] = _median(ok, 'steal_s', 2)
    out['lat_p50_us'] = _median(ok, 'lat_p50_us', 1)
    out['lat_p99_us'] = _median(ok, 'lat_p99_us', 1)
    _put(out, 'us_per_mib', _interval(ok, 'server_us_per_mib'))
    # the rows' wire figures: the same for every handshake of a
    # configuration, up to a few bytes (an ECDSA signature's DER length)
    # and the segments TCP happens to make
    for key in results.WIRE_COLUMNS:
        out[key] = _median(ok, key, 1)
    out['instr_per_op'] = _median(ok, 'instr_per_op', 0)
    out['kib_per_conn'] = _median(ok, 'kib_per_conn', 2)
    out['load_fraction'] = axes['load']
    for key, digits in LEVEL_MEDIANS:
        out[key] = _median(ok, key, digits)
    reasons = []
    for r in rows:
        if r['reason'] and r['reason'] not in reasons:
            reasons.append(r['reason'])
    out['reason'] = ' | '.join(reasons)[:500]
    return out


def cells(rows, meta):
    """cells.csv's lines for a run's rows: in the matrix's order (run.json
    `cells`), then any other cell in first-seen order."""
    by = collections.OrderedDict((c, []) for c in meta.get('cells') or [])
    for r in rows:
        by.setdefault(r['cell'], []).append(r)
    by = collections.OrderedDict((c, rs) for c, rs in by.items() if rs)
    ref = reference_id(rows)
    settings = plan_settings(meta)
    return [cell_row(cid, rs, rows, ref, settings) for cid, rs in by.items()]


def comparison(rows, a_id, b_id, bounds):
    """One line of comparisons.csv: a / b of server CPU per request,
    paired by block."""
    a, b, blocks = protocol.paired(rows, a_id, b_id)
    out = {'a': a_id, 'b': b_id, 'metric': 'us_per_req', 'n': len(a),
        'both_server_bound': 'yes' if bounds.get(a_id) == 'server' and
        bounds.get(b_id) == 'server' else 'no'}
    if not a:
        out['verdict'] = ''
        return out
    iv = stats.paired_ratio(a, b)
    out.update({'ratio': _f(iv.value, 4), 'lo': _f(iv.lo, 4),
        'hi': _f(iv.hi, 4), 'verdict': stats.verdict(iv),
        'ci_level': _f(iv.level, 3)})
    return out


def comparisons(rows, meta, cell_lines):
    bounds = {c['cell']: c['bound'] for c in cell_lines}
    return [comparison(rows, a, b, bounds)
        for a, b in meta.get('comparisons') or []]


def write_csv(path, columns, lines):
    tmp = path + '.part'
    with open(tmp, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator='\n',
            extrasaction='ignore')
        w.writeheader()
        for line in lines:
            w.writerow({k: '' if line.get(k) is None else line.get(k)
                for k in columns})
    os.replace(tmp, path)


def read_meta(run_dir):
    try:
        with open(os.path.join(run_dir, 'run.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def write(csv_path, rows=None):
    """results/<run-id>/cells.csv and comparisons.csv for the run whose
    rows are csv_path; returns their paths."""
    rows = results.read(csv_path) if rows is None else rows
    run_dir = csv_path[:-len('.csv')] if csv_path.endswith('.csv') else \
        csv_path + '.d'
    os.makedirs(run_dir, exist_ok=True)
    meta = read_meta(run_dir)
    lines = cells(rows, meta)
    paths = (os.path.join(run_dir, 'cells.csv'),
        os.path.join(run_dir, 'comparisons.csv'))
    write_csv(paths[0], CELL_COLUMNS, lines)
    write_csv(paths[1], COMPARISON_COLUMNS, comparisons(rows, meta, lines))
    return paths
