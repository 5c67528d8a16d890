"""suite/memory/run_memory.sh: server memory per idle TLS connection.

The server (one worker) gets a short warm-up, then tlsbench-hold opens N
keep-alive connections, makes one request on each and holds them idle; the
server's VmRSS before, while held and after release gives KiB per
connection.  Loopback only; every connection is closed at the end.
"""

import argparse
import csv
import json
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

USAGE = """\
usage: suite/memory/run_memory.sh [options]

Measures tlsbench-server's resident memory per established, idle TLS
keep-alive connection: VmRSS (from /proc/PID/status) after a warm-up
(rss_base_kib), with N connections held after one request each
(rss_held_kib) and after they are released (rss_after_kib);
kib_per_conn = (held - base) / N.  One CSV row per cell.

  --backend LIST    openssl,wolfssl,boringssl,none (default: all four)
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

BACKENDS = ('openssl', 'wolfssl', 'boringssl', 'none')
COLUMNS = ['backend', 'library_version', 'tls_version', 'cert',
    'mem_conns', 'rss_base_kib', 'rss_held_kib', 'rss_after_kib',
    'kib_per_conn', 'open_s', 'conns_active_held', 'status', 'error']
WARMUP_CONNS = 20


class CellError(Exception):
    pass


def log(msg):
    print('memory: %s' % msg, file=sys.stderr, flush=True)


def split_list(values):
    out = []
    for v in values:
        out += [x for x in re.split(r'[,\s]+', v) if x]
    return out


def abspath(p):
    return p if os.path.isabs(p) else os.path.join(ROOT, p)


def parse_args(argv):
    p = argparse.ArgumentParser(add_help=False, usage=argparse.SUPPRESS)
    for name in ('--backend', '--tls', '--cert', '--conns'):
        p.add_argument(name, action='append', default=[])
    p.add_argument('--builds', default='build/{backend}')
    p.add_argument('--hold')
    p.add_argument('--certs', default=os.path.join(ROOT, 'build', 'certs'))
    p.add_argument('--body', default='20k')
    p.add_argument('--parallel', type=int, default=32)
    p.add_argument('--max-time', type=int, default=300)
    p.add_argument('--out')
    p.add_argument('--csv')
    p.add_argument('--server-cpu', default='0')
    p.add_argument('--client-cpu')
    p.add_argument('--no-build', action='store_true')
    p.add_argument('--help', '-h', action='store_true')
    args, rest = p.parse_known_args(argv)
    if rest:
        raise ValueError('unknown argument %s (see --help)' % rest[0])
    args.backend = split_list(args.backend) or list(BACKENDS)
    args.tls = split_list(args.tls) or ['1.3']
    args.cert = split_list(args.cert) or ['ecdsa-p256']
    conns = split_list(args.conns) or ['1000', '10000']
    for b in args.backend:
        if b not in BACKENDS:
            raise ValueError('--backend %s: use %s' % (b, ','.join(BACKENDS)))
    for t in args.tls:
        if t not in ('1.2', '1.3'):
            raise ValueError('--tls %s: use 1.2 or 1.3' % t)
    try:
        args.conns = [int(c) for c in conns]
    except ValueError:
        raise ValueError('--conns: expected numbers, got %s' % ','.join(conns))
    if any(c < 1 or c > 100000 for c in args.conns):
        raise ValueError('--conns: 1..100000 connections')
    if args.client_cpu is None:
        args.client_cpu = str(max(0, (os.cpu_count() or 1) - 1))
    return args


def build_dir(args, backend):
    return abspath(args.builds.replace('{backend}', backend))


def ensure_build(args, backend):
    d = build_dir(args, backend)
    if args.no_build:
        if not os.path.exists(os.path.join(d, 'tlsbench-server')):
            raise CellError('%s/tlsbench-server is missing (meson setup %s '
                '-Dtls=%s && ninja -C %s)' % (d, d, backend, d))
        return d
    if not os.path.exists(os.path.join(d, 'build.ninja')):
        subprocess.run(['meson', 'setup', d, '-Dtls=' + backend,
            '--buildtype=release'], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(['ninja', '-C', d], check=True, stdout=subprocess.DEVNULL)
    return d


def ensure_hold(args):
    """The holder is one C file linked with the system OpenSSL."""
    if args.hold:
        return abspath(args.hold)
    src = os.path.join(HERE, 'hold.c')
    out = os.path.join(ROOT, 'build', 'memory', 'tlsbench-hold')
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return out
    if args.no_build:
        raise ValueError('%s is missing or older than hold.c (drop '
            '--no-build, or pass --hold PATH)' % out)
    cc = os.environ.get('CC', 'cc')
    if shutil.which(cc) is None:
        raise ValueError('no C compiler %s: apt-get install gcc' % cc)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    r = subprocess.run([cc, '-O2', '-Wall', '-Wextra', '-o', out, src,
        '-lssl', '-lcrypto'], capture_output=True, text=True)
    if r.returncode != 0:
        raise ValueError('cannot build the holder: %s (apt-get install '
            'libssl-dev)' % r.stderr.strip()[-300:])
    return out


def ensure_certs(args):
    if any(not os.path.exists(os.path.join(args.certs, c + '.key'))
            for c in args.cert):
        subprocess.run([os.path.join(ROOT, 'suite', 'certs.sh'), args.certs],
            check=True, stdout=subprocess.DEVNULL)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def vm_rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise CellError('no VmRSS for pid %d' % pid)


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


class Server:
    def __init__(self, args, cell, work):
        server = getattr(args, 'server_path', None) or os.path.join(
            build_dir(args, cell['backend']), 'tlsbench-server')
        self.stats = os.path.join(work, 'stats.json')
        self.err_path = os.path.join(work, 'server.err')
        cmd = ['taskset', '-c', args.server_cpu, server,
            '--listen', '127.0.0.1:0', '--workers', '1', '--seed', '1',
            '--stats-file', self.stats,
            # held connections are idle on purpose: no timeout may
            # close them while they are counted
            '--idle-timeout', '3600', '--header-timeout', '3600']
        if cell['backend'] != 'none':
            cmd += ['--cert', os.path.join(args.certs, cell['cert'] + '.pem'),
                '--key', os.path.join(args.certs, cell['cert'] + '.key'),
                '--tls-min', cell['tls'], '--tls-max', cell['tls']]
        self.err = open(self.err_path, 'w')
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
            stderr=self.err, text=True, start_new_session=True)
        try:
            self.url = wait_line(self.proc, r'listening (\S+)', 30,
                'server').group(1)
        except CellError:
            self.kill()
            raise CellError('server did not start: %s' % self.tail())

    def tail(self):
        try:
            with open(self.err_path) as f:
                return ' '.join(f.read().strip().splitlines()[-2:]) or \
                    'no message'
        except OSError:
            return 'no message'

    def rss(self):
        return vm_rss_kib(self.proc.pid)

    def counters(self):
        """The server's counters now (SIGUSR1 appends a stats line)."""
        before = os.path.getsize(self.stats) if os.path.exists(
            self.stats) else 0
        self.proc.send_signal(signal.SIGUSR1)
        for _ in range(50):
            time.sleep(0.1)
            if os.path.exists(self.stats) and \
                    os.path.getsize(self.stats) > before:
                with open(self.stats) as f:
                    lines = f.read().strip().splitlines()
                try:
                    return json.loads(lines[-1])
                except ValueError:
                    continue
        raise CellError('server wrote no stats line on SIGUSR1')

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            raise CellError('server did not exit within 30s of SIGTERM')
        finally:
            self.err.close()
        if rc != 0:
            raise CellError('server exit status %d: %s' % (rc, self.tail()))

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()


class Holder:
    def __init__(self, args, cell, url, n):
        cmd = ['taskset', '-c', args.client_cpu, args.hold_bin, '-c', str(n),
            '--parallel', str(args.parallel), '--max-time',
            str(args.max_time)]
        if cell['backend'] != 'none':
            cmd += ['--tls', cell['tls']]
        cmd.append(url + '/' + args.body)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
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
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()


def wait_idle(srv, timeout=30):
    """Until the server has closed every connection."""
    deadline = time.monotonic() + timeout
    while True:
        c = srv.counters()
        if c.get('conns_active', 0) == 0:
            return c
        if time.monotonic() > deadline:
            raise CellError('%d connections still open %ds after release'
                % (c['conns_active'], timeout))
        time.sleep(0.2)


def run_cell(args, cell, work):
    srv = Server(args, cell, work)
    holder = None
    try:
        # code pages, lazily built tables and the allocator's first
        # arenas belong to the base, not to the connections
        holder = Holder(args, cell, srv.url, WARMUP_CONNS)
        holder.wait_held(60)
        holder.release()
        wait_idle(srv)
        base = srv.rss()
        t0 = time.monotonic()
        holder = Holder(args, cell, srv.url, cell['conns'])
        holder.wait_held(args.max_time + 30)
        open_s = time.monotonic() - t0
        time.sleep(0.5)
        held = srv.rss()
        active = srv.counters().get('conns_active', -1)
        if active != cell['conns']:
            raise CellError('server counts %s open connections, the holder '
                '%d' % (active, cell['conns']))
        holder.release()
        holder = None
        wait_idle(srv)
        after = srv.rss()
        srv.stop()
    except BaseException:
        if holder is not None:
            holder.kill()
        srv.kill()
        raise
    return {'rss_base_kib': base, 'rss_held_kib': held, 'rss_after_kib': after,
        'kib_per_conn': '%.2f' % ((held - base) / float(cell['conns'])),
        'open_s': '%.1f' % open_s, 'conns_active_held': active}


def cells_of(args):
    for backend in args.backend:
        for tls in ['-'] if backend == 'none' else args.tls:
            for cert in ['-'] if backend == 'none' else args.cert:
                for n in args.conns:
                    yield {'backend': backend, 'tls': tls, 'cert': cert,
                        'conns': n}


def library_version(args, backend):
    out = subprocess.run([os.path.join(build_dir(args, backend),
        'tlsbench-server'), '--version'], capture_output=True, text=True,
        timeout=30).stdout
    m = re.search(r'^library_version: (.*)$', out, re.M)
    return m.group(1) if m else ''


def main(argv):
    try:
        args = parse_args(argv)
        if args.help:
            print(USAGE, end='')
            return 0
        if shutil.which('taskset') is None:
            raise ValueError('taskset is missing: apt-get install util-linux')
        args.hold_bin = ensure_hold(args)
    except ValueError as e:
        print('run_memory: %s' % e, file=sys.stderr)
        return 2
    hard = raise_nofile()
    if max(args.conns) + 200 > hard:
        print('run_memory: %d connections need a hard open-file limit above '
            '%d, it is %d (raise it: ulimit -Hn, or LimitNOFILE=)' % (
            max(args.conns), max(args.conns) + 200, hard), file=sys.stderr)
        return 2
    ensure_certs(args)
    out_dir = abspath(args.out or os.path.join('results', 'memory-' +
        time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())))
    os.makedirs(out_dir, exist_ok=True)
    csv_path = abspath(args.csv) if args.csv else os.path.join(out_dir,
        'memory.csv')
    cells = list(cells_of(args))
    work_root = tempfile.mkdtemp(prefix='tlsbench-memory.')
    versions, failed = {}, 0
    try:
        with open(csv_path, 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction='ignore')
            w.writeheader()
            for i, cell in enumerate(cells):
                log('[%d/%d] %s tls%s %s, %d connections' % (i + 1,
                    len(cells), cell['backend'], cell['tls'], cell['cert'],
                    cell['conns']))
                row = {'backend': cell['backend'], 'tls_version': cell['tls'],
                    'cert': cell['cert'], 'mem_conns': cell['conns'],
                    'status': 'ok', 'error': ''}
                try:
                    if cell['backend'] not in versions:
                        ensure_build(args, cell['backend'])
                        versions[cell['backend']] = library_version(args,
                            cell['backend'])
                    row['library_version'] = versions[cell['backend']]
                    work = tempfile.mkdtemp(dir=work_root)
                    row.update(run_cell(args, cell, work))
                    log('  %s KiB per connection (base %s, held %s, after '
                        '%s KiB; opened in %ss)' % (row['kib_per_conn'],
                        row['rss_base_kib'], row['rss_held_kib'],
                        row['rss_after_kib'], row['open_s']))
                except (CellError, OSError,
                        subprocess.CalledProcessError) as e:
                    failed += 1
                    row.update(status='error', error=str(e).replace('\n', ' '))
                    log('  error: %s' % row['error'])
                w.writerow(row)
                f.flush()
    except KeyboardInterrupt:
        log('interrupted; rows so far are in %s' % csv_path)
        return 1
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    print(csv_path)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
