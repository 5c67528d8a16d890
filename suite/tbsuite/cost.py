"""suite/cost/run_cost.sh: instructions per TLS operation, under callgrind.

Wall-clock figures on a shared machine move by 10-20% between runs; the
number of instructions the server executes for one operation does not.  For
each cell (backend x TLS version x certificate x operation) the server runs
under callgrind twice, once for N1 and once for N2 operations of one kind,
driven one at a time by tlsbench-load; the difference divided by N2 - N1 is
the cost of one operation, with start-up and teardown cancelled out.
"""

import argparse
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import nginx_conf

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

USAGE = """\
usage: suite/cost/run_cost.sh [options]

Counts the instructions tlsbench-server executes per operation under
valgrind --tool=callgrind: full handshakes (--close --resume none), resumed
handshakes (--close --resume ticket; the first connection primes the
session) and keep-alive requests (one connection, N requests).  Each cell
runs twice, with N1 and N2 operations; instr_per_op = (Ir(N2) - Ir(N1)) /
(N2 - N1).  One CSV row per cell; the functions that dominate each
operation go to a text file per cell.

  --backend LIST     openssl,wolfssl,boringssl,none (default: all four)
  --nginx            also count Debian's nginx (system OpenSSL, one
                     process: master_process off), configured like the
                     matrix's (suite/reference/nginx_conf.py)
  --tls LIST         1.2,1.3 (default 1.3)
  --cert LIST        key types from suite/certs.sh (default ecdsa-p256)
  --op LIST          full,resumed,keepalive (default: all three)
  --counts OP=N1:N2  operations per run, repeatable (defaults: full=32:160
                     resumed=50:150 keepalive=100:400); callgrind makes
                     the server about 50x slower
  --builds PATTERN   build directory per backend, {backend} replaced
                     (default build/{backend}); made with meson when
                     missing unless --no-build
  --load PATH        tlsbench-load (default: the first build's)
  --certs DIR        certificates (default build/certs; made when missing)
  --groups G         key exchange group for server and client (default:
                     the library default, X25519)
  --body PATH        path requested (default 20k)
  --seed N           body seed (default 1)
  --floor            also time the crypto floor (--bench-crypto, pinned,
                     wall clock) and add the floor_* columns
  --out DIR          write DIR/cost.csv and DIR/top/<cell>.txt
                     (default: results/cost-<UTC time>)
  --csv FILE         write the rows here instead of DIR/cost.csv
  --keep             keep the callgrind output files in DIR/callgrind/
  --server-cpu N     CPU for the server (default 0)
  --client-cpu N     CPU for the load generator (default: last CPU)
  --no-build         never run meson or ninja
  --help             this text

Exit status: 0 when every cell gave a figure, 1 when some cells failed
(their rows say why), 2 on a usage error or a missing tool.
"""

OPS = ('full', 'resumed', 'keepalive')
# Full handshakes 32 to 160: OpenSSL renews an RSA key's blinding factor
# every 32 signatures, so a span of 128 carries exactly its share of that.
DEFAULT_COUNTS = {'full': (32, 160), 'resumed': (50, 150),
    'keepalive': (100, 400)}
BACKENDS = ('openssl', 'wolfssl', 'boringssl', 'none')

COLUMNS = ['server', 'backend', 'library_version', 'tls_version', 'cert', 'group',
    'op', 'ops_n1', 'ops_n2', 'instr_n1', 'instr_n2', 'instr_per_op',
    'handshakes_full', 'handshakes_resumed', 'requests', 'tool',
    'perf_instructions', 'aslr', 'top_file', 'status', 'error']
FLOOR_COLUMNS = ['floor_sig_alg', 'floor_group', 'floor_sign_us',
    'floor_kex_us', 'floor_us', 'floor_sign_instr', 'floor_kex_instr',
    'floor_instr', 'cost_over_floor_instr']
# The backends' --bench-crypto loops call one function per signature and
# one per key exchange (backends/*_floor.c); their inclusive instruction
# counts are the floor in instructions, as exact as the cost itself.
SIGN_FUNCS = ('signer_sign', 'sign_once')
KEX_FUNCS = ('kex_once',)

# Frames every operation passes through (process start, the event loop):
# their inclusive cost is the whole operation and says nothing.
WRAPPER_SHARE = 0.97


class CellError(Exception):
    pass


def log(msg):
    print('cost: %s' % msg, file=sys.stderr, flush=True)


def split_list(values):
    out = []
    for v in values:
        out += [x for x in re.split(r'[,\s]+', v) if x]
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(add_help=False, usage=argparse.SUPPRESS)
    p.add_argument('--backend', action='append', default=[])
    p.add_argument('--tls', action='append', default=[])
    p.add_argument('--cert', action='append', default=[])
    p.add_argument('--op', action='append', default=[])
    p.add_argument('--counts', action='append', default=[])
    p.add_argument('--builds', default='build/{backend}')
    p.add_argument('--load')
    p.add_argument('--certs', default=os.path.join(ROOT, 'build', 'certs'))
    p.add_argument('--groups', default='')
    p.add_argument('--body', default='20k')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--floor', action='store_true')
    p.add_argument('--nginx', action='store_true')
    p.add_argument('--out')
    p.add_argument('--csv')
    p.add_argument('--keep', action='store_true')
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
    args.op = split_list(args.op) or list(OPS)
    for b in args.backend:
        if b not in BACKENDS:
            raise ValueError('--backend %s: use %s' % (b, ','.join(BACKENDS)))
    for t in args.tls:
        if t not in ('1.2', '1.3'):
            raise ValueError('--tls %s: use 1.2 or 1.3' % t)
    for o in args.op:
        if o not in OPS:
            raise ValueError('--op %s: use %s' % (o, ','.join(OPS)))
    args.facts_cache = {}
    args.count_map = dict(DEFAULT_COUNTS)
    for c in args.counts:
        m = re.fullmatch(r'(\w+)=(\d+):(\d+)', c)
        if not m or m.group(1) not in OPS or \
                not 0 < int(m.group(2)) < int(m.group(3)):
            raise ValueError('--counts %s: expected OP=N1:N2 with '
                '0 < N1 < N2, e.g. full=50:150' % c)
        args.count_map[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    if args.client_cpu is None:
        args.client_cpu = str(max(0, (os.cpu_count() or 1) - 1))
    return args


def abspath(p):
    return p if os.path.isabs(p) else os.path.join(ROOT, p)


def need_tools():
    missing = [t for t in ('valgrind', 'callgrind_annotate', 'taskset')
        if shutil.which(t) is None]
    if missing:
        raise ValueError('missing %s: apt-get install valgrind util-linux'
            % ' '.join(missing))


def aslr_prefix():
    """setarch -R turns address randomisation off: with it on, pointer
    values decide hash buckets and tree shapes, and counts wobble."""
    try:
        if subprocess.run(['setarch', '-R', 'true'],
                stderr=subprocess.DEVNULL).returncode == 0:
            return ['setarch', '-R'], 'off'
    except OSError:
        pass
    return [], 'on'


def perf_state():
    """Whether `perf stat -e instructions` counts here (virtual machines
    often hide the counter); recorded in every row, callgrind is used
    either way because it is exact."""
    if shutil.which('perf') is None:
        return 'no-perf'
    try:
        r = subprocess.run(['perf', 'stat', '-x,', '-e', 'instructions',
            'true'], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return 'unsupported'
    for line in r.stderr.splitlines():
        f = line.split(',')
        if len(f) > 2 and f[2].startswith('instructions'):
            return 'supported' if f[0].strip().isdigit() else 'unsupported'
    return 'unsupported'


def build_dir(args, backend):
    return abspath(args.builds.replace('{backend}', backend))


def ensure_build(args, backend):
    d = build_dir(args, backend)
    server = os.path.join(d, 'tlsbench-server')
    if args.no_build:
        if not os.path.exists(server):
            raise CellError('%s is missing (run meson setup %s -Dtls=%s '
                '&& ninja -C %s, or drop --no-build)' % (server, d,
                backend, d))
        return d
    if not os.path.exists(os.path.join(d, 'build.ninja')):
        log('building %s in %s' % (backend, d))
        subprocess.run(['meson', 'setup', d, '-Dtls=' + backend,
            '--buildtype=release'], cwd=ROOT, check=True,
            stdout=subprocess.DEVNULL)
    subprocess.run(['ninja', '-C', d], check=True,
        stdout=subprocess.DEVNULL)
    return d


def ensure_certs(args):
    if not os.path.exists(os.path.join(args.certs, 'ca.pem')) or any(
            not os.path.exists(os.path.join(args.certs, c + '.key'))
            for c in args.cert):
        subprocess.run([os.path.join(ROOT, 'suite', 'certs.sh'),
            args.certs], check=True, stdout=subprocess.DEVNULL)


def version_facts(server):
    out = subprocess.run([server, '--version'], capture_output=True,
        text=True, timeout=30).stdout
    facts = {}
    for line in out.splitlines():
        k, sep, v = line.partition(': ')
        if sep:
            facts.setdefault(k, v)
    return facts


def nginx_version():
    r = subprocess.run(['nginx', '-V'], capture_output=True, text=True)
    m = re.search(r'built with (OpenSSL [^ ]+)', r.stderr)
    v = re.search(r'nginx/(\S+)', r.stderr)
    return '%s, %s' % (v.group(1) if v else 'nginx',
        m.group(1) if m else 'OpenSSL')


def fixed_env():
    """The same environment every run: its size moves the stack."""
    return {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL': 'C',
        'HOME': '/tmp'}


def read_total(path):
    with open(path, errors='replace') as f:
        for line in f:
            if line.startswith('totals:') or line.startswith('summary:'):
                return int(line.split()[1])
    raise CellError('no totals line in %s' % path)


class CallgrindServer:
    """tlsbench-server, one worker, under callgrind; collects from start
    and dumps at exit (SIGTERM is a graceful stop)."""

    def __init__(self, args, server, cell, out_file, work):
        self.out_file = out_file
        self.stderr_path = os.path.join(work, 'server.err')
        grind = args.aslr_cmd + ['taskset', '-c', args.server_cpu,
            'valgrind', '--tool=callgrind', '--collect-atstart=yes',
            '--callgrind-out-file=' + out_file]
        self.port = None
        if cell['server'] == 'nginx':
            self.port, ncmd = nginx_command(args, cell, work)
            cmd = grind + ncmd
        else:
            cmd = grind + [server,
                '--listen', '127.0.0.1:0', '--workers', '1',
                '--seed', str(args.seed),
                '--stats-file', os.path.join(work, 'stats.json')]
        if cell['server'] != 'nginx' and cell['backend'] != 'none':
            cmd += ['--cert', os.path.join(args.certs, cell['cert'] + '.pem'),
                '--key', os.path.join(args.certs, cell['cert'] + '.key'),
                '--tls-min', cell['tls'], '--tls-max', cell['tls'],
                '--resumption', 'both']
            if args.groups:
                cmd += ['--groups', args.groups]
        self.err = open(self.stderr_path, 'w')
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
            stderr=self.err, text=True, env=fixed_env(),
            start_new_session=True)
        self.url = self._wait_port(120) if self.port else \
            self._wait_ready(120)

    def _wait_port(self, timeout):
        import socket
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with socket.create_connection(('127.0.0.1', self.port),
                        timeout=0.5):
                    return 'https://127.0.0.1:%d' % self.port
            except OSError:
                time.sleep(0.2)
        self.kill()
        raise CellError('nginx not accepting within %ds: %s' % (timeout,
            self.tail()))

    def _wait_ready(self, timeout):
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not sel.select(timeout=0.5):
                if self.proc.poll() is not None:
                    break
                continue
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.match(r'listening (\S+)', line)
            if m:
                return m.group(1)
        self.kill()
        raise CellError('server not ready within %ds: %s' % (timeout,
            self.tail()))

    def tail(self):
        try:
            with open(self.stderr_path) as f:
                lines = [l.strip() for l in f if not l.startswith('==')]
            return ' '.join(lines[-2:]) or 'no message'
        except OSError:
            return 'no message'

    def stop(self, timeout=180):
        # nginx under valgrind sometimes misses a SIGTERM that lands in
        # epoll_wait; asking again every 10 s is harmless for tlsbench
        rc = None
        try:
            for _ in range(0, timeout, 10):
                self.proc.send_signal(signal.SIGTERM)
                try:
                    rc = self.proc.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue
            if rc is None:
                self.kill()
                raise CellError('server under callgrind did not exit '
                    'within %ds of SIGTERM' % timeout)
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


def nginx_command(args, cell, work):
    """(port, argv): nginx in one process, as the matrix configures it,
    serving a body file of the requested size (its bytes do not change
    the instruction count)."""
    import socket
    body_dir = os.path.join(work, 'body')
    os.makedirs(body_dir, exist_ok=True)
    size = {'k': 1024, 'm': 1 << 20}.get(args.body[-1:], 1)
    n = int(args.body.rstrip('km')) * size
    with open(os.path.join(body_dir, args.body), 'wb') as f:
        f.write(b'A' * n)
    with open(os.path.join(body_dir, '20k'), 'wb') as f:
        f.write(b'A' * 20480)
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    ndir = os.path.join(work, 'nginx')
    conf = nginx_conf.write(ndir, port=port,
        cert=os.path.join(args.certs, cell['cert'] + '.pem'),
        key=os.path.join(args.certs, cell['cert'] + '.key'),
        body_dir=body_dir, tls_min=cell['tls'], tls_max=cell['tls'],
        groups=args.groups, resumption='both', workers=1)
    argv = nginx_conf.command(ndir, conf)
    # one process: the master would fork the worker out of callgrind's
    # view (and count its own start-up only)
    argv[-1] = 'daemon off; master_process off;'
    return port, argv


def load_args(op, n):
    if op == 'full':
        return ['-n', str(n), '--close', '--resume', 'none']
    if op == 'resumed':
        return ['-n', str(n), '--close', '--resume', 'ticket']
    return ['-n', str(n)]


def run_load(args, cell, url, n):
    cmd = ['taskset', '-c', args.client_cpu, args.load, '-c', '1',
        '--json', '--timeout', '60', '--max-time', '900']
    cmd += load_args(cell['op'], n)
    if cell['backend'] != 'none':
        cmd += ['--tls', cell['tls'], '--insecure']
        if args.groups:
            cmd += ['--groups', args.groups]
    cmd.append(url + '/' + args.body)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True,
            timeout=960, env=fixed_env())
    except subprocess.TimeoutExpired:
        raise CellError('load generator still running after 960s')
    try:
        out = json.loads(r.stdout)
    except ValueError:
        raise CellError('load generator exit %d: %s' % (r.returncode,
            r.stderr.strip()[-200:] or 'no output'))
    if r.returncode != 0 or out.get('requests_ok') != n:
        raise CellError('load generator: %s of %d requests ok: %s' % (
            out.get('requests_ok'), n, out.get('reason') or
            r.stderr.strip()[-200:]))
    if cell['backend'] != 'none':
        full, resumed = out.get('handshakes_full'), out.get(
            'handshakes_resumed')
        want = {'full': (n, 0), 'resumed': (1, n - 1),
            'keepalive': (1, 0)}[cell['op']]
        if (full, resumed) != want:
            raise CellError('expected %d full and %d resumed handshakes, '
                'the client saw %s and %s' % (want + (full, resumed)))
    return out


def one_run(args, server, cell, n, work, tag):
    out_file = os.path.join(work, 'callgrind.%s.out' % tag)
    srv = CallgrindServer(args, server, cell, out_file, work)
    try:
        load = run_load(args, cell, srv.url, n)
    except BaseException:
        srv.kill()
        raise
    srv.stop()
    return read_total(out_file), load, out_file


FUNC_LINE = re.compile(r'^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*\S)\s*$')


def function_costs(path, inclusive):
    """{function: Ir} from callgrind_annotate; names keep their object."""
    cmd = ['callgrind_annotate', '--threshold=100',
        '--inclusive=' + ('yes' if inclusive else 'no'), path]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    costs = {}
    started = False
    for line in r.stdout.splitlines():
        if 'file:function' in line:
            started = True
            continue
        m = FUNC_LINE.match(line) if started else None
        if not m:
            continue
        name = m.group(2)
        # "file:function [object]": the source file says little when
        # the library has no symbols; keep function and object name
        fm = re.match(r'(?:.*?:)?([^:\s][^\s]*) \[(.*)\]$', name)
        if fm:
            name = '%s [%s]' % (fm.group(1), os.path.basename(fm.group(2)))
        costs[name] = costs.get(name, 0) + int(m.group(1).replace(',', ''))
    return costs


def top_functions(f1, f2, span, per_op, count=12):
    """Per-operation cost of each function (difference of the two runs),
    top entries inclusive (wrappers around everything left out) and
    self."""
    out = []
    for inclusive in (True, False):
        a, b = function_costs(f1, inclusive), function_costs(f2, inclusive)
        delta = sorted(((b.get(k, 0) - a.get(k, 0)) / span, k) for k in b)
        delta.reverse()
        rows = [(d, k) for d, k in delta if d > 0 and
            (not inclusive or d < WRAPPER_SHARE * per_op)][:count]
        out.append(rows)
    return out


def write_top(path, cell, per_op, tops):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('# %s tls%s %s %s: %.0f instructions per operation\n' % (
            'nginx' if cell['server'] == 'nginx' else cell['backend'],
            cell['tls'], cell['cert'], cell['op'], per_op))
        for title, rows in zip(('inclusive (callees counted; the event '
                'loop and main left out)', 'self (exclusive)'), tops):
            f.write('\n## top functions, %s\n' % title)
            f.write('%14s %6s  %s\n' % ('instr/op', 'share', 'function'))
            for d, k in rows:
                f.write('%14.0f %5.1f%%  %s\n' % (d, 100.0 * d / per_op, k))


def crypto_floor(args, server, cell, group, tries=3):
    """Wall-clock, so noisy on a shared machine: the least of a few
    runs is the closest to what the library needs."""
    cmd = ['taskset', '-c', args.server_cpu, server, '--bench-crypto',
        '--key', os.path.join(args.certs, cell['cert'] + '.key'),
        '--iterations', '200']
    names = {'x25519': 'X25519', 'x448': 'X448', 'secp256r1': 'P-256',
        'prime256v1': 'P-256', 'secp384r1': 'P-384', 'secp521r1': 'P-521'}
    if group and group != '-':
        cmd += ['--groups', names.get(group.lower(), group)]
    best = None
    for _ in range(tries):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise CellError(r.stderr.strip() or 'bench-crypto failed')
        kv = dict(l.split(': ', 1) for l in r.stdout.splitlines()
            if ': ' in l)
        if best is None:
            best = kv
        for k in ('sign_us', 'kex_us'):
            if float(kv[k]) < float(best[k]):
                best[k] = kv[k]
    return {'floor_sig_alg': best.get('sig_alg', ''),
        'floor_group': best.get('group', ''),
        'floor_sign_us': best['sign_us'], 'floor_kex_us': best['kex_us'],
        'floor_us': '%.2f' % (float(best['sign_us']) +
            float(best['kex_us']))}


def floor_instructions(args, server, cell, group, work):
    """Instructions of one signature and one key exchange: the inclusive
    cost of the bench loop's functions, N2 - N1 iterations apart."""
    names = {'x25519': 'X25519', 'secp256r1': 'P-256', 'prime256v1': 'P-256'}
    per = {}
    for tag, n in (('f1', 10), ('f2', 30)):
        out = os.path.join(work, 'callgrind.%s.out' % tag)
        cmd = args.aslr_cmd + ['valgrind', '--tool=callgrind',
            '--callgrind-out-file=' + out, server, '--bench-crypto',
            '--key', os.path.join(args.certs, cell['cert'] + '.key'),
            '--iterations', str(n)]
        if group and group != '-':
            cmd += ['--groups', names.get(group.lower(), group)]
        r = subprocess.run(cmd, capture_output=True, text=True,
            timeout=900, env=fixed_env())
        if r.returncode != 0:
            raise CellError('bench-crypto under callgrind: %s' %
                r.stderr.strip().splitlines()[-1:])
        costs = function_costs(out, True)
        per[tag] = {}
        for kind, funcs in (('sign', SIGN_FUNCS), ('kex', KEX_FUNCS)):
            per[tag][kind] = sum(v for k, v in costs.items()
                if k.split(' ')[0] in funcs)
    sign = (per['f2']['sign'] - per['f1']['sign']) / 20.0
    kex = (per['f2']['kex'] - per['f1']['kex']) / 20.0
    if sign <= 0 or kex <= 0:
        return {}
    return {'floor_sign_instr': '%.0f' % sign, 'floor_kex_instr': '%.0f' % kex,
        'floor_instr': '%.0f' % (sign + kex)}


def cells_of(args):
    if args.nginx:
        for tls in args.tls:
            for cert in args.cert:
                for op in args.op:
                    yield {'server': 'nginx', 'backend': '-', 'tls': tls,
                        'cert': cert, 'op': op}
    for backend in args.backend:
        tls_list = ['-'] if backend == 'none' else args.tls
        cert_list = ['-'] if backend == 'none' else args.cert
        for tls in tls_list:
            for cert in cert_list:
                for op in args.op:
                    if backend == 'none' and op == 'resumed':
                        continue
                    yield {'server': 'tlsbench', 'backend': backend,
                        'tls': tls, 'cert': cert, 'op': op}


def cell_name(cell):
    who = 'nginx' if cell['server'] == 'nginx' else cell['backend']
    return '%s-tls%s-%s-%s' % (who, cell['tls'].replace('.', ''),
        cell['cert'], cell['op'])


def run_cell(args, cell, work_root, top_dir):
    n1, n2 = args.count_map[cell['op']]
    if cell['server'] == 'nginx':
        server = shutil.which('nginx') or '/usr/sbin/nginx'
    else:
        server = os.path.join(ensure_build(args, cell['backend']),
            'tlsbench-server')
    work = tempfile.mkdtemp(prefix=cell_name(cell) + '.', dir=work_root)
    i1, _, f1 = one_run(args, server, cell, n1, work, 'n1')
    i2, load, f2 = one_run(args, server, cell, n2, work, 'n2')
    per_op = (i2 - i1) / float(n2 - n1)
    if per_op <= 0:
        raise CellError('N2 run counted fewer instructions than N1 '
            '(%d <= %d)' % (i2, i1))
    tops = top_functions(f1, f2, float(n2 - n1), per_op)
    top_path = os.path.join(top_dir, cell_name(cell) + '.txt')
    write_top(top_path, cell, per_op, tops)
    if args.keep:
        keep = os.path.join(os.path.dirname(top_dir), 'callgrind')
        os.makedirs(keep, exist_ok=True)
        for tag, f in (('n1', f1), ('n2', f2)):
            shutil.copy(f, os.path.join(keep, '%s.%s.out' % (
                cell_name(cell), tag)))
    neg = load.get('negotiated') or {}
    row = {'group': neg.get('group') or '-',
        'ops_n1': n1, 'ops_n2': n2, 'instr_n1': i1, 'instr_n2': i2,
        'instr_per_op': '%.0f' % per_op,
        'handshakes_full': load.get('handshakes_full', 0),
        'handshakes_resumed': load.get('handshakes_resumed', 0),
        'requests': load.get('requests_ok', 0),
        'top_file': os.path.relpath(top_path, args.out_dir)}
    if args.floor and cell['server'] == 'nginx' and cell['op'] == 'full':
        # nginx links the system OpenSSL: the openssl backend's floor
        if 'openssl' in args.backend or os.path.exists(os.path.join(
                build_dir(args, 'openssl'), 'tlsbench-server')):
            ossl = os.path.join(build_dir(args, 'openssl'), 'tlsbench-server')
            row.update(crypto_floor(args, ossl, cell, row['group']))
            row.update(floor_instructions(args, ossl, cell, row['group'],
                work))
            if row.get('floor_instr'):
                row['cost_over_floor_instr'] = '%.2f' % (per_op /
                    float(row['floor_instr']))
    elif args.floor and cell['backend'] != 'none' and cell['op'] == 'full':
        row.update(crypto_floor(args, server, cell, row['group']))
        row.update(floor_instructions(args, server, cell, row['group'], work))
        if row.get('floor_instr'):
            row['cost_over_floor_instr'] = '%.2f' % (per_op /
                float(row['floor_instr']))
    shutil.rmtree(work, ignore_errors=True)
    return row


def main(argv):
    try:
        args = parse_args(argv)
        if args.help:
            print(USAGE, end='')
            return 0
        need_tools()
    except ValueError as e:
        print('run_cost: %s' % e, file=sys.stderr)
        return 2
    args.aslr_cmd, aslr = aslr_prefix()
    perf = perf_state()
    args.out_dir = abspath(args.out or os.path.join('results', 'cost-' +
        time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())))
    top_dir = os.path.join(args.out_dir, 'top')
    os.makedirs(top_dir, exist_ok=True)
    csv_path = abspath(args.csv) if args.csv else os.path.join(
        args.out_dir, 'cost.csv')
    ensure_certs(args)
    try:
        first = ensure_build(args, args.backend[0])
    except (CellError, subprocess.CalledProcessError) as e:
        print('run_cost: %s' % e, file=sys.stderr)
        return 2
    if args.load is None:
        args.load = os.path.join(first, 'tlsbench-load')
    if not os.access(args.load, os.X_OK):
        print('run_cost: no load generator at %s (build it, or pass '
            '--load PATH)' % args.load, file=sys.stderr)
        return 2
    columns = COLUMNS + (FLOOR_COLUMNS if args.floor else [])
    cells = list(cells_of(args))
    work_root = tempfile.mkdtemp(prefix='tlsbench-cost.')
    failed = 0
    started = time.monotonic()
    try:
        with open(csv_path, 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=columns, extrasaction='ignore')
            w.writeheader()
            f.flush()
            for i, cell in enumerate(cells):
                log('[%d/%d] %s (%.0fs so far)' % (i + 1, len(cells),
                    cell_name(cell), time.monotonic() - started))
                row = {'server': cell['server'], 'backend': cell['backend'],
                    'tls_version': cell['tls'],
                    'cert': cell['cert'], 'op': cell['op'],
                    'tool': 'callgrind', 'perf_instructions': perf,
                    'aslr': aslr, 'status': 'ok', 'error': ''}
                try:
                    server = os.path.join(build_dir(args, cell['backend']),
                        'tlsbench-server')
                    if cell['server'] == 'nginx':
                        args.facts_cache.setdefault('-', {'library_version':
                            nginx_version()})
                    elif cell['backend'] not in args.facts_cache:
                        ensure_build(args, cell['backend'])
                        args.facts_cache[cell['backend']] = version_facts(
                            server)
                    row['library_version'] = args.facts_cache[
                        cell['backend']].get('library_version', '')
                    row.update(run_cell(args, cell, work_root, top_dir))
                    log('  %s instructions per %s' % (row['instr_per_op'],
                        cell['op']))
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
    log('wrote %s' % os.path.relpath(csv_path, ROOT))
    print(csv_path)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
