#!/usr/bin/python3
"""run.py: the integration tests, against the real tlsbench-server.

Each case starts the server from a build directory on 127.0.0.1:0, talks to
it with real clients (curl, openssl s_client, gnutls-cli, h2load, Python's
ssl) and reads its counters.  One line per case: PASS name, FAIL name:
reason or SKIP name: reason; then `N passed, N failed, N skipped`.
"""

import argparse
import fnmatch
import glob
import importlib
import os
import signal
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

import harness  # run as a script: its directory is on the path

CASE_TIMEOUT = 90  # seconds; every wait inside is bounded far below this


class CaseTimeout(Exception):
    pass


def on_alarm(_sig, _frame):
    raise CaseTimeout(f"case ran over {CASE_TIMEOUT}s")


def on_term(sig, _frame):
    # unwinds through every with-block, which kills the servers started
    raise SystemExit(128 + sig)


def parse_args():
    ap = argparse.ArgumentParser(
        description="Integration tests for tlsbench-server (one backend "
                    "per run, read from tlsbench-server --version).")
    ap.add_argument("--build", required=True,
                    help="meson build directory holding tlsbench-server")
    ap.add_argument("--certs", default=os.path.join(REPO, "build", "certs"),
                    help="certificate directory from suite/certs.sh (made "
                         "when missing; default build/certs)")
    ap.add_argument("--filter", action="append", default=[],
                    metavar="PATTERN",
                    help="run only cases whose name contains PATTERN (or "
                         "matches it as a glob); may be repeated")
    ap.add_argument("--server-arg", action="append", default=[],
                    metavar="ARG",
                    help="pass ARG to every tlsbench-server the cases start "
                         "(before the case's own), e.g. --server-arg=--io="
                         "core; may be repeated")
    ap.add_argument("--quick", action="store_true",
                    help="skip the slow cases (marked quick=False)")
    ap.add_argument("--list", action="store_true", help="list the cases")
    ap.add_argument("--keep", action="store_true",
                    help="keep temporary files (server logs, stats)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print a traceback for unexpected errors")
    return ap.parse_args()


def load_cases():
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        importlib.import_module(os.path.basename(path)[:-3])
    return harness.CASES


def selected(name, filters):
    if not filters:
        return True
    return any(f in name or fnmatch.fnmatchcase(name, f) for f in filters)


def ensure_certs(certs):
    script = os.path.join(REPO, "suite", "certs.sh")
    need = ["ca.pem", "rsa2048.pem", "ecdsa-p256.pem"]
    if all(os.path.exists(os.path.join(certs, n)) for n in need):
        return
    p = subprocess.run(["bash", script, certs], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    if p.returncode != 0:
        sys.exit(f"run.py: {script} {certs} failed: {p.stdout.decode()}")


def applies(env, needs):
    """TLS cases run on TLS backends, plaintext cases on none: a case that
    has no meaning for a backend is not run (not a skip)."""
    return needs == "any" or (needs == "tls") == env.tls


def run_case(env, name, fn, params, quick):
    if quick and getattr(fn, "slow", False):
        return "SKIP", "slow case (--quick)"
    signal.alarm(CASE_TIMEOUT)
    try:
        fn(env, **params)
        return "PASS", ""
    except harness.Skip as e:
        return "SKIP", str(e)
    except harness.Fail as e:
        return "FAIL", str(e)
    except CaseTimeout as e:
        return "FAIL", str(e)
    except Exception as e:  # a bug in the case or an unexpected OS error
        if env.verbose:
            traceback.print_exc()
        return "FAIL", f"{type(e).__name__}: {e}"
    finally:
        signal.alarm(0)


def main():
    args = parse_args()
    cases = [c for c in load_cases() if selected(c[0], args.filter)]
    if args.list:
        for name, fn, needs, _ in cases:
            doc = " ".join((fn.__doc__ or "").split())
            print(f"{name:38} {needs:5} {doc[:100]}")
        return 0
    ensure_certs(args.certs)
    env = harness.Env(args.build, args.certs, keep=args.keep,
                      server_args=args.server_arg)
    env.verbose = args.verbose
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    total = len(cases)
    cases = [c for c in cases if applies(env, c[2])]
    libver = env.version.get("library_version", "?")
    extra = f", server args {' '.join(env.server_args)}" if env.server_args \
        else ""
    print(f"# backend {env.backend} ({libver}), build {args.build}{extra}: "
          f"{len(cases)} cases ({total - len(cases)} not for this backend)",
          flush=True)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    t0 = time.monotonic()
    try:
        for name, fn, needs, params in cases:
            t = time.monotonic()
            result, why = run_case(env, name, fn, params, args.quick)
            counts[result] += 1
            took = time.monotonic() - t
            line = f"{result} {name}" + (f": {why}" if why else "")
            if result != "SKIP" and took >= 1.0:
                line += f" ({took:.1f}s)"
            print(line, flush=True)
        # the harness itself under test: every server started was stopped
        left = harness.leftovers(env.tmp)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        result = "FAIL" if left else "PASS"
        counts[result] += 1
        print(f"{result} run.no_servers_left" +
              (f": killed leftover server pids {left}" if left else ""),
              flush=True)
    finally:
        harness.kill_all()
        env.cleanup()
    print(f"# {time.monotonic() - t0:.1f}s")
    print(f"{counts['PASS']} passed, {counts['FAIL']} failed, "
          f"{counts['SKIP']} skipped", flush=True)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
