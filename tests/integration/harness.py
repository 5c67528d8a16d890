"""harness.py: start the real tlsbench-server and talk to it.

Everything a case needs and nothing more: a Server that runs the binary on
an ephemeral port and reads its counters, a raw HTTP/1.1 client over TLS or
plain TCP, and a bounded subprocess runner.  Every wait has a deadline: a
hung server must turn into a FAIL line, never a hung test run.
"""

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

# The counters every stats line must carry (the server's contract).
STATS_KEYS = (
    "pid", "workers", "uptime_s", "conns_accepted", "conns_active",
    "conns_completed", "conns_failed", "conns_timed_out", "handshakes_full",
    "handshakes_resumed", "handshakes_failed", "requests", "status_200",
    "status_400", "status_404", "status_405", "status_408", "status_411",
    "status_413", "status_431", "status_505", "status_304", "status_412",
    "status_414", "status_417", "status_421", "status_501", "bytes_sent",
    "tls_errors",
    "timeouts_header", "timeouts_idle", "timeouts_write", "accept_pauses",
    "resumed_ticket", "resumed_id", "resumed_psk_ke", "resumed_psk_dhe_ke",
    "early_data_offered", "early_data_accepted", "early_data_rejected",
    "wakeups", "sys_accept", "sys_read", "sys_write", "sys_close",
    "sys_other", "cpu_user_us", "cpu_sys_us", "max_rss_kib",
)

BODY_ALPHABET = re.compile(rb"\A[A-Z0-9]*\Z")
LISTENING = re.compile(
    r"\Alistening (https?)://([0-9.]+|\[[0-9a-f:]+\]):(\d+)\n\Z")
SANITIZER = re.compile(
    r"ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|"
    r"SUMMARY: \w+Sanitizer")

START_TIMEOUT = 15.0  # a sanitizer build with a 4096-bit key starts slowly
STOP_TIMEOUT = 10.0
IO_TIMEOUT = 10.0


CASES = []


def case(name, needs="any", **params):
    """Register fn(env, **params) as case name.  needs: "any" runs on every
    backend, "tls" only on TLS backends, "plain" only on the none backend."""
    def register(fn):
        CASES.append((name, fn, needs, params))
        return fn
    return register


def slow(fn):
    """Mark a case that run.py --quick leaves out."""
    fn.slow = True
    return fn


class Skip(Exception):
    """The case cannot run here; the message says why."""


class Fail(AssertionError):
    """The server did not do what the contract says."""


class StartError(Fail):
    """The server refused to start; .stderr holds what it said."""

    def __init__(self, msg, stderr=""):
        super().__init__(msg)
        self.stderr = stderr


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def check_eq(got, want, what):
    if got != want:
        raise Fail(f"{what}: got {got!r}, want {want!r}")


def short(data, n=120):
    """A bytes or str value cut to one readable line for a FAIL message."""
    s = data.decode("latin-1") if isinstance(data, bytes) else str(data)
    s = s.replace("\r", "\\r").replace("\n", "\\n")
    return s if len(s) <= n else s[:n] + f"...({len(s)} chars)"


def run(cmd, timeout=IO_TIMEOUT, input=None, check_rc=None, env=None):
    """Run a client command, bounded; returns CompletedProcess (bytes)."""
    try:
        p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise Fail(f"{os.path.basename(cmd[0])} timed out after {timeout}s: "
                   f"{' '.join(cmd)}")
    if check_rc is not None and p.returncode != check_rc:
        err = p.stderr.decode(errors="replace").strip().splitlines()
        raise Fail(f"{os.path.basename(cmd[0])} exited {p.returncode} "
                   f"(want {check_rc}): {err[-1] if err else ''}")
    return p


class Env:
    """What every case shares: the build under test and the certificates."""

    def __init__(self, build, certs, keep=False, server_args=()):
        self.build = os.path.abspath(build)
        self.certs = os.path.abspath(certs)
        self.keep = keep
        # run.py --server-arg: given to every server before a case's own
        # arguments (which therefore win), e.g. --io=core
        self.server_args = list(server_args)
        self.server_bin = os.path.join(self.build, "tlsbench-server")
        if not os.access(self.server_bin, os.X_OK):
            raise SystemExit(f"run.py: {self.server_bin} missing: build it "
                             f"with ninja -C {build}")
        self.load_bin = self._find("tlsbench-load")
        self.version = self._version()
        self.backend = self.version.get("backend", "")
        if not self.backend:
            raise SystemExit("run.py: tlsbench-server --version has no "
                             "'backend: X' line")
        self.tls = self.backend != "none"
        self.scheme = "https" if self.tls else "http"
        self.tmp = tempfile.mkdtemp(prefix=f"tb-it-{self.backend}-")

    def _find(self, name):
        for root, _dirs, files in os.walk(self.build):
            if name in files and os.access(os.path.join(root, name), os.X_OK):
                return os.path.join(root, name)
        return None

    def _version(self):
        p = run([self.server_bin, "--version"], check_rc=0)
        facts = {}
        for line in p.stdout.decode().splitlines():
            k, sep, v = line.partition(": ")
            if sep:
                facts.setdefault(k.strip(), v.strip())
        return facts

    def cert(self, name):
        return (os.path.join(self.certs, name + ".pem"),
                os.path.join(self.certs, name + ".key"))

    @property
    def ca(self):
        return os.path.join(self.certs, "ca.pem")

    def mkdtemp(self, prefix):
        return tempfile.mkdtemp(prefix=prefix + "-", dir=self.tmp)

    def cleanup(self):
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def server(self, *args, **kw):
        return Server(self, *args, **kw)


def start_or_skip(srv, what):
    """Start srv; a backend other than OpenSSL (the reference) that refuses
    the configuration at start-up with its reason makes the case a SKIP
    naming that reason: a library limit stated, never a silent fallback."""
    try:
        return srv.start()
    except StartError as e:
        srv.kill()
        if srv.env.backend == "openssl":
            raise
        raise Skip(f"{srv.env.backend} refuses {what}: "
                   f"{short(e.stderr.strip(), 240)}")


def children_of(pid):
    """The pids whose parent is pid (the forked workers)."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces or parentheses: split after it
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append(int(d))
    return kids


LIVE = set()  # servers started and not yet stopped, for run.py's last resort


def kill_all():
    for srv in list(LIVE):
        srv.kill()


def leftovers(tmp):
    """Pids of processes whose command line names our temporary directory:
    servers a case failed to stop.  None may survive a run."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if tmp.encode() in f.read():
                    pids.append(int(d))
        except OSError:
            pass
    return pids


class Server:
    """One tlsbench-server on 127.0.0.1:0, stopped (and checked) on exit.

    Leaving the with-block sends SIGTERM and requires exit status 0, a final
    stats line, no sanitizer report and no worker left behind: every case
    thereby also checks that the server survived what the case did to it.
    """

    def __init__(self, env, *args, cert="rsa2048", seed=1,
                 listen="127.0.0.1:0", stats=True):
        self.env = env
        self.dir = env.mkdtemp("server")
        self.stats_file = (os.path.join(self.dir, "stats.jsonl") if stats
                           else None)
        certfile, keyfile = env.cert(cert)
        self.argv = [env.server_bin, "--cert", certfile, "--key", keyfile,
                     "--listen", listen]
        if seed is not None:
            self.argv += ["--seed", str(seed)]
        if self.stats_file:
            self.argv += ["--stats-file", self.stats_file]
        self.argv += env.server_args + [str(a) for a in args]
        self.proc = None
        self.host = self.port = self.scheme = None
        self.workers = []
        self.rc = None
        self.final = None

    # -- life cycle -------------------------------------------------------
    def start(self):
        check(self.proc is None, "Server.start called twice")
        self.out_path = os.path.join(self.dir, "stdout")
        self.err_path = os.path.join(self.dir, "stderr")
        with open(self.out_path, "wb") as out, \
                open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        LIVE.add(self)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            text = self._read(self.out_path)
            if "\n" in text:
                break
            if self.proc.poll() is not None:
                err = self.stderr().strip()
                raise StartError(f"server exited {self.proc.returncode} "
                                 f"before listening: {short(err, 300)}", err)
            if time.monotonic() > deadline:
                self.kill()
                raise Fail(f"no 'listening' line within {START_TIMEOUT}s")
            time.sleep(0.01)
        line = text[:text.index("\n") + 1]
        m = LISTENING.match(line)
        if not m:
            self.kill()
            raise Fail(f"first stdout line is not 'listening "
                       f"SCHEME://HOST:PORT': {short(line)}")
        self.scheme, host, self.port = m.group(1), m.group(2), int(m.group(3))
        self.host = host.strip("[]")
        if self.scheme != self.env.scheme:
            self.kill()
            raise Fail(f"listening line says {self.scheme}://, backend "
                       f"{self.env.backend} should say {self.env.scheme}://")
        self.workers = children_of(self.proc.pid)
        return self

    def __enter__(self):
        if self.proc is not None:  # started already (start_or_skip)
            return self
        try:
            return self.start()
        except BaseException:
            self.kill()
            raise

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.kill()
        elif self.rc is None:
            self.stop()
        return False

    @staticmethod
    def _read(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stderr(self):
        return self._read(self.err_path)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """Stop without checks (the case already failed)."""
        LIVE.discard(self)
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self._reap_workers()
        if not self.env.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _reap_workers(self):
        """Kill workers that outlived the server (same process group)."""
        left = []
        for w in self.workers:
            try:
                if os.getpgid(w) == self.proc.pid:
                    os.kill(w, signal.SIGKILL)
                    left.append(w)
            except ProcessLookupError:
                pass
        return left

    def stop(self, sig=signal.SIGTERM):
        """SIGTERM, then require a clean exit; returns the last stats line."""
        if not self.alive():
            rc = self.proc.returncode
            err = self.stderr()
            self.kill()
            raise Fail(f"server died during the case (exit {rc}): "
                       f"{short(err.strip()[-600:], 600)}")
        before = self._lines()
        self.workers = sorted(set(self.workers) |
                              set(children_of(self.proc.pid)))
        self.proc.send_signal(sig)
        try:
            self.rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Fail(f"server still running {STOP_TIMEOUT}s after SIGTERM")
        LIVE.discard(self)
        err = self.stderr()
        lines = self._lines()
        # workers may need a moment to go after their parent
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(
                os.path.exists(f"/proc/{w}") for w in self.workers):
            time.sleep(0.05)
        left = self._reap_workers()
        keep_dir = self.env.keep
        if not keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        m = SANITIZER.search(err)
        if m:
            i = max(0, m.start() - 200)
            raise Fail(f"sanitizer report on server stderr: "
                       f"{short(err[i:i + 900], 900)}")
        if self.rc != 0:
            raise Fail(f"server exited {self.rc} after SIGTERM (want 0): "
                       f"{short(err.strip()[-600:], 600)}")
        if left:
            raise Fail(f"workers {left} still running after the server exited")
        if self.stats_file:
            if len(lines) <= len(before):
                raise Fail("no final stats line written at SIGTERM")
            self.final = self._parse(lines[-1])
        return self.final

    # -- counters ---------------------------------------------------------
    def _lines(self):
        text = self._read(self.stats_file) if self.stats_file else ""
        # only whole lines: the writer may be half-way through the last one
        return text.split("\n")[:-1]

    def _parse(self, line):
        try:
            st = json.loads(line)
        except ValueError as e:
            raise Fail(f"stats line is not JSON ({e}): {short(line)}")
        missing = [k for k in STATS_KEYS if k not in st]
        if missing:
            raise Fail(f"stats line lacks {', '.join(missing)}")
        return st

    def stats(self, timeout=5.0):
        """SIGUSR1, wait for the new line, return it parsed."""
        check(self.alive(), "server is not running")
        before = len(self._lines())
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while True:
            lines = self._lines()
            if len(lines) > before:
                return self._parse(lines[-1])
            if time.monotonic() > deadline:
                raise Fail(f"no stats line within {timeout}s of SIGUSR1")
            time.sleep(0.02)

    def settled(self, timeout=5.0, **want):
        """Poll the counters until no connection is active and every
        key=value in want holds (the server sees a client's close a little
        after the client made it); then return them, or fail with the last."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.stats()
            if st["conns_active"] == 0 and all(
                    st[k] == v for k, v in want.items()):
                return st
            if time.monotonic() > deadline:
                diff = {k: st[k] for k in ["conns_active", *want]}
                raise Fail(f"counters did not settle in {timeout}s: got {diff}"
                           f", want conns_active=0 {want}")
            time.sleep(0.05)

    # -- addresses --------------------------------------------------------
    def url(self, path="/", host="localhost"):
        return f"{self.scheme}://{host}:{self.port}{path}"


def check_invariant(st):
    """conns_accepted = active + completed + failed + timed_out."""
    parts = (st["conns_active"], st["conns_completed"], st["conns_failed"],
             st["conns_timed_out"])
    check(st["conns_accepted"] == sum(parts),
          f"conns_accepted {st['conns_accepted']} != active {parts[0]} + "
          f"completed {parts[1]} + failed {parts[2]} + timed_out {parts[3]}")


# -- a raw HTTP/1.1 client ------------------------------------------------

TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def tls_context(env, version=None):
    ctx = ssl.create_default_context(cafile=env.ca)
    if version:
        ctx.minimum_version = ctx.maximum_version = TLS_VERSIONS[version]
    return ctx


class Response:
    def __init__(self, status, reason, version, headers, body, head):
        self.status, self.reason, self.version = status, reason, version
        self.headers, self.body, self.head = headers, body, head

    def header(self, name):
        return self.headers.get(name.lower())


class Conn:
    """One client connection, TLS when the backend has TLS."""

    def __init__(self, srv, version=None, timeout=IO_TIMEOUT, handshake=True,
                 ragged_eofs=True, ctx=None, session=None):
        """ctx and session: offer session (from an earlier connection made
        with the same ctx, as Python requires) to resume it."""
        self.srv = srv
        self.timeout = timeout
        raw = socket.create_connection((srv.host, srv.port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.raw = raw
        if srv.env.tls and handshake:
            ctx = ctx or tls_context(srv.env, version)
            if not ragged_eofs:
                # Python sets this by default; without it a TCP close with
                # no close_notify is an error, which is what we look for
                ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
            self.sock = ctx.wrap_socket(raw, server_hostname="localhost",
                                        suppress_ragged_eofs=ragged_eofs,
                                        session=session)
        else:
            self.sock = raw
        self.buf = bytearray()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise Fail("timed out waiting for the server")
        except (ssl.SSLEOFError, ConnectionResetError):
            chunk = b""
        if not chunk:
            raise EOFError
        self.buf += chunk

    def read_response(self, head=False):
        """One response: status line, headers, Content-Length body (none
        for HEAD, 1xx and 304, RFC 9112 6.3)."""
        try:
            while b"\r\n\r\n" not in self.buf:
                check(len(self.buf) < 65536,
                      "response header block over 64 KiB")
                self._fill()
        except EOFError:
            raise Fail(f"connection closed before a whole response header "
                       f"(got {short(self.buf)})")
        end = self.buf.index(b"\r\n\r\n")
        head_bytes = bytes(self.buf[:end])
        del self.buf[:end + 4]
        lines = head_bytes.decode("latin-1").split("\r\n")
        m = re.match(r"(HTTP/1\.[01]) (\d{3}) ?(.*)\Z", lines[0])
        check(m, f"bad status line {short(lines[0])}")
        headers = {}
        for ln in lines[1:]:
            k, sep, v = ln.partition(":")
            check(sep and k and k == k.strip(), f"bad header line {short(ln)}")
            check(k.lower() not in headers, f"header {k} sent twice")
            headers[k.lower()] = v.strip()
        status = int(m.group(2))
        body = b""
        if not head and status >= 200 and status != 304:
            cl = headers.get("content-length")
            check(cl is not None and cl.isdigit(),
                  f"status {status} without a Content-Length")
            need = int(cl)
            try:
                while len(self.buf) < need:
                    self._fill()
            except EOFError:
                raise Fail(f"connection closed after {len(self.buf)} of "
                           f"{need} body bytes")
            body = bytes(self.buf[:need])
            del self.buf[:need]
        return Response(status, m.group(3), m.group(1), headers, body,
                        head_bytes)

    def quiet_for(self, timeout):
        """True when the server sends nothing for timeout seconds and keeps
        the connection open; what it sends instead stays buffered."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return True
        except (ssl.SSLEOFError, ConnectionResetError):
            chunk = b""
        finally:
            self.sock.settimeout(self.timeout)
        self.buf += chunk
        return False

    def closed_by_server(self, timeout=3.0):
        """True when the server closes within timeout with nothing more sent;
        extra bytes are a failure (the server must say nothing after)."""
        check(not self.buf, f"unexpected bytes after the response: "
                            f"{short(self.buf)}")
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return False
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError,
                BrokenPipeError):
            return True
        check(not data, f"unexpected bytes after the response: {short(data)}")
        return True


def read_to_eof(sock):
    """Everything the peer sends until it closes (a socket or an SSL
    socket; its own timeout bounds each read)."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def request(path="/", method="GET", version="HTTP/1.1", headers=()):
    lines = [f"{method} {path} {version}", "Host: localhost", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def get(srv, path="/", version=None, method="GET"):
    """One request on a fresh connection; returns the Response."""
    with Conn(srv, version) as c:
        c.send(request(path, method, headers=["Connection: close"]))
        return c.read_response(head=(method == "HEAD"))


def client_hello(version=None):
    """The bytes of a real ClientHello, made without any network."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version:
        ctx.minimum_version = ctx.maximum_version = TLS_VERSIONS[version]
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def tool(name):
    """The path of a client program, or Skip when it is not installed."""
    path = shutil.which(name)
    if not path:
        pkg = {"gnutls-cli": "gnutls-bin",
               "h2load": "nghttp2-client"}.get(name, name)
        raise Skip(f"{name} not installed (apt-get install {pkg})")
    return path


def curl(srv, *args, paths=("/",), version=None, timeout=IO_TIMEOUT):
    """curl with verification against the test CA (never -k)."""
    cmd = [tool("curl"), "-sS", "--max-time", str(timeout)]
    if srv.env.tls:
        cmd += ["--cacert", srv.env.ca]
        if version:
            cmd += [f"--tlsv{version}", "--tls-max", version]
    cmd += list(args) + [srv.url(p) for p in paths]
    return run(cmd, timeout=timeout + 5)
