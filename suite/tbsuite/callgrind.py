"""Instructions per TLS operation: one server under callgrind, driven one
operation at a time by tlsbench-load; and, from the same runs under
strace, its system calls per operation.

Wall-clock figures on a shared machine move by 10-20% between runs; the
number of instructions the server executes for one operation does not.
A cell (server or backend x TLS version x certificate x operation) runs
twice, for N1 and N2 operations of one kind; the difference divided by
N2 - N1 is the cost of one operation, start-up and teardown cancelled
out.  suite/cost/run_cost.sh (cost.py) and the matrix's cost modes
(matrix_modes.py) both count this way.

What makes the counts repeat: a fixed body seed, address randomisation
off (setarch -R), a fixed environment, one client connection at a time,
one server process.

Where an operation's instructions go (objects_per_op): the self cost of
every function, summed by the shared object callgrind's ob= records put
it in: the server's own code (tlsbench-server, or nginx), libevent, libc,
the TLS library, and the rest (the loader, libm, valgrind's preload).
"""

import os
import re
import shutil
import subprocess
import time

from . import loadgen, servers

OPS = ('full', 'resumed', 'keepalive')
# Full handshakes 32 to 160: OpenSSL renews an RSA key's blinding factor
# every 32 signatures, so a span of 128 carries exactly its share of that.
DEFAULT_COUNTS = {'full': (32, 160), 'resumed': (50, 150),
    'keepalive': (100, 400)}
# Frames every operation passes through (process start, the event loop):
# their inclusive cost is the whole operation and says nothing.
WRAPPER_SHARE = 0.97
# The instr_<kind> columns: objects by their file name's start.
OBJECT_KINDS = (('core', ('tlsbench-server', 'nginx')),
    ('libevent', ('libevent',)), ('libc', ('libc.so', 'libc-')),
    ('tls', ('libssl', 'libcrypto', 'libwolfssl')))
START_WAIT = 120    # seconds: callgrind makes start-up ~50x slower
STOP_WAIT = 180


class CountError(Exception):
    pass


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


def fixed_env():
    """The same environment every run: its size moves the stack."""
    return {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL': 'C',
        'HOME': '/tmp'}


class Setup:
    """What every counted run of one invocation shares: the load
    generator, the CPUs, certificates, body and client settings."""

    def __init__(self, load, server_cpu, client_cpu, certs, seed=1,
            groups='', body='20k'):
        self.load = load
        self.server_cpu = server_cpu
        self.client_cpu = client_cpu
        self.certs = certs
        self.seed = seed
        self.groups = groups
        self.body = body
        self.aslr_cmd, self.aslr = aslr_prefix()

    def cert_files(self, cert):
        return (os.path.join(self.certs, cert + '.pem'),
            os.path.join(self.certs, cert + '.key'))


def cell_name(cell):
    """`openssl-tls13-ecdsa-p256-full` (`...-full-iocore` for --io
    core): a cell's files are named so."""
    who = 'nginx' if cell['server'] == 'nginx' else cell['backend']
    io = '-iocore' if cell.get('io') == 'core' else ''
    return '%s-tls%s-%s-%s%s' % (who, cell['tls'].replace('.', ''),
        cell['cert'], cell['op'], io)


def _nginx_body_dir(setup, work):
    """Body files of the requested size (their bytes do not change the
    instruction count)."""
    body_dir = os.path.join(work, 'body')
    os.makedirs(body_dir, exist_ok=True)
    size = {'k': 1024, 'm': 1 << 20}.get(setup.body[-1:], 1)
    n = int(setup.body.rstrip('km')) * size
    with open(os.path.join(body_dir, setup.body), 'wb') as f:
        f.write(b'A' * n)
    with open(os.path.join(body_dir, '20k'), 'wb') as f:
        f.write(b'A' * 20480)
    return body_dir


def counted_server(setup, cell, binary, work, wrapper):
    """The cell's server, one process, under wrapper (callgrind: collecting
    from the start, dumping at exit; SIGTERM is a graceful stop)."""
    kw = {'cpus': setup.server_cpu, 'wrapper': wrapper, 'env': fixed_env()}
    cert, key = setup.cert_files(cell['cert'])
    if cell['server'] == 'nginx':
        ndir = os.path.join(work, 'nginx')
        os.makedirs(ndir, exist_ok=True)
        return servers.Nginx(ndir, dict(cert=cert, key=key,
            body_dir=_nginx_body_dir(setup, work), tls_min=cell['tls'],
            tls_max=cell['tls'], groups=setup.groups, resumption='both',
            workers=1), one_process=True, **kw)
    args = ['--seed', str(setup.seed)]
    if cell.get('io', '-') != '-':
        args += ['--io', cell['io']]
    if cell['backend'] != 'none':
        args += ['--cert', cert, '--key', key, '--tls-min', cell['tls'],
            '--tls-max', cell['tls'], '--resumption', 'both']
        if setup.groups:
            args += ['--groups', setup.groups]
    rundir = os.path.join(work, 'server')
    os.makedirs(rundir, exist_ok=True)
    return servers.Tlsbench(rundir, binary, args, **kw)


def load_args(op, n):
    if op == 'full':
        return ['-n', str(n), '--close', '--resume', 'none']
    if op == 'resumed':
        return ['-n', str(n), '--close', '--resume', 'ticket']
    return ['-n', str(n)]


def run_load(setup, cell, url, n):
    """n operations of the cell's kind, one at a time; every one must
    succeed and make the handshakes the operation is about."""
    cmd = ['taskset', '-c', setup.client_cpu, setup.load, '-c', '1',
        '--json', '--timeout', '60', '--max-time', '900']
    cmd += load_args(cell['op'], n)
    if cell['backend'] != 'none':
        cmd += ['--tls', cell['tls'], '--insecure']
        if setup.groups:
            cmd += ['--groups', setup.groups]
    cmd.append(url + '/' + setup.body)
    try:
        rc, out, err = loadgen.run(cmd, env=fixed_env())
    except loadgen.LoadError as e:
        raise CountError(str(e))
    if rc != 0 or out.get('requests_ok') != n:
        raise CountError('load generator: %s of %d requests ok: %s' % (
            out.get('requests_ok'), n, out.get('reason') or err))
    if cell['backend'] != 'none':
        full, resumed = out.get('handshakes_full'), out.get(
            'handshakes_resumed')
        want = {'full': (n, 0), 'resumed': (1, n - 1),
            'keepalive': (1, 0)}[cell['op']]
        if (full, resumed) != want:
            raise CountError('expected %d full and %d resumed handshakes, '
                'the client saw %s and %s' % (want + (full, resumed)))
    return out


def read_total(path):
    with open(path, errors='replace') as f:
        for line in f:
            if line.startswith('totals:') or line.startswith('summary:'):
                return int(line.split()[1])
    raise CountError('no totals line in %s' % path)


def served(srv, work):
    """work() with srv started: what it returns; on any failure the
    server is killed, and its own failures become a CountError."""
    try:
        srv.start(START_WAIT)
        return work()
    except servers.ServerError as e:
        srv.kill()
        raise CountError(str(e))
    except BaseException:
        srv.kill()
        raise


def one_run(setup, cell, binary, n, work, tag):
    """(instructions, load JSON, callgrind file) of a run with n
    operations."""
    out_file = os.path.join(work, 'callgrind.%s.out' % tag)
    srv = counted_server(setup, cell, binary, work, setup.aslr_cmd + [
        'valgrind', '--tool=callgrind', '--collect-atstart=yes',
        '--callgrind-out-file=' + out_file])

    def run():
        load = run_load(setup, cell, srv.url, n)
        # nginx under valgrind sometimes misses a SIGTERM that lands in
        # epoll_wait: asking again is harmless for tlsbench
        srv.stop_checked(STOP_WAIT, resend=10)
        return load

    load = served(srv, run)
    return read_total(out_file), load, out_file


def per_op(setup, cell, binary, counts, work):
    """Two runs, N1 and N2 operations: (instructions per operation,
    {'n1', 'n2', 'i1', 'i2', 'f1', 'f2', 'load'})."""
    n1, n2 = counts
    i1, _, f1 = one_run(setup, cell, binary, n1, work, 'n1')
    i2, load, f2 = one_run(setup, cell, binary, n2, work, 'n2')
    cost = (i2 - i1) / float(n2 - n1)
    if cost <= 0:
        raise CountError('N2 run counted fewer instructions than N1 '
            '(%d <= %d)' % (i2, i1))
    return cost, {'n1': n1, 'n2': n2, 'i1': i1, 'i2': i2, 'f1': f1,
        'f2': f2, 'load': load}


def object_costs(path):
    """{kind: Ir} over OBJECT_KINDS and 'other': the self cost of every
    function, summed by the object it lives in.  In callgrind's format a
    cost line right after calls= is the call's inclusive cost, which the
    callee's own lines already hold, so it is skipped; ob= and cob= name
    an object the first time as "(id) path", later by id alone."""
    names, totals = {}, {}
    cur, skip = None, False
    with open(path, errors='replace') as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in '+-*':
                fields = line.split()
                if not skip and len(fields) >= 2:
                    totals[cur] = totals.get(cur, 0) + int(fields[1])
                skip = False
            elif line.startswith('calls='):
                skip = True
            elif line.startswith(('ob=', 'cob=')):
                key, _, ref = line.rstrip('\n').partition('=')
                m = re.match(r'\((\d+)\)(?: (.*))?$', ref)
                obj = m.group(1) if m else ref
                if m and m.group(2):
                    names[obj] = m.group(2)
                if key == 'ob':
                    cur = obj
    out = dict.fromkeys([k for k, _ in OBJECT_KINDS] + ['other'], 0)
    for obj, n in totals.items():
        base = os.path.basename(names.get(obj, obj or ''))
        kind = next((k for k, prefixes in OBJECT_KINDS
            if base.startswith(prefixes)), 'other')
        out[kind] += n
    return out


def objects_per_op(runs):
    """The instr_<kind> columns of per_op's runs: each kind's share of
    one operation."""
    a, b = object_costs(runs['f1']), object_costs(runs['f2'])
    span = float(runs['n2'] - runs['n1'])
    return {'instr_' + k: '%.0f' % ((b[k] - a[k]) / span) for k in a}


def read_syscalls(path):
    """{syscall: calls} from strace -c's table (failed calls included)."""
    calls = {}
    with open(path, errors='replace') as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 5 and fields[3].isdigit() and \
                    fields[-1] != 'total':
                calls[fields[-1]] = int(fields[3])
    return calls


def traced_run(setup, cell, binary, n, work, tag):
    """{syscall: calls} of a run with n operations: the server runs as
    usual and strace -f -c attaches to it once it is ready (start-up is
    left out, like teardown it cancels between the two runs anyway), so
    the server is stopped directly and strace writes its table when the
    server exits."""
    out_file = os.path.join(work, 'strace.%s.out' % tag)
    err_file = os.path.join(work, 'strace.%s.err' % tag)
    srv = counted_server(setup, cell, binary, work, [])
    tracer = []

    def run():
        with open(err_file, 'w') as err:
            tracer.append(subprocess.Popen(['strace', '-f', '-c', '-o',
                out_file, '-p', str(srv.pid())], stdout=subprocess.DEVNULL,
                stderr=err))
        deadline = time.monotonic() + 30
        while True:
            with open(err_file) as f:
                said = f.read()
            if 'attached' in said:
                break
            if tracer[0].poll() is not None or time.monotonic() > deadline:
                raise CountError('strace did not attach to the server: %s'
                    % said.strip()[-200:])
            time.sleep(0.02)
        run_load(setup, cell, srv.url, n)
        srv.stop_checked(STOP_WAIT)
        tracer[0].wait(STOP_WAIT)

    try:
        served(srv, run)
    finally:
        if tracer and tracer[0].poll() is None:
            tracer[0].kill()
            tracer[0].wait()
    return read_syscalls(out_file)


def syscalls_per_op(setup, cell, binary, counts, work):
    """The syscalls_* columns: N1 and N2 operations again, traced instead
    of counted; per operation by kind, most frequent first.  Tracing stops
    the server at every call, so a client that is quicker than it has its
    next request waiting more often than without: fewer failed reads and
    epoll_waits than an untraced server makes, the same reads and writes
    that move bytes."""
    n1, n2 = counts
    a = traced_run(setup, cell, binary, n1, work, 'n1')
    b = traced_run(setup, cell, binary, n2, work, 'n2')
    per = {k: (b.get(k, 0) - a.get(k, 0)) / float(n2 - n1) for k in b}
    kinds = sorted(((v, k) for k, v in per.items() if round(v, 2) > 0),
        key=lambda x: (-x[0], x[1]))
    return {'syscalls_per_op': '%.2f' % sum(per.values()),
        'syscalls_by_kind': ' '.join('%s:%.2f' % (k, v) for v, k in kinds)}


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


def write_top(path, cell, per_op, runs):
    """The functions that dominate one operation, to a text file."""
    tops = top_functions(runs['f1'], runs['f2'],
        float(runs['n2'] - runs['n1']), per_op)
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


def need_tools():
    """'' or what to install for counting."""
    missing = [t for t in ('valgrind', 'callgrind_annotate', 'taskset',
        'strace') if shutil.which(t) is None]
    return 'missing %s: apt-get install valgrind util-linux strace' % \
        ' '.join(missing) if missing else ''
