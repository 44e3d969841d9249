#!/usr/bin/env bash
# --pipeline N: N requests in flight per connection, counts still exact.
source "$(dirname "$0")/lib.sh"

# pipelined NAME N PATH [serve flags] -- [barrage flags]
pipelined() {
    local name=$1 n=$2 path=$3 sflags=()
    shift 3
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sflags+=("$1"); shift; done
    shift
    begin "$name"
    start_target "${sflags[@]}"
    bar -q --json "$TMP/p.json" -n "$n" "$@" "$TARGET_URL$path"
    stop_target || _err "the target did not stop cleanly"
    expect_rc 0
    expect_json "$TMP/p.json" requests.issued "$n"
    expect_json "$TMP/p.json" requests.ok "$n"
    expect_json "$TMP/p.json" requests.in_flight 0
    expect_json "$TMP/p.json" requests.failed 0
    expect_json_str "$TMP/p.json" status "{\"200\":$n}"
    expect_num_eq "server requests" "$(server_count requests)" "$n"
    expect_accounting "$TMP/p.json"
}

pipelined pipeline16_c1 5000 / -- -c 1 -t 1 --pipeline 16
expect_json "$TMP/p.json" pipeline 16
expect_json "$TMP/p.json" connections.opened 1
expect_num_eq "server connections" "$(server_count connections)" 1
end

# N not a multiple of the depth, over two threads
pipelined pipeline16_c10_t2_odd_n 10007 / --threads 2 -- -c 10 -t 2 --pipeline 16
expect_json "$TMP/p.json" connections.opened 10
end

# Responses larger than a receive buffer, several per read, split anywhere
pipelined pipeline8_bytes_20000 2000 /bytes/20000 -- -c 4 -t 2 --pipeline 8
expect_ge "bytes.received" "$(json_get "$TMP/p.json" bytes.received)" $((2000 * 20000))
end

# Chunked responses back to back (extension, trailer) through the pipeline
pipelined pipeline16_chunked 4000 /chunked/1000 -- -c 4 -t 2 --pipeline 16
expect_ge "bytes.received" "$(json_get "$TMP/p.json" bytes.received)" $((4000 * 1000))
end

pipelined pipeline32_default_chunked 3000 / --chunked --body-size 100 -- -c 2 -t 1 --pipeline 32
end

# The requests really are in flight together: the server delays every response by 100 ms
# from when it read the request, so 16 at a time take about 10 x 100 ms for 160, one at a
# time would take 16 s.
pipelined pipeline16_concurrent 160 / --delay 100 -- -c 1 -t 1 --pipeline 16
expect_range "wall-clock seconds" "$BAR_WALL" 0.9 6
expect_ge "latency p50 (us)" "$(json_get "$TMP/p.json" latency_us.p50)" 95000
# timed from the kernel's arrival time, never earlier than the answer can come
expect_ge "latency min (us)" "$(json_get "$TMP/p.json" latency_us.min)" 100000
end

# Responses that arrive while barrage cannot run (stopped here with SIGSTOP, as on a
# machine too busy to schedule it) are timed from their arrival, not from when they were
# read: the server answers each in 100 ms, and the 500 ms barrage spends stopped shows in
# no latency. (Timed as they were read, the responses that arrived meanwhile took 400 ms
# or more.) Multishot receives, and with them these times, need Linux 6.0.
kernel=$(uname -r | awk -F. '{print $1 * 1000 + $2}')
if [ "$kernel" -lt 6000 ]; then echo "SKIP pipeline_timed_at_arrival_through_a_stop: Linux $(uname -r)"; else
begin pipeline_timed_at_arrival_through_a_stop
start_target --delay 100
"$BARRAGE" -q --json "$TMP/p.json" -c 1 -t 1 --pipeline 16 -n 160 --timeout 5s "$TARGET_URL/" \
    >"$BAR_OUT" 2>"$BAR_ERR" </dev/null &
pid=$!
sleep 0.3
kill -STOP "$pid"
sleep 0.5
kill -CONT "$pid"
wait "$pid"
BAR_RC=$?
stop_target || _err "the target did not stop cleanly"
expect_rc 0
expect_json "$TMP/p.json" requests.ok 160
expect_ge "latency min (us)" "$(json_get "$TMP/p.json" latency_us.min)" 100000
expect_le "latency max (us)" "$(json_get "$TMP/p.json" latency_us.max)" 250000
expect_le "ttfb max (us)" "$(json_get "$TMP/p.json" ttfb_us.max)" 250000
expect_ge "receives timed by the kernel" "$(json_get "$TMP/p.json" client.kernel_timed_receives)" 1
expect_accounting "$TMP/p.json"
end
fi

# Pipelined responses are timed from when the kernel received them (the wait that
# delivers them may batch many): nearly every receive carries that time. (The kernel
# switches its receive timestamps on a moment after the first socket asks.)
pipelined pipeline16_kernel_timed 40000 / -- -c 4 -t 1 --pipeline 16
timed=$(json_get "$TMP/p.json" client.kernel_timed_receives)
expect_ge "receives timed by the kernel x2" "$((timed * 2))" "$(json_get "$TMP/p.json" client.completions)"
end

# --requests-per-conn caps the depth: 5 per connection, 100 requests = 20 connections
pipelined pipeline16_requests_per_conn5 100 / -- -c 1 -t 1 --pipeline 16 --requests-per-conn 5
expect_json "$TMP/p.json" connections.opened 20
expect_num_eq "server connections" "$(server_count connections)" 20
end

# A scenario file whose one step is static is the quick mode's kind of program: sent
# pre-rendered and pipelined (the requests are in flight together: 160 answers delayed by
# 100 ms each come back in about 10 x 100 ms on one connection), with its step's statistics.
begin pipeline16_static_scenario
start_target --delay 100
printf 'target: %s\nusers:\n  - name: u\n    tasks:\n      - get: /static\n        name: home\n' \
    "$TARGET_URL" >"$TMP/static.yaml"
bar -q --json "$TMP/p.json" -s "$TMP/static.yaml" -n 160 -c 1 -t 1 --pipeline 16
stop_target || _err "the target did not stop cleanly"
expect_rc 0
expect_range "wall-clock seconds" "$BAR_WALL" 0.9 6
expect_json "$TMP/p.json" pipeline 16
expect_json "$TMP/p.json" requests.ok 160
expect_json "$TMP/p.json" steps.home.requests 160
expect_json "$TMP/p.json" steps.home.latency_us.count 160
expect_json "$TMP/p.json" steps.home.failed 0
expect_num_eq "server requests" "$(server_count requests)" 160
expect_accounting "$TMP/p.json"
end

# Its failures are the step's, with their reasons, as when users run it.
begin static_scenario_step_failures
start_target
printf 'target: %s\nusers:\n  - name: u\n    tasks:\n      - get: /\n        name: home\n        expect: { status: 201 }\n' \
    "$TARGET_URL" >"$TMP/static201.yaml"
bar -q --json "$TMP/p.json" -s "$TMP/static201.yaml" -n 300 -c 3 -t 1 --pipeline 4
stop_target || _err "the target did not stop cleanly"
expect_json "$TMP/p.json" requests.failed 300
expect_json "$TMP/p.json" errors.status 300
expect_json "$TMP/p.json" steps.home.failed 300
expect_eq "step failure reason" "$(json_get "$TMP/p.json" 'list(j["steps"]["home"]["failures"].items())')" \
    '[["status 200 (expected 201)",300]]'
expect_accounting "$TMP/p.json"
end

# A scenario whose requests depend on users cannot be pipelined: a clear refusal.
begin pipeline_dynamic_scenario_refused
printf 'target: http://127.0.0.1:1\nusers:\n  - name: u\n    tasks:\n      - get: /?n=${seq}\n' >"$TMP/dyn.yaml"
bar -q -s "$TMP/dyn.yaml" -n 10 --pipeline 4
expect_rc 2
expect_grep "refusal" "--pipeline: .*dyn.yaml is not one static step" "$BAR_ERR"
bar -q -s "$TMP/static.yaml" -n 10 --pipeline 4 --share-connections
expect_rc 2
expect_grep "refusal with --share-connections" "--pipeline: not with --share-connections" "$BAR_ERR"
end
