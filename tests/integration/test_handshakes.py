"""test_handshakes.py: the handshakes people are moving to, at both ends.

Post-quantum groups (the ML-KEM hybrids and the draft
X25519Kyber768Draft00), every key type suite/certs.sh issues, the three
TLS 1.3 suites and the two-certificate chain.  Each handshake is checked at
both ends: the client's own report (openssl s_client, an OpenSSL 3.5+ one
for ML-KEM and ML-DSA; the BoringSSL build's test_bssl_client for the
draft group) and the server's stats `negotiated` entry.  The crypto floor
must cover what the server serves.

What a library cannot do is refused at start-up with one line, "<library>
has no <what> (<what has it>)": a SKIP naming it.  CLAIMS says what each
library must do, so refusing a claimed feature, or serving one it should
not have, fails.
"""

import os
import re
import subprocess

from harness import (Fail, Skip, StartError, case, check, check_eq, run,
                     short, tool)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

PQ_GROUPS = ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024")
DRAFT_GROUP = "X25519Kyber768Draft00"
# The TLS 1.3 scheme each key signs with.
KEYS = {
    "rsa2048": "rsa_pss_rsae_sha256",
    "rsa3072": "rsa_pss_rsae_sha256",
    "rsa4096": "rsa_pss_rsae_sha256",
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "ecdsa-p384": "ecdsa_secp384r1_sha384",
    "ed25519": "ed25519",
    "mldsa65": "mldsa65",
}
CLASSICAL_KEYS = set(KEYS) - {"mldsa65"}
SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
          "TLS_CHACHA20_POLY1305_SHA256")
LACKS = re.compile(r"\Atlsbench-server: (?:--bench-crypto: )?"
                   r"(.+) has no (\S+) \((.+)\)\Z")


def claims(env):
    """(groups, keys) this library must serve, or None for a build the
    table cannot speak for (a custom prefix): then either answer passes,
    as long as a refusal has the one-line form."""
    version = env.version.get("library_version", "")
    flavor = env.version.get("flavor", "")
    if env.backend == "openssl":
        m = re.match(r"OpenSSL (\d+)\.(\d+)", version)
        if not m:
            return None
        if (int(m.group(1)), int(m.group(2))) >= (3, 5):
            return set(PQ_GROUPS), set(KEYS)
        return set(), CLASSICAL_KEYS
    if env.backend == "wolfssl":
        if flavor == "debian":
            return set(), CLASSICAL_KEYS
        if flavor == "tuned":  # suite/libs/wolfssl.sh: ML-KEM and ML-DSA
            return set(PQ_GROUPS), set(KEYS)
        return None
    if env.backend == "boringssl" and flavor in ("debian", "tuned"):
        if "API 19" in version:
            return {DRAFT_GROUP}, CLASSICAL_KEYS
        if "API 17" in version:
            return set(), CLASSICAL_KEYS
    return None


def start_claimed(srv, kind, what):
    """Start srv.  A refusal must be the one-line library limit naming
    what (a SKIP with it) and must not hit something CLAIMS says the
    library has; a start must not happen where CLAIMS says it cannot."""
    c = claims(srv.env)
    must = None if c is None else what in c[0 if kind == "group" else 1]
    try:
        srv.start()
    except StartError as e:
        srv.kill()
        err = e.stderr.strip()
        m = LACKS.match(err)
        check(m and m.group(2) in (what, key_name(srv.env, what)),
              f"refusing {what}: not the one-line library limit: "
              f"{short(err, 240)}")
        check(must is not True, f"{srv.env.backend} must serve {what} "
                                f"but refused: {err}")
        raise Skip(err.split(": ", 1)[1])
    check(must is not False, f"{srv.env.backend} "
                             f"{srv.env.version.get('library_version')} "
                             f"served {what}: update CLAIMS")
    return srv


def key_name(env, name):
    """The key type a refusal names for a certs.sh key (ML-DSA-65)."""
    return {"mldsa65": "ML-DSA-65"}.get(name, name)


# -- clients ------------------------------------------------------------

_PQ_OPENSSL = []


def openssl_version(cmd):
    p = subprocess.run([cmd, "version"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=10)
    m = re.match(rb"OpenSSL (\d+)\.(\d+)", p.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def pq_openssl():
    """An openssl command of 3.5 or later (ML-KEM, ML-DSA): the one on
    PATH, else the tuned OpenSSL 3.6 if built; Skip without one."""
    if not _PQ_OPENSSL:
        found = None
        if openssl_version(tool("openssl")) >= (3, 5):
            found = tool("openssl")
        else:
            p = subprocess.run(
                ["bash", os.path.join(REPO, "suite/libs/build.sh"),
                 "--cached", "openssl", "3.6", "tuned"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                timeout=30)
            cand = os.path.join(p.stdout.decode().strip(), "bin", "openssl")
            if p.returncode == 0 and os.access(cand, os.X_OK):
                found = cand
        _PQ_OPENSSL.append(found)
    if _PQ_OPENSSL[0] is None:
        raise Skip("no OpenSSL 3.5+ client (openssl on PATH is older; "
                   "build one with suite/libs/build.sh openssl 3.6 tuned)")
    return _PQ_OPENSSL[0]


# What OpenSSL 3.0's s_client prints, in the IANA names tls_names.c uses
# (3.5 and later print those names themselves).
OLD_SIGALGS = {
    ("RSA-PSS", "SHA256"): "rsa_pss_rsae_sha256",
    ("RSA-PSS", "SHA384"): "rsa_pss_rsae_sha384",
    ("RSA", "SHA256"): "rsa_pkcs1_sha256",
    ("ECDSA", "SHA256"): "ecdsa_secp256r1_sha256",
    ("ECDSA", "SHA384"): "ecdsa_secp384r1_sha384",
    ("ECDSA", "SHA512"): "ecdsa_secp521r1_sha512",
}
TEMP_KEYS = {"X25519": "X25519", "X448": "X448", "prime256v1": "P-256",
             "secp384r1": "P-384", "secp521r1": "P-521"}


def iana_cipher(name):
    """A TLS 1.2 suite's IANA name from OpenSSL's (TLS 1.3 names are)."""
    if name.startswith("TLS_"):
        return name
    p = run([tool("openssl"), "ciphers", "-stdname", name], check_rc=0)
    # "IANA - OPENSSL  version ..." per line, the TLS 1.3 suites too
    for line in p.stdout.decode().splitlines():
        iana, _, rest = line.partition(" - ")
        if rest.split() and rest.split()[0] == name:
            return iana.strip()
    raise Fail(f"openssl ciphers -stdname does not know {name}")


def s_client(srv, openssl, version, *args):
    """One handshake and request with openssl s_client; what it says was
    negotiated, as a dict of tls_names.c names (plus verify)."""
    p = run([openssl, "s_client", "-connect", f"127.0.0.1:{srv.port}",
             "-servername", "localhost", "-CAfile", srv.env.ca, "-brief",
             f"-tls1_{version[-1]}", *args],
            input=b"GET /1k HTTP/1.0\r\n\r\n", timeout=15)
    out = (p.stdout + p.stderr).decode("latin-1")
    field = {}
    for line in out.splitlines():
        k, sep, v = line.partition(": ")
        if sep:
            field.setdefault(k.strip(), v.strip())
    check("Protocol version" in field,
          f"s_client made no handshake: {short(out[-300:], 300)}")
    sig, hash_ = field.get("Signature type", ""), field.get("Hash used", "")
    group = field.get("Negotiated TLS1.3 group")
    if group is None:
        temp = field.get("Peer Temp Key", field.get("Server Temp Key", ""))
        parts = [t.strip() for t in temp.split(",")]
        group = TEMP_KEYS.get(parts[1] if parts[0] == "ECDH" else parts[0])
    return {
        "version": field["Protocol version"],
        "cipher": iana_cipher(field.get("Ciphersuite", "")),
        "group": group,
        "sigalg": OLD_SIGALGS.get((sig, hash_), sig),
        "verified": field.get("Verification") == "OK",
    }


def bssl_client(srv, groups):
    """The BoringSSL build's own client (X25519Kyber768Draft00)."""
    client = srv.env._find("test_bssl_client")
    if client is None:
        raise Skip("no client offers X25519Kyber768Draft00 here (only a "
                   "BoringSSL build has tests/test_bssl_client)")
    p = run([client, str(srv.port), srv.env.ca, groups], timeout=15)
    out = p.stdout.decode()
    check(p.returncode == 0,
          f"test_bssl_client exited {p.returncode}: "
          f"{short(p.stderr.decode() + out, 300)}")
    got = dict(line.split(": ", 1) for line in out.splitlines()
               if ": " in line)
    got["verified"] = True  # it verifies or fails
    return got


def server_view(srv):
    """The one full handshake the server saw, from its stats."""
    st = srv.settled(handshakes_full=1)
    neg = [n for n in st.get("negotiated", []) if not n["resumed"]]
    check_eq(len(neg), 1, f"negotiated entries ({neg})")
    return neg[0]


def both_ends(client, server, **want):
    """The client's view equals the server's, field by field, and both
    say what is wanted."""
    for k in ("version", "cipher", "group", "sigalg"):
        check_eq(server[k], client[k], f"{k}: server's stats vs client's")
    for k, v in want.items():
        check_eq(server[k], v, k)
    check(client["verified"], "the client did not verify the chain")


def floor(env, key, group=None):
    """--bench-crypto with a few iterations: (exit status, stdout dict,
    stderr)."""
    cert, keyfile = env.cert(key)
    args = [env.server_bin, "--bench-crypto", "--key", keyfile,
            "--iterations", "4"]
    if group:
        args += ["--groups", group]
    p = run(args, timeout=60)
    out = dict(line.split(": ", 1) for line in p.stdout.decode().splitlines()
               if ": " in line)
    return p.returncode, out, p.stderr.decode().strip()


def floor_agrees(env, key, group, want_key, want_value):
    rc, out, err = floor(env, key, group)
    check_eq(rc, 0, f"--bench-crypto exit status ({short(err)})")
    check_eq(out.get(want_key), want_value, f"--bench-crypto {want_key}")


def floor_refuses_alike(env, key, group, reason):
    """A refusal at start-up is the floor's too, in the same words."""
    rc, _, err = floor(env, key, group)
    check_eq(rc, 2, f"--bench-crypto exit status ({short(err)})")
    check_eq(err, f"tlsbench-server: --bench-crypto: {reason}",
             "the floor's refusal vs the server's")


def need_cert(env, name):
    if not os.path.exists(env.cert(name)[0]):
        raise Skip(f"{name}.pem not made by suite/certs.sh (ML-DSA needs "
                   f"an OpenSSL 3.5+ there)")


# -- cases --------------------------------------------------------------

@case("handshake.negotiated_names", "tls")
def negotiated_names(env):
    """The server's stats name what the client saw: TLS 1.3 with an ECDSA
    certificate and TLS 1.2 with an RSA one, on every backend."""
    for cert, version, sigalg in (("ecdsa-p256", "1.3",
                                   "ecdsa_secp256r1_sha256"),
                                  ("rsa2048", "1.2", "rsa_pss_rsae_sha256")):
        with env.server(cert=cert) as srv:
            client = s_client(srv, tool("openssl"), version)
            both_ends(client, server_view(srv), group="X25519",
                      version=f"TLSv{version}", sigalg=sigalg)


def group_case(env, group):
    """--groups G: a client offering only G gets G (TLS 1.3), named alike
    at both ends; the floor times G; or both refuse it in one line."""
    srv = env.server("--groups", group, cert="ecdsa-p256")
    try:
        start_claimed(srv, "group", group)
    except Skip as s:
        floor_refuses_alike(env, "ecdsa-p256", group, str(s))
        raise
    with srv:
        if group == DRAFT_GROUP:
            client = bssl_client(srv, "X25519Kyber")
        else:
            client = s_client(srv, pq_openssl(), "1.3", "-groups", group)
        both_ends(client, server_view(srv), group=group,
                  version="TLSv1.3")
    floor_agrees(env, "ecdsa-p256", group, "group", group)


for _g in PQ_GROUPS + (DRAFT_GROUP,):
    case(f"handshake.group_{_g}", "tls", group=_g)(group_case)


def key_case(env, key):
    """A certificate of each key type: the server signs with the scheme
    of its key, named alike at both ends, the client verifies the chain,
    the floor signs the same; or both refuse the key in one line."""
    need_cert(env, key)
    srv = env.server(cert=key)
    try:
        start_claimed(srv, "key", key)
    except Skip as s:
        floor_refuses_alike(env, key, None, str(s))
        raise
    with srv:
        openssl = pq_openssl() if key == "mldsa65" else tool("openssl")
        client = s_client(srv, openssl, "1.3")
        both_ends(client, server_view(srv), sigalg=KEYS[key],
                  version="TLSv1.3")
    floor_agrees(env, key, None, "sig_alg", KEYS[key])


for _k in KEYS:
    case(f"handshake.key_{_k}", "tls", key=_k)(key_case)


@case("handshake.chain_sent", "tls")
def chain_sent(env):
    """The server sends the leaf and its intermediate, and a client that
    trusts only the root verifies them."""
    with env.server(cert="rsa2048") as srv:
        p = run([tool("openssl"), "s_client", "-connect",
                 f"127.0.0.1:{srv.port}", "-servername", "localhost",
                 "-CAfile", env.ca, "-showcerts"], input=b"", timeout=15)
        out = p.stdout.decode("latin-1")
        check_eq(out.count("-----BEGIN CERTIFICATE-----"), 2,
                 "certificates sent")
        check("Verify return code: 0 (ok)" in out,
              f"chain does not verify: {short(out[-300:], 300)}")


def suite_case(env, suite):
    """Each TLS 1.3 suite per cell: the server restricted to it where the
    library can (BoringSSL refuses, saying to pin it from the client), and
    a client asking only for it gets it, named alike at both ends."""
    srv = env.server("--ciphersuites", suite, "--tls-min", "1.3")
    try:
        srv.start()
    except StartError as e:
        srv.kill()
        err = e.stderr.strip()
        check(env.backend == "boringssl",
              f"{env.backend} refused --ciphersuites {suite}: {err}")
        check("pin the suite from the client" in err and
              len(err.splitlines()) == 1,
              f"BoringSSL's refusal does not say what to do: {err}")
        srv = env.server("--tls-min", "1.3").start()
    with srv:
        client = s_client(srv, tool("openssl"), "1.3", "-ciphersuites",
                          suite)
        both_ends(client, server_view(srv), cipher=suite)


for _s in SUITES:
    case(f"handshake.suite_{_s}", "tls", suite=_s)(suite_case)
