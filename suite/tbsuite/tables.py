"""Rows grouped into cells with median and spread: shared by the runner's
summary, the report and compare."""

import statistics

# how a cell is labelled in tables and charts
LABEL_KEYS = ('server', 'backend', 'lib', 'tls_version', 'cert', 'mode',
    'resumption', 'concurrency', 'body_bytes', 'workers')


def num(row, key):
    try:
        return float(row[key])
    except (KeyError, TypeError, ValueError):
        return None


def server_label(row):
    """`tlsbench/openssl`, `nginx`, `asyncio`."""
    if row['server'] == 'tlsbench':
        return 'tlsbench/' + row['backend']
    return row['server']


def body_label(nbytes):
    n = int(nbytes)
    if n % (1024 * 1024) == 0:
        return '%dm' % (n // (1024 * 1024))
    if n % 1024 == 0:
        return '%dk' % (n // 1024)
    return str(n)


class Cell:
    def __init__(self, cid, rows):
        self.id = cid
        self.rows = rows
        self.ok = [r for r in rows if r['status'] == 'ok']
        self.first = rows[0]

    def __getitem__(self, key):
        return self.first[key]

    def values(self, key):
        return [v for v in (num(r, key) for r in self.ok) if v is not None]

    def median(self, key):
        v = self.values(key)
        return statistics.median(v) if v else None

    def spread(self, key):
        v = self.values(key)
        return (min(v), max(v)) if v else (None, None)

    def hs_per_s(self):
        """Handshakes per second that the mode is about."""
        if self['mode'] == 'resumed':
            return self.median('hs_resumed_per_s')
        if self['mode'] == 'full':
            return self.median('hs_full_per_s')
        return None

    def saturated(self):
        return sum(1 for r in self.ok if r['client_saturated'] == 'yes')

    def reasons(self):
        return sorted({r['reason'] for r in self.rows if r['reason']})


def group(rows):
    """Cells in first-seen order."""
    order, by = [], {}
    for r in rows:
        if r['cell'] not in by:
            by[r['cell']] = []
            order.append(r['cell'])
        by[r['cell']].append(r)
    return [Cell(c, by[c]) for c in order]


def fmt(x, digits=0):
    if x is None:
        return '–'
    if digits == 0:
        return '{:,.0f}'.format(x)
    return ('{:,.%df}' % digits).format(x)


def fmt_spread(cell, key, digits=0):
    """`median (min–max)` over the ok repeats."""
    m = cell.median(key)
    if m is None:
        return '–'
    lo, hi = cell.spread(key)
    if len(cell.ok) < 2:
        return fmt(m, digits)
    return '%s (%s–%s)' % (fmt(m, digits), fmt(lo, digits), fmt(hi, digits))


def text_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    out = ['  '.join(str(h).ljust(w) for h, w in zip(header, widths))]
    out.append('  '.join('-' * w for w in widths))
    for r in rows:
        out.append('  '.join(str(x).rjust(w) if i >= 7 else
            str(x).ljust(w) for i, (x, w) in enumerate(zip(r, widths))))
    return '\n'.join(out)


def summary_rows(cells):
    header = ['server', 'tls', 'cert', 'mode', 'conc', 'body', 'lib',
        'rps', 'hs/s', 'us/req', 'p99 ms', 'cli sat', 'ok/n']
    rows = []
    for c in cells:
        p99 = c.median('lat_p99_us')
        rows.append([server_label(c.first), c['tls_version'], c['cert'],
            c['mode'], c['concurrency'], body_label(c['body_bytes']),
            c['lib'], fmt(c.median('rps')), fmt(c.hs_per_s()),
            fmt(c.median('server_us_per_req')),
            fmt(p99 / 1000 if p99 is not None else None, 1),
            '%d' % c.saturated(), '%d/%d' % (len(c.ok), len(c.rows))])
    return header, rows
