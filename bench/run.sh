#!/usr/bin/env bash
# barrage against wrk and h2load on a local nginx; see bench/README.md.
#
#   bench/run.sh [keepalive] [pipeline] [conns10k] [conns19k]   (default: keepalive pipeline)
#
# Environment (defaults in brackets):
#   ROUNDS [5]          rounds per scenario; each round runs every tool once, in turn
#                       (keepalive, pipeline: the first tool rotates from round to round)
#   DURATION [5s]       length of each run (keepalive, pipeline, conns10k)
#   ROUNDS_19K [3]      rounds for conns19k;  DURATION_19K [30s]: its run length
#   SERVER_CPU [0]      CPU for nginx;  CLIENT_CPU [1]: CPU for the client under test
#   URL_PATH [/]        / returns a 5-byte body; /static.html is a 612-byte file
#   TOOLS [barrage wrk h2load floor]   which clients to run (a scenario runs those it
#                       supports); floor is bench/floor.c, the least an io_uring client can
#                       do (keepalive only; make build/floor)
#   BARRAGE [build/barrage]  FLOOR [build/floor]  WRK, H2LOAD, NGINX [from PATH]
#   BENCH_OUT [a new /tmp/barrage-bench.XXXXXX]  where raw outputs and results.jsonl go
#   SETTLE [1]          seconds to pause between runs (then it waits until nginx holds no
#                       connections)
#   NGINX_WORKERS_19K [4], NGINX_WORKER_CONNECTIONS [hard open-file limit - 64, max 65536]
#   DISTURBED_SHARE [0.10], MIN_CLEAN [3]   see bench/README.md, "Reading the output"
#
# Each run is measured by bench/measure.py (user+sys CPU and peak RSS of the client process);
# the end of the output is a table of medians per tool and a markdown section for RESULTS.md.
set -u
set -o pipefail

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
cd "$root" || exit 1

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
ROUNDS_19K=${ROUNDS_19K:-3}
DURATION_19K=${DURATION_19K:-30s}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
URL_PATH=${URL_PATH:-/}
TOOLS=${TOOLS:-barrage wrk h2load floor}
SETTLE=${SETTLE:-1}
BARRAGE=${BARRAGE:-build/barrage}
FLOOR=${FLOOR:-build/floor}
FLOOR_WAIT=${FLOOR_WAIT:-32}

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }

# ---------------------------------------------------------------------------- arguments
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(keepalive pipeline)
for s in "${scenarios[@]}"; do
    case $s in
        keepalive|pipeline|conns10k|conns19k) ;;
        -h|--help|help) sed -n '2,/^[^#]/p' "$bench/run.sh" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown scenario '$s' (keepalive, pipeline, conns10k, conns19k)" ;;
    esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ $ROUNDS_19K =~ ^[1-9][0-9]*$ ]] || die "ROUNDS_19K must be a positive integer"

# "5s", "500ms", "2m", "30" -> whole seconds, rounded up (for time limits).
seconds() {
    local d=$1
    case $d in
        *ms) echo $(( (${d%ms} + 999) / 1000 )) ;;
        *s)  echo "${d%s}" ;;
        *m)  echo $(( ${d%m} * 60 )) ;;
        *h)  echo $(( ${d%h} * 3600 )) ;;
        *)   echo "$d" ;;
    esac
}
# The same, exactly ("500ms" -> 0.500), for the floor client.
exact_seconds() {
    local d=$1
    case $d in
        *ms) printf '%d.%03d\n' $(( ${d%ms} / 1000 )) $(( ${d%ms} % 1000 )) ;;
        *) seconds "$d" ;;
    esac
}
for d in "$DURATION" "$DURATION_19K"; do
    [[ $d =~ ^[0-9]+(ms|s|m|h)?$ ]] || die "bad duration '$d' (e.g. 5s, 500ms, 1m)"
    # wrk reads whole seconds, minutes or hours only
    [[ $d == *ms && " $TOOLS " == *" wrk "* ]] && die "wrk takes no milliseconds: use whole seconds for '$d', or leave wrk out of TOOLS"
done

# ---------------------------------------------------------------------------- dependencies
need_pkgs=()
command -v "${WRK:-wrk}" >/dev/null 2>&1 || need_pkgs+=(wrk)
command -v "${H2LOAD:-h2load}" >/dev/null 2>&1 || need_pkgs+=(nghttp2-client)
command -v "${NGINX:-nginx}" >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_pkgs+=(nginx-light)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
command -v taskset >/dev/null 2>&1 || need_pkgs+=(util-linux)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "bench: installing ${need_pkgs[*]}"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}"; } >&2 \
            || log "bench: apt-get install failed; carrying on with what there is"
    else
        log "bench: missing ${need_pkgs[*]} (install them, e.g. apt-get install ${need_pkgs[*]}); carrying on without"
    fi
fi
command -v python3 >/dev/null 2>&1 || die "python3 is required (bench/measure.py, bench/report.py)"
command -v taskset >/dev/null 2>&1 || die "taskset (util-linux) is required"
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$NGINX" ] || die "nginx not found (apt-get install nginx-light)"
WRK=${WRK:-$(command -v wrk || true)}
H2LOAD=${H2LOAD:-$(command -v h2load || true)}
export BARRAGE WRK H2LOAD NGINX

ncpu=$(nproc)
if [ "$SERVER_CPU" -ge "$ncpu" ] || [ "$CLIENT_CPU" -ge "$ncpu" ]; then
    die "SERVER_CPU=$SERVER_CPU / CLIENT_CPU=$CLIENT_CPU: this machine has CPUs 0..$((ncpu - 1))"
fi

# Which tools can run at all.  A missing or failing barrage is reported, never fatal.
declare -A avail=()
barrage_skipped=
for t in $TOOLS; do
    case $t in
        barrage)
            if [ -x "$BARRAGE" ]; then avail[barrage]=1
            else
                barrage_skipped="$BARRAGE is missing or not executable"
                log "bench: barrage: $barrage_skipped (make build/barrage); skipping it"
            fi ;;
        wrk)    if [ -n "$WRK" ] && [ -x "$WRK" ]; then avail[wrk]=1; else log "bench: wrk not found; skipping it"; fi ;;
        h2load) if [ -n "$H2LOAD" ] && [ -x "$H2LOAD" ]; then avail[h2load]=1; else log "bench: h2load not found; skipping it"; fi ;;
        floor)  if [ -x "$FLOOR" ]; then avail[floor]=1; else log "bench: $FLOOR missing (make build/floor); skipping it"; fi ;;
        *) die "unknown tool '$t' in TOOLS" ;;
    esac
done

# Open files: clients and nginx need one per connection.
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
ulimit -n "$hard" 2>/dev/null || log "bench: could not raise the open-file soft limit to $hard"
nofile=$(ulimit -n)
export BENCH_NOFILE=$nofile

# A busy machine makes every number here noisy: say so before starting.
busy=$(python3 -c '
import os, time
def busy():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:8]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
b0 = busy(); time.sleep(1); print(f"{busy() - b0:.2f}")')
if python3 -c "import sys; sys.exit(0 if float('$busy') > 0.2 else 1)"; then
    log "bench: WARNING: the machine is busy before the benchmark starts ($busy CPU-s used in the last second);"
    log "bench: results will be noisy.  Busiest processes:"
    ps -eo pcpu,pid,comm --sort=-pcpu 2>/dev/null | sed -n '2,6p' | sed 's/^/bench:   /' >&2
fi

# ---------------------------------------------------------------------------- output
out=${BENCH_OUT:-$(mktemp -d /tmp/barrage-bench.XXXXXX)}
mkdir -p "$out" || die "cannot create $out"
chmod 755 "$out"     # nginx workers (user nobody when run as root) read the html root inside
results=$out/results.jsonl
: >"$results"
log "bench: raw outputs in $out"

# ---------------------------------------------------------------------------- nginx
nginx_pid=
nginx_dir=
port=

free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

# Affinity mask string for one CPU ("1" for CPU 0, "10" for CPU 1, ...).
cpu_mask() { local m=1 i; for ((i = 0; i < $1; i++)); do m="${m}0"; done; echo "$m"; }

wait_port() {  # port, seconds
    python3 - "$1" "$2" <<'EOF'
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + limit
while time.monotonic() < end:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

check_http() {  # port path -> prints status and body length
    python3 - "$1" "$2" <<'EOF'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
c.request("GET", sys.argv[2])
r = c.getresponse()
print(r.status, len(r.read()))
EOF
}

start_nginx() {  # workers
    local workers=$1 wc rl i aff mask
    stop_nginx
    nginx_dir=$out/nginx-$workers-$RANDOM
    mkdir -p "$nginx_dir/html"
    chmod 755 "$nginx_dir" "$nginx_dir/html"
    # 612 bytes, like nginx's stock index.html.
    python3 -c 'import sys; h = b"<!DOCTYPE html>\n<html><head><title>bench</title></head><body>\n"; \
t = b"\n</body></html>\n"; sys.stdout.buffer.write(h + b"x" * (612 - len(h) - len(t)) + t)' \
        >"$nginx_dir/html/static.html"
    chmod 644 "$nginx_dir/html/static.html"
    rl=$nofile
    wc=${NGINX_WORKER_CONNECTIONS:-$(( rl - 64 < 65536 ? rl - 64 : 65536 ))}
    mask=$(cpu_mask "$SERVER_CPU")
    aff=
    for ((i = 0; i < workers; i++)); do aff="$aff $mask"; done
    port=$(free_port)
    sed -e "s|@PREFIX@|$nginx_dir|g" -e "s|@WORKERS@|$workers|g" -e "s|@AFFINITY@|${aff# }|g" \
        -e "s|@RLIMIT@|$rl|g" -e "s|@WORKER_CONNECTIONS@|$wc|g" -e "s|@PORT@|$port|g" \
        "$bench/nginx.conf.in" >"$nginx_dir/nginx.conf"
    taskset -c "$SERVER_CPU" "$NGINX" -p "$nginx_dir/" -c "$nginx_dir/nginx.conf" -e "$nginx_dir/error.log" \
        >"$nginx_dir/stdout.log" 2>&1 &
    nginx_pid=$!
    if ! wait_port "$port" 10 || ! kill -0 "$nginx_pid" 2>/dev/null; then
        log "bench: nginx did not start; its log:"
        cat "$nginx_dir/stdout.log" "$nginx_dir/error.log" >&2 2>/dev/null
        exit 1
    fi
    local st1 st2
    st1=$(check_http "$port" /) ; st2=$(check_http "$port" /static.html)
    if [ "$st1" != "200 5" ] || [ "$st2" != "200 612" ]; then
        die "nginx answers oddly: / -> '$st1', /static.html -> '$st2' (see $nginx_dir/error.log)"
    fi
    URL=http://127.0.0.1:$port$URL_PATH
    log "bench: nginx $workers worker(s) on CPU $SERVER_CPU, worker_connections $wc, rlimit $rl, $URL"
}

stop_nginx() {
    [ -n "$nginx_pid" ] || return 0
    kill -QUIT "$nginx_pid" 2>/dev/null
    local i
    for ((i = 0; i < 100; i++)); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$nginx_pid" 2>/dev/null; then
        kill -TERM "$nginx_pid" 2>/dev/null; sleep 1; kill -KILL "$nginx_pid" 2>/dev/null
    fi
    wait "$nginx_pid" 2>/dev/null
    nginx_pid=
}

cleanup() { stop_nginx; }
trap cleanup EXIT
trap 'log "bench: interrupted"; exit 130' INT TERM

# Wait until nginx holds (almost) no client connections, so that one run's teardown
# does not overlap the next run.
settle() {
    local i n
    sleep "$SETTLE"
    command -v ss >/dev/null 2>&1 || { sleep 2; return; }
    for ((i = 0; i < 300; i++)); do
        n=$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)
        [ "$n" -le 1 ] && return
        sleep 0.1
    done
    log "bench: $n connections still open on the server after 30 s"
}

# ---------------------------------------------------------------------------- one run
declare -A disabled=()
run_id=0

# run TOOL SCENARIO ROUND CONNS DEPTH DURATION
run() {
    local tool=$1 scen=$2 round=$3 conns=$4 depth=$5 dur=$6
    [ -n "${avail[$tool]:-}" ] || return 0
    if [ -n "${disabled[$scen/$tool]:-}" ]; then return 0; fi
    run_id=$((run_id + 1))
    local base; base=$out/$(printf '%03d' $run_id)-$scen-r$round-$tool-$conns
    local json=$base.json cmd=() shown
    case $tool in
        barrage)
            cmd=("$BARRAGE" -t 1 -c "$conns" -d "$dur")
            [ "$depth" -gt 1 ] && cmd+=(--pipeline "$depth")
            cmd+=(-q --json "$json" "$URL") ;;
        wrk)
            cmd=("$WRK" -t1 "-c$conns" "-d$dur")
            [ "$depth" -gt 1 ] && cmd+=(-s "$bench/pipeline.lua")
            cmd+=("$URL")
            [ "$depth" -gt 1 ] && cmd+=(-- "$depth") ;;
        h2load)
            cmd=("$H2LOAD" --h1 -t1 "-c$conns")
            [ "$depth" -gt 1 ] && cmd+=(-m "$depth")
            cmd+=(-D "$dur" "$URL") ;;
        floor)
            [ "$depth" -eq 1 ] && [ "$URL_PATH" = / ] || return 0
            cmd=("$FLOOR" 127.0.0.1 "$port" "$conns" "$(exact_seconds "$dur")" "$FLOOR_WAIT") ;;
    esac
    shown="${cmd[*]}"
    shown=${shown//$json/FILE.json}
    shown=${shown//$bench/bench}
    shown=${shown//$root\//}
    shown=${shown//127.0.0.1:$port/127.0.0.1:PORT}
    shown=${shown//127.0.0.1 $port /127.0.0.1 PORT }
    # Tools found on PATH are shown by name.
    [ "${cmd[0]}" = "$(command -v "${cmd[0]##*/}" 2>/dev/null)" ] && shown=${shown#"${cmd[0]%/*}/"}
    # Generous limit: connection setup at many thousands of connections takes a while.
    local limit=$(( $(seconds "$dur") + 30 + conns / 500 ))
    python3 "$bench/measure.py" --cpu "$CLIENT_CPU" --timeout "$limit" --server-pid "$nginx_pid" \
        --out "$base.rusage" -- "${cmd[@]}" \
        >"$base.out" 2>"$base.err" </dev/null
    python3 "$bench/report.py" record --results "$results" --scenario "$scen" --round "$round" \
        --tool "$tool" --conns "$conns" --depth "$depth" --stdout "$base.out" --stderr "$base.err" \
        --rusage "$base.rusage" --json "$json" --cmd "$shown"
    # A client that hung until the time limit is not tried again in this scenario.
    if grep -q '"timed_out": true' "$base.rusage" 2>/dev/null; then
        disabled[$scen/$tool]=1
        log "bench: $tool hung in $scen; not running it again in this scenario"
    fi
    settle
}

scen_meta=()   # JSON fragments for report.py's meta
note_scenario() {  # name workers rounds duration
    scen_meta+=("\"$1\": {\"workers\": $2, \"rounds\": $3, \"duration\": \"$4\", \"url_path\": \"$URL_PATH\"}")
}

warm_up() {  # a short unmeasured run so that the first measured run is not the cold one
    if [ -n "${avail[wrk]:-}" ]; then
        taskset -c "$CLIENT_CPU" "$WRK" -t1 -c64 -d1s "$URL" >/dev/null 2>&1
        settle
    fi
}

# ---------------------------------------------------------------------------- scenarios
at_depth() {  # scenario depth: 64 connections, one nginx worker, every tool, ROUNDS rounds
    local scen=$1 depth=$2 r t
    log ""; log "== $scen: depth $depth, 64 connections, $ROUNDS rounds of $DURATION"
    start_nginx 1; warm_up
    note_scenario "$scen" 1 "$ROUNDS" "$DURATION"
    # The order rotates each round: on this kind of machine the first run after a pause
    # can land in a different phase of the host than the next, so no tool always goes first.
    local tools=(barrage wrk h2load floor) i
    for ((r = 1; r <= ROUNDS; r++)); do
        for ((i = 0; i < 4; i++)); do
            t=${tools[(r - 1 + i) % 4]}
            run "$t" "$scen" "$r" 64 "$depth" "$DURATION"
        done
    done
}

scenario_keepalive() { at_depth keepalive 1; }
scenario_pipeline() { at_depth pipeline 16; }

scenario_conns10k() {
    log ""; log "== conns10k: 10,000 connections (and 64 for the RSS baseline), $ROUNDS rounds of $DURATION"
    start_nginx 2; warm_up
    note_scenario conns10k 2 "$ROUNDS" "$DURATION"
    local r t
    for ((r = 1; r <= ROUNDS; r++)); do
        for t in barrage wrk; do run "$t" conns10k "$r" 10000 1 "$DURATION"; done
        for t in barrage wrk; do run "$t" conns10k "$r" 64 1 "$DURATION"; done
    done
}

scenario_conns19k() {
    local workers=${NGINX_WORKERS_19K:-4}
    log ""; log "== conns19k: 19,000 connections, $ROUNDS_19K rounds of $DURATION_19K"
    start_nginx "$workers"; warm_up
    note_scenario conns19k "$workers" "$ROUNDS_19K" "$DURATION_19K"
    local r t
    for ((r = 1; r <= ROUNDS_19K; r++)); do
        for t in barrage wrk; do run "$t" conns19k "$r" 19000 1 "$DURATION_19K"; done
    done
    # RSS baseline at 64 connections, once per tool.
    for t in barrage wrk; do run "$t" conns19k 1 64 1 "$DURATION"; done
}

for s in "${scenarios[@]}"; do
    "scenario_$s"
done
stop_nginx

# ---------------------------------------------------------------------------- report
extra="{\"server_cpu\": $SERVER_CPU, \"client_cpu\": $CLIENT_CPU, \"barrage_skipped\": \"$barrage_skipped\", \"scenarios\": {$(IFS=,; echo "${scen_meta[*]}")}}"
python3 "$bench/report.py" meta --out "$out/meta.json" --extra "$extra"
python3 "$bench/report.py" summary --results "$results" --meta "$out/meta.json" --markdown "$out/RESULTS-section.md"
log ""
log "bench: raw outputs, results.jsonl and RESULTS-section.md are in $out"
