#!/usr/bin/env bash
# 5000 connections against the built-in target: all open (the engine spreads source addresses
# over 127.0.0.0/8 and bounds connects in progress), no connect errors, the books balance.
source "$(dirname "$0")/lib.sh"
J=$TMP/m.json

begin many_connections_5000
start_target --threads 2
bar -q --json "$J" -c 5000 -t 2 -d 2s "$TARGET_URL/"
stop_target || _err "the target did not stop cleanly"
expect_rc 0
expect_range "wall-clock seconds" "$BAR_WALL" 1.9 8
expect_range "duration_s" "$(json_get "$J" duration_s)" 1.9 3
expect_json "$J" connections.opened 5000
expect_json "$J" connections.max_open 5000
expect_json "$J" errors.connect 0
expect_json "$J" requests.failed 0
expect_json "$J" connect_us.count 5000
expect_gt "requests.ok" "$(json_get "$J" requests.ok)" 5000
expect_le "requests.in_flight" "$(json_get "$J" requests.in_flight)" 5000
expect_accounting "$J"
expect_num_eq "server connections" "$(server_count connections)" 5000
expect_range "server requests" "$(server_count requests)" \
    "$(json_get "$J" requests.ok)" "$(json_get "$J" requests.issued)"
end

# Again with -n: exactly N requests over the 5000 connections.
begin many_connections_5000_count
start_target --threads 2
bar -q --json "$J" -c 5000 -t 2 -n 20000 "$TARGET_URL/"
stop_target || _err "the target did not stop cleanly"
expect_rc 0
expect_le "wall-clock seconds" "$BAR_WALL" 15
expect_json "$J" requests.issued 20000
expect_json "$J" requests.ok 20000
expect_json "$J" connections.opened 5000
expect_json "$J" errors.connect 0
expect_num_eq "server requests" "$(server_count requests)" 20000
expect_num_eq "server connections" "$(server_count connections)" 5000
expect_accounting "$J"
end

# Against a loopback target the connections come from many 127.x.y.z sources (so that the
# ~28k ephemeral ports of one source never run out); seen from the server side with ss.
if command -v ss >/dev/null 2>&1; then
    begin source_addresses_spread
    start_target --threads 2
    spawn "$BARRAGE" -q -c 2000 -t 2 -d 3s "$TARGET_URL/" >/dev/null 2>&1
    pid=$SPAWNED_PID
    sleep 1.5
    ss -Htn state established "( sport = :$TARGET_PORT )" >"$TMP/ss.txt" 2>&1
    wait "$pid"
    rc=$?
    stop_target
    [ "$rc" -eq 0 ] || _err "barrage exited $rc"
    conns=$(wc -l <"$TMP/ss.txt")
    sources=$(awk '{ split($NF, a, ":"); print a[1] }' "$TMP/ss.txt" | sort -u | wc -l)
    expect_ge "connections seen by ss" "$conns" 1900
    expect_ge "distinct source addresses" "$sources" 2
    awk '{ split($NF, a, ":"); print a[1] }' "$TMP/ss.txt" | grep -qv '^127\.' &&
        _err "a source address outside 127.0.0.0/8: $(awk '{print $NF}' "$TMP/ss.txt" | grep -v '^127\.' | head -1)"
    end
fi
