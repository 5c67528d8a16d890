"""test_http.py: what the server answers, byte for byte.

The body is the product under test: 20480 bytes of [A-Z0-9] for / and /20k,
other sizes from the same fixed stream, the same bytes for the same --seed.
Every status the contract names is provoked once and counted once.
"""

import socket
import ssl
import time

from harness import (BODY_ALPHABET, Conn, Fail, Skip, case, check, check_eq,
                     check_invariant, curl, get, request, short)

TLS_VERSIONS = ("1.2", "1.3")
CERTS = ("rsa2048", "ecdsa-p256")


def body_of(srv, path="/", version=None):
    resp = get(srv, path, version)
    check_eq(resp.status, 200, f"status of GET {path}")
    return resp.body


# -- curl gets the body -----------------------------------------------------

def curl_body(env, version=None, cert="rsa2048"):
    """curl, verifying the server against the test CA, gets 200 and exactly
    20480 bytes of [A-Z0-9]; the server counts one full handshake and one
    200."""
    with env.server(cert=cert) as srv:
        p = curl(srv, "-o", "-", "-w", "\n%{http_code} %{size_download}",
                 version=version, paths=("/",))
        check_eq(p.returncode, 0, f"curl exit ({short(p.stderr)})")
        body, _, tail = p.stdout.rpartition(b"\n")
        check_eq(tail.decode(), "200 20480", "curl status and size")
        check_eq(len(body), 20480, "body length")
        check(BODY_ALPHABET.match(body), "body is not all [A-Z0-9]")
        st = srv.settled(requests=1)
        check_eq(st["status_200"], 1, "status_200")
        if env.tls:
            check_eq(st["handshakes_full"], 1, "handshakes_full")
            check_eq(st["handshakes_resumed"], 0, "handshakes_resumed")
        check_invariant(st)


for _v in TLS_VERSIONS:
    for _c in CERTS:
        case(f"body.curl_tls{_v}_{_c}", "tls", version=_v, cert=_c)(curl_body)
case("body.curl_plain", "plain")(curl_body)


@case("body.sizes")
def sizes(env):
    """/ and /20k are 20480 bytes, /1k 1024, /1m 1048576, /7 seven; all share
    one byte stream, so each is a prefix of /1m."""
    with env.server() as srv:
        big = body_of(srv, "/1m")
        check_eq(len(big), 1 << 20, "length of /1m")
        check(BODY_ALPHABET.match(big), "/1m is not all [A-Z0-9]")
        for path, n in (("/", 20480), ("/20k", 20480), ("/1k", 1024),
                        ("/7", 7), ("/20480", 20480)):
            b = body_of(srv, path)
            check_eq(len(b), n, f"length of {path}")
            check(b == big[:n], f"{path} is not a prefix of /1m")


@case("body.large_streamed")
def large(env):
    """/16m streams 16 MiB with the right Content-Length, all [A-Z0-9]."""
    with env.server() as srv:
        b = body_of(srv, "/16m")
        check_eq(len(b), 16 << 20, "length of /16m")
        check(BODY_ALPHABET.match(b), "/16m is not all [A-Z0-9]")
        st = srv.settled(requests=1)
        check(st["bytes_sent"] >= 16 << 20,
              f"bytes_sent {st['bytes_sent']} < 16 MiB")


@case("body.seed_reproducible")
def seed(env):
    """The same --seed gives the same bytes in two server starts; another
    seed gives other bytes."""
    bodies = []
    for s in (42, 42, 43):
        with env.server(seed=s) as srv:
            bodies.append(body_of(srv, "/"))
    check(bodies[0] == bodies[1], "two starts with --seed 42 differ")
    check(bodies[0] != bodies[2], "--seed 42 and --seed 43 give the same body")


# -- connections --------------------------------------------------------------

@case("conn.keepalive_curl")
def keepalive_curl(env):
    """Three URLs on one curl command travel on one connection: the server
    accepts one connection and answers three requests."""
    with env.server() as srv:
        p = curl(srv, "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
                 "-w", "%{http_code} %{num_connects}\n",
                 paths=("/", "/1k", "/20k"))
        check_eq(p.returncode, 0, f"curl exit ({short(p.stderr)})")
        check_eq(p.stdout.decode().split(),
                 ["200", "1", "200", "0", "200", "0"],
                 "curl status and new connections per URL")
        st = srv.settled(requests=3)
        check_eq(st["conns_accepted"], 1, "conns_accepted")
        check_eq(st["status_200"], 3, "status_200")
        check_invariant(st)


@case("conn.head")
def head(env):
    """HEAD answers the GET headers (Content-Length 20480) and no body: a
    GET on the same connection right after gets its own whole response."""
    with env.server() as srv, Conn(srv) as c:
        c.send(request("/", "HEAD"))
        r = c.read_response(head=True)
        check_eq(r.status, 200, "HEAD status")
        check_eq(r.header("content-length"), "20480", "HEAD Content-Length")
        c.send(request("/1k"))
        r = c.read_response()
        check_eq((r.status, len(r.body)), (200, 1024),
                 "GET after HEAD (a HEAD body would show up here)")


@case("conn.pipelining")
def pipelining(env):
    """Three requests in one write are answered in order."""
    with env.server() as srv, Conn(srv) as c:
        c.send(request("/1k") + request("/", "HEAD") + request("/3k"))
        sizes = []
        for head in (False, True, False):
            r = c.read_response(head=head)
            check_eq(r.status, 200, "pipelined status")
            sizes.append(r.header("content-length") if head
                         else len(r.body))
        check_eq(sizes, [1024, "20480", 3072], "pipelined responses in order")
        st = srv.stats()
        check_eq(st["requests"], 3, "requests")


@case("conn.http10_closes")
def http10(env):
    """HTTP/1.0 without keep-alive: one response, then the server closes."""
    with env.server() as srv, Conn(srv) as c:
        c.send(request("/1k", version="HTTP/1.0"))
        r = c.read_response()
        check_eq((r.status, len(r.body)), (200, 1024), "HTTP/1.0 response")
        check(c.closed_by_server(), "connection still open after HTTP/1.0")


@case("conn.http10_keepalive")
def http10_keepalive(env):
    """HTTP/1.0 with Connection: keep-alive keeps the connection for a
    second request."""
    with env.server() as srv, Conn(srv) as c:
        for _ in range(2):
            c.send(request("/1k", version="HTTP/1.0",
                           headers=["Connection: keep-alive"]))
            r = c.read_response()
            check_eq((r.status, len(r.body)), (200, 1024), "HTTP/1.0 response")
        st = srv.stats()
        check_eq(st["conns_accepted"], 1, "conns_accepted")


@case("conn.connection_close")
def connection_close(env):
    """HTTP/1.1 with Connection: close: one response, then the server closes,
    and counts a completed connection."""
    with env.server() as srv:
        with Conn(srv) as c:
            c.send(request("/", headers=["Connection: close"]))
            r = c.read_response()
            check_eq((r.status, len(r.body)), (200, 20480), "response")
            check(c.closed_by_server(), "connection still open after "
                                        "Connection: close")
        st = srv.settled(conns_completed=1)
        check_invariant(st)


@case("conn.ipv6")
def ipv6(env):
    """--listen [::1]:0 serves over IPv6; curl verifies the certificate
    for ::1 (it is in the SAN)."""
    srv = env.server(listen="[::1]:0")
    with srv:
        check_eq(srv.host, "::1", "listening host")
        p = curl(srv, "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                 "--url", srv.url("/", host="[::1]"), paths=())
        check_eq(p.returncode, 0, f"curl exit ({short(p.stderr)})")
        check_eq(p.stdout.decode(), "200 20480", "curl status and size")


@case("conn.idle_timeout")
def idle_timeout(env):
    """--idle-timeout 1: a keep-alive connection with no next request is
    closed by the server after about a second and counted in
    timeouts_idle."""
    with env.server("--idle-timeout", "1") as srv, Conn(srv) as c:
        c.send(request("/1k"))
        check_eq(c.read_response().status, 200, "status")
        t0 = time.monotonic()
        check(c.closed_by_server(timeout=4), "still open 4 s after the "
                                             "response")
        took = time.monotonic() - t0
        check(0.5 <= took <= 3, f"closed after {took:.1f}s, want ~1 s")
        st = srv.settled(timeouts_idle=1)
        check_invariant(st)


@case("conn.idle_outlasts_header_deadline")
def idle_outlasts_header(env):
    """--header-timeout 1 --idle-timeout 3: a keep-alive connection served
    at once is closed ~3 s after its response (the idle timeout), not when
    the 1 s deadline armed at accept comes due."""
    with env.server("--header-timeout", "1", "--idle-timeout", "3") as srv, \
            Conn(srv) as c:
        c.send(request("/1k"))
        check_eq(c.read_response().status, 200, "status")
        t0 = time.monotonic()
        check(c.closed_by_server(timeout=6), "still open 6 s after the "
                                             "response")
        took = time.monotonic() - t0
        check(2.5 <= took <= 5, f"closed after {took:.1f}s, want ~3 s")
        st = srv.settled(timeouts_idle=1)
        check_eq(st["timeouts_header"], 0, "timeouts_header")


@case("conn.header_deadline_of_later_request")
def later_request_deadline(env):
    """--header-timeout 1 --idle-timeout 5: the first bytes of a second
    request start its header deadline: left incomplete, it is answered 408
    and closed ~1 s later, not after the idle timeout."""
    with env.server("--header-timeout", "1", "--idle-timeout", "5") as srv, \
            Conn(srv) as c:
        c.send(request("/1k"))
        check_eq(c.read_response().status, 200, "status")
        time.sleep(0.3)
        c.send(b"GET /1k HTTP/1.1\r\nHost: local")
        t0 = time.monotonic()
        check_eq(c.read_response().status, 408, "status of the cut request")
        took = time.monotonic() - t0
        check(0.7 <= took <= 3, f"408 after {took:.1f}s, want ~1 s")
        check(c.closed_by_server(timeout=3), "open after the 408")
        st = srv.settled(timeouts_header=1)
        check_eq(st["timeouts_idle"], 0, "timeouts_idle")
        check_invariant(st)


@case("conn.write_timeout")
def write_timeout(env):
    """--write-timeout 1: a client that asks for 64 MiB and reads nothing
    is dropped ~1 s after the server's last write progress, counted in
    timeouts_write; the 10 s header deadline of the connection does not
    apply while writing."""
    with env.server("--write-timeout", "1") as srv, Conn(srv) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.send(request("/64m"))
        st = srv.settled(timeout=8, timeouts_write=1)
        check_eq(st["conns_timed_out"], 1, "conns_timed_out")
        check_eq(st["timeouts_header"], 0, "timeouts_header")


@case("conn.defer_accept")
def defer_accept(env):
    """--defer-accept 5: a client that connects and says nothing is not
    accepted yet (the kernel holds it); once it sends its first bytes it is
    accepted and served at once."""
    with env.server("--defer-accept", "5") as srv:
        raw = socket.create_connection((srv.host, srv.port), timeout=5)
        try:
            time.sleep(0.5)
            check_eq(srv.stats()["conns_accepted"], 0,
                     "conns_accepted while the client is silent")
        finally:
            raw.close()
        check_eq(get(srv, "/1k").status, 200, "status")
        st = srv.settled(requests=1)
        check_invariant(st)


@case("conn.close_notify", "tls")
def close_notify(env):
    """After Connection: close the server ends TLS properly: a close_notify
    alert before the TCP close (so a client can tell the end from a
    truncation)."""
    with env.server() as srv, Conn(srv, ragged_eofs=False) as c:
        c.send(request("/1k", headers=["Connection: close"]))
        r = c.read_response()
        check_eq(r.status, 200, "status")
        c.sock.settimeout(3)
        try:
            data = c.sock.recv(4096)
        except ssl.SSLError as e:  # SSLEOFError, or with OpenSSL 3 a plain
            if "EOF" not in str(e).upper():  # SSLError naming the EOF
                raise
            raise Fail("TCP close without a close_notify alert")
        except socket.timeout:
            raise Fail("connection still open 3 s after Connection: close")
        check_eq(data, b"", "bytes after the response")


@case("conn.close_notify_after_full_output", "tls")
def close_notify_full_output(env):
    """--io core: a response whose TLS 1.3 records leave less room in the
    core's 32 KiB output buffer than a close_notify needs is still followed
    by one (the buffer is flushed first, then the alert queued)."""
    with env.server("--resumption", "none") as srv:
        if srv.stats()["tls_settings"].get("io") != "core":
            raise Skip("--io native: the library writes the socket itself")
        head = get(srv, "/32600", version="1.3", method="HEAD").head
        # Each TLS 1.3 record adds 22 bytes (header, type, tag); the
        # response is the header's record and two body records, so its
        # bytes are len(head) + 4 + N + 66: make that 32768 - 10, too
        # little room for the alert (24 bytes).
        n = 32768 - 10 - 66 - (len(head) + 4)
        with Conn(srv, "1.3", ragged_eofs=False) as c:
            c.send(request(f"/{n}", headers=["Connection: close"]))
            r = c.read_response()
            check_eq(len(r.body), n, "body length")
            c.sock.settimeout(3)
            try:
                data = c.sock.recv(4096)
            except ssl.SSLError as e:
                if "EOF" not in str(e).upper():
                    raise
                raise Fail("TCP close without a close_notify alert")
            check_eq(data, b"", "bytes after the response")


@case("conn.request_body_discarded")
def request_body(env):
    """A GET with a small Content-Length body: the body is read and dropped,
    and the next request on the connection is answered."""
    with env.server() as srv, Conn(srv) as c:
        c.send(request("/1k", headers=["Content-Length: 5"]) + b"hello" +
               request("/2k"))
        r1, r2 = c.read_response(), c.read_response()
        check_eq((r1.status, len(r1.body), r2.status, len(r2.body)),
                 (200, 1024, 200, 2048), "two responses")


# -- error statuses ---------------------------------------------------------

ERRORS = {
    "400_request_line": (b"GET\r\n\r\n", 400),
    "400_header_line": (b"GET / HTTP/1.1\r\nHost localhost\r\n\r\n", 400),
    "400_conflicting_length": (
        request("/", headers=["Content-Length: 5", "Content-Length: 6"]), 400),
    "404_path": (request("/nope"), 404),
    "405_method": (request("/", "DELETE"), 405),
    "411_chunked": (request("/", headers=["Transfer-Encoding: chunked"]), 411),
    "413_length": (request("/", headers=["Content-Length: 2000000"]), 413),
    "431_header_block": (request("/", headers=["X-Big: " + "a" * 9000]), 431),
    "505_version": (request("/", version="HTTP/2.0"), 505),
}


def error_status(env, raw, status):
    """The request gets exactly this status with a Content-Length, then the
    server closes the connection; status_<N> counts it once, nothing else
    counts a 200, and the connection is not lost from the counters."""
    with env.server() as srv:
        with Conn(srv) as c:
            c.send(raw)
            r = c.read_response()
            check_eq(r.status, status, f"status for {short(raw, 60)}")
            check(c.closed_by_server(), f"connection open after {status}")
        st = srv.settled(**{f"status_{status}": 1})
        check_eq(st["status_200"], 0, "status_200")
        check_eq(st["requests"], 1, "requests")
        check_invariant(st)
        # the server still serves
        check_eq(get(srv, "/1k").status, 200, "GET after the error")


for _name, (_raw, _st) in ERRORS.items():
    case(f"status.{_name}", raw=_raw, status=_st)(error_status)


@case("status.keepalive_after_404")
def after_404(env):
    """A 404 is an error status: it ends the connection even when the
    client asked for keep-alive (the contract: respond, then close)."""
    with env.server() as srv, Conn(srv) as c:
        c.send(request("/nope") + request("/"))
        r = c.read_response()
        check_eq(r.status, 404, "status")
        check(c.closed_by_server(), "connection open after a 404")
