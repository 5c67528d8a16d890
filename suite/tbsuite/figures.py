"""A run's figures: per cell a median with its 95% interval, the reference
cell, the machine-speed canary, and ratios between cells with a verdict.

The measurement protocol writes results/<run-id>/cells.csv (one row per
cell) and comparisons.csv (the pairs its profile lists) at the end of a
run; this module reads them by column name (CELLS, COMPARISONS, ROWS below:
a renamed column is one line there).  A run without cells.csv (one measured
before the block protocol) gets the same figures recomputed from its rows
with tbsuite.stats, and Run.source says so.

A ratio between two cells is, in this order of preference: the one
comparisons.csv lists; paired by block (rows with a `block` column: the
ratio of each block's pair cancels that block's machine speed); an
unpaired bootstrap of the two medians (runs without blocks, and across
runs).  Each carries how it was made.
"""

import collections
import os
import re

from . import backends, cellstats, index, results, stats, tables
from .cells import bound_class

# The axes that make a cell, as row columns, in cell-id order; newer runs
# add the EXTRA_AXES (a cell matches across runs on the axes both have).
AXES = ('server', 'lib', 'backend', 'tls_version', 'cert', 'mode',
    'resumption', 'concurrency', 'body_bytes', 'workers')
EXTRA_AXES = ('group', 'suite', 'io', 'psk', 'resume_via', 'load_fraction')
# the resumption axes and the open-loop load: `-` (unset) in a run made
# before them, so its cells match their closed-loop, default twins
UNSET_BEFORE = ('psk', 'resume_via', 'load_fraction')

# cells.csv: meaning -> column (a triple: median, low, high of the 95%
# interval).  Columns named `bound_<class>` are the counts of each class.
CELLS = {
    'id': 'cell',
    'n': 'n',
    'status': 'status',
    'us': ('us_per_req', 'us_per_req_lo', 'us_per_req_hi'),
    'us_per_mib': ('us_per_mib', 'us_per_mib_lo', 'us_per_mib_hi'),
    'rps': ('rps', 'rps_lo', 'rps_hi'),
    'ratio': ('ratio_to_ref', 'ratio_to_ref_lo', 'ratio_to_ref_hi'),
    'stop_reason': 'stop_reason',
    'bound': 'bound',
    'server_util': 'server_util',
    'canary_ns': 'canary_ns',
    'library': 'library',
    'version': 'version',
    'flavor': 'flavor',
    'is_reference': 'is_reference',
}
BOUND_PREFIX = 'bound_'
COMPARISONS = {'a': 'a', 'b': 'b', 'ratio': ('ratio', 'lo', 'hi'),
    'n': 'n', 'both_server_bound': 'both_server_bound'}
# the run's rows (results/<run-id>.csv)
ROWS = {'id': 'cell', 'us': 'server_us_per_req', 'rps': 'rps',
    'us_per_mib': 'server_us_per_mib', 'floor_us': 'floor_us',
    'ratio': 'ratio_to_ref', 'block': 'block', 'bound': 'bound',
    'server_util': 'server_util', 'canary_ns': 'canary_ns',
    'is_reference': 'is_reference'}

LOAD_MODES = ('full', 'full-tickets', 'resumed', 'keepalive', 'bulk',
    'resumed-0rtt')
# modes with one handshake per request: their cells carry bytes on the wire
HANDSHAKE_MODES = ('full', 'full-tickets', 'resumed', 'resumed-0rtt')
# the kinds of work, in the order reports show them; a mode not listed
# here (a later kind) follows them under its own name
MODE_ORDER = ('full', 'full-tickets', 'resumed', 'resumed-0rtt',
    'keepalive', 'bulk', 'pq', 'keys')
MODE_TITLE = {'full': 'full handshake', 'full-tickets':
    'full handshake, tickets issued', 'resumed': 'resumed handshake',
    'resumed-0rtt': 'resumed handshake with 0-RTT early data',
    'keepalive': 'keep-alive request', 'bulk': 'bulk transfer',
    'pq': 'post-quantum key exchange', 'keys': 'key types'}
# row classification (the protocol's rule, for rows that do not carry it)
SATURATION = 0.9
BOUNDS = ('server', 'client', 'neither')
BOUND_TITLE = {'server': 'server-bound', 'client': 'client-bound',
    'neither': 'latency-bound'}
# the panel reference when the run names none: tlsbench on Debian's OpenSSL
# (server, backend, flavor)
DEFAULT_REFERENCE = ('tlsbench', 'openssl', 'debian')
LIBRARY_NAMES = {'openssl': 'OpenSSL', 'wolfssl': 'wolfSSL',
    'boringssl': 'BoringSSL', 'none': 'no TLS'}
FLAVOR_NAMES = {'debian': 'Debian', 'tuned': 'tuned', 'custom': 'custom'}


def mode_key(mode):
    return (MODE_ORDER.index(mode) if mode in MODE_ORDER else
        len(MODE_ORDER), mode)


def mode_title(mode):
    return MODE_TITLE.get(mode, mode)


def num(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if x == x else None      # NaN is not a figure


def parse_lib(lib):
    """'openssl@3.6.3-tuned' -> ('openssl', '3.6.3', 'tuned');
    'none' -> ('none', '', '')."""
    if not lib or '@' not in lib:
        return (lib or '', '', '')
    name, rest = lib.split('@', 1)
    version, _, flavor = rest.rpartition('-')
    if not version:
        return (name, flavor, '')
    return (name, version, flavor)


def interval(value, lo, hi, n):
    """An order-statistics interval read back from a file: its level is
    the one median_ci reaches with n samples."""
    v, lo, hi = num(value), num(lo), num(hi)
    if v is None:
        return None
    n = max(int(num(n) or 1), 1)
    return stats.Interval(v, v if lo is None else lo, v if hi is None else
        hi, n, stats.median_rank(n)[1])


def row_bound(row, saturation=SATURATION):
    """server | client | neither: the row's own column, or, for a run made
    before rows carried it, the protocol's rule (cells.bound_class) on its
    figures (server utilisation per worker CPU, client share)."""
    b = row.get(ROWS['bound'])
    if b in BOUNDS:
        return b
    util = num(row.get(ROWS['server_util']))
    if util is None:
        cpu = (num(row.get('server_cpu_user_s')) or 0) + (num(row.get(
            'server_cpu_sys_s')) or 0)
        dur = num(row.get('duration_s'))
        workers = num(row.get('workers')) or 1
        util = cpu / dur / workers if dur else None
    if util is None:
        return ''
    return bound_class(util, num(row.get('client_cpu_share')),
        saturation)


class Cell:
    """One cell's figures.  Axes read as cell['mode'] etc.; us, rps and
    ratio are stats.Interval or None."""

    def __init__(self, axes):
        self.axes = axes
        self.id = ''
        self.rows = []          # its rows in the run CSV, in order
        self.ok = []
        self.library = self.version = self.flavor = ''
        self.n = 0
        self.status = ''
        self.us = self.rps = self.ratio = self.us_per_mib = None
        self.wire = {}          # results.WIRE_COLUMNS -> median or None
        self.stop_reason = ''
        self.bound = ''
        self.bound_counts = {}
        self.server_util = self.canary_ns = None
        self.is_reference = False

    def __getitem__(self, key):
        return self.axes.get(key, '')

    def get(self, key, default=''):
        return self.axes.get(key, default)

    @property
    def tls(self):
        return self['tls_version'] not in ('-', '')

    def label(self, version=True):
        """Server, library, version and flavor, in full:
        `tlsbench · OpenSSL 3.6.3 tuned`, `nginx · OpenSSL 3.0.22 Debian`."""
        if self.library in ('none', '') and not self.tls:
            return '%s · plaintext (no TLS)' % self['server']
        lib = LIBRARY_NAMES.get(self.library, self.library)
        parts = [lib, self.version if version else '',
            FLAVOR_NAMES.get(self.flavor, self.flavor)]
        return '%s · %s' % (self['server'], ' '.join(p for p in parts if p))

    def variant(self):
        """How its resumption differs from the default, for labels:
        ` (psk_ke)`, ` (session ID)`, ` (ticket)`; '' otherwise."""
        words = [{'ke': 'psk_ke', 'dhe': 'psk_dhe_ke'}.get(self.get('psk'),
            ''), {'id': 'session ID', 'ticket': 'ticket'}.get(self.get(
            'resume_via'), '')]
        words = [w for w in words if w]
        return ' (%s)' % ', '.join(words) if words else ''

    def differs(self, axes):
        """Its values on `axes` in words, for telling cells of one panel
        apart when those axes vary in it: ` · X25519MLKEM768`,
        ` · AES_256_GCM`, ` · io core`, ` · 2 workers`; nothing for an
        axis that does not apply to it (`-`)."""
        words = []
        for a in axes:
            v = self.get(a)
            if v in ('', '-'):
                continue
            if a == 'suite':
                v = re.sub(r'^TLS_|_SHA(256|384)$', '', v)
            elif a == 'io':
                v = 'io ' + v
            elif a == 'workers':
                v = '%s worker%s' % (v, '' if v == '1' else 's')
            words.append(v)
        return ''.join(' · ' + w for w in words)

    def family(self):
        """What picks its colour: the library for tlsbench, the server
        for the reference servers (they use the system library)."""
        if self['server'] == 'tlsbench':
            return (self.library or self['backend'], self.flavor)
        return (self['server'], self.flavor)

    def series_key(self):
        """The same measurement across runs: every axis but the library's
        version (an upgrade is a point in the series, not a new one)."""
        return tuple(self.get(a) for a in AXES + EXTRA_AXES
            if a != 'lib') + (self.library, self.flavor)

    def where(self, skip=()):
        """The cell's other axes in words: `TLS 1.3 ecdsa-p256, c=100,
        20k, 1 worker`; `skip` leaves out extra axes a caller shows
        another way."""
        tls = 'TLS %s %s' % (self['tls_version'], self['cert']) if \
            self.tls else 'plaintext'
        extra = ['%s %s' % (a, self[a]) for a in EXTRA_AXES
            if a not in skip and self.get(a) not in ('', '-')]
        res = self['resumption']
        return ', '.join([tls] + extra + ['c=%s' % self['concurrency'],
            tables.body_label(self['body_bytes']) if self['body_bytes']
            else '?', '%s worker%s' % (self['workers'], '' if
            self['workers'] == '1' else 's')] + (['resumption %s' % res]
            if res not in ('', '-') else []))

    def samples(self, what='us'):
        return [v for v in (num(r.get(ROWS[what])) for r in self.ok)
            if v is not None]

    def by_block(self, what='us'):
        """{block: value} of its ok rows (the last one of a block)."""
        out = {}
        for r in self.ok:
            b, v = r.get(ROWS['block']), num(r.get(ROWS[what]))
            if b not in (None, '') and v is not None:
                out[b] = v
        return out

    def reasons(self):
        return sorted({r['reason'] for r in self.rows if r.get('reason')})


class Comparison:
    """a against b: ratio (stats.Interval of a/b), its verdict, how it was
    made (listed, paired, unpaired) and whether both were server-bound."""

    def __init__(self, a, b, ratio, how, both_server_bound=None):
        self.a, self.b, self.ratio, self.how = a, b, ratio, how
        if both_server_bound is None:
            both_server_bound = a.bound == 'server' and b.bound == 'server'
        self.both_server_bound = both_server_bound

    @property
    def verdict(self):
        return stats.verdict(self.ratio)

    HOW = {'listed': 'paired by block (comparisons.csv)',
        'paired': 'paired by block', 'unpaired': 'unpaired bootstrap'}


def _axes(row, names):
    return {a: row.get(a, '') for a in names if a in row}


def _key(axes):
    return tuple(sorted((k, v) for k, v in axes.items() if v != ''))


def _from_rows(rows):
    """Cells recomputed from the rows (the run had no cells.csv), by the
    code that writes cells.csv; rows without a `bound` get theirs derived
    first (a run made before rows carried it)."""
    derived = []
    for r in rows:
        r = dict(r)
        r[ROWS['bound']] = row_bound(r)
        derived.append(r)
    return _from_cell_lines(cellstats.cells(derived, {}), rows)


def _attach_rows(cell, rows):
    cell.rows = rows
    cell.ok = [r for r in rows if r.get('status') == 'ok']


def _from_cells_csv(path, rows):
    """Cells as the run summarised them, joined to their rows by axes."""
    return _from_cell_lines(results.read(path), rows)


def _from_cell_lines(table, rows):
    """Cell objects from cells.csv lines (read back, or made from the rows
    by cellstats), joined to their rows."""
    rows_by = collections.defaultdict(list)
    for r in rows:
        rows_by[r[ROWS['id']]].append(r)
    cells = []
    for t in table:
        names = [a for a in AXES + EXTRA_AXES if a in t]
        c = Cell(_axes(t, names))
        want = _key(c.axes)
        c.id = t.get(CELLS['id']) or next((cid for cid, rs in
            rows_by.items() if _key(_axes(rs[0], names)) == want), '')
        _attach_rows(c, rows_by.get(c.id, []))
        for a in UNSET_BEFORE:
            c.axes[a] = c.axes.get(a) or '-'
        lib = parse_lib(t.get('lib'))
        c.library = t.get(CELLS['library']) or lib[0]
        c.version = t.get(CELLS['version']) or lib[1]
        c.flavor = t.get(CELLS['flavor']) or lib[2]
        c.n = int(num(t.get(CELLS['n'])) or 0)
        c.status = t.get(CELLS['status'], '')
        for what in ('us', 'rps', 'ratio', 'us_per_mib'):
            v, lo, hi = (t.get(k) for k in CELLS[what])
            setattr(c, what, interval(v, lo, hi, c.n))
        c.wire = {k: num(t.get(k)) for k in results.WIRE_COLUMNS}
        c.stop_reason = t.get(CELLS['stop_reason'], '')
        c.bound = t.get(CELLS['bound'], '')
        c.bound_counts = {k[len(BOUND_PREFIX):]: int(num(v) or 0)
            for k, v in t.items() if k.startswith(BOUND_PREFIX)}
        c.server_util = num(t.get(CELLS['server_util']))
        c.canary_ns = num(t.get(CELLS['canary_ns']))
        c.is_reference = t.get(CELLS['is_reference']) == 'yes' or any(
            r.get(ROWS['is_reference']) == 'yes' for r in c.rows)
        cells.append(c)
    return cells


def _parse_spec(text):
    """`server=tlsbench backend=openssl tls=1.3` (a profile's reference)
    -> {'server': 'tlsbench', ...} in row-column names."""
    rename = {'tls': 'tls_version', 'body': 'body_bytes',
        'load': 'load_fraction'}
    out = {}
    for word in (text or '').replace(',', ' ').split():
        k, _, v = word.partition('=')
        if v:
            out[rename.get(k, k)] = v
    return out


class Run:
    """One run: its rows, meta (run.json), cells and comparisons."""

    def __init__(self, csv_path):
        self.csv = csv_path
        self.all_rows = results.read(csv_path)
        if not self.all_rows:
            raise ValueError('%s has no rows' % csv_path)
        first = self.all_rows[0]
        self.id = first['run_id']
        self.dir = os.path.join(os.path.dirname(os.path.abspath(csv_path)),
            self.id)
        self.first = first
        self.meta = index.meta(self.dir)
        self.rows = [r for r in self.all_rows if r['mode'] in LOAD_MODES]
        cells_csv = os.path.join(self.dir, 'cells.csv')
        if os.path.exists(cells_csv):
            self.source = 'cells.csv'
            self.cells = _from_cells_csv(cells_csv, self.rows)
        else:
            self.source = 'rows'
            self.cells = _from_rows(self.rows)
        self.by_id = {c.id: c for c in self.cells}
        self.listed = self._read_comparisons()
        self.reference = self._reference()
        self._compared = {}

    # ---- facts
    def profile(self):
        return index.profile(self.meta)

    def command(self):
        argv = self.meta.get('argv')
        if argv is None:
            argv = ['--profile', self.profile() or 'default']
        return ' '.join(['suite/run_matrix.sh'] + list(argv))

    def build_facts(self):
        """{cell label: the build facts its server reported}, one per
        server and library, in table order."""
        out = collections.OrderedDict()
        for c in sorted(self.cells, key=label_key):
            if c.rows:
                out.setdefault(c.label(), c.rows[0].get('build_facts', ''))
        return out

    def blocks(self):
        return any(r.get(ROWS['block']) not in (None, '') for r in self.rows)

    def canary(self):
        """(min, median, max) of the canary in ns over the ok rows (the
        cells' medians when rows lack it), or None."""
        xs = [v for v in (num(r.get(ROWS['canary_ns'])) for r in self.rows
            if r.get('status') == 'ok') if v is not None]
        if not xs:
            xs = [c.canary_ns for c in self.cells if c.canary_ns]
        if not xs:
            return None
        return min(xs), stats.median(xs), max(xs)

    # ---- the reference
    def _reference(self):
        marked = [c for c in self.cells if c.is_reference]
        if marked:
            return marked[0]
        spec = _parse_spec(self.meta.get('reference') or (self.meta.get(
            'settings') or {}).get('reference'))
        if spec:
            for c in self.cells:
                if all(c[k] == v or (k == 'body_bytes' and
                        tables.body_label(c[k] or 0) == v)
                        for k, v in spec.items()):
                    return c
        return None

    def panel_reference(self, cells):
        """The cell the others in `cells` are compared with: the run's
        reference if among them, else the one of the same server and
        library, else tlsbench on Debian's OpenSSL, else none."""
        ref = self.reference
        if ref in cells:
            return ref
        want = (ref['server'], ref['backend'], ref.flavor) if ref else \
            DEFAULT_REFERENCE
        for c in cells:
            if (c['server'], c['backend'], c.flavor) == want and \
                    c.us is not None:
                return c
        return None

    # ---- comparisons
    def _read_comparisons(self):
        path = os.path.join(self.dir, 'comparisons.csv')
        if not os.path.exists(path):
            return []
        out = []
        for t in results.read(path):
            a, b = self.by_id.get(t.get(COMPARISONS['a'])), self.by_id.get(
                t.get(COMPARISONS['b']))
            if a is None or b is None:
                continue
            v, lo, hi = (t.get(k) for k in COMPARISONS['ratio'])
            iv = interval(v, lo, hi, t.get(COMPARISONS['n']))
            if iv is None:
                continue
            both = t.get(COMPARISONS['both_server_bound'])
            out.append(Comparison(a, b, iv, 'listed', both in ('yes',
                'true', '1') if both else None))
        return out

    def compare(self, a, b):
        """a against b (a / b of server CPU per request), or None: the
        listed pair (either way round), else compare_cells.  Kept, so a
        chart and a table show the same bootstrap."""
        key = (id(a), id(b))
        if key not in self._compared:
            self._compared[key] = self._compare(a, b)
        return self._compared[key]

    def _compare(self, a, b):
        for c in self.listed:
            if (c.a, c.b) == (a, b):
                return c
            if (c.a, c.b) == (b, a):
                r = c.ratio
                return Comparison(a, b, stats.Interval(1 / r.value,
                    1 / r.hi, 1 / r.lo, r.n, r.level), 'listed',
                    c.both_server_bound)
        return compare_cells(a, b)


def compare_cells(a, b, what='us'):
    """a / b: paired by block when both ran in the same blocks, else an
    unpaired bootstrap of the medians; None without samples."""
    if a is b:
        return Comparison(a, b, stats.Interval(1.0, 1.0, 1.0, a.n,
            1.0), 'paired')
    pa, pb = a.by_block(what), b.by_block(what)
    common = [k for k in pa if k in pb]
    if common:
        iv = stats.paired_ratio([pa[k] for k in common],
            [pb[k] for k in common])
        return Comparison(a, b, iv, 'paired')
    return compare_unpaired(a, b, what)


def across(new, old):
    """[(cell of new, cell of old, Comparison)] for every cell measured in
    both runs (matched on the axes both runs have, the library's version
    aside), bootstrap of server CPU per request."""
    olds = {c.series_key(): c for c in old.cells}
    out = []
    for c in new.cells:
        o = olds.get(c.series_key())
        if o is None:
            continue
        cmp_ = compare_unpaired(c, o)
        if cmp_ is not None:
            out.append((c, o, cmp_))
    return out


def compare_unpaired(a, b, what='us'):
    """a / b by a bootstrap of the two medians (fixed seed), or None."""
    sa, sb = a.samples(what), b.samples(what)
    if not sa or not sb or not stats.median(sb):
        return None
    return Comparison(a, b, stats.bootstrap_ratio(sa, sb), 'unpaired')


def varying(cells, axes):
    """Those of `axes` on which `cells` take more than one value, for
    labels that must tell them apart; an axis that does not apply to a
    cell (`-`, nginx's io) or is unset is no value."""
    return [a for a in axes if len({c.get(a) for c in cells} -
        {'', '-'}) > 1]


def headline(cells):
    """The cells at the run's usual concurrency, body and workers (of its
    TLS cells), one per server, library, TLS version, certificate and mode
    (the mode's most common resumption where several), closed loop: what
    the charts compare.  Returns (cells, {axis: value})."""
    keys = ('concurrency', 'body_bytes', 'workers')
    cells = [c for c in cells if c.get('load_fraction') in ('', '-')]
    tls = [c for c in cells if c.tls] or cells
    want = {}
    for k in keys:
        common = collections.Counter(c[k] for c in tls).most_common(1)
        want[k] = common[0][0] if common else ''
    sel = [c for c in cells if all(c[k] == want[k] for k in keys)]
    res = {m: collections.Counter(c['resumption'] for c in sel
        if c['mode'] == m).most_common(1)[0][0] for m in {c['mode']
        for c in sel}}
    out, seen = [], set()
    for c in sorted(sel, key=lambda c: c['resumption'] != res[c['mode']]):
        k = (c['server'], c.library, c.version, c.flavor, c['backend'],
            c['tls_version'], c['cert'], c['mode']) + tuple(c.get(a)
            for a in EXTRA_AXES)
        if k not in seen:
            seen.add(k)
            out.append(c)
    order = {id(c): i for i, c in enumerate(cells)}
    out.sort(key=lambda c: order[id(c)])
    return out, want


SERVER_ORDER = ('tlsbench', 'nginx', 'asyncio')
FLAVOR_ORDER = ('debian', 'tuned', 'custom')


def label_key(c):
    """Order of cells in a table or panel: tlsbench by backend (plaintext
    last), Debian before tuned, then the reference servers."""
    server = SERVER_ORDER.index(c['server']) if c['server'] in \
        SERVER_ORDER else len(SERVER_ORDER)
    b = c['backend']
    backend = backends.BACKENDS.index(b) if b in backends.BACKENDS else 99
    flavor = FLAVOR_ORDER.index(c.flavor) if c.flavor in FLAVOR_ORDER \
        else 9
    return (server, backend, flavor, c.version, c.label())
