"""Running tlsbench-load and reading the one JSON object it prints.

Every load run carries --max-time; the wait for it is bounded by that plus
a margin, so a hung client cannot hang the suite.  Exit 0 is success, 1 is
a run with failed requests (still measured, its reason kept), anything
else or output that is not JSON is an error.
"""

import json
import signal
import subprocess
import time

from . import servers

MARGIN = 30     # seconds past the client's own --max-time


class LoadError(Exception):
    pass


def max_time(cmd):
    return int(cmd[cmd.index('--max-time') + 1])


def start(cmd, env=None, pass_fds=()):
    """pass_fds: descriptors the client inherits (its --control-fd)."""
    try:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env, pass_fds=pass_fds,
            preexec_fn=servers.die_with_parent(signal.SIGKILL))
    except OSError as e:
        raise LoadError('cannot run the load generator: %s' % e)


def finish(cmd, p, started):
    """Wait for a load run started at `started` (time.monotonic());
    returns (exit code, parsed JSON, the last lines of stderr)."""
    bound = max_time(cmd) + MARGIN
    try:
        stdout, stderr = p.communicate(timeout=max(1.0, bound - (
            time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise LoadError('load generator still running after %ds' % bound)
    except BaseException:
        p.kill()
        p.wait()
        raise
    err = ' '.join(stderr.strip().splitlines()[-2:])
    try:
        out = json.loads(stdout)
    except ValueError:
        raise LoadError('load generator exit %d without JSON: %s' %
            (p.returncode, err or stdout[:200]))
    if p.returncode not in (0, 1):
        raise LoadError('load generator exit %d: %s' % (p.returncode, err))
    if not out.get('requests_ok'):
        raise LoadError('no successful requests: %s' %
            (out.get('reason') or err or 'load generator gave no reason'))
    return p.returncode, out, err


def run(cmd, env=None):
    return finish(cmd, start(cmd, env), time.monotonic())


def kill(p):
    if p is not None and p.poll() is None:
        p.kill()
        p.wait()
