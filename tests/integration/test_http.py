"""test_http.py: what the server answers, byte for byte.

The body is the product under test: 20480 bytes of [A-Z0-9] for / and /20k,
other sizes from the same fixed stream, the same bytes for the same --seed.
Every status the server sends is provoked and counted; the requirements of
RFC 9110 and RFC 9112 each case holds the server to are named by section
("9112 3.2") in its name or docstring, and core/HTTP.md maps them all.
"""

import email.utils
import os
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


# -- statuses that keep the connection --------------------------------------
#
# A request read to its end (body included) whose response is framed leaves
# the connection in step: the server answers and reads the next request, as
# nginx does.  Each raw request is followed on the same connection by a GET
# that must be answered.

def chunked(*chunks, trailers=b""):
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c)
    return body + b"0\r\n" + trailers + b"\r\n"


IN_STEP = {
    # 9110 15.5.5
    "404_path": (request("/nope"), 404),
    # 9110 9.1, 15.5.6: a known method not allowed here, with Allow
    "405_method": (request("/", "DELETE"), 405),
    # 9112 6: framing is independent of the method: the body is read
    "405_length_body": (request("/", "POST", headers=["Content-Length: 5"]) +
                        b"hello", 405),
    "405_chunked_body": (request("/", "PUT", headers=[
        "Transfer-Encoding: chunked"]) + chunked(b"hello"), 405),
    # 9112 3.2.4: asterisk-form for OPTIONS
    "405_options_asterisk": (request("*", "OPTIONS"), 405),
    # 9110 9.1: a method this server does not implement
    "501_method": (request("/", "BREW"), 501),
    # 9110 10.1.1: an expectation this server cannot meet
    "417_expectation": (request("/", headers=["Expect: teapot"]), 417),
    # 9110 13.1.1: If-Match names a tag that cannot match
    "412_if_match": (request("/", headers=['If-Match: "x"']), 412),
    # 9110 13.1.2: If-None-Match: * on a resource that exists
    "304_if_none_match": (request("/1k", headers=["If-None-Match: *"]), 304),
}


def in_step_status(env, raw, status):
    """The request gets exactly this status, with Date (9110 6.6.1), and
    the connection stays open: a GET after it on the same connection gets
    its 200 (9112 9.3).  The exchange counts as a completed connection,
    not a failed one; status_<N> counts it once."""
    with env.server() as srv:
        with Conn(srv) as c:
            c.send(raw + request("/1k"))
            r = c.read_response()
            check_eq(r.status, status, f"status for {short(raw, 60)}")
            check(r.header("date"), f"{status} without Date")
            check(r.header("connection") is None,
                  f"{status} says Connection: {r.header('connection')}")
            if status == 405:
                check_eq(r.header("allow"), "GET, HEAD", "Allow of a 405")
            if status == 304:
                check(r.header("content-length") is None,
                      "304 with a Content-Length")
            r2 = c.read_response()
            check_eq((r2.status, len(r2.body)), (200, 1024),
                     f"GET after the {status} on the same connection")
        st = srv.settled(**{f"status_{status}": 1, "status_200": 1})
        check_eq(st["requests"], 2, "requests")
        check_eq((st["conns_completed"], st["conns_failed"]), (1, 0),
                 "completed and failed connections")
        check_invariant(st)


for _name, (_raw, _st) in IN_STEP.items():
    case(f"status.{_name}", raw=_raw, status=_st)(in_step_status)


@case("status.421_https_target", "plain")
def misdirected(env):
    """9110 7.4: an https target on a plaintext connection is refused with
    421, in step; an http target is served."""
    with env.server() as srv:
        with Conn(srv) as c:
            c.send(request("https://localhost/1k") +
                   request("http://localhost/1k"))
            check_eq(c.read_response().status, 421,
                     "https target over http")
            r = c.read_response()
            check_eq((r.status, len(r.body)), (200, 1024), "http target")
        st = srv.settled(status_421=1, status_200=1)
        check_invariant(st)


@case("status.in_step_then_close")
def in_step_close(env):
    """A 404 to a request that asks to close (9112 9.6), or to HTTP/1.0
    without keep-alive (9112 9.3): the response says Connection: close,
    the server closes, and counts a completed connection."""
    with env.server() as srv:
        for raw in (request("/nope", headers=["Connection: close"]),
                    request("/nope", version="HTTP/1.0")):
            with Conn(srv) as c:
                c.send(raw)
                r = c.read_response()
                check_eq(r.status, 404, "status")
                check_eq(r.header("connection"), "close", "Connection")
                check(c.closed_by_server(), "connection open after the 404")
        st = srv.settled(status_404=2)
        check_eq((st["conns_completed"], st["conns_failed"]), (2, 0),
                 "completed and failed connections")
        check_invariant(st)


@case("status.http10_keepalive_404")
def http10_keepalive_404(env):
    """HTTP/1.0 with keep-alive: a 404 says Connection: keep-alive and the
    next request is answered on the same connection."""
    with env.server() as srv, Conn(srv) as c:
        ka = ["Connection: keep-alive"]
        c.send(request("/nope", version="HTTP/1.0", headers=ka))
        r = c.read_response()
        check_eq((r.status, r.header("connection")), (404, "keep-alive"),
                 "status and Connection")
        c.send(request("/1k", version="HTTP/1.0", headers=ka))
        check_eq(c.read_response().status, 200, "next request")


@case("status.head_error_has_no_content")
def head_error(env):
    """9110 9.3.2: no content in a response to HEAD, whatever its status;
    8.6: its Content-Length is the GET's.  A body sent by mistake would
    show up as garbage before the next response."""
    with env.server() as srv, Conn(srv) as c:
        get_404 = get(srv, "/nope")
        c.send(request("/nope", "HEAD") + request("/1k"))
        r = c.read_response(head=True)
        check_eq(r.status, 404, "HEAD status")
        check_eq(r.header("content-length"), str(len(get_404.body)),
                 "HEAD Content-Length against the GET's body")
        r = c.read_response()
        check_eq((r.status, len(r.body)), (200, 1024), "GET after HEAD 404")
    with env.server() as srv, Conn(srv) as c:
        c.send(b"HEAD / HTTP/1.1\r\n\r\n")  # no Host: 400, then close
        r = c.read_response(head=True)
        check_eq(r.status, 400, "HEAD without Host")
        check(c.closed_by_server(), "open after the 400 (or a body sent)")


# -- statuses that close the connection ---------------------------------------
#
# Malformed framing, syntax the server cannot follow, or a limit: the stream
# is lost, so the response says Connection: close, the server closes (with
# close_notify, half-close and a drain) and counts a failed connection.

LOSES_STREAM = {
    "400_request_line": (b"GET\r\n\r\n", 400),
    # 9112 5.1
    "400_space_before_colon": (
        b"GET / HTTP/1.1\r\nHost localhost\r\n\r\n", 400),
    # 9112 3.2
    "400_no_host": (b"GET / HTTP/1.1\r\n\r\n", 400),
    "400_two_hosts": (request("/", headers=["Host: other"]), 400),
    "400_invalid_host": (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    # 9112 2.2
    "400_bare_cr": (request("/", headers=["X: a\rb"]), 400),
    "400_space_before_first_field": (
        b"GET / HTTP/1.1\r\n Host: a\r\nHost: a\r\n\r\n", 400),
    # 9112 5.2
    "400_obs_fold": (request("/", headers=["X: a", " b"]), 400),
    # 9110 5.5
    "400_nul_in_value": (request("/", headers=["X: a\0b"]), 400),
    # 9112 3.2.2, 9110 4.2.4
    "400_userinfo_target": (request("http://u@localhost/"), 400),
    # 9112 3.2.4
    "400_asterisk_get": (request("*"), 400),
    # 9112 6.3
    "400_conflicting_length": (
        request("/", headers=["Content-Length: 5", "Content-Length: 6"]), 400),
    "400_te_not_chunked": (request("/", headers=["Transfer-Encoding: gzip"]),
                           400),
    # 9112 6.1
    "400_te_and_length": (request("/", headers=[
        "Transfer-Encoding: chunked", "Content-Length: 5"]) + b"0\r\n\r\n",
        400),
    "400_te_http10": (request("/", version="HTTP/1.0", headers=[
        "Transfer-Encoding: chunked"]) + b"0\r\n\r\n", 400),
    # 9112 7.1
    "400_bad_chunk": (request("/", headers=["Transfer-Encoding: chunked"]) +
                      b"5\r\nhello\n0\r\n\r\n", 400),
    # 9112 6.1
    "501_te_coding": (request("/", headers=[
        "Transfer-Encoding: gzip, chunked"]) + chunked(b"x"), 501),
    "413_length": (request("/", headers=["Content-Length: 2000000"]), 413),
    "413_chunk_size": (request("/", headers=["Transfer-Encoding: chunked"]) +
                       b"200000\r\n", 413),
    # 9112 3
    "414_target": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
    "431_header_block": (request("/", headers=["X-Big: " + "a" * 9000]), 431),
    # 9112 2.3
    "505_version": (request("/", version="HTTP/2.0"), 505),
}


def error_status(env, raw, status):
    """The request gets exactly this status, with Date and Connection:
    close, then the server closes the connection; status_<N> counts it
    once, nothing else counts a 200, and the connection counts failed."""
    with env.server() as srv:
        with Conn(srv) as c:
            c.send(raw)
            r = c.read_response()
            check_eq(r.status, status, f"status for {short(raw, 60)}")
            check(r.header("date"), f"{status} without Date")
            check_eq(r.header("connection"), "close", "Connection")
            check(c.closed_by_server(), f"connection open after {status}")
        st = srv.settled(**{f"status_{status}": 1})
        check_eq(st["status_200"], 0, "status_200")
        check_eq(st["requests"], 1, "requests")
        check_eq(st["conns_failed"], 1, "conns_failed")
        check_invariant(st)
        # the server still serves
        check_eq(get(srv, "/1k").status, 200, "GET after the error")


for _name, (_raw, _st) in LOSES_STREAM.items():
    case(f"status.{_name}", raw=_raw, status=_st)(error_status)


@case("status.close_stops_processing")
def close_stops(env):
    """9112 9.6: after a request with Connection: close the server answers
    it and processes nothing more from the connection."""
    with env.server() as srv:
        with Conn(srv) as c:
            c.send(request("/1k", headers=["Connection: close"]) +
                   request("/2k"))
            r = c.read_response()
            check_eq((r.status, len(r.body)), (200, 1024), "first response")
            check(c.closed_by_server(), "connection open after close")
        st = srv.settled(conns_completed=1)
        check_eq(st["requests"], 1, "requests")


# -- request bodies -----------------------------------------------------------

@case("body.chunked_request")
def chunked_request(env):
    """9112 7.1: a chunked request body, with extensions (7.1.1) and
    trailer fields (7.1.2), sent in small pieces, is read to its end and
    dropped; the request is served and the next one on the connection
    too."""
    body = (b"5;name=value;q=\"a b\"\r\nhello\r\n"
            b"A\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n")
    with env.server() as srv, Conn(srv) as c:
        c.send(request("/1k", headers=["Transfer-Encoding: chunked"]))
        for i in range(0, len(body), 7):
            c.send(body[i:i + 7])
            time.sleep(0.01)
        c.send(request("/2k"))
        r1, r2 = c.read_response(), c.read_response()
        check_eq((r1.status, len(r1.body), r2.status, len(r2.body)),
                 (200, 1024, 200, 2048), "two responses")


@case("body.chunked_curl")
def chunked_curl(env):
    """curl uploads a 300 KiB body chunked (a real client's chunking); the
    server reads it and answers 200 with the 20 KiB body."""
    with env.server() as srv:
        path = os.path.join(srv.dir, "upload")
        with open(path, "wb") as f:
            f.write(b"x" * (300 << 10))
        p = curl(srv, "-X", "GET", "-H", "Transfer-Encoding: chunked",
                 "--data-binary", "@" + path, "-o", "/dev/null",
                 "-w", "%{http_code} %{size_download} %{size_upload}")
        check_eq(p.returncode, 0, f"curl exit ({short(p.stderr)})")
        code, down, up = p.stdout.decode().split()
        check_eq((code, down), ("200", "20480"), "curl status and size")
        check(int(up) > 300 << 10, f"curl uploaded only {up} bytes")


@case("body.chunked_over_limit")
def chunked_limit(env):
    """A chunked body over 1 MiB, however it is cut, is a 413 (as a
    Content-Length over 1 MiB is), then close."""
    with env.server() as srv, Conn(srv) as c:
        c.send(request("/", headers=["Transfer-Encoding: chunked"]))
        piece = chunked(b"y" * 65536)[:-5]  # one chunk, no last-chunk
        try:
            for _ in range(17):
                c.send(piece)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the server answered and closed first: allowed
        r = c.read_response()
        check_eq(r.status, 413, "status")
        check(c.closed_by_server(), "connection open after the 413")


# -- Expect: 100-continue ------------------------------------------------------

@case("expect.100_continue")
def expect_continue(env):
    """9110 10.1.1: an HTTP/1.1 request with a body and Expect:
    100-continue gets 100 Continue before the body is sent; then the body,
    then the 200, on a connection that stays open."""
    with env.server() as srv:
        with Conn(srv) as c:
            c.send(request("/1k", headers=["Expect: 100-continue",
                                           "Content-Length: 5"]))
            r = c.read_response()
            check_eq(r.status, 100, "interim status before the body")
            check_eq(r.head, b"HTTP/1.1 100 Continue", "100 Continue text")
            c.send(b"hello" + request("/2k"))
            r1, r2 = c.read_response(), c.read_response()
            check_eq((r1.status, len(r1.body), r2.status, len(r2.body)),
                     (200, 1024, 200, 2048), "responses after the body")
        st = srv.settled(requests=2)
        check_eq(st["status_200"], 2, "status_200 (a 100 is not counted)")


@case("expect.final_status_at_once")
def expect_final(env):
    """9110 10.1.1: when the final status is known from the header block
    (here 404) it is sent at once instead of 100 Continue, without waiting
    for the body; since the client may then never send it, the response
    says Connection: close and the server closes."""
    with env.server() as srv:
        with Conn(srv) as c:
            c.send(request("/nope", headers=["Expect: 100-continue",
                                             "Content-Length: 5"]))
            r = c.read_response()
            check_eq((r.status, r.header("connection")), (404, "close"),
                     "status and Connection")
            check(c.closed_by_server(), "connection open after the 404")
        st = srv.settled(status_404=1)
        check_eq(st["conns_failed"], 0, "conns_failed")
        check_invariant(st)


@case("expect.http10_ignored")
def expect_http10(env):
    """9110 10.1.1, 15.2: an HTTP/1.0 request's 100-continue is ignored
    and no 1xx goes to an HTTP/1.0 client: the server waits for the body,
    then answers 200."""
    with env.server() as srv, Conn(srv) as c:
        c.send(request("/1k", version="HTTP/1.0", headers=[
            "Expect: 100-continue", "Content-Length: 5"]))
        check(c.quiet_for(1.0), f"server answered before the body: "
                                f"{short(c.buf)}")
        c.send(b"hello")
        r = c.read_response()
        check_eq((r.status, len(r.body)), (200, 1024), "response")


@case("expect.body_sent_anyway")
def expect_body_anyway(env):
    """9110 10.1.1: a client may send the body without waiting; the server
    then need not send 100 Continue, and answers once."""
    with env.server() as srv, Conn(srv) as c:
        c.send(request("/1k", headers=["Expect: 100-continue",
                                       "Content-Length: 5"]) + b"hello")
        r = c.read_response()
        check_eq((r.status, len(r.body)), (200, 1024), "response")


# -- Date ------------------------------------------------------------------------

def date_of(r):
    """The Date of a response as a Unix time; fails unless IMF-fixdate."""
    d = r.header("date")
    check(d, f"{r.status} without Date")
    t = email.utils.parsedate_to_datetime(d)
    check_eq(email.utils.format_datetime(t, usegmt=True), d,
             "Date in IMF-fixdate form (9110 5.6.7)")
    return t.timestamp()


@case("date.every_response")
def date_every(env):
    """9110 6.6.1: Date in 2xx and 4xx (and 5xx) responses, in IMF-fixdate,
    within a few seconds of the clock."""
    with env.server() as srv, Conn(srv) as c:
        c.send(request("/") + request("/1k") + request("/", "HEAD") +
               request("/nope") + request("/", "BREW"))
        for head in (False, False, True, False, False):
            r = c.read_response(head=head)
            check(abs(date_of(r) - time.time()) < 5,
                  f"Date {r.header('date')} is not now")


@case("date.follows_the_clock")
def date_clock(env):
    """The prebuilt 20 KiB response is one buffer whose Date is rewritten
    when the second changes: two requests 1.5 s apart on one connection
    carry different Dates, the later one later."""
    with env.server() as srv, Conn(srv) as c:
        c.send(request("/"))
        t1 = date_of(c.read_response())
        time.sleep(1.5)
        c.send(request("/"))
        r = c.read_response()
        t2 = date_of(r)
        check(t2 > t1, f"Date did not move: {r.header('date')}")
        check_eq(len(r.body), 20480, "body length")
