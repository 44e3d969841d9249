#!/usr/bin/env bash
# bench/floor.c, the floor client that bench/run.sh runs beside barrage and wrk: the
# responses it reports are the ones the server answered (all but the first, read before
# the ring starts, and those in flight at its stop), and bench/report.py reads its line.
source "$(dirname "$0")/lib.sh"

FLOOR=$ROOT/build/floor

begin floor_counts_what_the_server_answered
start_target
timeout 20 "$FLOOR" 127.0.0.1 "$TARGET_PORT" 4 1 8 >"$TMP/floor.out" 2>"$TMP/floor.err" </dev/null
rc=$?
stop_target
expect_num_eq "exit status" "$rc" 0
n=$(sed -nE 's/^floor: ([0-9]+) responses in [0-9.]+ s, [0-9]+ req\/s, 4 connections, wait 2$/\1/p' "$TMP/floor.out")
expect_gt "responses (its line: $(head -c 200 "$TMP/floor.out")$(head -c 200 "$TMP/floor.err"))" "${n:-0}" 1000
served=$(server_count requests)
# wait 8 of 4 connections is cut to half of them: 2
expect_range "answered by the server minus counted" "$((served - ${n:-0}))" 1 5
parsed=$(cd "$ROOT/bench" && "$PY" -c 'import sys, report; r, why = report.parse_floor(open(sys.argv[1]).read()); print(r["requests"] if r else why)' "$TMP/floor.out")
expect_eq "bench/report.py's reading" "$parsed" "${n:-none}"
end

begin floor_fails_plainly_without_a_server
start_target
port=$TARGET_PORT
stop_target
timeout 20 "$FLOOR" 127.0.0.1 "$port" 1 1 >"$TMP/floor.out" 2>"$TMP/floor.err" </dev/null
rc=$?
expect_num_eq "exit status against a closed port" "$rc" 1
expect_grep "says why" '^floor: connect: Connection refused$' "$TMP/floor.err"
end
