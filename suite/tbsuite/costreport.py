"""Markdown sections for the report: instructions per operation, memory per
connection, and each server's full-handshake cost over its library's
crypto floor.

    python3 -m tbsuite.costreport --cost C.csv [--memory M.csv]
        [--matrix RUN.csv] [--top-base PATH] [--out FILE] [--into REPORT]

--top-base is how the report reaches the cost run's directory (its
top_file column is relative to it).  Prints to stdout without --out.
--into appends the sections to a matrix report.md (once), in place of its
own crypto-floor section (from the full rows, wall clock only).
"""

import argparse
import csv
import re
import statistics
import sys

OPS = ('full', 'resumed', 'keepalive')


def read(path):
    if not path:
        return []
    with open(path, newline='') as f:
        return [r for r in csv.DictReader(f)]


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt_int(v):
    return '-' if v is None else '{:,.0f}'.format(v)


def table(header, rows):
    out = ['| ' + ' | '.join(header) + ' |',
        '|' + '|'.join('---' for _ in header) + '|']
    out += ['| ' + ' | '.join(str(x) for x in r) + ' |' for r in rows]
    return out


def who(r):
    """tlsbench rows by backend; nginx (server column) by name."""
    s = r.get('server') or 'tlsbench'
    return r['backend'] if s == 'tlsbench' else s


def cost_section(cost, top_base):
    ok = [r for r in cost if r.get('status') == 'ok']
    lines = ['## Instructions per operation (callgrind)', '',
        'Server instructions for one operation, from the difference of two '
        'runs with N1 and N2 operations (start-up and teardown cancel); '
        'exact and repeatable to well under 0.5%, unlike wall-clock time on '
        'a shared machine.  full: new connection, full handshake, one 20 KiB '
        'response; resumed: the same resuming a ticket; keepalive: one more '
        'request on an open connection.', '']
    if not ok:
        return lines + ['(no cost rows)', '']
    groups = sorted({(r['tls_version'], r['cert']) for r in ok})
    for tls, cert in groups:
        sub = [r for r in ok if (r['tls_version'], r['cert']) == (tls, cert)]
        backends = sorted({who(r) for r in sub})
        rows = []
        for b in backends:
            per = {r['op']: r for r in sub if who(r) == b}
            lib = next(iter(per.values())).get('library_version', '')
            full = num(per.get('full', {}).get('instr_per_op'))
            res = num(per.get('resumed', {}).get('instr_per_op'))
            rows.append([b, lib] + [fmt_int(num(per.get(o, {}).get(
                'instr_per_op'))) for o in OPS] + [
                '%.2f' % (res / full) if res and full else '-'])
        title = 'plaintext' if tls == '-' else 'TLS %s, %s' % (tls, cert)
        lines += ['### %s' % title, ''] + table(['backend', 'library'] +
            ['%s instr/op' % o for o in OPS] + ['resumed / full'], rows) + ['']
    lines += ['Where the instructions go (top functions per cell, inclusive '
        'and self, per operation): ' + ', '.join(
        '[%s %s tls%s %s](%s)' % (who(r), r['op'], r['tls_version'],
            r['cert'], (top_base.rstrip('/') + '/' if top_base else '') +
            r['top_file']) for r in ok if r['op'] == 'full' and
            r.get('top_file')), '',
        'Library functions without symbols show as addresses in their '
        'object (Debian strips them; the -dbgsym packages name them).', '']
    return lines


def memory_section(mem):
    ok = [r for r in mem if r.get('status') == 'ok']
    lines = ['## Memory per idle connection', '',
        'Server VmRSS growth per established, idle keep-alive connection '
        '(one request made on each), one worker: (held - base) / N.  '
        '`after` is the RSS once every connection is closed: what the '
        'allocator keeps.', '']
    if not ok:
        return lines + ['(no memory rows)', '']
    rows = [[r['backend'], r['tls_version'], r['cert'], r['mem_conns'],
        r['kib_per_conn'], r['rss_base_kib'], r['rss_held_kib'],
        r['rss_after_kib']] for r in sorted(ok, key=lambda r: (
        r['tls_version'], r['cert'], r['backend'], int(r['mem_conns'])))]
    return lines + table(['backend', 'TLS', 'cert', 'connections',
        'KiB/conn', 'base KiB', 'held KiB', 'after KiB'], rows) + ['']


def floor_key(r, lib=None):
    """A floor's identity: server (or backend), library build, TLS
    version, certificate and group.  Rows of a cost run (cost.csv) name
    no library build: theirs is '' (the Debian builds)."""
    return (who(r), r.get('lib') or '' if lib is None else lib,
        r['tls_version'], r['cert'], (r.get('floor_group') or '').lower())


def floor_section(cost, matrix):
    floors = {}
    for r in cost:
        f = num(r.get('floor_us'))
        if r.get('status') == 'ok' and f:
            floors[floor_key(r)] = r
    lines = ['## Cost over the crypto floor', '',
        'The floor is the public-key work a full handshake cannot avoid on '
        'the server: one signature with the certificate key plus one key '
        'share and shared secret for the group (`tlsbench-server '
        '--bench-crypto`, through the library itself, pinned, wall clock).  '
        'cost / floor = server CPU µs per full-handshake request (matrix, '
        'median over repeats) / floor µs: how much of the handshake is not '
        'cryptography.  nginx (and Python\'s ssl in the asyncio server) use the '
        'system OpenSSL, so their floor is the openssl backend\'s (Debian '
        'build) for the same certificate and group.',
        '']
    if not floors:
        return lines + ['(no floor measured)', '']
    us = {}
    for r in matrix:
        if r.get('status') != 'ok' or r.get('mode') != 'full':
            continue
        v = num(r.get('server_us_per_req'))
        if v is None:
            continue
        keys = {floor_key(r)}
        if r.get('flavor') in (None, '', 'debian', '-'):
            keys.add(floor_key(r, ''))   # a cost run's floor (Debian)
        for k in keys:
            us.setdefault(k, []).append(v)
    rows = []
    for (b, lib, tls, cert, group), f in sorted(floors.items()):
        fl = num(f['floor_us'])
        instr = [fmt_int(num(f.get('floor_instr'))),
            f.get('cost_over_floor_instr') or '-']
        key = (b, lib, tls, cert, group)
        name = b + (' (system OpenSSL)' if b in ('nginx', 'asyncio') else
            ' (%s)' % lib if lib else '')
        rows.append([name, tls, cert, f.get('floor_sig_alg', ''),
            f.get('floor_group', ''), f['floor_sign_us'], f['floor_kex_us'],
            '%.1f' % fl] + cost_over(us.get(key), fl) + instr)
        if b == 'openssl' and not lib:
            for ref in ('nginx', 'asyncio'):
                rkey = (ref,) + key[1:]
                if rkey in us and rkey not in floors:
                    rows.append(['%s (system OpenSSL)' % ref, tls, cert,
                        f.get('floor_sig_alg', ''), f.get('floor_group', ''),
                        f['floor_sign_us'], f['floor_kex_us'], '%.1f' % fl] +
                        cost_over(us.get(rkey), fl) + ['-', '-'])
    return lines + table(['server', 'TLS', 'cert', 'signature', 'group',
        'sign µs', 'kex µs', 'floor µs', 'µs/full request', 'cost / floor',
        'floor instr', 'instr/full ÷ floor instr'], rows) + ['',
        'The last two columns are exact: the floor counted in instructions '
        '(callgrind over the same --bench-crypto loop) and a full '
        'handshake\'s instructions per operation over it.  The µs columns '
        'are wall-clock and move with the machine\'s load.', '']


def cost_over(values, floor):
    if not values:
        return ['-', '-']
    m = statistics.median(values)
    return ['%.1f' % m, '%.2f' % (m / floor)]


def sections(cost, mem, matrix, top_base='', floor_rows=()):
    """Markdown lines.  cost: cost rows (cost.csv's, or matrix rows with
    an `op`); mem: memory rows; matrix: matrix rows for µs per full
    request; floor_rows: more rows carrying floor columns (matrix `full`
    rows), overridden by the cost rows' own."""
    lines = []
    if cost:
        lines += cost_section(cost, top_base)
    if mem:
        lines += memory_section(mem)
    if cost or any(r.get('floor_us') for r in floor_rows):
        lines += floor_section(list(floor_rows) + list(cost), matrix)
    return lines


def from_matrix(rows):
    """(cost, memory, floor) rows of a matrix CSV in this module's terms."""
    cost, mem, floor = [], [], []
    for r in rows:
        if r.get('mode', '').startswith('cost-'):
            c = dict(r, op=r['mode'][len('cost-'):],
                top_file=r.get('cost_top_file', ''))
            cost.append(c)
        elif r.get('mode') == 'memory':
            mem.append(r)
        elif r.get('mode') == 'full' and r.get('floor_us'):
            floor.append(dict(r, op='full'))
    return cost, mem, floor


def render(cost_csv, memory_csv=None, matrix_csv=None, top_base=''):
    cost, mem, matrix = read(cost_csv), read(memory_csv), read(matrix_csv)
    return '\n'.join(sections(cost, mem, matrix, top_base)) + '\n'


def merge_into(report, text):
    """Append text to a report.md that does not have these sections yet,
    dropping the report's own crypto-floor section."""
    with open(report) as f:
        old = f.read()
    if re.search(r'^## Instructions per operation', old, re.M):
        return
    old = re.sub(r'^## Cost over the crypto floor\n.*?(?=^## |\Z)', '', old,
        flags=re.S | re.M)
    with open(report, 'w') as f:
        f.write(old.rstrip('\n') + '\n\n' + text)


def main(argv):
    p = argparse.ArgumentParser(usage=__doc__.split('\n\n')[1].strip())
    p.add_argument('--cost', required=True)
    p.add_argument('--memory')
    p.add_argument('--matrix')
    p.add_argument('--top-base', default='')
    p.add_argument('--out')
    p.add_argument('--into')
    a = p.parse_args(argv)
    try:
        text = render(a.cost, a.memory, a.matrix, a.top_base)
        if a.out:
            with open(a.out, 'w') as f:
                f.write(text)
        else:
            sys.stdout.write(text)
        if a.into:
            merge_into(a.into, text)
    except OSError as e:
        print('costreport: %s' % e, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
