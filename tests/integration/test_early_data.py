"""test_early_data.py: TLS 1.3 0-RTT (--early-data) with real clients.

A backend whose library offers 0-RTT with its anti-replay protection on
accepts a resuming client's early data, answers the request in it, and
counts it; the same early-data flight offered twice is accepted once.  A
backend that cannot have both refuses --early-data at start-up with the
reason, and its cases SKIP with that reason.  Clients: tlsbench-load
(--early-data, --replay-early-data) and openssl s_client -early_data.
"""

import json
import os

from harness import (Fail, Skip, StartError, case, check, check_eq,
                     check_invariant, run, short, start_or_skip, tool)

CONNS = 100
SLOTS = 4


def early_server(env, *args, reference_may_refuse=False):
    """A started TLS 1.3 server with --early-data and args, or SKIP with the
    backend's refusal.  Every TLS backend but OpenSSL may refuse; OpenSSL
    too where reference_may_refuse (its anti-replay needs the session
    cache, so it refuses tickets alone, naming --resumption)."""
    srv = env.server("--early-data", "--tls-min", "1.3", *args)
    what = f"--early-data {' '.join(args)}".strip()
    if not reference_may_refuse:
        return start_or_skip(srv, what)
    try:
        return srv.start()
    except StartError as e:
        srv.kill()
        check(env.backend != "openssl" or "--resumption" in e.stderr,
              f"refusal does not name --resumption: {short(e.stderr, 240)}")
        raise Skip(f"{env.backend} refuses {what}: "
                   f"{short(e.stderr.strip(), 240)}")


def load_json(env, srv, *args):
    if not env.load_bin:
        raise Skip("tlsbench-load not built in this build directory")
    cmd = [env.load_bin, *args, "--json", "--max-time", "60", "--cacert",
           env.ca, srv.url("/1k", host="127.0.0.1")]
    p = run(cmd, timeout=70)
    try:
        res = json.loads(p.stdout)
    except ValueError:
        raise Fail(f"tlsbench-load --json (exit {p.returncode}): "
                   f"{short(p.stdout)} {short(p.stderr)}")
    return p.returncode, res


@case("early.accepted", "tls")
def accepted(env):
    """tlsbench-load --early-data --close: every resumption sends its
    request as early data; the server accepts and answers each, and counts
    offered = accepted = the resumptions, none rejected, as the client
    does.  tls_settings states the early data and the anti-replay."""
    with early_server(env) as srv:
        rc, res = load_json(env, srv, "-c", str(SLOTS), "-n", str(CONNS),
                            "--close", "--resume", "ticket", "--early-data",
                            "--tls", "1.3")
        check_eq(rc, 0, f"tlsbench-load exit (errors {res.get('errors')})")
        resumed = CONNS - SLOTS
        check_eq((res["requests_ok"], res["handshakes_resumed"]),
                 (CONNS, resumed), "client (requests_ok, handshakes_resumed)")
        check_eq((res["early_offered"], res["early_accepted"]),
                 (resumed, resumed), "client (early_offered, early_accepted)")
        st = srv.settled(requests=CONNS)
        check_eq((st["early_data_offered"], st["early_data_accepted"],
                  st["early_data_rejected"]), (resumed, resumed, 0),
                 "server counters (early_data_offered, accepted, rejected)")
        check_eq((st["handshakes_resumed"], st["conns_completed"],
                  st["tls_errors"]), (resumed, CONNS, 0),
                 "server counters (handshakes_resumed, conns_completed, "
                 "tls_errors)")
        early = [n for n in st["negotiated"] if n["early_data"] == "accepted"]
        check_eq(sum(n["count"] for n in early), resumed,
                 "negotiated entries with early_data accepted")
        settings = st["tls_settings"]
        check(settings["early_data"].startswith("on"),
              f"tls_settings.early_data: {settings['early_data']!r}")
        check(settings["anti_replay"] not in ("none", "n/a (no early data)"),
              f"tls_settings.anti_replay: {settings['anti_replay']!r}")
        check_invariant(st)


def replay(env, mode):
    """The same session offered twice with the same early data
    (tlsbench-load --replay-early-data): the first early data is accepted,
    the second is not (rejected: a full handshake or a resumption without
    0-RTT), and each request is answered.  Whatever --resumption, a server
    that starts with --early-data passes this; OpenSSL refuses tickets
    alone (its anti-replay lives in the session cache)."""
    with early_server(env, "--resumption", mode,
                      reference_may_refuse=mode == "tickets") as srv:
        rc, res = load_json(env, srv, "--replay-early-data", "--tls", "1.3")
        check_eq(rc, 0, f"tlsbench-load --replay-early-data exit "
                        f"({res.get('reason')})")
        a = res["attempts"]
        check_eq(len(a), 3, "attempts")
        check_eq([x["status"] for x in a], [200, 200, 200], "HTTP statuses")
        check_eq((a[1]["resumed"], a[1]["early_data"]), (True, "accepted"),
                 "first offer of the session (resumed, early_data)")
        check(a[2]["early_data"] != "accepted",
              "the replayed early data was accepted a second time")
        st = srv.settled(requests=3)
        check_eq((st["early_data_offered"], st["early_data_accepted"],
                  st["early_data_rejected"]), (2, 1, 1),
                 "server counters (early_data_offered, accepted, rejected)")
        check_invariant(st)


for _m in ("both", "cache", "tickets"):
    case(f"early.replay_refused_{_m}", "tls", mode=_m)(replay)


REQUEST_CLOSE = (b"GET /3k HTTP/1.1\r\nHost: localhost\r\n"
                 b"Connection: close\r\n\r\n")


@case("early.s_client_then_1rtt", "tls")
def s_client_then_1rtt(env):
    """openssl s_client -early_data: a keep-alive request in early data,
    then a second request after the handshake on the same connection: both
    answered in order, the first as early data the server accepted."""
    with early_server(env) as srv:
        sess = os.path.join(srv.dir, "session.pem")
        early = os.path.join(srv.dir, "early.txt")
        with open(early, "wb") as f:
            f.write(b"GET /2k HTTP/1.1\r\nHost: localhost\r\n\r\n")
        base = [tool("openssl"), "s_client", "-connect",
                f"127.0.0.1:{srv.port}", "-servername", "localhost",
                "-CAfile", env.ca, "-verify_return_error", "-ign_eof",
                "-tls1_3"]
        run(base + ["-sess_out", sess], input=REQUEST_CLOSE, timeout=15)
        check(os.path.exists(sess), "s_client saved no session")
        p = run(base + ["-sess_in", sess, "-early_data", early],
                input=REQUEST_CLOSE, timeout=15)
        out = p.stdout.decode("latin-1")
        check("Early data was accepted" in out,
              f"s_client: early data not accepted "
              f"({short(p.stderr.decode('latin-1')[-300:], 300)})")
        lengths = [line.split(":")[1].strip() for line in out.splitlines()
                   if line.lower().startswith("content-length:")]
        check_eq(lengths, ["2048", "3072"],
                 "Content-Length of the two responses, in order")
        st = srv.settled(requests=3)
        check_eq((st["early_data_accepted"], st["status_200"]), (1, 3),
                 "server counters (early_data_accepted, status_200)")
        check_invariant(st)
