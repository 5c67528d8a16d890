"""Measure one cell once: the modes, the window, and the row it yields.

A mode says what the load generator does and how a repeat is measured.
The three load modes share one measurement (measure_window); a new kind of
measurement (instruction counts, memory per connection) is a new Mode with
its own `measure` function (which may start the server under a wrapper
such as valgrind), listed in MODES here and in matrixfile.MODE_NAMES.

measure_window, for every server alike:
  1. start the server pinned to its CPUs and wait until it is ready
  2. a two-request check run on one connection: the body's SHA-256
  3. the load run, pinned to the other CPUs: --warmup W, then the window
  4. when the warm-up ends (W after the start): server CPU (/proc) and
     counters (SIGUSR1)
  5. when the load run ends: server CPU, counters and peak RSS again
  6. SIGTERM the server and require exit status 0
Anything that goes wrong becomes status=error with the reason; the caller
writes the row and moves on.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from . import matrix_modes, matrixfile, procstat, servers


class CellError(Exception):
    pass


class Mode:
    """load_args: what tlsbench-load does in this mode; measure(ctx, cell,
    repeat, row) -> row: how one repeat is measured."""

    def __init__(self, name, load_args, measure):
        self.name = name
        self.load_args = load_args
        self.measure = measure


def _load_command(ctx, cell, url, window, warmup=0.0, check=None):
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


def _start_load(cmd):
    try:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            preexec_fn=servers.die_with_parent(9))
    except OSError as e:
        raise CellError('cannot run the load generator: %s' % e)


def _finish_load(ctx, cmd, p, started):
    """Wait for a load run; returns (exit code, parsed JSON, stderr)."""
    bound = ctx.load_max_time_of(cmd) + 30
    try:
        stdout, stderr = p.communicate(timeout=max(1.0, bound - (
            time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise CellError('load generator still running after %ds' % bound)
    except BaseException:
        p.kill()
        p.wait()
        raise
    err = ' '.join(stderr.strip().splitlines()[-2:])
    try:
        out = json.loads(stdout)
    except ValueError:
        raise CellError('load generator exit %d without JSON: %s' %
            (p.returncode, err or stdout[:200]))
    if p.returncode not in (0, 1):
        raise CellError('load generator exit %d: %s' % (p.returncode, err))
    if not out.get('requests_ok'):
        raise CellError('no successful requests: %s' %
            (out.get('reason') or err or 'load generator gave no reason'))
    return p.returncode, out, err


def _kill(p):
    if p is not None and p.poll() is None:
        p.kill()
        p.wait()


def _run_load(ctx, cmd):
    return _finish_load(ctx, cmd, _start_load(cmd), time.monotonic())


def _delta(after, before, key):
    if after is None or before is None:
        return None
    return int(after.get(key, 0)) - int(before.get(key, 0))


def _fmt(x, digits=1):
    if x is None:
        return ''
    if isinstance(x, float):
        return ('%.' + str(digits) + 'f') % x
    return str(x)


def measure_window(ctx, cell, repeat, row):
    s = cell['settings']
    tmp = tempfile.mkdtemp(prefix='tbcell-', dir=ctx.tmp_root)
    server = servers.make(cell, ctx, tmp)
    p = None
    try:
        try:
            url = server.start()
        finally:
            row['server_command'] = ctx.shown(' '.join(
                shlex.quote(a) for a in getattr(server, 'cmdline', [])))
        # the body bytes first, on one connection: every server must send
        # the suite's bytes (a digest per response would load the client)
        sha = ctx.body_sha256(s['seed'], cell['body'])
        if sha:
            _run_load(ctx, _load_command(ctx, cell, url, ('-n', 2),
                check=sha))
        # one load run: --warmup on the same connections (sessions and
        # keep-alive connections made), then the window; the server is
        # sampled when the warm-up ends, so both samples bracket the
        # window and the counters and CPU cover the same interval
        window = ('-n', s['requests']) if s['requests'] > 0 else \
            ('-d', '%g' % s['duration'])
        cmd = _load_command(ctx, cell, url, window, s['warmup'])
        row['command'] = ctx.shown(' '.join(shlex.quote(a) for a in cmd))
        started = time.monotonic()
        p = _start_load(cmd)
        if s['warmup'] > 0:
            try:
                p.wait(timeout=s['warmup'])
            except subprocess.TimeoutExpired:
                pass
        # counters first, CPU right after they arrive: an overloaded
        # server may take seconds to answer SIGUSR1, and both must
        # describe the same moment
        c0 = server.counters()
        cpu0 = procstat.cpu(server.pid())
        rc, out, err = _finish_load(ctx, cmd, p, started)
        c1 = server.counters()
        cpu1 = procstat.cpu(server.pid())
        rss = procstat.peak_rss_kib(server.pid())
    except (CellError, servers.ServerError) as e:
        _kill(p)
        # failed requests may be the symptom: a dead server the cause
        dead = server.died() if isinstance(e, CellError) else None
        rc_stop, why = server.stop()
        row['status'] = 'error'
        row['reason'] = '%s; %s' % (dead, e) if dead else str(e)
        shutil.rmtree(tmp, ignore_errors=True)
        return row
    except BaseException:
        _kill(p)
        server.stop(timeout=5)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    rc_stop, why = server.stop()
    shutil.rmtree(tmp, ignore_errors=True)

    dur = float(out.get('duration_s') or 0)
    ok = int(out.get('requests_ok', 0))
    row['duration_s'] = _fmt(dur, 3)
    row['requests'] = ok
    row['errors'] = int(out.get('requests_failed', 0))

    neg = out.get('negotiated') or {}
    row['negotiated_cipher'] = neg.get('cipher') or '-'
    row['negotiated_group'] = neg.get('group') or '-'
    cfull = int(out.get('handshakes_full', 0))
    cresumed = int(out.get('handshakes_resumed', 0))
    row['server_requests'] = ''
    full, resumed, source = cfull, cresumed, 'client'
    if c0 is not None and c1 is not None:
        cost = server.scrape_cost
        row['server_requests'] = _delta(c1, c0, 'requests') - cost
        if 'handshakes_full' in c1:
            full = _delta(c1, c0, 'handshakes_full')
            resumed = _delta(c1, c0, 'handshakes_resumed')
            source = 'server'
        else:
            # nginx: the connections it accepted are the handshakes;
            # full against resumed in the client's proportion
            conns = max(0, _delta(c1, c0, 'conns_accepted') - cost)
            share = cfull / (cfull + cresumed) if cfull + cresumed \
                else 1.0
            full = int(round(conns * share))
            resumed = conns - full
            source = 'server-conns'
    row['handshakes_source'] = source
    if cell['tls'] == '-':
        full = resumed = 0
    row['handshakes_full'] = full
    row['handshakes_resumed'] = resumed
    row['hs_full_per_s'] = _fmt(full / dur if dur > 0 else 0.0)
    row['hs_resumed_per_s'] = _fmt(resumed / dur if dur > 0 else 0.0)
    lat = out.get('latency_us') or {}
    for key, col in (('p50', 'lat_p50_us'), ('p90', 'lat_p90_us'),
            ('p99', 'lat_p99_us'), ('p999', 'lat_p999_us'),
            ('max', 'lat_max_us')):
        row[col] = _fmt(lat.get(key))
    # throughput from the server's own count when it has one: with many
    # connections, requests in flight at the window's edges are the
    # server's work but not the client's (it counts requests started in
    # the window), and the handshake rates come from the same counters
    served = row['server_requests'] if row['server_requests'] not in \
        ('', None) else ok
    row['rps'] = _fmt(served / dur if dur > 0 else 0.0)
    user, sys_ = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    row['server_cpu_user_s'] = _fmt(user, 3)
    row['server_cpu_sys_s'] = _fmt(sys_, 3)
    row['server_us_per_req'] = _fmt((user + sys_) * 1e6 / served
        if served else None)
    row['server_peak_rss_kib'] = rss
    ccpu = float(out.get('client_cpu_user_s', 0)) + \
        float(out.get('client_cpu_sys_s', 0))
    share = out.get('client_cpu_share')
    row['client_cpu_s'] = _fmt(ccpu, 3)
    row['client_cpu_share'] = _fmt(share, 3) if share is not None else ''
    row['client_saturated'] = 'yes' if share is not None and \
        float(share) >= s['saturation'] else 'no'
    reasons = []
    version = str(neg.get('version') or '')
    if cell['tls'] != '-' and version and not version.endswith(cell['tls']):
        reasons.append('negotiated %s, not TLS %s' % (version, cell['tls']))
    srv = row['server_requests']
    if srv not in ('', None) and srv > 2 * ok + 10:
        # closed loop: latency = connections / rate; a window shorter than
        # that counts almost nothing of what the server did
        reasons.append('window too short for this concurrency: the server '
            'answered %d requests, the client counted %d started in the '
            'window (use requests = N or a longer duration)' % (srv, ok))
    if rc != 0:
        reasons.append('%d requests failed: %s' % (row['errors'],
            out.get('reason') or err or 'no reason'))
    if rc_stop != 0:
        row['status'] = 'error'
        reasons.append(why)
    else:
        row['status'] = 'ok'
    row['reason'] = '; '.join(reasons)
    return row


MODES = {
    'full': Mode('full', ['--close', '--resume', 'none'], measure_window),
    'resumed': Mode('resumed', ['--close', '--resume', 'ticket'],
        measure_window),
    'keepalive': Mode('keepalive', [], measure_window),
    # instructions per operation under callgrind, and memory per idle
    # connection (suite/cost/matrix_modes.py)
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
