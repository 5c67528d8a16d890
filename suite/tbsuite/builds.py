"""What a measurement needs made before it starts, the same way for every
program: a server build directory (meson and ninja, optionally against a
tuned library from suite/libs/build.sh), the certificates, and what a
build's --version says.
"""

import os
import subprocess
import time

from . import cli, servers
from .cli import ROOT

CERTS_SH = os.path.join(ROOT, 'suite', 'certs.sh')
LIBS_SH = os.path.join(ROOT, 'suite', 'libs', 'build.sh')


class BuildError(Exception):
    pass


def _run(cmd, timeout, logfile):
    """Run cmd from the repository root; its output goes to logfile (an
    open file) or, without one, stdout is dropped and stderr shown."""
    if logfile is not None:
        logfile.write('$ %s\n' % ' '.join(cmd))
        logfile.flush()
    try:
        p = subprocess.run(cmd, cwd=ROOT, timeout=timeout,
            stdout=logfile or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if logfile else None)
    except subprocess.TimeoutExpired:
        return False
    except OSError as e:
        raise BuildError('cannot run %s: %s' % (cmd[0], e))
    return p.returncode == 0


def server(bdir, backend, no_build=False, options=(), logfile=None):
    """bdir's tlsbench-server: meson setup (-Dtls=BACKEND, release, then
    options such as -Dopenssl_prefix=P) when bdir has no build.ninja, then
    ninja.  no_build: build nothing, use the binary as it is (an error
    when there is none)."""
    binary = os.path.join(bdir, 'tlsbench-server')
    if no_build:
        if os.path.exists(binary):
            return binary
        raise BuildError('%s is missing (meson setup %s -Dtls=%s && '
            'ninja -C %s, or drop --no-build)' % (binary, bdir, backend,
            bdir))
    where = ' (see %s)' % logfile.name if logfile else ''
    if not os.path.exists(os.path.join(bdir, 'build.ninja')):
        if not _run(['meson', 'setup', bdir, '-Dtls=' + backend,
                '--buildtype=release'] + list(options), 600, logfile):
            raise BuildError('meson setup %s failed%s' % (bdir, where))
    if not _run(['ninja', '-C', bdir], 1200, logfile):
        raise BuildError('ninja -C %s failed%s' % (bdir, where))
    if not os.path.exists(binary):
        raise BuildError('%s missing after the build' % binary)
    return binary


def tuned_prefix(name, version, flavor, logfile, log):
    """The prefix suite/libs/build.sh prints for a library; its progress
    goes to logfile and, as it comes, to log (a first compile takes
    minutes)."""
    what = '%s %s %s' % (name, version, flavor)
    log('%s from the tuned-library cache (a first build compiles it: '
        'minutes)' % what)
    deadline = time.monotonic() + 3600
    p = subprocess.Popen([LIBS_SH, name, version, flavor],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        preexec_fn=servers.die_with_parent())
    for line in p.stderr:
        logfile.write(line)
        logfile.flush()
        log(line.rstrip())
        if time.monotonic() > deadline:
            p.kill()
            break
    out = p.stdout.read()
    p.wait()
    if time.monotonic() > deadline:
        raise BuildError('suite/libs/build.sh %s timed out' % what)
    lines = out.strip().splitlines()
    if p.returncode != 0 or not lines:
        raise BuildError('suite/libs/build.sh %s failed (exit %d)' % (what,
            p.returncode))
    return lines[-1].strip()


def certs(certs_dir, names=(), always=False):
    """suite/certs.sh certs_dir unless the CA and every name's .pem and
    .key are there already; always: run it anyway (it is idempotent and
    renews what changed, e.g. a chain an older version made)."""
    need = ['ca.pem'] + [n + ext for n in names for ext in ('.pem', '.key')]
    if not always and all(os.path.exists(os.path.join(certs_dir, f))
            for f in need):
        return
    try:
        subprocess.run([CERTS_SH, certs_dir], check=True,
            stdout=subprocess.DEVNULL, timeout=300)
    except (OSError, subprocess.SubprocessError) as e:
        raise BuildError('suite/certs.sh %s failed: %s' % (
            cli.shown(certs_dir), e))


def load_client(bdir, prefix, logfile):
    """bdir's tlsbench-load and tlsbench-canary, the load generator linked
    with the OpenSSL installed in prefix (meson -Dload_openssl_prefix;
    the server in that directory is the plaintext one, never used)."""
    where = ' (see %s)' % logfile.name
    if not os.path.exists(os.path.join(bdir, 'build.ninja')):
        if not _run(['meson', 'setup', bdir, '-Dtls=none',
                '--buildtype=release', '-Dload_openssl_prefix=' + prefix],
                600, logfile):
            raise BuildError('meson setup %s failed%s' % (bdir, where))
    if not _run(['ninja', '-C', bdir, 'tlsbench-load', 'tlsbench-canary'],
            1200, logfile):
        raise BuildError('ninja -C %s failed%s' % (bdir, where))


def version(binary):
    """The `key: value` lines of `binary --version`, in order."""
    try:
        p = subprocess.run([binary, '--version'], capture_output=True,
            text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BuildError('%s --version failed: %s' % (binary, e))
    if p.returncode != 0:
        raise BuildError('%s --version exit %d: %s' % (binary, p.returncode,
            p.stderr.strip()[:200]))
    pairs = []
    for line in p.stdout.splitlines():
        key, sep, value = line.partition(':')
        if sep and key.strip() and ' ' not in key.strip():
            pairs.append((key.strip(), value.strip()))
    return pairs


def version_facts(binary):
    """version() as a dict, the first value of each key."""
    d = {}
    for k, v in version(binary):
        d.setdefault(k, v)
    return d
