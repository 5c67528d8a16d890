"""test_ticket_keys.py: session tickets across workers and key rotations.

Ticket keys come from one table made before the workers fork
(backends/common.h), so a ticket one worker issued opens on any other;
with --ticket-key-lifetime S the key changes every S seconds of the wall
clock, a ticket opens in its own epoch and the next, and is refused after.
Both are read from the server's counters, with real clients: the load
generator (many connections, spread over the workers by the kernel) and
openssl s_client (one session offered at chosen moments).
"""

import json
import os
import time

from harness import (Fail, Skip, case, check, check_eq, check_invariant,
                     run, short)
from test_resumption import s_client

CONNS = 200
SLOTS = 4


def load_resume(env, srv, version):
    """CONNS one-request connections from SLOTS slots, each offering its
    slot's last ticket; the load generator's JSON."""
    if not env.load_bin:
        raise Skip("tlsbench-load not built in this build directory")
    cmd = [env.load_bin, "-c", str(SLOTS), "-n", str(CONNS), "--close",
           "--resume", "ticket", "--tls", version, "--json", "--max-time",
           "60", "--cacert", env.ca, srv.url("/1k", host="127.0.0.1")]
    p = run(cmd, timeout=70)
    check_eq(p.returncode, 0, f"tlsbench-load exit ({short(p.stderr)})")
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise Fail(f"tlsbench-load --json: {short(p.stdout)}")


def tickets_across_workers(env, version):
    """--workers 2 with tickets: every connection after a slot's first
    resumes, wherever the kernel sends it (200 connections reach both
    workers but with probability 2^-199), and the server counts each as
    resumed from a ticket."""
    with env.server("--workers", "2", "--resumption", "tickets",
                    "--tls-min", version, "--tls-max", version) as srv:
        res = load_resume(env, srv, version)
        check_eq(res.get("requests_ok"), CONNS, "requests_ok")
        st = srv.settled(requests=CONNS)
        check_eq((st["handshakes_full"], st["handshakes_resumed"]),
                 (SLOTS, CONNS - SLOTS),
                 "server counters (handshakes_full, handshakes_resumed)")
        check_eq(st["resumed_ticket"], CONNS - SLOTS, "resumed_ticket")
        check_eq(st["handshakes_failed"], 0, "handshakes_failed")
        check_invariant(st)


for _v in ("1.2", "1.3"):
    case(f"tickets.across_workers_tls{_v}", "tls",
         version=_v)(tickets_across_workers)

LIFETIME = 2  # seconds per ticket key
MARGIN = 0.3  # seconds kept from an epoch's edges


def wait_epoch_start(epoch):
    """Sleep until MARGIN seconds into epoch (wall clock, as the server)."""
    delay = epoch * LIFETIME + MARGIN - time.time()
    if delay > 0:
        time.sleep(delay)


def current_epoch():
    """The epoch now, after waiting out its last MARGIN seconds if need be:
    what follows happens well inside it."""
    now = time.time()
    if now % LIFETIME > LIFETIME - MARGIN:
        wait_epoch_start(int(now // LIFETIME) + 1)
        now = time.time()
    return int(now // LIFETIME)


def rotation(env, workers):
    """--ticket-key-lifetime 2: a ticket issued in epoch k resumes in epoch
    k+1 (under the previous key) and is refused in epoch k+2 (a full
    handshake), in TLS 1.2 and 1.3, with workers workers.  The server's
    counters agree with s_client."""
    with env.server("--workers", str(workers), "--resumption", "tickets",
                    "--ticket-key-lifetime", str(LIFETIME)) as srv:
        sess = {v: os.path.join(srv.dir, f"session-{v}.pem")
                for v in ("1.2", "1.3")}
        k = current_epoch()
        for v in sess:
            check(not s_client(srv, v, sess[v]), f"TLS {v}: first "
                                                 f"connection resumed")
        check_eq(int(time.time() // LIFETIME), k, "epoch after the tickets")
        wait_epoch_start(k + 1)
        for v in sess:
            check(s_client(srv, v, sess[v] + ".next", sess_in=sess[v]),
                  f"TLS {v}: a ticket from the previous key epoch was not "
                  f"resumed")
        check_eq(int(time.time() // LIFETIME), k + 1, "epoch of the resumes")
        wait_epoch_start(k + 2)
        for v in sess:
            check(not s_client(srv, v, sess[v] + ".old", sess_in=sess[v]),
                  f"TLS {v}: a ticket two key epochs old was resumed")
        st = srv.settled(requests=6)
        check_eq((st["handshakes_full"], st["handshakes_resumed"]), (4, 2),
                 "server counters (handshakes_full, handshakes_resumed)")
        check_eq(st["resumed_ticket"], 2, "resumed_ticket")
        check_invariant(st)


for _w in (1, 2):
    case(f"tickets.rotation_workers{_w}", "tls", workers=_w)(rotation)
