"""test_interop.py: three independent client stacks get the exact body.

curl (OpenSSL), gnutls-cli (GnuTLS) and h2load --h1 (nghttp2 over OpenSSL)
each complete TLS 1.2 and TLS 1.3 handshakes with RSA and ECDSA
certificates and receive the same 20480 bytes the server's own client sees.
The server is held to the one version under test (--tls-min = --tls-max),
so the client cannot quietly negotiate another.
"""

import os
import re

from harness import (BODY_ALPHABET, Fail, case, check, check_eq, get, run,
                     short, tool)

VERSIONS = ("1.2", "1.3")
CERTS = ("rsa2048", "ecdsa-p256")


def versioned_server(env, version, cert):
    return env.server("--tls-min", version, "--tls-max", version, cert=cert)


def parse_http(data):
    """(status, headers, body) of one raw HTTP/1.1 response."""
    head, sep, body = data.partition(b"\r\n\r\n")
    check(sep, f"no HTTP response in client output: {short(data)}")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d{3})", lines[0])
    check(m, f"bad status line {short(lines[0])}")
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (ln.partition(":") for ln in lines[1:])}
    return int(m.group(1)), headers, body


def check_body(env, srv, body):
    check_eq(len(body), 20480, "body length")
    check(BODY_ALPHABET.match(body), "body is not all [A-Z0-9]")
    check(body == get(srv, "/").body, "body differs from the reference read")


def curl_interop(env, version, cert):
    """curl gets 200 and the exact body, over exactly the version asked."""
    tool("curl")
    with versioned_server(env, version, cert) as srv:
        out = os.path.join(srv.dir, "body")
        p = run([tool("curl"), "-sS", "--max-time", "10", "--cacert", env.ca,
                 f"--tlsv{version}", "--tls-max", version, "-o", out,
                 "-w", "%{http_code} %{ssl_verify_result}", srv.url("/")],
                timeout=15)
        check_eq(p.returncode, 0, f"curl exit ({short(p.stderr)})")
        check_eq(p.stdout.decode(), "200 0", "curl status and verify result")
        with open(out, "rb") as f:
            check_body(env, srv, f.read())


def gnutls_interop(env, version, cert):
    """gnutls-cli, trusting only the test CA, gets 200 and the exact body,
    and reports the version under test."""
    gnutls = tool("gnutls-cli")
    with versioned_server(env, version, cert) as srv:
        log = os.path.join(srv.dir, "gnutls.log")
        req = (b"GET / HTTP/1.1\r\nHost: localhost\r\n"
               b"Connection: close\r\n\r\n")
        p = run([gnutls, "--x509cafile", env.ca, "--logfile", log,
                 "--priority", f"NORMAL:-VERS-ALL:+VERS-TLS{version}",
                 "-p", str(srv.port), "localhost"], input=req, timeout=15)
        with open(log, "rb") as f:
            info = f.read().decode("latin-1")
        # the body decides, not the exit status: gnutls-cli also exits 1
        # for a close without close_notify (conn.close_notify checks that)
        check(f"(TLS{version}-" in info,
              f"gnutls-cli did not report TLS{version}: "
              f"{short(re.findall(r'Description: .*', info))}")
        if not p.stdout:
            raise Fail(f"gnutls-cli got nothing (exit {p.returncode}): "
                       f"{short(p.stderr or info[-300:], 300)}")
        status, headers, body = parse_http(p.stdout)
        check_eq(status, 200, "status")
        check_eq(headers.get("content-length"), "20480", "Content-Length")
        check_body(env, srv, body)


def h2load_interop(env, version=None, cert="rsa2048"):
    """h2load --h1 -n 20 -c 2: all 20 requests succeed with status 2xx and
    20 x 20480 body bytes; the server counts 20 responses."""
    h2load = tool("h2load")
    server = (versioned_server(env, version, cert) if version
              else env.server(cert=cert))
    with server as srv:
        p = run([h2load, "--h1", "-n", "20", "-c", "2", srv.url("/")],
                timeout=30)
        out = p.stdout.decode("latin-1")
        check_eq(p.returncode, 0, f"h2load exit ({short(out[-300:], 300)})")
        m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, "
                      r"(\d+) succeeded, (\d+) failed, (\d+) errored", out)
        check(m, f"no requests line in h2load output: {short(out, 300)}")
        check_eq(m.group(4), "20", f"h2load succeeded ({m.group(0)})")
        check(re.search(r"status codes: 20 2xx", out), "not 20 2xx statuses")
        m = re.search(r"\((\d+)\) data", out)
        check(m, "no data byte count in h2load output")
        check_eq(int(m.group(1)), 20 * 20480, "h2load body bytes")
        if version:
            check(f"TLS Protocol: TLSv{version}" in out,
                  f"h2load did not negotiate TLSv{version}")
        st = srv.settled(requests=20)
        check_eq(st["status_200"], 20, "status_200")


for _v in VERSIONS:
    for _c in CERTS:
        case(f"interop.curl_tls{_v}_{_c}", "tls", version=_v,
             cert=_c)(curl_interop)
        case(f"interop.gnutls_tls{_v}_{_c}", "tls", version=_v,
             cert=_c)(gnutls_interop)
        case(f"interop.h2load_tls{_v}_{_c}", "tls", version=_v,
             cert=_c)(h2load_interop)
case("interop.h2load_plain", "plain")(h2load_interop)


@case("interop.other_certs", "tls")
def other_certs(env):
    """The server also starts and serves with rsa4096, ecdsa-p384 and
    ed25519 leaves (ed25519 over TLS 1.3, where clients sign-verify it)."""
    for cert in ("rsa4096", "ecdsa-p384", "ed25519"):
        with env.server(cert=cert) as srv:
            r = get(srv, "/1k", version="1.3")
            check_eq((r.status, len(r.body)), (200, 1024), f"GET with {cert}")
