"""Measure one cell once: the modes, the window, and the row it yields.

A mode says what the load generator does and how a repeat is measured.
The three load modes share one measurement (measure_window); a new kind of
measurement (instruction counts, memory per connection) is a new Mode with
its own `measure` function and, if it needs one, a server wrapper.

measure_window, for every server alike:
  1. start the server pinned to its CPUs and wait until it is ready
  2. warm-up load run (checks the body bytes with --expect-sha256)
  3. sample server CPU (/proc) and counters (SIGUSR1)
  4. measured load run, pinned to the other CPUs
  5. sample server CPU, counters and peak RSS again
  6. SIGTERM the server and require exit status 0
Anything that goes wrong becomes status=error with the reason; the caller
writes the row and moves on.
"""

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time

import matrixfile
import procstat
import servers


class CellError(Exception):
	pass


class Mode:
	def __init__(self, name, load_args, measure, needs_tls=False):
		self.name = name
		self.load_args = load_args
		self.measure = measure
		self.needs_tls = needs_tls


def _load_command(ctx, cell, url, window, check_body):
	"""argv of one load run; window is ('-d', secs) or ('-n', count)."""
	s = cell['settings']
	mode = MODES[cell['mode']]
	flag, amount = window
	cmd = ['taskset', '-c', ctx.client_cpus(cell), ctx.load_binary,
		'-c', cell['concurrency'], '-t', str(ctx.client_threads(cell)),
		flag, str(amount), '--json', '--timeout', '%g' % s['timeout'],
		'--max-time', '%d' % ctx.load_max_time(cell)]
	cmd += mode.load_args
	if cell['tls'] != '-':
		# the suite measures servers: skip chain checks on the client, it
		# still verifies the handshake signature like any client
		cmd += ['--tls', cell['tls'], '--insecure']
		for name in ('ciphers', 'ciphersuites', 'groups'):
			if s[name]:
				cmd += ['--' + name, s[name]]
	body = matrixfile.parse_body(cell['body'])
	sha = ctx.body_sha256(s['seed'], cell['body']) if check_body else None
	if sha:
		cmd += ['--expect-sha256', sha]
	else:
		cmd += ['--expect-length', str(body)]
	cmd.append(url + '/' + cell['body'])
	return cmd


def _run_load(ctx, cmd):
	"""Run the load generator; returns (exit code, parsed JSON, stderr)."""
	bound = ctx.load_max_time_of(cmd) + 30
	try:
		p = subprocess.run(cmd, capture_output=True, text=True,
			timeout=bound, preexec_fn=servers.die_with_parent(9))
	except subprocess.TimeoutExpired:
		raise CellError('load generator still running after %ds' % bound)
	except OSError as e:
		raise CellError('cannot run the load generator: %s' % e)
	err = ' '.join(p.stderr.strip().splitlines()[-2:])
	try:
		out = json.loads(p.stdout)
	except ValueError:
		raise CellError('load generator exit %d without JSON: %s' %
			(p.returncode, err or p.stdout[:200]))
	if p.returncode not in (0, 1):
		raise CellError('load generator exit %d: %s' % (p.returncode, err))
	if not out.get('requests_ok'):
		raise CellError('no successful requests: %s' %
			(out.get('reason') or err or 'load generator gave no reason'))
	return p.returncode, out, err


def _delta(after, before, key):
	if after is None or before is None:
		return None
	return int(after.get(key, 0)) - int(before.get(key, 0))


def _fmt(x, digits=1):
	if x is None:
		return ''
	if isinstance(x, float):
		return ('%.' + str(digits) + 'f') % x
	return str(x)


def measure_window(ctx, cell, repeat, row):
	s = cell['settings']
	tmp = tempfile.mkdtemp(prefix='tbcell-', dir=ctx.tmp_root)
	server = servers.make(cell, ctx, tmp)
	try:
		try:
			url = server.start()
		finally:
			row['server_command'] = ' '.join(
				shlex.quote(a) for a in getattr(server, 'cmdline', []))
		if s['warmup'] > 0:
			_run_load(ctx, _load_command(ctx, cell, url,
				('-d', '%g' % s['warmup']), True))
		window = ('-n', s['requests']) if s['requests'] > 0 else \
			('-d', '%g' % s['duration'])
		cmd = _load_command(ctx, cell, url, window, s['warmup'] <= 0)
		row['command'] = ' '.join(shlex.quote(a) for a in cmd)
		cpu0 = procstat.cpu(server.pid())
		c0 = server.counters()
		rc, out, err = _run_load(ctx, cmd)
		cpu1 = procstat.cpu(server.pid())
		c1 = server.counters()
		rss = procstat.peak_rss_kib(server.pid())
	except (CellError, servers.ServerError) as e:
		rc_stop, why = server.stop()
		row['status'] = 'error'
		row['reason'] = str(e)
		shutil.rmtree(tmp, ignore_errors=True)
		return row
	except BaseException:
		server.stop(timeout=5)
		shutil.rmtree(tmp, ignore_errors=True)
		raise
	rc_stop, why = server.stop()
	shutil.rmtree(tmp, ignore_errors=True)

	dur = float(out.get('duration_s') or 0)
	ok = int(out.get('requests_ok', 0))
	row['duration_s'] = _fmt(dur, 3)
	row['requests'] = ok
	row['errors'] = int(out.get('requests_failed', 0))
	row['rps'] = _fmt(ok / dur if dur > 0 else 0.0)
	neg = out.get('negotiated') or {}
	row['negotiated_cipher'] = neg.get('cipher') or '-'
	row['negotiated_group'] = neg.get('group') or '-'
	if c0 is not None and c1 is not None:
		full = _delta(c1, c0, 'handshakes_full')
		resumed = _delta(c1, c0, 'handshakes_resumed')
		row['server_requests'] = _delta(c1, c0, 'requests')
		row['handshakes_source'] = 'server'
	else:
		full = int(out.get('handshakes_full', 0))
		resumed = int(out.get('handshakes_resumed', 0))
		row['server_requests'] = ''
		row['handshakes_source'] = 'client'
	if cell['tls'] == '-':
		full = resumed = 0
	row['handshakes_full'] = full
	row['handshakes_resumed'] = resumed
	row['hs_full_per_s'] = _fmt(full / dur if dur > 0 else 0.0)
	row['hs_resumed_per_s'] = _fmt(resumed / dur if dur > 0 else 0.0)
	lat = out.get('latency_us') or {}
	for key, col in (('p50', 'lat_p50_us'), ('p90', 'lat_p90_us'),
			('p99', 'lat_p99_us'), ('p999', 'lat_p999_us'),
			('max', 'lat_max_us')):
		row[col] = _fmt(lat.get(key))
	user, sys_ = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
	row['server_cpu_user_s'] = _fmt(user, 3)
	row['server_cpu_sys_s'] = _fmt(sys_, 3)
	served = row['server_requests'] if row['server_requests'] not in \
		('', None) else ok
	row['server_us_per_req'] = _fmt((user + sys_) * 1e6 / served
		if served else None)
	row['server_peak_rss_kib'] = rss
	ccpu = float(out.get('client_cpu_user_s', 0)) + \
		float(out.get('client_cpu_sys_s', 0))
	share = out.get('client_cpu_share')
	row['client_cpu_s'] = _fmt(ccpu, 3)
	row['client_cpu_share'] = _fmt(share, 3) if share is not None else ''
	row['client_saturated'] = 'yes' if share is not None and \
		float(share) >= s['saturation'] else 'no'
	reasons = []
	version = str(neg.get('version') or '')
	if cell['tls'] != '-' and version and not version.endswith(cell['tls']):
		reasons.append('negotiated %s, not TLS %s' % (version, cell['tls']))
	if rc != 0:
		reasons.append('%d requests failed: %s' % (row['errors'],
			out.get('reason') or err or 'no reason'))
	if rc_stop != 0:
		row['status'] = 'error'
		reasons.append(why)
	else:
		row['status'] = 'ok'
	row['reason'] = '; '.join(reasons)
	return row


MODES = {
	'full': Mode('full', ['--close', '--resume', 'none'], measure_window),
	'resumed': Mode('resumed', ['--close', '--resume', 'ticket'],
		measure_window, needs_tls=True),
	'keepalive': Mode('keepalive', [], measure_window),
}


def run(ctx, cell, repeat, base_row):
	"""One row for cell x repeat (never raises for a cell's own failure)."""
	row = dict(base_row)
	row['repeat'] = repeat
	problem = ctx.cell_problem(cell)
	if problem:
		row['status'] = 'error'
		row['reason'] = problem
		return row
	started = time.monotonic()
	row = MODES[cell['mode']].measure(ctx, cell, repeat, row)
	row.setdefault('duration_s', '')
	if row.get('status') == 'error' and not row.get('duration_s'):
		row['duration_s'] = ''
	ctx.note_cell_time(time.monotonic() - started)
	return row
