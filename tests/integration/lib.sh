# shellcheck shell=bash disable=SC2034
# Shared helpers of the integration tests (sourced by tests/integration/[0-9]*.sh).
#
#   start_target [serve flags]   barrage serve on 127.0.0.1, an ephemeral port: sets
#                                TARGET_PORT, TARGET_PID, TARGET_STATS, TARGET_URL
#   stop_target                  SIGTERM it, wait; TARGET_STATS then holds its totals
#   start_nginx                  nginx in a temporary prefix on a free port: NGINX_PORT,
#                                NGINX_URL, NGINX_LOG (access log, one line a request)
#   stop_nginx
#   bar ARGS...                  build/barrage with a time limit (BAR_LIMIT s, default 30);
#                                stdout/stderr in $BAR_OUT/$BAR_ERR, wall time in BAR_WALL
#   json_get FILE EXPR           a value of a JSON file: EXPR is a dotted path
#                                (requests.issued, status.200) or a Python expression over j
#   check_accounting FILE        the summary's invariants; prints what is wrong
#   expect_bad_input NAME PAT ARGS  one test: barrage refuses ARGS with one line matching PAT
#   begin NAME / expect_* / end  one test: every failed expectation is collected, end
#                                prints "PASS NAME" or "FAIL NAME: why; why"
#
# Everything a script starts is stopped at exit (trap EXIT), and its files are removed.
set -u

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$IT_DIR/../.." && pwd)
BARRAGE=${BARRAGE:-$ROOT/build/barrage}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
# The interpreter itself, not a version manager's shim: the tests call it a few hundred times.
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
[ -x "$PY" ] || PY=python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/barrage-it.XXXXXX")
BAR_OUT=$TMP/bar.out
BAR_ERR=$TMP/bar.err
BAR_LIMIT=${BAR_LIMIT:-30}
TARGET_PID='' TARGET_PORT='' TARGET_STATS='' TARGET_URL=''
NGINX_PID='' NGINX_PORT='' NGINX_URL='' NGINX_LOG='' NGINX_PREFIX=''

# ------------------------------------------------------------------------ clean-up

_kill_wait() {  # pid [signal]: signal it, wait up to 5 s, then SIGKILL
    local pid=$1 sig=${2:-TERM} i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -"$sig" "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "  warning: pid $pid ignored SIG$sig for 5 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# Runs in the background (SPAWNED_PID); stopped at exit unless waited for before.
spawn() {
    "$@" &
    SPAWNED_PID=$!
}

# Python test servers share their scaffolding (pyserve.py): listen(portfile) binds a
# loopback port and announces it in the file; serve_each(ls, serve, idle_s) runs
# serve(conn) in a thread per connection, until no client came for idle_s; read_head(conn,
# buf) reads until a request head is whole: (head, what came after it), or None at EOF.
cat >"$TMP/pyserve.py" <<'PY'
import os, socket, threading
def listen(portfile):
    ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(64)
    open(portfile + ".tmp", "w").write(str(ls.getsockname()[1])); os.rename(portfile + ".tmp", portfile)
    return ls
def serve_each(ls, serve, idle_s):
    ls.settimeout(idle_s)
    while True:
        try: c = ls.accept()[0]
        except socket.timeout: break
        threading.Thread(target=serve, args=(c,), daemon=True).start()
def read_head(c, buf=b""):
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d: return None
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest
PY

# py_server SCRIPT ARGS...: runs SCRIPT PORTFILE ARGS in the background (SPAWNED_PID), a
# server built on pyserve.py; sets PY_PORT once it listens.
py_server() {
    local i
    rm -f "$TMP/py.port"
    spawn env PYTHONPATH="$TMP" "$PY" -S "$1" "$TMP/py.port" "${@:2}"
    for ((i = 0; i < 100; i++)); do [ -s "$TMP/py.port" ] && break; sleep 0.05; done
    PY_PORT=$(cat "$TMP/py.port" 2>/dev/null)
}

# Only children not yet waited for are signalled (jobs -p), so a recycled pid is never hit.
_cleanup() {
    local pid
    [ -n "$TARGET_PID" ] && _kill_wait "$TARGET_PID"
    [ -n "$NGINX_PID" ] && _kill_wait "$NGINX_PID"
    for pid in $(jobs -p); do _kill_wait "$pid" KILL; done
    rm -rf "$TMP"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM HUP

# ------------------------------------------------------------------------ results

T_NAME='' T_ERRS=''
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

begin() {
    T_NAME=$1 T_ERRS=''
    : >"$BAR_OUT"
    : >"$BAR_ERR"
}
_err() { T_ERRS+="${T_ERRS:+; }$*"; }
end() {
    if [ -z "$T_ERRS" ]; then pass "$T_NAME"; else fail "$T_NAME" "$T_ERRS"; fi
    if [ -n "$T_ERRS" ] && [ -s "$BAR_ERR" ]; then sed 's/^/  stderr: /' "$BAR_ERR" | head -5; fi
    T_NAME='' T_ERRS=''
}
# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" == "$3" ] || _err "$1 is '$2', expected '$3'"; }
# expect_num_eq WHAT GOT WANT: numbers
expect_num_eq() { _cmp "$1" "$2" "== $3" || _err "$1 is $2, expected $3"; }
# expect_range WHAT GOT LO HI (inclusive, numbers with fractions allowed)
expect_range() { _cmp "$1" "$2" ">= $3 and x <= $4" || _err "$1 is $2, expected $3..$4"; }
expect_gt() { _cmp "$1" "$2" "> $3" || _err "$1 is $2, expected > $3"; }
expect_ge() { _cmp "$1" "$2" ">= $3" || _err "$1 is $2, expected >= $3"; }
expect_le() { _cmp "$1" "$2" "<= $3" || _err "$1 is $2, expected <= $3"; }
_cmp() {  # what value condition: x <cond> with x the value
    "$PY" -S - "$2" "$3" <<'EOF' 2>/dev/null
import sys
try:
    x = float(sys.argv[1])
except ValueError:
    sys.exit(1)
sys.exit(0 if eval("x " + sys.argv[2]) else 1)
EOF
}
# expect_ok WHAT COMMAND...: the command succeeds; its output is the reason otherwise
expect_ok() {
    local what=$1 out
    shift
    out=$("$@" 2>&1) || _err "$what: ${out:-failed}"
}
# expect_grep WHAT PATTERN FILE / expect_no_grep
expect_grep() { grep -Eq -- "$2" "$3" || _err "$1: no line matches /$2/"; }
expect_no_grep() { ! grep -Eq -- "$2" "$3" || _err "$1: a line matches /$2/: $(grep -Em1 -- "$2" "$3")"; }

# ------------------------------------------------------------------------ JSON

# json_get FILE EXPR: prints the value (true/false for booleans); exit 1 when missing.
json_get() {
    "$PY" -S - "$1" "$2" <<'EOF'
import json, re, sys
path, expr = sys.argv[1], sys.argv[2]
try:
    with open(path) as f:
        j = json.load(f)
except Exception as e:
    print("NO-JSON(%s)" % type(e).__name__); sys.exit(1)
try:
    if re.fullmatch(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*", expr):
        v = j
        parts = expr.split(".")
        i = 0
        while i < len(parts):  # keys may hold dots ("p99.9"): take the longest that exists
            for k in range(len(parts), i, -1):
                key = ".".join(parts[i:k])
                if isinstance(v, dict) and key in v:
                    v = v[key]; i = k; break
            else:
                raise KeyError(".".join(parts[i:]))
    else:
        v = eval(expr, {"j": j})
except Exception as e:
    print("MISSING(%s)" % e); sys.exit(1)
if isinstance(v, bool): print("true" if v else "false")
elif isinstance(v, (dict, list)): print(json.dumps(v, sort_keys=True, separators=(",", ":")))
else: print(v)
EOF
}

# check_accounting FILE: prints every broken invariant and fails, or prints nothing.
#   issued == ok + failed + in_flight;  failed == sum(errors);  ok + errors.status == sum(status);
#   latency_us.count == ttfb_us.count == sum(status) (every response is timed once);
#   connect_us.count <= connections.opened; quantiles in order, min <= mean <= max;
#   rate.achieved == responses / duration_s; nothing negative.
check_accounting() {
    "$PY" -S - "$1" <<'EOF'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("no JSON summary in %s (%s)" % (sys.argv[1], e)); sys.exit(1)
bad = []
try:
    r, e, st, c = j["requests"], j["errors"], j["status"], j["connections"]
    for k in ("connect", "timeout", "reset", "parse", "status"):
        if k not in e: bad.append("errors.%s missing" % k)
    answered = sum(st.values())
    if r["issued"] != r["ok"] + r["failed"] + r["in_flight"]:
        bad.append("issued %d != ok %d + failed %d + in_flight %d" % (r["issued"], r["ok"], r["failed"], r["in_flight"]))
    if r["failed"] != sum(e.values()):
        bad.append("failed %d != sum(errors) %d %s" % (r["failed"], sum(e.values()), json.dumps(e)))
    # a response counts as ok, or fails by its status or (scenarios) a check
    if r["ok"] + e.get("status", 0) + e.get("check", 0) != answered:
        bad.append("ok %d + errors.status %d + errors.check %d != sum(status) %d" % (
            r["ok"], e.get("status", 0), e.get("check", 0), answered))
    if "steps" in j:  # scenarios: every finished request belongs to one step name
        steps = j["steps"].values()
        if sum(s["requests"] for s in steps) != r["ok"] + r["failed"]:
            bad.append("sum(steps.requests) %d != ok + failed %d" % (sum(s["requests"] for s in steps), r["ok"] + r["failed"]))
        if sum(s["ok"] for s in steps) != r["ok"]:
            bad.append("sum(steps.ok) %d != ok %d" % (sum(s["ok"] for s in steps), r["ok"]))
        for name, s in j["steps"].items():
            if s["requests"] != s["ok"] + s["failed"] or sum(s["failures"].values()) != s["failed"]:
                bad.append("step %r: requests %d, ok %d, failed %d, failures %s" % (
                    name, s["requests"], s["ok"], s["failed"], json.dumps(s["failures"])))
    for h in ("latency_us", "ttfb_us"):
        if j[h]["count"] != answered:
            bad.append("%s.count %d != responses %d" % (h, j[h]["count"], answered))
    for h in ("latency_us", "ttfb_us", "connect_us"):
        q = [j[h][k] for k in ("min", "p50", "p90", "p95", "p99", "p99.9", "p99.99", "max")]
        if j[h]["count"] and any(a > b * 1.01 + 1 for a, b in zip(q, q[1:])):
            bad.append("%s quantiles not in order: %s" % (h, q))
        if j[h]["count"] and not (j[h]["min"] - 1 <= j[h]["mean"] <= j[h]["max"] + 1):
            bad.append("%s mean %s outside [min, max]" % (h, j[h]["mean"]))
        if not j[h]["count"] and any(q):
            bad.append("%s has values but count 0" % h)
    if j["ttfb_us"]["count"] and j["ttfb_us"]["min"] > j["latency_us"]["max"]:
        bad.append("ttfb min above latency max")
    d = j["duration_s"]
    if d > 0.05 and abs(j["rate"]["achieved"] - answered / d) > 0.01 * answered / d + 1:
        bad.append("rate.achieved %s != responses / duration_s %.2f" % (j["rate"]["achieved"], answered / d))
    # open loop: its own histograms and counts (scenarios: an arrival is a user, not a request)
    if j.get("load", {}).get("model") == "open":
        if j["in_flight_age_us"]["count"] != r["in_flight"]:
            bad.append("in_flight_age_us.count %d != in_flight %d" % (j["in_flight_age_us"]["count"], r["in_flight"]))
        if r["queued_at_stop"] > r["in_flight"]:
            bad.append("queued_at_stop %d > in_flight %d" % (r["queued_at_stop"], r["in_flight"]))
    if j.get("load", {}).get("model") == "open" and "steps" not in j:
        if j["service_time_us"]["count"] != answered:
            bad.append("service_time_us.count %d != responses %d" % (j["service_time_us"]["count"], answered))
        if j["rate"]["dropped"] != e["dropped"]:
            bad.append("rate.dropped %d != errors.dropped %d" % (j["rate"]["dropped"], e["dropped"]))
        if j["schedule_lag_us"]["count"] != r["issued"]:
            bad.append("schedule_lag_us.count %d != issued %d" % (j["schedule_lag_us"]["count"], r["issued"]))
    if j["connect_us"]["count"] > c["opened"]:
        bad.append("connect_us.count %d > connections.opened %d" % (j["connect_us"]["count"], c["opened"]))
    # every response and failure is in one interval row: the rows add up to the totals
    ivs = j.get("intervals", [])
    if ivs and ivs[-1]["t"] > j["duration_s"] + 0.0015:  # (t is rounded to the ms)
        bad.append("the last interval ends at %s, after the stop at %s" % (ivs[-1]["t"], j["duration_s"]))
    if sum(iv["ok"] for iv in ivs) != r["ok"] or sum(iv["errors"] for iv in ivs) != r["failed"]:
        bad.append("intervals add up to ok %d, errors %d; the totals say %d, %d" % (
            sum(iv["ok"] for iv in ivs), sum(iv["errors"] for iv in ivs), r["ok"], r["failed"]))
    # an interval's open connections never exceed the sum of each worker's peak
    for i, iv in enumerate(j.get("intervals", [])):
        if iv["users"] > c["max_open"]:
            bad.append("intervals[%d].users %d > connections.max_open %d" % (i, iv["users"], c["max_open"]))
            break
    # what barrage used: derived fields agree with what they are derived from
    cl = j["client"]
    done = r["issued"] - r["in_flight"]
    if done and abs(cl["cpu_us_per_request"] - cl["cpu_s"] * 1e6 / done) > 0.001 * cl["cpu_us_per_request"] + 0.01:
        bad.append("client.cpu_us_per_request %s != cpu_s * 1e6 / finished %d" % (cl["cpu_us_per_request"], done))
    if cl["waits"] and abs(cl["completions_per_wait"] - cl["completions"] / cl["waits"]) > 0.01:
        bad.append("client.completions_per_wait %s != completions / waits" % cl["completions_per_wait"])
    if cl["saturated"] != (cl["worker_busy_max_pct"] >= 90):
        bad.append("client.saturated %s but the busiest worker %s%%" % (cl["saturated"], cl["worker_busy_max_pct"]))
    if cl["worker_busy_mean_pct"] > cl["worker_busy_max_pct"] + 0.01:
        bad.append("client: mean busy share above the busiest worker's")
    if cl["worker_busy_max_pct"] > 100.5:  # a thread's CPU over its own time: one core at most
        bad.append("client: a worker busy %s%% of its run" % cl["worker_busy_max_pct"])
    if done and (cl["cpu_s"] <= 0 or not cl["waits"]):
        bad.append("client: %d requests finished with cpu_s %s and %d waits" % (done, cl["cpu_s"], cl["waits"]))
    # receives timed by the kernel (rx_time.h): some of the completions, pipelined only
    if cl["kernel_timed_receives"] > cl["completions"]:
        bad.append("client.kernel_timed_receives %d > completions %d" % (cl["kernel_timed_receives"], cl["completions"]))
    if j["pipeline"] == 1 and cl["kernel_timed_receives"]:
        bad.append("client.kernel_timed_receives %d at depth 1" % cl["kernel_timed_receives"])
    if r["ok"] and not cl["sends"]:
        bad.append("client: %d requests answered with no send" % r["ok"])
    # every response arrives in at least one completion (pipelined ones may share one)
    if cl["completions"] * j["pipeline"] < answered:
        bad.append("client.completions %d for %d responses at depth %d" % (cl["completions"], answered, j["pipeline"]))
    for name, v in list(r.items()) + list(e.items()) + list(c.items()) + list(cl.items()):
        if isinstance(v, (int, float)) and v < 0: bad.append("%s is negative" % name)
except (KeyError, TypeError) as x:
    bad.append("field missing: %s" % x)
if bad:
    print("; ".join(bad)); sys.exit(1)
EOF
}

# expect_json FILE PATH WANT: numeric equality of one field
expect_json() {
    local v
    v=$(json_get "$1" "$2") || { _err "$2 missing in the JSON"; return; }
    expect_num_eq "$2" "$v" "$3"
}
# expect_json_str FILE EXPR WANT: textual equality (objects come out as compact sorted JSON)
expect_json_str() {
    local v
    v=$(json_get "$1" "$2") || { _err "$2 missing in the JSON"; return; }
    expect_eq "$2" "$v" "$3"
}
expect_accounting() { expect_ok "accounting" check_accounting "$1"; }
# Every connection opened was closed by the server or by barrage, or is open at the stop
# (the last interval's open connections): for runs whose last interval ends at the stop.
expect_closes_balance() {
    expect_json_str "$1" '(lambda c, iv: c["opened"] - c["closed_by_server"] - c["closed_by_client"] - (iv[-1]["users"] if iv else 0))(j["connections"], j["intervals"])' 0
}

# ------------------------------------------------------------------------ barrage

now_s() { date +%s.%N; }

# bar ARGS...: runs barrage (never more than BAR_LIMIT s); sets BAR_RC and BAR_WALL.
bar() {
    local t0 t1
    t0=$(now_s)
    timeout -k 2 "$BAR_LIMIT" "$BARRAGE" "$@" >"$BAR_OUT" 2>"$BAR_ERR" </dev/null
    BAR_RC=$?
    t1=$(now_s)
    BAR_WALL=$("$PY" -S -c "print(round($t1 - $t0, 3))")
    if [ "$BAR_RC" -eq 124 ] || [ "$BAR_RC" -eq 137 ]; then
        echo "  barrage timed out after ${BAR_LIMIT}s: $*" >&2
    fi
    return 0
}
expect_rc() { [ "$BAR_RC" -eq "$1" ] || _err "exit status $BAR_RC, expected $1"; }

# response_len PORT PATH: bytes of one whole response (head and Content-Length body) to a GET
# of PATH on 127.0.0.1:PORT, read with a plain socket.
response_len() {
    "$PY" -S - "$1" "$2" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.settimeout(5)
s.sendall(b"GET " + sys.argv[2].encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(65536)
head, body = buf.split(b"\r\n\r\n", 1)
n = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
while len(body) < n:
    body += s.recv(65536)
print(len(head) + 4 + n)
EOF
}

# ------------------------------------------------------------------------ the built-in target

# start_target [serve flags]: one at a time per script (stop_target before the next).
start_target() {
    [ -z "$TARGET_PID" ] || stop_target
    local dir i
    dir=$(mktemp -d "$TMP/target.XXXXXX")
    TARGET_STATS=$dir/stats.json
    "$BARRAGE" serve --host 127.0.0.1 --port 0 --port-file "$dir/port" --stats-file "$TARGET_STATS" \
        --quiet "$@" >"$dir/out" 2>"$dir/err" </dev/null &
    TARGET_PID=$!
    for ((i = 0; i < 100; i++)); do
        [ -s "$dir/port" ] && break
        kill -0 "$TARGET_PID" 2>/dev/null || break
        sleep 0.05
    done
    TARGET_PORT=$(cat "$dir/port" 2>/dev/null)
    if ! [[ $TARGET_PORT =~ ^[0-9]+$ ]]; then
        echo "FAIL start_target: barrage serve $* did not announce a port: $(head -c 300 "$dir/err")"
        _kill_wait "$TARGET_PID" KILL
        TARGET_PID=''
        exit 1
    fi
    TARGET_URL=http://127.0.0.1:$TARGET_PORT
}

# stop_target: SIGTERM, wait; returns 1 when it did not exit cleanly or wrote no stats.
stop_target() {
    [ -n "$TARGET_PID" ] || return 0
    local pid=$TARGET_PID rc
    TARGET_PID=''
    kill -TERM "$pid" 2>/dev/null
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        echo "  barrage serve did not stop within 5 s of SIGTERM" >&2
        return 1
    fi
    wait "$pid"
    rc=$?
    [ "$rc" -eq 0 ] && [ -s "$TARGET_STATS" ]
}

# server_count KEY: requests or connections from the stats file of the stopped target
server_count() { json_get "$TARGET_STATS" "$1"; }

# expect_bad_input NAME PATTERN ARGS...: one test that barrage refuses ARGS: exit 2, one
# stderr line starting "barrage: " and matching PATTERN, nothing on stdout, within 10 s.
expect_bad_input() {
    local name=$1 pattern=$2
    shift 2
    begin "$name"
    bar "$@"
    expect_rc 2
    expect_le "run time (s)" "$BAR_WALL" 10
    expect_num_eq "stderr lines" "$(wc -l <"$BAR_ERR")" 1
    grep -q '^barrage: ' "$BAR_ERR" || _err "stderr does not start with 'barrage: ': $(head -c 200 "$BAR_ERR")"
    grep -Eq -- "$pattern" "$BAR_ERR" || _err "stderr does not match /$pattern/: $(head -c 300 "$BAR_ERR")"
    [ -s "$BAR_OUT" ] && _err "stdout not empty: $(head -c 200 "$BAR_OUT")"
    end
}

# ------------------------------------------------------------------------ nginx

have_nginx() { [ -x "$NGINX" ] || command -v "$NGINX" >/dev/null 2>&1; }

free_port() {
    "$PY" -S -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_nginx: locations
#   /            200 "hello nginx\n" (12 bytes)
#   /missing     404
#   /file.txt    a static 1000-byte file
#   /ssi.html    a static file through SSI: no Content-Length, so chunked
#   /gz.txt      a static 20000-byte file, gzip'd (chunked) for Accept-Encoding: gzip
#   /big-headers 200 with eight 1500-byte header lines (a head over twelve 1 KiB receive buffers)
start_nginx() {
    local try i
    NGINX_PREFIX=$(mktemp -d "$TMP/nginx.XXXXXX")
    chmod 755 "$TMP" "$NGINX_PREFIX"
    mkdir -p "$NGINX_PREFIX/html" "$NGINX_PREFIX/logs"
    "$PY" -S -c 'import sys; sys.stdout.write(("0123456789" * 100))' >"$NGINX_PREFIX/html/file.txt"
    "$PY" -S -c 'import sys; sys.stdout.write(("gzip me please! " * 1250))' >"$NGINX_PREFIX/html/gz.txt"
    printf 'before <!--# echo var="ssi_x" default="middle" --> after\n' >"$NGINX_PREFIX/html/ssi.html"
    NGINX_LOG=$NGINX_PREFIX/logs/access.log
    local user_line='' hard big
    for ((i = 1; i <= 8; i++)); do   # nginx takes parameters of up to 4 KiB
        big+="            add_header X-Big-$i \"$(printf '%01500d' 0 | tr 0 h)\" always;"$'\n'
    done
    [ "$(id -u)" -eq 0 ] && user_line='user root;'
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] && hard=65536
    [ "$hard" -gt 65536 ] && hard=65536
    ulimit -Sn "$hard" 2>/dev/null
    for ((try = 0; try < 5; try++)); do
        NGINX_PORT=$(free_port)
        cat >"$NGINX_PREFIX/nginx.conf" <<EOF
daemon off;
master_process on;
$user_line
worker_processes 1;
worker_rlimit_nofile $hard;
pid $NGINX_PREFIX/nginx.pid;
error_log $NGINX_PREFIX/logs/error.log warn;
events {
    use epoll;
    worker_connections $((hard - 100));
    multi_accept on;
}
http {
    access_log $NGINX_PREFIX/logs/access.log;
    server_tokens off;
    default_type text/plain;
    types { text/html html; text/plain txt; }
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path $NGINX_PREFIX/body;
    proxy_temp_path $NGINX_PREFIX/proxy;
    fastcgi_temp_path $NGINX_PREFIX/fastcgi;
    uwsgi_temp_path $NGINX_PREFIX/uwsgi;
    scgi_temp_path $NGINX_PREFIX/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        root $NGINX_PREFIX/html;
        chunked_transfer_encoding on;
        gzip off;
        location = / { return 200 "hello nginx\n"; }
        location = /missing { return 404; }
        location = /file.txt { }
        location = /ssi.html { ssi on; }
        location = /gz.txt { gzip on; gzip_types text/plain; gzip_min_length 0; gzip_http_version 1.1; }
        location = /big-headers {
$big
            return 200 "big headers\n";
        }
    }
}
EOF
        if nginx_launch "$NGINX_PORT"; then
            NGINX_URL=http://127.0.0.1:$NGINX_PORT
            return 0
        fi
    done
    echo "  nginx did not start: $(tail -3 "$NGINX_PREFIX/logs/error.log" "$NGINX_PREFIX/stdout" 2>/dev/null)" >&2
    return 1
}

# nginx_launch PORT...: starts nginx on $NGINX_PREFIX/nginx.conf (NGINX_PID) and waits up to
# 5 s until every PORT accepts; then empties NGINX_LOG (the probes are not the tests'
# requests). Returns 1, with nginx stopped, when it does not come up (a port taken since).
nginx_launch() {
    local i p ready
    "$NGINX" -p "$NGINX_PREFIX" -c "$NGINX_PREFIX/nginx.conf" -e "$NGINX_PREFIX/logs/error.log" \
        >"$NGINX_PREFIX/stdout" 2>&1 </dev/null &
    NGINX_PID=$!
    for ((i = 0; i < 100; i++)); do
        kill -0 "$NGINX_PID" 2>/dev/null || break
        ready=1
        for p in "$@"; do
            "$PY" -S -c "import socket; socket.create_connection(('127.0.0.1', $p), 0.5)" 2>/dev/null ||
                { ready=0; break; }
        done
        if [ "$ready" = 1 ]; then
            sleep 0.2
            : >"$NGINX_LOG"
            return 0
        fi
        sleep 0.05
    done
    _kill_wait "$NGINX_PID"
    NGINX_PID=''
    return 1
}

stop_nginx() {
    [ -n "$NGINX_PID" ] || return 0
    _kill_wait "$NGINX_PID"
    NGINX_PID=''
}

# access_log_lines WANT: line count of the access log, waiting up to 3 s for it to reach WANT
# (nginx logs a request once its response is sent, maybe just after barrage saw it).
access_log_lines() {
    local want=$1 n i
    for ((i = 0; i < 60; i++)); do
        n=$(wc -l <"$NGINX_LOG")
        [ "$n" -ge "$want" ] && break
        sleep 0.05
    done
    sleep 0.2
    wc -l <"$NGINX_LOG"
}

# ------------------------------------------------------------------------ preconditions

if [ ! -x "$BARRAGE" ]; then
    echo "FAIL $(basename "$0"): $BARRAGE is not built (make build/barrage)"
    exit 1
fi
