#!/usr/bin/env bash
# Every fault lands in its error class, exactly, and the books balance.
source "$(dirname "$0")/lib.sh"
J=$TMP/f.json

# fault NAME N PATH CLASS [barrage flags]: -n N against PATH; all N fail as CLASS
fault() {
    local name=$1 n=$2 path=$3 class=$4
    shift 4
    begin "$name"
    bar -q --json "$J" -n "$n" "$@" "$TARGET_URL$path"
    expect_rc 0
    expect_le "wall-clock seconds" "$BAR_WALL" 10
    expect_json "$J" requests.issued "$n"
    expect_json "$J" requests.ok 0
    expect_json "$J" requests.failed "$n"
    expect_json "$J" requests.in_flight 0
    expect_json "$J" "errors.$class" "$n"
    expect_accounting "$J"
    expect_closes_balance "$J"
}

start_target --threads 2

fault reset_rst 200 /reset reset -c 4 -t 2 --html "$TMP/f.html"
expect_json_str "$J" status '{}'
expect_grep "summary errors line" 'Errors +reset 200$' "$BAR_OUT"
expect_grep "reset cause shown" '^ +reset: connection reset by the server: 200$' "$BAR_OUT"
expect_grep "reset cause in the HTML" '>reset: connection reset by the server</td><td>200<' "$TMP/f.html"
end
fault reset_rst_pipelined 200 /reset reset -c 2 -t 1 --pipeline 8
end

# Content-Length 100, 10 bytes, close: cut short, a reset
fault truncate 200 /truncate reset -c 4 -t 2
expect_json_str "$J" status '{}'
end
fault truncate_pipelined 200 /truncate reset -c 2 -t 1 --pipeline 8
# the requests pipelined behind the cut response count under its reason too (only the cut
# one did: 25 of 200)
expect_grep "truncation reason counts every request" '^ +reset: connection closed mid-response: 200$' "$BAR_OUT"
end

fault garbage 200 /garbage parse -c 4 -t 2
expect_json_str "$J" status '{}'
expect_grep "parse reason shown" '^ +response: .*: 200$' "$BAR_OUT"
end
fault garbage_pipelined 200 /garbage parse -c 1 -t 1 --pipeline 8
# every request that failed for the unreadable response counts under its reason (it counted
# once per connection: 25 of 200)
expect_grep "parse reason counts every request" '^ +response: .*: 200$' "$BAR_OUT"
end

# no answer within --timeout: 4 requests on 2 connections, two rounds of 300 ms
fault hang_timeout 4 /hang timeout -c 2 -t 1 --timeout 300ms
expect_range "wall-clock seconds" "$BAR_WALL" 0.55 4
expect_ge "connections.opened" "$(json_get "$J" connections.opened)" 4
end
fault hang_timeout_pipelined 16 /hang timeout -c 2 -t 2 --pipeline 8 --timeout 300ms
expect_le "wall-clock seconds" "$BAR_WALL" 4
end
fault delay_beyond_timeout 6 /delay/3000 timeout -c 3 -t 1 --timeout 200ms
expect_le "wall-clock seconds" "$BAR_WALL" 4
end
# A response that completes just past --timeout is a timeout: the timer scan runs every
# timeout/20, and a response that came before it counted as a success (18 of 20 did).
fault delay_at_the_timeout 20 /delay/100 timeout -c 2 -t 1 --timeout 100ms
expect_json "$J" latency_us.count 0
end
fault delay_at_the_timeout_pipelined 16 /delay/100 timeout -c 2 -t 1 --pipeline 8 --timeout 100ms
end
begin delay_at_the_step_timeout
printf 'target: %s\nusers:\n  - name: u\n    tasks:\n      - { get: /delay/100, name: d, timeout: 100ms }\n' \
    "$TARGET_URL" >"$TMP/late.yaml"
bar -q --json "$J" -s "$TMP/late.yaml" -n 10 -c 2 -t 1
expect_rc 0
expect_json "$J" errors.timeout 10
expect_json_str "$J" 'j["steps"]["d"]["failures"]' '{"timeout":10}'
expect_accounting "$J"
end

# 4xx/5xx: complete responses, counted by status and as errors.status
fault status_503 300 /status/503 status -c 3 -t 2
expect_json_str "$J" status '{"503":300}'
expect_json "$J" connections.opened 3
end
fault status_404 300 /status/404 status -c 3 -t 1 --pipeline 4
expect_json_str "$J" status '{"404":300}'
end
fault status_400_bad_route_arg 50 /status/999 status -c 1 -t 1
expect_json_str "$J" status '{"400":50}'
end

# A -d run full of resets: the books still balance, nothing left in flight beyond -c
begin reset_duration_run
bar -q --json "$J" -c 8 -t 2 -d 1s "$TARGET_URL/reset"
expect_rc 0
expect_range "wall-clock seconds" "$BAR_WALL" 0.9 3
expect_json "$J" requests.ok 0
expect_gt "errors.reset" "$(json_get "$J" errors.reset)" 10
expect_json "$J" 'j["requests"]["failed"] - j["errors"]["reset"]' 0
expect_le "requests.in_flight" "$(json_get "$J" requests.in_flight)" 8
expect_accounting "$J"
end

stop_target

# The server closes after 4 answers (Connection: close) while 8 are pipelined: the 4 it
# never read are sent again on a new connection (RFC 9112 9.3.2), so nothing fails and the
# server answers exactly 80.
begin server_close_with_pipelined_outstanding
start_target --close-after 4
bar -q --json "$J" -c 1 -t 1 -n 80 --pipeline 8 "$TARGET_URL/"
stop_target
expect_rc 0
expect_json "$J" requests.issued 80
expect_json "$J" requests.ok 80
expect_json "$J" requests.failed 0
expect_num_eq "server requests" "$(server_count requests)" 80
expect_json "$J" connections.opened 20
expect_json "$J" connections.closed_by_server 20
expect_gt "connections.retried_requests" "$(json_get "$J" connections.retried_requests)" 0
expect_accounting "$J"
end

# The server dies (SIGKILL) 1 s into a 3 s run: the requests in flight fail (as resets, or
# as connect errors when sent again), the reconnects fail as connect errors (with backoff),
# the run still ends on time and balances.
begin server_killed_mid_run
start_target --threads 2
victim=$TARGET_PID
{
    ( sleep 1; kill -KILL "$victim" ) &
    killer=$!
    bar -q --json "$J" -c 20 -t 2 -d 3s "$TARGET_URL/"
    wait "$killer"
    wait "$victim"
} 2>/dev/null
TARGET_PID=''
expect_rc 0
expect_range "wall-clock seconds" "$BAR_WALL" 2.9 5
expect_gt "requests.ok" "$(json_get "$J" requests.ok)" 100
expect_le "errors.reset" "$(json_get "$J" errors.reset)" 40
# 20 connections retrying from 10 ms, doubling to 1 s, for 2 s: about 8 attempts each
expect_range "errors.connect" "$(json_get "$J" errors.connect)" 20 300
expect_json "$J" errors.timeout 0
expect_json "$J" errors.parse 0
expect_json "$J" requests.in_flight 0
expect_accounting "$J"
end

# ---- connecting

# A port nobody listens on: refused, every attempt one failed request, then backoff
begin connect_refused_count
port=$(free_port)
bar -q --json "$J" -c 2 -t 1 -n 10 "http://127.0.0.1:$port/"
expect_rc 0
expect_le "wall-clock seconds" "$BAR_WALL" 5
expect_json "$J" requests.issued 10
expect_json "$J" requests.ok 0
expect_json "$J" errors.connect 10
expect_json "$J" connections.opened 0
expect_json_str "$J" status '{}'
expect_grep "errno shown" 'connect: Connection refused: 10' "$BAR_OUT"
expect_accounting "$J"
end

begin connect_refused_duration
port=$(free_port)
bar -q --json "$J" -c 4 -t 2 -d 1s "http://127.0.0.1:$port/"
expect_rc 0
expect_range "wall-clock seconds" "$BAR_WALL" 0.9 3
expect_gt "errors.connect" "$(json_get "$J" errors.connect)" 0
expect_json "$J" requests.ok 0
expect_json "$J" 'j["requests"]["failed"] - j["errors"]["connect"]' 0
# backoff from 10 ms doubling: 4 connections make at most ~4 x 7 attempts in 1 s
expect_le "errors.connect" "$(json_get "$J" errors.connect)" 40
expect_accounting "$J"
end

# A listener that never accepts, with a full backlog: SYNs are dropped, connects time out
cat >"$TMP/noaccept.py" <<'PY'
import socket, sys, time, os
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
fill = []
for _ in range(4):   # fill the accept queue ourselves
    c = socket.socket(); c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
    fill.append(c)
time.sleep(0.2)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)
PY
begin connect_timeout
spawn "$PY" -S "$TMP/noaccept.py" "$TMP/na.port"
for ((i = 0; i < 100; i++)); do [ -s "$TMP/na.port" ] && break; sleep 0.05; done
bar -q --json "$J" -c 2 -t 1 -n 4 --timeout 300ms "http://127.0.0.1:$(cat "$TMP/na.port")/"
kill "$SPAWNED_PID" 2>/dev/null; wait "$SPAWNED_PID" 2>/dev/null
expect_rc 0
expect_le "wall-clock seconds" "$BAR_WALL" 6
expect_json "$J" requests.issued 4
expect_json "$J" requests.ok 0
expect_json "$J" errors.connect 4
expect_json "$J" connections.opened 0
expect_grep "errno shown" 'connect: Connection timed out: 4' "$BAR_OUT"
expect_accounting "$J"
end

# A server that stops reading: a request the server has not taken when it times out.
# Closing it gracefully would leave an orphan socket in FIN_WAIT1 holding megabytes of
# unsent body in the kernel's TCP memory, for minutes; barrage resets it instead. The server keeps its
# end open (unread) while the sockets are counted.
cat >"$TMP/noread.py" <<'PY'
import os, socket, sys, time
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(64); ls.settimeout(0.1)
open(sys.argv[1] + ".tmp", "w").write(str(ls.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held, end = [], time.time() + 8
while time.time() < end:
    try: held.append(ls.accept()[0])
    except socket.timeout: pass
PY
unsent_reset() {  # name body-bytes
    begin "$1"
    head -c "$2" /dev/zero >"$TMP/big.body"
    rm -f "$TMP/nr.port"
    spawn "$PY" -S "$TMP/noread.py" "$TMP/nr.port"
    for ((i = 0; i < 100; i++)); do [ -s "$TMP/nr.port" ] && break; sleep 0.05; done
    local port orphans
    port=$(cat "$TMP/nr.port")
    bar -q --json "$J" -c 2 -t 1 -d 1500ms --timeout 300ms -m POST --body-file "$TMP/big.body" "http://127.0.0.1:$port/"
    sleep 0.2
    orphans=$(ss -Htn state fin-wait-1 "( dport = :$port )" | wc -l)
    kill "$SPAWNED_PID" 2>/dev/null; wait "$SPAWNED_PID" 2>/dev/null
    expect_rc 0
    expect_ge "timeouts" "$(json_get "$J" errors.timeout)" 4
    expect_num_eq "sockets left in FIN_WAIT1" "$orphans" 0
    expect_accounting "$J"
    rm -f "$TMP/big.body"
    end
}
# 1 MiB: the send completed into the kernel's buffers; 16 MiB: it was still going on
unsent_reset unsent_request_reset_on_timeout_sent 1048576
unsent_reset unsent_request_reset_on_timeout_sending 16777216
