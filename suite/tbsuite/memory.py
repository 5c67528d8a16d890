"""suite/memory/run_memory.sh: server memory per idle TLS connection.

The server (one worker) gets a short warm-up, then tlsbench-hold opens N
keep-alive connections, makes one request on each and holds them idle; the
server's VmRSS before, while held and after release gives KiB per
connection.  Loopback only; every connection is closed at the end.
"""

import os
import re
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import backends, builds, cli, procstat, servers, standalone

log = cli.logger('memory')

USAGE = """\
usage: suite/memory/run_memory.sh [options]

Measures tlsbench-server's resident memory per established, idle TLS
keep-alive connection: VmRSS (from /proc/PID/status) after a warm-up
(rss_base_kib), with N connections held after one request each
(rss_held_kib) and after they are released (rss_after_kib);
kib_per_conn = (held - base) / N.  One CSV row per cell.

  --backend LIST    %(backends)s (default: every backend)
  --tls LIST        1.2,1.3 (default 1.3)
  --cert LIST       key types from suite/certs.sh (default ecdsa-p256)
  --conns LIST      connections held (default 1000,10000)
  --builds PATTERN  build directory per backend, {backend} replaced
                    (default build/{backend}); made when missing unless
                    --no-build
  --hold PATH       the holder (default: suite/memory/hold.c compiled
                    into build/memory/tlsbench-hold when out of date)
  --certs DIR       certificates (default build/certs)
  --body PATH       path requested once on each connection (default 20k)
  --parallel N      handshakes in flight while opening (default 32)
  --max-time S      bound on opening one cell's connections (default 300)
  --out DIR         write DIR/memory.csv (default results/memory-<time>)
  --csv FILE        write the rows here instead
  --server-cpu N    CPU for the server (default 0)
  --client-cpu N    CPU for the holder (default: last CPU)
  --no-build        never run meson, ninja or cc
  --help            this text

Exit status: 0 when every cell gave a figure, 1 when some failed (their
rows say why), 2 on a usage error.
"""

COLUMNS = ['backend', 'library_version', 'tls_version', 'cert',
    'mem_conns', 'rss_base_kib', 'rss_held_kib', 'rss_after_kib',
    'kib_per_conn', 'open_s', 'conns_active_held', 'status', 'error']
WARMUP_CONNS = 20
HOLD_SRC = os.path.join(cli.ROOT, 'suite', 'memory', 'hold.c')
HOLD_BIN = os.path.join(cli.ROOT, 'build', 'memory', 'tlsbench-hold')


class CellError(Exception):
    pass


def usage():
    return USAGE % {'backends': ','.join(backends.BACKENDS)}


def parse_args(argv):
    p = standalone.parser()
    p.add_argument('--conns', action='append', default=[])
    p.add_argument('--hold')
    p.add_argument('--parallel', type=int, default=32)
    p.add_argument('--max-time', type=int, default=300)
    args = standalone.parse(p, argv)
    conns = cli.split_list(args.conns) or ['1000', '10000']
    try:
        args.conns = [int(c) for c in conns]
    except ValueError:
        raise ValueError('--conns: expected numbers, got %s' % ','.join(conns))
    if any(c < 1 or c > 100000 for c in args.conns):
        raise ValueError('--conns: 1..100000 connections')
    return args


def ensure_hold(path=None, no_build=False):
    """The holder is one C file linked with the system OpenSSL, compiled
    when out of date (path: one of your own instead)."""
    if path:
        return cli.abspath(path)
    out = HOLD_BIN
    if os.path.exists(out) and \
            os.path.getmtime(out) >= os.path.getmtime(HOLD_SRC):
        return out
    if no_build:
        raise ValueError('%s is missing or older than hold.c (drop '
            '--no-build, or pass --hold PATH)' % out)
    cc = os.environ.get('CC', 'cc')
    if shutil.which(cc) is None:
        raise ValueError('no C compiler %s: apt-get install gcc' % cc)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    r = subprocess.run([cc, '-O2', '-Wall', '-Wextra', '-o', out, HOLD_SRC,
        '-lssl', '-lcrypto'], capture_output=True, text=True)
    if r.returncode != 0:
        raise ValueError('cannot build the holder: %s (apt-get install '
            'libssl-dev)' % r.stderr.strip()[-300:])
    return out


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def wait_line(proc, pattern, timeout, what):
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sel.select(timeout=0.5):
            if proc.poll() is not None:
                break
            continue
        line = proc.stdout.readline()
        if not line:
            break
        m = re.match(pattern, line)
        if m:
            return m
    raise CellError('%s: no "%s" within %ds' % (what, pattern, timeout))


def start_server(binary, cell, work, certs, cpu):
    """One worker; held connections are idle on purpose: no timeout may
    close them while they are counted."""
    args = ['--seed', '1', '--idle-timeout', '3600',
        '--header-timeout', '3600']
    if cell['backend'] != 'none':
        args += ['--cert', os.path.join(certs, cell['cert'] + '.pem'),
            '--key', os.path.join(certs, cell['cert'] + '.key'),
            '--tls-min', cell['tls'], '--tls-max', cell['tls']]
    srv = servers.Tlsbench(work, binary, args, cpus=cpu)
    try:
        srv.start(30)
    except servers.ServerError as e:
        raise CellError('server did not start: %s' % e)
    return srv


class Holder:
    """tlsbench-hold: n connections opened, one request each, held idle
    until told to release them."""

    def __init__(self, hold, cell, url, n, cpu, body, parallel, max_time):
        cmd = ['taskset', '-c', cpu, hold, '-c', str(n),
            '--parallel', str(parallel), '--max-time', str(max_time)]
        if cell['backend'] != 'none':
            cmd += ['--tls', cell['tls']]
        cmd.append(url + '/' + body)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
            preexec_fn=servers.die_with_parent(signal.SIGKILL))
        self.n = n

    def wait_held(self, timeout):
        try:
            wait_line(self.proc, r'held (\d+)', timeout, 'holder')
        except CellError as e:
            self.kill()
            raise CellError('%s: %s' % (e, self.proc.stderr.read().strip()
                or 'holder exited'))

    def release(self):
        try:
            self.proc.stdin.write('release\n')
            self.proc.stdin.flush()
            wait_line(self.proc, r'released', 60, 'holder')
            self.proc.wait(timeout=30)
        except (CellError, OSError, subprocess.TimeoutExpired) as e:
            self.kill()
            raise CellError('holder did not release: %s' % e)

    def kill(self):
        servers.kill_group(self.proc)


def active(srv):
    try:
        return srv.counters().get('conns_active', -1)
    except servers.ServerError as e:
        raise CellError(str(e))


def wait_idle(srv, timeout=30):
    """Until the server has closed every connection."""
    deadline = time.monotonic() + timeout
    while True:
        n = active(srv)
        if n == 0:
            return
        if time.monotonic() > deadline:
            raise CellError('%d connections still open %ds after release'
                % (n, timeout))
        time.sleep(0.2)


def run_cell(binary, cell, work, certs, hold, server_cpu, client_cpu,
        body='20k', parallel=32, max_time=300):
    """RSS before, while cell['conns'] connections are held, and after
    they are released; the row's figures."""
    srv = start_server(binary, cell, work, certs, server_cpu)
    holder = None

    def hold_conns(n, timeout):
        h = Holder(hold, cell, srv.url, n, client_cpu, body, parallel,
            max_time)
        h.wait_held(timeout)
        return h

    try:
        # code pages, lazily built tables and the allocator's first
        # arenas belong to the base, not to the connections
        holder = hold_conns(WARMUP_CONNS, 60)
        holder.release()
        wait_idle(srv)
        base = procstat.rss_kib(srv.pid())
        t0 = time.monotonic()
        holder = hold_conns(cell['conns'], max_time + 30)
        open_s = time.monotonic() - t0
        time.sleep(0.5)
        held = procstat.rss_kib(srv.pid())
        n = active(srv)
        if n != cell['conns']:
            raise CellError('server counts %s open connections, the holder '
                '%d' % (n, cell['conns']))
        holder.release()
        holder = None
        wait_idle(srv)
        after = procstat.rss_kib(srv.pid())
        srv.stop_checked(30)
    except servers.ServerError as e:
        raise CellError(str(e))
    finally:
        if holder is not None:
            holder.kill()
        srv.kill()
    return {'rss_base_kib': base, 'rss_held_kib': held, 'rss_after_kib': after,
        'kib_per_conn': '%.2f' % ((held - base) / float(cell['conns'])),
        'open_s': '%.1f' % open_s, 'conns_active_held': n}


def cells_of(args):
    for backend, tls, cert in standalone.cells(args):
        for n in args.conns:
            yield {'backend': backend, 'tls': tls, 'cert': cert, 'conns': n}


def cell_title(cell):
    return '%s tls%s %s, %d connections' % (cell['backend'], cell['tls'],
        cell['cert'], cell['conns'])


def main(argv):
    try:
        args = parse_args(argv)
        if args.help:
            print(usage(), end='')
            return 0
        if shutil.which('taskset') is None:
            raise ValueError('taskset is missing: apt-get install util-linux')
        hold = ensure_hold(args.hold, args.no_build)
        builds.certs(args.certs, args.cert)
    except (ValueError, builds.BuildError) as e:
        print('run_memory: %s' % e, file=sys.stderr)
        return 2
    hard = raise_nofile()
    if max(args.conns) + 200 > hard:
        print('run_memory: %d connections need a hard open-file limit above '
            '%d, it is %d (raise it: ulimit -Hn, or LimitNOFILE=)' % (
            max(args.conns), max(args.conns) + 200, hard), file=sys.stderr)
        return 2
    csv_path = standalone.out_csv(args, 'memory', 'memory.csv')[1]
    versions = {}
    work_root = tempfile.mkdtemp(prefix='tlsbench-memory.')

    def measure(cell, row):
        row.update({'backend': cell['backend'], 'tls_version': cell['tls'],
            'cert': cell['cert'], 'mem_conns': cell['conns'],
            'status': 'ok', 'error': ''})
        binary = standalone.server_binary(args, cell['backend'])
        if cell['backend'] not in versions:
            versions[cell['backend']] = builds.version_facts(binary).get(
                'library_version', '')
        row['library_version'] = versions[cell['backend']]
        row.update(run_cell(binary, cell, tempfile.mkdtemp(dir=work_root),
            args.certs, hold, args.server_cpu, args.client_cpu, args.body,
            args.parallel, args.max_time))
        log('  %s KiB per connection (base %s, held %s, after %s KiB; '
            'opened in %ss)' % (row['kib_per_conn'], row['rss_base_kib'],
            row['rss_held_kib'], row['rss_after_kib'], row['open_s']))
        return row

    try:
        failed = standalone.write_rows(csv_path, COLUMNS,
            list(cells_of(args)), measure, (CellError, builds.BuildError,
            OSError), cell_title, log)
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    if failed is None:
        return 1
    print(csv_path)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
