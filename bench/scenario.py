#!/usr/bin/env python3
"""Scenarios (-s FILE): their cost against the quick mode's, and against Artillery.

    bench/scenario.py [--rounds 3] [--duration 5] [--conns 64] [--no-artillery]
                      [--artillery PATH] [--keep DIR] [--append]

1. scenario vs quick mode (issue 11: a five-step scenario with one capture runs at no less
   than 80% of the quick mode's requests per client CPU-second). nginx (bench/nginx.conf.in,
   one worker, pinned to SERVER_CPU, 0) gets two more locations: /api/item answers
   {"id":"abc123","n":1} as application/json, any other /api/ path "ok". Each round runs,
   back to back (the order swapped every other round), pinned to CLIENT_CPU (1) through
   bench/measure.py:
     (a) quick mode: barrage -t 1 -c CONNS -d DURATION http://127.0.0.1:PORT/api/a
     (b) scenario:   barrage -s five.yaml -t 1 -c CONNS -d DURATION, one class, think 0, one
         task: a sequence of five GETs, the second capturing json.id, the fourth asking for
         /api/items/${id}.
   Requests per client CPU-second = answered requests / (user + sys CPU of the client);
   medians over rounds, and (b) / (a) (target >= 0.80).

2. barrage against Artillery (npm package artillery), one flow: log in (POST /api/login,
   capture the token), then loop: list (GET /api/items?page=1, Bearer token), create (POST
   /api/items, capture json.id), read (GET /api/items/ID), each step checked for its
   status. The target is `barrage serve --api` (one thread, pinned to SERVER_CPU), the same
   process for both tools; within a round each tool runs once, back to back (order swapped
   every other round), pinned to CLIENT_CPU, CONNS users each (barrage -c CONNS; Artillery:
   CONNS virtual users arriving in the first second, each looping until DURATION after the
   first started: bench/artillery/processor.js). Files: bench/artillery/flow.barrage.yaml
   and bench/artillery/flow.artillery.yml. Reported side by side: requests per client
   CPU-second, req/s, p99 latency, failures. Artillery's CPU is node's, threads included,
   and any child processes it waited for (wait4's rusage); that includes node's start-up
   and Artillery's module loading, reported separately as the CPU of `artillery --version`.
   Artillery is looked for at --artillery, $ARTILLERY, /tmp/artillery/node_modules/.bin/
   artillery, then PATH; without it part 2 is skipped (install: PLAYWRIGHT_SKIP_BROWSER_
   DOWNLOAD=1 npm install --prefix /tmp/artillery artillery@2.0.21; 2.0.22 and later want
   Node >= 22.13).

Prints a markdown section for bench/RESULTS.md on stdout (progress on stderr); with --append
it is also appended to bench/RESULTS.md. Raw per-run data: --keep DIR.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from common import (BARRAGE, BENCH, CLIENT_CPU, SERVER_CPU, clean, cpu_model, first_line, fmt, git_describe, log,
                    measure_cmd, med, quote, start_nginx, wait_listening, write_outputs)

ART_DIR = os.path.join(BENCH, "artillery")
DISTURBED_SHARE = 0.10      # other CPU above this share of one CPU over a run: disturbed
LOAD_MAX = 1.5              # wait before measuring while the 1-minute load is above this
TARGET_RATIO = 0.80

FIVE_STEPS = """\
# Five GETs in one task; the second captures json.id, the fourth uses it.
users:
  - name: reader
    think: 0
    tasks:
      - name: five steps
        sequence:
          - get: /api/a
            name: a
          - get: /api/item
            name: item
            capture: { id: json.id }
          - get: /api/b
            name: b
          - get: /api/items/${id}
            name: by id
          - get: /api/c
            name: c
"""

NGINX_EXTRA = [
    "        location = /api/item { default_type application/json; return 200 '{\"id\":\"abc123\",\"n\":1}'; }",
    '        location /api/ { return 200 "ok"; }',
]


def start_serve(tmp):
    pf = os.path.join(tmp, "serve.port")
    p = subprocess.Popen(["taskset", "-c", str(SERVER_CPU), BARRAGE, "serve", "--api", "--threads", "1",
                          "--port", "0", "--port-file", pf, "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "serve.err"), "w"))
    for _ in range(200):
        if os.path.exists(pf) and open(pf).read().strip():
            break
        time.sleep(0.05)
    else:
        p.kill()
        sys.exit("scenario.py: barrage serve did not start")
    port = int(open(pf).read().strip())
    wait_listening(p, [port], "scenario.py: barrage serve did not start")
    return p, port


def machine_load():
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except (OSError, ValueError):
        return 0.0


def wait_quiet(max_wait):
    t0 = time.monotonic()
    while True:
        load = machine_load()
        if load <= LOAD_MAX:
            return "load %.2f at start (waited %.0f s)" % (load, time.monotonic() - t0)
        if time.monotonic() - t0 > max_wait:
            return "NOT QUIET: load %.2f after %.0f s" % (load, max_wait)
        log("waiting for a quieter machine: load %.2f" % load)
        time.sleep(10)


def measured(tmp, name, cmd, server_pid, timeout, env=None):
    """Runs cmd pinned to the client CPU through measure.py; returns (rusage dict, stdout, stderr)."""
    ru = os.path.join(tmp, name + ".rusage")
    p = subprocess.run(measure_cmd(cmd, ru, server_pid, timeout), capture_output=True, text=True, env=env)
    with open(os.path.join(tmp, name + ".out"), "w") as f:
        f.write(p.stdout + "\n--- stderr\n" + p.stderr)
    try:
        r = json.load(open(ru))
    except (OSError, ValueError):
        r = {"rc": p.returncode, "user_s": 0, "sys_s": 0, "wall_s": 0}
    return r, p.stdout, p.stderr


def record(ru, ok, failed, rps, p99_ms, extra=None):
    cpu = ru["user_s"] + ru["sys_s"]
    r = {"rc": ru["rc"], "ok": ok, "failed": failed, "rps": rps, "p99_ms": p99_ms, "cpu_s": cpu,
         "user_s": ru["user_s"], "sys_s": ru["sys_s"], "wall_s": ru["wall_s"],
         "rpcs": ok / cpu if cpu > 0 else float("nan"), "server_cpu_s": ru.get("server_cpu_s", float("nan")),
         "other_cpu_s": ru.get("other_cpu_s", float("nan")), "steal_s": ru.get("steal_s", 0.0),
         "rss_kb": ru.get("maxrss_kb") or 0}
    r["disturbed"] = r["other_cpu_s"] > DISTURBED_SHARE * max(r["wall_s"], 1e-9)
    if extra:
        r.update(extra)
    return r


def run_barrage(tmp, name, args, server_pid, dur):
    j = os.path.join(tmp, name + ".json")
    cmd = [BARRAGE] + args + ["-q", "--json", j]
    ru, _, err = measured(tmp, name, cmd, server_pid, dur + 60)
    try:
        res = json.load(open(j))
    except (OSError, ValueError):
        log("%s: no JSON (rc %s): %s" % (name, ru["rc"], err.strip()[-300:]))
        return record(ru, 0, 0, float("nan"), float("nan"), {"error": err.strip()[-300:]})
    req = res["requests"]
    lat = res.get("latency_us", {})
    steps = {k: {"requests": v.get("requests"), "ok": v.get("ok"), "failed": v.get("failed")}
             for k, v in res.get("steps", {}).items()}
    return record(ru, req.get("ok", 0), req.get("failed", 0), res.get("rate", {}).get("achieved", float("nan")),
                  lat.get("p99", float("nan")) / 1000.0, {"steps": steps, "cmd": cmd})


def find_artillery(opt):
    for c in (opt, os.environ.get("ARTILLERY"), "/tmp/artillery/node_modules/.bin/artillery", shutil.which("artillery")):
        if c and os.access(c, os.X_OK):
            return c
    return None


def artillery_version(art):
    """The version in the package.json above the (resolved) executable."""
    d = os.path.dirname(os.path.realpath(art))
    while d != os.path.dirname(d):
        try:
            pj = json.load(open(os.path.join(d, "package.json")))
            if pj.get("name") == "artillery":
                return pj.get("version", "?")
        except (OSError, ValueError):
            pass
        d = os.path.dirname(d)
    return "?"


def artillery_env(dur):
    env = dict(os.environ)
    env.update({"ARTILLERY_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1", "WORKERS": "1",
                "BENCH_DURATION_S": str(dur), "NODE_NO_WARNINGS": "1"})
    return env


def run_artillery(tmp, name, art, url, conns, dur, server_pid):
    rep = os.path.join(tmp, name + ".report.json")
    overrides = {"config": {"phases": [{"duration": 1, "arrivalCount": conns}]}}
    cmd = [art, "run", "--quiet", "--target", url, "--overrides", json.dumps(overrides), "--output", rep,
           os.path.join(ART_DIR, "flow.artillery.yml")]
    ru, out, err = measured(tmp, name, cmd, server_pid, dur + 90, env=artillery_env(dur))
    try:
        agg = json.load(open(rep))["aggregate"]
    except (OSError, ValueError, KeyError):
        log("%s: no report (rc %s): %s" % (name, ru["rc"], (out + err).strip()[-400:]))
        return record(ru, 0, 0, float("nan"), float("nan"), {"error": (out + err).strip()[-400:]})
    c = agg.get("counters", {})
    codes = {k[len("http.codes."):]: v for k, v in c.items() if k.startswith("http.codes.")}
    ok = sum(v for k, v in codes.items() if k.startswith("2"))
    errors = sum(v for k, v in c.items() if k.startswith("errors."))
    exp_failed = c.get("plugins.expect.failed", 0)
    failed = c.get("http.requests", 0) - ok
    span = (agg.get("lastMetricAt", 0) - agg.get("firstMetricAt", 0)) / 1000.0
    if span <= 0:
        span = dur
    rt = agg.get("summaries", {}).get("http.response_time", {})
    return record(ru, ok, failed, ok / span, rt.get("p99", float("nan")),
                  {"codes": codes, "errors": errors, "expect_failed": exp_failed,
                   "vusers_failed": c.get("vusers.failed", 0), "vusers_completed": c.get("vusers.completed", 0),
                   "http_requests": c.get("http.requests", 0), "span_s": span, "cmd": cmd})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per run")
    ap.add_argument("--conns", type=int, default=64, help="connections (quick mode) and users (scenarios)")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds between runs")
    ap.add_argument("--max-wait", type=float, default=60, help="seconds to wait for load <= %.1f at start" % LOAD_MAX)
    ap.add_argument("--no-artillery", action="store_true", help="skip part 2")
    ap.add_argument("--artillery", help="the artillery executable")
    ap.add_argument("--append", action="store_true", help="also append the section to bench/RESULTS.md")
    ap.add_argument("--keep", help="keep raw outputs in this directory")
    a = ap.parse_args()
    if not os.access(BARRAGE, os.X_OK):
        sys.exit("scenario.py: %s is not built (make build/barrage)" % BARRAGE)
    tmp = a.keep or tempfile.mkdtemp(prefix="barrage-scenario.")
    os.makedirs(tmp, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.monotonic()
    d = "%ds" % a.duration
    notes = [wait_quiet(a.max_wait)]
    R = {k: [] for k in ("quick", "scenario", "flow/barrage", "flow/artillery")}
    cmds = {}

    # ------------------------------------------------------------------ 1. scenario vs quick mode
    five = os.path.join(tmp, "five.yaml")
    open(five, "w").write(FIVE_STEPS)
    nginx, port, _ = start_nginx(tmp, extra_locations=NGINX_EXTRA)
    base = "http://127.0.0.1:%d" % port
    try:
        common = ["-t", "1", "-c", str(a.conns), "-d", d]
        quick_args = common + [base + "/api/a"]
        scen_args = ["-s", five] + common + [base]
        cmds["quick"] = "barrage " + quote(quick_args)
        cmds["scenario"] = "barrage " + quote(["-s", "five.yaml"] + common + ["http://127.0.0.1:PORT"])
        for r in range(a.rounds):
            order = (("quick", quick_args), ("scenario", scen_args))
            if r % 2:
                order = order[::-1]
            for key, args in order:
                x = run_barrage(tmp, "%s%d" % (key, r), args, nginx.pid, a.duration)
                R[key].append(x)
                time.sleep(a.settle)
            q, s = R["quick"][-1], R["scenario"][-1]
            log("round %d/%d: quick %s req/s, %s req/CPU-s; scenario %s req/s, %s req/CPU-s (%s failed); "
                "ratio %.2f" % (r + 1, a.rounds, fmt(q["rps"]), fmt(q["rpcs"]), fmt(s["rps"]), fmt(s["rpcs"]),
                                s["failed"], s["rpcs"] / q["rpcs"] if q["rpcs"] else float("nan")))
    finally:
        nginx.terminate()
        nginx.wait()

    # ------------------------------------------------------------------ 2. barrage vs Artillery
    art = None if a.no_artillery else find_artillery(a.artillery)
    art_note, art_version, art_start = None, None, None
    if a.no_artillery:
        art_note = "skipped (--no-artillery)"
    elif not art:
        art_note = ("skipped: artillery not found (npm install --prefix /tmp/artillery artillery@2.0.21, "
                    "or --artillery PATH)")
    else:
        env = artillery_env(a.duration)
        art_version = artillery_version(art)
        rv, _, _ = measured(tmp, "artillery-version", [art, "version"], 0, 60, env=env)
        art_start = rv["user_s"] + rv["sys_s"]
        serve, sport = start_serve(tmp)
        url = "http://127.0.0.1:%d" % sport
        flow = os.path.join(ART_DIR, "flow.barrage.yaml")
        bargs = ["-s", flow, "-t", "1", "-c", str(a.conns), "-d", d, url]
        cmds["flow/barrage"] = "barrage " + quote(["-s", "bench/artillery/flow.barrage.yaml"] + bargs[2:-1] +
                                                  ["http://127.0.0.1:PORT"])
        cmds["flow/artillery"] = ("BENCH_DURATION_S=%d artillery run --target http://127.0.0.1:PORT --overrides "
                                  "'{\"config\":{\"phases\":[{\"duration\":1,\"arrivalCount\":%d}]}}' "
                                  "bench/artillery/flow.artillery.yml" % (a.duration, a.conns))
        try:
            for r in range(a.rounds):
                order = ("barrage", "artillery") if r % 2 == 0 else ("artillery", "barrage")
                for tool in order:
                    if tool == "barrage":
                        x = run_barrage(tmp, "flow-barrage%d" % r, bargs, serve.pid, a.duration)
                    else:
                        x = run_artillery(tmp, "flow-artillery%d" % r, art, url, a.conns, a.duration, serve.pid)
                    R["flow/" + tool].append(x)
                    time.sleep(a.settle)
                b, w = R["flow/barrage"][-1], R["flow/artillery"][-1]
                log("round %d/%d: barrage %s req/s, %s req/CPU-s, p99 %.2f ms, %s failed; artillery %s req/s, "
                    "%s req/CPU-s, p99 %.1f ms, %s failed" % (
                        r + 1, a.rounds, fmt(b["rps"]), fmt(b["rpcs"]), b["p99_ms"], b["failed"], fmt(w["rps"]),
                        fmt(w["rpcs"]), w["p99_ms"], w["failed"]))
            # barrage again at Artillery's rate: latency and CPU per request at the same load
            wrps = med(clean(R["flow/artillery"]), "rps")
            if wrps == wrps and wrps > 0:
                pace_ms = max(1, round(a.conns * 3 / wrps * 1000))
                paced = os.path.join(tmp, "flow.paced.yaml")
                text = open(flow).read()
                if "    think: 0\n" in text:
                    open(paced, "w").write(text.replace("    think: 0\n", "    pace: %dms\n" % pace_ms))
                    pargs = ["-s", paced] + bargs[2:]
                    cmds["flow/paced"] = "barrage " + quote(["-s", "flow.paced.yaml"] + bargs[2:-1] +
                                                            ["http://127.0.0.1:PORT"])
                    x = run_barrage(tmp, "flow-paced", pargs, serve.pid, a.duration)
                    x["pace_ms"] = pace_ms
                    R["flow/paced"] = [x]
                    log("barrage paced at %d ms per task: %s req/s, %s req/CPU-s, p99 %.2f ms" % (
                        pace_ms, fmt(x["rps"]), fmt(x["rpcs"]), x["p99_ms"]))
        finally:
            serve.terminate()
            serve.wait()
    elapsed = time.monotonic() - t_start

    # ------------------------------------------------------------------ markdown
    md = ["## %s: scenarios (-s) against the quick mode, and against Artillery" % started.strftime(
        "%Y-%m-%d %H:%M UTC"), ""]
    cpu, git = cpu_model(), git_describe()
    md.append("- Command: `python3 bench/scenario.py %s` (%.0f s)" % (quote(sys.argv[1:]), elapsed))
    md.append("- Machine: %d CPUs available (shared with other work), %s, Linux %s; %s" % (
        len(os.sched_getaffinity(0)), cpu, platform.release(), "; ".join(notes)))
    md.append("- %s, git %s; %s%s" % (first_line([BARRAGE, "--version"]), git, first_line(["nginx", "-v"]),
                                      "; Artillery %s, Node %s" % (art_version, first_line(["node", "--version"]))
                                      if art_version else ""))
    md.append("- Server on CPU %d (nginx, 1 worker, in part 1; `barrage serve --api --threads 1` in part 2), "
              "client on CPU %d through bench/measure.py, one thread; client CPU = user + sys of the client "
              "process (wait4). Rounds: %d, runs back to back, order swapped every other round; medians of "
              "the undisturbed runs (other processes' CPU under %d%% of a CPU)." % (
                  SERVER_CPU, CLIENT_CPU, a.rounds, DISTURBED_SHARE * 100))
    md.append("")
    md.append("### 1. a five-step scenario with one capture against the quick mode, %d users/connections, %s" % (
        a.conns, d))
    md.append("")
    md.append("    " + cmds["quick"].replace(base, "http://127.0.0.1:PORT"))
    md.append("    " + cmds["scenario"])
    md.append("")
    md.append("five.yaml: one class, `think: 0`, one task, a sequence of five GETs: `/api/a`, `/api/item` "
              "(`capture: { id: json.id }`; nginx answers `{\"id\":\"abc123\",\"n\":1}`), `/api/b`, "
              "`/api/items/${id}`, `/api/c`; nginx answers every other /api/ path `ok`.")
    md.append("")
    md.append("| run | runs ok (disturbed) | req/s | req per client CPU-s | client CPU-µs per req | client CPU s | "
              "user share | failed | server CPU s | other CPU s |")
    md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for key, label in (("quick", "quick mode, `/api/a`"), ("scenario", "scenario, five steps")):
        rows = R[key]
        c = clean(rows)
        md.append("| %s | %d/%d (%d) | %s | %s | %.2f | %.2f | %.1f%% | %s | %.2f | %.2f |" % (
            label, len([r for r in rows if r["ok"]]), len(rows), len([r for r in rows if r["disturbed"]]),
            fmt(med(c, "rps")), fmt(med(c, "rpcs")), 1e6 / med(c, "rpcs"), med(c, "cpu_s"),
            100 * med(c, "user_s") / max(med(c, "cpu_s"), 1e-9), " ".join(str(r["failed"]) for r in rows),
            med(c, "server_cpu_s"), med(c, "other_cpu_s")))
    qc, sc = clean(R["quick"]), clean(R["scenario"])
    ratio = med(sc, "rpcs") / med(qc, "rpcs")
    same = [s["rpcs"] / q["rpcs"] for q, s in zip(R["quick"], R["scenario"]) if q["ok"] and s["ok"]]
    md.append("")
    md.append("- scenario ÷ quick mode, requests per client CPU-second: **%.2f** (same-round ratios %s); "
              "target ≥ %.2f: **%s**" % (ratio, ", ".join("%.2f" % x for x in same), TARGET_RATIO,
                                         "met" if ratio >= TARGET_RATIO else "NOT met"))
    if R["scenario"] and R["scenario"][-1].get("steps"):
        md.append("- Steps of the last scenario run (requests / failed): " + ", ".join(
            "%s %s/%s" % (k, fmt(v["requests"] or 0), v["failed"])
            for k, v in sorted(R["scenario"][-1]["steps"].items())))
    md.append("")
    md.append("### 2. login, list, create, read: barrage against Artillery, %d users, %s" % (a.conns, d))
    md.append("")
    if art_note:
        md.append("Not run: " + art_note + ".")
        md.append("")
    else:
        md.append("    " + cmds["flow/barrage"])
        md.append("    " + cmds["flow/artillery"])
        if "flow/paced" in cmds:
            md.append("    " + cmds["flow/paced"])
        md.append("")
        md.append("Target: `barrage serve --api --threads 1` (one process for both tools). Each user logs in once "
                  "(POST /api/login, captures the token), then loops list (GET /api/items?page=1), create (POST "
                  "/api/items, captures id), read (GET /api/items/ID), checking each status. Artillery: %d "
                  "virtual users arriving over the first second (`arrivalCount`), each looping (`whileTrue`) "
                  "until %d s after the first one started; one worker (`WORKERS=1`), `--quiet`." % (
                      a.conns, a.duration))
        md.append("")
        md.append("| tool | runs ok (disturbed) | req/s | req per client CPU-s | client CPU-µs per req | "
                  "p99 ms | client CPU s | peak RSS MiB | failed | server CPU s | other CPU s |")
        md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        tools = [("barrage", "barrage")] + [("paced", "barrage at Artillery's rate (`pace: %dms`)" % R[
            "flow/paced"][0]["pace_ms"])] * bool(R.get("flow/paced")) + [("artillery", "Artillery")]
        for tool, label in tools:
            rows = R["flow/" + tool]
            c = clean(rows)
            md.append("| %s | %d/%d (%d) | %s | %s | %.1f | %s | %.2f | %.0f | %s | %.2f | %.2f |" % (
                label, len([r for r in rows if r["ok"]]), len(rows), len([r for r in rows if r["disturbed"]]),
                fmt(med(c, "rps")), fmt(med(c, "rpcs")), 1e6 / med(c, "rpcs"), fmt(med(c, "p99_ms"), "{:.2f}"),
                med(c, "cpu_s"), med(c, "rss_kb") / 1024, " ".join(str(r["failed"]) for r in rows),
                med(c, "server_cpu_s"), med(c, "other_cpu_s")))
        bc, wc = clean(R["flow/barrage"]), clean(R["flow/artillery"])
        md.append("")
        md.append("- barrage ÷ Artillery, requests per client CPU-second: **%.1f×**; p99 %s ms against %s ms" % (
            med(bc, "rpcs") / med(wc, "rpcs"), fmt(med(bc, "p99_ms"), "{:.2f}"), fmt(med(wc, "p99_ms"), "{:.1f}")))
        md.append("- Both are closed loops (think 0) held back by their own CPU: the p99s above are at each "
                  "tool's own throughput. The paced row is one barrage run after the rounds, each user starting "
                  "a list-create-read task every `pace` (users × 3 / Artillery's median req/s), for p99 and CPU "
                  "per request at Artillery's load.")
        if art_start is not None:
            wcpu = med(wc, "cpu_s")
            md.append("- Artillery's CPU includes starting node and loading its modules: `artillery version` "
                      "alone costs %.2f CPU-s here; without it, %s requests per CPU-second." % (
                          art_start, fmt(med(wc, "ok") / max(wcpu - art_start, 1e-9))))
        if R["flow/artillery"]:
            x = R["flow/artillery"][-1]
            md.append("- Artillery's last run: status codes %s, errors %s, expect failures %s, virtual users "
                      "completed %s, failed %s; its req/s is over its first-to-last metric span (%.1f s)." % (
                          x.get("codes"), x.get("errors"), x.get("expect_failed"), x.get("vusers_completed"),
                          x.get("vusers_failed"), x.get("span_s", 0)))
        if R["flow/barrage"] and R["flow/barrage"][-1].get("steps"):
            md.append("- barrage's last run, steps (requests / failed): " + ", ".join(
                "%s %s/%s" % (k, fmt(v["requests"] or 0), v["failed"])
                for k, v in sorted(R["flow/barrage"][-1]["steps"].items())))
        md.append("")
    dist = sum(r["disturbed"] for rows in R.values() for r in rows)
    md.append("Disturbed runs (other CPU > %d%% of a CPU): %d of %d." % (
        DISTURBED_SHARE * 100, dist, sum(len(rows) for rows in R.values())))
    md.append("")
    text = "\n".join(md)
    print(text)
    write_outputs(tmp, text, R, a.append, a.keep)


if __name__ == "__main__":
    main()
