"""test_workers.py: --workers 2 forks two processes that both serve.

The kernel spreads connections over the two SO_REUSEPORT sockets by the
client's address, so forty connections reach both workers except with
probability 2^-39.  Which process holds a connection is read from /proc:
the socket inodes of established connections to the server's port, looked
up in each process's fd table.  No server cooperation is needed.
"""

import json
import os

from harness import (Conn, Fail, Skip, case, check_eq, check_invariant,
                     children_of, request, run, short)

CONNS = 40


def server_side_inodes(port):
    """Inodes of established TCP sockets whose local port is port."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def sockets_held(pid, inodes):
    n = 0
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            n += 1
    return n


@case("workers.both_serve")
def both_serve(env):
    """With --workers 2 there are two serving processes; forty keep-alive
    connections, each answered once and held open, are spread over both;
    the stats line says workers 2 and sums both: 40 accepted, 40 requests."""
    with env.server("--workers", "2") as srv:
        conns = []
        try:
            for _ in range(CONNS):
                c = Conn(srv)
                c.send(request("/1k"))
                conns.append(c)
            for c in conns:
                r = c.read_response()
                check_eq((r.status, len(r.body)), (200, 1024), "response")
            procs = [srv.proc.pid] + children_of(srv.proc.pid)
            inodes = server_side_inodes(srv.port)
            check_eq(len(inodes), CONNS, "established server-side sockets")
            held = {p: sockets_held(p, inodes) for p in procs}
            serving = [p for p, n in held.items() if n]
            check_eq(sum(held.values()), CONNS,
                     f"connections held by the server's processes {held}")
            check_eq(len(serving), 2, f"processes holding connections {held}")
        finally:
            for c in conns:
                c.close()
        st = srv.settled(requests=CONNS)
        check_eq(st["workers"], 2, "workers")
        check_eq(st["conns_accepted"], CONNS, "conns_accepted")
        check_eq(st["status_200"], CONNS, "status_200")
        check_invariant(st)


@case("workers.load_close")
def load_close(env):
    """tlsbench-load --close -c 4 -n 40 against --workers 2: all 40 requests
    succeed, and the server counts 40 connections and 40 responses."""
    if not env.load_bin:
        raise Skip("tlsbench-load not built in this build directory")
    with env.server("--workers", "2") as srv:
        cmd = [env.load_bin, "-c", "4", "-n", "40", "--close", "--json",
               "--max-time", "30", "--expect-length", "20480"]
        if env.tls:
            cmd += ["--cacert", env.ca]
        cmd.append(srv.url("/", host="127.0.0.1"))
        p = run(cmd, timeout=40)
        check_eq(p.returncode, 0, f"tlsbench-load exit ({short(p.stderr)})")
        try:
            res = json.loads(p.stdout)
        except ValueError:
            raise Fail(f"tlsbench-load --json: {short(p.stdout)}")
        check_eq(res.get("requests_ok"), 40, "requests_ok")
        st = srv.settled(requests=40)
        check_eq(st["conns_accepted"], 40, "conns_accepted")
        check_eq(st["conns_completed"], 40, "conns_completed")
        check_invariant(st)


@case("workers.cpu_pinning")
def cpu_pinning(env):
    """--workers 2 --cpu 0,1 pins each worker to one CPU (read back from
    /proc/<pid>/status Cpus_allowed_list)."""
    if os.cpu_count() < 2:
        raise Skip("needs 2 CPUs")
    with env.server("--workers", "2", "--cpu", "0,1") as srv:
        # `listening` comes once every worker has pinned itself and is
        # ready: read at once, no waiting
        procs = children_of(srv.proc.pid)
        check_eq(len(procs), 2, f"workers of {srv.proc.pid}")
        allowed = sorted(cpus_allowed(p) for p in procs)
        check_eq(allowed, ["0", "1"], f"CPU lists of {procs}")


def cpus_allowed(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Cpus_allowed_list:"):
                return line.split(":", 1)[1].strip()
    return "?"
