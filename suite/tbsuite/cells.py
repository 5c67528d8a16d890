"""Measure one cell once: the modes, the window, and the row it yields.

A mode says what the load generator does and how a row is measured.  The
window modes share one measurement (measure_window); a new kind of
measurement (instruction counts, memory per connection) is a new Mode with
its own `measure` function (which may start the server under a wrapper
such as valgrind), listed in MODES here and in matrixfile.MODE_NAMES.

measure_window, for every server alike, in three steps:

  window_samples  what is measured, raw:
                  1. the canary: a fixed loop timed on the server's CPU
                  2. start the server pinned to its CPUs, wait until ready
                     (a library that lacks what the cell asks for refuses
                     here: a `refused` row)
                  3. a two-request check run on one connection: the body's
                     SHA-256 (a group or suite the client's OpenSSL cannot
                     offer refuses here: a `refused` row too)
                  4. the load run, pinned to the other CPUs, on a control
                     socket: warm-up until every slot made a request (and,
                     resuming, a resumed handshake), then the client stops
                     with nothing in flight and says `window-start`:
                     server counters, then its CPU (schedstat and ticks)
                     and the CPUs' steal, then `go`; the window of -n N
                     requests, every one completed; `window-end`: CPU and
                     steal, then counters, then `go`
                  5. SIGTERM the server; its exit status
  row_fields      the samples as the row's figures (with the handshakes'
                  bytes on the wire, and a bulk window's CPU per MiB)
  judge           the row's status and the reasons it is not clean: the
                  window's counts agree between client and server, the
                  handshakes are the mode's, the group and suite the cell's

Anything that goes wrong becomes status=error with the reason; the caller
writes the row and moves on.
"""

import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time

from . import (context, loadgen, matrix_modes, matrixfile, openloop,
    procstat, results, resumemodes, servers)

AGREE = 0.01        # client and server window counts agree within 1%
STRAY = 0.01        # a resumed window may hold 1% full handshakes
# how a library's refusal reads (backends/common.c tb_lacks):
# "<library> has no <what> (<which versions have it>)"
REFUSAL = re.compile(r'\bhas no \S+.*\(.+\)')
# how the load generator rejects a list its OpenSSL cannot take (a group
# such as X25519Kyber768Draft00 that no OpenSSL has)
CLIENT_LIST = re.compile(r'(tlsbench-load: --(?:groups|ciphersuites) '
    r'"([^"]+)": not a valid list)')


class CellError(Exception):
    pass


class Refused(CellError):
    """The server refused the cell at start-up: its library lacks what the
    cell asks for (a group, a key type).  A stated limit, not a failure."""


class Mode:
    """load_args: what tlsbench-load does in this mode; measure(ctx, cell,
    repeat, row) -> row: how one row is measured."""

    def __init__(self, name, load_args, measure):
        self.name = name
        self.load_args = load_args
        self.measure = measure


def tls_lists(cell):
    """[(option, value)] of the lists the cell pins: its group and suite
    axes, else the settings' lists."""
    s = cell['settings']
    group = cell['group'] if cell['group'] != '-' else s['groups']
    suite = cell['suite'] if cell['suite'] != '-' else s['ciphersuites']
    return [(o, v) for o, v in (('ciphers', s['ciphers']),
        ('ciphersuites', suite), ('groups', group)) if v]


def load_command(ctx, cell, url, requests, check=None, control_fd=None):
    """argv of one load run of `requests` requests.  check: a body SHA-256
    to verify on one connection (costs client CPU: only for the check
    run); otherwise the measured run with its warm-up on control_fd."""
    s = cell['settings']
    mode = MODES[cell['mode']]
    conc = cell['concurrency'] if check is None else '1'
    threads = ctx.client_threads(cell) if check is None else 1
    cmd = ['taskset', '-c', ctx.client_cpus(cell), ctx.load_binary,
        '-c', conc, '-t', str(threads), '-n', str(requests), '--json',
        '--timeout', '%g' % s['timeout'],
        '--max-time', '%d' % ctx.load_max_time(cell)]
    if control_fd is not None:
        # every slot warm (and resumed once, when resuming) before the
        # window; not when a test makes the server refuse resumption
        per_slot = 0 if s['test_server_resumption'] else 1
        cmd += ['--warmup', '%g' % s['warmup'], '--warmup-per-slot',
            str(per_slot), '--control-fd', str(control_fd)]
        cmd += openloop.load_args(cell)
    cmd += resumemodes.client_args(cell, mode.load_args)
    if cell['tls'] != '-':
        # the suite measures servers: skip chain checks on the client, it
        # still verifies the handshake signature like any client
        cmd += ['--tls', cell['tls'], '--insecure']
        for name, value in tls_lists(cell):
            cmd += ['--' + name, value]
    if check:
        cmd += ['--expect-sha256', check]
    else:
        cmd += ['--expect-length', str(matrixfile.parse_body(cell['body']))]
    cmd.append(url + '/' + cell['body'])
    return cmd


def server_resumption(cell):
    """The server's --resumption: the cell's, unless a test overrides it
    (test_server_resumption) to make a window the mode does not expect."""
    return cell['settings']['test_server_resumption'] or cell['resumption']


# (server, backend) that cannot pin one TLS 1.3 suite: BoringSSL has no
# setting for it (its backend refuses a list it would not follow; the
# server takes the client's first choice).  The suite axis then pins the
# client alone (as for the asyncio server, whose Python ssl takes no suite
# list at all), and the negotiated suite is checked all the same.
CLIENT_PINS_SUITE = {('tlsbench', 'boringssl')}


def server_lists(cell):
    """The lists the cell's server is given: tls_lists without a suite
    axis the server cannot take (CLIENT_PINS_SUITE)."""
    lists = dict(tls_lists(cell))
    if cell['suite'] != '-' and (cell['server'], cell['backend']) in \
            CLIENT_PINS_SUITE:
        lists.pop('ciphersuites', None)
    return lists


def server_for(ctx, cell, workdir):
    """The cell's server, configured like the cell (not started)."""
    c, s = cell, cell['settings']
    pinned = {'cpus': ctx.server_cpus(c)}
    lists = server_lists(c)
    if c['server'] == 'tlsbench':
        args = ['--seed', str(s['seed'])]
        if c['io'] not in ('native', '-'):
            args += ['--io', c['io']]
        if c['backend'] != 'none':
            cert, key = ctx.cert_files(c['cert'])
            args += ['--cert', cert, '--key', key,
                '--tls-min', c['tls'], '--tls-max', c['tls'],
                '--resumption', server_resumption(c)]
            args += resumemodes.server_args(c)
            for name, value in sorted(lists.items()):
                args += ['--' + name, value]
        return servers.Tlsbench(workdir, ctx.server_binary(c), args,
            workers=c['workers'], **pinned)
    cert, key = ctx.cert_files(c['cert'])
    if c['server'] == 'asyncio':
        # Python's ssl takes a TLS 1.2 cipher list only: the client's
        # lists pin the group and suite
        args = ['--cert', cert, '--key', key,
            '--tls-min', c['tls'], '--tls-max', c['tls'],
            '--resumption', server_resumption(c),
            '--body-dir', ctx.body_dir(s['seed'])]
        if lists.get('ciphers'):
            args += ['--ciphers', lists['ciphers']]
        return servers.Asyncio(workdir, ctx.python, args, **pinned)
    return servers.Nginx(workdir, dict(cert=cert, key=key,
        body_dir=ctx.body_dir(s['seed']), tls_min=c['tls'],
        tls_max=c['tls'], ciphers=lists.get('ciphers', ''),
        ciphersuites=lists.get('ciphersuites', ''),
        groups=lists.get('groups', ''),
        resumption=server_resumption(c), workers=int(c['workers']),
        early_data=c['mode'] == 'resumed-0rtt'),
        count_reused=c['mode'] in ('full', 'full-tickets') +
        matrixfile.RESUMED_MODES, **pinned)


def check_body(ctx, cell, url):
    """The body's bytes first, on one connection: every server must send
    the suite's bytes (a digest per response would load the client)."""
    sha = ctx.body_sha256(cell['settings']['seed'], cell['body'])
    if sha:
        loadgen.run(load_command(ctx, cell, url, 2, check=sha))


class Control:
    """The caller's end of tlsbench-load's --control-fd socket."""

    def __init__(self, sock, timeout):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b''

    def wait(self, word):
        """True once the client wrote `word`; False when it closed the
        socket first (it ended: its JSON says why)."""
        while b'\n' not in self.buf:
            try:
                got = self.sock.recv(256)
            except socket.timeout:
                raise loadgen.LoadError('the load generator did not say '
                    '%s within %ds' % (word, self.timeout))
            if not got:
                return False
            self.buf += got
        line, _, self.buf = self.buf.partition(b'\n')
        if line.decode(errors='replace') != word:
            raise loadgen.LoadError('the load generator said %r on its '
                'control socket, not %s' % (line[:60], word))
        return True

    def go(self):
        self.sock.sendall(b'go\n')


def run_window(ctx, cell, server, url, row):
    """One load run: the warm-up, then the window between two quiesced
    boundaries where the server is read at rest.  At the start its
    counters come before its CPU, at the end after it, so the CPU the
    readings cost stays out of the window.  Returns the samples."""
    ours, theirs = socket.socketpair()
    cmd = load_command(ctx, cell, url, context.window_requests(cell),
        control_fd=theirs.fileno())
    row['command'] = ctx.shown(' '.join(shlex.quote(a) for a in cmd))
    cpus = ctx.server_cpu_list(cell)
    started = time.monotonic()
    p = None
    try:
        try:
            p = loadgen.start(cmd, pass_fds=(theirs.fileno(),))
        finally:
            theirs.close()
        ctl = Control(ours, loadgen.max_time(cmd) + loadgen.MARGIN)
        edges = []
        if ctl.wait('window-start'):
            c0 = server.counters()
            cpu0, steal0 = server.cpu(), procstat.steal_s(cpus)
            ctl.go()
            if ctl.wait('window-end'):
                cpu1, steal1 = server.cpu(), procstat.steal_s(cpus)
                c1 = server.counters()
                ctl.go()
                edges = [(c0, cpu0, steal0), (c1, cpu1, steal1)]
        rc, out, err = loadgen.finish(cmd, p, started)
        rss = procstat.peak_rss_kib(server.pid())
    except BaseException:
        loadgen.kill(p)
        raise
    finally:
        ours.close()
    if not edges:
        raise loadgen.LoadError('the load generator ended before its '
            'window did: %s' % (out.get('reason') or err or 'no reason'))
    (c0, cpu0, steal0), (c1, cpu1, steal1) = edges
    return {'load_rc': rc, 'load': out, 'load_err': err,
        'counters': (c0, c1), 'cpu': (cpu0, cpu1),
        'steal_s': steal1 - steal0, 'peak_rss_kib': rss,
        'scrape_cost': server.scrape_cost, 'hs_source': server.hs_source,
        'tls_settings': server.tls_settings(c1),
        'anti_replay': server.anti_replay(c1)}


def refusal(server):
    """The line in which the server refused the cell at start-up, or
    None."""
    lacks = server.lacks()
    if lacks:
        return lacks
    try:
        with open(server.stderr, errors='replace') as f:
            for line in f:
                if REFUSAL.search(line) or \
                        resumemodes.REFUSED_OPTION.search(line):
                    return line.strip()
    except OSError:
        pass
    return None


def client_refusal(ctx, error):
    """The refusal line when the load generator's OpenSSL cannot take the
    cell's group or suite (the client's limit, stated like a library's),
    or None."""
    m = CLIENT_LIST.search(str(error))
    if not m:
        return None
    lib = ' '.join((ctx.client_facts.get('client_library') or
        'OpenSSL').split()[:2])
    return 'the client\'s %s has no %s (%s)' % (lib, m.group(2), m.group(1))


def window_samples(ctx, cell, workdir, row):
    """Start the cell's server, check the body, run the window and stop
    the server; the raw samples with the server's exit ('stop': (exit
    code, reason)).  Raises CellError when there is nothing to measure
    (Refused when the server's library lacks what the cell needs)."""
    server = server_for(ctx, cell, workdir)
    try:
        try:
            url = server.start(ctx.ready_timeout)
        except servers.ServerError as e:
            line = refusal(server)
            raise Refused(line) if line else e
        finally:
            row['server_command'] = ctx.shown(' '.join(
                shlex.quote(a) for a in server.cmdline))
        try:
            check_body(ctx, cell, url)
        except loadgen.LoadError as e:
            line = client_refusal(ctx, e)
            raise Refused(line) if line else e
        samples = run_window(ctx, cell, server, url, row)
    except (loadgen.LoadError, servers.ServerError) as e:
        # failed requests may be the symptom: a dead server the cause
        dead = server.died() if server.proc and isinstance(e,
            loadgen.LoadError) else None
        server.stop()
        raise CellError('%s; %s' % (dead, e) if dead else str(e))
    except BaseException:
        server.stop(timeout=5)
        raise
    samples['stop'] = server.stop()
    return samples


def _delta(after, before, key):
    return int(after.get(key, 0)) - int(before.get(key, 0))


def _fmt(x, digits=1):
    if x is None:
        return ''
    if isinstance(x, float):
        return ('%.' + str(digits) + 'f') % x
    return str(x)


def bound_class(server_util, client_share, saturation):
    """Which side limited the window: `server` when the server's CPU was
    busy at least `saturation` of the time, `client` when the client's
    was and the server's was not, `neither` otherwise (latency-bound, or
    a figure is missing)."""
    if server_util is not None and server_util >= saturation:
        return 'server'
    if client_share is not None and client_share >= saturation:
        return 'client'
    return 'neither'


def _handshakes(cell, samples, cfull, cresumed):
    """(full, resumed, source) in the window, from the server."""
    c0, c1 = samples['counters']
    if cell['tls'] == '-':
        return 0, 0, 'server'
    if 'handshakes_full' in c1:
        return (_delta(c1, c0, 'handshakes_full'),
            _delta(c1, c0, 'handshakes_resumed'), samples['hs_source'])
    # nginx in keep-alive cells (no access log): the connections it
    # accepted are the handshakes, split as the client saw them
    conns = max(0, _delta(c1, c0, 'conns_accepted') - samples['scrape_cost'])
    share = cfull / (cfull + cresumed) if cfull + cresumed else 1.0
    full = int(round(conns * share))
    return full, conns - full, 'server-conns'


# the load generator's handshake_bytes means, in results.WIRE_COLUMNS'
# order
WIRE_KEYS = ('client_sent', 'server_sent', 'client_records',
    'server_records', 'client_segments', 'server_segments', 'ticket_bytes')
MIB = 1024 * 1024


def handshake_kind(cell):
    """`full` or `resumed`: the handshakes a mode's window makes, one per
    request (a mode whose client closes every connection); None for a
    mode that makes none in its window (keep-alive, bulk)."""
    args = MODES[cell['mode']].load_args
    if '--close' not in args or cell['tls'] == '-':
        return None
    return 'resumed' if '--resume' in args and \
        args[args.index('--resume') + 1] != 'none' else 'full'


def wire_fields(cell, out):
    """The wire columns: the means over the window's handshakes of the
    mode's kind (load generator's `handshake_bytes`); empty otherwise."""
    kind = handshake_kind(cell)
    got = (out.get('handshake_bytes') or {}).get(kind) if kind else None
    cols = list(zip(WIRE_KEYS, results.WIRE_COLUMNS))
    if not got or not got.get('handshakes'):
        return {col: '' for _, col in cols}
    return {col: _fmt(float(got[key]), 1) if got.get(key) is not None
        else '' for key, col in cols}


def row_fields(cell, samples):
    """The row's figures from the window's samples."""
    s = cell['settings']
    out = samples['load']
    c0, c1 = samples['counters']
    cpu0, cpu1 = samples['cpu']
    f = {}
    dur = float(out.get('duration_s') or 0)
    f['duration_s'] = _fmt(dur, 4)
    f['requests'] = int(out.get('requests_ok', 0))
    f['errors'] = int(out.get('requests_failed', 0))
    neg = out.get('negotiated') or {}
    f['negotiated_cipher'] = neg.get('cipher') or '-'
    f['negotiated_group'] = neg.get('group') or '-'
    f['negotiated_sigalg'] = neg.get('sigalg') or '-'
    f['client_library'] = out.get('client_library') or ''
    f['warmup_s'] = _fmt(float(out.get('warmup_s') or 0), 3)
    f['warmup_requests'] = int(out.get('warmup_requests', 0))
    cfull = int(out.get('handshakes_full', 0))
    cresumed = int(out.get('handshakes_resumed', 0))
    f['client_handshakes_full'] = cfull
    f['client_handshakes_resumed'] = cresumed
    f['server_requests'] = served = _delta(c1, c0, 'requests') - \
        samples['scrape_cost']
    full, resumed, source = _handshakes(cell, samples, cfull, cresumed)
    f['handshakes_source'] = source
    f['handshakes_full'] = full
    f['handshakes_resumed'] = resumed
    f['hs_full_per_s'] = _fmt(full / dur if dur > 0 else 0.0)
    f['hs_resumed_per_s'] = _fmt(resumed / dur if dur > 0 else 0.0)
    lat = out.get('latency_us') or {}
    for key, col in (('p50', 'lat_p50_us'), ('p90', 'lat_p90_us'),
            ('p99', 'lat_p99_us'), ('p999', 'lat_p999_us'),
            ('max', 'lat_max_us')):
        f[col] = _fmt(lat.get(key))
    # the handshake phase, where the window had handshakes
    hs = out.get('handshake_us') or {}
    for key in ('p50', 'p90', 'p99', 'p999'):
        f['hs_%s_us' % key] = _fmt(hs.get(key)) if hs.get('count') else '-'
    # requests/s and CPU per request over the same window: the server's
    # count between the two boundaries, the client's window seconds
    f['rps'] = _fmt(served / dur if dur > 0 else 0.0)
    cpu_s = (cpu1['ns'] - cpu0['ns']) / 1e9
    f['server_cpu_s'] = _fmt(cpu_s, 4)
    f['server_cpu_user_s'] = _fmt(cpu1['user_s'] - cpu0['user_s'], 2)
    f['server_cpu_sys_s'] = _fmt(cpu1['sys_s'] - cpu0['sys_s'], 2)
    f['server_us_per_req'] = _fmt(cpu_s * 1e6 / served, 2) if served > 0 \
        else ''
    # bulk: CPU per MiB of response bodies the server sent in the window
    mib = served * matrixfile.parse_body(cell['body']) / MIB
    f['server_us_per_mib'] = _fmt(cpu_s * 1e6 / mib, 2) if \
        cell['mode'] == 'bulk' and mib > 0 else ''
    f.update(wire_fields(cell, out))
    util = cpu_s / dur / int(cell['workers']) if dur > 0 else None
    f['server_util'] = _fmt(util, 3)
    f['steal_s'] = _fmt(samples['steal_s'], 2)
    f['server_peak_rss_kib'] = samples['peak_rss_kib']
    ccpu = float(out.get('client_cpu_user_s', 0)) + \
        float(out.get('client_cpu_sys_s', 0))
    share = out.get('client_cpu_share')
    share = float(share) if share is not None else None
    f['client_cpu_s'] = _fmt(ccpu, 3)
    f['client_cpu_share'] = _fmt(share, 3)
    f['client_saturated'] = 'yes' if share is not None and \
        share >= s['saturation'] else 'no'
    f['bound'] = bound_class(util, share, s['saturation'])
    f['tls_settings'] = samples['tls_settings']
    f.update(openloop.row_fields(cell, out))
    f.update(resumemodes.row_fields(cell, samples) if cell['tls'] != '-'
        else dict.fromkeys(resumemodes.COLUMNS, '-'))
    return f


def _disagree(a, b):
    return abs(a - b) > AGREE * max(a, b)


def judge(cell, samples, fields):
    """(status, reasons): `error` when the window is not the cell's (the
    negotiated version or group, counts the client and the server do not
    agree on, handshakes the mode does not have, a window cut short,
    failed requests beyond 1%) or the server did not exit cleanly;
    reasons also name what makes an ok row less than clean."""
    out = samples['load']
    errors, notes = [], []
    neg = out.get('negotiated') or {}
    version = str(neg.get('version') or '')
    if cell['tls'] != '-' and version and not version.endswith(cell['tls']):
        errors.append('negotiated %s, not TLS %s' % (version, cell['tls']))
    group = str(neg.get('group') or '')
    if cell['group'] != '-' and group.lower() != cell['group'].lower():
        errors.append('negotiated group %s, not %s' % (group or 'none',
            cell['group']))
    cipher = str(neg.get('cipher') or '')
    if cell['suite'] != '-' and cipher != cell['suite']:
        errors.append('negotiated suite %s, not %s' % (cipher or 'none',
            cell['suite']))
    started = out.get('window_requests_started')
    completed = out.get('window_requests_completed')
    if out.get('inflight_abandoned') or started != completed:
        errors.append('window cut short: %s requests started, %s '
            'completed, %s abandoned' % (started, completed,
            out.get('inflight_abandoned')))
    ok, served = fields['requests'], fields['server_requests']
    if _disagree(ok, served):
        errors.append('window counts disagree: the client completed %d '
            'requests, the server counted %d' % (ok, served))
    if cell['tls'] != '-':
        cfull = fields['client_handshakes_full']
        cresumed = fields['client_handshakes_resumed']
        full, resumed = fields['handshakes_full'], \
            fields['handshakes_resumed']
        if fields['handshakes_source'] == 'server-conns':
            pairs = [('handshakes', cfull + cresumed, full + resumed)]
        else:
            pairs = [('full handshakes', cfull, full),
                ('resumed handshakes', cresumed, resumed)]
        for what, c, srv in pairs:
            if _disagree(c, srv):
                errors.append('window counts disagree: the client made %d '
                    '%s, the server counted %d' % (c, what, srv))
        # the full-handshake share, the confirmed resumption, early data
        more, said = resumemodes.problems(cell, fields, AGREE, STRAY)
        errors += more
        notes += said
        if cell['mode'] in ('full', 'full-tickets') and resumed:
            errors.append('a full-handshake window with %d resumed '
                'handshakes of %d' % (resumed, full + resumed))
    if samples['load_rc'] != 0:
        why = '%d requests failed: %s' % (fields['errors'],
            out.get('reason') or samples['load_err'] or 'no reason')
        (errors if fields['errors'] > AGREE * max(ok, 1) else
            notes).append(why)
    rc_stop, why = samples['stop']
    if rc_stop != 0:
        errors.append(why)
    notes += openloop.notes(cell, fields)
    return ('error' if errors else 'ok'), errors + notes


def canary_ns(ctx, cell):
    """The canary's time on the server's first CPU, ns ('' if it
    failed: the row still runs)."""
    cpu = str(ctx.server_cpu_list(cell)[0])
    try:
        p = subprocess.run(['taskset', '-c', cpu, ctx.canary_binary],
            capture_output=True, text=True, timeout=30)
        return int(p.stdout.strip()) if p.returncode == 0 else ''
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return ''


def measure_window(ctx, cell, repeat, row):
    row['canary_ns'] = canary_ns(ctx, cell)
    tmp = tempfile.mkdtemp(prefix='tbcell-', dir=ctx.tmp_root)
    try:
        samples = window_samples(ctx, cell, tmp, row)
    except CellError as e:
        row['status'] = 'refused' if isinstance(e, Refused) else 'error'
        row['reason'] = str(e)
        return row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    row.update(row_fields(cell, samples))
    status, reasons = judge(cell, samples, row)
    row['status'], row['reason'] = status, '; '.join(reasons)
    return row


CLOSE = ['--close']
MODES = {
    'full': Mode('full', CLOSE + ['--resume', 'none'], measure_window),
    # the same client against a server that issues tickets (and caches):
    # what a real server pays per full handshake
    'full-tickets': Mode('full-tickets', CLOSE + ['--resume', 'none'],
        measure_window),
    'resumed': Mode('resumed', CLOSE + ['--resume', 'ticket'],
        measure_window),
    'keepalive': Mode('keepalive', [], measure_window),
    # keep-alive requests of large bodies (1m, 16m): server CPU per MiB
    'bulk': Mode('bulk', [], measure_window),
    # the request in TLS 1.3 early data on a resumption (0-RTT)
    'resumed-0rtt': Mode('resumed-0rtt', CLOSE + ['--resume', 'ticket',
        '--early-data'], measure_window),
    # instructions per operation under callgrind, and memory per idle
    # connection (matrix_modes.py)
    'cost-full': Mode('cost-full', [], matrix_modes.measure_cost),
    'cost-resumed': Mode('cost-resumed', [], matrix_modes.measure_cost),
    'cost-keepalive': Mode('cost-keepalive', [], matrix_modes.measure_cost),
    'memory': Mode('memory', [], matrix_modes.measure_memory),
}


def run(ctx, cell, repeat, base_row):
    """One row for the cell (never raises for a cell's own failure)."""
    row = dict(base_row)
    row['repeat'] = repeat
    started = time.monotonic()
    status, problem = 'error', ctx.cell_problem(cell)
    if not problem:
        status, problem = openloop.problem(cell)
    if problem:
        row['status'] = status
        row['reason'] = problem
    else:
        row = MODES[cell['mode']].measure(ctx, cell, repeat, row)
        if cell['mode'] in matrixfile.FLOOR_MODES and \
                row.get('status') == 'ok':
            # the crypto floor of this server's library, and cost over it
            matrix_modes.add_floor(ctx, cell, row)
    row['measure_s'] = '%.1f' % (time.monotonic() - started)
    return row
