"""How a cell resumes, what the server confirmed, and the rules a resumed
window meets: one place for the resumption modes deployed servers use.

What a resumed cell asks for (its axes and mode):

  the way      `resume_via`: a ticket (server --resumption tickets) or
               the server's session cache (`id`: a TLS 1.2 session ID, an
               OpenSSL TLS 1.3 stateful ticket; server --resumption cache,
               client --resume id); `resumed-0rtt` resumes from the cache
               too (its single-use tickets live there); otherwise a ticket
  the PSK mode `psk` (TLS 1.3): psk_dhe_ke, a fresh key exchange as every
               client offers (`dhe`, the default), or psk_ke, the PSK alone
               (`ke`: server --psk-mode ke, client --psk-mode both)
  early data   `resumed-0rtt`: the request in TLS 1.3 early data (server
               --early-data, client --early-data)

What the server confirmed comes from its counters across the window
(tlsbench-server: resumed_ticket, resumed_id, resumed_psk_ke,
resumed_psk_dhe_ke, early_data_offered/accepted/rejected); nginx and the
asyncio server count none of these, so their rows confirm the PSK mode from
the client's side alone (the ServerHello it read) and the way not at all.

The rules (errors unless said otherwise):
  - the resumptions went the cell's way and used its PSK mode: another way
    or mode in more than `stray` of them is an error (the row's
    `confirmed_resumption` says what the server confirmed);
  - client and server agree on the PSK modes and on early data offered,
    accepted and rejected, within `agree`;
  - a 0-RTT window accepted early data on every resumed handshake but
    `stray` of them;
  - the share of full handshakes is the cell's expected one
    (expected_full_share): none, except with N tlsbench workers resuming
    from the session cache, which is per worker: a connection lands on
    any worker (SO_REUSEPORT hashes it), its session resumes only on the
    worker that issued it, so (N-1)/N of them are full handshakes, within
    4 binomial standard deviations.  Such a row says so in its reason
    instead of failing.  (nginx's cache is shared by its workers.)
"""

import math
import re

from . import matrixfile

# server counter -> row column (differences across the window)
SERVER_COUNTS = (('resumed_ticket', 'resumed_ticket'),
    ('resumed_id', 'resumed_id'), ('resumed_psk_ke', 'resumed_psk_ke'),
    ('resumed_psk_dhe_ke', 'resumed_psk_dhe_ke'),
    ('early_data_offered', 'early_offered'),
    ('early_data_accepted', 'early_accepted'),
    ('early_data_rejected', 'early_rejected'))
# the client's JSON -> row column
CLIENT_COUNTS = (('resumed_psk_ke', 'client_resumed_psk_ke'),
    ('resumed_psk_dhe_ke', 'client_resumed_psk_dhe_ke'),
    ('early_offered', 'client_early_offered'),
    ('early_accepted', 'client_early_accepted'),
    ('early_rejected', 'client_early_rejected'))
VIA_COLUMN = {'ticket': 'resumed_ticket', 'id': 'resumed_id'}
# every column row_fields writes
COLUMNS = tuple(col for _, col in SERVER_COUNTS + CLIENT_COUNTS) + (
    'confirmed_resumption', 'expected_full_share', 'anti_replay')
PSK_NAME = {'dhe': 'psk_dhe_ke', 'ke': 'psk_ke'}   # columns resumed_<name>
SIGMAS = 4          # the expected full share's tolerance, in binomial SDs
# A library's refusal of a resumption option: tlsbench-server names the
# option, then why the library cannot (`--psk-mode ke: OpenSSL 3.0.19
# resumes with psk_dhe_ke whenever ...`, `--early-data: BoringSSL has no
# protection against a replayed 0-RTT flight ...`): a `refused` row.
REFUSED_OPTION = re.compile(r'(^|: )--(psk-mode ke|early-data): ')


def expected_via(cell):
    """`ticket` or `id`: how the cell's resumptions find their session."""
    if cell['resume_via'] != '-':
        return cell['resume_via']
    return 'id' if cell['mode'] == 'resumed-0rtt' else 'ticket'


def expected_psk(cell):
    """`dhe` or `ke` for a TLS 1.3 resumed cell, else None."""
    if cell['mode'] not in matrixfile.RESUMED_MODES or cell['tls'] != '1.3':
        return None
    return 'ke' if cell['psk'] == 'ke' else 'dhe'


def expected_full_share(cell):
    """The share of full handshakes a resumed window expects: (N-1)/N
    with N tlsbench workers resuming from their per-worker session cache,
    else 0."""
    workers = int(cell['workers'])
    if cell['mode'] in matrixfile.RESUMED_MODES and workers > 1 and \
            cell['server'] == 'tlsbench' and expected_via(cell) == 'id':
        return (workers - 1) / float(workers)
    return 0.0


def client_args(cell, mode_args):
    """The mode's load generator arguments with the cell's resumption:
    --resume id for the session cache, --psk-mode both to offer psk_ke."""
    args = list(mode_args)
    if cell['resume_via'] != '-' and '--resume' in args:
        args[args.index('--resume') + 1] = cell['resume_via']
    if cell['psk'] == 'ke':
        args += ['--psk-mode', 'both']
    return args


def server_args(cell):
    """tlsbench-server's options for the cell's resumption (its
    --resumption comes from the resumption axis)."""
    args = []
    if cell['psk'] == 'ke':
        args += ['--psk-mode', 'ke']
    if cell['mode'] == 'resumed-0rtt':
        args += ['--early-data']
    lifetime = cell['settings']['ticket_key_lifetime']
    if lifetime:
        args += ['--ticket-key-lifetime', str(lifetime)]
    return args


def _count(v):
    return v if isinstance(v, int) else None


def confirmed(fields):
    """What the server confirmed: `ticket psk_dhe_ke`, `id`, `ticket+id`
    (the ways and PSK modes it counted), `-` without resumptions, empty
    when the server does not count them."""
    ways = [w for w in ('ticket', 'id')
        if _count(fields.get(VIA_COLUMN[w]))]
    psks = [name for name in (PSK_NAME['dhe'], PSK_NAME['ke'])
        if _count(fields.get('resumed_' + name))]
    if _count(fields.get('resumed_ticket')) is None:
        return ''
    words = ('+'.join(ways) + ' ' + '+'.join(psks)).strip()
    return words or '-'


def row_fields(cell, samples):
    """The resumption and early-data columns of a window's row."""
    c0, c1 = samples['counters']
    out = samples['load']
    f = {}
    for key, col in SERVER_COUNTS:
        f[col] = int(c1[key]) - int(c0.get(key, 0)) if key in c1 else ''
    for key, col in CLIENT_COUNTS:
        f[col] = int(out[key]) if key in out else ''
    f['confirmed_resumption'] = confirmed(f)
    f['expected_full_share'] = '%.2f' % expected_full_share(cell) \
        if cell['mode'] in matrixfile.RESUMED_MODES else '-'
    f['anti_replay'] = (samples.get('anti_replay') or '') \
        if cell['mode'] == 'resumed-0rtt' else '-'
    return f


def _share(counts, want):
    """(the wanted kind's count, the total) of a {kind: count}."""
    return counts.get(want, 0), sum(counts.values())


def full_share(cell, full, resumed, stray):
    """(error, note) on the window's full handshakes against the cell's
    expected share; each None when there is nothing to say."""
    n = full + resumed
    expect = expected_full_share(cell)
    if expect == 0:
        if full > stray * n:
            return ('a resumed window with %d full handshakes of %d (more '
                'than %g%%)' % (full, n, stray * 100), None)
        return None, None
    share = full / float(n) if n else 0.0
    tol = SIGMAS * math.sqrt(expect * (1 - expect) / n) if n else 1.0
    what = ('%s workers, each with its own session cache: a connection '
        'lands on any worker and resumes only on the one that issued its '
        'session' % cell['workers'])
    if abs(share - expect) > tol:
        return ('a resumed window with %d full handshakes of %d (%.1f%%), '
            'expected %.0f%% +- %.1f%% (%s)' % (full, n, 100 * share,
            100 * expect, 100 * tol, what), None)
    return None, ('expected about %.0f%% full handshakes (%s): %d of %d, '
        '%.1f%%' % (100 * expect, what, full, n, 100 * share))


def problems(cell, fields, agree, stray):
    """(errors, notes) of a window's row under the rules above."""
    errors, notes = [], []
    if cell['tls'] == '-' or cell['mode'] not in matrixfile.RESUMED_MODES:
        return errors, notes
    error, note = full_share(cell, fields['handshakes_full'],
        fields['handshakes_resumed'], stray)
    errors += [error] if error else []
    notes += [note] if note else []
    way = expected_via(cell)
    counts = {w: _count(fields.get(VIA_COLUMN[w])) for w in VIA_COLUMN}
    if None not in counts.values():
        got, total = _share(counts, way)
        if total - got > stray * total:
            errors.append('the server resumed %d of %d by %s, not by %s '
                '(confirmed: %s)' % (total - got, total, 'session ID' if
                way == 'ticket' else 'ticket', 'session ID' if way == 'id'
                else 'ticket', fields['confirmed_resumption']))
    psk = expected_psk(cell)
    if psk:
        server, client = ({m: _count(fields.get(prefix + 'resumed_' + name))
            for m, name in PSK_NAME.items()} for prefix in ('', 'client_'))
        for m, name in PSK_NAME.items():
            c, s = client[m], server[m]
            if c is not None and s is not None and \
                    abs(c - s) > agree * max(c, s):
                errors.append('PSK modes disagree: the client saw %d %s '
                    'resumptions, the server counted %d' % (c, name, s))
        seen = server if None not in server.values() else client
        if None not in seen.values():
            got, total = _share(seen, psk)
            if total - got > stray * total:
                errors.append('%d of %d resumptions used %s, not %s (%s '
                    'count)' % (total - got, total, PSK_NAME['ke' if psk ==
                    'dhe' else 'dhe'], PSK_NAME[psk], 'the server\'s' if
                    seen is server else 'the client\'s'))
    if cell['mode'] == 'resumed-0rtt':
        errors += early_data(fields, agree, stray)
    return errors, notes


def early_data(fields, agree, stray):
    """A 0-RTT window's errors: both ends agree on early data offered,
    accepted and rejected; every resumed handshake accepted it."""
    errors = []
    for what in ('offered', 'accepted', 'rejected'):
        c = _count(fields.get('client_early_' + what))
        s = _count(fields.get('early_' + what))
        if c is not None and s is not None and \
                abs(c - s) > agree * max(c, s):
            errors.append('early data counts disagree: the client %s %d, '
                'the server %d' % (what, c, s))
    accepted = _count(fields.get('early_accepted'))
    if accepted is None:
        accepted = _count(fields.get('client_early_accepted')) or 0
    resumed = fields['handshakes_resumed']
    if resumed and accepted < (1 - stray) * resumed:
        errors.append('a 0-RTT window with early data accepted on %d of %d '
            'resumed handshakes' % (accepted, resumed))
    return errors
