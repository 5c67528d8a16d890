"""Matrix files: parse `axis = v1 v2` lines and expand them into cells.

A matrix file holds axes (one a line), settings (same syntax, one value) and
optional `[block]` sections.  Lines before the first block are shared by
every block; a block overrides axes and settings for its own cells.  A file
without blocks is one block.  Cells are the cross product of each block's
axes, with nonsense combinations collapsed (a field that does not apply is
`-`) and duplicates dropped, so a user can write broad axes and let the
expansion keep only what can run.
"""

import re

from . import backends, cli

# Axis order is the loop order and the order of fields in a cell id (io
# last, and left out of the id at its default: ids from before it stay).
AXES = ('server', 'lib', 'backend', 'tls', 'cert', 'mode', 'resumption',
    'concurrency', 'body', 'workers', 'io')

AXIS_DEFAULTS = {
    'server': ['tlsbench'],
    'lib': ['-'],
    'backend': ['openssl'],
    'tls': ['1.3'],
    'cert': ['ecdsa-p256'],
    'mode': ['full'],
    'resumption': ['both'],
    'concurrency': ['10'],
    'body': ['20k'],
    'workers': ['1'],
    'io': ['native'],
}

SERVERS = ('tlsbench', 'nginx', 'asyncio')
BACKENDS = backends.BACKENDS
# axis values that stand for a list: `backend = all` (every backend), and
# `lib = debian tuned` (every library of suite/libs/series in those flavors)
ALL_BACKENDS = 'all'
TLS_VERSIONS = ('1.2', '1.3')
RESUMPTIONS = ('none', 'cache', 'tickets', 'both')
IO_MODES = ('native', 'core')   # tlsbench-server --io

# Settings: name -> (type, default).  A matrix file or --set may give any.
SETTINGS = {
    'repeats': (int, 3),
    'duration': (float, 3.0),     # measured window, seconds (-d)
    'warmup': (float, 1.0),       # warm-up run before the window, seconds
    'requests': (int, 0),         # >0: measured run is -n REQUESTS, not -d
    'seed': (int, 1),             # body seed, same bytes on every server
    'groups': (str, ''),          # client --groups (empty: library default)
    'ciphers': (str, ''),         # TLS 1.2 cipher list for client and servers
    'ciphersuites': (str, ''),    # TLS 1.3 suites for client and servers
    'timeout': (float, 10.0),     # per-request timeout of the load generator
    'saturation': (float, 0.9),   # client CPU share that flags saturation
    'description': (str, ''),
}

# a mode is also a Mode in cells.MODES (how it is measured); the cost and
# memory modes are matrix_modes.py's
COST_MODES = ('cost-full', 'cost-resumed', 'cost-keepalive')
MODE_NAMES = ('full', 'resumed', 'keepalive') + COST_MODES + ('memory',)


class MatrixError(Exception):
    pass


def parse_body(text):
    """`20k` -> 20480, `1m` -> 1048576, `512` -> 512 (as the server does)."""
    m = re.fullmatch(r'(\d+)([kKmM]?)', text)
    if not m:
        raise MatrixError('body "%s" is not N, Nk or Nm' % text)
    mult = {'': 1, 'k': 1024, 'm': 1024 * 1024}[m.group(2).lower()]
    return int(m.group(1)) * mult


def parse_lib(text):
    """`openssl@3.6-tuned` -> ('openssl', '3.6', 'tuned')."""
    m = re.fullmatch(r'([a-z]+)@([0-9A-Za-z.]+)-([a-z]+)', text)
    if not m or m.group(1) not in backends.LIBRARIES:
        names = list(backends.LIBRARIES)
        raise MatrixError('lib "%s" is not NAME@VERSION-FLAVOR with NAME '
            '%s or %s' % (text, ', '.join(names[:-1]), names[-1]))
    return m.groups()


def axis_values(axis, values):
    """values with the keywords that stand for a list expanded in place:
    `all` for backends, flavors for libs (each library in each flavor
    named, in suite/libs/series' order)."""
    if axis == 'backend':
        out = []
        for v in values:
            out += list(BACKENDS) if v == ALL_BACKENDS else [v]
        return out
    if axis != 'lib':
        return values
    flavors = [v for v in values if v in backends.FLAVORS]
    if not flavors:
        return values
    named = ['%s@%s-%s' % (name, series[f], f) for name, series in
        backends.LIBRARIES.items() for f in flavors]
    first = values.index(flavors[0])
    rest = [v for v in values[first:] if v not in backends.FLAVORS]
    return values[:first] + named + rest


def _convert_setting(name, value):
    kind = SETTINGS[name][0]
    try:
        return kind(value)
    except ValueError:
        raise MatrixError('setting %s = "%s" is not a %s' %
            (name, value, kind.__name__))


def parse(text, origin='matrix'):
    """Return a list of blocks: {'name', 'axes': {..}, 'settings': {..}}."""
    shared_axes, shared_settings = {}, {}
    blocks = []
    axes, settings = shared_axes, shared_settings
    shared_explicit = set()
    explicit = shared_explicit
    for num, raw in enumerate(text.splitlines(), 1):
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r'\[([\w.-]+)\]', line)
        if m:
            blocks.append({'name': m.group(1), 'axes': {},
                'settings': {}, 'explicit': set()})
            axes, settings = blocks[-1]['axes'], blocks[-1]['settings']
            explicit = blocks[-1]['explicit']
            continue
        if '=' not in line:
            raise MatrixError('%s:%d: expected "name = values", got "%s"'
                % (origin, num, line))
        key, _, value = (s.strip() for s in line.partition('='))
        if key in AXES:
            if not value.split():
                raise MatrixError('%s:%d: axis %s has no values' %
                    (origin, num, key))
            axes[key] = axis_values(key, value.split())
            explicit.add(key)
        elif key in SETTINGS:
            settings[key] = _convert_setting(key, value)
        else:
            raise MatrixError('%s:%d: unknown axis or setting "%s" '
                '(axes: %s; settings: %s)' % (origin, num, key,
                ' '.join(AXES), ' '.join(sorted(SETTINGS))))
    if not blocks:
        blocks.append({'name': 'main', 'axes': {}, 'settings': {},
            'explicit': set()})
    out = []
    for b in blocks:
        merged_axes = dict(AXIS_DEFAULTS)
        merged_axes.update(shared_axes)
        merged_axes.update(b['axes'])
        merged_settings = {k: v[1] for k, v in SETTINGS.items()}
        merged_settings.update(shared_settings)
        merged_settings.update(b['settings'])
        # with a lib axis the backend follows the lib unless given
        if merged_axes['lib'] != ['-'] and 'backend' not in \
                shared_explicit | b['explicit']:
            merged_axes['backend'] = ['-']
        out.append({'name': b['name'], 'axes': merged_axes,
            'settings': merged_settings})
    return out


def parse_only(specs):
    """`--only key=v1,v2` (repeatable) -> {key: [v1, v2]}."""
    only = {}
    for spec in specs:
        for part in spec.split(';'):
            key, eq, value = part.partition('=')
            key = key.strip()
            if not eq or key not in AXES:
                raise MatrixError('--only "%s": expected AXIS=V1[,V2] with '
                    'AXIS one of %s' % (spec, ' '.join(AXES)))
            only[key] = axis_values(key, cli.split_list([value]))
    return only


def parse_set(specs):
    """`--set key=value` (repeatable) -> {key: converted value}."""
    out = {}
    for spec in specs:
        key, eq, value = spec.partition('=')
        key = key.strip()
        if not eq or key not in SETTINGS:
            raise MatrixError('--set "%s": expected SETTING=VALUE with '
                'SETTING one of %s' % (spec, ' '.join(sorted(SETTINGS))))
        out[key] = _convert_setting(key, value.strip())
    return out


def _validate(cell):
    if cell['server'] not in SERVERS:
        raise MatrixError('server "%s": use one of %s' %
            (cell['server'], ' '.join(SERVERS)))
    if cell['backend'] not in BACKENDS + ('-',):
        raise MatrixError('backend "%s": use one of %s' %
            (cell['backend'], ' '.join(BACKENDS)))
    if cell['tls'] not in TLS_VERSIONS + ('-',):
        raise MatrixError('tls "%s": use 1.2 or 1.3' % cell['tls'])
    if cell['mode'] not in MODE_NAMES:
        raise MatrixError('mode "%s": use one of %s' %
            (cell['mode'], ' '.join(MODE_NAMES)))
    if cell['resumption'] not in RESUMPTIONS:
        raise MatrixError('resumption "%s": use one of %s' %
            (cell['resumption'], ' '.join(RESUMPTIONS)))
    if cell['io'] not in IO_MODES + ('-',):
        raise MatrixError('io "%s": use one of %s' %
            (cell['io'], ' '.join(IO_MODES)))
    for key in ('concurrency', 'workers'):
        if not cell[key].isdigit() or int(cell[key]) < 1:
            raise MatrixError('%s "%s" is not a positive integer' %
                (key, cell[key]))
    parse_body(cell['body'])
    if cell['lib'] != '-':
        parse_lib(cell['lib'])


def _normalise(cell, cores):
    """Collapse fields that do not apply; None when the cell cannot run."""
    c = dict(cell)
    if c['server'] == 'tlsbench':
        if c['lib'] != '-':
            # a lib value names its backend; a backend axis filters
            name = parse_lib(c['lib'])[0]
            if c['backend'] not in (name, '-'):
                return None
            c['backend'] = name
        elif c['backend'] == '-':
            return None
    else:
        # reference servers link Debian's OpenSSL through their own stack
        # and do their own I/O
        c['backend'] = '-'
        c['lib'] = '-'
        c['io'] = '-'
        if c['server'] == 'asyncio' and c['workers'] != '1':
            return None   # one event loop, one process
    if c['mode'] in COST_MODES:
        # one operation at a time: concurrency is always 1; the reference
        # servers under callgrind: nginx only (as one process)
        if c['server'] == 'asyncio':
            return None
        c['concurrency'] = '1'
    if c['mode'] == 'memory' and c['server'] != 'tlsbench':
        return None   # the holder measures tlsbench's worker
    if c['mode'] == 'memory' and c['io'] == 'core':
        return None   # memory.py starts the server with its own flags
    if c['mode'] in COST_MODES + ('memory',) and c['workers'] != '1':
        return None   # one worker: one process to count or weigh
    if c['backend'] == 'none':
        # plaintext: no TLS version, certificate or resumption
        if c['mode'] in ('resumed', 'cost-resumed'):
            return None
        c['tls'] = c['cert'] = c['resumption'] = '-'
    if c['mode'] in ('resumed', 'cost-resumed') and \
            c['resumption'] in ('none', 'cache'):
        return None   # the client resumes with tickets only
    if int(c['workers']) >= cores and cores > 1:
        return None   # the load generator needs a core of its own
    return c


def cell_id(cell):
    return ','.join('%s=%s' % (k, cell[k]) for k in AXES
        if k != 'io' or cell[k] not in ('native', '-'))


def expand(blocks, only, cores):
    """Cells (dicts with every axis plus 'settings' and 'block') in order."""
    cells, seen = [], set()
    for block in blocks:
        axes = dict(block['axes'])
        for key, values in only.items():
            axes[key] = values
        combos = [{}]
        for key in AXES:
            combos = [dict(c, **{key: v}) for c in combos
                for v in axes[key]]
        for combo in combos:
            _validate(combo)
            cell = _normalise(combo, cores)
            if cell is None:
                continue
            cid = cell_id(cell)
            if cid in seen:
                continue
            seen.add(cid)
            cell['id'] = cid
            cell['block'] = block['name']
            cell['settings'] = block['settings']
            cells.append(cell)
    return cells
