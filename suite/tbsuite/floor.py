"""The crypto floor: the public-key work a full handshake cannot avoid on
the server (one signature with the certificate's key plus one key share
and shared secret for the group), through the server's own library
(`tlsbench-server --bench-crypto`): timed, and counted in instructions.
"""

import os
import subprocess

from . import callgrind

# The backends' --bench-crypto loops call one function per signature and
# one per key exchange (backends/*_floor.c); their inclusive instruction
# counts are the floor in instructions, as exact as the cost itself.
SIGN_FUNCS = ('tb_floor_sign',)
KEX_FUNCS = ('tb_floor_kex',)

# the load generator reports OpenSSL's group names; --groups takes these
GROUP_NAMES = {'x25519': 'X25519', 'x448': 'X448', 'secp256r1': 'P-256',
    'prime256v1': 'P-256', 'secp384r1': 'P-384', 'secp521r1': 'P-521'}


class FloorError(Exception):
    pass


def _bench(binary, key, group, iterations):
    cmd = [binary, '--bench-crypto', '--key', key,
        '--iterations', str(iterations)]
    if group and group != '-':
        cmd += ['--groups', GROUP_NAMES.get(group.lower(), group)]
    return cmd


def timed(binary, key, group, cpu, tries=3):
    """The floor_* wall-clock columns.  Noisy on a shared machine: the
    least of a few runs is the closest to what the library needs."""
    cmd = ['taskset', '-c', cpu] + _bench(binary, key, group, 200)
    best = None
    for _ in range(tries):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise FloorError(r.stderr.strip() or 'bench-crypto failed')
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


def instructions(binary, key, group, work, aslr_cmd):
    """The floor_*_instr columns: the inclusive cost of the bench loop's
    functions per iteration, N2 - N1 iterations apart ({} when the
    functions are not found)."""
    per = {}
    for tag, n in (('f1', 10), ('f2', 30)):
        out = os.path.join(work, 'callgrind.%s.out' % tag)
        cmd = aslr_cmd + ['valgrind', '--tool=callgrind',
            '--callgrind-out-file=' + out] + _bench(binary, key, group, n)
        r = subprocess.run(cmd, capture_output=True, text=True,
            timeout=900, env=callgrind.fixed_env())
        if r.returncode != 0:
            raise FloorError('bench-crypto under callgrind: %s' %
                r.stderr.strip().splitlines()[-1:])
        costs = callgrind.function_costs(out, True)
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


def both(binary, key, group, cpu, work, aslr_cmd):
    """Every floor column of one binary, key and group."""
    f = timed(binary, key, group, cpu)
    f.update(instructions(binary, key, group, work, aslr_cmd))
    return f


def over(per_op_instr, floor_cols):
    """cost_over_floor_instr: a full handshake's instructions over the
    floor's ('' without a floor count)."""
    if not floor_cols.get('floor_instr'):
        return ''
    return '%.2f' % (per_op_instr / float(floor_cols['floor_instr']))
