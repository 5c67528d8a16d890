"""The report's sections that vary one axis of the cells per library and
compare each value with a baseline value of the same library:

  pq       key-exchange groups (the post-quantum hybrids) against X25519:
           handshake CPU, the handshake's bytes each way, the ratio
  keys     certificate key types against ECDSA P-256: the same figures
  ciphers  TLS 1.3 suites against AES-128-GCM: server CPU per MiB of bulk
           bodies, and per keep-alive request

A section appears when the run's cells of its modes pin at least two
values of its axis, the baseline among them; it shows the cells that
differ from another cell in that axis alone.  The baseline of a cell is
the cell with the same axes but the baseline value (its twin); the ratio
is the run's comparison of the two (comparisons.csv, else paired by
block), on server CPU per request: between two cells of the same body
that is also the ratio of CPU per MiB.  Cells a library refused are rows
with the library's own line.
"""

import collections

from . import figures, stats, tables
from .figures import HANDSHAKE_MODES, label_key, mode_key, mode_title

MIB = 1024 * 1024


class Section:
    """One varied axis: its cells' modes, the figure shown (Cell
    attribute: us or us_per_mib), and the words around it."""

    def __init__(self, key, title, axis, baseline, modes, metric, unit,
            intro, wire=False):
        self.key, self.title, self.axis, self.baseline = key, title, \
            axis, baseline
        self.modes, self.metric, self.unit = modes, metric, unit
        self.intro, self.wire = intro, wire


WIRE_NOTE = ('Bytes: what each side sent from the first byte of the '
    'ClientHello to the end of the handshake (TLS records, as the load '
    'generator counts them), the mean over a window\'s handshakes and the '
    'median over its blocks; the same for every handshake of a '
    'configuration, up to a few bytes.')
SECTIONS = (
    Section('pq', 'Post-quantum key exchange', 'group', 'X25519',
        HANDSHAKE_MODES, 'us', 'server µs/req',
        'Each library\'s key-exchange groups against its own X25519, the '
        'other axes the same: server CPU per handshake request with its '
        '95% interval, the bytes each way, and the ratio to X25519 paired '
        'by block with its verdict.  `refused`: the library (or the load '
        'generator\'s OpenSSL) has no such group and said so at start-up, '
        'in the line shown.  ' + WIRE_NOTE, wire=True),
    Section('keys', 'Key types', 'cert', 'ecdsa-p256', HANDSHAKE_MODES,
        'us', 'server µs/req',
        'Each library\'s certificate key types against its own ECDSA '
        'P-256 (every certificate issued from an intermediate: a chain of '
        'two), the other axes the same: server CPU per handshake request '
        'with its 95% interval, the bytes each way, and the ratio to ECDSA '
        'P-256 paired by block with its verdict.  A resumed handshake '
        'signs nothing and sends no certificate.  `refused`: the library '
        'has no such key type.  ' + WIRE_NOTE, wire=True),
    Section('ciphers', 'Ciphers: server CPU per MiB', 'suite',
        'TLS_AES_128_GCM_SHA256', ('bulk',), 'us_per_mib',
        'server µs/MiB',
        'Each library\'s TLS 1.3 suites against its own AES-128-GCM in '
        'bulk transfers (keep-alive requests of large bodies): server CPU '
        'per MiB of bodies sent, with its 95% interval, and the ratio '
        'paired by block with its verdict.  AES-GCM runs on AES-NI/VAES '
        'and carry-less multiply where the build has them, ChaCha20-Poly1305 '
        'on vector units.  On two cores a bulk window is usually '
        'client-bound (the one client core decrypts what the server '
        'encrypts): the server\'s CPU per MiB is its own work per byte all '
        'the same, and the bound column says which side was the limit.'),
    Section('ciphers-keepalive', 'Ciphers: keep-alive requests', 'suite',
        'TLS_AES_128_GCM_SHA256', ('keepalive',), 'us', 'server µs/req',
        'The same suites on keep-alive requests of the run\'s body: '
        'server CPU per request, where the record layer is a smaller part '
        'of the work.'),
)


def present(value):
    return value not in ('', '-', None)


def fmt_bytes(x):
    return '–' if x is None else '{:,.0f}'.format(x)


def rest(cell, axis):
    """The cell's identity but for one axis."""
    return tuple(sorted((k, v) for k, v in cell.axes.items() if k != axis))


def twin(cell, cells, axis, value):
    """The cell with every axis of `cell` but `axis`, which is `value`."""
    me = rest(cell, axis)
    return next((o for o in cells if o[axis] == value and
        rest(o, axis) == me), None)


def kind(c):
    """The kind of request, with the body where it is what varies."""
    what = mode_title(c['mode'])
    if c['mode'] in ('bulk', 'keepalive'):
        what += ', %s' % tables.body_label(c['body_bytes'])
    return what


def figure_text(c, metric):
    if c.status == 'refused':
        return 'refused: %s' % '; '.join(c.reasons())
    value = getattr(c, metric)
    if value is None:
        return '%s: %s' % (c.status or 'no figure', '; '.join(
            c.reasons())[:160]) if c.reasons() else '–'
    return stats.fmt(value)


def throughput(c):
    """MiB of bodies per second: requests/s times the body."""
    body = figures.num(c['body_bytes'])
    if c.rps is None or not body:
        return '–'
    f = body / MIB
    return stats.fmt(stats.Interval(c.rps.value * f, c.rps.lo * f,
        c.rps.hi * f, c.rps.n, c.rps.level))


# axes a library's table names per row when its cells differ in them
# (besides the section's axis, and the mode and body its `kind` names)
OTHER_AXES = ('tls_version', 'cert', 'group', 'suite', 'resumption',
    'concurrency', 'workers', 'io')


def varying(spec, cells):
    return [a for a in OTHER_AXES if a != spec.axis and
        len({c[a] for c in cells}) > 1]


def library_rows(run, spec, cells, order):
    """One table row per cell of one library, ordered by mode, body, the
    other axes and the axis values' order in the run."""
    rows = []
    others = varying(spec, cells)
    for c in sorted(cells, key=lambda c: (mode_key(c['mode']),
            int(figures.num(c['body_bytes']) or 0), [c[a] for a in others],
            order.index(c[spec.axis]))):
        row = [c[spec.axis], kind(c)]
        if others:
            row.append(', '.join('%s %s' % (a, c[a]) for a in others))
        row.append(figure_text(c, spec.metric))
        if spec.wire:
            row += [fmt_bytes(c.wire.get('hs_server_bytes')),
                fmt_bytes(c.wire.get('hs_client_bytes'))]
        if spec.metric == 'us_per_mib':
            row.append(throughput(c) if c.ok else '–')
        base = twin(c, run.cells, spec.axis, spec.baseline)
        if c[spec.axis] == spec.baseline:
            row += ['baseline', '', '']
        elif base is None or not c.ok or not base.ok:
            row += ['–', '–', '–']
        else:
            cmp_ = run.compare(c, base)
            row += [stats.fmt(cmp_.ratio) if cmp_ else '–', cmp_.verdict
                if cmp_ else '–', 'yes' if cmp_ and cmp_.both_server_bound
                else 'no']
        row.append(c.bound or '–')
        rows.append(row)
    return rows


def section(run, spec):
    """The section's markdown lines, or [] when the run does not vary
    its axis against the baseline."""
    from .report import md_table    # report.py imports this module
    cells = [c for c in run.cells if c['mode'] in spec.modes and
        present(c[spec.axis])]
    # only cells whose other axes another value of this one shares
    alike = collections.Counter(rest(c, spec.axis) for c in cells)
    cells = [c for c in cells if alike[rest(c, spec.axis)] > 1]
    order = []
    for c in cells:
        if c[spec.axis] not in order:
            order.append(c[spec.axis])
    if len(order) < 2 or spec.baseline not in order:
        return []
    by_lib = collections.OrderedDict()
    for c in sorted(cells, key=label_key):
        by_lib.setdefault(c.label(), []).append(c)
    md = ['## %s' % spec.title, '', spec.intro, '']
    for label, cs in by_lib.items():
        header = [spec.axis, 'kind'] + (['other axes'] if varying(spec, cs)
            else []) + [spec.unit + ' [95% CI]']
        if spec.wire:
            header += ['bytes server→client', 'bytes client→server']
        if spec.metric == 'us_per_mib':
            header.append('MiB/s')
        header += ['× %s' % spec.baseline, 'verdict', 'both server-bound',
            'bound']
        md += ['### %s' % label, ''] + md_table(header,
            library_rows(run, spec, cs, order), left=3 if varying(spec, cs)
            else 2) + ['']
    return md


def sections(run):
    out = []
    for spec in SECTIONS:
        out += section(run, spec)
    return out
