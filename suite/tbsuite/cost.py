"""suite/cost/run_cost.sh: instructions per TLS operation, under callgrind
(how they are counted: callgrind.py), one CSV row per cell.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from . import backends, builds, callgrind, cli, floor, standalone
from .callgrind import CountError

log = cli.logger('cost')

USAGE = """\
usage: suite/cost/run_cost.sh [options]

Counts the instructions tlsbench-server executes per operation under
valgrind --tool=callgrind: full handshakes (--close --resume none), resumed
handshakes (--close --resume ticket; the first connection primes the
session) and keep-alive requests (one connection, N requests).  Each cell
runs twice, with N1 and N2 operations; instr_per_op = (Ir(N2) - Ir(N1)) /
(N2 - N1), split by the object that executed them (instr_core,
instr_libevent, instr_libc, instr_tls, instr_other).  The same two runs
under strace -f -c give the system calls per operation by kind.  One CSV
row per cell; the functions that dominate each operation go to a text
file per cell.

  --backend LIST     %(backends)s (default: every backend)
  --nginx            also count Debian's nginx (system OpenSSL, one
                     process: master_process off), configured like the
                     matrix's (suite/tbsuite/nginx_conf.py)
  --tls LIST         1.2,1.3 (default 1.3)
  --cert LIST        key types from suite/certs.sh (default ecdsa-p256)
  --op LIST          full,resumed,keepalive (default: all three)
  --io LIST          native,core: tlsbench-server --io (default native)
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

IO_MODES = ('native', 'core')
COLUMNS = ['server', 'backend', 'io', 'library_version', 'tls_version', 'cert',
    'group', 'op', 'ops_n1', 'ops_n2', 'instr_n1', 'instr_n2', 'instr_per_op',
    'instr_core', 'instr_libevent', 'instr_libc', 'instr_tls', 'instr_other',
    'syscalls_per_op', 'syscalls_by_kind', 'handshakes_full', 'handshakes_resumed', 'requests', 'tool',
    'perf_instructions', 'aslr', 'top_file', 'status', 'error']
FLOOR_COLUMNS = ['floor_sig_alg', 'floor_group', 'floor_sign_us',
    'floor_kex_us', 'floor_us', 'floor_sign_instr', 'floor_kex_instr',
    'floor_instr', 'cost_over_floor_instr']


def usage():
    return USAGE % {'backends': ','.join(backends.BACKENDS)}


def parse_args(argv):
    p = standalone.parser()
    p.add_argument('--op', action='append', default=[])
    p.add_argument('--io', action='append', default=[])
    p.add_argument('--counts', action='append', default=[])
    p.add_argument('--load')
    p.add_argument('--groups', default='')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--floor', action='store_true')
    p.add_argument('--nginx', action='store_true')
    p.add_argument('--keep', action='store_true')
    args = standalone.parse(p, argv)
    args.op = cli.split_list(args.op) or list(callgrind.OPS)
    args.io = cli.split_list(args.io) or ['native']
    for m in args.io:
        if m not in IO_MODES:
            raise ValueError('--io %s: use %s' % (m, ','.join(IO_MODES)))
    for o in args.op:
        if o not in callgrind.OPS:
            raise ValueError('--op %s: use %s' % (o,
                ','.join(callgrind.OPS)))
    args.count_map = dict(callgrind.DEFAULT_COUNTS)
    for c in args.counts:
        m = re.fullmatch(r'(\w+)=(\d+):(\d+)', c)
        if not m or m.group(1) not in callgrind.OPS or \
                not 0 < int(m.group(2)) < int(m.group(3)):
            raise ValueError('--counts %s: expected OP=N1:N2 with '
                '0 < N1 < N2, e.g. full=50:150' % c)
        args.count_map[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return args


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


def nginx_version():
    r = subprocess.run(['nginx', '-V'], capture_output=True, text=True)
    m = re.search(r'built with (OpenSSL [^ ]+)', r.stderr)
    v = re.search(r'nginx/(\S+)', r.stderr)
    return '%s, %s' % (v.group(1) if v else 'nginx',
        m.group(1) if m else 'OpenSSL')


def cells_of(args):
    if args.nginx:
        for tls in args.tls:
            for cert in args.cert:
                for op in args.op:
                    yield {'server': 'nginx', 'backend': '-', 'io': '-',
                        'tls': tls, 'cert': cert, 'op': op}
    for backend, tls, cert in standalone.cells(args):
        for op in args.op:
            if backend == backends.PLAINTEXT and op == 'resumed':
                continue
            for io in args.io:
                yield {'server': 'tlsbench', 'backend': backend, 'io': io,
                    'tls': tls, 'cert': cert, 'op': op}


def floor_binary(args, cell):
    """Whose library the cell's floor is: tlsbench's own; nginx links the
    system OpenSSL, so the openssl backend's (None: no floor)."""
    if cell['op'] != 'full':
        return None
    if cell['server'] == 'nginx':
        ossl = os.path.join(standalone.build_dir(args, 'openssl'),
            'tlsbench-server')
        if 'openssl' in args.backend or os.path.exists(ossl):
            return ossl
        return None
    return None if cell['backend'] == 'none' else os.path.join(
        standalone.build_dir(args, cell['backend']), 'tlsbench-server')


def run_cell(args, setup, cell, work_root, top_dir):
    if cell['server'] == 'nginx':
        binary = shutil.which('nginx') or '/usr/sbin/nginx'
    else:
        binary = standalone.server_binary(args, cell['backend'])
    name = callgrind.cell_name(cell)
    work = tempfile.mkdtemp(prefix=name + '.', dir=work_root)
    per_op, runs = callgrind.per_op(setup, cell, binary,
        args.count_map[cell['op']], work)
    top_path = os.path.join(top_dir, name + '.txt')
    callgrind.write_top(top_path, cell, per_op, runs)
    if args.keep:
        keep = os.path.join(os.path.dirname(top_dir), 'callgrind')
        os.makedirs(keep, exist_ok=True)
        for n in ('1', '2'):
            shutil.copy(runs['f' + n], os.path.join(keep,
                '%s.n%s.out' % (name, n)))
    load = runs['load']
    neg = load.get('negotiated') or {}
    row = callgrind.objects_per_op(runs)
    row.update(callgrind.syscalls_per_op(setup, cell, binary,
        args.count_map[cell['op']], work))
    row.update({'group': neg.get('group') or '-',
        'ops_n1': runs['n1'], 'ops_n2': runs['n2'],
        'instr_n1': runs['i1'], 'instr_n2': runs['i2'],
        'instr_per_op': '%.0f' % per_op,
        'handshakes_full': load.get('handshakes_full', 0),
        'handshakes_resumed': load.get('handshakes_resumed', 0),
        'requests': load.get('requests_ok', 0),
        'top_file': os.path.relpath(top_path, args.out_dir)})
    fbin = floor_binary(args, cell) if args.floor else None
    if fbin:
        row.update(floor.both(fbin, setup.cert_files(cell['cert'])[1],
            row['group'], args.server_cpu, work, setup.aslr_cmd))
        if row.get('floor_instr'):
            row['cost_over_floor_instr'] = floor.over(per_op, row)
    shutil.rmtree(work, ignore_errors=True)
    return row


def library_version(args, cell, cache):
    key = cell['backend']
    if key not in cache:
        if cell['server'] == 'nginx':
            cache[key] = nginx_version()
        else:
            cache[key] = builds.version_facts(standalone.server_binary(
                args, key)).get('library_version', '')
    return cache[key]


def main(argv):
    try:
        args = parse_args(argv)
        if args.help:
            print(usage(), end='')
            return 0
        missing = callgrind.need_tools()
        if missing:
            raise ValueError(missing)
        builds.certs(args.certs, args.cert)
        first = os.path.dirname(standalone.server_binary(args,
            args.backend[0]))
    except (ValueError, builds.BuildError) as e:
        print('run_cost: %s' % e, file=sys.stderr)
        return 2
    if args.load is None:
        args.load = os.path.join(first, 'tlsbench-load')
    if not os.access(args.load, os.X_OK):
        print('run_cost: no load generator at %s (build it, or pass '
            '--load PATH)' % args.load, file=sys.stderr)
        return 2
    perf = perf_state()
    args.out_dir, csv_path = standalone.out_csv(args, 'cost', 'cost.csv')
    top_dir = os.path.join(args.out_dir, 'top')
    os.makedirs(top_dir, exist_ok=True)
    setup = callgrind.Setup(args.load, args.server_cpu, args.client_cpu,
        args.certs, args.seed, args.groups, args.body)
    versions = {}
    work_root = tempfile.mkdtemp(prefix='tlsbench-cost.')

    def measure(cell, row):
        row.update({'server': cell['server'], 'backend': cell['backend'],
            'io': cell['io'], 'tls_version': cell['tls'], 'cert': cell['cert'],
            'op': cell['op'], 'tool': 'callgrind',
            'perf_instructions': perf, 'aslr': setup.aslr, 'status': 'ok',
            'error': ''})
        row['library_version'] = library_version(args, cell, versions)
        row.update(run_cell(args, setup, cell, work_root, top_dir))
        log('  %s instructions per %s' % (row['instr_per_op'], cell['op']))
        return row

    try:
        failed = standalone.write_rows(csv_path,
            COLUMNS + (FLOOR_COLUMNS if args.floor else []),
            list(cells_of(args)), measure, (CountError, floor.FloorError,
            builds.BuildError, OSError), callgrind.cell_name, log)
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    if failed is None:
        return 1
    log('wrote %s' % cli.shown(csv_path))
    print(csv_path)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
