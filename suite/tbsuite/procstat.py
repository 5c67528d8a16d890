"""A server's CPU, memory and descriptors from /proc, the same way for
every server and every program of the suite.

A server is a process tree (nginx: master and worker; tlsbench: one process
per worker).  Its CPU comes two ways, both summed over every live process
of the tree:

  schedstat  nanoseconds on a CPU, the scheduler's own clock, per thread
             (/proc/PID/task/TID/schedstat, first field): exact, what a
             figure per request divides
  ticks      utime and stime from /proc/PID/stat (the process line sums its
             threads), in clock ticks (10 ms at USER_HZ 100): only the
             split between user and system time, which schedstat lacks

Sampled right before and right after a measured window, only the window's
work is in the difference.  steal() reads the CPUs' steal time from
/proc/stat: time a hypervisor gave another guest while this one wanted
the CPU.
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


def _schedstat_ns(pid):
    total = 0
    try:
        tids = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return 0
    for tid in tids:
        try:
            with open('/proc/%d/task/%s/schedstat' % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            pass    # a thread that ended between the listing and the read
    return total


def cpu_ns(pid):
    """Nanoseconds the process tree rooted at pid ran on a CPU
    (schedstat, every thread of every process)."""
    return sum(_schedstat_ns(p) for p in tree(pid))


def steal_s(cpus):
    """Steal time in seconds so far, summed over the CPUs (numbers) given:
    the 8th value of each `cpuN` line of /proc/stat, in clock ticks."""
    want = {'cpu%d' % c for c in cpus}
    total = 0
    try:
        with open('/proc/stat') as f:
            for line in f:
                fields = line.split()
                if fields and fields[0] in want and len(fields) > 8:
                    total += int(fields[8])
    except OSError:
        return 0.0
    return total / TICKS


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
