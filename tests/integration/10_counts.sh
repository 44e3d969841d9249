#!/usr/bin/env bash
# -n N is exact: the client issues N, gets N answers, and the server answered N.
source "$(dirname "$0")/lib.sh"

# counts NAME N BARRAGE-FLAGS...: one run against a fresh target, every count exact.
counts() {
    local name=$1 n=$2 conns
    shift 2
    begin "$name"
    start_target --threads 2
    bar -q --json "$TMP/c.json" "$@" -n "$n" "$TARGET_URL/"
    stop_target || _err "the target did not stop cleanly"
    expect_rc 0
    expect_json "$TMP/c.json" requests.issued "$n"
    expect_json "$TMP/c.json" requests.ok "$n"
    expect_json "$TMP/c.json" requests.failed 0
    expect_json "$TMP/c.json" requests.in_flight 0
    expect_json_str "$TMP/c.json" status "{\"200\":$n}"
    expect_json "$TMP/c.json" latency_us.count "$n"
    expect_json_str "$TMP/c.json" interrupted false
    expect_num_eq "server requests" "$(server_count requests)" "$n"
    conns=$(json_get "$TMP/c.json" connections.opened)
    expect_num_eq "server connections" "$(server_count connections)" "$conns"
    # 13-byte body + headers: every response was read whole
    expect_gt "bytes.received" "$(json_get "$TMP/c.json" bytes.received)" "$((n * 13))"
    expect_accounting "$TMP/c.json"
    end
}

counts n1_c1_t1       1     -c 1 -t 1
counts n1000_c1_t1    1000  -c 1 -t 1
counts n5000_c10      5000  -c 10
counts n10007_c50_t2  10007 -c 50 -t 2
counts n999_c50_t2    999   -c 50 -t 2
counts n30_c100_t2    30    -c 100 -t 2
counts n1000_c16_t8   1000  -c 16 -t 8     # more threads than CPUs

# -n takes k/M suffixes
begin n_suffix_k
start_target
bar -q --json "$TMP/k.json" -c 4 -t 2 -n 10k "$TARGET_URL/"
stop_target
expect_rc 0
expect_json "$TMP/k.json" requests.issued 10000
expect_json "$TMP/k.json" requests.ok 10000
expect_num_eq "server requests" "$(server_count requests)" 10000
end

# Every connection opened is one the server accepted; -c 50 opens 50 (no reconnects).
begin connections_opened_c50
start_target --threads 2
bar -q --json "$TMP/o.json" -c 50 -t 2 -n 5000 "$TARGET_URL/"
stop_target || _err "the target did not stop cleanly"
expect_rc 0
expect_json "$TMP/o.json" connections.opened 50
expect_json "$TMP/o.json" connections.max_open 50
expect_json "$TMP/o.json" connections.reused_requests $((5000 - 50))
expect_json "$TMP/o.json" threads 2
expect_num_eq "server connections" "$(server_count connections)" 50
expect_accounting "$TMP/o.json"
end

# The human summary says the same as the JSON.
begin summary_text
start_target
bar --json "$TMP/s.json" -c 4 -t 1 -n 400 "$TARGET_URL/"
stop_target
expect_rc 0
expect_grep "summary" '400 issued = 400 ok \+ 0 failed \+ 0 in flight' "$BAR_OUT"
expect_grep "status line" 'Status +200: 400' "$BAR_OUT"
expect_grep "errors line" 'Errors +none' "$BAR_OUT"
[ -s "$BAR_ERR" ] && _err "stderr not empty: $(head -c 200 "$BAR_ERR")"
# with -q, no live rows: the summary is all there is, from the first line
start_target
bar -q -c 4 -t 1 -n 40 "$TARGET_URL/"
stop_target
expect_grep "-q: the summary's first line first" '^barrage [0-9.]+  http' <(head -1 "$BAR_OUT")
end

# bytes.received is exactly N responses: one response measured with a plain socket
begin bytes_received_exact
start_target --body-size 1234
resp_len=$(response_len "$TARGET_PORT" /)
bar -q --json "$TMP/b.json" -c 8 -t 2 -n 3000 "$TARGET_URL/"
stop_target
expect_rc 0
expect_json "$TMP/b.json" requests.ok 3000
expect_json "$TMP/b.json" bytes.received $((3000 * resp_len))
expect_num_eq "server requests" "$(server_count requests)" 3001
end

# Fewer requests than connections: no connection is opened that carries no request
begin fewer_requests_than_connections
start_target --threads 2
bar -q --json "$TMP/f.json" -c 100 -t 2 -n 30 "$TARGET_URL/"
stop_target
expect_rc 0
expect_json "$TMP/f.json" requests.ok 30
expect_le "connections.opened" "$(json_get "$TMP/f.json" connections.opened)" 30
expect_num_eq "server connections" "$(server_count connections)" "$(json_get "$TMP/f.json" connections.opened)"
expect_num_eq "server requests" "$(server_count requests)" 30
end

# One worker, more connections than one turn starts (16): the connects held for the next
# turns hold no more of -n than is left. Holding all of them (84 of -n 30) left the first
# turns' connections with no budget: ~100 opened, ~70 never sent.
begin fewer_requests_than_connections_one_worker
start_target
bar -q --json "$TMP/f1.json" -c 100 -t 1 -n 30 "$TARGET_URL/"
stop_target
expect_rc 0
expect_json "$TMP/f1.json" requests.ok 30
expect_le "connections.opened" "$(json_get "$TMP/f1.json" connections.opened)" 30
expect_num_eq "server requests" "$(server_count requests)" 30
end

# As many requests as connections: each connection is opened, one request each. A connect
# in progress holds one request of the budget until it sends it; holding two (-c 4 -n 4
# --pipeline 4 opened 2 connections, -c 50 -n 50 at times 44) ran fewer connections than -c.
begin as_many_requests_as_connections
start_target
bar -q --json "$TMP/e.json" -c 4 -t 1 -n 4 --pipeline 4 "$TARGET_URL/"
expect_rc 0
expect_json "$TMP/e.json" requests.ok 4
expect_json "$TMP/e.json" connections.opened 4
expect_json "$TMP/e.json" connections.max_open 4
expect_json "$TMP/e.json" connections.reused_requests 0
bar -q --json "$TMP/e.json" -c 50 -t 1 -n 50 "$TARGET_URL/"
stop_target
expect_rc 0
expect_json "$TMP/e.json" requests.ok 50
expect_json "$TMP/e.json" connections.opened 50
expect_num_eq "server connections" "$(server_count connections)" 54
end

# A host name: localhost resolves (IPv4 first) and is loopback
begin hostname_localhost
start_target
bar -q --json "$TMP/h.json" -c 2 -t 1 -n 100 "http://localhost:$TARGET_PORT/"
stop_target
expect_rc 0
expect_json "$TMP/h.json" requests.ok 100
expect_num_eq "server requests" "$(server_count requests)" 100
end
