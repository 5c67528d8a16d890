"""Facts about the machine and the tree that every results row carries."""

import os
import platform
import subprocess

# The CPU features that move TLS figures most: AES-NI, vector AES,
# the IFMA multiply RSA and P-256 use, SHA extensions, ADX/BMI2 big-number
# arithmetic.  The same tuned build differs by 2x across these.
CRYPTO_FLAGS = ('aes', 'vaes', 'avx512ifma', 'sha_ni', 'adx', 'bmi2')


def _cpuinfo():
    try:
        with open('/proc/cpuinfo') as f:
            return f.read()
    except OSError:
        return ''


def cpu_model():
    for line in _cpuinfo().splitlines():
        if line.startswith('model name'):
            return line.split(':', 1)[1].strip()
    return platform.processor() or 'unknown'


def cpu_flags():
    for line in _cpuinfo().splitlines():
        if line.startswith('flags'):
            have = set(line.split(':', 1)[1].split())
            return ' '.join(f for f in CRYPTO_FLAGS if f in have)
    return ''


def cores():
    """CPUs this process may run on (what taskset can hand out)."""
    return sorted(os.sched_getaffinity(0))


def git_commit(root):
    """Full commit id, `-dirty` when the tree has changes; `none` before
    the first commit."""
    def git(*args):
        return subprocess.run(['git', '-C', root] + list(args),
            capture_output=True, text=True, timeout=20)
    try:
        head = git('rev-parse', 'HEAD')
        if head.returncode != 0:
            return 'none'
        sha = head.stdout.strip()
        dirty = git('status', '--porcelain', '--untracked-files=no')
        return sha + ('-dirty' if dirty.stdout.strip() else '')
    except (OSError, subprocess.TimeoutExpired):
        return 'none'


def short_commit(commit):
    return 'nogit' if commit == 'none' else commit[:8] + \
        ('d' if commit.endswith('-dirty') else '')


def host():
    hostname = platform.node() or 'unknown'
    return {
        'host': hostname,
        'cpu_model': cpu_model(),
        'cores': str(len(cores())),
        'kernel': platform.release(),
        'cpu_flags': cpu_flags(),
    }
