#!/usr/bin/env python3
"""tls_capture.py: a TCP relay that captures the TLS records of each
connection, the tests' independent view of what a handshake put on the wire.

usage: tls_capture.py --target HOST:PORT --port-file F --out F --conns N

Listens on 127.0.0.1 (an ephemeral port, written to --port-file), relays
every connection to --target, and once N connections have closed writes one
JSON list to --out, a connection an object:

  version        "1.3" or "1.2" (the ServerHello's)
  resumed        the server accepted a PSK (1.3) or resumed a session (1.2)
  client_hs      [bytes, records] the client sent up to its Finished
  server_hs      [bytes, records] the server sent in its handshake: in 1.3
                 what arrived before the client's Finished, in 1.2 up to the
                 server's Finished
  server_after   sizes of the server's records after that (1.3: the tickets
                 first, then the response)
  key_shares     [group, key hex] of each ClientHello key share
  sh_key_share   the ServerHello carried a key share
  early_data     the ClientHello offered early data (then client_hs is not
                 computed: the early records sit between CH and Finished)

Sizes include the 5-byte record header.  Bounded: exits 1 after --timeout
seconds (default 60).
"""
import argparse
import json
import os
import select
import socket
import sys
import time

HANDSHAKE, CCS, APPDATA = 22, 20, 23


def records(buf):
    """Complete records in buf: [(type, size, end offset)]."""
    out, off = [], 0
    while off + 5 <= len(buf):
        size = 5 + (buf[off + 3] << 8 | buf[off + 4])
        if off + size > len(buf):
            break
        out.append((buf[off], size, off + size))
        off += size
    return out


def extensions(body, off):
    """{type: data} of the extension block at body[off:]."""
    exts = {}
    if off + 2 > len(body):
        return exts
    end = off + 2 + (body[off] << 8 | body[off + 1])
    off += 2
    while off + 4 <= end:
        t = body[off] << 8 | body[off + 1]
        n = body[off + 2] << 8 | body[off + 3]
        exts[t] = body[off + 4:off + 4 + n]
        off += 4 + n
    return exts


def client_hello(stream):
    """(key shares, offered early data) of the first record's ClientHello."""
    body = stream[5 + 4:]  # record header, handshake header
    off = 2 + 32
    off += 1 + body[off]  # session id
    off += 2 + (body[off] << 8 | body[off + 1])  # cipher suites
    off += 1 + body[off]  # compression
    exts = extensions(body, off)
    shares, ks = [], exts.get(51, b"")
    i = 2
    while i + 4 <= len(ks):
        g = ks[i] << 8 | ks[i + 1]
        n = ks[i + 2] << 8 | ks[i + 3]
        shares.append([g, ks[i + 4:i + 4 + n].hex()])
        i += 4 + n
    return shares, 42 in exts, body[35:35 + body[34]]


def server_hello(stream):
    """(TLS 1.3?, key share?, PSK accepted?, session id) of the ServerHello."""
    body = stream[5 + 4:]
    off = 2 + 32
    sid = body[off + 1:off + 1 + body[off]]
    off += 1 + body[off] + 2 + 1
    exts = extensions(body, off)
    v13 = exts.get(43) == b"\x03\x04"
    return v13, 51 in exts, 41 in exts, sid


def analyse(c):
    """c: the relayed bytes each way and when each chunk arrived."""
    cs, ss = bytes(c["c"]), bytes(c["s"])
    crec, srec = records(cs), records(ss)
    if not crec or not srec:
        return {"error": "no complete ClientHello/ServerHello"}

    def seq_at(chunks, end):  # the chunk that completed byte end
        total = 0
        for seq, n in chunks:
            total += n
            if total >= end:
                return seq
        return None

    shares, early, ch_sid = client_hello(cs)
    v13, sh_ks, psk, sh_sid = server_hello(ss)
    out = {"version": "1.3" if v13 else "1.2", "key_shares": shares,
           "sh_key_share": sh_ks, "early_data": early}
    if v13:
        out["resumed"] = psk
        if early:
            return out
        fin = next(i for i, r in enumerate(crec) if r[0] == APPDATA)
        fin_seq = seq_at(c["cc"], crec[fin][2])
        nserv = sum(1 for r in srec if seq_at(c["sc"], r[2]) < fin_seq)
    else:
        out["resumed"] = bool(ch_sid) and ch_sid == sh_sid
        fin = next(i for i, r in enumerate(crec) if r[0] == CCS) + 1
        nserv = next(i for i, r in enumerate(srec) if r[0] == CCS) + 2
    out["client_hs"] = [sum(r[1] for r in crec[:fin + 1]), fin + 1]
    out["server_hs"] = [sum(r[1] for r in srec[:nserv]), nserv]
    out["server_after"] = [r[1] for r in srec[nserv:]]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--conns", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(64)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(lst.getsockname()[1]))
    os.rename(a.port_file + ".tmp", a.port_file)

    peer, conns, done, seq = {}, {}, [], 0
    end = time.monotonic() + a.timeout
    while len(done) < a.conns:
        if time.monotonic() > end:
            sys.exit("tls_capture: %d of %d connections in %g s"
                     % (len(done), a.conns, a.timeout))
        rd, _, _ = select.select([lst] + list(peer), [], [], 0.2)
        for s in rd:
            if s is lst:
                cl, _ = lst.accept()
                sv = socket.create_connection((host, int(port)))
                for x in (cl, sv):
                    x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                c = {"c": bytearray(), "s": bytearray(), "cc": [], "sc": [],
                     "open": 2}
                peer[cl], peer[sv] = sv, cl
                conns[cl], conns[sv] = (c, "c"), (c, "s")
                continue
            if s not in peer:
                continue
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                data = b""
            c, side = conns[s]
            if data:
                seq += 1
                c[side] += data
                c[side + "c"].append((seq, len(data)))
                peer[s].sendall(data)
                continue
            # EOF one way: pass it on; the connection ends with both.
            other = peer.pop(s)
            try:
                other.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            c["open"] -= 1
            if c["open"] == 0:
                s.close()
                other.close()
                done.append(analyse(c))
    with open(a.out, "w") as f:
        json.dump(done, f)


if __name__ == "__main__":
    main()
