"""test_resumption.py: session resumption as openssl s_client sees it.

s_client saves the session of a first connection (-sess_out) and offers it
on a second (-sess_in).  With --resumption tickets, cache or both the second
handshake resumes; with none it is a full one.  The server's own counters
must tell the same story as the client, down to how it resumed: from a
ticket its keys opened or from its session cache, and in TLS 1.3 with or
without a key exchange (--psk-mode).
"""

import json
import os

from harness import (Conn, Fail, Skip, StartError, case, check, check_eq,
                     check_invariant, request, run, short, start_or_skip,
                     tls_context, tool)

# Sent on stdin: with -ign_eof s_client keeps reading until the server
# closes after this response, so a TLS 1.3 ticket (sent after the
# handshake) reaches s_client before it writes -sess_out.
REQUEST = b"GET /1k HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def s_client_out(srv, version, sess_out, sess_in=None, no_ticket=False,
                 extra=()):
    """One s_client connection and request; its stdout."""
    cmd = [tool("openssl"), "s_client", "-connect", f"127.0.0.1:{srv.port}",
           "-servername", "localhost", "-CAfile", srv.env.ca,
           "-verify_return_error", "-ign_eof", f"-tls1_{version[-1]}",
           "-sess_out", sess_out, *extra]
    if sess_in:
        cmd += ["-sess_in", sess_in]
    if no_ticket:
        cmd.append("-no_ticket")
    p = run(cmd, input=REQUEST, timeout=15)
    out = p.stdout.decode("latin-1")
    # the exit status is not checked: s_client also fails on things that
    # are not resumption (conn.close_notify covers how the server closes)
    err = p.stderr.decode("latin-1").strip()
    check("HTTP/1.1 200" in out, f"s_client got no 200 (exit {p.returncode}"
                                 f"): {short(err[-300:], 300)}")
    check("Reused, " in out or "New, " in out,
          "s_client printed neither 'New,' nor 'Reused,'")
    return out


def s_client(srv, version, sess_out, sess_in=None, no_ticket=False):
    """True when the connection resumed, as s_client saw it."""
    return "Reused, " in s_client_out(srv, version, sess_out, sess_in,
                                      no_ticket)


def check_resumed_by(st, by, version):
    """One resumed handshake, counted under by ("ticket": a ticket the
    server's keys opened; "id": the session cache) and, in TLS 1.3, under
    psk_dhe_ke (the default --psk-mode)."""
    check_eq((st["resumed_ticket"], st["resumed_id"]),
             (1, 0) if by == "ticket" else (0, 1),
             f"server counters (resumed_ticket, resumed_id), want {by}")
    check_eq((st["resumed_psk_ke"], st["resumed_psk_dhe_ke"]),
             (0, 1) if version == "1.3" else (0, 0),
             "server counters (resumed_psk_ke, resumed_psk_dhe_ke)")


def resumption(env, mode, version, no_ticket=False, want=None):
    """A second s_client connection offering the first one's session
    resumes when the server keeps sessions (tickets, cache, both) and does
    not with none; handshakes_full / handshakes_resumed agree.  A backend
    other than OpenSSL (the reference) may refuse a mode its library cannot
    honour at start-up: that is a SKIP with its message, never a silent
    full handshake."""
    v = version
    srv = env.server("--resumption", mode, "--tls-min", v, "--tls-max", v)
    start_or_skip(srv, f"--resumption {mode} with TLS {v}")
    with srv:
        sess = os.path.join(srv.dir, "session.pem")
        first = s_client(srv, v, sess, no_ticket=no_ticket)
        check(not first, "the first connection claims to be resumed")
        if want is None:
            want = mode != "none"
        if not os.path.exists(sess):
            # nothing resumable offered (no ticket, no session ID): fine
            # only when no resumption is expected
            check(not want, "s_client saved no session")
            second = s_client(srv, v, sess, no_ticket=no_ticket)
        else:
            second = s_client(srv, v, sess + ".2", sess_in=sess,
                              no_ticket=no_ticket)
        client = ", client -no_ticket" if no_ticket else ""
        check_eq(second, want, f"second connection resumed (--resumption "
                               f"{mode}, TLS {v}{client})")
        st = srv.settled(requests=2)
        check_eq((st["handshakes_full"], st["handshakes_resumed"]),
                 (1, 1) if want else (2, 0),
                 "server counters (handshakes_full, handshakes_resumed)")
        if want:
            check_resumed_by(st, "id" if mode == "cache" or no_ticket
                             else "ticket", v)
        check_invariant(st)


for _v in ("1.2", "1.3"):
    for _m in ("tickets", "cache", "both", "none"):
        case(f"resume.{_m}_tls{_v}", "tls", mode=_m, version=_v)(resumption)


# TLS 1.2 tells the two mechanisms apart: a client that refuses tickets can
# resume only from the server's session cache.
case("resume.cache_by_session_id_tls1.2", "tls", mode="cache", version="1.2",
     no_ticket=True, want=True)(resumption)
case("resume.tickets_keep_no_cache_tls1.2", "tls", mode="tickets",
     version="1.2", no_ticket=True, want=False)(resumption)


@case("resume.default_is_both", "tls")
def default_mode(env):
    """Without --resumption the server resumes (the default is both)."""
    with env.server() as srv:
        sess = os.path.join(srv.dir, "session.pem")
        s_client(srv, "1.3", sess)
        if not os.path.exists(sess):
            raise Fail("s_client saved no session")
        check(s_client(srv, "1.3", sess + ".2", sess_in=sess),
              "second connection not resumed with the default")


def temp_key(out):
    """Whether s_client saw an ephemeral key from the server: a TLS 1.3
    psk_ke resumption sends none."""
    return "Server Temp Key:" in out


def psk_server(env, mode):
    """A TLS 1.3 server with --psk-mode mode, or SKIP where the library
    refuses it (BoringSSL has no psk_ke; OpenSSL before 3.3 cannot prefer
    it over the psk_dhe_ke every OpenSSL client also offers): the refusal
    must name --psk-mode."""
    srv = env.server("--psk-mode", mode, "--tls-min", "1.3")
    try:
        return srv.start()
    except StartError as e:
        srv.kill()
        check("--psk-mode" in e.stderr, f"refusal does not name --psk-mode: "
                                        f"{short(e.stderr, 240)}")
        raise Skip(f"{env.backend} refuses --psk-mode {mode}: "
                   f"{short(e.stderr.strip(), 240)}")


@case("resume.psk_ke", "tls")
def psk_ke(env):
    """--psk-mode ke and a client that offers psk_ke (s_client
    -allow_no_dhe_kex): the second connection resumes without a key
    exchange, seen at both ends: s_client shows no server key, the server
    counts resumed_psk_ke and names no group for it."""
    with psk_server(env, "ke") as srv:
        sess = os.path.join(srv.dir, "session.pem")
        extra = ("-allow_no_dhe_kex",)
        first = s_client_out(srv, "1.3", sess, extra=extra)
        check(temp_key(first), "the full handshake shows no server key")
        second = s_client_out(srv, "1.3", sess + ".2", sess_in=sess,
                              extra=extra)
        check("Reused, " in second, "second connection not resumed")
        check(not temp_key(second),
              "psk_ke resumption: s_client saw a server key share")
        st = srv.settled(requests=2)
        check_eq((st["resumed_psk_ke"], st["resumed_psk_dhe_ke"]), (1, 0),
                 "server counters (resumed_psk_ke, resumed_psk_dhe_ke)")
        resumed = [n for n in st["negotiated"] if n["resumed"]]
        check_eq([n["group"] for n in resumed], ["-"],
                 "group of the resumed handshake")
        check_invariant(st)


@case("resume.psk_dhe_default", "tls")
def psk_dhe_default(env):
    """Without --psk-mode ke the server resumes with psk_dhe_ke even when
    the client offers psk_ke too: a fresh key share at both ends."""
    srv = env.server("--tls-min", "1.3")
    with srv:
        sess = os.path.join(srv.dir, "session.pem")
        extra = ("-allow_no_dhe_kex",)
        s_client_out(srv, "1.3", sess, extra=extra)
        second = s_client_out(srv, "1.3", sess + ".2", sess_in=sess,
                              extra=extra)
        check("Reused, " in second, "second connection not resumed")
        check(temp_key(second), "psk_dhe_ke resumption: no server key")
        st = srv.settled(requests=2)
        check_eq((st["resumed_psk_ke"], st["resumed_psk_dhe_ke"]), (0, 1),
                 "server counters (resumed_psk_ke, resumed_psk_dhe_ke)")


@case("resume.psk_ke_client_without_ke", "tls")
def psk_ke_client_without_ke(env):
    """--psk-mode ke and a client that offers psk_dhe_ke alone: the library
    resumes it with a key exchange, or (as tls_settings then says) fails
    that handshake; never anything tls_settings does not state."""
    with psk_server(env, "ke") as srv:
        sess = os.path.join(srv.dir, "session.pem")
        s_client_out(srv, "1.3", sess)
        st = srv.stats()
        fails = "fails its handshake" in st["tls_settings"]["psk_mode"]
        if fails:
            p = run([tool("openssl"), "s_client", "-connect",
                     f"127.0.0.1:{srv.port}", "-CAfile", srv.env.ca,
                     "-tls1_3", "-sess_in", sess], input=REQUEST, timeout=15)
            check("Reused, " not in p.stdout.decode("latin-1"),
                  "resumed, though tls_settings says it fails")
            st = srv.settled(handshakes_failed=1)
        else:
            second = s_client_out(srv, "1.3", sess + ".2", sess_in=sess)
            check("Reused, " in second, "second connection not resumed")
            check(temp_key(second), "psk_dhe_ke resumption: no server key")
            st = srv.settled(requests=2)
            check_eq((st["resumed_psk_ke"], st["resumed_psk_dhe_ke"]),
                     (0, 1), "server counters (resumed_psk_ke, "
                             "resumed_psk_dhe_ke)")
        check_invariant(st)


def client_closes_first(env, mode, version):
    """A keep-alive client that reads its response and closes first (no
    close_notify from the server in reply): the session it got still
    resumes, from the cache as much as from a ticket."""
    v = version
    srv = env.server("--resumption", mode, "--tls-min", v, "--tls-max", v)
    start_or_skip(srv, f"--resumption {mode} with TLS {v}")
    with srv:
        ctx = tls_context(env, v)
        session = None
        for i in range(2):
            with Conn(srv, ctx=ctx, session=session) as c:
                c.send(request("/1k"))
                check_eq(c.read_response().status, 200, "status")
                if i == 1:
                    check(c.sock.session_reused,
                          f"second connection not resumed (--resumption "
                          f"{mode}, TLS {v})")
                # TLS 1.3: the ticket came after the handshake, read with
                # the response
                session = c.sock.session
        st = srv.settled(requests=2)
        check_eq((st["handshakes_full"], st["handshakes_resumed"]), (1, 1),
                 "server counters (handshakes_full, handshakes_resumed)")
        check_invariant(st)


for _v in ("1.2", "1.3"):
    for _m in ("cache", "tickets"):
        case(f"resume.client_closes_first_{_m}_tls{_v}", "tls", mode=_m,
             version=_v)(client_closes_first)


@case("resume.psk_ke_load", "tls")
def psk_ke_load(env):
    """--psk-mode ke against tlsbench-load --psk-mode both (psk_dhe_ke and
    psk_ke offered, the server picks): every resumption is psk_ke at both
    ends, the client reading it from ServerHellos without a key share."""
    if not env.load_bin:
        raise Skip("tlsbench-load not built in this build directory")
    n, slots = 40, 2
    with psk_server(env, "ke") as srv:
        p = run([env.load_bin, "-c", str(slots), "-n", str(n), "--close",
                 "--resume", "ticket", "--psk-mode", "both", "--tls", "1.3",
                 "--json", "--max-time", "60", "--cacert", env.ca,
                 srv.url("/1k", host="127.0.0.1")], timeout=70)
        check_eq(p.returncode, 0, f"tlsbench-load exit ({short(p.stderr)})")
        try:
            res = json.loads(p.stdout)
        except ValueError:
            raise Fail(f"tlsbench-load --json: {short(p.stdout)}")
        resumed = n - slots
        check_eq((res["handshakes_resumed"], res["resumed_psk_ke"],
                  res["resumed_psk_dhe_ke"]), (resumed, resumed, 0),
                 "client (handshakes_resumed, resumed_psk_ke, "
                 "resumed_psk_dhe_ke)")
        st = srv.settled(requests=n)
        check_eq((st["handshakes_resumed"], st["resumed_psk_ke"],
                  st["resumed_psk_dhe_ke"]), (resumed, resumed, 0),
                 "server counters (handshakes_resumed, resumed_psk_ke, "
                 "resumed_psk_dhe_ke)")
        check_invariant(st)
