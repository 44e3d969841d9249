#!/usr/bin/env bash
# A server closing keep-alive connections: barrage reconnects transparently and counts it.
source "$(dirname "$0")/lib.sh"

# The server closes each connection after 10 responses without saying so (no
# Connection: close): the request barrage already sent on it crosses the FIN unread.
# It must be re-sent once on a new connection: every request ok, none twice on the server.
for depth in 1 4; do
    begin "unannounced_close_is_retried_depth$depth"
    start_target --drop-after 10
    bar -q --json "$TMP/k.json" -t 1 -c 4 -n 1000 --pipeline "$depth" --timeout 3s "$TARGET_URL/"
    stop_target || _err "the target did not stop cleanly"
    expect_rc 0
    expect_json "$TMP/k.json" requests.ok 1000
    expect_json "$TMP/k.json" requests.failed 0
    expect_num_eq "server requests" "$(server_count requests)" 1000
    expect_gt "retried_requests" "$(json_get "$TMP/k.json" connections.retried_requests)" 0
    expect_ge "closed_by_server" "$(json_get "$TMP/k.json" connections.closed_by_server)" 90
    # a re-sent request is the first on its new connection: not reused (it counted twice)
    expect_json "$TMP/k.json" connections.reused_requests $((1000 - $(json_get "$TMP/k.json" connections.opened)))
    expect_le "wall seconds" "$BAR_WALL" 2.5
    expect_accounting "$TMP/k.json"
    end
done

# Every connection closed after one answer: each request is re-sent at most once, counts stay exact.
begin "retry_keeps_counts_exact"
start_target --drop-after 1
bar -q --json "$TMP/k1.json" -t 1 -c 1 -n 50 --timeout 3s "$TARGET_URL/"
stop_target || _err "the target did not stop cleanly"
expect_json "$TMP/k1.json" requests.issued 50
expect_accounting "$TMP/k1.json"
expect_num_eq "server requests == ok" "$(server_count requests)" "$(json_get "$TMP/k1.json" requests.ok)"
expect_json "$TMP/k1.json" connections.reused_requests 0
end

# Connection: close with a request pipelined behind it: that one is sent again as the
# first on a new connection, so every request is answered on a fresh one; none reused.
begin "announced_close_resends_are_not_reused"
start_target
bar -q --json "$TMP/c2.json" -t 1 -c 1 -n 10 --pipeline 2 "$TARGET_URL/close"
stop_target || _err "the target did not stop cleanly"
expect_json "$TMP/c2.json" requests.ok 10
expect_json "$TMP/c2.json" connections.opened 10
expect_json "$TMP/c2.json" connections.reused_requests 0
expect_accounting "$TMP/c2.json"
end

# An idle keep-alive connection closed by the server is routine, not an error: two
# connections, three requests of 300 ms; after the first pair one connection idles
# while the last request runs, and the server closes it after 100 ms.
begin "idle_close_is_not_an_error"
start_target --idle-close 100
bar -q --json "$TMP/i.json" -t 1 -c 2 -n 3 "$TARGET_URL/delay/300"
stop_target || _err "the target did not stop cleanly"
expect_rc 0
expect_json "$TMP/i.json" requests.ok 3
expect_json "$TMP/i.json" requests.failed 0
expect_ge "closed_by_server" "$(json_get "$TMP/i.json" connections.closed_by_server)" 1
expect_accounting "$TMP/i.json"
end

# POST is not idempotent: a POST lost to the race fails as reset and is never re-sent.
begin "post_is_not_retried"
start_target --drop-after 10
bar -q --json "$TMP/post.json" -t 1 -c 2 -n 200 -m POST -b 'x=1' --timeout 3s "$TARGET_URL/"
stop_target || _err "the target did not stop cleanly"
expect_json "$TMP/post.json" connections.retried_requests 0
expect_gt "errors.reset" "$(json_get "$TMP/post.json" errors.reset)" 0
expect_grep "reset cause counts them all" "^ +reset: connection closed before the response: $(json_get "$TMP/post.json" errors.reset)\$" "$BAR_OUT"
expect_num_eq "server requests == ok" "$(server_count requests)" "$(json_get "$TMP/post.json" requests.ok)"
expect_accounting "$TMP/post.json"
end

# uring_slots PID: "TABLE USED" of the process's io_uring fixed-file table, read from
# fdinfo: the table's size and how many slots hold a socket ("0 0" without a table).
# The kernel leaves the table out of fdinfo while the ring's lock is held: a few tries.
uring_slots() {
    local fd i out
    for fd in /proc/"$1"/fd/*; do
        [ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:[io_uring]" ] || continue
        for ((i = 0; i < 500; i++)); do
            out=$(cat "/proc/$1/fdinfo/${fd##*/}" 2>/dev/null)
            [[ $out == *UserFiles:* ]] && break
        done
        awk '/^UserFiles:/ {t = $2} /^ *[0-9]+: socket:/ {u++} END {print t + 0, u + 0}' <<<"$out"
        return
    done
    echo "0 0"
}

# Kept connections reach their sockets through the ring's fixed-file table, each in its
# connection's slot; the server recycling them every 10 requests puts new sockets in the
# same slots, and no request goes astray. Connections closed after each request keep plain
# descriptors (a slot would cost two operations per connection). Before Linux 6.13 there is
# no table at all (see ring_fixed_files).
for mode in keepalive no_keepalive; do
    begin "fixed_file_slots_$mode"
    start_target --drop-after 10
    flag=()
    [ "$mode" = no_keepalive ] && flag=(--no-keepalive)
    "$BARRAGE" -q --json "$TMP/f.json" -t 1 -c 4 -d 1500ms --timeout 3s "${flag[@]}" "$TARGET_URL/" \
        >"$BAR_OUT" 2>"$BAR_ERR" </dev/null &
    pid=$!
    seen=''
    for i in 1 2 3 4 5; do
        sleep 0.2
        seen+="$(uring_slots "$pid"),"
    done
    wait "$pid"
    BAR_RC=$?
    stop_target || _err "the target did not stop cleanly"
    expect_rc 0
    expect_json "$TMP/f.json" requests.failed 0
    expect_gt "connections opened" "$(json_get "$TMP/f.json" connections.opened)" 20
    expect_accounting "$TMP/f.json"
    if [ "$mode" = keepalive ] && ! "$PY" -S -c 'import os, sys; sys.exit(tuple(map(int, os.uname().release.split(".")[:2])) < (6, 13))'; then
        echo "  (kernel before 6.13: barrage uses no fixed-file table there)" >&2
        [ "$seen" = "0 0,0 0,0 0,0 0,0 0," ] || _err "fixed-file table samples '$seen' before Linux 6.13, expected none"
    elif [ "$mode" = keepalive ]; then
        # every sample: a table of 4, 1..4 slots filled
        [[ $seen =~ ^(4\ [1-4],){5}$ ]] || _err "fixed-file table samples '$seen', expected '4 1..4' five times"
    else
        [ "$seen" = "0 0,0 0,0 0,0 0,0 0," ] || _err "fixed-file table samples '$seen', expected none"
    fi
    end
done
