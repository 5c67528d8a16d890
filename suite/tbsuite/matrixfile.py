"""Matrix files: parse `axis = v1 v2` lines and expand them into cells.

A matrix file holds axes (one a line), settings (same syntax, one value) and
optional `[section]`s.  Lines before the first section are shared by every
section; a section overrides axes and settings for its own cells.  A file
without sections is one section.  Cells are the cross product of each
section's axes, with nonsense combinations collapsed (a field that does not
apply is `-`) and duplicates dropped, so a user can write broad axes and let
the expansion keep only what can run.

Run-level settings (the measurement protocol: the reference cell, the
comparisons, the block counts, the client) belong to the whole run: they
are given before the first section or with --set.  A cell spec (the
reference, each side of a comparison) is `axis=value` pairs separated by
spaces or commas, the form of a cell id; axes it leaves out take their
defaults.

The axes added after runs were committed (OPTIONAL_AXES: the TLS 1.3
resumption's key exchange, how a resumption finds its session, the
open-loop load) are named in a cell id only when set, so the ids of
earlier runs stay what they were.
"""

import re

from . import backends, cli

# Axis order is the loop order and the order of fields in a cell id.
AXES = ('server', 'lib', 'backend', 'tls', 'cert', 'group', 'suite', 'mode',
    'resumption', 'concurrency', 'body', 'workers', 'io', 'psk', 'resume_via',
    'load')
# in a cell id only when not `-` (older ids lack them)
OPTIONAL_AXES = ('psk', 'resume_via', 'load')

AXIS_DEFAULTS = {
    'server': ['tlsbench'],
    'lib': ['-'],
    'backend': ['openssl'],
    'tls': ['1.3'],
    'cert': ['ecdsa-p256'],
    'group': ['-'],         # the libraries' default groups
    'suite': ['-'],         # the libraries' default TLS 1.3 suites
    'mode': ['full'],
    'resumption': ['both'],
    'concurrency': ['10'],
    'body': ['20k'],
    'workers': ['1'],
    'io': ['native'],
    'psk': ['-'],           # TLS 1.3 resumption: psk_dhe_ke, as every client
    'resume_via': ['-'],    # the mode's way: a ticket
    'load': ['-'],          # closed loop (the cell's capacity)
}

SERVERS = ('tlsbench', 'nginx', 'asyncio')
BACKENDS = backends.BACKENDS
# axis values that stand for a list: `backend = all` (every backend), and
# `lib = debian tuned` (every library of suite/libs/series in those flavors)
ALL_BACKENDS = 'all'
TLS_VERSIONS = ('1.2', '1.3')
RESUMPTIONS = ('none', 'cache', 'tickets', 'both')
IO_MODES = ('native', 'core')   # tlsbench-server --io; native: not passed
# TLS 1.3 resumption with a fresh key exchange (dhe: psk_dhe_ke) or on the
# PSK alone (ke: psk_ke; server --psk-mode ke, client --psk-mode both)
PSK_MODES = ('dhe', 'ke')
# how a resumed connection finds its session, and the server's resumption
# that leaves it only that way: a ticket (server tickets only) or the
# server's session cache (a TLS 1.2 session ID, OpenSSL's TLS 1.3 stateful
# ticket; server cache only, client --resume id)
RESUME_VIA = {'ticket': 'tickets', 'id': 'cache'}

# Settings: name -> (type, default).  A matrix file or --set may give any.
SETTINGS = {
    'requests': (int, 0),         # window: -n max(requests or the mode's
                                  # default, 20 x concurrency)
    'warmup': (float, 0.5),       # at least this many seconds of warm-up
    'seed': (int, 1),             # body seed, same bytes on every server
    'groups': (str, ''),          # client --groups (empty: library default)
    'ciphers': (str, ''),         # TLS 1.2 cipher list for client and servers
    'ciphersuites': (str, ''),    # TLS 1.3 suites for client and servers
    'timeout': (float, 10.0),     # per-request timeout of the load generator
    'saturation': (float, 0.9),   # utilisation that makes a row `bound`
    'repeats': (int, 1),          # rows per cost or memory cell
    'bulk_mib': (int, 256),       # bulk windows: at least this many MiB
    'description': (str, ''),
    # run-level: the measurement protocol (suite/matrix/README.md)
    'reference': (str, ''),       # the cell every block measures
    'compare': (list, []),        # `compare = SPEC vs SPEC`, repeatable
    'min_blocks': (int, 6),
    'max_blocks': (int, 10),
    'target_half_width': (float, 0.03),
    'time_budget': (float, 0.0),  # minutes for blocks past min_blocks; 0: none
    'order_seed': (int, 0),       # block order; 0: drawn when the run starts
    'client': (str, 'auto'),      # the load generator's OpenSSL
    'level_blocks': (int, 1),     # blocks each open-loop level runs in
    # tests only: the server's --resumption whatever the cell says (and
    # no per-slot warm-up, which would wait for resumptions never made)
    'test_server_resumption': (str, ''),
    # tlsbench-server --ticket-key-lifetime S (0: not passed, one key)
    'ticket_key_lifetime': (int, 0),
    # open-loop windows (load axis): at least tail_samples requests beyond
    # the p99.9, so 1000 x tail_samples requests, unless that takes longer
    # than window_cap seconds at the offered rate (the row says so)
    'tail_samples': (int, 100),
    'window_cap': (float, 120.0),
}
RUN_SETTINGS = ('reference', 'compare', 'min_blocks', 'max_blocks',
    'target_half_width', 'time_budget', 'order_seed', 'client',
    'level_blocks')
# settings older matrix files used, and what replaced them
REMOVED_SETTINGS = {
    'duration': 'a window is a request count now: use requests = N',
}

# a mode is also a Mode in cells.MODES (how it is measured); the cost and
# memory modes are matrix_modes.py's
COST_MODES = ('cost-full', 'cost-resumed', 'cost-keepalive')
WINDOW_MODES = ('full', 'full-tickets', 'resumed', 'keepalive', 'bulk',
    'resumed-0rtt')
MODE_NAMES = WINDOW_MODES + COST_MODES + ('memory',)
# window requests per mode when `requests` is 0 (about a second or more)
MODE_REQUESTS = {'full': 2000, 'full-tickets': 2000, 'resumed': 2000,
    'keepalive': 30000, 'resumed-0rtt': 2000}
# bulk windows are sized by bytes (the bulk_mib setting): the request count
# is derived from the body size, and each connection makes at least this
# many requests (large bodies: a few requests keep every connection busy)
BULK_MIN_PER_CONN = 4
# the server's resumption in each window mode: full handshakes against a
# server that issues nothing (what handshake references measure); TLS 1.3
# early data with single-use tickets, which live in the session cache;
# otherwise the cell's resumption axis
MODE_RESUMPTION = {'full': 'none', 'resumed-0rtt': 'both'}
# window modes whose rows carry the crypto floor (cost-full rows carry it
# too: matrix_modes.measure_cost)
FLOOR_MODES = ('full', 'full-tickets')
# modes whose client resumes or whose server must issue tickets
TICKET_MODES = ('resumed', 'full-tickets', 'cost-resumed', 'resumed-0rtt')
# window modes whose every connection resumes (after the warm-up)
RESUMED_MODES = ('resumed', 'resumed-0rtt')


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
    if kind is list:
        return [parse_pair(value)]
    try:
        return kind(value)
    except ValueError:
        raise MatrixError('setting %s = "%s" is not a %s' %
            (name, value, kind.__name__))


def parse_spec(text):
    """A cell spec, `server=tlsbench backend=openssl mode=full` (spaces or
    commas, as in a cell id) -> {axis: value}."""
    spec = {}
    for part in re.split(r'[,\s]+', text.strip()):
        if not part:
            continue
        key, eq, value = part.partition('=')
        if not eq or key not in AXES or not value:
            raise MatrixError('cell spec "%s": "%s" is not AXIS=VALUE with '
                'AXIS one of %s' % (text, part, ' '.join(AXES)))
        spec[key] = value
    if not spec:
        raise MatrixError('empty cell spec')
    return spec


def parse_pair(text):
    """`SPEC vs SPEC` -> (spec, spec): one comparison."""
    parts = re.split(r'\s+vs\s+', text.strip())
    if len(parts) != 2:
        raise MatrixError('compare = "%s": expected "SPEC vs SPEC", e.g. '
            'lib=openssl@3.6-tuned vs lib=openssl@3.0-debian' % text)
    return tuple(parse_spec(p) for p in parts)


def parse(text, origin='matrix'):
    """Return a list of sections: {'name', 'axes': {..}, 'settings':
    {..}}; run-level settings are the same in every section."""
    shared_axes, shared_settings = {}, {}
    sections = []
    axes, settings = shared_axes, shared_settings
    shared_explicit = set()
    explicit = shared_explicit
    for num, raw in enumerate(text.splitlines(), 1):
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r'\[([\w.-]+)\]', line)
        if m:
            sections.append({'name': m.group(1), 'axes': {},
                'settings': {}, 'explicit': set()})
            axes, settings = sections[-1]['axes'], sections[-1]['settings']
            explicit = sections[-1]['explicit']
            continue
        if '=' not in line:
            raise MatrixError('%s:%d: expected "name = values", got "%s"'
                % (origin, num, line))
        key, _, value = (s.strip() for s in line.partition('='))
        where = '%s:%d: ' % (origin, num)
        if key in AXES:
            if not value.split():
                raise MatrixError('%saxis %s has no values' % (where, key))
            axes[key] = axis_values(key, value.split())
            explicit.add(key)
        elif key in SETTINGS:
            if key in RUN_SETTINGS and settings is not shared_settings:
                raise MatrixError('%s%s is a run-level setting: give it '
                    'before the first [section]' % (where, key))
            try:
                v = _convert_setting(key, value)
            except MatrixError as e:
                raise MatrixError(where + str(e))
            settings[key] = settings.get(key, []) + v if \
                SETTINGS[key][0] is list else v
        elif key in REMOVED_SETTINGS:
            raise MatrixError('%ssetting %s is gone: %s' % (where, key,
                REMOVED_SETTINGS[key]))
        else:
            raise MatrixError('%sunknown axis or setting "%s" '
                '(axes: %s; settings: %s)' % (where, key,
                ' '.join(AXES), ' '.join(sorted(SETTINGS))))
    if not sections:
        sections.append({'name': 'main', 'axes': {}, 'settings': {},
            'explicit': set()})
    out = []
    for b in sections:
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
    """`--set key=value` (repeatable) -> {key: converted value}; a list
    setting given with --set (compare) replaces the file's list."""
    out = {}
    for spec in specs:
        key, eq, value = spec.partition('=')
        key = key.strip()
        if not eq or key not in SETTINGS:
            if key in REMOVED_SETTINGS:
                raise MatrixError('--set %s: that setting is gone: %s' % (
                    key, REMOVED_SETTINGS[key]))
            raise MatrixError('--set "%s": expected SETTING=VALUE with '
                'SETTING one of %s' % (spec, ' '.join(sorted(SETTINGS))))
        v = _convert_setting(key, value.strip())
        out[key] = out.get(key, []) + v if SETTINGS[key][0] is list else v
    return out


def check_run_settings(s):
    """The run-level settings make sense together (MatrixError if not)."""
    if s['min_blocks'] < 1 or s['max_blocks'] < s['min_blocks']:
        raise MatrixError('min_blocks = %d, max_blocks = %d: need 1 <= '
            'min_blocks <= max_blocks' % (s['min_blocks'], s['max_blocks']))
    if not 0 < s['target_half_width'] < 1:
        raise MatrixError('target_half_width = %g: a fraction, e.g. 0.03 '
            'for 3%%' % s['target_half_width'])
    if s['time_budget'] < 0:
        raise MatrixError('time_budget = %g: minutes, 0 for none' %
            s['time_budget'])
    if s['test_server_resumption'] not in ('',) + RESUMPTIONS:
        raise MatrixError('test_server_resumption "%s": use one of %s' % (
            s['test_server_resumption'], ' '.join(RESUMPTIONS)))
    if s['client'] not in ('auto', 'system') and not \
            s['client'].endswith('-tuned'):
        raise MatrixError('client = %s: use auto, system or '
            'openssl@SERIES-tuned (e.g. openssl@3.6-tuned)' % s['client'])
    if s['client'] not in ('auto', 'system'):
        if parse_lib(s['client'])[0] != 'openssl':
            raise MatrixError('client = %s: the load generator links '
                'OpenSSL only' % s['client'])


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
    if cell['resumption'] not in RESUMPTIONS + ('-',):
        raise MatrixError('resumption "%s": use one of %s' %
            (cell['resumption'], ' '.join(RESUMPTIONS)))
    if cell['io'] not in IO_MODES + ('-',):
        raise MatrixError('io "%s": use one of %s' %
            (cell['io'], ' '.join(IO_MODES)))
    for key in ('concurrency', 'workers'):
        if not cell[key].isdigit() or int(cell[key]) < 1:
            raise MatrixError('%s "%s" is not a positive integer' %
                (key, cell[key]))
    for key in ('group', 'suite'):
        if not re.fullmatch(r'[\w.-]+', cell[key]):
            raise MatrixError('%s "%s": one name, e.g. X25519 or '
                'TLS_AES_128_GCM_SHA256' % (key, cell[key]))
    if cell['psk'] not in PSK_MODES + ('-',):
        raise MatrixError('psk "%s": use one of %s' % (cell['psk'],
            ' '.join(PSK_MODES)))
    if cell['resume_via'] not in tuple(RESUME_VIA) + ('-',):
        raise MatrixError('resume_via "%s": use one of %s' % (
            cell['resume_via'], ' '.join(RESUME_VIA)))
    load_fraction(cell['load'])
    parse_body(cell['body'])
    if cell['lib'] != '-':
        parse_lib(cell['lib'])


def load_fraction(text):
    """The load axis: None for `-` (closed loop), else the fraction of
    the cell's capacity offered open-loop, 0 < f <= 1."""
    if text == '-':
        return None
    try:
        f = float(text)
    except ValueError:
        f = 0.0
    if not 0 < f <= 1:
        raise MatrixError('load "%s": `-` (closed loop) or a fraction of '
            'the capacity, e.g. 0.5' % text)
    return f


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
        if c['io'] == '-':
            c['io'] = AXIS_DEFAULTS['io'][0]
    else:
        # reference servers link Debian's OpenSSL through their own stack
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
        # plaintext: no TLS version, certificate, group or resumption
        if c['mode'] in TICKET_MODES:
            return None
        c['tls'] = c['cert'] = c['resumption'] = '-'
        c['group'] = c['suite'] = '-'
    elif c['tls'] == '1.2':
        c['suite'] = '-'   # the suite axis names TLS 1.3 suites
    if c['mode'] not in RESUMED_MODES or c['tls'] != '1.3':
        c['psk'] = '-'     # the key exchange of a TLS 1.3 resumption
    if c['mode'] != 'resumed':
        c['resume_via'] = '-'   # resumed-0rtt's tickets are its own
    if c['mode'] not in WINDOW_MODES:
        c['load'] = '-'
    if c['server'] != 'tlsbench' and (c['psk'] == 'ke' or
            c['mode'] == 'resumed-0rtt' and c['server'] == 'asyncio'):
        return None   # no psk_ke preference (OpenSSL 3.0), no early data
    if c['mode'] in MODE_RESUMPTION and c['backend'] != 'none':
        c['resumption'] = MODE_RESUMPTION[c['mode']]
    if c['resume_via'] != '-':
        c['resumption'] = RESUME_VIA[c['resume_via']]
    elif c['mode'] in TICKET_MODES and c['resumption'] in ('none', 'cache'):
        return None   # the client resumes with tickets only
    if int(c['workers']) > cores:
        return None   # a worker per CPU at most; with one per CPU the load
                      # generator shares them (the row's client_shares_core)
    return c


def cell_id(cell):
    return ','.join('%s=%s' % (k, cell[k]) for k in AXES
        if k not in OPTIONAL_AXES or cell.get(k, '-') != '-')


def make_cell(axes, section, cores):
    """One cell from single axis values (defaults for the rest), with the
    section's settings; None when it cannot run."""
    combo = {k: v[0] for k, v in AXIS_DEFAULTS.items()}
    combo.update(axes)
    if 'lib' in axes and 'backend' not in axes:
        combo['backend'] = '-'
    _validate(combo)
    cell = _normalise(combo, cores)
    if cell is None:
        return None
    cell['id'] = cell_id(cell)
    cell['section'] = section['name']
    cell['settings'] = section['settings']
    return cell


def matches(cell, spec):
    return all(cell.get(k) == v for k, v in spec.items())


def reference_cell(sections, cells, cores):
    """The run's reference: the cell the `reference` setting names (a
    matrix cell when one has its id, else made with the first section's
    settings), or the first window-mode cell when none is named.  None
    when the run has no window-mode cell."""
    text = sections[0]['settings']['reference']
    windowed = [c for c in cells if c['mode'] in WINDOW_MODES]
    if not text:
        return windowed[0] if windowed else None
    spec = parse_spec(text)
    cell = make_cell(spec, sections[0], cores)
    if cell is None:
        raise MatrixError('reference "%s" is not a cell that can run here'
            % text)
    if cell['mode'] not in WINDOW_MODES:
        raise MatrixError('reference "%s": mode %s is not measured in '
            'windows (%s)' % (text, cell['mode'], ' '.join(WINDOW_MODES)))
    return next((c for c in cells if c['id'] == cell['id']), cell)


def comparison_pairs(cells, pairs, cores):
    """[(a, b)] cells for each `compare = A vs B`: every cell matching A,
    paired with the cell that has B's values in B's axes (when it is in
    the run).  A full spec names one cell; a partial one, as many pairs
    as match."""
    by_id = {c['id']: c for c in cells}
    out = []
    for spec_a, spec_b in pairs:
        for a in cells:
            if not matches(a, spec_a):
                continue
            combo = {k: a[k] for k in AXES}
            combo.update(spec_b)
            if 'lib' in spec_b and 'backend' not in spec_b:
                combo['backend'] = '-'
            _validate(combo)
            b = _normalise(combo, cores)
            if b is not None and cell_id(b) in by_id and \
                    cell_id(b) != a['id']:
                pair = (a, by_id[cell_id(b)])
                if pair not in out:
                    out.append(pair)
    return out


def expand(sections, only, cores):
    """Cells (dicts with every axis plus 'settings' and 'section') in
    order."""
    cells, seen = [], set()
    for section in sections:
        axes = dict(section['axes'])
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
            cell['section'] = section['name']
            cell['settings'] = section['settings']
            cells.append(cell)
    return cells
