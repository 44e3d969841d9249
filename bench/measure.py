#!/usr/bin/env python3
"""Run one client command pinned to a CPU and report what it cost.

    bench/measure.py [--cpu N] [--out FILE] [--timeout S] [--server-pid PID] -- command args...

The command runs with its affinity set to CPU N (default 1, like `taskset -c 1`) and its
stdout/stderr inherited. When it exits, one JSON object goes to FILE (or to stderr):

    {"rc": 0, "wall_s": 5.01, "user_s": 0.51, "sys_s": 4.45, "maxrss_kb": 5120,
     "ru_maxrss_kb": 11040, "server_cpu_s": 4.9, "kthread_cpu_s": 0.02,
     "busy_cpu_s": 9.95, "other_cpu_s": 0.03, "steal_s": 0.0, "timed_out": false}

user_s, sys_s: the client process's CPU from wait4()'s struct rusage (every thread of it,
io_uring's io-wq workers included). With tick-based CPU accounting (no
CONFIG_IRQ_TIME_ACCOUNTING) sys_s includes the softirq work that ran in the client's context
(on loopback: much of the server's TCP receive path).

maxrss_kb: the client's peak resident set, VmHWM of /proc/PID/status, sampled every 20 ms
while it runs (the high-water mark only grows, so the last sample is the peak, short of
growth in the last 20 ms). Not ru_maxrss: Linux carries the high-water mark of the
pre-exec memory, i.e. of this forked Python process (about 11 MiB), into the child's
ru_maxrss across execve(), so ru_maxrss never reads below that; it is reported as
ru_maxrss_kb all the same.

To tell a clean run from one disturbed by other work on the machine, it also reports, over
the same interval: busy_cpu_s, the CPU time of the whole machine (/proc/stat); with
--server-pid, server_cpu_s, that process and its children (nginx's master and workers);
kthread_cpu_s, kernel threads (ksoftirqd, kworkers: mostly work the run itself causes);
other_cpu_s = busy - client - server - kernel threads: other processes; steal_s: time the
hypervisor took away.

measure.py exits with the command's status (128+signal if it was killed).
"""
import argparse
import json
import os
import signal
import sys
import time

TCK = os.sysconf("SC_CLK_TCK")
SAMPLE_S = 0.02


def machine_cpu():
    """(busy seconds, steal seconds) of all CPUs since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    v += [0] * (8 - len(v))
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    return (user + nice + system + irq + softirq) / TCK, steal / TCK


def proc_cpu(server_pid):
    """({pid: cpu s} of server_pid and its children, {pid: cpu s} of kernel threads)."""
    server, kthreads = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        # rest[0] is field 3 (state): ppid is field 4, flags 9, utime 14, stime 15.
        pid, ppid = int(d), int(rest[1])
        cpu = (int(rest[11]) + int(rest[12])) / TCK
        if server_pid and (pid == server_pid or ppid == server_pid):
            server[pid] = cpu
        elif ppid == 2 or pid == 2:
            kthreads[pid] = cpu
    return server, kthreads


def delta(before, after):
    return sum(v - before.get(k, 0.0) for k, v in after.items())


def vm_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu", default="1", help="CPU list to pin to, e.g. 1 or 1,3 (default 1)")
    ap.add_argument("--out", help="write the JSON result here instead of stderr")
    ap.add_argument("--timeout", type=float, default=0,
                    help="SIGTERM the command after this many seconds, SIGKILL 5 s later")
    ap.add_argument("--server-pid", type=int, default=0,
                    help="also report the CPU used by this process and its children")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command given")
    cpus = set()
    for part in a.cpu.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))

    srv0, kt0 = proc_cpu(a.server_pid)
    m0 = machine_cpu()
    t0 = time.monotonic()
    # The pipe is close-on-exec: EOF on it tells that the child has exec'd, so that
    # VmHWM is sampled from the client's memory, never from the forked copy of Python's.
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        try:
            os.sched_setaffinity(0, cpus)
            os.execvp(cmd[0], cmd)
        except OSError as e:
            print(f"measure.py: {cmd[0]}: {e}", file=sys.stderr)
        os.write(wr, b"x")
        os._exit(127)
    os.close(wr)
    exec_failed = os.read(rd, 1) != b""
    os.close(rd)

    deadline = t0 + a.timeout if a.timeout > 0 else None
    killed = 0
    # Forward Ctrl-C / TERM to the child so that it gets to clean up.
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda sig, _f: os.kill(pid, sig))

    peak = 0
    while True:
        wpid, status, ru = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            break
        if not exec_failed:
            peak = max(peak, vm_hwm_kb(pid))
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            try:
                os.kill(pid, signal.SIGKILL if killed else signal.SIGTERM)
            except ProcessLookupError:
                pass
            killed += 1
            deadline = now + 5
        time.sleep(SAMPLE_S)
    wall = time.monotonic() - t0
    m1 = machine_cpu()
    srv1, kt1 = proc_cpu(a.server_pid)
    rc = os.waitstatus_to_exitcode(status)
    if rc < 0:
        rc = 128 - rc
    client = ru.ru_utime + ru.ru_stime
    res = {"rc": rc, "wall_s": round(wall, 4), "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
           "maxrss_kb": peak or None, "ru_maxrss_kb": ru.ru_maxrss, "timed_out": killed > 0}
    srv = delta(srv0, srv1) if a.server_pid and srv1 else 0.0
    if a.server_pid and srv1:
        res["server_cpu_s"] = round(srv, 3)
    kt = delta(kt0, kt1)
    res["kthread_cpu_s"] = round(kt, 3)
    if m0 and m1:
        busy = m1[0] - m0[0]
        res["busy_cpu_s"] = round(busy, 3)
        res["steal_s"] = round(m1[1] - m0[1], 3)
        res["other_cpu_s"] = round(max(0.0, busy - client - srv - kt), 3)
    line = json.dumps(res)
    if a.out:
        with open(a.out, "w") as f:
            f.write(line + "\n")
    else:
        print(line, file=sys.stderr)
    sys.exit(rc)


if __name__ == "__main__":
    main()
