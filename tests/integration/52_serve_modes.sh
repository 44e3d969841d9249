#!/usr/bin/env bash
# The built-in target's model servers, measured with barrage itself (closed loop):
#   --stall S --stall-every P   frozen in [kP, kP + S): latency jumps to about S, and the
#                               server does (P - S) / P of the work it would do unfrozen
#   --capacity K --slot T       K slots of T each: throughput K/T at most, queueing past it
# and their bad flag values. Tolerances are wide: the machine may have 2 noisy cores.
source "$(dirname "$0")/lib.sh"
BAR_LIMIT=15
J=$TMP/m.json

# measure NAME SERVE_FLAGS... -- BARRAGE_FLAGS... PATH: one run against a fresh target
measure() {
    local name=$1 sflags=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sflags+=("$1"); shift; done
    shift
    begin "$name"
    start_target "${sflags[@]}"
    local path=${*: -1}
    bar -q --json "$J" -t 1 "${@:1:$#-1}" "$TARGET_URL$path"
    stop_target || _err "the target did not stop cleanly"
    expect_rc 0
    expect_json "$J" requests.failed 0
    expect_accounting "$J"
    # Responses to what was in flight at the stop may still be written after it.
    local ok
    ok=$(json_get "$J" requests.ok)
    local most=$((ok + $(json_get "$J" requests.in_flight)))
    expect_range "server requests" "$(server_count requests)" "$ok" "$most"
}
get() { json_get "$J" "$1"; }

# ---- --stall

# One connection: every stall holds one request until the stall ends (so ~300 ms, at most
# 300 ms plus a request's time); all others are answered at once.
measure stall_latency --stall 300ms --stall-every 1s -- -c 1 -d 3s /
expect_range "latency max (us)" "$(get latency_us.max)" 250000 400000
expect_le "latency p50 (us)" "$(get latency_us.p50)" 20000
expect_ge "requests ok" "$(get requests.ok)" 100
end

# Requests of 10 ms each: unfrozen, 3 s hold ~295; frozen 30% of the time, 70% of that
# (a 3 s run spans exactly three periods, so exactly 0.9 s of stall).
measure stall_frozen_share --stall 300ms --stall-every 1s --delay 10 -- -c 1 -d 3s /
expect_range "requests ok" "$(get requests.ok)" 180 225
expect_range "latency p50 (us)" "$(get latency_us.p50)" 9500 20000
expect_range "latency max (us)" "$(get latency_us.max)" 250000 420000
end

# ---- --capacity

# 100 connections, 20 slots of 10 ms: 2000/s, each request waits 100 / 2000 s = 50 ms.
measure capacity_saturated --capacity 20 --slot 10ms -- -c 100 -d 3s /
expect_range "rate.achieved" "$(get rate.achieved)" 1800 2200
expect_range "latency p50 (us)" "$(get latency_us.p50)" 42000 60000
end

# Fewer connections than slots: no queue, each request takes its 10 ms plus the round
# trip: at most 1000/s, and by Little's law 10 connections / the mean latency (a loaded
# machine's round trip of a millisecond or two shows in both, not as a queue).
measure capacity_below --capacity 20 --slot 10ms -- -c 10 -d 3s /
expect_range "rate.achieved" "$(get rate.achieved)" 750 1100
expect_range "latency p50 (us)" "$(get latency_us.p50)" 9900 13000
expect_range "rate x mean latency (connections busy)" "$(get 'j["rate"]["achieved"] * j["latency_us"]["mean"] / 1e6')" 9 10.5
end

# Pipelined requests: a connection is served one request at a time, so 10 connections
# with 4 requests in flight each use 10 slots of 20 (~1000/s, not 2000), and a request
# waits behind the ones before it on its connection.
measure capacity_pipelined --capacity 20 --slot 10ms -- -c 10 --pipeline 4 -d 2s /
expect_range "rate.achieved" "$(get rate.achieved)" 850 1100
expect_ge "latency p90 (us)" "$(get latency_us.p90)" 29000
end

# One slot of 300 ms. A takes it; B queues, then hangs up; C queues behind B. B's request
# is dropped, not served to nobody: C is answered at ~600 ms, not ~900 ms, and A at ~300 ms.
begin capacity_abandoned_request_takes_no_slot
start_target --capacity 1 --slot 300ms
out=$("$PY" -S - "$TARGET_PORT" <<'PY' 2>&1
import socket, sys, time
port = int(sys.argv[1])
req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
a, b, c = (socket.create_connection(("127.0.0.1", port), 5) for _ in range(3))
t0 = time.monotonic()
for s in (a, b, c):
    s.settimeout(5)
    s.sendall(req)
    time.sleep(0.02)
b.close()
def answered(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d: return "closed"
        buf += d
    return "%d" % ((time.monotonic() - t0) * 1000)
print(answered(a), answered(c))
PY
)
stop_target || _err "the target did not stop cleanly"
read -r ms_a ms_c <<<"$out"
expect_range "A answered at (ms)" "$ms_a" 280 400
expect_range "C answered at (ms)" "$ms_c" 560 750
expect_num_eq "server requests" "$(server_count requests)" 2
end

# --delay takes a duration with its unit as well as bare milliseconds
begin serve_delay_with_unit
start_target --delay 200ms
bar -q --json "$TMP/du.json" -t 1 -c 1 -n 3 "$TARGET_URL/"
stop_target || _err "the target did not stop cleanly"
expect_json "$TMP/du.json" requests.ok 3
expect_range "latency p50 (us)" "$(json_get "$TMP/du.json" latency_us.p50)" 199000 350000
end

# ---- bad values: exit 2, one line on stderr, nothing on stdout

bad_serve() {  # NAME PATTERN SERVE_FLAGS...
    local name=$1 pattern=$2
    shift 2
    begin "serve_bad_$name"
    BAR_LIMIT=5 bar serve --port 0 "$@"
    expect_rc 2
    expect_num_eq "stderr lines" "$(wc -l <"$BAR_ERR")" 1
    grep -Eq -- "^barrage serve: .*$pattern" "$BAR_ERR" ||
        _err "stderr does not match /$pattern/: $(head -c 300 "$BAR_ERR")"
    [ -s "$BAR_OUT" ] && _err "stdout not empty: $(head -c 200 "$BAR_OUT")"
    end
}
bad_serve stall_alone        "--stall and --stall-every"  --stall 300ms
bad_serve stall_every_alone  "--stall and --stall-every"  --stall-every 1s
bad_serve stall_equal        "shorter than --stall-every" --stall 1s --stall-every 1s
bad_serve stall_longer       "shorter than --stall-every" --stall 2s --stall-every 1s
bad_serve stall_bad_unit     "--stall: .*'300xs'"         --stall 300xs --stall-every 1s
bad_serve stall_zero         "--stall: .*'0'"             --stall 0 --stall-every 1s
bad_serve delay_fraction     "--delay: .*'1.5' \\(whole milliseconds" --delay 1.5
bad_serve delay_too_long     "--delay: .*'2h'"            --delay 2h
bad_serve capacity_alone     "--capacity and --slot"      --capacity 20
bad_serve slot_alone         "--capacity and --slot"      --slot 10ms
bad_serve capacity_zero      "--capacity: .*'0'"          --capacity 0 --slot 10ms
bad_serve capacity_negative  "--capacity: .*'-1'"         --capacity -1 --slot 10ms
bad_serve slot_zero          "--slot: .*'0ms'"            --capacity 20 --slot 0ms
bad_serve slot_words         "--slot: .*'soon'"           --capacity 20 --slot soon
bad_serve capacity_threads   "--threads 1"                --capacity 20 --slot 10ms --threads 2
bad_serve stats_file_unwritable "--stats-file /nonexistent/s.json: cannot write" --stats-file /nonexistent/s.json
bad_serve port_file_unwritable "--port-file /nonexistent/p: cannot write" --port-file /nonexistent/p
