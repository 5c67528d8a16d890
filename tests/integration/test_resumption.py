"""test_resumption.py: session resumption as openssl s_client sees it.

s_client saves the session of a first connection (-sess_out) and offers it
on a second (-sess_in).  With --resumption tickets, cache or both the second
handshake resumes; with none it is a full one.  The server's own counters
must tell the same story as the client, down to how it resumed: from a
ticket its keys opened or from its session cache.
"""

import os

from harness import (Fail, case, check, check_eq, check_invariant, run,
                     short, start_or_skip, tool)

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
    psk_dhe_ke."""
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

