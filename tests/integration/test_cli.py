"""test_cli.py: the command line and the signals, as a script sees them.

Bad input is one line on stderr and exit status 2, never a half-started
server; --help and --version exit 0; SIGUSR1 appends a stats line, SIGTERM
stops gracefully with a final one and exit status 0.
"""

import os
import signal
import subprocess
import time

from harness import (STATS_KEYS, Conn, Fail, case, check, check_eq,
                     check_invariant, get, request, run, short)


def refuses(env, args, names=()):
    """The server exits 2 with one stderr line that mentions each name."""
    p = run([env.server_bin, *args], timeout=10)
    err = p.stderr.decode(errors="replace")
    check_eq(p.returncode, 2, f"exit status for {' '.join(args)} "
                              f"(stderr {short(err)})")
    lines = err.strip().splitlines()
    check_eq(len(lines), 1,
             f"stderr lines for {' '.join(args)} ({short(err)})")
    for n in names:
        check(n in lines[0], f"error does not name {n!r}: {short(lines[0])}")
    check_eq(p.stdout, b"", "stdout")


def cert_args(env):
    cert, key = env.cert("rsa2048")
    return ["--cert", cert, "--key", key, "--listen", "127.0.0.1:0"]


@case("cli.bad_flag")
def bad_flag(env):
    """An unknown flag: exit 2, one line naming it."""
    refuses(env, cert_args(env) + ["--no-such-flag"], ["--no-such-flag"])


@case("cli.bad_values")
def bad_values(env):
    """Values outside the documented sets: exit 2, one line each."""
    for args in (["--tls-min", "1.1"], ["--tls-max", "2"],
                 ["--resumption", "sometimes"], ["--workers", "0"],
                 ["--workers", "x"], ["--header-timeout", "-1"],
                 ["--listen", "not-an-address"], ["--seed"],
                 ["--psk-mode", "psk"], ["--ticket-key-lifetime", "-1"],
                 ["--ticket-key-lifetime", "1s"], ["--io", "kernel"],
                 ["--defer-accept", "x"], ["--defer-accept", "-1"]):
        refuses(env, cert_args(env) + args)


@case("cli.choice_lists")
def choice_lists(env):
    """A flag that takes one word of a fixed list names the flag, the word
    it got and every word it takes."""
    for flag, bad, words in (
            ("--tls-min", "1.1", ["1.2", "1.3"]),
            ("--tls-max", "1.0", ["1.2", "1.3"]),
            ("--resumption", "sometimes", ["none|cache|tickets|both"]),
            ("--psk-mode", "psk", ["dhe or ke"]),
            ("--idle-buffers", "free", ["release or keep"]),
            ("--io", "kernel", ["native or core"])):
        refuses(env, cert_args(env) + [flag, bad],
                [flag + ":", "'" + bad + "'", *words])


@case("cli.resumption_flags_need_resumption")
def resumption_flags_need_resumption(env):
    """Flags that only mean something with tickets or TLS 1.3 are refused
    without them (exit 2, one line naming the flag), never ignored."""
    for args, flag in (
            (["--ticket-key-lifetime", "60", "--resumption", "none"],
             "--ticket-key-lifetime"),
            (["--ticket-key-lifetime", "60", "--resumption", "cache"],
             "--ticket-key-lifetime"),
            (["--psk-mode", "ke", "--tls-max", "1.2"], "--psk-mode"),
            (["--psk-mode", "ke", "--resumption", "none"], "--psk-mode"),
            (["--early-data", "--tls-max", "1.2"], "--early-data"),
            (["--early-data", "--resumption", "none"], "--early-data")):
        refuses(env, cert_args(env) + args, [flag])


@case("cli.min_above_max", "tls")
def min_above_max(env):
    """--tls-min 1.3 --tls-max 1.2 cannot be served: exit 2."""
    refuses(env, cert_args(env) + ["--tls-min", "1.3", "--tls-max", "1.2"])


@case("cli.unreadable_cert", "tls")
def unreadable_cert(env):
    """A missing certificate or key file: exit 2, one line naming the file.
    A file that is not PEM at all: exit 2."""
    cert, key = env.cert("rsa2048")
    missing = os.path.join(env.tmp, "no-such-cert.pem")
    refuses(env, ["--cert", missing, "--key", key, "--listen", "127.0.0.1:0"],
            [missing])
    refuses(env, ["--cert", cert, "--key", missing, "--listen", "127.0.0.1:0"],
            [missing])
    junk = os.path.join(env.tmp, "junk.pem")
    with open(junk, "w") as f:
        f.write("not a certificate\n")
    refuses(env, ["--cert", junk, "--key", key, "--listen", "127.0.0.1:0"])


@case("cli.key_mismatch", "tls")
def key_mismatch(env):
    """A key that does not belong to the certificate: exit 2."""
    cert, _ = env.cert("rsa2048")
    _, key = env.cert("ecdsa-p256")
    refuses(env, ["--cert", cert, "--key", key, "--listen", "127.0.0.1:0"])


@case("cli.help")
def help_text(env):
    """--help exits 0 and documents the flags on stdout."""
    p = run([env.server_bin, "--help"], check_rc=0)
    out = p.stdout.decode()
    for flag in ("--cert", "--key", "--listen", "--workers", "--resumption",
                 "--stats-file", "--seed", "--header-timeout", "--io",
                 "--defer-accept"):
        check(flag in out, f"--help does not mention {flag}")


@case("cli.io_in_tls_settings")
def io_in_tls_settings(env):
    """--io native|core (native when not given) is what tls_settings says
    ran, next to tls_object_reuse ("yes (how)" or "no (why)")."""
    for args, want in (([], "native"), (["--io", "native"], "native"),
                       (["--io", "core"], "core")):
        with env.server(*args) as srv:
            st = srv.stats()["tls_settings"]
            if not args and "--io" in " ".join(env.server_args):
                want = st.get("io")  # run.py --server-arg gave it
            check_eq(st.get("io"), want, f"tls_settings io with {args}")
            reuse = st.get("tls_object_reuse", "")
            check(reuse.startswith(("yes (", "no (")),
                  f"tls_object_reuse {reuse!r}")


@case("cli.version")
def version(env):
    """--version exits 0 and prints one `key: value` a line, with backend
    and library_version among them."""
    p = run([env.server_bin, "--version"], check_rc=0)
    lines = p.stdout.decode().splitlines()
    bad = [ln for ln in lines if ln and ": " not in ln]
    check(not bad, f"lines that are not 'key: value': {short(bad)}")
    keys = [ln.split(": ", 1)[0] for ln in lines if ln]
    for k in ("backend", "library_version"):
        check(k in keys, f"no {k} line in --version")
    check(env.backend in ("openssl", "wolfssl", "boringssl", "none"),
          f"unknown backend {env.backend!r}")


@case("cli.port_in_use")
def port_in_use(env):
    """A port another server holds without SO_REUSEPORT sharing: exit 2
    (or 1) with one line, not a silent second listener."""
    import socket
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        cert, key = env.cert("rsa2048")
        p = run([env.server_bin, "--cert", cert, "--key", key,
                 "--listen", f"127.0.0.1:{port}"], timeout=10)
        err = p.stderr.decode(errors="replace").strip()
        check(p.returncode in (1, 2), f"exit {p.returncode} for a busy port")
        check(len(err.splitlines()) == 1, f"stderr not one line: {short(err)}")
    finally:
        s.close()


# -- signals --------------------------------------------------------------

@case("signals.sigusr1_lines")
def sigusr1(env):
    """Each SIGUSR1 appends one JSON line with every counter; counters only
    grow, and uptime_s does not go back."""
    with env.server() as srv:
        a = srv.stats()
        get(srv, "/1k")
        b = srv.settled(requests=1)
        for k in STATS_KEYS:
            if k.startswith(("conns_accepted", "requests", "bytes_sent")):
                check(b[k] >= a[k], f"{k} went down")
        check(b["uptime_s"] >= a["uptime_s"], "uptime_s went down")
        check_eq(b["pid"], srv.proc.pid, "pid")
        check(b["bytes_sent"] >= 1024, f"bytes_sent {b['bytes_sent']}")


def signal_at_listening(env, workers, sig, stats_file):
    """Start a server, send sig the moment `listening` is read from its
    stdout pipe; returns (exit status or None while running, stats lines
    written within 5 s, stderr)."""
    cert, key = env.cert("ecdsa-p256")
    argv = [env.server_bin, "--cert", cert, "--key", key, "--listen",
            "127.0.0.1:0", "--workers", str(workers), "--stats-file",
            stats_file]
    with open(stats_file, "w"):
        pass
    p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        line = p.stdout.readline()
        if not line.startswith(b"listening "):
            p.kill()
            raise Fail(f"first line {short(line)}; stderr "
                       f"{short(p.stderr.read(300))}")
        p.send_signal(sig)
        if sig == signal.SIGUSR1:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and p.poll() is None:
                with open(stats_file) as f:
                    if f.read().endswith("\n"):
                        break
                time.sleep(0.002)
            check(p.poll() is None,
                  f"SIGUSR1 right after listening (workers {workers}) "
                  f"killed the server: exit {p.returncode}")
            p.send_signal(signal.SIGTERM)
        rc = p.wait(10)
        with open(stats_file) as f:
            lines = f.read().splitlines()
        want = 2 if sig == signal.SIGUSR1 else 1
        check_eq((rc, len(lines)), (0, want),
                 f"(exit status, stats lines) after "
                 f"{signal.Signals(sig).name} at listening, workers "
                 f"{workers}")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        p.stdout.close()
        p.stderr.close()


@case("signals.at_listening")
def signals_at_listening(env):
    """`listening` means every documented signal is handled: SIGUSR1,
    SIGTERM and SIGINT sent the moment the line is read never take their
    default action (SIGUSR1 would kill the server), with one worker and
    with two.  A race, so it is tried many times per signal and arrangement:
    a signal that arrived one instruction too early would show up here."""
    stats_file = os.path.join(env.mkdtemp("sig"), "stats.jsonl")
    rounds = {signal.SIGUSR1: 120, signal.SIGTERM: 40, signal.SIGINT: 40}
    for workers in (1, 2):
        for sig, n in rounds.items():
            for _ in range(n):
                signal_at_listening(env, workers, sig, stats_file)


@case("signals.sigterm_final_line")
def sigterm(env):
    """SIGTERM: exit 0 and one final stats line that counts what was done."""
    with env.server() as srv:
        get(srv, "/")
        srv.settled(requests=1)
    # leaving the block sent SIGTERM and required exit 0 and a final line
    check_eq(srv.final["requests"], 1, "requests in the final line")
    check_invariant(srv.final)


@case("signals.sigint")
def sigint(env):
    """SIGINT stops like SIGTERM: exit 0 with a final stats line."""
    with env.server() as srv:
        get(srv, "/")
        final = srv.stop(signal.SIGINT)
    check_eq(final["requests"], 1, "requests in the final line")


@case("signals.sigterm_idle_keepalive")
def sigterm_idle(env):
    """SIGTERM with an idle keep-alive connection open: the server still
    exits 0 within 5 s (it does not wait out the idle timeout)."""
    srv = env.server()
    srv.start()
    c = None
    try:
        c = Conn(srv)
        c.send(request("/1k"))
        c.read_response()
        srv.proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        try:
            rc = srv.proc.wait(5)
        except subprocess.TimeoutExpired:
            raise Fail("still running 5 s after SIGTERM with an idle "
                       "keep-alive connection")
        check_eq(rc, 0, f"exit status (after {time.monotonic() - t0:.1f}s)")
    finally:
        if c:
            c.close()
        srv.kill()
