"""test_robustness.py: clients that misbehave do not hurt anyone else.

Plain HTTP or garbage on the TLS port, a client that stops in the middle of
the handshake or of a response, a slowloris client: each is dropped, counted
where the contract says, and the server goes on serving.  Afterwards the
connection counters add up:
    conns_accepted = active + completed + failed + timed_out.
"""

import os
import socket
import ssl
import struct
import select
import time

from harness import (Conn, case, check, check_eq, check_invariant,
                     client_hello, get, request, short, slow)


def served(srv):
    """The server still answers a well-behaved client."""
    r = get(srv, "/1k")
    check_eq((r.status, len(r.body)), (200, 1024), "well-behaved GET after")


def raw_socket(srv, timeout=5.0):
    s = socket.create_connection((srv.host, srv.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def drain_until_closed(s, timeout=5.0):
    """Read until the server closes; returns what it sent, or None when it
    kept the connection open past the timeout."""
    s.settimeout(timeout)
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return None
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk
    return None


def abort(s):
    """Close with a reset (SO_LINGER 0), as a crashing client would."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


@case("robust.plain_http_to_tls_port", "tls")
def plain_http(env):
    """Plain HTTP bytes on the TLS port: the server closes the connection
    (at most a TLS alert, never an HTTP response), counts a TLS error and a
    failed connection and no request, and still serves."""
    with env.server() as srv:
        s = raw_socket(srv)
        s.sendall(request("/"))
        got = drain_until_closed(s)
        s.close()
        check(got is not None, "connection still open 5s after plain HTTP")
        check(not got.startswith(b"HTTP/"), "an HTTP answer on the TLS port")
        st = srv.settled(conns_failed=1)
        check(st["tls_errors"] >= 1, f"tls_errors {st['tls_errors']}")
        check_eq(st["handshakes_failed"], 1, "handshakes_failed")
        check_eq(st["requests"], 0, "requests")
        served(srv)
        check_invariant(srv.settled())


@case("robust.garbage")
def garbage(env):
    """64 KiB of random bytes: the server closes the connection (with a 400
    at most on plaintext), counts it failed, and still serves."""
    with env.server() as srv:
        s = raw_socket(srv)
        try:
            s.sendall(os.urandom(65536))
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed before we finished: allowed
        got = drain_until_closed(s)
        s.close()
        check(got is not None, "connection still open 5s after garbage")
        if env.tls:
            check(not got.startswith(b"HTTP/"), "an HTTP answer to garbage")
        else:
            check(got == b"" or got.startswith(b"HTTP/1.1 400"),
                  f"plaintext garbage got {short(got)}")
        st = srv.settled()
        # plaintext garbage is a malformed request: a 400 may end it as a
        # completed exchange, so only TLS insists on conns_failed
        if env.tls:
            check_eq(st["conns_failed"], 1, "conns_failed")
            check(st["tls_errors"] >= 1, f"tls_errors {st['tls_errors']}")
        check_invariant(st)
        served(srv)


@case("robust.stop_mid_handshake", "tls")
def mid_handshake(env):
    """A client that sends a real ClientHello and closes (one cleanly, one
    with a reset): no crash, the connections leave the active count, and
    the server still serves."""
    with env.server() as srv:
        for rst in (False, True):
            s = raw_socket(srv)
            s.sendall(client_hello())
            time.sleep(0.1)  # let the server answer and wait for us
            if rst:
                abort(s)
            else:
                s.close()
        st = srv.settled()
        check_eq(st["conns_accepted"], 2, "conns_accepted")
        check_eq(st["requests"], 0, "requests")
        check_eq(st["handshakes_full"], 0, "handshakes_full")
        check_invariant(st)
        served(srv)


@case("robust.stop_mid_request")
def mid_request(env):
    """A client that sends half a request line and closes: dropped without
    a response, counted, still serving."""
    with env.server() as srv:
        with Conn(srv) as c:
            c.send(b"GET /20k HTT")
            time.sleep(0.1)
        st = srv.settled()
        check_eq(st["requests"], 0, "requests")
        check_invariant(st)
        served(srv)


@case("robust.stop_mid_response")
def mid_response(env):
    """A client that asks for /64m, reads 64 KiB and goes (cleanly, then
    with a reset): the server stops writing, frees the connection within a
    few seconds, and still serves."""
    with env.server() as srv:
        for rst in (False, True):
            c = Conn(srv)
            c.send(request("/64m"))
            got = 0
            while got < 65536:
                chunk = c.sock.recv(65536)
                check(chunk, f"server closed after {got} bytes of /64m")
                got += len(chunk)
            if rst:
                abort(c.raw if c.sock is c.raw else c.sock)
            else:
                c.close()
        st = srv.settled(timeout=10)
        check_eq(st["conns_accepted"], 2, "conns_accepted")
        check(st["bytes_sent"] < 2 * (64 << 20),
              "the server claims to have sent both 64 MiB bodies")
        check_invariant(st)
        served(srv)


@slow
@case("robust.slowloris")
def slowloris(env):
    """With --header-timeout 1, a client that sends one header byte every
    0.2 s is closed by the server 1-3 s after it connected (one deadline
    for handshake plus headers, not reset by each byte); meanwhile another
    client is served.  timeouts_header and conns_timed_out count it."""
    with env.server("--header-timeout", "1") as srv:
        c = Conn(srv)
        t0 = time.monotonic()
        c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        served(srv)  # served while the slow client holds its slot
        # One thread, non-blocking: an SSL object must not be read and
        # written at once, and a TLS 1.3 ticket makes the socket readable
        # with no application data behind it.
        c.sock.setblocking(False)
        got, took = b"", None
        while took is None and time.monotonic() - t0 < 6:
            try:
                c.sock.send(b"X")
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError,
                    BlockingIOError):
                pass
            except OSError:
                took = time.monotonic() - t0
                break
            select.select([c.sock], [], [], 0.2)
            while True:
                try:
                    chunk = c.sock.recv(4096)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                        BlockingIOError):
                    break
                except OSError:
                    chunk = b""
                if not chunk:
                    took = time.monotonic() - t0
                    break
                got += chunk
        c.close()
        check(took is not None, "slowloris connection still open after 6 s")
        check(got == b"" or got.startswith(b"HTTP/1.1 408"),
              f"slowloris got {short(got)}")
        check(0.5 <= took <= 3.5, f"slowloris closed after {took:.1f}s, "
                                   f"want 1-3 s")
        st = srv.settled(timeouts_header=1)
        check_eq(st["conns_timed_out"], 1, "conns_timed_out")
        check_eq(st["requests"] - st["status_408"], 1,
                 "requests other than 408")
        check_invariant(st)
        served(srv)


@slow
@case("robust.many_bad_clients")
def many_bad(env):
    """Forty misbehaving connections of every kind in a row, then the
    counters add up and nothing is left active."""
    hello = client_hello() if env.tls else b"GET / HTTP/1.1\r\n"
    with env.server() as srv:
        for i in range(40):
            s = raw_socket(srv)
            kind = i % 4
            try:
                if kind == 0:
                    s.sendall(hello)
                elif kind == 1:
                    s.sendall(os.urandom(1000))
                elif kind == 2:
                    s.sendall(b"\x16\x03\x01\xff\xff" + os.urandom(100))
            except OSError:
                pass
            if kind == 3 or i % 2:
                abort(s)
            else:
                s.close()
        st = srv.settled(timeout=10, conns_accepted=40)
        check_invariant(st)
        served(srv)
