"""What the benchmark scripts in bench/ share; each imports it as `common` (Python puts a
script's own folder first on sys.path, so `bench/tls.py` works from any directory).

  - where things are and which CPUs: BENCH, ROOT, BARRAGE ($BARRAGE or build/barrage), WRK
    ($WRK or wrk), SERVER_CPU ($SERVER_CPU, 0) and CLIENT_CPU ($CLIENT_CPU, 1);
  - log() for progress on stderr;
  - the server: free_port(), wait_listening(), start_nginx() (bench/nginx.conf.in filled
    in, more locations or server blocks added, pinned, waited for), settle() (until nginx
    holds no connection), make_certs() (a CA and a certificate for 127.0.0.1);
  - the client: measure_cmd() (a command under bench/measure.py), parse_wrk();
  - the report: first_line() (a tool's version), cpu_model(), git_describe(), med(),
    clean(), fmt(), quote(), write_outputs() (the markdown section and raw.json; with
    --append also to bench/RESULTS.md).
"""
import json
import os
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
SERVER_CPU = int(os.environ.get("SERVER_CPU", "0"))
CLIENT_CPU = int(os.environ.get("CLIENT_CPU", "1"))
BARRAGE = os.environ.get("BARRAGE", os.path.join(ROOT, "build", "barrage"))
WRK = os.environ.get("WRK", "wrk")
PROG = os.path.basename(sys.argv[0])     # for messages: "tls.py: ..."


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- the server

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(proc, ports, failure):
    """Waits (up to 10 s a port) until every port of 127.0.0.1 accepts a connection; if one
    does not, or proc exits first, stops proc and exits with the message `failure`."""
    for port in ports:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    sys.exit(failure)
                time.sleep(0.05)
        else:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
            sys.exit(failure)


# The template's catch-all location, after which extra_locations go.
ANCHOR = '        location / { return 200 "hello"; }'


def start_nginx(tmp, workers=1, cpus=(SERVER_CPU,), nofile=4096, worker_connections=4000, ports=None,
                extra_locations=(), http_lines=(), replace_server=False):
    """Starts nginx from bench/nginx.conf.in with TMP/nginx as its prefix and waits until it
    listens; returns (Popen, port, prefix).

    workers: worker_processes; cpus: worker i on cpus[i] (worker_cpu_affinity; one CPU for
    all of them when there is one), the master pinned to these CPUs with taskset. nofile,
    worker_connections: worker_rlimit_nofile and worker_connections. ports: the template
    server's port first, then any that http_lines listen on (default: one free port).
    extra_locations: lines put after the template server's `location /`. http_lines: lines
    put at the end of the http block, or, with replace_server, in place of the template's
    server block. In every line @PREFIX@ stands for the prefix, like the template's own
    fields."""
    nginx = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = os.path.join(tmp, "nginx")
    os.makedirs(os.path.join(prefix, "html"))
    os.chmod(tmp, 0o755)
    os.chmod(prefix, 0o755)
    ports = list(ports) if ports else [free_port()]
    conf = open(os.path.join(BENCH, "nginx.conf.in")).read()
    if extra_locations:
        if ANCHOR not in conf:
            sys.exit("%s: no '%s' in bench/nginx.conf.in" % (PROG, ANCHOR.strip()))
        conf = conf.replace(ANCHOR, ANCHOR + "\n" + "\n".join(extra_locations))
    if http_lines:
        cut = conf.find("    server {") if replace_server else conf.rfind("}")
        if cut < 0:
            sys.exit("%s: no 'server {' block in bench/nginx.conf.in" % PROG)
        conf = conf[:cut] + "\n".join(http_lines) + "\n}\n"
    for k, v in {"PREFIX": prefix, "WORKERS": str(workers), "AFFINITY": " ".join("1" + "0" * c for c in cpus),
                 "RLIMIT": str(nofile), "WORKER_CONNECTIONS": str(worker_connections),
                 "PORT": str(ports[0])}.items():
        conf = conf.replace("@%s@" % k, v)
    open(os.path.join(prefix, "nginx.conf"), "w").write(conf)
    p = subprocess.Popen(["taskset", "-c", ",".join(str(c) for c in sorted(set(cpus))), nginx, "-p", prefix + "/",
                          "-c", os.path.join(prefix, "nginx.conf"), "-e", os.path.join(prefix, "error.log")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(p, ports, "%s: nginx did not start; see %s/error.log" % (PROG, prefix))
    return p, ports[0], prefix


def established(port):
    """Established TCP connections with local or remote port `port`, counting both ends."""
    n = 0
    hexport = ":%04X" % port
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "01" and (parts[1].endswith(hexport) or parts[2].endswith(hexport)):
                        n += 1
        except OSError:
            pass
    return n


def settle(ports, limit=60):
    """Waits until no connection to nginx is left (a 10k run leaves many to close)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit and sum(established(p) for p in ports):
        time.sleep(0.2)
    time.sleep(1)


def run_quiet(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_certs(d, key):
    """CA and a server certificate for IP 127.0.0.1 signed by it; returns (ca, cert, key)."""
    newkey = ["-newkey", "rsa:2048"] if key == "rsa" else ["-newkey", "ec", "-pkeyopt",
                                                            "ec_paramgen_curve:P-256"]
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    crt, crt_key, csr = os.path.join(d, "server.pem"), os.path.join(d, "server.key"), os.path.join(d, "server.csr")
    ext = os.path.join(d, "ext.cnf")
    run_quiet(["openssl", "req", "-x509"] + newkey + ["-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
                                                       "-subj", "/CN=barrage bench CA"])
    run_quiet(["openssl", "req"] + newkey + ["-nodes", "-keyout", crt_key, "-out", csr, "-subj", "/CN=127.0.0.1"])
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    run_quiet(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
               "-out", crt, "-days", "2", "-extfile", ext])
    return ca, crt, crt_key


# ---------------------------------------------------------------------------- the client

def measure_cmd(cmd, out, server_pid=0, timeout=120, cpus=CLIENT_CPU):
    """cmd under bench/measure.py: pinned to cpus (a CPU or a list, "0-3"), stopped after
    timeout s, its rusage (and server_pid's CPU) as JSON into the file out."""
    return [sys.executable, os.path.join(BENCH, "measure.py"), "--cpu", str(cpus), "--timeout", str(timeout),
            "--server-pid", str(server_pid), "--out", out, "--"] + list(cmd)


def parse_wrk(text):
    r = {"requests": 0, "rps": 0.0, "non2xx": 0, "socket_errors": 0}
    for line in text.splitlines():
        s = line.strip()
        if "requests in" in s:
            r["requests"] = int(s.split()[0])
        elif s.startswith("Requests/sec:"):
            r["rps"] = float(s.split()[1])
        elif s.startswith("Non-2xx or 3xx responses:"):
            r["non2xx"] = int(s.split()[-1])
        elif s.startswith("Socket errors:"):
            r["socket_errors"] = sum(int(x) for x in re.findall(r"\d+", s))
    return r


# ---------------------------------------------------------------------------- the report

def first_line(cmd, timeout=10):
    """The first line a command prints (its version), or None if it cannot run or fails
    (an exit status other than 0 or 1: `wrk -v` exits 1)."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    s = (p.stdout + p.stderr).strip()
    return s.splitlines()[0].strip() if s and p.returncode in (0, 1) else None


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def git_describe():
    """`git describe --always --dirty` of the repository, or "" without one."""
    try:
        return subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def med(rows, f):
    """The median of field f over rows, numbers only (None and NaN left out); NaN if none."""
    v = [r[f] for r in rows if isinstance(r.get(f), (int, float)) and r[f] == r[f]]
    return statistics.median(v) if v else float("nan")


def clean(rows):
    """Undisturbed successful runs, if at least 2 of them, else all successful runs."""
    ok = [r for r in rows if r["ok"] > 0]
    c = [r for r in ok if not r["disturbed"]]
    return c if len(c) >= 2 else ok


def fmt(x, spec="{:,.0f}"):
    return "–" if x != x else spec.format(x)


def quote(cmd):
    return " ".join(shlex.quote(x) for x in cmd)


def write_outputs(tmp, text, raw, append, keep):
    """The markdown section and raw data into tmp (and RESULTS.md with append); tmp is
    removed unless kept."""
    with open(os.path.join(tmp, "RESULTS-section.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(tmp, "raw.json"), "w") as f:
        json.dump(raw, f, indent=1)
    if append:
        with open(os.path.join(BENCH, "RESULTS.md"), "a") as f:
            f.write("\n" + text + "\n")
    if keep:
        log("raw outputs in %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
