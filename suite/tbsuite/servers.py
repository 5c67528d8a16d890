"""The three servers a cell can measure, started and read the same way.

Each server runs pinned (taskset) in its own process group, with a parent-
death signal so that a runner killed with SIGKILL does not leave it running.
Readiness, counters and a clean stop are per kind:

  tlsbench  `listening URL` on stdout; counters: SIGUSR1 -> --stats-file
  asyncio   the same contract (suite/reference/asyncio_server.py)
  nginx     port polled; counters: stub_status on a second, plaintext port
            (connections accepted and requests; no full/resumed split)
"""

import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request

from . import nginx_conf

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(os.path.dirname(HERE), 'reference')

PR_SET_PDEATHSIG = 1
STATS_WAIT = 30     # seconds a server may take to answer SIGUSR1
_libc = ctypes.CDLL(None, use_errno=True)


class ServerError(Exception):
    pass


def die_with_parent(sig=signal.SIGTERM):
    """preexec_fn: the child gets sig when the runner goes away."""
    def fn():
        _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    return fn


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _tail(path, n=3):
    try:
        with open(path, errors='replace') as f:
            lines = [l.strip() for l in f if l.strip()]
        return ' | '.join(lines[-n:])
    except OSError:
        return ''


class Server:
    """Base: start a command, wait for it, sample counters, stop it."""
    # requests (and connections) that reading the counters adds itself
    scrape_cost = 0

    def __init__(self, cell, ctx, tmpdir):
        self.cell = cell
        self.ctx = ctx
        self.dir = tmpdir
        self.proc = None
        self.stdout = os.path.join(tmpdir, 'server.out')
        self.stderr = os.path.join(tmpdir, 'server.err')
        self.stats_file = os.path.join(tmpdir, 'stats.jsonl')
        self.url = None

    # subclasses: command() -> argv (without taskset), ready() -> base URL
    def command(self):
        raise NotImplementedError

    def full_command(self):
        return ['taskset', '-c', self.ctx.server_cpus(self.cell)] + \
            self.command()

    def start(self):
        cmd = self.full_command()
        self.cmdline = cmd
        with open(self.stdout, 'wb') as out, open(self.stderr, 'wb') as err:
            try:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=err, cwd=self.dir,
                    start_new_session=True,
                    preexec_fn=die_with_parent())
            except OSError as e:
                raise ServerError('cannot run %s: %s' % (cmd[3], e))
        self.url = self.ready(self.ctx.ready_timeout)
        return self.url

    def exited_reason(self):
        return 'server exited %s before it was ready: %s' % (
            self.proc.returncode, _tail(self.stderr) or 'no message')

    def wait_listening_line(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(self.stdout) as f:
                    for line in f:
                        if line.startswith('listening '):
                            return line.split()[1].rstrip('/')
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise ServerError(self.exited_reason())
            time.sleep(0.02)
        raise ServerError('server printed no `listening` line within %gs'
            % timeout)

    def ready(self, timeout):
        return self.wait_listening_line(timeout)

    def died(self):
        """A ServerError saying how the server ended, or None if it runs.
        (A dead child stays a zombie until polled: os.kill still works.)"""
        rc = self.proc.poll()
        if rc is None:
            return None
        how = 'exit status %d' % rc
        if rc < 0:
            try:
                how = 'killed by %s' % signal.Signals(-rc).name
            except ValueError:
                how = 'killed by signal %d' % -rc
        return ServerError('server died during the run (%s): %s' % (how,
            _tail(self.stderr) or 'no message'))

    def counters(self):
        """One fresh counters dict (SIGUSR1 -> stats file), or None."""
        before = self._stats_lines()
        if self.died():
            raise self.died()
        try:
            os.kill(self.proc.pid, signal.SIGUSR1)
        except ProcessLookupError:
            raise ServerError('server died during the run: %s' %
                _tail(self.stderr))
        # generous: a server busy with a thousand queued handshakes may
        # reach its signal event only seconds later
        deadline = time.monotonic() + STATS_WAIT
        while time.monotonic() < deadline:
            lines = self._stats_lines()
            if len(lines) > len(before):
                try:
                    return json.loads(lines[-1])
                except ValueError:
                    pass    # half-written line: read again
            if self.died():
                raise self.died()
            time.sleep(0.005)
        raise ServerError('no stats line in %s within %ds of SIGUSR1' %
            (self.stats_file, STATS_WAIT))

    def _stats_lines(self):
        try:
            with open(self.stats_file) as f:
                return [l for l in f.read().split('\n') if l.strip()]
        except OSError:
            return []

    def pid(self):
        return self.proc.pid

    def stop(self, timeout=15):
        """SIGTERM and wait; returns (exit code, reason or '')."""
        if self.proc is None:
            return 0, ''
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                return -9, 'server did not exit within %gs of SIGTERM' % \
                    timeout
        # a process group may keep workers: make sure nothing is left
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        rc = self.proc.returncode
        if rc != 0:
            return rc, 'server exit status %s after SIGTERM: %s' % (
                rc, _tail(self.stderr) or 'no message')
        return 0, ''


class Tlsbench(Server):
    def command(self):
        c, s = self.cell, self.cell['settings']
        cmd = [self.ctx.server_binary(c), '--listen', '127.0.0.1:0',
            '--workers', c['workers'], '--stats-file', self.stats_file,
            '--seed', str(s['seed'])]
        if c['backend'] != 'none':
            cert, key = self.ctx.cert_files(c['cert'])
            cmd += ['--cert', cert, '--key', key,
                '--tls-min', c['tls'], '--tls-max', c['tls'],
                '--resumption', c['resumption']]
            for name in ('ciphers', 'ciphersuites', 'groups'):
                if s[name]:
                    cmd += ['--' + name, s[name]]
        return cmd


class Asyncio(Server):
    def command(self):
        c, s = self.cell, self.cell['settings']
        cert, key = self.ctx.cert_files(c['cert'])
        cmd = [self.ctx.python, os.path.join(REFERENCE, 'asyncio_server.py'),
            '--listen', '127.0.0.1:0', '--cert', cert, '--key', key,
            '--tls-min', c['tls'], '--tls-max', c['tls'],
            '--resumption', c['resumption'],
            '--body-dir', self.ctx.body_dir(s['seed']),
            '--stats-file', self.stats_file]
        if s['ciphers']:
            cmd += ['--ciphers', s['ciphers']]
        return cmd


class Nginx(Server):
    scrape_cost = 1     # each stub_status read is a connection and request

    def command(self):
        c, s = self.cell, self.cell['settings']
        cert, key = self.ctx.cert_files(c['cert'])
        self.port = free_port()
        self.status_port = free_port()
        conf = nginx_conf.write(self.dir, port=self.port, cert=cert,
            key=key, body_dir=self.ctx.body_dir(s['seed']),
            tls_min=c['tls'], tls_max=c['tls'], ciphers=s['ciphers'],
            ciphersuites=s['ciphersuites'], groups=s['groups'],
            resumption=c['resumption'], workers=int(c['workers']),
            status_port=self.status_port)
        return nginx_conf.command(self.dir, conf)

    def ready(self, timeout):
        """Ready once a worker answers stub_status: the master binds the
        ports before it installs its signal handlers and forks the
        workers, so an accepted connection alone would promise too much
        (a SIGTERM then would kill it instead of stopping it)."""
        deadline = time.monotonic() + timeout
        url = 'http://127.0.0.1:%d/tb_status' % self.status_port
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stderr_from_log()
                raise ServerError(self.exited_reason())
            try:
                with urllib.request.urlopen(url, timeout=0.5) as r:
                    r.read()
                return 'https://127.0.0.1:%d' % self.port
            except OSError:
                time.sleep(0.02)
        raise ServerError('nginx not answering on port %d within %gs' %
            (self.status_port, timeout))

    def stderr_from_log(self):
        log = os.path.join(self.dir, 'error.log')
        if os.path.exists(log):
            with open(log, 'rb') as src, open(self.stderr, 'ab') as dst:
                dst.write(src.read())

    def counters(self):
        """{'conns_accepted', 'requests'} from stub_status."""
        url = 'http://127.0.0.1:%d/tb_status' % self.status_port
        try:
            with urllib.request.urlopen(url, timeout=STATS_WAIT) as r:
                text = r.read().decode()
        except OSError as e:
            raise ServerError('cannot read nginx stub_status: %s' % e)
        # "Active connections: N \nserver accepts handled requests\n A H R"
        m = re.search(r'^\s*(\d+)\s+(\d+)\s+(\d+)\s*$', text, re.M)
        if not m:
            raise ServerError('unexpected stub_status: %r' % text[:120])
        return {'conns_accepted': int(m.group(1)),
            'requests': int(m.group(3))}

    def stop(self, timeout=15):
        rc, reason = Server.stop(self, timeout)
        if rc != 0:
            self.stderr_from_log()
            reason = 'nginx exit status %s after SIGTERM: %s' % (rc,
                _tail(self.stderr))
        return rc, reason


KINDS = {'tlsbench': Tlsbench, 'asyncio': Asyncio, 'nginx': Nginx}


def make(cell, ctx, tmpdir):
    return KINDS[cell['server']](cell, ctx, tmpdir)
