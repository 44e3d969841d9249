#!/usr/bin/env bash
# bench/compare_pooling.py over plain http against the built-in target: a mode whose
# requests fail says why below the table (the table alone showed "0 req/s, failed 20" and
# nothing else), and a --threshold after "--" that fails keeps the table and exits 99 as
# barrage does (it stopped at the first mode with "failed: " and no reason).
source "$(dirname "$0")/lib.sh"

pool() {  # args...: compare_pooling.py, output in $TMP/pool.out, exit status in POOL_RC
    BARRAGE=$BARRAGE timeout 60 "$PY" "$ROOT/bench/compare_pooling.py" -c 2 -d 300ms -t 1 --rpc 5 "$@" \
        >"$TMP/pool.out" 2>"$TMP/pool.err" </dev/null
    POOL_RC=$?
}

start_target

begin compare_pooling_threshold_fails_keeps_the_table
pool "$TARGET_URL/" -- --threshold 'p99<1us'
expect_num_eq "exit status" "$POOL_RC" 99
expect_num_eq "rows" "$(grep -Ec '^(keep-alive|5 per connection|new connection) ' "$TMP/pool.out")" 3
expect_grep "names the modes whose threshold failed" \
    '^compare_pooling: a --threshold failed in: keep-alive, 5 per connection, new connection$' "$TMP/pool.err"
end

begin compare_pooling_says_why_requests_failed
pool "$TARGET_URL/status/503"
expect_num_eq "exit status" "$POOL_RC" 0
expect_gt "keep-alive failed" "$(grep -E '^keep-alive ' "$TMP/pool.out" | awk '{print $NF}')" 0
expect_grep "the failing statuses under the table" '^  keep-alive: status [0-9]+ \(statuses 503: [0-9]+\)$' "$TMP/pool.out"
end

port=$TARGET_PORT
stop_target
begin compare_pooling_refused_says_so
pool "http://127.0.0.1:$port/"
expect_num_eq "exit status" "$POOL_RC" 0
expect_grep "the connect error under the table" '^  keep-alive: connect: Connection refused: [0-9]+$' "$TMP/pool.out"
expect_grep "for every mode" '^  new connection: connect: Connection refused: [0-9]+$' "$TMP/pool.out"
end

begin compare_pooling_bad_input_says_why
pool "$TARGET_URL/" -- --no-such-flag
expect_num_eq "exit status" "$POOL_RC" 1
expect_grep "barrage's own message" "^compare_pooling: keep-alive failed: exit 2: barrage: unknown option '--no-such-flag'" \
    "$TMP/pool.err"
end
