"""The report's sections on latency under load, 0-RTT early data and the
resumption modes, with their charts.

  Latency under load  per mode: each library's capacity (its closed-loop
                      requests/s and which side was the limit), then at
                      each open-loop level the offered and achieved rate,
                      late starts and the percentiles of the total time
                      and of the handshake phase from the scheduled start;
                      charts of latency (log axis) against the offered
                      load as a fraction of capacity, one line per library
  0-RTT early data    per library: early data offered, accepted and
                      rejected at both ends, the anti-replay protection,
                      and the server's CPU per request against ordinary
                      resumption (or the library's refusal)
  Resumption modes    per resumed cell with a resumption axis or several
                      workers: what the server confirmed, and the share of
                      full handshakes against the one the cell expects

Figures are medians over a cell's ok rows (one row per level with the
default level_blocks = 1).  Called by report.markdown.
"""

import collections
import os

from . import charts, figures, stats
from .figures import label_key, mode_key, mode_title

PERCENTILES = (('p50', 'p50'), ('p90', 'p90'), ('p99', 'p99'),
    ('p999', 'p99.9'))
CHART_PERCENTILES = ('p50', 'p99', 'p999')
# the axes a level shares with its capacity cell
CAPACITY_KEY = tuple(a for a in figures.AXES + figures.EXTRA_AXES
    if a != 'load_fraction')


def md_table(header, rows, left=2):
    out = ['| ' + ' | '.join(header) + ' |',
        '|' + '|'.join('---' if i < left else '--:' for i in
        range(len(header))) + '|']
    return out + ['| ' + ' | '.join(str(x).replace('|', '/') for x in r) +
        ' |' for r in rows]


def median(cell, key):
    xs = [v for v in (figures.num(r.get(key)) for r in cell.ok)
        if v is not None]
    return stats.median(xs) if xs else None


def ms(us):
    return '–' if us is None else charts.num_text(us / 1000.0)


def count(v):
    return '–' if v is None else '{:,.0f}'.format(v)


def fraction(c):
    return figures.num(c['load_fraction'])


def is_level(c):
    return fraction(c) is not None


def capacity_key(c):
    return tuple(c.get(a) for a in CAPACITY_KEY)


def capped(c):
    return any(r.get('window_capped') == 'yes' for r in c.ok)


# ---------------------------------------------------------------- load
def level_groups(run):
    """{(mode, where): {label: (capacity cell or None, [levels by
    fraction])}} in report order, one entry per library.  The reference
    servers share their mode's chart and table with tlsbench (they have no
    io axis); a label names the io mode only where a group holds both."""
    caps = {capacity_key(c): c for c in run.cells if not is_level(c)}
    levels = sorted([c for c in run.cells if is_level(c)], key=lambda c: (
        mode_key(c['mode']), label_key(c), fraction(c)))
    groups = collections.OrderedDict()
    for c in levels:
        cap = caps.get(capacity_key(c))
        key = (c['mode'], (cap or c).where(skip=('io', 'load_fraction')))
        groups.setdefault(key, []).append((cap, c))
    by = collections.OrderedDict()
    for key, members in groups.items():
        vary = figures.varying([c for _, c in members], ('io',))
        lines = by[key] = collections.OrderedDict()
        for cap, c in members:
            lines.setdefault(c.label() + c.differs(vary), (cap, []))[
                1].append(c)
    return by


def percentile_cells(c, prefix):
    """`p50 / p90 / p99 / p99.9` of the cell's lat_ or hs_ columns, ms."""
    got = [ms(median(c, '%s_%s_us' % (prefix, k))) for k, _ in PERCENTILES]
    if all(g == '–' for g in got):
        return '–'
    return ' / '.join(got)


def load_table(lines):
    rows = []
    for label, (cap, levels) in lines.items():
        if cap is not None:
            rows.append([label, 'capacity (closed loop)', '–',
                figures.BOUND_TITLE.get(cap.bound, cap.bound or '–'),
                stats.fmt(cap.rps) if cap.rps else '–', '–',
                percentile_cells(cap, 'lat'), percentile_cells(cap, 'hs'),
                '–'])
        for c in levels:
            tail = median(c, 'p999_samples')
            rows.append([label, '%.0f%%' % (100 * fraction(c)),
                count(median(c, 'offered_rps')), '–',
                count(median(c, 'rps')), count(median(c, 'late_starts')),
                percentile_cells(c, 'lat'), percentile_cells(c, 'hs'),
                '%s%s' % (count(tail), ' *' if capped(c) else '')])
    return md_table(['server · library', 'load', 'offered req/s', 'bound',
        'req/s', 'late starts', 'total ms: p50 / p90 / p99 / p99.9',
        'handshake ms: p50 / p90 / p99 / p99.9', 'p99.9 samples'], rows)


def chart_file(n, mode, key):
    return 'latency-load-%d-%s-%s.svg' % (n, mode, key)


def front_charts(run, key='p99'):
    """The p99 chart of each mode, in report order (what the site's front
    page shows for a run with open-loop levels)."""
    return [chart_file(n, mode, key) for n, (mode, _) in
        enumerate(level_groups(run), 1)]


def load_charts(mode, where, lines, outdir, n):
    """One chart per percentile: [(title, file)]."""
    made = []
    for key in CHART_PERCENTILES:
        name = dict(PERCENTILES)[key]
        series = []
        for label, (cap, levels) in lines.items():
            pts = [(fraction(c), (median(c, 'lat_%s_us' % key) or 0) /
                1000.0) for c in levels]
            series.append(charts.Line(label, charts.colour(
                levels[0].family()), False, pts))
        title = 'Latency under load, %s, %s: %s of the total time' % (
            mode_title(mode), where, name)
        svg = charts.log_lines(title, 'offered load, fraction of each '
            'library\'s capacity', '%s latency, ms (log)' % name, series,
            ['Open loop: requests start on a fixed schedule at the '
            'fraction of the library\'s own capacity (its closed-loop '
            'requests/s in the same run); latency counts from each '
            'request\'s scheduled start, so a stalled server shows here.',
            'Figures: one window per level (the table marks a p99.9 that '
            'rests on fewer samples than the run asked for).'], xlog=False)
        if svg:
            fname = chart_file(n, mode, key)
            charts.save(os.path.join(outdir, fname), svg)
            made.append((title, fname))
    return made


def load_section(run, outdir):
    groups = level_groups(run)
    if not groups:
        return []
    md = ['## Latency under load', '', 'Each library\'s capacity is its '
        'closed-loop requests/s (the protocol\'s window; `bound` says '
        'which side was saturated); the open-loop levels offer fractions '
        'of it on a fixed schedule with at most the same number of '
        'requests in flight.  Latency runs from each request\'s scheduled '
        'start (coordinated omission corrected): the total time and its '
        'TLS handshake phase.  Late starts: requests that began more than '
        '1 ms after their scheduled time for want of a free connection.  '
        '`*`: the window was capped by time, so its p99.9 rests on fewer '
        'samples than asked for.  Closed-loop latencies (the capacity '
        'rows) are concurrency over throughput, not comparable with the '
        'levels\'.', '']
    for n, ((mode, where), lines) in enumerate(groups.items(), 1):
        md += ['### %s, %s' % (mode_title(mode)[:1].upper() +
            mode_title(mode)[1:], where), '']
        for title, f in load_charts(mode, where, lines, outdir, n):
            md += ['![%s](%s)' % (title, f), '']
        md += load_table(lines) + ['']
    return md


# ---------------------------------------------------------------- 0-RTT
def first(c, key):
    return next((r.get(key) for r in c.ok if r.get(key) not in
        (None, '')), '')


def twin(run, c, mode):
    """The closed-loop cell with c's axes but another mode (its
    resumption the mode's own)."""
    same = [a for a in CAPACITY_KEY if a not in ('mode', 'resumption')]
    return next((o for o in run.cells if o['mode'] == mode and
        not is_level(o) and all(o.get(a) == c.get(a) for a in same)), None)


def early_counts(c, prefix):
    got = [median(c, '%searly_%s' % (prefix, w)) for w in ('offered',
        'accepted', 'rejected')]
    if all(g is None for g in got):
        return '–'
    return ' / '.join(count(g) for g in got)


def early_section(run):
    cells = sorted([c for c in run.cells if c['mode'] == 'resumed-0rtt'],
        key=lambda c: (c.where(), label_key(c)))
    if not cells:
        return []
    rows = []
    for c in cells:
        if not c.ok:
            reason = (c.reasons() or [''])[0]
            rows.append([c.label(), c.where(), c.status or 'error', '–',
                '–', reason or '–', '–', '–'])
            continue
        base = twin(run, c, 'resumed')
        cmp_ = run.compare(c, base) if base is not None and base.us \
            is not None and c.us is not None else None
        rows.append([c.label(), c.where(), 'ok',
            early_counts(c, 'client_'), early_counts(c, ''),
            first(c, 'anti_replay') or '–',
            stats.fmt(c.us) if c.us else '–', '%s %s' % (stats.fmt(
            cmp_.ratio), cmp_.verdict) if cmp_ else '–'])
    return ['## 0-RTT early data', '', 'The request in TLS 1.3 early data '
        'on every resumption (`resumed-0rtt`: client `--early-data`, '
        'server `--early-data --resumption both`).  Early data offered / '
        'accepted / rejected per window, as the client and the server '
        'counted them (they must agree: otherwise the row is an error); '
        'the anti-replay protection the server stated; server CPU per '
        'request, and its ratio to ordinary resumption of the same '
        'library (paired by block; `~`: no difference called).  A library '
        'that cannot offer 0-RTT with protection against replays refuses '
        'it, with its reason.', ''] + md_table(['server · library', 'cell',
        'status', 'client: offered / accepted / rejected',
        'server: offered / accepted / rejected', 'anti-replay',
        'server µs/req', '× resumed'], rows, left=3) + ['']


# ---------------------------------------------------------------- modes
def shown_in_modes(c):
    return c['mode'] in ('resumed', 'resumed-0rtt') and (
        c.get('psk') not in ('', '-') or c.get('resume_via') not in
        ('', '-') or c['workers'] not in ('1', '') or
        c['mode'] == 'resumed-0rtt') and not is_level(c)


def full_share(c):
    xs = []
    for r in c.ok:
        full = figures.num(r.get('handshakes_full')) or 0
        resumed = figures.num(r.get('handshakes_resumed')) or 0
        if full + resumed:
            xs.append(full / (full + resumed))
    return stats.median(xs) if xs else None


def most_common(c, key):
    got = collections.Counter(r.get(key) for r in c.ok if r.get(key))
    return got.most_common(1)[0][0] if got else ''


def modes_section(run):
    cells = sorted([c for c in run.cells if shown_in_modes(c)],
        key=lambda c: (c['tls_version'], c['mode'], c.where(),
        label_key(c)))
    if not cells:
        return []
    rows = []
    for c in cells:
        where = '%s, %s' % (mode_title(c['mode']), c.where())
        if not c.ok:
            rows.append([c.label(), where, c.status or 'error', '–', '–',
                '–', '–', (c.reasons() or ['–'])[0]])
            continue
        share = full_share(c)
        expect = figures.num(most_common(c, 'expected_full_share'))
        rows.append([c.label(), where, most_common(c,
            'confirmed_resumption') or
            'not counted by this server', '–' if expect is None else
            '%.0f%%' % (100 * expect), '–' if share is None else
            '%.1f%%' % (100 * share), stats.fmt(c.us) if c.us else '–',
            most_common(c, 'client_shares_core') or '–',
            figures.BOUND_TITLE.get(c.bound, c.bound or '–')])
    return ['## Resumption modes', '', 'How the resumed cells resumed, as '
        'the server confirmed it from its counters (`ticket` or `id`, the '
        'session cache; `psk_dhe_ke` or `psk_ke` in TLS 1.3; nginx and the '
        'asyncio server count none of these), and their share of full '
        'handshakes against the one the cell expects: none, except with '
        'several tlsbench workers resuming from the session cache, which '
        'is per worker.  A row whose confirmed mode is not its cell\'s is '
        'an error row.  With one worker per CPU the load generator shares '
        'the server\'s CPUs.', ''] + md_table(['server · library', 'cell',
        'confirmed', 'expected full', 'full handshakes', 'server µs/req',
        'client shares CPUs', 'bound'], rows, left=3) + ['']


def sections(run, outdir):
    """The three sections' markdown lines (charts written to outdir)."""
    return load_section(run, outdir) + early_section(run) + \
        modes_section(run)
