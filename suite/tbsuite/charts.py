"""SVG charts, drawn directly: panels of horizontal bars with error bars,
a figure across runs, lines on a log y axis (x log or linear).  Every
chart of the reports and of the site comes from here.

Readable at a glance by construction: one palette (PALETTE) gives a
library the same colour in every chart; labels are measured with the
metrics of the font the charts name first (DejaVu Sans, Debian's default
sans) and laid out whole (wrapped, never cut; horizontal bars leave each
label its own row); each panel has its own scale, so a keep-alive request
is not a sliver next to a full handshake; intervals are error bars, dashed
where the samples were too few for 95%.
"""

import collections
import math

FONT = 'DejaVu Sans, Verdana, sans-serif'
SIZE = 12           # labels
SMALL = 11          # ticks, notes
TITLE = 14
WIDTH = 860         # a chart is at least this wide (px)
INK, GRID, MUTED = '#222', '#ddd', '#666'
BETTER, WORSE = '#1a7f37', '#b42318'

# One colour per library and flavor (tlsbench) or reference server: the
# tuned build is the darker shade of its library's hue.
PALETTE = {
    ('openssl', 'debian'): '#6baed6', ('openssl', 'tuned'): '#08519c',
    ('openssl', 'custom'): '#3182bd',
    ('wolfssl', 'debian'): '#fdae6b', ('wolfssl', 'tuned'): '#d94801',
    ('wolfssl', 'custom'): '#f16913',
    ('boringssl', 'debian'): '#74c476', ('boringssl', 'tuned'): '#006d2c',
    ('boringssl', 'custom'): '#31a354',
    ('none', ''): '#969696',
    ('nginx', 'debian'): '#9e9ac8', ('nginx', 'tuned'): '#54278f',
    ('asyncio', 'debian'): '#d6a37c', ('asyncio', 'tuned'): '#8c510a',
}
OTHER = ('#e377c2', '#bcbd22', '#17becf', '#7f7f7f', '#8c564b')


def colour(family):
    """The colour of a (library or server, flavor) pair."""
    if family in PALETTE:
        return PALETTE[family]
    for (name, _), c in PALETTE.items():
        if name == family[0]:
            return c
    return OTHER[sum(map(ord, '/'.join(family))) % len(OTHER)]


# DejaVu Sans advance widths, 1/2048 em, for ASCII; anything else counts
# as a digit.  Bold is about 10% wider.
_ADV = dict(zip(
    ' !"#$%&\'()*+,-./0123456789:;<=>?@',
    (651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651,
     739, 651, 690) + (1303,) * 10 + (690, 690, 1716, 1716, 1716, 1087,
     2048)))
_ADV.update(zip('ABCDEFGHIJKLMNOPQRSTUVWXYZ', (1401, 1405, 1430, 1577, 1294,
    1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235, 1612,
    1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403)))
_ADV.update(zip('abcdefghijklmnopqrstuvwxyz', (1255, 1300, 1126, 1300, 1260,
    721, 1300, 1298, 569, 569, 1186, 569, 1995, 1298, 1253, 1300, 1300, 842,
    1067, 803, 1298, 1212, 1675, 1212, 1212, 1075)))
_ADV.update({'[': 799, ']': 799, '_': 1024, '{': 1303, '}': 1303, '|': 690,
    '~': 1716, '·': 651, '–': 1024, '→': 1716, 'µ': 1300, '×': 1716})


def text_width(s, size=SIZE, bold=False):
    w = sum(_ADV.get(ch, 1303) for ch in s) * size / 2048.0
    return w * (1.1 if bold else 1.0)


def wrap(s, width, size=SIZE, bold=False):
    """Lines of s no wider than width where spaces allow (a word longer
    than width gets a line of its own, whole)."""
    lines, cur = [], ''
    for word in s.split(' '):
        cand = word if not cur else cur + ' ' + word
        if cur and text_width(cand, size, bold) > width:
            lines.append(cur)
            cur = word
        else:
            cur = cand
    return lines + [cur] if cur or not lines else lines


def esc(s):
    return (str(s).replace('&', '&amp;').replace('<', '&lt;')
        .replace('>', '&gt;').replace('"', '&quot;'))


def num_text(v):
    """A tick or value label: thousands separated, decimals by size."""
    a = abs(v)
    if a >= 100 or a == 0:
        return '{:,.0f}'.format(v)
    if a >= 10:
        return '%.1f' % v
    if a >= 1:
        return '%.2f' % v
    return ('%.3f' % v).rstrip('0').rstrip('.') if a >= 0.001 else '%.1g' % v


def tick_text(t, ticks):
    """A tick label with only the decimals the step needs."""
    if all(float(x).is_integer() for x in ticks):
        return '{:,.0f}'.format(t)
    return num_text(t)


def decade(e):
    """10 to the e, written out: 0.01, 1, 1,000."""
    return '{:,.0f}'.format(10 ** e) if e >= 0 else '%.*f' % (-e, 10.0 ** e)


def nice_ticks(hi, count=5):
    """0 .. a round top >= hi, in round steps."""
    if hi <= 0:
        hi = 1.0
    raw = hi / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    n = int(math.ceil(hi / step - 1e-9))
    return [i * step for i in range(n + 1)]


class Svg:
    """Elements in document order; text() and the layout keep to the
    measured widths."""

    def __init__(self):
        self.parts = []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=SIZE, anchor='start', bold=False,
            fill=INK, extra=''):
        self.add('<text x="%.1f" y="%.1f" font-size="%d"%s%s%s%s>%s</text>'
            % (x, y, size, '' if anchor == 'start' else
            ' text-anchor="%s"' % anchor, ' font-weight="bold"' if bold
            else '', '' if fill == INK else ' fill="%s"' % fill,
            extra, esc(s)))

    def line(self, x1, y1, x2, y2, stroke=INK, width=1, dash=None):
        self.add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"'
            ' stroke-width="%g"%s/>' % (x1, y1, x2, y2, stroke, width,
            ' stroke-dasharray="%s"' % dash if dash else ''))

    def rect(self, x, y, w, h, fill, extra=''):
        self.add('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" '
            'fill="%s"%s/>' % (x, y, max(w, 0), h, fill, extra))

    def render(self, width, height, title):
        return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" '
            'height="%d" viewBox="0 0 %d %d" font-family="%s">\n'
            '<title>%s</title>\n<defs><pattern id="hatch" width="6" '
            'height="6" patternUnits="userSpaceOnUse" patternTransform='
            '"rotate(45)"><rect width="3" height="6" fill="#fff" '
            'fill-opacity="0.6"/></pattern></defs>\n'
            '<rect width="100%%" height="100%%" fill="#fff"/>\n%s\n</svg>\n'
            % (width, height, width, height, FONT, esc(title),
            '\n'.join(self.parts)))


def _title(svg, x, y, width, text, size=TITLE, bold=True):
    """Wrapped title lines from baseline y; returns the y below them."""
    for line in wrap(text, width, size, bold):
        svg.text(x, y, line, size, bold=bold)
        y += size + 5
    return y


def _interval_text(iv):
    if iv is None:
        return '–'
    t = '%s [%s, %s]' % (num_text(iv.value), num_text(iv.lo),
        num_text(iv.hi))
    return t if iv.complete else t + ' (n=%d)' % iv.n


# ---------------------------------------------------------------- bars
Bar = collections.namedtuple('Bar', 'label value colour note tone muted')
Bar.__doc__ = """One row: label (text), value (stats.Interval or None),
colour, note (the verdict column: 'ref', '+4.2%', '~', 'client-bound'),
tone ('better', 'worse' or ''), muted (hatched: not compared)."""
Panel = collections.namedtuple('Panel', 'title axis bars')


def bar_panels(title, panels, notes=()):
    """Panels stacked vertically, each with its own scale from 0: a label
    column, the bars with their error bars, and a column with each value,
    its interval and the note."""
    label_max = 330
    labels = {}
    for p in panels:
        for b in p.bars:
            labels[b.label] = wrap(b.label, label_max)
    label_w = max([text_width(ln) for ls in labels.values() for ln in ls] +
        [60])
    value_w = max([text_width(_interval_text(b.value), SMALL)
        for p in panels for b in p.bars] + [40])
    note_w = max([text_width(b.note, SMALL, True) for p in panels
        for b in p.bars] + [20])
    left, gap = 16, 14
    plot_x = left + label_w + gap
    fixed = plot_x + gap + value_w + 12 + note_w + 16
    width = max(WIDTH, int(fixed + 280))
    plot_w = width - fixed
    value_x = plot_x + plot_w + gap
    note_x = value_x + value_w + 12
    svg = Svg()
    y = _title(svg, left, 24, width - 2 * left, title)
    for p in panels:
        y += 8
        y = _title(svg, left, y + 12, width - 2 * left, p.title, SIZE + 1)
        his = [b.value.hi for b in p.bars if b.value is not None]
        ticks = nice_ticks(max(his) if his else 1.0)
        scale = plot_w / ticks[-1]
        top = y
        rows = []
        for b in p.bars:
            h = max(24, 15 * len(labels[b.label]) + 9)
            rows.append((b, y, h))
            y += h
        for t in ticks:
            x = plot_x + t * scale
            svg.line(x, top - 4, x, y, GRID)
        for b, ry, h in rows:
            mid = ry + h / 2.0
            ls = labels[b.label]
            for i, ln in enumerate(ls):
                svg.text(plot_x - gap, mid + 4 + 15 * (i - (len(ls) - 1) /
                    2.0), ln, anchor='end')
            if b.value is not None:
                bh = min(16, h - 8)
                svg.rect(plot_x, mid - bh / 2.0, b.value.value * scale, bh,
                    b.colour)
                if b.muted:
                    svg.rect(plot_x, mid - bh / 2.0, b.value.value * scale,
                        bh, 'url(#hatch)')
                x1, x2 = plot_x + b.value.lo * scale, plot_x + \
                    b.value.hi * scale
                dash = None if b.value.complete else '3,2'
                svg.line(x1, mid, x2, mid, INK, 1.4, dash)
                for x in (x1, x2):
                    svg.line(x, mid - 5, x, mid + 5, INK, 1.4)
            svg.text(value_x, mid + 4, _interval_text(b.value), SMALL)
            svg.text(note_x, mid + 4, b.note, SMALL, bold=bool(b.tone),
                fill={'better': BETTER, 'worse': WORSE}.get(b.tone, MUTED))
        svg.line(plot_x, top - 4, plot_x, y, INK)
        svg.line(plot_x, y, plot_x + plot_w, y, INK)
        for t in ticks:
            x = plot_x + t * scale
            svg.line(x, y, x, y + 4, INK)
            svg.text(x, y + 16, tick_text(t, ticks), SMALL, anchor='middle')
        svg.text(plot_x + plot_w / 2.0, y + 32, p.axis, SMALL,
            anchor='middle')
        y += 40
    y = _notes(svg, left, y + 6, width - 2 * left, notes)
    return svg.render(width, int(y + 6), title)


def _notes(svg, x, y, width, notes):
    for n in notes:
        for line in wrap(n, width, SMALL):
            y += SMALL + 4
            svg.text(x, y, line, SMALL, fill=MUTED)
    return y


# ---------------------------------------------------------------- legend
def _legend(svg, x, y, width, entries):
    """Colour swatches with their names, wrapped into rows; returns the y
    below.  entries: [(name, colour, dashed)]."""
    cx, y = x, y + 14
    for name, col, dashed in entries:
        w = 26 + text_width(name, SMALL) + 18
        if cx > x and cx + w > x + width:
            cx, y = x, y + 18
        svg.line(cx, y - 4, cx + 20, y - 4, col, 3, '5,3' if dashed else
            None)
        svg.text(cx + 26, y, name, SMALL)
        cx += w
    return y + 6


# ---------------------------------------------------------------- trends
Point = collections.namedtuple('Point', 'x value mark')
Point.__doc__ = """x: index of the run; value: stats.Interval; mark: text
when the library's version changed at this point, else None."""
Series = collections.namedtuple('Series', 'name colour points')


def trend(title, runs, series, axis, notes=()):
    """One figure across runs: runs are (line1, line2) labels in order
    (commit, date); each series a colour with points and error bars, a
    triangle pointing down at a point where the library version changed."""
    left, right = 16, 20
    svg = Svg()
    n = max(len(runs), 1)
    tick_w = max([text_width(s, SMALL) for r in runs for s in r] + [40])
    width = max(WIDTH, int(90 + n * 60 + right))
    y = _title(svg, left, 24, width - 2 * left, title) + 6
    his = [p.value.hi for s in series for p in s.points]
    ticks = nice_ticks(max(his) if his else 1.0)
    ylab_w = max(text_width(tick_text(t, ticks), SMALL) for t in ticks)
    plot_x = left + 18 + ylab_w + 8
    plot_w = width - plot_x - right
    step = plot_w / float(n)
    rotate = step < tick_w + 10
    plot_h = 260
    top, bottom = y + 10, y + 10 + plot_h
    scale = plot_h / ticks[-1]
    for t in ticks:
        ty = bottom - t * scale
        svg.line(plot_x, ty, plot_x + plot_w, ty, GRID)
        svg.text(plot_x - 6, ty + 4, tick_text(t, ticks), SMALL,
            anchor='end')
    svg.add('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="middle" '
        'transform="rotate(-90 %.1f %.1f)">%s</text>' % (left + 8,
        (top + bottom) / 2.0, SMALL, left + 8, (top + bottom) / 2.0,
        esc(axis)))
    svg.line(plot_x, top, plot_x, bottom, INK)
    svg.line(plot_x, bottom, plot_x + plot_w, bottom, INK)
    k = len(series)
    marks = []
    for si, s in enumerate(series):
        dx = (si - (k - 1) / 2.0) * min(8.0, step / (k + 1))
        pts = [(plot_x + (p.x + 0.5) * step + dx, p) for p in s.points]
        for (xa, pa), (xb, pb) in zip(pts, pts[1:]):
            svg.line(xa, bottom - pa.value.value * scale, xb,
                bottom - pb.value.value * scale, s.colour, 1.5)
        for x, p in pts:
            v = p.value
            dash = None if v.complete else '3,2'
            svg.line(x, bottom - v.lo * scale, x, bottom - v.hi * scale,
                s.colour, 1.4, dash)
            svg.add('<circle cx="%.1f" cy="%.1f" r="4" fill="%s" '
                'stroke="#fff"/>' % (x, bottom - v.value * scale, s.colour))
            if p.mark:
                ty = bottom - v.hi * scale - 8
                svg.add('<path d="M%.1f %.1f l5 -8 l-10 0 z" fill="%s" '
                    'stroke="%s"/>' % (x, ty, s.colour, INK))
                marks.append('▼ %s: %s' % (s.name, p.mark))
    y = bottom
    for i, r in enumerate(runs):
        x = plot_x + (i + 0.5) * step
        svg.line(x, bottom, x, bottom + 4, INK)
        if rotate:
            for j, s in enumerate(r):
                svg.add('<text x="%.1f" y="%.1f" font-size="%d" '
                    'text-anchor="end" transform="rotate(-45 %.1f %.1f)">'
                    '%s</text>' % (x + 4 + 13 * j, bottom + 14, SMALL,
                    x + 4 + 13 * j, bottom + 14, esc(s)))
        else:
            for j, s in enumerate(r):
                svg.text(x, bottom + 16 + 14 * j, s, SMALL, anchor='middle')
    y = bottom + (tick_w * 0.72 + 30 if rotate else 16 + 14 * 2)
    y = _legend(svg, left, y, width - 2 * left, [(s.name, s.colour, False)
        for s in series])
    y = _notes(svg, left, y + 4, width - 2 * left, list(marks) +
        list(notes))
    return svg.render(width, int(y + 10), title)


# ---------------------------------------------------------------- lines
Line = collections.namedtuple('Line', 'name colour dashed points')


def log_lines(title, xaxis, yaxis, lines, notes=(), xlog=True):
    """Lines over log x and log y (decades ticked): points are (x, y);
    xlog=False: x on a linear scale from 0 (round steps ticked)."""
    left, right = 16, 24
    lines = [ln for ln in lines if any(y for _, y in ln.points)]
    xs = [x for ln in lines for x, y in ln.points if x > 0 and y]
    ys = [y for ln in lines for x, y in ln.points if x > 0 and y]
    svg = Svg()
    width = WIDTH
    y = _title(svg, left, 24, width - 2 * left, title) + 6
    if not xs:
        return None
    x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(
        max(xs)))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(
        max(ys)))
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    xticks = [(10.0 ** e, decade(e)) for e in range(x0, x1 + 1)]
    if not xlog:
        steps = nice_ticks(max(xs))
        xticks = [(t, tick_text(t, steps)) for t in steps]
    ylabels = [decade(e) for e in range(y0, y1 + 1)]
    plot_x = left + 18 + max(text_width(t, SMALL) for t in ylabels) + 8
    plot_w = width - plot_x - right
    plot_h = 280
    top, bottom = y + 10, y + 10 + plot_h

    def px(v):
        if not xlog:
            return plot_x + v / xticks[-1][0] * plot_w
        return plot_x + (math.log10(v) - x0) / (x1 - x0) * plot_w

    def py(v):
        return bottom - (math.log10(v) - y0) / (y1 - y0) * plot_h
    for e in range(y0, y1 + 1):
        svg.line(plot_x, py(10.0 ** e), plot_x + plot_w, py(10.0 ** e), GRID)
        svg.text(plot_x - 6, py(10.0 ** e) + 4, decade(e), SMALL,
            anchor='end')
    for x, text in xticks:
        svg.line(px(x), bottom, px(x), bottom + 4, INK)
        svg.text(px(x), bottom + 16, text, SMALL, anchor='middle')
    svg.line(plot_x, top, plot_x, bottom, INK)
    svg.line(plot_x, bottom, plot_x + plot_w, bottom, INK)
    svg.text(plot_x + plot_w / 2.0, bottom + 32, xaxis, SMALL,
        anchor='middle')
    svg.add('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="middle" '
        'transform="rotate(-90 %.1f %.1f)">%s</text>' % (left + 8,
        (top + bottom) / 2.0, SMALL, left + 8, (top + bottom) / 2.0,
        esc(yaxis)))
    for ln in lines:
        pts = [(px(x), py(v)) for x, v in ln.points if x > 0 and v]
        svg.add('<polyline points="%s" fill="none" stroke="%s" '
            'stroke-width="2"%s/>' % (' '.join('%.1f,%.1f' % p for p in pts),
            ln.colour, ' stroke-dasharray="6,4"' if ln.dashed else ''))
        for x, v in pts:
            svg.add('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>' % (
                x, v, ln.colour))
    y = _legend(svg, left, bottom + 40, width - 2 * left, [(ln.name,
        ln.colour, ln.dashed) for ln in lines])
    y = _notes(svg, left, y + 4, width - 2 * left, notes)
    return svg.render(width, int(y + 10), title)


def save(path, svg):
    with open(path, 'w', encoding='utf-8') as f:
        f.write(svg)
