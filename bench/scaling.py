#!/usr/bin/env python3
"""Scaling across cores: barrage and wrk with 1..N worker threads against one nginx.

    bench/scaling.py [--threads 1,2,4,8] [--server-workers 8] [--rounds 2] [--duration 5]
                     [--conns-per-thread 64] [--new-conns-per-thread 16] [--key ec|rsa]
                     [--scenarios plain,tls]

Made for a many-core machine (bench/README.md: 16 CPUs, the `device` machine). nginx runs
SERVER_WORKERS workers with reuseport, pinned to the last SERVER_WORKERS CPUs; a client with
T threads is pinned to CPUs 0..T-1 (bench/measure.py --cpu 0-(T-1); barrage pins its workers
inside that set, wrk's threads float in it). Within a round the tools run back to back.

  plain: keep-alive, depth 1, CONNS_PER_THREAD x T connections, to nginx's `return 200`:
         barrage -t T vs wrk -tT. Requests per second and per client CPU-second.
  tls:   a new TLS 1.3 connection per request (barrage --no-keepalive, wrk -H 'Connection:
         close'; both resume sessions), NEW_CONNS_PER_THREAD x T connections, and barrage
         three more ways: with OpenSSL's shared default library context instead of one per
         worker (BARRAGE_TLS_LIBCTX=shared, see tls/README.md), with full handshakes
         (--no-resume), and both. Connections per second.

Prints a markdown section for bench/RESULTS.md on stdout (medians over rounds); progress on
stderr. Raw outputs: --keep DIR.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile

from common import BARRAGE, WRK, free_port, log, make_certs, measure_cmd, parse_wrk, settle, start_nginx


def start_nginx_scaling(tmp, workers, cpus, crt, key):
    """nginx with `workers` workers on `cpus`, the template's plain server and a TLS one;
    returns (Popen, plain port, TLS port)."""
    plain, tls = free_port(), free_port()
    p, _, _ = start_nginx(tmp, workers=workers, cpus=cpus, nofile=65536, worker_connections=60000,
                          ports=(plain, tls), http_lines=[
                              "    ssl_certificate %s;" % crt, "    ssl_certificate_key %s;" % key,
                              "    ssl_session_cache shared:S:50m;", "    ssl_session_timeout 1h;",
                              "    ssl_session_tickets on;",
                              "    server {",
                              "        listen 127.0.0.1:%d ssl reuseport backlog=4096;" % tls,
                              "        ssl_protocols TLSv1.2 TLSv1.3;",
                              '        location / { return 200 "hello"; }',
                              "    }"])
    return p, plain, tls


def measured(tmp, name, cpus, cmd, nginx_pid, env=None, timeout=120):
    ru = os.path.join(tmp, name + ".rusage")
    with open(os.path.join(tmp, name + ".out"), "w+") as outf:
        subprocess.run(measure_cmd(cmd, ru, nginx_pid, timeout, cpus), stdout=outf, stderr=subprocess.STDOUT,
                       env=env)
        outf.seek(0)
        text = outf.read()
    return json.load(open(ru)), text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2,4,8")
    ap.add_argument("--server-workers", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--conns-per-thread", type=int, default=64)
    ap.add_argument("--new-conns-per-thread", type=int, default=16)
    ap.add_argument("--key", choices=("ec", "rsa"), default="ec")
    ap.add_argument("--scenarios", default="plain,tls")
    ap.add_argument("--keep")
    a = ap.parse_args()
    threads = [int(x) for x in a.threads.split(",")]
    scenarios = a.scenarios.split(",")
    ncpu = os.cpu_count()
    if max(threads) + a.server_workers > ncpu:
        log("scaling.py: %d client threads + %d nginx workers > %d CPUs: they will share CPUs" % (
            max(threads), a.server_workers, ncpu))
    server_cpus = [ncpu - 1 - i % ncpu for i in range(a.server_workers)]
    tmp = a.keep or tempfile.mkdtemp(prefix="barrage-scaling.")
    os.makedirs(tmp, exist_ok=True)
    ca, crt, key = make_certs(tmp, a.key)
    nginx, plain, tls = start_nginx_scaling(tmp, a.server_workers, server_cpus, crt, key)
    dur = "%ds" % a.duration
    rows = []   # (scenario, variant, threads, round, rps, cpu_s, errors)
    n = 0
    try:
        def run(scenario, variant, t, rnd, cmd, env_extra=None):
            nonlocal n
            n += 1
            env = dict(os.environ)
            env.update(env_extra or {})
            name = "%03d-%s-%s-t%d" % (n, scenario, variant, t)
            ru, text = measured(tmp, name, "0-%d" % (t - 1), cmd, nginx.pid, env)
            cpu = ru["user_s"] + ru["sys_s"]
            if cmd[0] == BARRAGE:
                try:
                    j = json.load(open(cmd[cmd.index("--json") + 1]))
                    reqs, wall = j["requests"]["ok"], j["duration_s"]
                    errors = j["requests"]["failed"]
                except (OSError, ValueError, KeyError) as e:
                    log("  %s: no JSON (%s); output: %s" % (name, e, text[-300:]))
                    reqs, wall, errors = 0, 1, -1
            else:
                w = parse_wrk(text)
                reqs, wall, errors = w["requests"], a.duration, w["socket_errors"] + w["non2xx"]
            rps = reqs / wall if wall else 0
            rows.append((scenario, variant, t, rnd, rps, cpu, errors))
            log("  %-5s %-22s t=%d  %10.0f/s  cpu %6.2f s  %9.0f per CPU-s  errors %d" % (
                scenario, variant, t, rps, cpu, reqs / cpu if cpu else 0, errors))
            settle([plain, tls], 30)

        def bar(t, url, extra, jname):
            return [BARRAGE, "-t", str(t), "-d", dur, "-q", "--json", os.path.join(tmp, jname)] + extra + [url]

        for rnd in range(a.rounds):
            for t in threads:
                if "plain" in scenarios:
                    c = a.conns_per_thread * t
                    url = "http://127.0.0.1:%d/" % plain
                    run("plain", "barrage", t, rnd, bar(t, url, ["-c", str(c)], "p.json"))
                    run("plain", "wrk", t, rnd, [WRK, "-t%d" % t, "-c%d" % c, "-d" + dur, url])
                if "tls" in scenarios:
                    c = a.new_conns_per_thread * t
                    url = "https://127.0.0.1:%d/" % tls
                    base = ["-c", str(c), "--no-keepalive", "--cacert", ca]
                    run("tls", "barrage resumed", t, rnd, bar(t, url, base, "t.json"))
                    run("tls", "barrage resumed shared", t, rnd, bar(t, url, base, "t.json"),
                        {"BARRAGE_TLS_LIBCTX": "shared"})
                    run("tls", "barrage full", t, rnd, bar(t, url, base + ["--no-resume"], "t.json"))
                    run("tls", "barrage full shared", t, rnd, bar(t, url, base + ["--no-resume"], "t.json"),
                        {"BARRAGE_TLS_LIBCTX": "shared"})
                    run("tls", "wrk", t, rnd, [WRK, "-t%d" % t, "-c%d" % c, "-d" + dur,
                                               "-H", "Connection: close", url])
    finally:
        nginx.terminate()
        nginx.wait()
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    # ---- the markdown section
    def med(sc, var, t, f):
        xs = [f(r) for r in rows if r[0] == sc and r[1] == var and r[2] == t]
        return statistics.median(xs) if xs else 0.0
    out = ["## Scaling across cores (bench/scaling.py, %s)" % datetime.date.today().isoformat(), "",
           "Machine: %d CPUs (%s), kernel %s. nginx: %d workers, reuseport, on CPUs %s; client threads on "
           "CPUs 0..T-1. %d s runs, medians of %d rounds; `bench/scaling.py --threads %s --server-workers %d`." % (
               ncpu, platform.processor() or platform.machine(), platform.release(), a.server_workers,
               ",".join(map(str, sorted(server_cpus))), a.duration, a.rounds, a.threads, a.server_workers), ""]
    rps = lambda r: r[4]
    rpcs = lambda r: r[4] * a.duration / r[5] if r[5] else 0
    if "plain" in scenarios:
        out += ["Keep-alive, depth 1, %d connections per thread (requests/s; requests per client CPU-second):" %
                a.conns_per_thread, "",
                "| threads | barrage rps | wrk rps | rps ratio | barrage per CPU-s | wrk per CPU-s | ratio | barrage rps / 1-thread |",
                "|---|---|---|---|---|---|---|---|"]
        b1 = med("plain", "barrage", threads[0], rps) or 1
        for t in threads:
            b, w = med("plain", "barrage", t, rps), med("plain", "wrk", t, rps)
            bc, wc = med("plain", "barrage", t, rpcs), med("plain", "wrk", t, rpcs)
            out.append("| %d | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f | %.2f |" % (
                t, b, w, b / w if w else 0, bc, wc, bc / wc if wc else 0, b / b1))
        out.append("")
    if "tls" in scenarios:
        vs = ["barrage resumed", "barrage resumed shared", "barrage full", "barrage full shared", "wrk"]
        out += ["New TLS 1.3 connection per request, %d connections per thread (connections/s; "
                "per client CPU-second in brackets):" % a.new_conns_per_thread, "",
                "| threads | " + " | ".join(vs) + " |", "|---" * (len(vs) + 1) + "|"]
        for t in threads:
            out.append("| %d | " % t + " | ".join("%.0f (%.0f)" % (med("tls", v, t, rps), med("tls", v, t, rpcs))
                                                  for v in vs) + " |")
        out.append("")
    errs = sum(r[6] for r in rows if r[6] > 0)
    out.append("Errors over all runs: %d." % errs)
    print("\n".join(out))


if __name__ == "__main__":
    main()
