"""suite/report: results/<run-id>.csv -> results/<run-id>/report.md + charts.

Every figure is a median with its 95% interval (tbsuite.figures: the run's
cells.csv, or recomputed from its rows for runs without one, which the
report says); every comparison a ratio with its interval and the verdict
(`~` where the interval includes 1).  Server-bound cells are compared;
client-bound and latency-bound cells have their own, marked tables.  The
charts are SVG files next to the report (tbsuite.charts).  With a second
CSV, each cell in both runs gets the bootstrap ratio of its server CPU per
request and a verdict.
"""

import collections
import csv
import os
import sys

from . import (axisreport, cellstats, charts, costreport, figures, latreport,
    results, stats, tables)
from .figures import BOUND_TITLE, label_key, mode_key, mode_title

USAGE = """\
usage: suite/report RUN.csv [BASELINE.csv]

Renders results/<run-id>/report.md (next to RUN.csv) and its charts (SVG)
for the run in RUN.csv: per cell the median server CPU per request and
requests/s with their 95% intervals, ratios to the reference with a
verdict, the comparisons the run lists, its cost and memory sections when
the run directory has them.  With BASELINE.csv it adds, for each cell in
both runs, RUN / BASELINE of server CPU per request (bootstrap interval,
verdict).
"""


class ReportError(Exception):
    pass


# ---------------------------------------------------------------- tables
def md_table(header, rows, left=2):
    """Markdown table: the first `left` columns are text, the rest
    figures (right-aligned)."""
    out = ['| ' + ' | '.join(header) + ' |',
        '|' + '|'.join('---' if i < left else '--:' for i in
        range(len(header))) + '|']
    for r in rows:
        out.append('| ' + ' | '.join(str(x).replace('|', '/') for x in r) +
            ' |')
    return out


def iv(interval):
    return stats.fmt(interval) if interval is not None else '–'


def bound_text(c):
    """`server (6/6)`: the majority class and its share of the rows."""
    if not c.bound:
        return '–'
    total = sum(c.bound_counts.values())
    return '%s (%d/%d)' % (c.bound, c.bound_counts.get(c.bound, 0),
        total) if total else c.bound


def cap(text):
    """First letter upper case, the rest as written (TLS stays TLS)."""
    return text[:1].upper() + text[1:]


def pct(x):
    return '–' if x is None else '%.0f%%' % (100 * x)


def ref_note(run, c, ref, cmp_=None):
    """(verdict column, tone, muted) of cell c against the panel's
    reference: compared only when both are server-bound."""
    if ref is None:
        return ('', '', c.bound not in ('server', ''))
    if c is ref:
        return ('reference', '', c.bound not in ('server', ''))
    if c.bound not in ('server', ''):
        return (BOUND_TITLE[c.bound], '', True)
    if ref.bound not in ('server', ''):
        return ('', '', False)
    cmp_ = cmp_ or run.compare(c, ref)
    if cmp_ is None:
        return ('', '', False)
    v = cmp_.verdict
    tone = '' if v == '~' else 'better' if cmp_.ratio.value < 1 else 'worse'
    return (v, tone, False)


def by_combo(cells):
    """{(cert, tls): cells}, the newest TLS version first, plaintext
    last."""
    out = collections.OrderedDict()
    for c in sorted(cells, key=lambda c: (not c.tls, [-int(x) for x in
            c['tls_version'].split('.') if x.isdigit()], c['cert'])):
        out.setdefault((c['cert'], c['tls_version']), []).append(c)
    return out


def combo_title(cert, tls):
    return 'plaintext (no TLS)' if tls in ('-', '') else \
        '%s, TLS %s' % (cert, tls)


def modes_of(cells):
    return sorted({c['mode'] for c in cells}, key=mode_key)


# ---------------------------------------------------------------- charts
PANEL_AXES = ('group', 'suite', 'io', 'workers')


def panels(run, cells, what='us'):
    """charts.Panel per mode: each cell's server CPU per request (what=us)
    with its verdict against the panel's reference, or its requests/s
    (rps; the reference and the cells not server-bound marked only)."""
    out = []
    for mode in modes_of(cells):
        sel = sorted([c for c in cells if c['mode'] == mode and
            getattr(c, what) is not None], key=label_key)
        if not sel:
            continue
        ref = run.panel_reference(sel)
        # axes the label does not name but the panel's cells differ on
        vary = figures.varying(sel, PANEL_AXES)
        bars = []
        for c in sel:
            note, tone, muted = ref_note(run, c, ref) if what == 'us' else \
                ('reference' if c is ref else BOUND_TITLE.get(c.bound, ''),
                '', c.bound not in ('server', ''))
            if note == BOUND_TITLE['server']:
                note = ''
            bars.append(charts.Bar(c.label() + c.variant() +
                c.differs(vary),
                getattr(c, what), charts.colour(c.family()), note, tone,
                muted))
        if what == 'us':
            title = '%s: server CPU per request (lower is better)' % \
                cap(mode_title(mode))
            axis = 'server CPU µs per request (median, 95% interval)'
        else:
            title = '%s: requests per second%s' % (cap(mode_title(mode)),
                ' (one request per connection: handshakes '
                'per second)' if mode not in ('keepalive', 'bulk') else '')
            axis = 'requests per second (median, 95% interval)'
        out.append(charts.Panel(title, axis, bars))
    return out


def chart_notes(run, what='us'):
    notes = ['Bars: median; whiskers: 95% interval (dashed: too few '
        'samples for 95%, no difference called).  Hatched: not '
        'server-bound, not compared.']
    if what == 'us':
        notes.append('Verdicts: server CPU per request against the '
            'reference of the panel (%s); ~ where the interval of the '
            'ratio includes 1.' % ('paired by block' if run.blocks() else
            'unpaired bootstrap: this run has no blocks'))
    return notes


CHART_KINDS = (('us', 'cpu-per-request', 'Server CPU per request'),
    ('rps', 'requests-per-s', 'Requests per second'))


def chart_name(stem, cert, tls):
    """The SVG file of one headline chart."""
    return '%s-%s.svg' % (stem, 'plaintext' if tls in ('-', '') else
        '%s-tls%s' % (cert, tls))


def front_charts(run):
    """What the site's front page shows of a run, in report order: the
    server-CPU chart of each TLS combination, then the p99 latency chart
    of each mode with open-loop levels."""
    head, _ = figures.headline(run.cells)
    return [chart_name(CHART_KINDS[0][1], cert, tls) for cert, tls in
        by_combo(head) if tls not in ('-', '')] + latreport.front_charts(run)


def headline_charts(run, head, outdir):
    """Per certificate and TLS version, the server-CPU and requests/s
    charts.  Returns [(combo title, [svg file names])]."""
    made = []
    for (cert, tls), sel in by_combo(head).items():
        files = []
        for what, stem, title in CHART_KINDS:
            ps = panels(run, sel, what)
            if not ps:
                continue
            name = chart_name(stem, cert, tls)
            svg = charts.bar_panels('%s, %s, %s' % (title, combo_title(cert,
                tls), headline_axes(sel)), ps, chart_notes(run, what))
            charts.save(os.path.join(outdir, name), svg)
            files.append(name)
        if files:
            made.append((combo_title(cert, tls), files))
    return made


def headline_axes(cells):
    c = cells[0]
    return 'c=%s, %s body, %s worker%s' % (c['concurrency'],
        tables.body_label(c['body_bytes']) if c['body_bytes'] else '?',
        c['workers'], '' if c['workers'] == '1' else 's')


def latency_charts(run, outdir):
    """Latency against concurrency where the run swept it: p50 solid, p99
    dashed, one colour per library.  [(title, file)]."""
    sweeps = collections.defaultdict(list)
    for c in run.cells:
        sweeps[(c['mode'], c['cert'], c['tls_version'], c['body_bytes'],
            c['workers'])].append(c)
    made = []
    for (mode, cert, tls, body, workers), group in sorted(sweeps.items()):
        if len({c['concurrency'] for c in group}) < 2:
            continue
        lines = []
        by_label = collections.OrderedDict()
        for c in sorted(group, key=label_key):
            by_label.setdefault(c.label(), []).append(c)
        for label, cs in by_label.items():
            cs.sort(key=lambda c: int(c['concurrency']))
            if len(cs) < 2:
                continue
            col = charts.colour(cs[0].family())
            for key, dashed in (('lat_p50_us', False), ('lat_p99_us',
                    True)):
                pts = []
                for c in cs:
                    xs = [v for v in (figures.num(r.get(key)) for r in c.ok)
                        if v]
                    pts.append((int(c['concurrency']), stats.median(xs) /
                        1000.0 if xs else None))
                lines.append(charts.Line('%s %s' % (label, key[4:7]), col,
                    dashed, pts))
        title = 'Latency against concurrency, %s, %s' % (mode_title(mode),
            combo_title(cert, tls))
        svg = charts.log_lines(title, 'concurrent connections',
            'latency, ms (median over repeats)', lines,
            ['Solid: p50, dashed: p99, as the load generator measured '
            'them.'])
        if svg:
            name = 'latency-%s-%s-tls%s.svg' % (mode, cert, tls)
            charts.save(os.path.join(outdir, name), svg)
            made.append((title, name))
    return made


# ---------------------------------------------------------------- sections
def header(run):
    f = run.first
    commit = f['git_commit']
    dirty = commit.endswith('-dirty')
    ok = sum(r['status'] == 'ok' for r in run.all_rows)
    return ['# tlsbench run %s' % run.id, '',
        '| | |', '|---|---|',
        '| command | `%s` |' % run.command(),
        '| profile | %s |' % (run.profile() or '–'),
        '| started (UTC) | %s |' % (run.meta.get('started') or f['utc']),
        '| commit | `%s`%s |' % (commit.replace('-dirty', ''),
            ' (with uncommitted changes)' if dirty else ''),
        '| host | %s: %s, %s cores, kernel %s |' % (f['host'],
            f['cpu_model'], f['cores'], f['kernel']),
        '| CPU crypto features | %s |' % (f['cpu_flags'] or 'none'),
        '| rows | %d (%d load cells), %d not ok |' % (len(run.all_rows),
            len(run.cells), len(run.all_rows) - ok),
        '']


def how_to_read(run, readme='../README.md'):
    md = ['## How to read this report', '']
    if run.source == 'cells.csv':
        md.append('- Figures per cell are the run\'s own summary '
            '(`cells.csv`): the median over its blocks with a 95% '
            'order-statistics interval `median [low, high]`; `(n=3)` marks '
            'an interval below 95% (too few blocks), on which no '
            'difference is called.')
    else:
        n = sorted({c.n for c in run.cells})
        md.append('- This run has no `cells.csv` (it was measured before '
            'the block protocol): every figure is **recomputed from its '
            'rows**, the median over its %s repeats with a 95%% '
            'order-statistics interval `median [low, high]`.  Fewer than 6 '
            'repeats cannot reach 95%%: the interval is then [min, max], '
            'marked `(n=3)`, and no difference is called on it.' %
            '/'.join(str(x) for x in n))
    ref = run.reference
    if ref is not None:
        md.append('- Reference cell: %s, %s, %s: %s µs per request.  Each '
            'cell\'s `× reference` is its server CPU per request over the '
            'reference\'s in the same block.' % (ref.label(),
            mode_title(ref['mode']), ref.where(), iv(ref.us)))
    else:
        md.append('- This run names no reference cell.  Charts compare '
            'each panel with tlsbench on Debian\'s OpenSSL where present, '
            'by an unpaired bootstrap of the two medians%s.' % (
            '' if run.blocks() else ' (the run has no blocks to pair)'))
    canary = run.canary()
    if canary:
        lo, med, hi = canary
        md.append('- Machine-speed canary (fixed CPU work timed before '
            'each cell): median %.2f ms, %.2f–%.2f ms over the run, a '
            'spread of %.1f%%.' % (med / 1e6, lo / 1e6, hi / 1e6,
            100 * (hi / lo - 1) if lo else 0))
    else:
        md.append('- No machine-speed canary was recorded in this run: '
            'the machine\'s drift between cells is unknown.')
    md.append('- Server-bound cells (server CPU at least %d%% of its '
        'CPUs) are compared; client-bound and latency-bound cells are in '
        'their own tables, marked, and not compared: their server figure '
        'may be limited by something else.%s' % (100 * figures.SATURATION,
        '' if any(r.get(
            figures.ROWS['bound']) for r in run.rows) else '  This run '
            'did not record the class: it is derived from its server CPU '
            'and client share.'))
    md.append('- How each row is measured and what every column means: '
        '[results/README.md](%s).' % readme)
    return md + ['']


def headline_section(run, head, made):
    md = ['## Headline', '', 'Concurrency, body and workers most of the '
        'run\'s TLS cells share (%s); one chart per certificate and TLS '
        'version, one panel per kind of request.' % (headline_axes(head)
        if head else '–'), '']
    charts_by = dict(made)
    for (cert, tls), sel in by_combo(head).items():
        title = combo_title(cert, tls)
        md += ['### %s' % title, '']
        for f in charts_by.get(title, []):
            md += ['![%s](%s)' % (title, f), '']
        rows = []
        for mode in modes_of(sel):
            ms = sorted([c for c in sel if c['mode'] == mode],
                key=label_key)
            ref = run.panel_reference([c for c in ms if c.us is not None])
            for c in ms:
                cmp_ = run.compare(c, ref) if ref is not None and \
                    c is not ref and c.us is not None else None
                note = ref_note(run, c, ref, cmp_)[0] if c.us else ''
                rows.append([mode_title(mode), c.label() + c.variant(),
                    iv(c.us), iv(c.rps), iv(cmp_.ratio) if cmp_ else '–',
                    note or '–', cmp_.how if cmp_ else '–',
                    bound_text(c)])
        md += md_table(['kind', 'server · library', 'server µs/req',
            'req/s', '× panel reference', 'verdict', 'how', 'bound'],
            rows) + ['']
    return md


def comparisons_section(run):
    if not run.listed:
        return []
    rows = [[c.a.label() + ', ' + mode_title(c.a['mode']) + ', ' +
        c.a.where(), c.b.label() + ', ' + mode_title(c.b['mode']) + ', ' +
        c.b.where(), iv(c.ratio), c.verdict, str(c.ratio.n),
        'yes' if c.both_server_bound else '**no**'] for c in run.listed]
    return ['## Comparisons', '', 'The pairs the profile lists: server CPU '
        'per request of a over b, paired by block (`comparisons.csv`).  A '
        'pair not both server-bound is marked: its ratio may reflect the '
        'client.', ''] + md_table(['a', 'b', 'a / b', 'verdict', 'n',
        'both server-bound'], rows) + ['']


def cell_tables(run):
    """Per mode: the server-bound cells, then the client-bound and the
    latency-bound ones, each in its own marked table."""
    md = ['## Every cell', '', 'Per kind of request: server-bound cells '
        'first (compared), then the others.  × reference: server CPU per '
        'request over the reference cell\'s in the same block, with its '
        'verdict.  n: blocks (or repeats) measured; stop: why the run '
        'measured no more of it.', '']
    header = ['server · library', 'cell', 'n', 'server µs/req', 'req/s',
        '× reference', 'verdict', 'bound', 'server CPU', 'stop']
    for mode in modes_of(run.cells):
        extra = MODE_COLUMNS.get(mode, ())
        cs = sorted([c for c in run.cells if c['mode'] == mode and c.ok],
            key=lambda c: (c.where(), label_key(c)))
        md += ['### %s' % cap(mode_title(mode)), '']
        for bound in figures.BOUNDS + ('',):
            sel = [c for c in cs if c.bound == bound]
            if not sel:
                continue
            if bound == 'server':
                md += ['Server-bound (compared):', '']
            elif bound:
                md += ['**%s** (the server was not the limit: not '
                    'compared):' % cap(BOUND_TITLE[bound]), '']
            else:
                md += ['Class unknown:', '']
            rows = [[c.label(), c.where(), str(c.n), iv(c.us), iv(c.rps),
                iv(c.ratio), stats.verdict(c.ratio) if c.ratio and
                not c.is_reference and c.bound == 'server' else
                ('reference' if c.is_reference else '–'), bound_text(c),
                pct(c.server_util), c.stop_reason or ('fixed repeats' if
                run.source == 'rows' else '–')] + [f(c) for _, f in extra]
                for c in sel]
            md += md_table(header + [h for h, _ in extra], rows) + ['']
    return md


# what a mode's table shows besides CPU per request: bytes on the wire
# per handshake, CPU per MiB of bulk bodies
WIRE_TABLE_COLUMNS = (
    ('bytes server→client', lambda c: axisreport.fmt_bytes(c.wire.get(
        'hs_server_bytes'))),
    ('bytes client→server', lambda c: axisreport.fmt_bytes(c.wire.get(
        'hs_client_bytes'))))
MODE_COLUMNS = dict([(m, WIRE_TABLE_COLUMNS) for m in
    figures.HANDSHAKE_MODES] + [('bulk', (('server µs/MiB', lambda c:
    iv(c.us_per_mib)),))])


def libraries_section(run):
    rows = [(label, facts.replace(';', '; ')) for label, facts in
        run.build_facts().items()]
    return ['## Libraries', ''] + md_table(['server · library',
        'build facts'], rows, left=2) + ['']


def errors_section(run):
    errs = [r for r in run.all_rows if r['status'] != 'ok' or r['reason']]
    if not errs:
        return []
    return ['## Errors and warnings', ''] + md_table(['server', 'cell',
        'repeat', 'status', 'reason'], [[tables.server_label(r),
        '%s, %s' % (r['mode'], r['cell']), r.get('block') or r['repeat'],
        r['status'], r['reason']] for r in errs], left=5) + ['']


def against_section(run, base):
    found = figures.across(run, base)
    md = ['## Against %s' % base.id, '', 'Server CPU per request, this run '
        'over that one, per cell measured in both: the ratio of the '
        'medians with a bootstrap 95% interval (unpaired: the runs had '
        'different time slots; the canary medians, when recorded, show '
        'how the machine\'s speed differed).  `~`: no difference called.',
        '']
    canaries = ['%s %.2f ms' % (r.id, r.canary()[1] / 1e6)
        for r in (run, base) if r.canary()]
    if canaries:
        md += ['Canary medians: %s.' % '; '.join(canaries), '']
    if not found:
        return md + ['No cell is in both runs.', '']
    rows = []
    for a, b, cmp_ in found:
        lib = a.version if a.version == b.version else '%s → %s' % (
            b.version, a.version)
        rows.append([a.label(version=False), '%s, %s' % (mode_title(
            a['mode']), a.where()), lib, iv(a.us), iv(b.us), iv(cmp_.ratio),
            cmp_.verdict])
    return md + md_table(['server · library', 'cell', 'version',
        'this run µs/req', 'that run µs/req', 'ratio', 'verdict'], rows) + \
        ['']


def cost_sections(run):
    cost, mem, floor = costreport.from_matrix(run.all_rows)
    top_base = '..'
    extra = os.path.join(run.dir, 'cost', 'cost.csv')
    if os.path.exists(extra):
        cost, top_base = costreport.read(extra), 'cost'
    extra = os.path.join(run.dir, 'memory', 'memory.csv')
    if os.path.exists(extra):
        mem = costreport.read(extra)
    return costreport.sections(cost, mem, run.all_rows, top_base, floor)


# ---------------------------------------------------------------- report
def load(path):
    """The run in the CSV at path, or ReportError saying what is wrong."""
    if not os.path.exists(path):
        raise ReportError('no such file: %s' % path)
    with open(path, newline='') as f:
        header = next(csv.reader(f), [])
    missing = results.missing_columns(header)
    if missing:
        raise ReportError('%s lacks columns %s' % (path, ' '.join(missing)))
    try:
        return figures.Run(path)
    except (ValueError, KeyError) as e:
        raise ReportError('%s: %s' % (path, e))


def markdown(run, outdir, base=None, readme='../README.md'):
    """The report's text; its charts written into outdir."""
    for f in os.listdir(outdir):
        if f.endswith(('.svg', '.png', '.dat', '.gp')):
            os.remove(os.path.join(outdir, f))
    head, _ = figures.headline(run.cells)
    made = headline_charts(run, head, outdir)
    md = header(run)
    if run.cells:
        md += how_to_read(run, readme)
        md += headline_section(run, head, made)
        md += comparisons_section(run)
        md += axisreport.sections(run)
        lat = latency_charts(run, outdir)
        if lat:
            md += ['## Latency', '']
            for title, f in lat:
                md += ['![%s](%s)' % (title, f), '']
        md += latreport.sections(run, outdir)
        md += cell_tables(run)
        md += libraries_section(run)
    else:
        md += ['How each row is measured and what every column means: '
            '[results/README.md](%s).' % readme, '']
    md += cost_sections(run)
    md += errors_section(run)
    if base is not None:
        md += against_section(run, base)
    return '\n'.join(md) + '\n'


def render(paths, outdir=None):
    """Write report.md and its charts (into outdir, default the run's
    directory next to its CSV); return the report's path."""
    if not paths:
        raise ReportError('no CSV given (usage: suite/report RUN.csv '
            '[BASELINE.csv])')
    run = load(paths[0])
    base = load(paths[1]) if len(paths) > 1 else None
    outdir = outdir or run.dir
    os.makedirs(outdir, exist_ok=True)
    text = markdown(run, outdir, base)
    path = os.path.join(outdir, 'report.md')
    with open(path, 'w') as f:
        f.write(text)
    return path


def main(argv):
    if not argv or argv[0] in ('-h', '--help'):
        print(USAGE, end='')
        return 0 if argv else 2
    if len(argv) > 2:
        print('report: one run and at most one baseline (see --help)',
            file=sys.stderr)
        return 2
    try:
        if argv and os.path.exists(argv[0]):
            # the per-cell intervals and comparisons the report reads
            cellstats.write(argv[0])
        path = render(argv)
    except ReportError as e:
        print('report: %s' % e, file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
