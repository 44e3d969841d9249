#!/usr/bin/env python3
"""How much does a connection cost? The same load in each pooling mode, one table.

    bench/compare_pooling.py [-c 32] [-d 5s] [-t THREADS] [--rpc 100] URL [-- barrage options...]

Runs build/barrage (or $BARRAGE) against URL with keep-alive, with --requests-per-conn N,
and with --no-keepalive; for https:// also with --no-keepalive --no-resume (a full
handshake per request; the plain --no-keepalive row resumes sessions). Options after "--"
go to every run (e.g. --cacert ca.pem or --insecure). Prints rps, latency p50/p99, connect
p50 and handshake p50 (full / resumed) per mode, and how many connections each opened.
Below the table, for each mode with failed requests or no response at all, why (barrage's
own reasons). A --threshold passed after "--" that fails keeps the table and makes the
exit status 99, as barrage's.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from common import BARRAGE


def us(v):
    if v is None:
        return "-"
    return "%dus" % v if v < 1000 else "%.2fms" % (v / 1000)


def errors_block(summary):
    """The reasons of barrage's summary's Errors block ("tls: ...: 56"), or its class line
    (with the Status line, which says which statuses failed)."""
    lines = summary.splitlines()
    status = [l[len("  Status"):].strip() for l in lines if l.startswith("  Status ")]
    for i, line in enumerate(lines):
        if line.startswith("  Errors "):
            reasons = []
            for more in lines[i + 1:]:
                if not more.startswith("   ") or not more.strip():
                    break
                reasons.append(more.strip())
            classes = line[len("  Errors"):].strip()
            if classes.startswith("status") and status:
                classes += " (statuses %s)" % status[0]
            return reasons or ([classes] if classes != "none" else [])
    return []


def why_failed(r):
    """What barrage said when it exited with an error: stderr, else its summary's last lines."""
    text = r.stderr.strip() or "\n".join(l for l in r.stdout.strip().splitlines()[-3:])
    return "exit %d%s" % (r.returncode, ": " + text if text else "")


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("-c", type=int, default=32, help="connections (default 32)")
    ap.add_argument("-d", default="5s", help="duration of each run (default 5s)")
    ap.add_argument("-t", type=int, default=0, help="threads (default: barrage's)")
    ap.add_argument("--rpc", type=int, default=100, help="requests per connection for that row (default 100)")
    ap.add_argument("url")
    a = ap.parse_args(argv)
    tls = a.url.lower().startswith("https://")
    modes = [("keep-alive", []), ("%d per connection" % a.rpc, ["--requests-per-conn", str(a.rpc)]),
             ("new connection" + (", resumed" if tls else ""), ["--no-keepalive"])]
    if tls:
        modes.append(("new connection, full", ["--no-keepalive", "--no-resume"]))
    rows, notes, thresholds_failed = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, flags) in enumerate(modes):
            out = os.path.join(tmp, "r%d.json" % k)
            cmd = [BARRAGE, "-q", "-c", str(a.c), "-d", a.d, "--json", out] + (["-t", str(a.t)] if a.t else [])
            cmd += flags + extra + [a.url]
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if r.returncode not in (0, 99) or not os.path.exists(out):
                sys.exit("compare_pooling: %s failed: %s" % (name, why_failed(r)))
            if r.returncode == 99:  # a --threshold failed: the run itself was measured
                thresholds_failed.append(name)
            j = json.load(open(out))
            if j["requests"]["failed"] or not j["latency_us"]["count"]:
                why = errors_block(r.stdout) or ["no response (%d connections opened)" % j["connections"]["opened"]]
                notes.append("%s: %s" % (name, "; ".join(why)))
            t = j.get("tls", {})
            lat = j["latency_us"] if j["latency_us"]["count"] else {"p50": None, "p99": None}  # none succeeded: "-"
            rows.append((name, j["rate"]["achieved"], lat["p50"], lat["p99"],
                         j["connect_us"]["p50"] if j["connect_us"]["count"] else None,
                         t["handshake_full_us"]["p50"] if t and t["handshake_full_us"]["count"] else None,
                         t["handshake_resumed_us"]["p50"] if t and t["handshake_resumed_us"]["count"] else None,
                         j["connections"]["opened"], j["requests"]["failed"]))
    print("%-24s %10s %10s %10s %12s %14s %14s %10s %8s" % ("mode", "req/s", "p50", "p99", "connect p50",
                                                          "full hs p50", "resumed hs p50", "opened", "failed"))
    for name, rps, p50, p99, conn, full, res, opened, failed in rows:
        print("%-24s %10.0f %10s %10s %12s %14s %14s %10d %8d" % (name, rps, us(p50), us(p99), us(conn), us(full),
                                                                us(res), opened, failed))
    for note in notes:
        print("  " + note)
    if thresholds_failed:
        print("compare_pooling: a --threshold failed in: %s" % ", ".join(thresholds_failed), file=sys.stderr)
        sys.exit(99)


if __name__ == "__main__":
    main()
