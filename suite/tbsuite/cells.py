"""Measure one cell once: the modes, the window, and the row it yields.

A mode says what the load generator does and how a repeat is measured.
The three load modes share one measurement (measure_window); a new kind of
measurement (instruction counts, memory per connection) is a new Mode with
its own `measure` function (which may start the server under a wrapper
such as valgrind), listed in MODES here and in matrixfile.MODE_NAMES.

measure_window, for every server alike, in three steps:

  window_samples  what is measured, raw:
                  1. start the server pinned to its CPUs, wait until ready
                  2. a two-request check run on one connection: the body's
                     SHA-256
                  3. the load run, pinned to the other CPUs: --warmup W,
                     then the window
                  4. when the warm-up ends (W after the start): counters
                     (SIGUSR1) and server CPU (/proc)
                  5. when the load run ends: counters, CPU and peak RSS
                  6. SIGTERM the server; its exit status
  row_fields      the samples as the row's figures
  judge           the row's status and the reasons it is not clean

Anything that goes wrong becomes status=error with the reason; the caller
writes the row and moves on.
"""

import shlex
import shutil
import subprocess
import tempfile
import time

from . import loadgen, matrix_modes, matrixfile, procstat, servers


class CellError(Exception):
    pass


class Mode:
    """load_args: what tlsbench-load does in this mode; measure(ctx, cell,
    repeat, row) -> row: how one repeat is measured."""

    def __init__(self, name, load_args, measure):
        self.name = name
        self.load_args = load_args
        self.measure = measure


def load_command(ctx, cell, url, window, warmup=0.0, check=None):
    """argv of one load run.  window is ('-d', secs) or ('-n', count);
    warmup > 0 adds --warmup (same connections, not counted); check is a
    body SHA-256 to verify (costs client CPU: only for the check run)."""
    s = cell['settings']
    mode = MODES[cell['mode']]
    flag, amount = window
    conc = cell['concurrency'] if check is None else '1'
    threads = ctx.client_threads(cell) if check is None else 1
    cmd = ['taskset', '-c', ctx.client_cpus(cell), ctx.load_binary,
        '-c', conc, '-t', str(threads), flag, str(amount), '--json',
        '--timeout', '%g' % s['timeout'],
        '--max-time', '%d' % ctx.load_max_time(cell)]
    if warmup > 0:
        cmd += ['--warmup', '%g' % warmup]
    cmd += mode.load_args
    if cell['tls'] != '-':
        # the suite measures servers: skip chain checks on the client, it
        # still verifies the handshake signature like any client
        cmd += ['--tls', cell['tls'], '--insecure']
        for name in ('ciphers', 'ciphersuites', 'groups'):
            if s[name]:
                cmd += ['--' + name, s[name]]
    if check:
        cmd += ['--expect-sha256', check]
    else:
        cmd += ['--expect-length', str(matrixfile.parse_body(cell['body']))]
    cmd.append(url + '/' + cell['body'])
    return cmd


def server_for(ctx, cell, workdir):
    """The cell's server, configured like the cell (not started)."""
    c, s = cell, cell['settings']
    pinned = {'cpus': ctx.server_cpus(c)}
    tls_lists = [x for name in ('ciphers', 'ciphersuites', 'groups')
        if s[name] for x in ('--' + name, s[name])]
    if c['server'] == 'tlsbench':
        args = ['--seed', str(s['seed']), '--io', c['io']]
        if c['backend'] != 'none':
            cert, key = ctx.cert_files(c['cert'])
            args += ['--cert', cert, '--key', key,
                '--tls-min', c['tls'], '--tls-max', c['tls'],
                '--resumption', c['resumption']] + tls_lists
        return servers.Tlsbench(workdir, ctx.server_binary(c), args,
            workers=c['workers'], **pinned)
    cert, key = ctx.cert_files(c['cert'])
    if c['server'] == 'asyncio':
        args = ['--cert', cert, '--key', key,
            '--tls-min', c['tls'], '--tls-max', c['tls'],
            '--resumption', c['resumption'],
            '--body-dir', ctx.body_dir(s['seed'])]
        if s['ciphers']:
            args += ['--ciphers', s['ciphers']]
        return servers.Asyncio(workdir, ctx.python, args, **pinned)
    return servers.Nginx(workdir, dict(cert=cert, key=key,
        body_dir=ctx.body_dir(s['seed']), tls_min=c['tls'],
        tls_max=c['tls'], ciphers=s['ciphers'],
        ciphersuites=s['ciphersuites'], groups=s['groups'],
        resumption=c['resumption'], workers=int(c['workers'])), **pinned)


def check_body(ctx, cell, url):
    """The body's bytes first, on one connection: every server must send
    the suite's bytes (a digest per response would load the client)."""
    sha = ctx.body_sha256(cell['settings']['seed'], cell['body'])
    if sha:
        loadgen.run(load_command(ctx, cell, url, ('-n', 2), check=sha))


def run_window(ctx, cell, server, url, row):
    """One load run: --warmup on the same connections (sessions and
    keep-alive connections made), then the window.  The server is sampled
    when the warm-up ends, so both samples bracket the window and the
    counters and CPU cover the same interval.  Returns the samples."""
    s = cell['settings']
    window = ('-n', s['requests']) if s['requests'] > 0 else \
        ('-d', '%g' % s['duration'])
    cmd = load_command(ctx, cell, url, window, s['warmup'])
    row['command'] = ctx.shown(' '.join(shlex.quote(a) for a in cmd))
    started = time.monotonic()
    p = loadgen.start(cmd)
    try:
        if s['warmup'] > 0:
            try:
                p.wait(timeout=s['warmup'])
            except subprocess.TimeoutExpired:
                pass
        # counters first, CPU right after they arrive: an overloaded
        # server may take seconds to answer SIGUSR1, and both must
        # describe the same moment
        c0 = server.counters()
        cpu0 = server.cpu()
        rc, out, err = loadgen.finish(cmd, p, started)
        c1 = server.counters()
        cpu1 = server.cpu()
        rss = procstat.peak_rss_kib(server.pid())
    except BaseException:
        loadgen.kill(p)
        raise
    return {'load_rc': rc, 'load': out, 'load_err': err,
        'counters': (c0, c1), 'cpu': (cpu0, cpu1), 'peak_rss_kib': rss,
        'scrape_cost': server.scrape_cost}


def window_samples(ctx, cell, workdir, row):
    """Start the cell's server, check the body, run the window and stop
    the server; the raw samples with the server's exit ('stop': (exit
    code, reason)).  Raises CellError when there is nothing to measure."""
    server = server_for(ctx, cell, workdir)
    try:
        try:
            url = server.start(ctx.ready_timeout)
        finally:
            row['server_command'] = ctx.shown(' '.join(
                shlex.quote(a) for a in server.cmdline))
        check_body(ctx, cell, url)
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


def row_fields(cell, samples):
    """The row's figures from the window's samples."""
    s = cell['settings']
    out = samples['load']
    c0, c1 = samples['counters']
    (user0, sys0), (user1, sys1) = samples['cpu']
    f = {}
    dur = float(out.get('duration_s') or 0)
    ok = int(out.get('requests_ok', 0))
    f['duration_s'] = _fmt(dur, 3)
    f['requests'] = ok
    f['errors'] = int(out.get('requests_failed', 0))
    neg = out.get('negotiated') or {}
    f['negotiated_cipher'] = neg.get('cipher') or '-'
    f['negotiated_group'] = neg.get('group') or '-'
    cfull = int(out.get('handshakes_full', 0))
    cresumed = int(out.get('handshakes_resumed', 0))
    cost = samples['scrape_cost']
    f['server_requests'] = _delta(c1, c0, 'requests') - cost
    if 'handshakes_full' in c1:
        full = _delta(c1, c0, 'handshakes_full')
        resumed = _delta(c1, c0, 'handshakes_resumed')
        source = 'server'
    else:
        # nginx: the connections it accepted are the handshakes; full
        # against resumed in the client's proportion
        conns = max(0, _delta(c1, c0, 'conns_accepted') - cost)
        share = cfull / (cfull + cresumed) if cfull + cresumed else 1.0
        full = int(round(conns * share))
        resumed = conns - full
        source = 'server-conns'
    f['handshakes_source'] = source
    if cell['tls'] == '-':
        full = resumed = 0
    f['handshakes_full'] = full
    f['handshakes_resumed'] = resumed
    f['hs_full_per_s'] = _fmt(full / dur if dur > 0 else 0.0)
    f['hs_resumed_per_s'] = _fmt(resumed / dur if dur > 0 else 0.0)
    lat = out.get('latency_us') or {}
    for key, col in (('p50', 'lat_p50_us'), ('p90', 'lat_p90_us'),
            ('p99', 'lat_p99_us'), ('p999', 'lat_p999_us'),
            ('max', 'lat_max_us')):
        f[col] = _fmt(lat.get(key))
    # throughput from the server's own count: with many connections,
    # requests in flight at the window's edges are the server's work but
    # not the client's (it counts requests started in the window), and
    # the handshake rates come from the same counters
    served = f['server_requests']
    f['rps'] = _fmt(served / dur if dur > 0 else 0.0)
    user, sys_ = user1 - user0, sys1 - sys0
    f['server_cpu_user_s'] = _fmt(user, 3)
    f['server_cpu_sys_s'] = _fmt(sys_, 3)
    f['server_us_per_req'] = _fmt((user + sys_) * 1e6 / served
        if served else None)
    f['server_peak_rss_kib'] = samples['peak_rss_kib']
    ccpu = float(out.get('client_cpu_user_s', 0)) + \
        float(out.get('client_cpu_sys_s', 0))
    share = out.get('client_cpu_share')
    f['client_cpu_s'] = _fmt(ccpu, 3)
    f['client_cpu_share'] = _fmt(share, 3) if share is not None else ''
    f['client_saturated'] = 'yes' if share is not None and \
        float(share) >= s['saturation'] else 'no'
    return f


def judge(cell, samples, fields):
    """(status, reasons): error when the server did not exit cleanly;
    reasons also name what makes an ok row less than clean."""
    out = samples['load']
    reasons = []
    version = str((out.get('negotiated') or {}).get('version') or '')
    if cell['tls'] != '-' and version and not version.endswith(cell['tls']):
        reasons.append('negotiated %s, not TLS %s' % (version, cell['tls']))
    srv, ok = fields['server_requests'], fields['requests']
    if srv > 2 * ok + 10:
        # closed loop: latency = connections / rate; a window shorter than
        # that counts almost nothing of what the server did
        reasons.append('window too short for this concurrency: the server '
            'answered %d requests, the client counted %d started in the '
            'window (use requests = N or a longer duration)' % (srv, ok))
    if samples['load_rc'] != 0:
        reasons.append('%d requests failed: %s' % (fields['errors'],
            out.get('reason') or samples['load_err'] or 'no reason'))
    rc_stop, why = samples['stop']
    if rc_stop != 0:
        reasons.append(why)
    return ('ok' if rc_stop == 0 else 'error'), reasons


def measure_window(ctx, cell, repeat, row):
    tmp = tempfile.mkdtemp(prefix='tbcell-', dir=ctx.tmp_root)
    try:
        samples = window_samples(ctx, cell, tmp, row)
    except CellError as e:
        row['status'], row['reason'] = 'error', str(e)
        return row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    row.update(row_fields(cell, samples))
    status, reasons = judge(cell, samples, row)
    row['status'], row['reason'] = status, '; '.join(reasons)
    return row


MODES = {
    'full': Mode('full', ['--close', '--resume', 'none'], measure_window),
    'resumed': Mode('resumed', ['--close', '--resume', 'ticket'],
        measure_window),
    'keepalive': Mode('keepalive', [], measure_window),
    # instructions per operation under callgrind, and memory per idle
    # connection (matrix_modes.py)
    'cost-full': Mode('cost-full', [], matrix_modes.measure_cost),
    'cost-resumed': Mode('cost-resumed', [], matrix_modes.measure_cost),
    'cost-keepalive': Mode('cost-keepalive', [], matrix_modes.measure_cost),
    'memory': Mode('memory', [], matrix_modes.measure_memory),
}


def run(ctx, cell, repeat, base_row):
    """One row for cell x repeat (never raises for a cell's own failure)."""
    row = dict(base_row)
    row['repeat'] = repeat
    problem = ctx.cell_problem(cell)
    if problem:
        row['status'] = 'error'
        row['reason'] = problem
        return row
    started = time.monotonic()
    row = MODES[cell['mode']].measure(ctx, cell, repeat, row)
    if cell['mode'] == 'full' and row.get('status') == 'ok':
        # the crypto floor of this server's library, and cost over it
        matrix_modes.add_floor(ctx, cell, row)
    ctx.note_cell_time(time.monotonic() - started)
    return row
