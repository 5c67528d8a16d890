"""What the standalone runs, suite/cost/run_cost.sh and
suite/memory/run_memory.sh, share: their common options, the cells they
walk (backend x TLS version x certificate, the plaintext backend without
either) and a CSV written one row per cell as each finishes, so an
interrupted run keeps what it measured.
"""

import argparse
import csv
import os
import time

from . import backends, builds, cli

TLS_VERSIONS = ('1.2', '1.3')


def parser():
    """An ArgumentParser with the shared options; add your own."""
    p = argparse.ArgumentParser(add_help=False, usage=argparse.SUPPRESS)
    for name in ('--backend', '--tls', '--cert'):
        p.add_argument(name, action='append', default=[])
    p.add_argument('--builds', default='build/{backend}')
    p.add_argument('--certs', default=os.path.join(cli.ROOT, 'build',
        'certs'))
    p.add_argument('--body', default='20k')
    p.add_argument('--out')
    p.add_argument('--csv')
    p.add_argument('--server-cpu', default='0')
    p.add_argument('--client-cpu')
    p.add_argument('--no-build', action='store_true')
    p.add_argument('--help', '-h', action='store_true')
    return p


def parse(p, argv):
    """args with --backend, --tls and --cert as checked lists (defaults:
    every backend, TLS 1.3, ECDSA P-256) and the client's CPU (default:
    the last).  ValueError on a usage error."""
    args, rest = p.parse_known_args(argv)
    if rest:
        raise ValueError('unknown argument %s (see --help)' % rest[0])
    args.backend = cli.split_list(args.backend) or list(backends.BACKENDS)
    args.tls = cli.split_list(args.tls) or ['1.3']
    args.cert = cli.split_list(args.cert) or ['ecdsa-p256']
    for b in args.backend:
        if b not in backends.BACKENDS:
            raise ValueError('--backend %s: use %s' % (b,
                ','.join(backends.BACKENDS)))
    for t in args.tls:
        if t not in TLS_VERSIONS:
            raise ValueError('--tls %s: use 1.2 or 1.3' % t)
    if args.client_cpu is None:
        args.client_cpu = str(max(0, (os.cpu_count() or 1) - 1))
    # servers run in their own directories (servers.py)
    args.certs = os.path.abspath(args.certs)
    return args


def build_dir(args, backend):
    return cli.abspath(args.builds.replace('{backend}', backend))


def server_binary(args, backend):
    """The backend's tlsbench-server (built unless --no-build)."""
    return builds.server(build_dir(args, backend), backend, args.no_build)


def cells(args):
    """(backend, tls, cert) in option order; plaintext: ('none', '-', '-')."""
    for backend in args.backend:
        plain = backend == backends.PLAINTEXT
        for tls in ['-'] if plain else args.tls:
            for cert in ['-'] if plain else args.cert:
                yield backend, tls, cert


def out_csv(args, kind, name):
    """args.csv, or DIR/NAME with DIR from --out (default
    results/KIND-<UTC time>), made."""
    out_dir = cli.abspath(args.out or os.path.join('results', kind + '-' +
        time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())))
    os.makedirs(out_dir, exist_ok=True)
    return out_dir, (cli.abspath(args.csv) if args.csv else
        os.path.join(out_dir, name))


def write_rows(path, columns, cells, measure, errors, title, log):
    """For each cell, row = measure(cell) written to the CSV at once; a
    cell that raises one of `errors` becomes a row with status=error and
    the message.  Returns how many failed, or None when interrupted."""
    failed = 0
    started = time.monotonic()
    try:
        with open(path, 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=columns, extrasaction='ignore')
            w.writeheader()
            f.flush()
            for i, cell in enumerate(cells):
                log('[%d/%d] %s (%.0fs so far)' % (i + 1, len(cells),
                    title(cell), time.monotonic() - started))
                row = {}
                try:
                    row = measure(cell, row)
                except errors as e:
                    failed += 1
                    row.update(status='error', error=str(e).replace('\n', ' '))
                    log('  error: %s' % row['error'])
                w.writerow(row)
                f.flush()
    except KeyboardInterrupt:
        log('interrupted; rows so far are in %s' % path)
        return None
    return failed
