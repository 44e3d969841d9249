#!/usr/bin/env python3
"""TLS: barrage against wrk over https://, keep-alive, new connections, profile, idle memory.

    bench/tls.py [--rounds 3] [--duration 5] [--conns 64] [--new-conns 16]
                 [--idle-conns 10000] [--idle-duration 10] [--key ec|rsa] [--no-profile]
                 [--no-profile-keepalive] [--scenarios keepalive,newconn,profile,idle]

At start it makes a CA and a server certificate (openssl CLI; ECDSA P-256 by default,
`--key rsa` for RSA-2048; SAN IP:127.0.0.1) and starts nginx (the bench/nginx.conf.in
template, its server block replaced) with two TLS server blocks: one port allowing TLS 1.2 and
1.3, one TLS 1.2 only (wrk cannot choose a version, so every TLS 1.2 run, barrage's too, goes
to that port). Both have `ssl_session_cache shared:S:10m` and `ssl_session_tickets on`. nginx
(one worker) is pinned to SERVER_CPU (0), each client to CLIENT_CPU (1) through
bench/measure.py, one client thread each (barrage -t 1, wrk -t1); barrage verifies the server
against the CA (--cacert), wrk verifies nothing. Within a round the tools run back to back;
tables give medians over rounds.

  1. keepalive: TLS 1.3, CONNS keep-alive connections: requests per client CPU-second.
  2. newconn: a new connection per request (barrage --no-keepalive, sessions resumed;
     wrk -H 'Connection: close': wrk ends a connection with SSL_shutdown + SSL_clear and
     reuses the SSL object, which keeps its session, the newest ticket in TLS 1.3, and offers
     it on the next connect, so wrk resumes TLS 1.2 and 1.3 alike),
     NEW_CONNS connections, TLS 1.3 and 1.2; barrage --no-resume for full handshakes. Before
     the rounds, one short run of each client against a logging location of nginx
     ($ssl_session_reused) tells which handshakes each client resumes.
  3. profile: perf record -e cpu-clock -g (DWARF unwinding: OpenSSL has no frame pointers)
     of barrage in newconn, TLS 1.3, resumed; samples split by where they land: OpenSSL
     (libssl, libcrypto), the kernel (by what the call chain is doing: connect, send,
     shutdown, close ...), libc, barrage; inclusive by barrage function; then wrk profiled
     the same way, and CPU-µs per request of both side by side. Unless
     --no-profile-keepalive, the same comparison for scenario 1 (keep-alive).
  4. idle: peak RSS at IDLE_CONNS keep-alive connections (IDLE_DURATION) minus peak RSS at
     CONNS (scenario 1), divided by the difference: client memory per TLS connection. Also
     the steady RSS (VmRSS sampled between 50% and 90% of the run), since the peak includes
     every handshake in flight at once while the connections open.

Prints a markdown section for bench/RESULTS.md on stdout (progress on stderr); with
--append it is also appended to bench/RESULTS.md. Raw per-run data: --keep DIR.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

from common import (BARRAGE, CLIENT_CPU, ROOT, SERVER_CPU, WRK, clean, cpu_model, first_line, fmt, free_port,
                    git_describe, log, make_certs, measure_cmd, med, parse_wrk, quote, settle, start_nginx,
                    write_outputs)

DISTURBED_SHARE = 0.10      # other CPU above this share of one CPU over a run: disturbed
LOAD_MAX = 1.5              # wait before measuring while the 1-minute load is above this
BUSY_PROC = 0.20            # ... or another process uses more than this share of a CPU
PERF_HZ = 999               # perf record -F


def start_nginx_tls(tmp, crt, key, nofile):
    """nginx with two TLS server blocks in place of the template's: TLS 1.2 and 1.3, and
    TLS 1.2 only; returns (Popen, TLS 1.3 port, TLS 1.2 port, prefix)."""
    p13, p12 = free_port(), free_port()
    blocks = ["    log_format probe '$ssl_protocol $ssl_session_reused $ssl_cipher';",
              "    ssl_certificate %s;" % crt, "    ssl_certificate_key %s;" % key,
              "    ssl_session_cache shared:S:10m;", "    ssl_session_timeout 1h;", "    ssl_session_tickets on;"]
    for port, protocols in ((p13, "TLSv1.2 TLSv1.3"), (p12, "TLSv1.2")):
        blocks += ["    server {",
                   "        listen 127.0.0.1:%d ssl reuseport backlog=4096;" % port,
                   "        ssl_protocols %s;" % protocols,
                   "        root @PREFIX@/html;",
                   '        location / { return 200 "hello"; }',
                   "        # Short probe runs only: which handshakes were resumed.",
                   '        location = /probe { access_log @PREFIX@/probe.log probe; return 200 "hello"; }',
                   "    }"]
    p, _, prefix = start_nginx(tmp, nofile=nofile, worker_connections=nofile - 100, ports=(p13, p12),
                               http_lines=blocks, replace_server=True)
    return p, p13, p12, prefix


def proc_cpu_ticks():
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        out[int(d)] = (st[st.find("(") + 1:st.rfind(")")], int(rest[11]) + int(rest[12]), int(rest[1]))
    return out


def machine_check(seconds=2.0, mine=0):
    """(1-minute load, [(process, share of one CPU)] of the busiest other processes) over
    `seconds`; this script, and `mine` (nginx) with its children, are not counted."""
    a = proc_cpu_ticks()
    time.sleep(seconds)
    b = proc_cpu_ticks()
    tck = os.sysconf("SC_CLK_TCK")
    skip = {os.getpid(), mine}
    busy = sorted(((v[0], (v[1] - a[p][1]) / tck / seconds) for p, v in b.items()
                   if p in a and p not in skip and v[2] not in skip), key=lambda x: -x[1])
    return os.getloadavg()[0], [x for x in busy if x[1] > 0.01][:5]


def wait_quiet(max_wait, mine=0, seconds=2.0):
    """Waits (up to max_wait s) for a quiet machine; returns a line for the notes. The load
    average counts our own runs too (each keeps about 2 CPUs busy), so after the first check
    only other processes' CPU decides."""
    t0 = time.monotonic()
    while True:
        load, busy = machine_check(seconds, mine)
        if mine:
            load = 0.0
        hot = [b for b in busy if b[1] > BUSY_PROC]
        if load <= LOAD_MAX and not hot:
            return "%sno other process above %d%% of a CPU (after %.0f s of waiting)" % (
                "load %.2f, " % load if not mine else "", BUSY_PROC * 100, time.monotonic() - t0)
        if time.monotonic() - t0 > max_wait:
            return "NOT QUIET after %.0f s: load %.2f, busiest: %s" % (
                max_wait, load, ", ".join("%s %.0f%%" % (n, s * 100) for n, s in busy))
        log("waiting for a quieter machine: load %.2f, busiest %s" % (
            load, ", ".join("%s %.0f%%" % (n, s * 100) for n, s in busy)))
        time.sleep(10)


def vm_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def measured(tmp, name, cmd, nginx_pid, timeout=120, duration=0.0):
    """Runs cmd pinned to the client CPU through measure.py; returns (rusage dict, output).
    Also samples the client's VmRSS: rusage["steady_rss_kb"] is the median of the samples
    taken between 50% and 90% of `duration` (connections open, before the teardown)."""
    ru = os.path.join(tmp, name + ".rusage")
    outf = open(os.path.join(tmp, name + ".out"), "w+")
    p = subprocess.Popen(measure_cmd(cmd, ru, nginx_pid, timeout), stdout=outf, stderr=subprocess.STDOUT)
    t0 = time.monotonic()
    child, samples = 0, []
    while p.poll() is None:
        time.sleep(0.1)
        if not child:
            try:
                kids = open("/proc/%d/task/%d/children" % (p.pid, p.pid)).read().split()
                child = int(kids[0]) if kids else 0
            except (OSError, ValueError):
                pass
        t = time.monotonic() - t0
        if child and duration and 0.5 * duration <= t <= 0.9 * duration:
            samples.append(vm_kb(child, "VmRSS"))
    outf.seek(0)
    text = outf.read()
    outf.close()
    r = json.load(open(ru))
    samples = [x for x in samples if x]
    r["steady_rss_kb"] = statistics.median(samples) if samples else None
    return r, text


class Bench:
    def __init__(self, a, tmp, nginx, ports, prefix, ca):
        self.a, self.tmp, self.nginx, self.ports, self.prefix, self.ca = a, tmp, nginx, ports, prefix, ca
        self.n = 0
        self.commands = {}

    def url(self, version, path="/"):
        return "https://127.0.0.1:%d%s" % (self.ports[version], path)

    def barrage_cmd(self, version, conns, dur, extra, json_path, path="/"):
        cmd = [BARRAGE, "-t", "1", "-c", str(conns), "-d", dur, "-q", "--json", json_path, "--cacert", self.ca]
        if version == "1.2":
            cmd += ["--tls-max", "1.2"]
        return cmd + extra + [self.url(version, path)]

    def wrk_cmd(self, version, conns, dur, extra, path="/"):
        return [WRK, "-t1", "-c%d" % conns, "-d" + dur] + extra + [self.url(version, path)]

    def run(self, tool, key, version, conns, dur, extra=(), path="/", timeout=120):
        """One measured run; returns a dict of what matters."""
        self.n += 1
        name = "%03d-%s-%s" % (self.n, tool, key)
        j = os.path.join(self.tmp, name + ".json")
        cmd = (self.barrage_cmd(version, conns, dur, list(extra), j, path) if tool == "barrage"
               else self.wrk_cmd(version, conns, dur, list(extra), path))
        self.commands.setdefault(key + "/" + tool, " ".join(
            os.path.relpath(c, ROOT) if c == BARRAGE else shlex.quote(c) for c in cmd).replace(
            self.ca, "CA.pem").replace(j, "FILE.json").replace(str(self.ports[version]), "PORT"))
        secs = float(dur.rstrip("s"))
        ru, text = measured(self.tmp, name, cmd, self.nginx.pid, timeout, secs)
        cpu = ru["user_s"] + ru["sys_s"]
        r = {"tool": tool, "key": key, "rc": ru["rc"], "cpu_s": cpu, "user_s": ru["user_s"], "sys_s": ru["sys_s"],
             "wall_s": ru["wall_s"], "rss_kb": ru["maxrss_kb"] or 0,
             "steady_rss_kb": ru.get("steady_rss_kb"), "server_cpu_s": ru.get("server_cpu_s", 0.0),
             "kthread_cpu_s": ru.get("kthread_cpu_s", 0.0), "other_cpu_s": ru.get("other_cpu_s", 0.0)}
        r["disturbed"] = r["other_cpu_s"] > DISTURBED_SHARE * r["wall_s"]
        if tool == "barrage":
            try:
                b = json.load(open(j))
            except (OSError, ValueError):
                b = None
            if b:
                tls = b.get("tls", {})
                r.update(ok=b["requests"]["ok"], rps=b["rate"]["achieved"],
                         errors=sum(b.get("errors", {}).values()),
                         errors_by=({k: v for k, v in b["errors"].items() if v}),
                         tls_errors=tls.get("errors", {}),
                         hs_full=tls.get("handshakes_full", 0), hs_resumed=tls.get("handshakes_resumed", 0),
                         hs_full_p50=tls.get("handshake_full_us", {}).get("p50", 0),
                         hs_resumed_p50=tls.get("handshake_resumed_us", {}).get("p50", 0),
                         opened=b.get("connections", {}).get("opened", 0))
            else:
                r.update(ok=0, rps=0.0, errors=-1, failed=text.strip()[-300:])
        else:
            w = parse_wrk(text)
            r.update(ok=w["requests"] - w["non2xx"], rps=w["rps"], errors=w["socket_errors"] + w["non2xx"])
            if not w["requests"]:
                r["failed"] = text.strip()[-300:]
        r["rpcs"] = r["ok"] / cpu if cpu > 0 else 0.0
        r["cpu_us"] = cpu * 1e6 / r["ok"] if r["ok"] else float("nan")
        log("  %-8s %-14s %9.0f req/s  cpu %5.2f s  %9.0f req/CPU-s  rss %6.1f MiB  errors %s  other %.2f s%s" % (
            tool, key, r["rps"], cpu, r["rpcs"], r["rss_kb"] / 1024, r["errors"], r["other_cpu_s"],
            "  DISTURBED" if r["disturbed"] else ""))
        if r.get("failed"):
            log("    output: " + r["failed"].replace("\n", " | "))
        time.sleep(self.a.settle)
        return r

    def probe(self, tool, version, extra):
        """A short run against /probe; returns (resumed, full) handshakes as nginx logged them."""
        logf = os.path.join(self.prefix, "probe.log")
        open(logf, "w").close()
        os.kill(self.nginx.pid, 10)          # SIGUSR1: reopen the log files
        time.sleep(0.3)
        self.run(tool, "probe%s" % version.replace(".", ""), version, 4, "1s", extra, path="/probe")
        lines = open(logf).read().split("\n")
        c = Counter(tuple(l.split()[:2]) for l in lines if l.strip())
        resumed = sum(v for (p, r), v in c.items() if r == "r")
        full = sum(v for (p, r), v in c.items() if r == ".")
        ciphers = Counter(" ".join(l.split()[0:1] + l.split()[2:3]) for l in lines if l.strip())
        return resumed, full, ciphers.most_common(1)[0][0] if ciphers else "?"


def same_round_ratio(xs, ys, f="rpcs"):
    rs = [x[f] / y[f] for x, y in zip(xs, ys) if x["ok"] and y["ok"] and y[f] and not x["disturbed"]
          and not y["disturbed"]]
    if len(rs) < 2:
        rs = [x[f] / y[f] for x, y in zip(xs, ys) if x["ok"] and y["ok"] and y[f]]
    return (statistics.median(rs) if rs else float("nan")), len(rs)


# ---------------------------------------------------------------------------- profile

KERNEL_OPS = [  # (category, markers): the first frame from the root that matches decides
    ("connect", ("io_connect", "__sys_connect", "tcp_v4_connect", "inet_stream_connect", "__inet_stream_connect")),
    ("shutdown (an io-wq worker thread)", ("io_shutdown", "__sys_shutdown", "__x64_sys_shutdown")),
    ("close", ("io_close", "__x64_sys_close", "__fput", "tcp_close", "sock_close", "inet_release")),
    ("socket", ("io_socket", "__sys_socket", "__x64_sys_socket")),
    ("send", ("io_send", "io_sendmsg", "__sys_sendto", "__sys_sendmsg", "tcp_sendmsg", "sock_sendmsg")),
    ("recv", ("io_recv", "io_recvmsg", "__sys_recvfrom", "__sys_recvmsg", "tcp_recvmsg", "sock_recvmsg")),
    ("softirq (RCU frees, timers, loopback receive)", ("net_rx_action", "__do_softirq", "handle_softirqs", "do_softirq")),
    ("page faults, memory", ("exc_page_fault", "asm_exc_page_fault", "__x64_sys_mmap", "__x64_sys_munmap",
                             "__x64_sys_brk", "__x64_sys_madvise")),
    ("io_uring wait and bookkeeping", ("io_uring_enter", "__x64_sys_io_uring_enter", "io_cqring_wait",
                                       "io_uring_")),
    ("scheduler, syscall entry/exit", ("schedule", "syscall_exit_to_user_mode", "entry_SYSCALL_64",
                                       "do_syscall_64")),
]


GENERIC_OPS = ("io_uring wait and bookkeeping", "scheduler, syscall entry/exit")


def kernel_op(stack):
    """The kernel category of a call chain given root first: the first frame that names a
    specific operation (connect, close, send ...) decides; else the first generic one."""
    generic = None
    for sym in stack:
        for cat, marks in KERNEL_OPS:
            if any(sym == mk or (mk.endswith("_") and sym.startswith(mk)) for mk in marks):
                if cat not in GENERIC_OPS:
                    return cat
                generic = generic or cat
    return generic or "other kernel"


def classify_dso(dso, me="barrage"):
    d = os.path.basename(dso.strip("()"))
    if d.startswith("libssl") or d.startswith("libcrypto"):
        return "OpenSSL (libssl, libcrypto)"
    if "kernel" in d or d.startswith("[k"):
        return "kernel"
    if d == me:
        return "the client itself"
    if d.startswith("libluajit"):
        return "LuaJIT"
    if d.startswith("libc.") or d.startswith("libc-") or d.startswith("ld-linux"):
        return "libc, ld.so"
    return "other (%s)" % d


def parse_frames(lines):
    """perf script call-chain lines (--no-inline) -> [(symbol, dso)], leaf first."""
    frames = []
    for l in lines:
        m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", l)
        if m:
            frames.append((re.sub(r"\+0x[0-9a-f]+$", "", m.group(1)), m.group(2)))
    return frames


def perf_profile(b, tool, version, conns, dur, tmp, newconn=True):
    """perf record of one client (newconn, or keep-alive); returns a summary dict (or {"error": ...})."""
    tag = "%s-%s" % (tool, "newconn" if newconn else "keepalive")
    data = os.path.join(tmp, "perf-%s.data" % tag)
    j = os.path.join(tmp, "perf-%s.json" % tag)
    out = os.path.join(tmp, "perf-%s.out" % tag)
    # DWARF unwinding: libssl and libcrypto have no frame pointers, so -g's default (fp) call
    # chains stop inside them and the client function that called OpenSSL is lost.
    cmd = b.barrage_cmd(version, conns, dur, ["--no-keepalive"] if newconn else [], j) if tool == "barrage" else \
        b.wrk_cmd(version, conns, dur, ["-H", "Connection: close"] if newconn else [])
    prefix = ["taskset", "-c", str(CLIENT_CPU), "perf", "record", "-q", "-e", "cpu-clock", "-F", str(PERF_HZ),
              "--call-graph", "dwarf,8192", "-o", data, "--"]
    with open(out, "w") as f:
        p = subprocess.run(prefix + cmd, stdout=f, stderr=subprocess.STDOUT)
    if p.returncode != 0 or not os.path.exists(data):
        return {"error": "perf record failed (rc %d), see %s" % (p.returncode, out)}
    if tool == "barrage":
        res = json.load(open(j))
        ok, rps = res["requests"]["ok"], res["rate"]["achieved"]
        hs = "%d full / %d resumed handshakes" % (res.get("tls", {}).get("handshakes_full", 0),
                                                  res.get("tls", {}).get("handshakes_resumed", 0))
    else:
        w = parse_wrk(open(out).read())
        ok, rps, hs = w["requests"] - w["non2xx"], w["rps"], ""
    s = subprocess.run(["perf", "script", "--no-inline", "-i", data, "-F", "comm,tid,ip,sym,dso"],
                       capture_output=True, text=True, errors="replace").stdout
    me = os.path.basename(cmd[0])
    top, kern, comms, libc_from, ossl_incl = Counter(), Counter(), Counter(), Counter(), Counter()
    syms = defaultdict(Counter)
    incl = defaultdict(Counter)      # innermost function of the client's own binary -> leaf category
    total = 0
    for block in s.split("\n\n"):
        lines = [l for l in block.split("\n") if l.strip()]
        if len(lines) < 2:
            continue
        frames = parse_frames(lines[1:])
        if not frames:
            continue
        comm = re.sub(r"\d+", "N", lines[0].split()[0])
        comms[comm] += 1
        total += 1
        leaf_sym, leaf_dso = frames[0]
        cat = classify_dso(leaf_dso, me)
        top[cat] += 1
        syms[cat][leaf_sym] += 1
        if cat == "kernel":
            kern[kernel_op([sym for sym, _ in reversed(frames)])] += 1
        elif cat == "libc, ld.so":
            callers = [classify_dso(dso, me) for _, dso in frames[1:] if classify_dso(dso, me) != cat]
            libc_from[callers[0] if callers else "unknown"] += 1
        for sym in {sym for sym, dso in frames if classify_dso(dso, me).startswith("OpenSSL") and sym != "[unknown]"}:
            ossl_incl[sym] += 1
        inner = [sym for sym, dso in frames if os.path.basename(dso) == me]
        incl[inner[0] if inner else "(no %s frame; thread %s)" % (tool, comm)][cat] += 1
    if not total:
        return {"error": "perf script gave no samples"}
    # one sample = 1/PERF_HZ s of CPU: CPU-µs per request, category by category
    us = lambda n: n * 1e6 / PERF_HZ / max(ok, 1)
    return {"tool": tool, "total": total, "ok": ok, "rps": rps, "hs": hs, "comms": comms, "top": top,
            "kern": kern, "syms": syms, "libc_from": libc_from, "incl": incl, "ossl_incl": ossl_incl,
            "us_per_req": us(total), "us": us}


def compare_md(bp, wp, title):
    """A table of CPU-µs per request by where the samples landed, barrage against wrk."""
    if not wp or wp.get("error") or bp.get("error"):
        return ["wrk profile: " + (wp or bp or {}).get("error", "none"), ""]
    md = [title + " (CPU-µs per request = samples / %d Hz / requests; perf's own cost is in both):" % PERF_HZ, "",
          "| where | barrage µs/req | wrk µs/req | barrage − wrk |", "|---|--:|--:|--:|"]
    main = ("OpenSSL (libssl, libcrypto)", "libc, ld.so", "kernel", "the client itself")
    rows = [("all", bp["total"], wp["total"])]
    for cat in main:
        rows.append((cat.replace("the client itself", "the client's own binary"), bp["top"].get(cat, 0),
                     wp["top"].get(cat, 0)))
        if cat == "kernel":
            for op, _ in (bp["kern"] + wp["kern"]).most_common():
                rows.append(("&nbsp;&nbsp;kernel: " + op, bp["kern"].get(op, 0), wp["kern"].get(op, 0)))
    rows.append(("other DSOs (liburing, vdso, LuaJIT)", bp["total"] - sum(bp["top"].get(c, 0) for c in main),
                 wp["total"] - sum(wp["top"].get(c, 0) for c in main)))
    for name, nb, nw in rows:
        md.append("| %s | %.2f | %.2f | %+.2f |" % (name, bp["us"](nb), wp["us"](nw), bp["us"](nb) - wp["us"](nw)))
    md.append("")
    md.append("Samples: barrage %d (threads: %s), %s requests at %.0f req/s under perf; wrk %d (threads: %s), "
              "%s requests at %.0f req/s." % (
                  bp["total"], ", ".join("%s %d" % kv for kv in bp["comms"].most_common(3)), "{:,}".format(bp["ok"]),
                  bp["rps"], wp["total"], ", ".join("%s %d" % kv for kv in wp["comms"].most_common(3)),
                  "{:,}".format(wp["ok"]), wp["rps"]))
    md.append("")
    return md


def profile_md(b, version, conns, dur, bp, wp):
    """Markdown for scenario 3: barrage's profile, and per request against wrk's."""
    if bp.get("error"):
        return [bp["error"]]
    total = bp["total"]
    pct = lambda n: 100.0 * n / total
    md = ["    taskset -c %d perf record -e cpu-clock -F %d --call-graph dwarf,8192 -- CLIENT" % (CLIENT_CPU, PERF_HZ),
          "",
          "CLIENT is scenario 2's TLS %s command for barrage (`--no-keepalive`, resumed) and for wrk "
          "(`Connection: close`), %d connections, %s. `-g` with DWARF unwinding: libssl and libcrypto have "
          "no frame pointers (nor symbols for their internal functions: `[unknown]`). barrage: %d samples "
          "(threads: %s), %s requests at %.0f req/s under perf, %s." % (
              version, conns, dur, total, ", ".join("%s %d" % kv for kv in bp["comms"].most_common(4)),
              "{:,}".format(bp["ok"]), bp["rps"], bp["hs"]),
          "",
          "barrage, where the samples landed (the leaf frame's DSO; kernel samples by what their call chain "
          "is doing):",
          "",
          "| where the sample landed | share | top symbols |",
          "|---|--:|---|"]
    top, syms = bp["top"], bp["syms"]
    for cat, n in top.most_common():
        if cat == "kernel":
            md.append("| kernel, all | %.1f%% | %s |" % (pct(n), ", ".join(
                "`%s` %.1f%%" % (sym, pct(k)) for sym, k in syms[cat].most_common(4))))
            for op, k in bp["kern"].most_common():
                md.append("| &nbsp;&nbsp;kernel: %s | %.1f%% | |" % (op, pct(k)))
        else:
            md.append("| %s | %.1f%% | %s |" % ("barrage itself" if cat == "the client itself" else cat, pct(n),
                                                ", ".join("`%s` %.1f%%" % (sym, pct(k))
                                                          for sym, k in syms[cat].most_common(5))))
    md.append("")
    if bp["libc_from"]:
        md.append("libc samples by their first caller outside libc: " + ", ".join(
            "%s %.1f%%" % (c.replace("the client itself", "barrage"), pct(k))
            for c, k in bp["libc_from"].most_common()) + ".")
        md.append("")
    cats = [c for c, _ in top.most_common()][:4]
    md.append("barrage, inclusive, by the innermost barrage function on the stack (what barrage was doing):")
    md.append("")
    md.append("| barrage function | share | " + " | ".join(
        "of which %s" % c.replace("the client itself", "barrage itself") for c in cats) + " |")
    md.append("|---|--:|" + "--:|" * len(cats))
    for fn, c in sorted(bp["incl"].items(), key=lambda kv: -sum(kv[1].values()))[:10]:
        md.append("| `%s` | %.1f%% | %s |" % (fn, pct(sum(c.values())), " | ".join("%.1f%%" % pct(c[x]) for x in cats)))
    md.append("")
    md.append("OpenSSL's exported functions on barrage's stacks, inclusive (its internal functions have no "
              "symbols): " + ", ".join("`%s` %.1f%%" % (sym, pct(k)) for sym, k in bp["ossl_incl"].most_common(14)) + ".")
    md.append("")
    md += compare_md(bp, wp, "Per request, against wrk profiled the same way")
    return md


# ---------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per run in scenarios 1 and 2")
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--new-conns", type=int, default=16)
    ap.add_argument("--idle-conns", type=int, default=10000)
    ap.add_argument("--idle-duration", type=int, default=10)
    ap.add_argument("--key", choices=("ec", "rsa"), default="ec", help="server key: ECDSA P-256 or RSA-2048")
    ap.add_argument("--scenarios", default="keepalive,newconn,profile,idle")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--no-profile-keepalive", action="store_true",
                    help="do not profile both clients in scenario 1 (keep-alive) for a per-request comparison")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds between runs")
    ap.add_argument("--max-wait", type=float, default=120, help="seconds to wait for a quiet machine at start")
    ap.add_argument("--round-wait", type=float, default=30, help="... and before each round")
    ap.add_argument("--extra-rounds", type=int, default=2,
                    help="rounds to add, at most, when a round had a disturbed run")
    ap.add_argument("--append", action="store_true", help="also append the section to bench/RESULTS.md")
    ap.add_argument("--keep", help="keep raw outputs in this directory")
    a = ap.parse_args()
    scen = set(a.scenarios.split(","))
    if a.no_profile:
        scen.discard("profile")
    if not os.access(BARRAGE, os.X_OK):
        sys.exit("tls.py: %s is not built (make)" % BARRAGE)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    nofile = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
    if "idle" in scen and a.idle_conns + 100 > nofile:
        a.idle_conns = nofile - 200
        log("open-file limit %d: idle scenario at %d connections" % (nofile, a.idle_conns))

    tmp = a.keep or tempfile.mkdtemp(prefix="barrage-tls.")
    os.makedirs(tmp, exist_ok=True)
    ca, crt, key = make_certs(tmp, a.key)
    quiet, repeats = [], []
    started = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.monotonic()
    quiet.append("before: " + wait_quiet(a.max_wait))
    log("machine: " + quiet[-1])
    nginx, p13, p12, prefix = start_nginx_tls(tmp, crt, key, min(nofile, 65536))
    b = Bench(a, tmp, nginx, {"1.3": p13, "1.2": p12}, prefix, ca)
    d = "%ds" % a.duration
    R = defaultdict(list)
    probes = {}
    prof_md, prof = [], {}
    try:
        # Warm-up (unmeasured by the tables): also checks that both clients speak TLS to nginx.
        b.run("wrk", "warmup", "1.3", a.conns, "1s")
        b.run("barrage", "warmup", "1.3", a.conns, "1s")

        def rounds(label, one_round):
            """Rounds until a.rounds of them ran undisturbed, or a.extra_rounds more have run."""
            good = tried = 0
            while good < a.rounds and tried < a.rounds + a.extra_rounds:
                tried += 1
                note = wait_quiet(a.round_wait, nginx.pid, 1.0)
                log("%s round %d (%d undisturbed so far): %s" % (label, tried, good, note))
                runs = one_round()
                good += not any(r["disturbed"] for r in runs)
            repeats.append("%s: %d rounds run, %d undisturbed" % (label, tried, good))

        if "keepalive" in scen:
            log("keepalive, TLS 1.3, %d connections" % a.conns)

            def ka_round():
                x = b.run("barrage", "keepalive13", "1.3", a.conns, d)
                y = b.run("wrk", "keepalive13", "1.3", a.conns, d)
                R["ka/barrage"].append(x)
                R["ka/wrk"].append(y)
                return [x, y]
            rounds("keepalive", ka_round)
        if "newconn" in scen:
            for v in ("1.3", "1.2"):
                for tool, extra in (("barrage", ["--no-keepalive"]), ("wrk", ["-H", "Connection: close"])):
                    probes[(tool, v)] = b.probe(tool, v, extra)
                    log("  probe %s TLS %s: nginx logged %d resumed, %d full handshakes (%s)" % (
                        (tool, v) + probes[(tool, v)]))

            def nc_round():
                runs = []
                for v in ("1.3", "1.2"):
                    k = v.replace(".", "")
                    for sub, tool, key, extra in (
                            ("barrage", "barrage", "newconn", ["--no-keepalive"]),
                            ("wrk", "wrk", "newconn", ["-H", "Connection: close"]),
                            ("full", "barrage", "newconnfull", ["--no-keepalive", "--no-resume"])):
                        x = b.run(tool, key + k, v, a.new_conns, d, extra)
                        R["nc%s/%s" % (k, sub)].append(x)
                        runs.append(x)
                return runs
            rounds("newconn", nc_round)
        if "profile" in scen and shutil.which("perf"):
            log("profile: perf record of barrage, new connections, TLS 1.3, resumed")
            bp = perf_profile(b, "barrage", "1.3", a.new_conns, d, tmp)
            time.sleep(a.settle)
            wp = perf_profile(b, "wrk", "1.3", a.new_conns, d, tmp)
            time.sleep(a.settle)
            prof_md = profile_md(b, "1.3", a.new_conns, d, bp, wp)
            if not a.no_profile_keepalive:
                kb = perf_profile(b, "barrage", "1.3", a.conns, d, tmp, newconn=False)
                time.sleep(a.settle)
                kw = perf_profile(b, "wrk", "1.3", a.conns, d, tmp, newconn=False)
                time.sleep(a.settle)
                prof_md += compare_md(kb, kw, "Keep-alive (scenario 1's commands, TLS 1.3, %d connections, %s, "
                                      "profiled the same way), per request" % (a.conns, d))
            prof = {k: {"top": dict(v["top"]), "kern": dict(v["kern"]), "ok": v["ok"], "total": v["total"],
                        "incl": {f: dict(c) for f, c in v["incl"].items()}, "ossl_incl": v["ossl_incl"].most_common(40),
                        "syms": {c: x.most_common(20) for c, x in v["syms"].items()}}
                    for k, v in (("barrage", bp), ("wrk", wp)) if not v.get("error")}
        if "idle" in scen:
            quiet.append("before idle: " + wait_quiet(a.max_wait, nginx.pid))
            log("idle memory: %d connections, %d s" % (a.idle_conns, a.idle_duration))
            di = "%ds" % a.idle_duration
            R["idle/barrage"].append(b.run("barrage", "idle13", "1.3", a.idle_conns, di,
                                           timeout=a.idle_duration + 90))
            settle(b.ports.values())
            R["idle/wrk"].append(b.run("wrk", "idle13", "1.3", a.idle_conns, di, ["--timeout", "10s"],
                                       timeout=a.idle_duration + 90))
            settle(b.ports.values())
            if "keepalive" not in scen:
                R["ka/barrage"].append(b.run("barrage", "keepalive13", "1.3", a.conns, "3s"))
                R["ka/wrk"].append(b.run("wrk", "keepalive13", "1.3", a.conns, "3s"))
        quiet.append("after: " + wait_quiet(0, nginx.pid))
    finally:
        nginx.terminate()
        nginx.wait()
    elapsed = time.monotonic() - t_start

    # ------------------------------------------------------------------ markdown
    md = []
    md.append("## %s: TLS (keep-alive, new connections, idle memory)" % started.strftime("%Y-%m-%d %H:%M UTC"))
    md.append("")
    cpu, git = cpu_model(), git_describe()
    md.append("- Command: `python3 bench/tls.py %s` (%.0f s)" % (quote(sys.argv[1:]), elapsed))
    md.append("- Machine: %d CPUs available (2 vCPU shared), %s, Linux %s, open files %d" % (
        len(os.sched_getaffinity(0)), cpu, platform.release(), nofile))
    md.append("- %s, git %s; %s; %s; %s" % (
        first_line([BARRAGE, "--version"]), git, re.sub(r"\s*Copyright.*", "", first_line([WRK, "-v"]) or "wrk ?"),
        first_line(["nginx", "-v"]), first_line(["openssl", "version"])))
    md.append("- Server: nginx, 1 worker on CPU %d, certificate %s signed by a CA made at start "
              "(SAN IP:127.0.0.1), `ssl_session_cache shared:S:10m`, `ssl_session_tickets on`; TLS 1.2 runs "
              "go to a TLS 1.2-only server block. Client on CPU %d, one thread; barrage verifies (`--cacert`), "
              "wrk does not. Rounds: %d, tools back to back within a round; medians." % (
                  SERVER_CPU, "ECDSA P-256" if a.key == "ec" else "RSA-2048", CLIENT_CPU, a.rounds))
    md.append("")
    if "keepalive" in scen:
        md.append("### 1. keep-alive, TLS 1.3, %d connections, %s" % (a.conns, d))
        md.append("")
        md.append("    " + b.commands.get("keepalive13/barrage", ""))
        md.append("    " + b.commands.get("keepalive13/wrk", ""))
        md.append("")
        md.append("| tool | runs ok (disturbed) | req/s | req per client CPU-s | client CPU-µs per req | "
                  "client CPU s | user share | peak RSS MiB | errors | server CPU s | other CPU s |")
        md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for tool in ("barrage", "wrk"):
            rows = R["ka/" + tool]
            c = clean(rows)
            md.append("| %s | %d/%d (%d) | %s | %s | %.2f | %.2f | %.1f%% | %.1f | %s | %.2f | %.2f |" % (
                tool, len([r for r in rows if r["ok"]]), len(rows), len([r for r in rows if r["disturbed"]]),
                fmt(med(c, "rps")), fmt(med(c, "rpcs")), med(c, "cpu_us"), med(c, "cpu_s"),
                100 * med(c, "user_s") / max(med(c, "cpu_s"), 1e-9), med(c, "rss_kb") / 1024,
                "%d/%d" % (med(rows, "errors"), max(r["errors"] for r in rows)) if rows else "–",
                med(c, "server_cpu_s"), med(c, "other_cpu_s")))
        rb, rw = clean(R["ka/barrage"]), clean(R["ka/wrk"])
        sr, n = same_round_ratio(R["ka/barrage"], R["ka/wrk"])
        md.append("")
        md.append("- barrage ÷ wrk: req per client CPU-s **%.2f×** (median of same-round ratios %.2f×, %d rounds); "
                  "req/s %.2f× (target ≥ 1.25×)" % (med(rb, "rpcs") / med(rw, "rpcs"), sr, n,
                                                    med(rb, "rps") / med(rw, "rps")))
        md.append("")
    if "newconn" in scen:
        md.append("### 2. a new connection per request, %d connections, %s" % (a.new_conns, d))
        md.append("")
        for k in ("newconn13/barrage", "newconn13/wrk", "newconnfull13/barrage"):
            md.append("    " + b.commands.get(k, ""))
        md.append("")
        md.append("(TLS 1.2: barrage adds `--tls-max 1.2`, and both go to the TLS 1.2-only port.)")
        md.append("")
        md.append("| TLS | client | runs ok (disturbed) | req/s | req per client CPU-s | client CPU-µs per req | "
                  "handshakes full / resumed | handshake p50 full / resumed (µs) | errors | server CPU s | other CPU s |")
        md.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for v in ("1.3", "1.2"):
            k = v.replace(".", "")
            for sub, label in (("barrage", "barrage, resumed"), ("wrk", "wrk, `Connection: close`"),
                               ("full", "barrage `--no-resume`")):
                rows = R["nc%s/%s" % (k, sub)]
                if not rows:
                    continue
                c = clean(rows)
                if sub == "wrk":
                    pr = probes.get(("wrk", v))
                    hs = "probe: %d / %d" % (pr[1], pr[0]) if pr else "?"
                    p50 = "–"
                else:
                    hs = "%s / %s" % (fmt(med(c, "hs_full")), fmt(med(c, "hs_resumed")))
                    p50 = "%s / %s" % (fmt(med(c, "hs_full_p50")) if med(c, "hs_full") else "–",
                                       fmt(med(c, "hs_resumed_p50")) if med(c, "hs_resumed") else "–")
                md.append("| %s | %s | %d/%d (%d) | %s | %s | %.1f | %s | %s | %d/%d | %.2f | %.2f |" % (
                    v, label, len([r for r in rows if r["ok"]]), len(rows), len([r for r in rows if r["disturbed"]]),
                    fmt(med(c, "rps")), fmt(med(c, "rpcs")), med(c, "cpu_us"), hs, p50, med(rows, "errors"),
                    max(r["errors"] for r in rows), med(c, "server_cpu_s"), med(c, "other_cpu_s")))
        md.append("")
        for v in ("1.3", "1.2"):
            k = v.replace(".", "")
            bb, ww, ff = (clean(R["nc%s/%s" % (k, s)]) for s in ("barrage", "wrk", "full"))
            if not (bb and ww):
                continue
            sr, n = same_round_ratio(R["nc%s/barrage" % k], R["nc%s/wrk" % k])
            srf, nf = same_round_ratio(R["nc%s/full" % k], R["nc%s/wrk" % k])
            md.append("- TLS %s: barrage (resumed) ÷ wrk: req per client CPU-s **%.2f×** (same-round %.2f×, %d rounds); "
                      "barrage `--no-resume` ÷ wrk %.2f× (same-round %.2f×); req/s %.2f× (target ≥ 1.1×)" % (
                          v, med(bb, "rpcs") / med(ww, "rpcs"), sr, n, med(ff, "rpcs") / med(ww, "rpcs"), srf,
                          med(bb, "rps") / med(ww, "rps")))
        md.append("- Handshake p50: barrage's JSON `tls.handshake_full_us` / `tls.handshake_resumed_us`, from TCP "
                  "established to handshake done: wall time, mostly waiting on nginx, not client CPU. In the "
                  "resumed rows the full handshakes are the first %d, opened together before any ticket "
                  "arrived. wrk's handshake counts come from its probe run (below)." % a.new_conns)
        md.append("- Resumption as nginx logged it (`$ssl_session_reused`, 1-second runs, 4 connections, against a "
                  "logging location): " + "; ".join(
                      "%s TLS %s: %d resumed, %d full (%s)" % (t, v, r_, f_, ciph)
                      for (t, v), (r_, f_, ciph) in sorted(probes.items())))
        md.append("")
    if prof_md:
        md.append("### 3. where the client's CPU goes: new connections, TLS 1.3, resumed")
        md.append("")
        md += prof_md
    if R["idle/barrage"] or R["idle/wrk"]:
        n = a.idle_conns
        md.append("### 4. memory per TLS connection: %s keep-alive connections, %ds, against %d" % (
            "{:,}".format(n), a.idle_duration, a.conns))
        md.append("")
        md.append("    " + b.commands.get("idle13/barrage", ""))
        md.append("    " + b.commands.get("idle13/wrk", ""))
        md.append("")
        md.append("| tool | peak RSS MiB at %s | peak RSS MiB at %d | bytes per connection (peak) | "
                  "steady RSS MiB at %s | steady RSS MiB at %d | bytes per connection (steady) | req/s at %s | "
                  "req per client CPU-s | errors | server CPU s | other CPU s |" % (
                      "{:,}".format(n), a.conns, "{:,}".format(n), a.conns, "{:,}".format(n)))
        md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        per, per_s = {}, {}
        for tool in ("barrage", "wrk"):
            rows = R["idle/" + tool]
            if not rows:
                continue
            hi, lo = med(rows, "rss_kb"), med(R["ka/" + tool], "rss_kb")
            shi, slo = med(rows, "steady_rss_kb"), med(R["ka/" + tool], "steady_rss_kb")
            per[tool] = (hi - lo) * 1024 / (n - a.conns)
            per_s[tool] = (shi - slo) * 1024 / (n - a.conns)
            md.append("| %s | %.1f | %.1f | %s | %.1f | %.1f | %s | %s | %s | %s | %.2f | %.2f |" % (
                tool, hi / 1024, lo / 1024, fmt(per[tool]), shi / 1024, slo / 1024, fmt(per_s[tool]),
                fmt(med(rows, "rps")), fmt(med(rows, "rpcs")),
                " ".join("%s" % r["errors"] for r in rows) + ("".join(
                    " (%s)" % ", ".join("%s %d" % kv for kv in r["errors_by"].items()) for r in rows
                    if r.get("errors_by"))),
                med(rows, "server_cpu_s"), med(rows, "other_cpu_s")))
        md.append("")
        md.append("- bytes per connection = (RSS at %s − median RSS at %d from scenario 1) / %s. Peak: VmHWM "
                  "(measure.py's maxrss_kb), which includes opening all connections at once (every handshake "
                  "in flight together). Steady: median VmRSS sampled between 50%% and 90%% of the run, all "
                  "connections open, each with one request in flight or waiting." % (
                      "{:,}".format(n), a.conns, "{:,}".format(n - a.conns)))
        if len(per) == 2 and per["barrage"] > 0 and per_s["barrage"] > 0:
            md.append("- wrk ÷ barrage, bytes per connection: peak %.1f×, steady %.1f×" % (
                per["wrk"] / per["barrage"], per_s["wrk"] / per_s["barrage"]))
        opened = [r.get("opened") for r in R["idle/barrage"]]
        if opened:
            md.append("- barrage connections opened at %s: %s" % ("{:,}".format(n), ", ".join(
                "{:,}".format(o or 0) for o in opened)))
        md.append("")
    md.append("Machine state: " + "; ".join(quiet + repeats) + ". Disturbed runs (other CPU > %d%% of a CPU): %d of %d." % (
        DISTURBED_SHARE * 100, sum(r["disturbed"] for rows in R.values() for r in rows),
        sum(len(rows) for rows in R.values())))
    md.append("")
    text = "\n".join(md)
    print(text)
    write_outputs(tmp, text, {"runs": R, "probes": {"%s %s" % k: v for k, v in probes.items()}, "profile": prof},
                  a.append, a.keep)


if __name__ == "__main__":
    main()
