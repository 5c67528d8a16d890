"""What a run needs before its first cell: builds, certificates, bodies,
CPU assignment and the library facts every row carries.

Problems found here do not stop the run: a backend that does not build or
a body that cannot be fetched turns the cells that need it into error rows
with the reason, and the other cells still run.
"""

import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.request

from . import backends, builds, cli, hostfacts, matrixfile, servers

log = cli.logger('run_matrix')


def _version_number(text):
    m = re.search(r'\d+(?:\.\d+)+[a-z]?', text or '')
    return m.group(0) if m else (text or '-')


def window_requests(cell):
    """Requests in the cell's window: an open-loop level's planned count
    (openloop.py), else the `requests` setting or the mode's default, and
    at least 20 per connection; a bulk window by bytes."""
    planned = (cell.get('openloop') or {}).get('requests')
    if planned:
        return planned
    s = cell['settings']
    if cell['mode'] == 'bulk':
        return bulk_requests(cell)
    n = s['requests'] or matrixfile.MODE_REQUESTS.get(cell['mode'], 0)
    return max(n, 20 * int(cell['concurrency']))


def bulk_requests(cell):
    """A bulk window: the `requests` setting, or enough bodies for
    `bulk_mib` MiB; at least BULK_MIN_PER_CONN per connection."""
    s = cell['settings']
    body = matrixfile.parse_body(cell['body'])
    n = s['requests'] or -(-s['bulk_mib'] * 1024 * 1024 // max(body, 1))
    return max(n, matrixfile.BULK_MIN_PER_CONN * int(cell['concurrency']))


def _compact(pairs):
    return ';'.join('%s=%s' % (k, v.replace(';', ',')) for k, v in pairs)


class Context:
    def __init__(self, root, build_root, results_dir, no_build=False):
        self.root = root
        self.build_root = build_root
        self.results_dir = results_dir   # cost modes' top-function files
        self.no_build = no_build
        self.python = '/usr/bin/python3'
        self.ready_timeout = 15.0
        self.cores = hostfacts.cores()
        self.certs_dir = os.path.join(build_root, 'certs')
        self.tmp_root = tempfile.mkdtemp(prefix='tbmatrix-')
        self.builds = {}        # build dir name -> {'binary', 'problem', 'facts'}
        self.bodies_problem = ''
        self.load_binary = None
        self.canary_binary = None
        self.client = 'system'   # the resolved `client` setting
        self.client_facts = {}   # tlsbench-load --version
        self.originals = {}     # snapshot path -> the build's path
        self.client_problem = ''
        self._sha = {}

    # ---- CPUs --------------------------------------------------------
    def server_cpu_list(self, cell):
        n = int(cell['workers'])
        return self.cores[:n]

    def server_cpus(self, cell):
        return ','.join(str(c) for c in self.server_cpu_list(cell))

    def client_cpu_list(self, cell):
        rest = self.cores[int(cell['workers']):]
        return rest or self.cores   # one core: share it (and say so)

    def client_cpus(self, cell):
        return ','.join(str(c) for c in self.client_cpu_list(cell))

    def client_threads(self, cell):
        return len(self.client_cpu_list(cell))

    def load_max_time(self, cell):
        """The load run's --max-time: generous for the slowest cell (a
        few hundred full handshakes a second) and its warm-up; an
        open-loop level's window may last its window_cap."""
        s = cell['settings']
        cap = s['window_cap'] if cell.get('openloop') else 0
        return int(120 + cap + window_requests(cell) / 100 + s['warmup'])

    # ---- builds ------------------------------------------------------
    def build_name(self, cell):
        if cell['lib'] == '-':
            return cell['backend']
        name, version, flavor = matrixfile.parse_lib(cell['lib'])
        if flavor == 'debian':
            return name
        return '%s-%s-%s' % (name, version, flavor)

    def _build(self, name, backend, lib):
        """The build directory's tlsbench-server, against the cell's
        library when it names a tuned one; output in build/logs/."""
        bdir = os.path.join(self.build_root, name)
        binary = os.path.join(bdir, 'tlsbench-server')
        if self.no_build and os.path.exists(binary):
            return binary
        logs = os.path.join(self.build_root, 'logs')
        os.makedirs(logs, exist_ok=True)
        logfile = os.path.join(logs, name + '.log')
        with open(logfile, 'w') as lf:
            options = []
            if not os.path.exists(os.path.join(bdir, 'build.ninja')):
                if lib != '-':
                    lname, version, flavor = matrixfile.parse_lib(lib)
                    if flavor != 'debian':
                        options.append('-D%s_prefix=%s' % (lname,
                            builds.tuned_prefix(lname, version, flavor, lf,
                            log)))
                log('configuring %s (log: %s)' % (bdir, logfile))
            return builds.server(bdir, backend, options=options,
                logfile=lf)

    def prepare_builds(self, cells):
        wanted = []
        for c in cells:
            if c['server'] == 'tlsbench':
                key = (self.build_name(c), c['backend'], c['lib'])
                if key not in wanted:
                    wanted.append(key)
        # the load generator comes with every build: make sure one exists;
        # nginx's and asyncio's crypto floor is the openssl backend's
        # (they run on the system OpenSSL): make sure that one exists
        if not any(w[1] != 'none' for w in wanted) or any(c['server'] !=
                'tlsbench' and c['mode'] in matrixfile.FLOOR_MODES +
                ('cost-full',) for c in cells):
            if ('openssl', 'openssl', '-') not in wanted:
                wanted.append(('openssl', 'openssl', '-'))
        for name, backend, lib in wanted:
            if name in self.builds:
                continue
            t = time.monotonic()
            info = {'binary': None, 'problem': '', 'facts': None}
            try:
                info['binary'] = binary = self._build(name, backend, lib)
                info['facts'] = self._tlsbench_facts(binary, backend)
            except builds.BuildError as e:
                info['problem'] = str(e)
            if info['facts']:
                if lib != '-':
                    want = matrixfile.parse_lib(lib)
                    have = info['facts']
                    if not have['library_version'].startswith(want[1]) \
                            or have['flavor'] != want[2]:
                        info['problem'] = '%s is %s, not %s' % (
                            binary, have['lib'], lib)
            if info['binary'] and not info['problem']:
                info['binary'] = self._snapshot(info['binary'])
            self.builds[name] = info
            state = 'ok' if not info['problem'] else info['problem']
            log('build %s: %s (%.0fs)' % (name, state,
                time.monotonic() - t))
        load = self._find_program('tlsbench-load')
        canary = self._find_program('tlsbench-canary')
        self.canary_binary = self._snapshot(canary) if canary else None
        if self.client != 'system':
            load = self._client_build(self.client)
        self.load_binary = self._snapshot(load) if load else None
        if self.load_binary:
            try:
                self.client_facts = builds.version_facts(self.load_binary)
            except builds.BuildError as e:
                log(str(e))

    # ---- the client --------------------------------------------------
    @staticmethod
    def resolve_client(setting):
        """The `client` setting as the run records it: `auto` is
        openssl@<tuned series>-tuned when the tuned-library cache has that
        build (nothing is compiled to find out), else `system`."""
        if setting != 'auto':
            return setting
        series = backends.LIBRARIES['openssl']['tuned']
        try:
            p = subprocess.run([builds.LIBS_SH, '--cached', 'openssl',
                series, 'tuned'], capture_output=True, text=True,
                timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return 'system'
        return 'openssl@%s-tuned' % series if p.returncode == 0 else \
            'system'

    def _client_build(self, client):
        """build/client-<lib>-<series>: tlsbench-load (and the canary)
        linked with the client's OpenSSL prefix; None when it cannot be
        made (every cell then says why)."""
        name, version, flavor = matrixfile.parse_lib(client)
        bdir = os.path.join(self.build_root, 'client-%s-%s' % (name,
            version))
        binary = os.path.join(bdir, 'tlsbench-load')
        if self.no_build and os.path.exists(binary):
            return binary
        logs = os.path.join(self.build_root, 'logs')
        os.makedirs(logs, exist_ok=True)
        logfile = os.path.join(logs, os.path.basename(bdir) + '.log')
        t = time.monotonic()
        try:
            with open(logfile, 'w') as lf:
                prefix = builds.tuned_prefix(name, version, flavor, lf, log)
                builds.load_client(bdir, prefix, lf)
        except builds.BuildError as e:
            self.client_problem = 'client %s: %s' % (client, e)
            log(self.client_problem)
            return None
        log('build %s: ok (%.0fs)' % (os.path.basename(bdir),
            time.monotonic() - t))
        return binary

    def _snapshot(self, binary):
        """A private copy of a binary for the rest of the run: a rebuild
        of the tree during a run must not change or remove what is being
        measured.  Rows show the original path (see shown())."""
        d = os.path.join(self.tmp_root, 'bin', str(len(self.originals)))
        os.makedirs(d)
        copy = os.path.join(d, os.path.basename(binary))
        shutil.copy2(binary, copy)
        self.originals[copy] = binary
        return copy

    def shown(self, text):
        """text with snapshot paths replaced by the binaries' real paths."""
        for copy, orig in self.originals.items():
            text = text.replace(copy, orig)
        return text

    def _find_program(self, program):
        # any server build's tlsbench-load is the same client (the system
        # OpenSSL), its tlsbench-canary the same canary; prefer the
        # openssl build's, as every build made them
        first = [n for n in ('openssl', backends.PLAINTEXT) if n in
            self.builds]
        names = first + [n for n in self.builds if n not in first]
        for n in names:
            p = os.path.join(self.build_root, n, program)
            if os.access(p, os.X_OK):
                return p
        return None

    def server_binary(self, cell):
        return self.builds[self.build_name(cell)]['binary']

    # ---- facts for the lib columns -----------------------------------
    def _tlsbench_facts(self, binary, backend):
        """The lib columns from --version (raises builds.BuildError)."""
        pairs = builds.version(binary)
        d = {}
        for k, v in pairs:
            d.setdefault(k, v)
        name = d.get('backend', backend)
        if name == 'none':
            version, flavor = '-', '-'
            lib = 'none'
        else:
            version = _version_number(d.get('library_version'))
            if not re.match(r'\d', version):
                # BoringSSL has no version number: a prefix's BUILDINFO
                # has one, Debian's package version names the release
                version = _version_number(d.get('buildinfo.version') or
                    self._deb_version('android-libboringssl'))
            flavor = d.get('flavor', 'unknown')
            lib = '%s@%s-%s' % (name, version, flavor)
        skip = {'backend', 'library_version', 'flavor', 'cpu_flags'}
        seen, facts = set(), []
        for k, v in pairs:
            if k not in skip and k not in seen:
                seen.add(k)
                facts.append((k, v))
        return {'lib': lib, 'library_version': version, 'flavor': flavor,
            'build_facts': _compact(facts)}

    @staticmethod
    def _deb_version(package):
        try:
            p = subprocess.run(['dpkg-query', '-W', '-f', '${Version}',
                package], capture_output=True, text=True, timeout=15)
            return p.stdout.strip() if p.returncode == 0 else ''
        except (OSError, subprocess.TimeoutExpired):
            return ''

    def _nginx_facts(self):
        try:
            p = subprocess.run(['nginx', '-V'], capture_output=True,
                text=True, timeout=15)
            text = p.stderr + p.stdout
        except (OSError, subprocess.TimeoutExpired):
            text = ''
        ver = re.search(r'nginx/(\S+)', text)
        built = re.search(r'built with (OpenSSL \S+[^\n]*)', text)
        running = re.search(r'running with (OpenSSL \S+)', text)
        lib_text = (running or built).group(1) if (running or built) else ''
        version = _version_number(lib_text)
        facts = [('nginx', ver.group(1) if ver else '?')]
        if built:
            facts.append(('built_with', built.group(1).strip()))
        facts.append(('resumption_counts', 'client'))
        return {'lib': 'openssl@%s-debian' % version,
            'library_version': version, 'flavor': 'debian',
            'build_facts': _compact(facts)}

    def _asyncio_facts(self):
        code = ('import json,ssl,sys,uvloop;print(json.dumps({"openssl":'
            'ssl.OPENSSL_VERSION,"python":sys.version.split()[0],'
            '"uvloop":uvloop.__version__}))')
        try:
            p = subprocess.run([self.python, '-c', code],
                capture_output=True, text=True, timeout=15)
            d = json.loads(p.stdout)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            d = {'openssl': '?', 'python': '?', 'uvloop': '?'}
        version = _version_number(d['openssl'])
        return {'lib': 'openssl@%s-debian' % version,
            'library_version': version, 'flavor': 'debian',
            'build_facts': _compact([('python', d['python']),
                ('uvloop', d['uvloop']), ('openssl', d['openssl'])])}

    def lib_facts(self, cell):
        key = cell['server']
        if key == 'tlsbench':
            info = self.builds.get(self.build_name(cell))
            if info and info['facts']:
                return info['facts']
            return {'lib': cell['lib'] if cell['lib'] != '-' else
                cell['backend'], 'library_version': '', 'flavor': '',
                'build_facts': ''}
        if key not in self.builds:
            self.builds[key] = {'facts': self._nginx_facts()
                if key == 'nginx' else self._asyncio_facts()}
        return self.builds[key]['facts']

    # ---- certificates ------------------------------------------------
    def prepare_certs(self):
        """suite/certs.sh every run (idempotent, under a second when
        nothing changed), so an old directory gets the current chains.  A
        missing certificate is not fatal: the cells that name it become
        error rows (the server says why)."""
        try:
            builds.certs(self.certs_dir, always=True)
        except builds.BuildError as e:
            log(str(e))

    def cert_files(self, name):
        # passed through even when missing: the server then fails to
        # start and says why, which is what the row records
        return (os.path.join(self.certs_dir, name + '.pem'),
            os.path.join(self.certs_dir, name + '.key'))

    # ---- bodies ------------------------------------------------------
    def body_dir(self, seed):
        return os.path.join(self.build_root, 'bodies', 'seed-%d' % seed)

    def prepare_bodies(self, cells):
        """Fetch each body size once from a tlsbench-server with the same
        seed, so nginx and asyncio serve byte-identical bodies."""
        need = {}
        for c in cells:
            need.setdefault(c['settings']['seed'], set()).add(c['body'])
        for seed, bodies in sorted(need.items()):
            d = self.body_dir(seed)
            todo = [b for b in sorted(bodies) if not os.path.exists(
                os.path.join(d, b))]
            if todo:
                problem = self._fetch_bodies(seed, todo, d)
                if problem:
                    self.bodies_problem = problem
                    log(problem)

    def _fetch_bodies(self, seed, names, d):
        order = [backends.PLAINTEXT] + [n for n in self.builds
            if n != backends.PLAINTEXT]
        src = next((n for n in order if self.builds.get(n, {}).get(
            'binary')), None)
        if src is None:
            return 'no tlsbench-server build to fetch the bodies from'
        binary = self.builds[src]['binary']
        args = ['--seed', str(seed)]
        if src != backends.PLAINTEXT:
            cert, key = self.cert_files('rsa2048')
            args += ['--cert', cert, '--key', key]
        os.makedirs(d, exist_ok=True)
        server = servers.Tlsbench(tempfile.mkdtemp(dir=self.tmp_root),
            binary, args)
        try:
            url = server.start(timeout=10)
            sslctx = ssl.create_default_context()
            sslctx.check_hostname = False
            sslctx.verify_mode = ssl.CERT_NONE
            for name in names:
                want = matrixfile.parse_body(name)
                with urllib.request.urlopen(url + '/' + name, timeout=30,
                        context=sslctx if url.startswith('https')
                        else None) as r:
                    data = r.read()
                if len(data) != want:
                    return 'body /%s from %s: %d bytes, want %d' % (
                        name, binary, len(data), want)
                with open(os.path.join(d, name) + '.part', 'wb') as f:
                    f.write(data)
                os.rename(os.path.join(d, name) + '.part',
                    os.path.join(d, name))
        except servers.ServerError as e:
            return 'cannot fetch bodies: %s did not start: %s' % (binary, e)
        except OSError as e:
            return 'cannot fetch bodies from %s: %s' % (binary, e)
        finally:
            server.stop(timeout=10)
        return ''

    def body_sha256(self, seed, body):
        key = (seed, body)
        if key not in self._sha:
            path = os.path.join(self.body_dir(seed), body)
            try:
                with open(path, 'rb') as f:
                    self._sha[key] = hashlib.sha256(f.read()).hexdigest()
            except OSError:
                self._sha[key] = None
        return self._sha[key]

    # ---- per cell ----------------------------------------------------
    def cell_problem(self, cell):
        if self.load_binary is None:
            return self.client_problem or 'no tlsbench-load binary ' \
                'under %s (build one: meson setup build/openssl ' \
                '-Dtls=openssl && ninja -C build/openssl)' % self.build_root
        if self.canary_binary is None and cell['mode'] in \
                matrixfile.WINDOW_MODES:
            return 'no tlsbench-canary under %s (ninja -C %s/openssl, or ' \
                'drop --no-build)' % (self.build_root, self.build_root)
        if cell['server'] == 'tlsbench':
            info = self.builds.get(self.build_name(cell), {})
            return info.get('problem') or ('' if info.get('binary')
                else 'no build for %s' % self.build_name(cell))
        if self.bodies_problem and not os.path.exists(os.path.join(
                self.body_dir(cell['settings']['seed']), cell['body'])):
            return self.bodies_problem
        return ''
