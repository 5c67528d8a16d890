#!/usr/bin/python3
"""asyncio + uvloop HTTPS server: the reference the original experiment used.

Serves the same static bodies as tlsbench-server (files named after the URL
path in --body-dir: 20k, 1k, 1m; `/` is 20k) over HTTP/1.1 with keep-alive
and `Connection: close`, on one event loop in one process.  It counts what
tlsbench counts where Python's ssl module lets it see: full and resumed
handshakes (SSLObject.session_reused once the handshake is done), requests
and statuses.  SIGUSR1 appends one JSON line of counters to --stats-file;
SIGTERM/SIGINT stop it, write a final line and exit 0.

What Python's ssl cannot do, and so this server does not: pick TLS 1.3
cipher suites or several key-exchange groups, or switch off OpenSSL's
server-side session cache (resumption `none` and `tickets` only stop
tickets; the load generator resumes with tickets, so this is moot for the
suite's modes).
"""

import argparse
import asyncio
import json
import os
import resource
import signal
import ssl
import sys
import time

STATUS_TEXT = {200: 'OK', 400: 'Bad Request', 404: 'Not Found',
    405: 'Method Not Allowed', 431: 'Request Header Fields Too Large',
    505: 'HTTP Version Not Supported'}
MAX_HEADER = 8192


class Stats:
    def __init__(self):
        self.started = time.monotonic()
        self.c = dict.fromkeys((
            'conns_accepted', 'conns_active', 'conns_completed',
            'conns_failed', 'handshakes_full', 'handshakes_resumed',
            'handshakes_failed', 'requests', 'status_200', 'status_400',
            'status_404', 'status_405', 'status_431', 'status_505',
            'bytes_sent'), 0)
        self.tls_settings = {}

    def line(self):
        ru = resource.getrusage(resource.RUSAGE_SELF)
        out = {'pid': os.getpid(), 'workers': 1,
            'uptime_s': round(time.monotonic() - self.started, 3)}
        out.update(self.c)
        out['cpu_user_us'] = int(ru.ru_utime * 1e6)
        out['cpu_sys_us'] = int(ru.ru_stime * 1e6)
        out['max_rss_kib'] = ru.ru_maxrss
        out['tls_settings'] = self.tls_settings
        return json.dumps(out)


class HttpProtocol(asyncio.Protocol):
    """One connection: parse requests in order, answer from memory."""

    def __init__(self, bodies, stats):
        self.bodies = bodies
        self.stats = stats
        self.buf = b''
        self.transport = None
        self.closing = False

    def connection_made(self, transport):
        # with ssl=, asyncio calls this only after the handshake completed
        self.transport = transport
        st = self.stats.c
        st['conns_accepted'] += 1
        st['conns_active'] += 1
        sslobj = transport.get_extra_info('ssl_object')
        if sslobj is not None:
            if sslobj.session_reused:
                st['handshakes_resumed'] += 1
            else:
                st['handshakes_full'] += 1

    def connection_lost(self, exc):
        st = self.stats.c
        st['conns_active'] -= 1
        st['conns_failed' if exc else 'conns_completed'] += 1

    def data_received(self, data):
        if self.closing:
            return
        self.buf += data
        while not self.closing:
            end = self.buf.find(b'\r\n\r\n')
            if end < 0:
                if len(self.buf) > MAX_HEADER:
                    self.respond(431, b'', False, True)
                return
            head, self.buf = self.buf[:end], self.buf[end + 4:]
            self.handle(head)

    def handle(self, head):
        lines = head.split(b'\r\n')
        parts = lines[0].split()
        if len(parts) != 3:
            return self.respond(400, b'', False, True)
        method, path, version = parts
        headers = {}
        for h in lines[1:]:
            name, sep, value = h.partition(b':')
            if not sep:
                return self.respond(400, b'', False, True)
            headers[name.strip().lower()] = value.strip().lower()
        if version not in (b'HTTP/1.1', b'HTTP/1.0'):
            return self.respond(505, b'', False, True)
        conn = headers.get(b'connection', b'')
        close = b'close' in conn or (version == b'HTTP/1.0' and
            b'keep-alive' not in conn)
        if method not in (b'GET', b'HEAD'):
            return self.respond(405, b'', False, True)
        body = self.bodies.get(path.split(b'?', 1)[0])
        if body is None:
            return self.respond(404, b'', False, close)
        self.respond(200, body, method == b'HEAD', close)

    def respond(self, status, body, head_only, close):
        st = self.stats.c
        st['requests'] += 1
        key = 'status_%d' % status
        st[key] = st.get(key, 0) + 1
        hdr = ('HTTP/1.1 %d %s\r\nServer: asyncio-uvloop\r\n'
            'Content-Type: application/octet-stream\r\n'
            'Content-Length: %d\r\n%s\r\n' % (status, STATUS_TEXT[status],
            len(body), 'Connection: close\r\n' if close else '')).encode()
        out = hdr if head_only else hdr + body
        st['bytes_sent'] += len(out)
        self.transport.write(out)
        if close:
            self.closing = True
            self.transport.close()


def load_bodies(body_dir):
    bodies = {}
    for name in os.listdir(body_dir):
        with open(os.path.join(body_dir, name), 'rb') as f:
            bodies[b'/' + name.encode()] = f.read()
    if b'/20k' in bodies:
        bodies[b'/'] = bodies[b'/20k']
    return bodies


def make_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    versions = {'1.2': ssl.TLSVersion.TLSv1_2, '1.3': ssl.TLSVersion.TLSv1_3}
    ctx.minimum_version = versions[args.tls_min]
    ctx.maximum_version = versions[args.tls_max]
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)
    if args.resumption in ('none', 'cache'):
        ctx.options |= ssl.OP_NO_TICKET
    if args.resumption == 'none':
        ctx.num_tickets = 0
    return ctx


def parse_args(argv):
    p = argparse.ArgumentParser(description='asyncio + uvloop HTTPS '
        'reference server for tlsbench (see the module docstring).')
    p.add_argument('--listen', default='127.0.0.1:8443',
        help='HOST:PORT (port 0: ephemeral)')
    p.add_argument('--cert', required=True)
    p.add_argument('--key', required=True)
    p.add_argument('--tls-min', choices=('1.2', '1.3'), default='1.2')
    p.add_argument('--tls-max', choices=('1.2', '1.3'), default='1.3')
    p.add_argument('--ciphers', default='', help='TLS 1.2 cipher list')
    p.add_argument('--resumption', default='both',
        choices=('none', 'cache', 'tickets', 'both'))
    p.add_argument('--body-dir', required=True,
        help='directory of bodies named for their path (20k, 1k, 1m)')
    p.add_argument('--stats-file', default='')
    p.add_argument('--backlog', type=int, default=4096,
        help='listen backlog (as tlsbench: the kernel caps it at somaxconn)')
    p.add_argument('--no-uvloop', action='store_true',
        help='plain asyncio loop (for comparison)')
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    host, _, port = args.listen.rpartition(':')
    host = host.strip('[]')
    try:
        ctx = make_context(args)
        bodies = load_bodies(args.body_dir)
    except (OSError, ssl.SSLError, ValueError) as e:
        print('asyncio_server: %s' % e, file=sys.stderr)
        return 2
    if not args.no_uvloop:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    loop = asyncio.new_event_loop()
    stats = Stats()
    # as tlsbench reports what its library applied
    stats.tls_settings = {
        'tickets_per_handshake': str(ctx.num_tickets if
            not ctx.options & ssl.OP_NO_TICKET else 0),
        'session_cache': 'openssl default (Python cannot turn it off)'}

    def exception_handler(lp, context):
        # failed handshakes land here; count them instead of logging
        stats.c['handshakes_failed'] += 1

    loop.set_exception_handler(exception_handler)

    def write_stats():
        if args.stats_file:
            with open(args.stats_file, 'a') as f:
                f.write(stats.line() + '\n')

    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGUSR1, write_stats)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or
            stop.set_result(None))

    async def serve():
        server = await loop.create_server(
            lambda: HttpProtocol(bodies, stats), host, int(port),
            ssl=ctx, backlog=args.backlog, reuse_address=True)
        sock = server.sockets[0].getsockname()
        shown = '[%s]' % sock[0] if ':' in sock[0] else sock[0]
        print('listening https://%s:%d' % (shown, sock[1]), flush=True)
        await stop
        server.close()

    try:
        loop.run_until_complete(serve())
    except OSError as e:
        print('asyncio_server: cannot listen on %s: %s' %
            (args.listen, e), file=sys.stderr)
        return 2
    write_stats()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
