#!/usr/bin/env python3
"""Parse the output of one benchmark run, and summarise a set of runs.

    report.py record  --results R.jsonl --scenario S --round N --tool T --conns C --depth D
                      --stdout F --stderr F --rusage F [--json F] --cmd "..."
    report.py summary --results R.jsonl --meta META.json [--markdown OUT.md]
    report.py meta    --out META.json   (tool paths from $BARRAGE $WRK $H2LOAD $NGINX)

Used by bench/run.sh; see bench/README.md for what the numbers mean.

Per run, "requests" counts successful responses as the tool itself reports them:
wrk "N requests in" minus "Non-2xx or 3xx responses", h2load "N succeeded", barrage
requests.ok. rps is the tool's own rate (wrk "Requests/sec:", h2load "req/s",
barrage rate.achieved). Client CPU = user+sys of the client process (bench/measure.py).
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics

from common import cpu_model, first_line, git_describe

TOOLS = ("barrage", "wrk", "h2load", "floor")


# ---------------------------------------------------------------------------- record

def parse_wrk(text):
    r = {}
    m = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M)
    if not m:
        return None, "no 'Requests/sec:' in wrk's output"
    r["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    n = int(m.group(1)) if m else 0
    non2xx = 0
    m2 = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    if m2:
        non2xx = int(m2.group(1))
    r["requests"] = n - non2xx
    err = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        err = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    err["status"] = non2xx
    r["errors"] = err
    return r, None


def parse_h2load(text):
    r = {}
    m = re.search(r"finished in ([\d.]+)(\w+), ([\d.]+) req/s", text)
    if not m:
        return None, "no 'finished in ..., N req/s' in h2load's output"
    r["rps"] = float(m.group(3))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    if not m:
        return None, "no 'requests: ...' line in h2load's output"
    total, started, done, ok, failed, errored, timeout = map(int, m.groups())
    r["requests"] = ok
    r["errors"] = {"failed": failed, "errored": errored, "timeout": timeout}
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        r["errors"]["status"] = int(m.group(3)) + int(m.group(4))
    return r, None


def parse_floor(text):
    m = re.search(r"^floor: (\d+) responses in ([\d.]+) s, ([\d.]+) req/s", text, re.M)
    if not m:
        return None, "no 'floor: N responses in ...' in floor's output"
    return {"rps": float(m.group(3)), "requests": int(m.group(1)), "errors": {}}, None


def parse_barrage(path):
    try:
        with open(path) as f:
            j = json.load(f)
    except FileNotFoundError:
        return None, "barrage wrote no JSON file"
    except (OSError, ValueError) as e:
        return None, f"barrage's JSON unreadable: {e}"
    try:
        req = j["requests"]
        r = {"rps": float(j["rate"]["achieved"]), "requests": int(req["ok"]),
             "errors": {k: int(v) for k, v in (j.get("errors") or {}).items()
                        if isinstance(v, (int, float))}}
        acc = {k: int(req.get(k, 0)) for k in ("issued", "ok", "failed", "in_flight")}
        acc["balanced"] = acc["issued"] == acc["ok"] + acc["failed"] + acc["in_flight"]
        r["accounting"] = acc
        if isinstance(j.get("connections"), dict) and "opened" in j["connections"]:
            r["connections_opened"] = int(j["connections"]["opened"])
        if "duration_s" in j:
            r["duration_s"] = float(j["duration_s"])
    except (KeyError, TypeError, ValueError) as e:
        return None, f"barrage's JSON lacks a field: {e!r}"
    return r, None


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def disturbed(rec):
    """Other work on the machine took more than DISTURBED_SHARE of one CPU during the run."""
    oth, wall = rec.get("other_cpu_s"), rec.get("wall_s")
    return bool(oth is not None and wall and oth > DISTURBED_SHARE * wall)


DISTURBED_SHARE = float(os.environ.get("DISTURBED_SHARE", "0.10"))


# Medians leave disturbed runs out when every tool compared keeps at least MIN_CLEAN
# undisturbed ones (a disturbed run's CPU per request is off either way: a starved server
# makes a client batch more, a starved client pays for more wake-ups).
MIN_CLEAN = int(os.environ.get("MIN_CLEAN", "3"))


def cmd_record(a):
    rec = {"scenario": a.scenario, "round": a.round, "tool": a.tool, "conns": a.conns,
           "depth": a.depth, "cmd": a.cmd, "ok": False}
    ru = {}
    try:
        ru = json.loads(read(a.rusage) or "{}")
    except ValueError:
        pass
    rec.update({k: ru.get(k) for k in ("rc", "wall_s", "user_s", "sys_s", "maxrss_kb",
                                       "ru_maxrss_kb", "timed_out", "server_cpu_s",
                                       "kthread_cpu_s", "busy_cpu_s", "other_cpu_s", "steal_s")})
    out, err = read(a.stdout), read(a.stderr)
    if a.tool == "wrk":
        r, why = parse_wrk(out)
    elif a.tool == "h2load":
        r, why = parse_h2load(out)
    elif a.tool == "floor":
        r, why = parse_floor(out)
    else:
        r, why = parse_barrage(a.json)
    if not ru:
        r, why = None, "no resource usage recorded"
    elif ru.get("timed_out"):
        why = f"killed after the time limit ({ru.get('wall_s')} s)"
        r = None
    elif ru.get("rc") != 0:
        tail = (err.strip().splitlines() or out.strip().splitlines() or [""])[-1][:200]
        why = f"exit status {ru.get('rc')}" + (f": {tail}" if tail else "")
        r = None
    if r is not None and r.get("requests", 0) <= 0:
        errs = sum((r.get("errors") or {}).values())
        r, why = None, f"no successful responses ({errs} errors; too short a run for the connections?)"
    if r is None:
        rec["why"] = why
    else:
        rec.update(r)
        cpu = (rec["user_s"] or 0) + (rec["sys_s"] or 0)
        rec["cpu_s"] = cpu
        rec["req_per_cpu_s"] = rec["requests"] / cpu if cpu > 0 else None
        rec["user_share"] = rec["user_s"] / cpu if cpu > 0 else None
        rec["ok"] = True
    with open(a.results, "a") as f:
        f.write(json.dumps(rec) + "\n")
    # One progress line for the console.
    name = f"{a.tool}@{a.conns}" + (f"x{a.depth}" if a.depth > 1 else "")
    if rec["ok"]:
        errs = sum(v for v in rec.get("errors", {}).values())
        acc = rec.get("accounting")
        accs = "" if not acc else ("  accounting ok" if acc["balanced"] else "  ACCOUNTING MISMATCH")
        oth, kt = rec.get("other_cpu_s"), rec.get("kthread_cpu_s")
        noise = "" if kt is None else f"  kthreads {kt:4.2f} s"
        noise += "" if oth is None else f"  other {oth:5.2f} s" + ("  DISTURBED" if disturbed(rec) else "")
        rss = rec.get("maxrss_kb")
        rss = "    ?" if rss is None else f"{rss / 1024:6.1f}"
        print(f"  round {a.round}  {name:<15} {rec['rps']:>8.0f} req/s  cpu {rec['cpu_s']:6.2f} s "
              f"(user {100 * rec['user_share']:4.1f}%)  {rec['req_per_cpu_s']:>7.0f} req/CPU-s  "
              f"rss {rss} MiB  errors {errs}{accs}{noise}", flush=True)
    else:
        print(f"  round {a.round}  {name:<18} FAILED: {rec['why']}", flush=True)


# ---------------------------------------------------------------------------- meta

def cmd_meta(a):
    barrage = os.environ.get("BARRAGE", "build/barrage")
    if os.access(barrage, os.X_OK):
        bver = first_line([barrage, "--version"]) or "barrage (no --version)"
        try:
            import hashlib
            with open(barrage, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()[:12]
            built = datetime.datetime.fromtimestamp(os.path.getmtime(barrage), datetime.timezone.utc)
            bver += f" (binary sha256 {digest}…, file time {built:%Y-%m-%d %H:%M} UTC)"
        except OSError:
            pass
    else:
        bver = "barrage not built"

    git = git_describe() or None
    wrk = first_line([os.environ.get("WRK", "wrk"), "-v"])
    if wrk:
        wrk = re.sub(r"\s*Copyright.*", "", wrk)
    m = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpus_online": os.cpu_count(),
        "kernel": platform.release(),
        "cpu_model": cpu_model(),
        "barrage": bver + (f", git {git}" if git else ", no git commit yet"),
        "wrk": wrk,
        "h2load": first_line([os.environ.get("H2LOAD", "h2load"), "--version"]),
        "nginx": first_line([os.environ.get("NGINX", "nginx"), "-v"]),
        "nofile": os.environ.get("BENCH_NOFILE"),
    }
    m.update(json.loads(a.extra or "{}"))
    with open(a.out, "w") as f:
        json.dump(m, f, indent=1)


# ---------------------------------------------------------------------------- summary

SCENARIOS = {
    "keepalive": "keep-alive, depth 1, 64 connections, one client thread",
    "pipeline": "HTTP/1.1 pipelining, depth 16, 64 connections, one client thread",
    "conns10k": "10,000 keep-alive connections (and 64 for the RSS baseline), one client thread",
    "conns19k": "19,000 keep-alive connections, one client thread",
}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec=",.0f", none="–"):
    return none if x is None else format(x, spec)


def err_total(r):
    return sum(v for v in r.get("errors", {}).values())


def group(recs):
    """{(tool, conns, depth): [records]} in first-seen order."""
    g = {}
    for r in recs:
        g.setdefault((r["tool"], r["conns"], r["depth"]), []).append(r)
    return g


def scenario_summary(scen, recs, meta):
    """Return (plain text, markdown) for one scenario."""
    g = group(recs)
    rows = []
    if not any(t == "barrage" for t, _, _ in g) and meta.get("barrage_skipped"):
        pending = {}
        for (tool, conns, depth) in g:
            pending.setdefault(("barrage", conns, depth), [{
                "tool": "barrage", "conns": conns, "depth": depth, "ok": False, "round": 0,
                "cmd": "", "why": "not run: " + meta["barrage_skipped"]}])
        g = {**pending, **g}
    # Leave disturbed runs out only if every tool at this (conns, depth) keeps MIN_CLEAN
    # undisturbed ones, so that all medians of one comparison come from the same kind of run.
    drop = {}
    for (tool, conns, depth), rs in g.items():
        if tool == "floor":  # a yardstick: its runs do not decide which of the others count
            continue
        good = [r for r in rs if r["ok"]]
        ok_clean = not good or sum(1 for r in good if not disturbed(r)) >= MIN_CLEAN
        drop[(conns, depth)] = drop.get((conns, depth), True) and ok_clean
    for (tool, conns, depth), rs in g.items():
        good = [r for r in rs if r["ok"]]
        nd = sum(1 for r in good if disturbed(r))
        used = [r for r in good if not disturbed(r)] if drop.get((conns, depth), True) else good
        runs = f"{len(good)}/{len(rs)}"
        if nd and len(used) < len(good):
            runs += f", {nd} disturbed, medians of the {len(used)} others"
        elif nd:
            runs += f", {nd} disturbed, all used"
        row = {"tool": tool, "conns": conns, "depth": depth,
               "runs": runs if rs[0]["round"] else "–"}
        good = used
        if good:
            row.update({
                "rps": med(r["rps"] for r in good),
                "rpc": med(r["req_per_cpu_s"] for r in good),
                "cpu": med(r["cpu_s"] for r in good),
                "user": med(r["user_share"] for r in good),
                "rss": med(r["maxrss_kb"] for r in good),
                "srv": med(r.get("server_cpu_s") for r in good),
                "kt": med(r.get("kthread_cpu_s") for r in good),
                "oth": med(r.get("other_cpu_s") for r in good),
                "err": med(err_total(r) for r in good),
                "errmax": max(err_total(r) for r in good),
            })
        else:
            whys = sorted({r.get("why", "?") for r in rs})
            row["why"] = "; ".join(whys)[:160]
        row["cmd"] = rs[0]["cmd"]
        rows.append(row)

    hdr = ["tool", "conns", "depth", "runs ok", "req/s", "req per client CPU-s",
           "client CPU s", "user share", "peak RSS MiB", "errors (median/max)",
           "server CPU s", "kthreads CPU s", "other CPU s"]
    table = []
    for r in rows:
        if "rps" in r:
            table.append([r["tool"], f"{r['conns']:,}", str(r["depth"]), r["runs"], fmt(r["rps"]),
                          fmt(r["rpc"]), fmt(r["cpu"], ".2f"), fmt(100 * r["user"], ".1f") + "%",
                          fmt(None if r["rss"] is None else r["rss"] / 1024, ".1f"),
                          f"{fmt(r['err'], '.0f')}/{r['errmax']}",
                          fmt(r["srv"], ".2f"), fmt(r["kt"], ".2f"), fmt(r["oth"], ".2f")])
        else:
            table.append([r["tool"], f"{r['conns']:,}", str(r["depth"]), r["runs"],
                          "pending" if r["tool"] == "barrage" else "failed", "", "", "", "",
                          r["why"], "", "", ""])
    notes = []

    # barrage's ratio (req per CPU-s) against each peer at the same connection count/depth:
    # the ratio of the medians, and the median of the per-round ratios (same round, so the
    # machine's noise at that moment cancels out).
    by_key = {(r["tool"], r["conns"], r["depth"]): r for r in rows}
    for (tool, conns, depth), rs in g.items():
        if tool == "barrage":
            continue
        b = by_key.get(("barrage", conns, depth))
        p = by_key.get((tool, conns, depth))
        label = f" at {conns:,} connections" if scen.startswith("conns") else ""
        if not b or "rpc" not in b:
            notes.append(f"barrage ÷ {tool}{label}: pending (no successful barrage run)")
            continue
        if "rpc" not in p:
            continue
        rb = {r["round"]: r for r in g[("barrage", conns, depth)] if r["ok"]}
        pairs = [(rb[r["round"]], r) for r in rs
                 if r["ok"] and r["round"] in rb and r["req_per_cpu_s"]]
        clean = [(x, y) for x, y in pairs if not disturbed(x) and not disturbed(y)]
        if len(clean) >= MIN_CLEAN:
            pairs, which = clean, "undisturbed rounds"
        else:
            which = "rounds"
        pr = med(x["req_per_cpu_s"] / y["req_per_cpu_s"] for x, y in pairs)
        # Client CPU per request over the server's CPU per request in the same run: the
        # host's slow and fast phases (several seconds each on shared machines) scale both,
        # so this ratio varies far less from round to round than the raw one. It assumes
        # the server spends the same per request whichever client drives it, and holds only
        # for rounds where the server was busy (90% of the run or more) under both clients:
        # a server waiting on its client would make that client look cheaper.
        def saturated(x):
            return x.get("server_cpu_s") and x.get("cpu_s") and x.get("wall_s") \
                and x["server_cpu_s"] >= 0.9 * x["wall_s"]
        per_srv = [(y["cpu_s"] / y["server_cpu_s"]) / (x["cpu_s"] / x["server_cpu_s"])
                   for x, y in pairs if saturated(x) and saturated(y)]
        vs_srv = (f"; against the server's CPU in the same run {med(per_srv):.2f}×, "
                  f"range {min(per_srv):.2f}–{max(per_srv):.2f}"
                  + (f", {len(per_srv)} round{'s' if len(per_srv) != 1 else ''} with the server busy"
                     if len(per_srv) < len(pairs) else "")
                  ) if per_srv else ""
        notes.append(f"barrage ÷ {tool}{label}: req per client CPU-s {b['rpc'] / p['rpc']:.2f}× "
                     f"(median of same-round ratios {fmt(pr, '.2f')}×, {len(pairs)} "
                     f"{which if len(pairs) != 1 else which[:-1]}{vs_srv}); "
                     f"req/s {b['rps'] / p['rps']:.2f}×")

    # The floor client against wrk: how far any io_uring client could get on this run.
    for (tool, conns, depth), f in by_key.items():
        w = by_key.get(("wrk", conns, depth))
        if tool == "floor" and w and "rpc" in f and "rpc" in w:
            notes.append(f"floor ÷ wrk: req per client CPU-s {f['rpc'] / w['rpc']:.2f}× (bench/floor.c: "
                         "the kernel's TCP path plus the least io_uring adds; what barrage's "
                         "ratio could reach on this machine)")

    # RSS per connection = (peak RSS at N − peak RSS at 64) / (N − 64).
    if scen.startswith("conns"):
        for tool in TOOLS:
            hi = [r for r in rows if r["tool"] == tool and r["conns"] > 64 and r.get("rss")]
            lo = [r for r in rows if r["tool"] == tool and r["conns"] == 64 and r.get("rss")]
            if hi and lo:
                h, l = hi[0], lo[0]
                per = (h["rss"] - l["rss"]) * 1024 / (h["conns"] - 64)
                notes.append(f"{tool}: RSS per connection = ({h['rss'] / 1024:.1f} MiB at "
                             f"{h['conns']:,} − {l['rss'] / 1024:.1f} MiB at 64) / "
                             f"{h['conns'] - 64:,} = {per / 1024:.2f} KiB")
        # Error breakdown (per run) and barrage's accounting.
        for (tool, conns, depth), rs in g.items():
            if conns <= 64:
                continue
            good = [r for r in rs if r["ok"]]
            if not good:
                continue
            keys = sorted({k for r in good for k in r.get("errors", {})})
            if all(err_total(r) == 0 for r in good):
                notes.append(f"{tool} errors at {conns:,}: none in {len(good)} runs "
                             f"({', '.join(keys)} all 0)")
            else:
                per_run = "; ".join(
                    f"round {r['round']}: " + ", ".join(f"{k} {r['errors'].get(k, 0)}" for k in keys)
                    for r in good)
                notes.append(f"{tool} errors at {conns:,}: {per_run}")
            if tool == "barrage":
                bal = sum(1 for r in good if r.get("accounting", {}).get("balanced"))
                accs = "; ".join(
                    "issued {issued:,} = ok {ok:,} + failed {failed:,} + in_flight {in_flight:,}"
                    .format(**r["accounting"]) + ("" if r["accounting"]["balanced"] else " MISMATCH")
                    for r in good if "accounting" in r)
                notes.append(f"barrage accounting at {conns:,}: {bal}/{len(good)} runs balance "
                             f"(issued == ok+failed+in_flight): {accs}")
                op = [r.get("connections_opened") for r in good if r.get("connections_opened") is not None]
                if op:
                    notes.append(f"barrage connections opened at {conns:,}: "
                                 + ", ".join(f"{x:,}" for x in op))

    nd = sum(1 for r in recs if r.get("ok") and disturbed(r))
    if nd:
        notes.append(f"{nd} of {sum(1 for r in recs if r.get('ok'))} runs were disturbed (other work on "
                     f"the machine above {DISTURBED_SHARE:.0%} of a CPU during the run); medians "
                     f"leave them out where every tool keeps at least {MIN_CLEAN} undisturbed "
                     "runs; where they are used, treat the numbers with care or run again on a "
                     "quiet machine")

    # Plain text.
    widths = [max(len(hdr[i]), *(len(t[i]) for t in table)) for i in range(len(hdr))]
    plain = [f"{scen}: {SCENARIOS.get(scen, '')}"]
    plain.append("  " + "  ".join(h.ljust(w) for h, w in zip(hdr, widths)))
    for t in table:
        plain.append("  " + "  ".join(c.ljust(w) for c, w in zip(t, widths)))
    plain += ["  " + n for n in notes]

    # Markdown.
    md = [f"### {scen}: {SCENARIOS.get(scen, '')}", ""]
    extra = meta.get("scenarios", {}).get(scen, {})
    if extra:
        md.append(f"Server: nginx, {extra.get('workers')} worker(s) on CPU {meta.get('server_cpu')}; "
                  f"client on CPU {meta.get('client_cpu')}; {extra.get('rounds')} rounds of "
                  f"{extra.get('duration')} each, tools alternating within each round; URL "
                  f"`{extra.get('url_path', '/')}`.")
        md.append("")
    md.append("Commands (each under `bench/measure.py --cpu "
              f"{meta.get('client_cpu', 1)} --`):")
    md.append("")
    seen = set()
    for r in rows:
        if r["cmd"] and r["cmd"] not in seen:
            seen.add(r["cmd"])
            md.append(f"    {r['cmd']}")
    md.append("")
    md.append("| " + " | ".join(hdr) + " |")
    md.append("|" + "|".join("---" if i < 3 else "--:" for i in range(len(hdr))) + "|")
    for t in table:
        md.append("| " + " | ".join(t) + " |")
    md.append("")
    md += [f"- {n}" for n in notes]
    return "\n".join(plain), "\n".join(md)


def cmd_summary(a):
    recs = [json.loads(l) for l in open(a.results) if l.strip()]
    meta = json.load(open(a.meta)) if a.meta and os.path.exists(a.meta) else {}
    scens = []
    for r in recs:
        if r["scenario"] not in scens:
            scens.append(r["scenario"])
    plains, mds = [], []
    for s in scens:
        p, m = scenario_summary(s, [r for r in recs if r["scenario"] == s], meta)
        plains.append(p)
        mds.append(m)
    print("\n==== medians per tool " + "=" * 50)
    print("\n\n".join(plains))

    md = [f"## {meta.get('date', '')}: {', '.join(scens)}", ""]
    md.append(f"- Machine: {meta.get('nproc')} CPUs available ({meta.get('cpus_online')} online), "
              f"{meta.get('cpu_model')}, Linux {meta.get('kernel')}, open files {meta.get('nofile')}")
    md.append(f"- {meta.get('barrage')}; {meta.get('wrk')}; {meta.get('h2load')}; "
              f"{meta.get('nginx')}")
    if meta.get("notes"):
        md.append(f"- {meta['notes']}")
    md.append("")
    md.append("\n\n".join(mds))
    text = "\n".join(md) + "\n"
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    print("\n==== markdown for bench/RESULTS.md " + "=" * 37)
    print(text, end="")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("record")
    r.add_argument("--results", required=True)
    r.add_argument("--scenario", required=True)
    r.add_argument("--round", type=int, required=True)
    r.add_argument("--tool", required=True, choices=TOOLS)
    r.add_argument("--conns", type=int, required=True)
    r.add_argument("--depth", type=int, default=1)
    r.add_argument("--stdout", required=True)
    r.add_argument("--stderr", required=True)
    r.add_argument("--rusage", required=True)
    r.add_argument("--json")
    r.add_argument("--cmd", default="")
    s = sub.add_parser("summary")
    s.add_argument("--results", required=True)
    s.add_argument("--meta")
    s.add_argument("--markdown")
    m = sub.add_parser("meta")
    m.add_argument("--out", required=True)
    m.add_argument("--extra", help="JSON object merged into the result")
    a = ap.parse_args()
    {"record": cmd_record, "summary": cmd_summary, "meta": cmd_meta}[a.what](a)


if __name__ == "__main__":
    main()
