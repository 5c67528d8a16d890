"""A server's CPU, memory and descriptors from /proc, the same way for
every server and every program of the suite.

A server is a process tree (nginx: master and worker; tlsbench: one process
per worker).  CPU is the sum of utime and stime over every live process in
the tree, each counted once across all its threads (the process line of
/proc/PID/stat already sums its threads).  Sampled right before and right
after a measured window, only the window's work is in the difference.
"""

import os

TICKS = os.sysconf('SC_CLK_TCK')


def _children(pid):
    kids = []
    try:
        for tid in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/children' % (pid, tid)) as f:
                kids.extend(int(p) for p in f.read().split())
    except OSError:
        pass
    return kids


def tree(pid):
    """pid and all its live descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.append(p)
        todo.extend(_children(p))
    return out


def _cpu_ticks(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return 0, 0
    # the command name may hold spaces: fields start after the last ')'
    fields = stat.rsplit(')', 1)[1].split()
    return int(fields[11]), int(fields[12])   # utime, stime


def cpu(pid):
    """(user_s, sys_s) of the process tree rooted at pid."""
    user = sys_ = 0
    for p in tree(pid):
        u, s = _cpu_ticks(p)
        user += u
        sys_ += s
    return user / TICKS, sys_ / TICKS


def _status_kib(pid, key):
    total = 0
    for p in tree(pid):
        try:
            with open('/proc/%d/status' % p) as f:
                for line in f:
                    if line.startswith(key + ':'):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def rss_kib(pid):
    """Resident memory now (VmRSS) summed over the tree, in KiB."""
    return _status_kib(pid, 'VmRSS')


def peak_rss_kib(pid):
    """Peak resident memory (VmHWM) summed over the tree, in KiB."""
    return _status_kib(pid, 'VmHWM')


def fds(pid):
    """Open file descriptors over the tree (what a server out of
    descriptors still holds, when it cannot open a stats file)."""
    n = 0
    for p in tree(pid):
        try:
            n += len(os.listdir('/proc/%d/fd' % p))
        except OSError:
            pass
    return n
