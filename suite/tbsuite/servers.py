"""Starting a server, knowing when it is ready, reading it and stopping it:
the one way the suite runs tlsbench-server, nginx and the asyncio
reference server (the matrix, the cost and memory runs, the stress run
and the body fetch all use it).

A server runs in its own process group (its workers with it) with a
parent-death signal, so a runner killed with SIGKILL leaves nothing
behind; optionally pinned (taskset -c CPUS), under a wrapper (valgrind),
with a fixed environment or a lower descriptor limit.  It runs in its work
directory (a core dump or a stray file stays there), so paths in its
arguments must be absolute; its stdout and stderr go to files there.  Readiness and counters per
kind:

  tlsbench  `listening URL` on stdout; counters: SIGUSR1 -> --stats-file
            (requests, full and resumed handshakes, the TLS settings the
            library applied)
  asyncio   the same contract (suite/reference/asyncio_server.py)
  nginx     ready once it answers stub_status on a second, plaintext port;
            counters: stub_status (connections accepted and requests) and,
            with an access log of $ssl_session_reused, full and resumed
            handshakes counted from its lines

stop() sends SIGTERM and requires exit status 0: a server that crashes or
cannot stop cleanly is an error of the measurement, never ignored.
"""

import ctypes
import json
import os
import re
import resource
import signal
import socket
import subprocess
import time
import urllib.request

from . import nginx_conf, procstat
from .cli import ROOT

PR_SET_PDEATHSIG = 1
STATS_WAIT = 30     # seconds a server may take to answer SIGUSR1
ASYNCIO_SERVER = os.path.join(ROOT, 'suite', 'reference', 'asyncio_server.py')
_libc = ctypes.CDLL(None, use_errno=True)


class ServerError(Exception):
    pass


def die_with_parent(sig=signal.SIGTERM, nofile=None):
    """preexec_fn: the child gets sig when the runner goes away (and,
    with nofile, that many descriptors at most)."""
    def fn():
        _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    return fn


def kill_group(proc):
    """SIGKILL to proc's whole process group (start_new_session), then
    reap proc."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _tail(path, n=3):
    """The last n lines of a log, valgrind's own (==PID==) left out."""
    try:
        with open(path, errors='replace') as f:
            lines = [l.strip() for l in f if l.strip() and
                not l.startswith('==')]
        return ' | '.join(lines[-n:])
    except OSError:
        return ''


class Server:
    """Base: start a command, wait until it is ready, sample its counters
    and process tree, stop it.  Subclasses say what runs (command) and
    how readiness shows (ready)."""
    # requests (and connections) that reading the counters adds itself
    scrape_cost = 0
    # where its full and resumed handshake counts come from
    hs_source = 'server'

    def __init__(self, workdir, cpus=None, wrapper=(), env=None,
            nofile=None):
        """cpus: a taskset list, or None for no pinning; wrapper: argv
        put before the server's own (valgrind ...); env: the whole
        environment, or None for this process's; nofile: the server's
        descriptor limit, or None to inherit it."""
        self.dir = workdir
        self.cpus = cpus
        self.wrapper = list(wrapper)
        self.env = env
        self.nofile = nofile
        self.proc = None
        self.cmdline = []
        self.stdout = os.path.join(workdir, 'server.out')
        self.stderr = os.path.join(workdir, 'server.err')
        self.stats_file = os.path.join(workdir, 'stats.jsonl')
        self.url = None

    def command(self):
        """argv of the server itself (without taskset or a wrapper)."""
        raise NotImplementedError

    def start(self, timeout=15.0):
        """Run the server and wait until it is ready; returns its base URL
        (https://127.0.0.1:PORT, or http:// for plaintext)."""
        own = self.command()
        pin = ['taskset', '-c', self.cpus] if self.cpus else []
        self.cmdline = cmd = pin + self.wrapper + own
        with open(self.stdout, 'wb') as out, open(self.stderr, 'wb') as err:
            try:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=err, cwd=self.dir, env=self.env,
                    start_new_session=True,
                    preexec_fn=die_with_parent(nofile=self.nofile))
            except OSError as e:
                raise ServerError('cannot run %s: %s' % (own[0], e))
        try:
            self.url = self.ready(timeout)
        except BaseException:
            self.kill()
            raise
        return self.url

    @property
    def port(self):
        return int(self.url.rsplit(':', 1)[1])

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
        raise ServerError('server printed no `listening` line within %gs: '
            '%s' % (timeout, _tail(self.stderr) or 'no message'))

    def ready(self, timeout):
        return self.wait_listening_line(timeout)

    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

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

    def counters(self, timeout=STATS_WAIT):
        """One fresh counters dict (SIGUSR1 -> stats file)."""
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
        deadline = time.monotonic() + timeout
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
            (self.stats_file, timeout))

    def _stats_lines(self):
        try:
            with open(self.stats_file) as f:
                return [l for l in f.read().split('\n') if l.strip()]
        except OSError:
            return []

    def cpu(self):
        """The server's process tree's CPU so far: {'ns': schedstat
        nanoseconds, 'user_s', 'sys_s': from clock ticks}."""
        user, sys_ = procstat.cpu(self.proc.pid)
        return {'ns': procstat.cpu_ns(self.proc.pid), 'user_s': user,
            'sys_s': sys_}

    def tls_settings(self, counters):
        """The TLS settings the server applied, `key=value;...`, from its
        counters (tlsbench and asyncio report them)."""
        got = counters.get('tls_settings') or {}
        return ';'.join('%s=%s' % kv for kv in sorted(got.items()))

    def anti_replay(self, counters):
        """The server's protection against replayed early data, as its
        counters state it (tlsbench: tls_settings.anti_replay)."""
        return (counters.get('tls_settings') or {}).get('anti_replay', '')

    def stop(self, timeout=15, resend=None):
        """SIGTERM and wait; returns (exit code, reason or '').  resend:
        repeat SIGTERM every that many seconds (valgrind can miss one
        that lands in epoll_wait).  Whatever is left of the process group
        is killed."""
        if self.proc is None:
            return 0, ''
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            left = deadline - time.monotonic()
            try:
                self.proc.wait(min(left, resend or left))
            except subprocess.TimeoutExpired:
                if time.monotonic() < deadline:
                    continue
                self.kill()
                return -9, 'server did not exit within %gs of SIGTERM' % \
                    timeout
        # a process group may keep workers: make sure nothing is left
        self.kill()
        rc = self.proc.returncode
        if rc != 0:
            return rc, self.exit_reason(rc)
        return 0, ''

    def exit_reason(self, rc):
        return 'server exit status %s after SIGTERM: %s' % (rc,
            _tail(self.stderr) or 'no message')

    def lacks(self):
        """A server that states its own limits in other words than
        tlsbench's refusal line: that limit as such a line, or None."""
        return None

    def stop_checked(self, timeout=15, resend=None):
        """stop(), raising ServerError unless the server exited 0."""
        rc, why = self.stop(timeout, resend)
        if rc != 0:
            raise ServerError(why)

    def kill(self):
        """SIGKILL to the whole process group, then reap."""
        if self.proc is not None:
            kill_group(self.proc)


class Tlsbench(Server):
    """tlsbench-server on 127.0.0.1, port chosen by the kernel."""

    def __init__(self, workdir, binary, args=(), workers=1, **kw):
        """args: options after --listen, --workers and --stats-file."""
        Server.__init__(self, workdir, **kw)
        self.binary = os.path.abspath(binary)
        self.args = list(args)
        self.workers = workers

    def command(self):
        return [self.binary, '--listen', '127.0.0.1:0', '--workers',
            str(self.workers), '--stats-file', self.stats_file] + self.args


class Asyncio(Server):
    """suite/reference/asyncio_server.py under a given interpreter."""

    def __init__(self, workdir, python, args=(), **kw):
        Server.__init__(self, workdir, **kw)
        self.python = python
        self.args = list(args)

    def command(self):
        return [self.python, ASYNCIO_SERVER, '--listen', '127.0.0.1:0',
            '--stats-file', self.stats_file] + self.args


class Nginx(Server):
    """Debian's nginx with a configuration written for the cell
    (nginx_conf), its prefix the work directory.  one_process: no master
    (master_process off), so a wrapper such as callgrind sees the process
    that serves.  count_reused: an access log of `$ssl_session_reused`
    (one unbuffered write per request) gives full and resumed handshakes
    from nginx itself."""
    scrape_cost = 1     # each stub_status read is a connection and request
    LOG_WAIT = 5        # seconds the access log may lag its requests

    def __init__(self, workdir, conf, one_process=False, count_reused=False,
            **kw):
        """conf: nginx_conf.render's settings except the ports."""
        Server.__init__(self, workdir, **kw)
        self.conf = dict(conf)
        self.one_process = one_process
        self.reused_log = os.path.join(workdir, 'reused.log') \
            if count_reused else ''
        # the log's counts, or (keep-alive) connections accepted
        self.hs_source = 'server-log' if count_reused else 'server-conns'
        self.status_reads = 0

    def command(self):
        self.https_port = free_port()
        self.status_port = free_port()
        path = nginx_conf.write(self.dir, port=self.https_port,
            status_port=self.status_port, reused_log=self.reused_log,
            **self.conf)
        return nginx_conf.command(self.dir, path, self.one_process)

    def _status_url(self):
        return 'http://127.0.0.1:%d/tb_status' % self.status_port

    def ready(self, timeout):
        """Ready once nginx answers stub_status: the master binds the
        ports before it installs its signal handlers and forks the
        workers, so an accepted connection alone would promise too much
        (a SIGTERM then would kill it instead of stopping it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stderr_from_log()
                raise ServerError(self.exited_reason())
            try:
                with urllib.request.urlopen(self._status_url(),
                        timeout=0.5) as r:
                    r.read()
                self.status_reads += 1   # a request nginx counted
                return 'https://127.0.0.1:%d' % self.https_port
            except OSError:
                time.sleep(0.02)
        self.stderr_from_log()
        raise ServerError('nginx not answering on port %d within %gs: %s' %
            (self.status_port, timeout, _tail(self.stderr) or 'no message'))

    def stderr_from_log(self):
        log = os.path.join(self.dir, 'error.log')
        if os.path.exists(log):
            with open(log, 'rb') as src, open(self.stderr, 'ab') as dst:
                dst.write(src.read())

    def counters(self, timeout=STATS_WAIT):
        """{'conns_accepted', 'requests'} from stub_status, and with the
        access log {'handshakes_full', 'handshakes_resumed'} from it.
        Read at rest (no request in flight): nginx writes a request's log
        line after its response, so the lines are read once they number
        the requests stub_status counted (its own reads aside)."""
        try:
            with urllib.request.urlopen(self._status_url(),
                    timeout=timeout) as r:
                text = r.read().decode()
        except OSError as e:
            raise ServerError('cannot read nginx stub_status: %s' % e)
        self.status_reads += 1
        # "Active connections: N \nserver accepts handled requests\n A H R"
        m = re.search(r'^\s*(\d+)\s+(\d+)\s+(\d+)\s*$', text, re.M)
        if not m:
            raise ServerError('unexpected stub_status: %r' % text[:120])
        out = {'conns_accepted': int(m.group(1)),
            'requests': int(m.group(3))}
        if self.reused_log:
            out.update(self._reused_counts(out['requests'] -
                self.status_reads))
        return out

    def _reused_counts(self, want):
        """Full ('.') and resumed ('r') lines of the access log, once it
        holds `want` lines (bounded by LOG_WAIT)."""
        deadline = time.monotonic() + self.LOG_WAIT
        while True:
            try:
                with open(self.reused_log) as f:
                    lines = f.read().split('\n')[:-1]
            except OSError:
                lines = []
            if len(lines) >= want:
                break
            if time.monotonic() > deadline:
                raise ServerError('nginx access log %s has %d lines, '
                    'stub_status counted %d requests (after %ds)' % (
                    self.reused_log, len(lines), want, self.LOG_WAIT))
            time.sleep(0.002)
        resumed = sum(1 for l in lines if l.startswith('r'))
        out = {'handshakes_full': len(lines) - resumed,
            'handshakes_resumed': resumed}
        if self.conf.get('early_data'):
            # nginx counts no early data offered or rejected
            out['early_data_accepted'] = sum(1 for l in lines
                if l.endswith('1'))
        return out

    def tls_settings(self, counters):
        resumption = self.conf.get('resumption', 'both')
        cache, tickets = nginx_conf.RESUMPTION[resumption]
        num = nginx_conf.NUM_TICKETS.get(resumption)
        return 'ssl_session_cache=%s;ssl_session_tickets=%s;' \
            'ssl_session_timeout=%s%s%s' % (cache, tickets,
            nginx_conf.SESSION_TIMEOUT, '' if num is None else
            ';num_tickets=%d' % num, ';ssl_early_data=on' if
            self.conf.get('early_data') else '')

    def anti_replay(self, counters):
        return nginx_conf.ANTI_REPLAY if self.conf.get('early_data') else ''

    def exit_reason(self, rc):
        self.stderr_from_log()
        return 'nginx exit status %s after SIGTERM: %s' % (rc,
            _tail(self.stderr))

    # nginx's start-up error when its OpenSSL does not know a group
    # (ssl_ecdh_curve), e.g. an ML-KEM hybrid on OpenSSL 3.0
    NO_GROUP = re.compile(r'(SSL_CTX_set1_curves_list\("([^"]+)"\) failed)'
        r'.*?(group \S+ cannot be set)?\)?$', re.M)

    def lacks(self):
        """nginx refusing a group at start-up, as a refusal line."""
        try:
            with open(self.stderr, errors='replace') as f:
                m = self.NO_GROUP.search(f.read())
        except OSError:
            return None
        if not m:
            return None
        return "nginx's OpenSSL has no %s (nginx: %s%s)" % (m.group(2),
            m.group(1), ': ' + m.group(3) if m.group(3) else '')
