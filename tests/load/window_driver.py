#!/usr/bin/env python3
"""window_driver.py: drives tlsbench-load's control protocol in the tests.

usage: window_driver.py [--server-pid PID --stats FILE] [--hold S]
                        [--answer LINE] -- LOAD ARGS...

Runs LOAD ARGS... --control-fd N --json with one end of a socket pair.  At
"window-start" and at "window-end" it has the server write a stats line
(SIGUSR1), waits for that line to land in FILE, and answers "go".  Prints
one JSON object: the client's JSON ("client"), the server's lines at the
two edges ("server_start", "server_end"), the lines the client wrote
("events"), its exit status ("rc") and stderr ("stderr").  --hold S waits S
seconds before each "go" (the client must stay quiet meanwhile).  --answer
sends LINE instead of "go" at window-start; --answer "" closes the socket
there instead (both are protocol errors the client must report).  Without
--server-pid no stats are taken.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

WAIT_S = 10  # bound on every wait for the client or the server


def stats_lines(path):
    with open(path) as f:
        return [l for l in f.read().splitlines() if l.strip()]


def server_snapshot(pid, path):
    """Has the server append a stats line; returns it once it is there."""
    before = len(stats_lines(path))
    os.kill(pid, signal.SIGUSR1)
    end = time.monotonic() + WAIT_S
    while time.monotonic() < end:
        lines = stats_lines(path)
        # A line still being written does not parse yet.
        if len(lines) > before:
            try:
                return json.loads(lines[before])
            except ValueError:
                pass
        time.sleep(0.01)
    sys.exit("window_driver: the server wrote no stats line within %d s" % WAIT_S)


def read_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        c = sock.recv(1)
        if not c:
            return None
        buf += c
    return buf.decode().strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server-pid", type=int)
    ap.add_argument("--stats")
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--answer", default="go")
    ap.add_argument("load", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.load[1:] if a.load[:1] == ["--"] else a.load
    if not cmd:
        ap.error("give the tlsbench-load command after --")
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen(
        cmd + ["--control-fd", str(theirs.fileno()), "--json"],
        pass_fds=[theirs.fileno()], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    theirs.close()
    ours.settimeout(120)
    out = {"events": [], "server_start": None, "server_end": None}
    while True:
        line = read_line(ours)
        if line is None:
            break
        out["events"].append(line)
        key = {"window-start": "server_start",
               "window-end": "server_end"}.get(line)
        if key is None:
            break
        if a.server_pid:
            out[key] = server_snapshot(a.server_pid, a.stats)
        if key == "server_start" and a.answer != "go":
            if a.answer:
                ours.sendall(a.answer.encode() + b"\n")
            else:
                ours.close()
            break
        if a.hold:
            # Nothing may arrive while the client waits for "go".
            ours.settimeout(a.hold)
            try:
                extra = ours.recv(1)
                out["events"].append("early:" + extra.decode())
            except socket.timeout:
                pass
            ours.settimeout(120)
        ours.sendall(b"go\n")
    stdout, stderr = proc.communicate(timeout=120)
    out["rc"] = proc.returncode
    out["stderr"] = stderr.decode()
    try:
        out["client"] = json.loads(stdout)
    except ValueError:
        out["client"] = None
    print(json.dumps(out))


if __name__ == "__main__":
    main()
