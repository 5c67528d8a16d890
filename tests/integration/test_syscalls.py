"""test_syscalls.py: the system calls the server makes for one connection.

The server counts the calls the core makes itself (sys_accept, sys_read,
sys_write, sys_close, sys_other) and its socket wakeups.  With --io core
the core makes every socket call of a connection, so one connection of a
known shape costs an exact number of them.  The client here is scripted
(Python's ssl on memory buffers): each of its flights leaves in one send,
so what the server finds in its socket at each wakeup is fixed, not timed.
"""

import socket
import ssl

from harness import (Fail, case, check, check_eq, check_invariant,
                     read_to_eof, request, tls_context)

IO_TIMEOUT = 10.0


def send_flight(sock, out):
    data = out.read()
    check(data, "the client had nothing to send")
    sock.sendall(data)


def pump(sock, inc, step, until=None):
    """Feed what the server sends to the TLS object until step() stops
    asking for more, or until() says the client has a flight to send."""
    while True:
        try:
            return step()
        except ssl.SSLWantReadError:
            if until is not None and until():
                return None
            data = sock.recv(65536)
            if not data:
                raise Fail("the server closed during the exchange")
            inc.write(data)


def one_connection(srv, version):
    """A full handshake and one GET / with Connection: close, every client
    flight in one send: TLS 1.3 sends its ClientHello, then its Finished
    together with the request; TLS 1.2 its ClientHello, then its key
    exchange and Finished, then the request.  Returns the body length."""
    sock = socket.create_connection((srv.host, srv.port), timeout=IO_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        req = request("/", headers=["Connection: close"])
        if not srv.env.tls:
            sock.sendall(req)
            return len(read_to_eof(sock).partition(b"\r\n\r\n")[2])
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = tls_context(srv.env, version).wrap_bio(
            inc, out, server_hostname="localhost")
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        send_flight(sock, out)                       # ClientHello
        if version == "1.2":
            # the server's first flight in, the client's key exchange and
            # Finished out
            pump(sock, inc, obj.do_handshake, until=lambda: out.pending)
            send_flight(sock, out)
        pump(sock, inc, obj.do_handshake)
        obj.write(req)
        send_flight(sock, out)  # 1.3: Finished and request; 1.2: request
        body = b""
        while True:
            try:
                data = pump(sock, inc, lambda: obj.read(65536))
            except ssl.SSLZeroReturnError:
                break
            if not data:  # the close_notify
                break
            body += data
        return len(body.partition(b"\r\n\r\n")[2])
    finally:
        sock.close()


def core_counts(env, version):
    """With --io core, one connection of one_connection's shape costs:
      accept4  2  the accept loop runs until EAGAIN: the connection, then
                  the empty queue
      recv     1 per client flight: each arrives whole, one short read
                  drains it, and the machine then waits for the next edge
                  (TLS 1.3: 2, TLS 1.2: 3, plaintext: 1)
      send     1 per server flight: TLS 1.3 ServerHello..Finished, then
                  ticket, response and close_notify together (2); TLS 1.2
                  ServerHello..ServerHelloDone, then ticket, ChangeCipher-
                  Spec and Finished, then response and close_notify (3);
                  plaintext: the response (1)
      close    1
      other    0  no setsockopt (TCP_NODELAY comes from the listener), no
                  shutdown (the close_notify, or the FIN, ends it)
      wakeups  1 for the accept plus one per client flight
    """
    flights = 1 if not env.tls else 2 if version == "1.3" else 3
    args = ["--io", "core"] + (["--tls-min", version, "--tls-max", version]
                               if env.tls else [])
    with env.server(*args) as srv:
        check_eq(one_connection(srv, version), 20480, "body length")
        st = srv.settled(requests=1)
        got = {k: st[k] for k in ("sys_accept", "sys_read", "sys_write",
                                  "sys_close", "sys_other", "wakeups")}
        check_eq(got, {"sys_accept": 2, "sys_read": flights,
                       "sys_write": flights, "sys_close": 1,
                       "sys_other": 0, "wakeups": 1 + flights},
                 f"system calls for one TLS {version} connection")
        check_eq(st["conns_completed"], 1, "conns_completed")
        check_invariant(st)


case("syscalls.core_tls13_connection", "tls", version="1.3")(core_counts)
case("syscalls.core_tls12_connection", "tls", version="1.2")(core_counts)
case("syscalls.core_plain_connection", "plain", version="-")(core_counts)


@case("syscalls.native_core_calls")
def native_counts(env):
    """With --io native the library reads and writes the socket; the core
    itself makes only the accept loop's two accept4 calls and the close
    (no setsockopt per connection: TCP_NODELAY comes from the listener)."""
    args = ["--io", "native"] + (["--tls-min", "1.3"] if env.tls else [])
    with env.server(*args) as srv:
        check_eq(one_connection(srv, "1.3"), 20480, "body length")
        st = srv.settled(requests=1)
        got = {k: st[k] for k in ("sys_accept", "sys_read", "sys_write",
                                  "sys_close", "sys_other")}
        check_eq(got, {"sys_accept": 2, "sys_read": 0, "sys_write": 0,
                       "sys_close": 1, "sys_other": 0},
                 "the core's own system calls")
