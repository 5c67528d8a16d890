"""test_tls.py: the TLS settings on the command line are the ones served.

Protocol bounds, the TLS 1.2 cipher list, the TLS 1.3 suites and the groups
are honoured exactly; a setting the library cannot honour stops the server
at start-up with one line and exit 2, never a silent fallback (a benchmark
must compare what it says it compares).
"""

import re
import socket
import ssl

from harness import (Conn, Fail, case, check, check_eq, read_to_eof, run,
                     short, start_or_skip, tool)


def negotiated(srv, version=None):
    with Conn(srv, version) as c:
        return c.sock.version(), c.sock.cipher()[0]


@case("tls.default_versions", "tls")
def default_versions(env):
    """By default both TLS 1.2 and TLS 1.3 are served, 1.3 preferred."""
    with env.server() as srv:
        check_eq(negotiated(srv)[0], "TLSv1.3", "default negotiation")
        check_eq(negotiated(srv, "1.2")[0], "TLSv1.2", "a TLS 1.2-only client")


@case("tls.min_1.3_refuses_1.2", "tls")
def min13(env):
    """--tls-min 1.3: a TLS 1.2-only client fails the handshake, which the
    server counts as a failed handshake and a failed connection."""
    with env.server("--tls-min", "1.3") as srv:
        try:
            Conn(srv, "1.2").close()
        except ssl.SSLError:
            pass
        else:
            raise Fail("a TLS 1.2 client completed a handshake")
        st = srv.settled(handshakes_failed=1)
        check_eq(st["conns_failed"], 1, "conns_failed")
        check_eq(negotiated(srv)[0], "TLSv1.3", "a default client")


@case("tls.max_1.2", "tls")
def max12(env):
    """--tls-max 1.2: a client offering 1.3 gets 1.2."""
    with env.server("--tls-max", "1.2") as srv:
        check_eq(negotiated(srv)[0], "TLSv1.2", "negotiated version")


@case("tls.ciphersuites_1.3", "tls")
def ciphersuites(env):
    """--ciphersuites TLS_AES_256_GCM_SHA384 is what a default client gets
    (a library that cannot restrict the suites must refuse: SKIP)."""
    srv = env.server("--ciphersuites", "TLS_AES_256_GCM_SHA384")
    start_or_skip(srv, "--ciphersuites TLS_AES_256_GCM_SHA384")
    with srv:
        check_eq(negotiated(srv, "1.3"), ("TLSv1.3", "TLS_AES_256_GCM_SHA384"),
                 "negotiated")


@case("tls.ciphers_1.2", "tls")
def ciphers12(env):
    """--ciphers ECDHE-ECDSA-AES128-GCM-SHA256 with an ECDSA certificate is
    what a default TLS 1.2 client gets."""
    with env.server("--tls-max", "1.2", "--ciphers",
                    "ECDHE-ECDSA-AES128-GCM-SHA256", cert="ecdsa-p256") as srv:
        check_eq(negotiated(srv, "1.2"),
                 ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"), "negotiated")


def server_temp_key(srv, version):
    """The key exchange group as openssl s_client reports it."""
    p = run([tool("openssl"), "s_client", "-connect", f"127.0.0.1:{srv.port}",
             "-servername", "localhost", "-CAfile", srv.env.ca,
             f"-tls1_{version[-1]}", "-brief"], input=b"", timeout=10)
    out = (p.stdout + p.stderr).decode("latin-1")
    m = re.search(r"(?:Server Temp Key|Peer Temp Key): ([^\n]*)", out)
    check(m, f"s_client printed no temp key: {short(out[-300:], 300)}")
    return m.group(1)


@case("tls.groups", "tls")
def groups(env):
    """--groups P-256 makes a client that prefers X25519 use P-256 (TLS 1.3
    via HelloRetryRequest, TLS 1.2 via the ECDHE curve)."""
    with env.server("--groups", "P-256") as srv:
        for v in ("1.3", "1.2"):
            key = server_temp_key(srv, v)
            check("prime256v1" in key or "P-256" in key,
                  f"TLS {v} key exchange: {key}")
    with env.server("--groups", "X25519") as srv:
        key = server_temp_key(srv, "1.3")
        check("X25519" in key, f"TLS 1.3 key exchange: {key}")


def refuses(env, *args):
    cert, key = env.cert("rsa2048")
    p = run([env.server_bin, "--cert", cert, "--key", key, "--listen",
             "127.0.0.1:0", *args], timeout=10)
    err = p.stderr.decode(errors="replace").strip()
    check_eq(p.returncode, 2, f"exit status for {' '.join(args)} "
                              f"(stderr {short(err)})")
    check_eq(len(err.splitlines()), 1, f"stderr lines ({short(err)})")


@case("tls.unknown_settings_refused", "tls")
def unknown(env):
    """An unknown group, TLS 1.3 suite or TLS 1.2 cipher: exit 2, one line."""
    refuses(env, "--groups", "NO-SUCH-GROUP")
    refuses(env, "--ciphersuites", "TLS_NO_SUCH_SUITE")
    refuses(env, "--ciphers", "NO-SUCH-CIPHER")


@case("tls.sni_any_name", "tls")
def sni(env):
    """A client connecting by IP address (no SNI) is served with the same
    certificate (its SAN has 127.0.0.1)."""
    with env.server() as srv:
        ctx = ssl.create_default_context(cafile=env.ca)
        with socket.create_connection((srv.host, srv.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /1k HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Connection: close\r\n\r\n")
                data = read_to_eof(s)
        check(data.startswith(b"HTTP/1.1 200"), f"got {short(data)}")
