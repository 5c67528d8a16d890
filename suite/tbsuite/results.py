"""The results CSV: its columns, durable appends, and reading it back.

COLUMNS is the schema; results/README.md documents each one in this order
and tests/suite/test_matrix.sh checks the two agree.  Each row is written
with one write(), flushed and fsynced before the next cell starts, so a run
killed at any moment leaves a valid file that `--resume` can complete.  A
row that cannot be written whole (a full disk: the write may be short
before it fails) is cut off again and raises WriteError, so the file never
ends in a partial line.
"""

import csv
import errno
import io
import os

# bytes on the wire per handshake: means over the window's handshakes of
# the mode's kind (full or resumed), from the load generator
WIRE_COLUMNS = (
    'hs_client_bytes', 'hs_server_bytes', 'hs_client_records',
    'hs_server_records', 'hs_client_segments', 'hs_server_segments',
    'hs_ticket_bytes',
)

COLUMNS = (
    # the run and the machine
    'run_id', 'utc', 'git_commit', 'host', 'cpu_model', 'cores', 'kernel',
    'cpu_flags',
    # the cell, the libraries and what they negotiated
    'cell', 'server', 'backend', 'lib', 'library_version', 'flavor',
    'build_facts', 'client_library', 'tls_version', 'negotiated_cipher',
    'negotiated_group', 'negotiated_sigalg', 'cert', 'group', 'suite', 'mode',
    'resumption', 'tls_settings', 'concurrency', 'body_bytes', 'workers', 'io',
    'server_cpus', 'client_cpus',
    # where the row sits in the run, and the machine's speed then
    'block', 'block_pos', 'block_seed', 'is_reference', 'repeat', 'canary_ns',
    'steal_s',
    # what happened in the measured window
    'duration_s', 'requests', 'errors', 'rps', 'server_requests',
    'handshakes_full', 'handshakes_resumed', 'handshakes_source',
    'client_handshakes_full', 'client_handshakes_resumed',
    'hs_full_per_s', 'hs_resumed_per_s',
    'lat_p50_us', 'lat_p90_us', 'lat_p99_us', 'lat_p999_us', 'lat_max_us',
    'warmup_s', 'warmup_requests',
    'server_cpu_s', 'server_cpu_user_s', 'server_cpu_sys_s',
    'server_us_per_req', 'ratio_to_ref', 'server_util',
    'server_peak_rss_kib', 'client_cpu_s', 'client_cpu_share',
    'client_saturated', 'bound',
) + WIRE_COLUMNS + (
    # a bulk window's server CPU per MiB of bodies
    'server_us_per_mib',
    # open-loop levels, the handshake phase, how resumptions went (the
    # resumption axes, the server's confirmation) and early data
    'psk', 'resume_via', 'load_fraction', 'client_shares_core',
    'capacity_rps', 'offered_rps', 'late_starts', 'p999_samples',
    'window_capped', 'hs_p50_us', 'hs_p90_us', 'hs_p99_us', 'hs_p999_us',
    'resumed_ticket', 'resumed_id', 'resumed_psk_ke', 'resumed_psk_dhe_ke',
    'client_resumed_psk_ke', 'client_resumed_psk_dhe_ke',
    'confirmed_resumption', 'expected_full_share', 'early_offered',
    'early_accepted', 'early_rejected', 'client_early_offered',
    'client_early_accepted', 'client_early_rejected', 'anti_replay',
    # cost and memory modes, and the crypto floor (suite/cost/)
    'ops_n1', 'ops_n2', 'instr_n1', 'instr_n2', 'instr_per_op',
    'instr_core', 'instr_libevent', 'instr_libc', 'instr_tls', 'instr_other',
    'syscalls_per_op', 'syscalls_by_kind', 'cost_top_file', 'mem_conns', 'rss_base_kib', 'rss_held_kib',
    'rss_after_kib', 'kib_per_conn', 'floor_sig_alg', 'floor_group',
    'floor_sign_us', 'floor_kex_us', 'floor_us', 'cost_over_floor',
    'floor_instr', 'cost_over_floor_instr',
    # how to reproduce it, and whether it worked
    'server_command', 'command', 'measure_s', 'status', 'reason',
)

# What the measurement protocol added (blocks, the reference, the canary,
# clean windows): a CSV written before it lacks these, and readers take
# them as empty, "not measured"; any other missing column is an error.
SINCE_PROTOCOL = (
    'client_library', 'negotiated_sigalg', 'group', 'suite', 'tls_settings',
    'io', 'block', 'block_pos', 'block_seed', 'is_reference', 'canary_ns',
    'steal_s', 'client_handshakes_full', 'client_handshakes_resumed',
    'warmup_s', 'warmup_requests', 'server_cpu_s', 'ratio_to_ref',
    'server_util', 'bound', 'measure_s',
    # and the cost modes' split by object and system calls, added with it
    'instr_core', 'instr_libevent', 'instr_libc', 'instr_tls', 'instr_other',
    'syscalls_per_op', 'syscalls_by_kind',
)
# What came after it: the handshakes' bytes on the wire and bulk windows
SINCE_WIRE = WIRE_COLUMNS + ('server_us_per_mib',)
# and open-loop levels, the resumption axes and early data
SINCE_LATENCY = COLUMNS[COLUMNS.index('psk'):COLUMNS.index('anti_replay') + 1]
# columns an older CSV may lack: readers take them as empty
LATER_COLUMNS = SINCE_PROTOCOL + SINCE_WIRE + SINCE_LATENCY


def missing_columns(header):
    """The schema's columns a CSV header lacks, those an older run lacks
    by nature (LATER_COLUMNS) left out."""
    return [c for c in COLUMNS if c not in header and c not in LATER_COLUMNS]


def format_row(row):
    buf = io.StringIO()
    csv.writer(buf, lineterminator='\n').writerow(
        ['' if row.get(c) is None else row.get(c) for c in COLUMNS])
    return buf.getvalue()


def repair(path):
    """Drop a partial last line (a kill mid-write) so appends stay valid."""
    with open(path, 'rb+') as f:
        data = f.read()
        if data and not data.endswith(b'\n'):
            f.truncate(data.rfind(b'\n') + 1)


def open_for_append(path):
    """Open (creating with a header) and return a file descriptor."""
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    if not new:
        repair(path)
        with open(path, newline='') as f:
            header = next(csv.reader(f), [])
        if tuple(header) != COLUMNS:
            raise ValueError('%s has a different header than this '
                'version writes; resume it with the version that '
                'started it' % path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    if new:
        _write_line(fd, format_row({c: c for c in COLUMNS}).encode())
    return fd


class WriteError(Exception):
    """A line could not be written; the file is as it was before it."""


def _fd_path(fd):
    try:
        return os.readlink('/proc/self/fd/%d' % fd)
    except OSError:
        return 'fd %d' % fd


def _write_error(fd, e):
    path = _fd_path(fd)
    where = os.path.dirname(path) or '.'
    try:
        st = os.statvfs(where)
        free = ' (the filesystem holding %s has %d KiB free)' % (where,
            st.f_bavail * st.f_frsize // 1024)
    except OSError:
        free = ''
    return WriteError('cannot write a row to %s: %s%s' % (path,
        e.strerror or e, free))


def _write_line(fd, data):
    """Append data whole and fsync it, or leave the file as it was."""
    size = os.lseek(fd, 0, os.SEEK_END)
    try:
        done = 0
        while done < len(data):
            # a full disk can take part of a write: the retry of the
            # rest then reports why
            n = os.write(fd, data[done:])
            if n <= 0:
                raise OSError(errno.EIO, 'write wrote nothing')
            done += n
        os.fsync(fd)
    except OSError as e:
        try:
            os.ftruncate(fd, size)
        except OSError:
            pass
        raise _write_error(fd, e) from None


def append(fd, row):
    _write_line(fd, format_row(row).encode())


def read(path):
    """The rows of a results CSV as dicts; a column the file predates
    (LATER_COLUMNS) reads as empty."""
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for c in LATER_COLUMNS:
            r.setdefault(c, '')
    return rows
