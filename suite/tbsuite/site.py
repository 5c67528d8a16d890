"""suite/site: a static results site generated from results/ alone.

Plain HTML, one style sheet and SVG charts as files; no JavaScript, no
network, relative links only, so it opens from disk and serves from any
directory.  Pages:

  index.html            the newest run of each profile: per certificate
                        and TLS version, each library's server CPU per
                        request per kind of request, with its interval and
                        its verdict against the reference; every run
  runs/<id>/index.html  one run: its report (every table and chart, made
                        by tbsuite.report), its files, CPU facts, library
                        builds and the exact commands
  trends.html           each headline figure across runs, marking library
                        upgrades
  methods.html          results/README.md: how a row is measured

The output directory is replaced whole; one that is not a site made here
is left alone (an error says so).
"""

import argparse
import collections
import html
import os
import re
import shutil
import sys

from . import charts, cli, figures, index, report
from .figures import label_key, mode_key, mode_title

log = cli.logger('site')
MARKER = '.tlsbench-site'

USAGE = """\
usage: suite/site [--results DIR] [--out DIR]

Builds the static results site from the runs in DIR (default results/:
every RUN_ID.csv with its RUN_ID/ directory; results/index.csv when
present) into OUT (default build/site/): open OUT/index.html in a browser.
OUT is replaced whole; a directory that suite/site did not make is refused.
Exit 0 when every run rendered, 1 when some could not be read (the site
lists them), 2 on a usage error.
"""

CSS = """\
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 0 auto;
  max-width: 1180px; padding: 0 20px 40px; color: #222; line-height: 1.45; }
nav { border-bottom: 1px solid #ccc; padding: 10px 0; margin-bottom: 10px; }
nav a { margin-right: 18px; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid
  #eee; } h3 { margin-top: 1.4em; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.86em; }
th, td { border: 1px solid #d6d6d6; padding: 3px 7px; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; white-space: nowrap; }
td.better { color: #1a7f37; font-weight: bold; }
td.worse { color: #b42318; font-weight: bold; }
.wide { overflow-x: auto; }
img.chart { max-width: 100%; height: auto; border: 1px solid #eee; }
code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 0.86em; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto;
  white-space: pre-wrap; word-break: break-all; }
.note { color: #555; }
details { margin: 4px 0; }
"""


class SiteError(Exception):
    pass


# ---------------------------------------------------------------- markdown
INLINE = re.compile(r'`([^`]+)`|\*\*(.+?)\*\*|!\[([^\]]*)\]\(([^)\s]+)\)|'
    r'\[([^\]]+)\]\(([^)\s]+)\)')
VERDICT = re.compile(r'^([+-])\d+(\.\d+)?%$')


def inline(text, link):
    """The report's inline markdown: `code`, **bold**, images, links."""
    out, pos = [], 0
    for m in INLINE.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        code, bold, alt, src, label, href = m.groups()
        if code is not None:
            out.append('<code>%s</code>' % html.escape(code))
        elif bold is not None:
            out.append('<strong>%s</strong>' % inline(bold, link))
        elif src is not None:
            out.append('<a href="%s"><img class="chart" src="%s" alt="%s">'
                '</a>' % ((html.escape(link(src)),) * 2 + (
                html.escape(alt),)))
        else:
            out.append('<a href="%s">%s</a>' % (html.escape(link(href)),
                inline(label, link)))
        pos = m.end()
    return ''.join(out) + html.escape(text[pos:])


def _cells(line):
    return [c.strip() for c in line.strip().strip('|').split('|')]


def _table(lines, link):
    head, align, body = _cells(lines[0]), _cells(lines[1]), lines[2:]
    right = [a.endswith(':') for a in align]
    out = ['<div class="wide"><table>', '<tr>%s</tr>' % ''.join(
        '<th>%s</th>' % inline(h, link) for h in head)]
    for line in body:
        tds = []
        for i, c in enumerate(_cells(line)):
            cls = ['num'] if i < len(right) and right[i] else []
            m = VERDICT.match(c)
            if m:
                cls.append('better' if m.group(1) == '-' else 'worse')
            tds.append('<td%s>%s</td>' % (' class="%s"' % ' '.join(cls)
                if cls else '', inline(c, link)))
        out.append('<tr>%s</tr>' % ''.join(tds))
    return out + ['</table></div>']


def md_to_html(text, link=lambda href: href):
    """The markdown subset reports are written in (headings, paragraphs,
    lists, tables, images, links, code, bold) as HTML; link() rewrites
    each link and image source."""
    out, para, lines = [], [], text.splitlines()

    def flush():
        if para:
            out.append('<p>%s</p>' % inline(' '.join(para), link))
            del para[:]
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if not line.strip():
            flush()
        elif line.startswith('#'):
            flush()
            level = len(line) - len(line.lstrip('#'))
            title = line[level:].strip()
            out.append('<h%d id="%s">%s</h%d>' % (level, slug(title),
                inline(title, link), level))
        elif line.startswith('|'):
            flush()
            j = i
            while j < len(lines) and lines[j].startswith('|'):
                j += 1
            out += _table(lines[i:j], link)
            i = j
            continue
        elif line.startswith('- '):
            flush()
            items = []
            while i < len(lines) and lines[i].startswith('- '):
                items.append('<li>%s</li>' % inline(lines[i][2:], link))
                i += 1
            out.append('<ul>%s</ul>' % ''.join(items))
            continue
        else:
            para.append(line.strip())
        i += 1
    flush()
    return '\n'.join(out)


def slug(text):
    return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')


# ---------------------------------------------------------------- pages
def page(title, body, depth=0):
    """A whole page; depth: directories below the site's root."""
    up = '../' * depth
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, '
        'initial-scale=1"><title>%s</title>'
        '<link rel="stylesheet" href="%sstyle.css"></head><body>\n'
        '<nav><a href="%sindex.html">tlsbench results</a>'
        '<a href="%strends.html">trends</a>'
        '<a href="%smethods.html">how runs are measured</a></nav>\n'
        '%s\n</body></html>\n' % (html.escape(title), up, up, up, up, body))


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def table(header, rows, right=()):
    """An HTML table of already-escaped cells; right: figure columns."""
    out = ['<div class="wide"><table><tr>%s</tr>' % ''.join('<th>%s</th>' %
        h for h in header)]
    for r in rows:
        out.append('<tr>%s</tr>' % ''.join('<td%s>%s</td>' % (
            ' class="num"' if i in right else '', c) for i, c in
            enumerate(r)))
    return '\n'.join(out + ['</table></div>'])


def short_commit(commit):
    return commit[:8] + (' (uncommitted changes)' if commit.endswith(
        '-dirty') else '') if commit else '–'


def run_link(run_id, depth=0):
    return '%sruns/%s/index.html' % ('../' * depth, run_id)


# ---------------------------------------------------------------- run page
def copy_run_files(results, run_id, dest):
    """The run's CSV and files (cells.csv, comparisons.csv, run.json,
    cost/, memory/) next to its page, so every link stays in the site."""
    src = os.path.join(results, run_id)
    shutil.copy(os.path.join(results, run_id + '.csv'), dest)
    if not os.path.isdir(src):
        return
    for name in os.listdir(src):
        p = os.path.join(src, name)
        if os.path.isdir(p) and name in ('cost', 'memory'):
            shutil.copytree(p, os.path.join(dest, name))
        elif name.endswith(('.csv', '.json', '.txt')):
            shutil.copy(p, dest)


def facts(text):
    """`k=v;k=v` -> [(k, v)]."""
    out = []
    for part in (text or '').split(';'):
        k, _, v = part.partition('=')
        if k.strip():
            out.append((k.strip(), v.strip()))
    return out


def builds_section(run):
    out = ['<h2 id="library-builds">Library builds</h2>', '<p class="note">'
        'What each server reported about its library (<code>--version'
        '</code>; <code>buildinfo.*</code>: the BUILDINFO file '
        'suite/libs/build.sh writes with a tuned build).</p>']
    for label, text in run.build_facts().items():
        out.append('<details><summary>%s</summary>' % html.escape(label))
        out.append(table(['fact', 'value'], [[html.escape(k), html.escape(v)]
            for k, v in facts(text)]))
        out.append('</details>')
    return '\n'.join(out)


def cpu_section(run):
    f = run.first
    cpus = sorted({(r.get('server_cpus', ''), r.get('client_cpus', ''))
        for r in run.rows})
    rows = [['host', f['host']], ['CPU model', f['cpu_model']],
        ['cores the runner could use', f['cores']], ['kernel', f['kernel']],
        ['crypto features', f['cpu_flags'] or 'none'],
        ['server / client CPUs', '; '.join('server %s, client %s' % p
            for p in cpus) or '–']]
    return '<h2 id="cpu">CPU</h2>\n' + table(['', ''], [[html.escape(a),
        html.escape(b)] for a, b in rows])


def commands_section(run):
    out = ['<h2 id="commands">Commands</h2>', '<p>The run:</p>',
        '<pre>%s</pre>' % html.escape(run.command()),
        '<p class="note">Each cell\'s server and load generator, as its '
        'first row ran them (ports and temporary paths differ per row; '
        'every row\'s are in the CSV).</p>']
    for c in sorted(run.cells, key=lambda c: (mode_key(c['mode']),
            c.where(), label_key(c))):
        r = (c.ok or c.rows or [{}])[0]
        out.append('<details><summary>%s, %s, %s</summary><pre>%s\n%s</pre>'
            '</details>' % (html.escape(c.label()), html.escape(mode_title(
            c['mode'])), html.escape(c.where()), html.escape(r.get(
            'server_command', '')), html.escape(r.get('command', ''))))
    return '\n'.join(out)


def files_section(dest):
    names = sorted(n for n in os.listdir(dest) if n.endswith(('.csv',
        '.json', '.md')) or n in ('cost', 'memory'))
    return '<h2 id="files">Files</h2>\n<ul>%s</ul>' % ''.join(
        '<li><a href="%s">%s</a></li>' % (html.escape(n + ('/' + _first(
        dest, n) if os.path.isdir(os.path.join(dest, n)) else '')),
        html.escape(n)) for n in names)


def _first(dest, name):
    """A directory link must name a file (file:// shows no index)."""
    for base, _, files in sorted(os.walk(os.path.join(dest, name))):
        for f in sorted(files):
            if f.endswith('.csv'):
                return os.path.relpath(os.path.join(base, f), os.path.join(
                    dest, name))
    return ''


def run_page(results, out, run):
    dest = os.path.join(out, 'runs', run.id)
    os.makedirs(dest, exist_ok=True)
    copy_run_files(results, run.id, dest)
    text = report.markdown(run, dest)
    write(os.path.join(dest, 'report.md'), text)

    def link(href):
        return '../../methods.html' if href == '../README.md' else href
    sections = [(slug(t), t) for t in re.findall(r'^## (.+)$', text,
        re.M)] + [('files', 'Files'), ('cpu', 'CPU'), ('library-builds',
        'Library builds'), ('commands', 'Commands')]
    body = md_to_html(text, link)
    h1 = body.index('</h1>') + len('</h1>')
    body = body[:h1] + '\n<p>%s</p>' % ' · '.join('<a href="#%s">%s</a>' %
        (a, html.escape(t)) for a, t in sections) + body[h1:]
    body += '\n' + files_section(dest)
    body += '\n' + cpu_section(run)
    body += '\n' + builds_section(run)
    body += '\n' + commands_section(run)
    write(os.path.join(dest, 'index.html'), page('tlsbench run %s' %
        run.id, body, 2))
    return [f for f in report.front_charts(run) if os.path.exists(
        os.path.join(dest, f))]


# ---------------------------------------------------------------- front
# the front page's order: the suite's headline profiles, then any other
FRONT_ORDER = ('default', 'seed-2017', 'libs', 'pq', 'keys', 'ciphers',
    'resumption', 'latency', 'core', 'cost')


def front_page(out, entries, runs, why):
    """entries: index rows, oldest first; runs: {run_id: (Run, [front
    chart files])}; why: {run_id: why it has no page}."""
    newest = {}
    for e in reversed(entries):
        if e['run_id'] in runs and e.get('profile', '') not in newest:
            newest[e.get('profile', '')] = e
    # the headline profiles first, the rest by their newest run
    newest = collections.OrderedDict(sorted(newest.items(), key=lambda kv:
        (FRONT_ORDER.index(kv[0]) if kv[0] in FRONT_ORDER else
        len(FRONT_ORDER), -entries.index(kv[1]))))
    body = ['<h1>tlsbench results</h1>',
        '<p>tlsbench runs one event-driven HTTPS server over several TLS '
        'libraries and measures what each costs the server.  Each chart '
        'shows, for the newest run of a profile, the server CPU time per '
        'request of every library (the bar: the median; the whiskers: its '
        '95% interval) for each kind of request, and the difference from '
        'the panel\'s reference where the interval of the ratio excludes '
        '1 (<strong>-12.3%</strong> less CPU, <strong>+12.3%</strong> '
        'more), <code>~</code> where it does not.  Cells whose server was '
        'not the limit (client- or latency-bound) are hatched and not '
        'compared.  A latency run adds, per kind of request, the p99 '
        'latency against the offered load.  <a href="trends.html">Trends'
        '</a> follow each figure across runs; <a href="methods.html">how '
        'runs are measured</a>.</p>']
    if newest:
        body.append('<p>Profiles: %s.</p>' % ', '.join(
            '<a href="#profile-%s">%s</a>' % (slug(p or 'unknown'),
            html.escape(p or 'unknown')) for p in newest))
    for prof, e in newest.items():
        run, files = runs[e['run_id']]
        body.append('<h2 id="profile-%s">Profile %s</h2>' % (slug(prof or
            'unknown'), html.escape(prof or 'unknown')))
        body.append('<p>Newest run <a href="%s">%s</a>, started %s UTC, '
            'commit <code>%s</code>, %s (%s, %s cores).  %s</p>' % (
            run_link(run.id), html.escape(run.id), html.escape(e.get('utc',
            '')), html.escape(short_commit(e.get('git_commit', ''))),
            html.escape(e.get('host', '')), html.escape(e.get('cpu_model',
            '')), html.escape(e.get('cores', '')), '' if run.source ==
            'cells.csv' or not files else 'Measured before the block '
            'protocol: figures '
            'recomputed from its repeats, intervals below 95% (dashed), no '
            'difference called.'))
        for f in files:
            src = 'runs/%s/%s' % (run.id, f)
            body.append('<p><a href="%s"><img class="chart" src="%s" '
                'alt="%s"></a></p>' % (src, src, html.escape(f[:-4])))
        if not files:
            body.append('<p>No TLS load cell in this run: see <a href="%s">'
                'its page</a>.</p>' % run_link(run.id))
    body.append('<h2 id="runs">Every run</h2>')
    rows = []
    for e in reversed(entries):
        rid = e['run_id']
        links = []
        if rid in runs:
            links.append('<a href="%s">page</a>' % run_link(rid))
            links.append('<a href="runs/%s/%s.csv">CSV</a>' % (rid, rid))
            links.append('<a href="runs/%s/report.md">report.md</a>' % rid)
        rows.append([html.escape(e.get('utc', '')), '<a href="%s">%s</a>' %
            (run_link(rid), html.escape(rid)) if rid in runs else
            html.escape(rid), html.escape(e.get('profile', '') or '–'),
            html.escape(short_commit(e.get('git_commit', ''))),
            html.escape('%s: %s, %s cores, %s' % (e.get('host', ''),
            e.get('cpu_model', ''), e.get('cores', ''), e.get('cpu_flags',
            '') or 'no crypto flags')), html.escape(str(e.get('rows', ''))),
            html.escape(str(e.get('errors', ''))), ' '.join(links) or
            html.escape(why.get(rid, ''))])
    body.append(table(['started (UTC)', 'run', 'profile', 'commit',
        'host and CPU', 'rows', 'not ok', 'files'], rows, right=(5, 6)))
    write(os.path.join(out, 'index.html'), page('tlsbench results',
        '\n'.join(body)))


# ---------------------------------------------------------------- trends
def trend_groups(runs, order):
    """{group: {series key: [(run index, cell)]}} over the headline cells
    of every run; group: the cell's kind and axes but the library."""
    groups = collections.OrderedDict()
    for i, rid in enumerate(order):
        run = runs[rid][0]
        head, _ = figures.headline(run.cells)
        for c in head:
            if c.us is None or not c.tls:
                continue
            g = (c['cert'], c['tls_version'], mode_key(c['mode']),
                c['mode'], c['concurrency'], c['body_bytes'], c['workers'],
                c['resumption']) + tuple(c.get(a) for a in
                figures.EXTRA_AXES)
            s = (label_key(c)[:3], c['server'], c['backend'], c.library,
                c.flavor)
            groups.setdefault(g, collections.OrderedDict()).setdefault(
                s, []).append((i, c))
    return collections.OrderedDict(sorted(groups.items()))


def trends_page(out, entries, runs):
    order = [e['run_id'] for e in entries if e['run_id'] in runs]
    by_id = {e['run_id']: e for e in entries}
    groups = trend_groups(runs, order)
    body = ['<h1>Trends</h1>', '<p>Each headline figure (server CPU per '
        'request, median and 95% interval) across the runs that measured '
        'it, oldest first; the axis names each run\'s commit and start '
        '(UTC).  A triangle points at a library version change.  Runs are '
        'not paired: the machine\'s speed differs between time slots (each '
        'run page states its canary), so a step is a lead to verify, not '
        'a verdict.</p>']
    once = []
    os.makedirs(os.path.join(out, 'charts'), exist_ok=True)
    for g, series in groups.items():
        mode = g[3]
        xs = sorted({i for pts in series.values() for i, _ in pts})
        some = next(iter(series.values()))[0][1]
        title = '%s, %s' % (report.cap(mode_title(mode)), some.where())
        if len(xs) < 2:
            once.append('<li>%s: <a href="%s">%s</a> only</li>' % (
                html.escape(title), run_link(order[xs[0]]),
                html.escape(order[xs[0]])))
            continue
        pos = {x: k for k, x in enumerate(xs)}
        ss = []
        for pts in series.values():
            points, prev = [], None
            for i, c in pts:
                mark = None
                if prev is not None and prev.version != c.version:
                    mark = '%s → %s at %s' % (prev.version, c.version,
                        order[i])
                points.append(charts.Point(pos[i], c.us, mark))
                prev = c
            c = pts[0][1]
            ss.append(charts.Series(c.label(version=False), charts.colour(
                c.family()), points))
        labels = [(short_commit(by_id[order[x]].get('git_commit', ''))
            .replace(' (uncommitted changes)', '+'), by_id[order[x]].get(
            'utc', '')[:16].replace('T', ' ')) for x in xs]
        name = 'trend-%s.svg' % slug(title)
        charts.save(os.path.join(out, 'charts', name), charts.trend(
            title, labels, ss, 'server CPU µs per request', ['Whiskers: 95% '
            'interval (dashed: too few samples for 95%).  A commit ending '
            'in + ran with uncommitted changes.']))
        body.append('<h2 id="%s">%s</h2>' % (slug(title), html.escape(
            title)))
        body.append('<p><a href="charts/%s"><img class="chart" '
            'src="charts/%s" alt="%s"></a></p>' % (name, name,
            html.escape(title)))
    if once:
        body.append('<h2 id="measured-once">Measured in one run only</h2>')
        body.append('<ul>%s</ul>' % ''.join(once))
    if not groups:
        body.append('<p>No run has TLS cells yet.</p>')
    write(os.path.join(out, 'trends.html'), page('tlsbench trends',
        '\n'.join(body)))


# ---------------------------------------------------------------- site
def prepare(out):
    """Empty OUT for a new site; refuse a directory this did not make."""
    if os.path.exists(out):
        if os.listdir(out) and not os.path.exists(os.path.join(out,
                MARKER)):
            raise SiteError('%s exists and is not a site suite/site made '
                '(no %s): remove it or give another --out' % (out, MARKER))
        shutil.rmtree(out)
    os.makedirs(out)
    write(os.path.join(out, MARKER), 'made by suite/site; replaced whole '
        'on every build\n')


def build(results, out):
    """Build the site; return {run_id: why} for runs that could not be
    read."""
    if not os.path.isdir(results):
        raise SiteError('no results directory %s (give --results DIR)' %
            results)
    prepare(out)
    write(os.path.join(out, 'style.css'), CSS)
    readme = os.path.join(results, 'README.md')
    if not os.path.exists(readme):
        # a results branch holds runs only: the tree's own description
        readme = os.path.join(cli.ROOT, 'results', 'README.md')
    methods = '<p>results/README.md is missing.</p>'
    if os.path.exists(readme):
        with open(readme, encoding='utf-8') as f:
            methods = md_to_html(f.read())
    write(os.path.join(out, 'methods.html'), page('How runs are measured',
        methods))
    entries = index.runs(results)
    runs, failed, notes = {}, {}, {}
    for e in entries:
        if not e.get('csv'):
            notes[e['run_id']] = 'no matrix CSV: see its cost/ and memory/'
            continue
        try:
            run = report.load(os.path.join(results, e['csv']))
        except report.ReportError as err:
            failed[e['run_id']] = str(err)
            log('%s: cannot read: %s' % (e['run_id'], err))
            continue
        runs[run.id] = (run, run_page(results, out, run))
    front_page(out, entries, runs, dict(notes, **failed))
    trends_page(out, entries, runs)
    return failed


def main(argv):
    p = argparse.ArgumentParser(add_help=False, usage=argparse.SUPPRESS)
    p.add_argument('--results', default=os.path.join(cli.ROOT, 'results'))
    p.add_argument('--out', default=os.path.join(cli.ROOT, 'build',
        'site'))
    p.add_argument('-h', '--help', action='store_true')
    try:
        a = p.parse_args(argv)
    except SystemExit:
        print(USAGE, end='', file=sys.stderr)
        return 2
    if a.help:
        print(USAGE, end='')
        return 0
    try:
        bad = build(os.path.abspath(a.results), os.path.abspath(a.out))
    except (SiteError, OSError) as e:
        log(str(e))
        return 2
    print(os.path.join(a.out, 'index.html'))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
