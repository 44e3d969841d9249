#!/usr/bin/env bash
# HTTP features: chunked responses, HEAD, 1xx/204, request bodies, headers, keep-alive,
# server closes, --requests-per-conn, --no-keepalive, Connection: close.
source "$(dirname "$0")/lib.sh"

# ok_run NAME N PATH [serve flags] -- [barrage flags]: exact counts, all 200 unless STATUS set
ok_run() {
    local name=$1 n=$2 path=$3 sflags=()
    shift 3
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sflags+=("$1"); shift; done
    shift
    begin "$name"
    start_target "${sflags[@]}"
    bar -q --json "$TMP/r.json" --timeout 5s -n "$n" "$@" "$TARGET_URL$path"
    stop_target || _err "the target did not stop cleanly"
    expect_rc 0
    expect_json "$TMP/r.json" requests.issued "$n"
    expect_json "$TMP/r.json" requests.ok "$n"
    expect_json "$TMP/r.json" requests.failed 0
    expect_json "$TMP/r.json" requests.in_flight 0
    expect_json_str "$TMP/r.json" status "{\"${STATUS:-200}\":$n}"
    expect_num_eq "server requests" "$(server_count requests)" "$n"
    expect_num_eq "server connections" "$(server_count connections)" "$(json_get "$TMP/r.json" connections.opened)"
    expect_accounting "$TMP/r.json"
}
J=$TMP/r.json

# ---- responses

ok_run chunked_1000 1000 /chunked/1000 -- -c 4 -t 2
expect_ge "bytes.received" "$(json_get $J bytes.received)" $((1000 * 1000))
end
ok_run chunked_0 300 /chunked/0 -- -c 2 -t 1
end
ok_run chunked_large_200k 100 /chunked/200000 -- -c 2 -t 2
expect_ge "bytes.received" "$(json_get $J bytes.received)" $((100 * 200000))
end
ok_run chunked_default_body 1000 / --chunked --body-size 5000 -- -c 4 -t 2
end
ok_run bytes_0 500 /bytes/0 -- -c 2 -t 1
end
ok_run bytes_1MiB 40 /bytes/1048576 -- -c 2 -t 2
expect_ge "bytes.received" "$(json_get $J bytes.received)" $((40 * 1048576))
end

# HEAD: the Content-Length of the answer is not followed by a body; waiting for one would time out
ok_run head_bytes_100k 200 /bytes/100000 -- -c 2 -t 1 -m HEAD --timeout 2s
expect_le "bytes.received" "$(json_get $J bytes.received)" $((200 * 200))
end
ok_run head_chunked 200 /chunked/5000 -- -c 2 -t 1 -m HEAD --timeout 2s
expect_le "bytes.received" "$(json_get $J bytes.received)" $((200 * 200))
end

STATUS=204 ok_run status_204 300 /status/204 -- -c 2 -t 1
end
# an interim 100 Continue before the real answer: one response, counted once, as 200
ok_run status_100_then_200 300 /status/100 -- -c 2 -t 1
end
STATUS=302 ok_run status_302 300 /status/302 -- -c 2 -t 1
end

# /delay/MS: latency includes the delay
ok_run delay_200ms 20 /delay/200 -- -c 4 -t 1
expect_range "latency p50 (us)" "$(json_get $J latency_us.p50)" 195000 2000000
expect_ge "latency min (us)" "$(json_get $J latency_us.min)" 195000
end

# ---- requests: the exact bytes barrage sends, captured by a one-connection-at-a-time server

cat >"$TMP/capture.py" <<'PY'
import socket, sys
out, portfile = sys.argv[1], sys.argv[2]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0)); ls.listen(16); ls.settimeout(20)
open(portfile + ".tmp", "w").write(str(ls.getsockname()[1]))
import os; os.rename(portfile + ".tmp", portfile)
reqs = []
while True:
    try:
        c, _ = ls.accept()
    except socket.timeout:
        break
    c.settimeout(5)
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d: break
            buf += d
        if b"\r\n\r\n" not in buf: break
        head, rest = buf.split(b"\r\n\r\n", 1)
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length": n = int(v)
        while len(rest) < n:
            d = c.recv(65536)
            if not d: break
            rest += d
        reqs.append(head + b"\r\n\r\n" + rest[:n])
        buf = rest[n:]
        with open(out, "wb") as f: f.write(reqs[0])
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    c.close()
PY

# capture ARGS...: one request from barrage -n 1 with ARGS (to a URL with $CAP_USERINFO before
# its host); sets CAP (file) and CAP_PORT
capture() {
    local i
    rm -f "$TMP/cap.port" "$TMP/cap.req"
    spawn "$PY" -S "$TMP/capture.py" "$TMP/cap.req" "$TMP/cap.port"
    CAP_PID=$SPAWNED_PID
    for ((i = 0; i < 100; i++)); do [ -s "$TMP/cap.port" ] && break; sleep 0.05; done
    CAP_PORT=$(cat "$TMP/cap.port" 2>/dev/null)
    bar -q --json "$TMP/cap.json" -c 1 -t 1 -n 1 --timeout 5s "$@" "http://${CAP_USERINFO:-}127.0.0.1:$CAP_PORT/echo"
    kill "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null
    CAP=$TMP/cap.req
    [ -s "$CAP" ] || _err "the capture server got no request"
}

# check_request FILE PYTHON-ASSERTIONS: r is the request (bytes)
check_request() {
    "$PY" -S - "$1" "$2" <<'PY'
import sys
r = open(sys.argv[1], "rb").read()
head, _, body = r.partition(b"\r\n\r\n")
lines = head.split(b"\r\n")
hdr = {}
for l in lines[1:]:
    k, _, v = l.partition(b":"); hdr.setdefault(k.strip().lower().decode(), []).append(v.strip().decode())
for cond in sys.argv[2].split("\n"):
    cond = cond.strip()
    if cond and not eval(cond):
        print("request fails %s: %r" % (cond, r[:400])); sys.exit(1)
PY
}

# user:password@ in the URL goes as Basic authorization (percent-decoded), as curl and k6
# send it; a user alone as "user:"; an Authorization header given wins; in a scenario too.
begin url_credentials_as_basic_auth
# no_password_shown: none of the password in what barrage printed or wrote
no_password_shown() { grep -q "p@ss\|p%40ss\|pw" "$BAR_OUT" "$BAR_ERR" "$TMP/cap.json" && _err "the password is in an output"; }
CAP_USERINFO='alice:p%40ss:w@' capture
expect_ok "Basic of alice:p@ss:w" check_request "$CAP" "hdr['authorization'] == ['Basic $(printf 'alice:p@ss:w' | base64)']"
expect_json_str "$TMP/cap.json" url "http://****@127.0.0.1:$CAP_PORT/echo"
no_password_shown
CAP_USERINFO='bob@' capture
expect_ok "Basic of bob:" check_request "$CAP" "hdr['authorization'] == ['Basic $(printf 'bob:' | base64)']"
CAP_USERINFO='alice:pw@' capture -H 'authorization: Bearer T'
expect_ok "the header given wins" check_request "$CAP" "hdr['authorization'] == ['Bearer T']"
no_password_shown
printf 'users:\n  - name: a\n    tasks:\n      - get: /s\n' >"$TMP/basic.yaml"
CAP_USERINFO='carol:pw@' capture -s "$TMP/basic.yaml"
expect_ok "a scenario's requests too" check_request "$CAP" "
    lines[0] == b'GET /echo/s HTTP/1.1'
    hdr['authorization'] == ['Basic $(printf 'carol:pw' | base64)']"
no_password_shown
end

BODY='{"hello":"world","n":12345}'
begin post_body_exact_bytes
capture -m POST -b "$BODY" -H 'Content-Type: application/json' -H 'X-Test: one'
expect_ok "captured request" check_request "$CAP" "
    lines[0] == b'POST /echo HTTP/1.1'
    hdr['host'] == ['127.0.0.1:$CAP_PORT']
    hdr['user-agent'][0].startswith('barrage/')
    hdr['content-length'] == ['${#BODY}']
    hdr['content-type'] == ['application/json']
    hdr['x-test'] == ['one']
    'connection' not in hdr
    'transfer-encoding' not in hdr
    body == b'$BODY'"
req_len=$(stat -c %s "$CAP")
expect_json "$TMP/cap.json" bytes.sent "$req_len"
# The same request N times to the echo route: bytes.sent is exactly N requests (the Host
# header differs by the length of the port number only).
start_target
req_len=$((req_len - ${#CAP_PORT} + ${#TARGET_PORT}))
bar -q --json "$J" -c 4 -t 2 -n 1000 -m POST -b "$BODY" -H 'Content-Type: application/json' -H 'X-Test: one' "$TARGET_URL/echo"
stop_target
expect_rc 0
expect_json "$J" requests.ok 1000
expect_json_str "$J" status '{"200":1000}'
expect_json "$J" bytes.sent $((1000 * req_len))
expect_ge "bytes.received" "$(json_get $J bytes.received)" $((1000 * ${#BODY}))
expect_num_eq "server requests" "$(server_count requests)" 1000
expect_accounting "$J"
end

begin body_file_binary
head -c 30000 /dev/urandom >"$TMP/body.bin"
capture -m PUT --body-file "$TMP/body.bin"
expect_ok "captured request" check_request "$CAP" "
    lines[0] == b'PUT /echo HTTP/1.1'
    hdr['content-length'] == ['30000']
    body == open('$TMP/body.bin', 'rb').read()"
req_len=$(stat -c %s "$CAP")
start_target
req_len=$((req_len - ${#CAP_PORT} + ${#TARGET_PORT}))
bar -q --json "$J" -c 4 -t 2 -n 200 -m PUT --body-file "$TMP/body.bin" "$TARGET_URL/echo"
stop_target
expect_rc 0
expect_json "$J" requests.ok 200
expect_json_str "$J" status '{"200":200}'
expect_json "$J" bytes.sent $((200 * req_len))
expect_ge "bytes.received" "$(json_get $J bytes.received)" $((200 * 30000))
expect_num_eq "server requests" "$(server_count requests)" 200
expect_accounting "$J"
end

begin post_empty_body_has_content_length_0
capture -m POST
expect_ok "captured request" check_request "$CAP" "
    lines[0] == b'POST /echo HTTP/1.1'
    hdr['content-length'] == ['0']
    body == b''"
end

begin host_and_user_agent_override
capture -H 'Host: example.test' -H 'User-Agent: tester/1'
expect_ok "captured request" check_request "$CAP" "
    lines[0] == b'GET /echo HTTP/1.1'
    hdr['host'] == ['example.test']
    hdr['user-agent'] == ['tester/1']
    'content-length' not in hdr"
end

begin no_keepalive_sends_connection_close
capture --no-keepalive
expect_ok "captured request" check_request "$CAP" "hdr['connection'] == ['close']"
end

# ---- connections

# The server closes every connection after its 10th response (Connection: close): barrage
# reconnects, nothing fails, and each connection carries 10 requests.
ok_run close_after_10 1000 / --close-after 10 -- -c 4 -t 2
opened=$(json_get $J connections.opened)
expect_range "connections.opened" "$opened" 100 104
expect_range "connections.closed_by_server" "$(json_get $J connections.closed_by_server)" 96 100
expect_json "$J" connections.reused_requests $((1000 - opened))
end

ok_run close_after_1 300 / --close-after 1 -- -c 3 -t 1
expect_json "$J" connections.opened 300
expect_json "$J" connections.closed_by_server 300
end

# /close answers with Connection: close, then closes: one connection per request
ok_run close_route 300 /close -- -c 3 -t 1
expect_json "$J" connections.opened 300
expect_json "$J" connections.closed_by_server 300
end

ok_run requests_per_conn_5 100 / -- -c 1 -t 1 --requests-per-conn 5
expect_json "$J" connections.opened 20
expect_json "$J" connections.closed_by_client 20
expect_json "$J" connections.closed_by_server 0
expect_json "$J" connections.reused_requests 80
end

# Over 4 connections the last one of each may stop short of 5 when the budget runs out.
ok_run requests_per_conn_5_c4 1000 / -- -c 4 -t 2 --requests-per-conn 5
expect_range "connections.opened" "$(json_get $J connections.opened)" 200 204
expect_range "connections.closed_by_client" "$(json_get $J connections.closed_by_client)" 196 200
expect_json "$J" connections.closed_by_server 0
expect_json "$J" connections.reused_requests $((1000 - $(json_get $J connections.opened)))
end

# --no-keepalive: a connection per request; the server closes it after the answer (it was
# asked to), so every connection ends closed by one side or the other
ok_run no_keepalive 300 / -- -c 3 -t 1 --no-keepalive
expect_json "$J" connections.opened 300
expect_json "$J" connections.reused_requests 0
expect_num_eq "closed_by_server + closed_by_client" \
    "$(json_get $J 'j["connections"]["closed_by_server"] + j["connections"]["closed_by_client"]')" 300
end

ok_run header_connection_close 300 / -- -c 3 -t 1 -H 'Connection: close'
expect_json "$J" connections.opened 300
expect_json "$J" connections.reused_requests 0
end

# Keep-alive by default: -c 3 opens 3 connections for 3000 requests
ok_run keepalive_default 3000 / -- -c 3 -t 1
expect_json "$J" connections.opened 3
expect_json "$J" connections.closed_by_server 0
expect_json "$J" connections.closed_by_client 0
expect_json "$J" connections.reused_requests 2997
end

# ---- servers that end bodies by closing: a python server answers each connection once
cat >"$TMP/eof.py" <<'PY'
import os, socket, sys
mode, portfile, countfile = sys.argv[1], sys.argv[2], sys.argv[3]
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(64); ls.settimeout(20)
open(portfile + ".tmp", "w").write(str(ls.getsockname()[1])); os.rename(portfile + ".tmp", portfile)
body = b"x" * 500
n = 0
while True:
    try:
        c, _ = ls.accept()
    except socket.timeout:
        break
    c.settimeout(5)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d: break
            buf += d
        if mode == "eof":      # no Content-Length, no chunking: the body ends at the close
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + body)
        elif mode == "extra":  # a body longer than its Content-Length, in the same write
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + body + b"EXTRA")
        elif mode == "status799":  # a status past 599: invalid (RFC 9110 section 15)
            c.sendall(b"HTTP/1.1 799 Odd\r\nConnection: close\r\nContent-Length: 500\r\n\r\n" + body)
        else:                  # HTTP/1.0 without keep-alive: closes after the answer
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 500\r\n\r\n" + body)
        c.shutdown(socket.SHUT_WR)
        n += 1
        open(countfile, "w").write(str(n))
    except OSError:
        pass
    c.close()
PY
eof_server() {  # name mode
    local i
    begin "$1"
    rm -f "$TMP/eof.port" "$TMP/eof.count"
    spawn "$PY" -S "$TMP/eof.py" "$2" "$TMP/eof.port" "$TMP/eof.count"
    for ((i = 0; i < 100; i++)); do [ -s "$TMP/eof.port" ] && break; sleep 0.05; done
    bar -q --json "$J" -c 2 -t 1 -n 50 --timeout 5s "http://127.0.0.1:$(cat "$TMP/eof.port")/"
    kill "$SPAWNED_PID" 2>/dev/null; wait "$SPAWNED_PID" 2>/dev/null
    expect_rc 0
    expect_json "$J" requests.issued 50
    expect_json "$J" requests.ok 50
    expect_json_str "$J" status '{"200":50}'
    expect_json "$J" connections.opened 50
    expect_json "$J" connections.closed_by_server 50
    expect_num_eq "responses the server sent" "$(cat "$TMP/eof.count" 2>/dev/null)" 50
    expect_ge "bytes.received" "$(json_get "$J" bytes.received)" $((50 * 500))
    expect_accounting "$J"
    end
}
eof_server eof_delimited_body eof
eof_server http10_response_closes http10

# Bytes after a complete response while no request waits (a body longer than its
# Content-Length): no request fails, the connection ends, and the report says why.
begin bytes_no_request_asked_for
rm -f "$TMP/eof.port" "$TMP/eof.count"
spawn "$PY" -S "$TMP/eof.py" extra "$TMP/eof.port" "$TMP/eof.count"
for ((i = 0; i < 100; i++)); do [ -s "$TMP/eof.port" ] && break; sleep 0.05; done
bar --json "$J" -c 1 -t 1 -n 20 --timeout 5s "http://127.0.0.1:$(cat "$TMP/eof.port")/"
kill "$SPAWNED_PID" 2>/dev/null; wait "$SPAWNED_PID" 2>/dev/null
expect_rc 0
expect_json "$J" requests.ok 20
expect_json "$J" requests.failed 0
expect_json "$J" connections.closed_unsolicited 20
expect_json "$J" connections.closed_by_client 20
expect_grep "the summary says why" 'closed for bytes no request asked for 20' "$BAR_OUT"
expect_accounting "$J"
end

# A status from 600 to 999 is counted under its own code, and as a failure whatever
# --expect-status says (a client treats it as a server error, RFC 9110 section 15).
begin status_past_599_counted_as_itself
rm -f "$TMP/eof.port" "$TMP/eof.count"
spawn "$PY" -S "$TMP/eof.py" status799 "$TMP/eof.port" "$TMP/eof.count"
for ((i = 0; i < 100; i++)); do [ -s "$TMP/eof.port" ] && break; sleep 0.05; done
bar --json "$J" --csv "$TMP/st799" -c 1 -t 1 -n 20 --timeout 5s --expect-status 100-599 "http://127.0.0.1:$(cat "$TMP/eof.port")/"
kill "$SPAWNED_PID" 2>/dev/null; wait "$SPAWNED_PID" 2>/dev/null
expect_rc 0
expect_json_str "$J" status '{"799":20}'
expect_json "$J" requests.ok 0
expect_json "$J" requests.failed 20
expect_json "$J" errors.status 20
expect_grep "the summary shows the code" 'Status +799: 20$' "$BAR_OUT"
expect_grep "the CSV failures name it" 'status 799,20' "$TMP/st799_failures.csv"
expect_accounting "$J"
end

# Pipelined behind a body that ends at the close: the server never read the requests after
# it, so they go again on a new connection (RFC 9112 9.3.2), as after Connection: close.
begin eof_delimited_body_pipelined_requests_sent_again
rm -f "$TMP/eof.port" "$TMP/eof.count"
spawn "$PY" -S "$TMP/eof.py" eof "$TMP/eof.port" "$TMP/eof.count"
for ((i = 0; i < 100; i++)); do [ -s "$TMP/eof.port" ] && break; sleep 0.05; done
bar -q --json "$J" -c 1 -t 1 --pipeline 4 -n 20 --timeout 5s "http://127.0.0.1:$(cat "$TMP/eof.port")/"
kill "$SPAWNED_PID" 2>/dev/null; wait "$SPAWNED_PID" 2>/dev/null
expect_rc 0
expect_json "$J" requests.ok 20
expect_json "$J" requests.failed 0
expect_json "$J" connections.opened 20
expect_json "$J" connections.closed_by_server 20
expect_gt "connections.retried_requests" "$(json_get "$J" connections.retried_requests)" 0
expect_accounting "$J"
end

# A response that says Connection: close, from a server that then keeps the connection
# open (reading, for 2 s) before its FIN: the requests pipelined behind are sent again at
# once on a new connection (RFC 9112 9.6: the client closes), not left to time out. A POST
# is not sent again: it fails as reset, and the close is counted all the same.
cat >"$TMP/linger.py" <<'PY'
import socket, sys, time
from pyserve import listen, serve_each, read_head
ls = listen(sys.argv[1])
def serve(c):
    try:
        if read_head(c) is None: return
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        c.settimeout(0.05)
        end = time.time() + 2
        while time.time() < end:
            try:
                if not c.recv(65536): break
            except socket.timeout: pass
    except OSError:
        pass
    finally:
        c.close()
serve_each(ls, serve, 15)
PY
begin announced_close_pipelined_requests_sent_again_at_once
py_server "$TMP/linger.py"
bar -q --json "$J" -c 2 -t 1 --pipeline 4 -n 20 --timeout 1s "http://127.0.0.1:$PY_PORT/"
expect_rc 0
expect_le "wall-clock seconds" "$BAR_WALL" 1.5
expect_json "$J" requests.ok 20
expect_json "$J" requests.failed 0
expect_json "$J" connections.closed_by_server 20
expect_gt "connections.retried_requests" "$(json_get "$J" connections.retried_requests)" 0
expect_accounting "$J"
bar -q --json "$J" -c 1 -t 1 --pipeline 4 -n 8 --timeout 1s -m POST -b x "http://127.0.0.1:$PY_PORT/"
kill "$SPAWNED_PID" 2>/dev/null; wait "$SPAWNED_PID" 2>/dev/null
expect_rc 0
expect_le "wall-clock seconds (POST)" "$BAR_WALL" 1.5
expect_json "$J" errors.timeout 0
expect_json "$J" connections.retried_requests 0
expect_json "$J" 'j["requests"]["ok"] + j["errors"]["reset"]' 8
expect_json "$J" connections.closed_by_server "$(json_get "$J" requests.ok)"
expect_accounting "$J"
end

# The path and query go out as given
begin path_and_query_sent_verbatim
capture_path='/echo/a%20b?x=1&y=two'
rm -f "$TMP/cap.port" "$TMP/cap.req"
spawn "$PY" -S "$TMP/capture.py" "$TMP/cap.req" "$TMP/cap.port"
for ((i = 0; i < 100; i++)); do [ -s "$TMP/cap.port" ] && break; sleep 0.05; done
bar -q -c 1 -t 1 -n 1 --timeout 5s "http://127.0.0.1:$(cat "$TMP/cap.port")$capture_path"
kill "$SPAWNED_PID" 2>/dev/null; wait "$SPAWNED_PID" 2>/dev/null
expect_rc 0
expect_ok "captured request" check_request "$TMP/cap.req" "lines[0] == b'GET $capture_path HTTP/1.1'"
end

# ---- the keep-alive race: a server closes a reused connection without saying so while the
# next request is on its way. Such requests were never answered, and are sent again on a new
# connection (RFC 9112 9.3.2); nothing fails, and the server answers exactly N. (The python
# server closes gracefully, so that no answer it sent can be lost to its own RST.)
cat >"$TMP/drop.py" <<'PY'
import socket, struct, sys, threading, time
from pyserve import listen, serve_each, read_head
k, how, countfile = int(sys.argv[2]), sys.argv[3], sys.argv[4]
ls = listen(sys.argv[1])
lock = threading.Lock(); answered = [0]
def serve(c):
    c.settimeout(10); buf = b""; n = 0
    try:
        while n < k:
            got = read_head(c, buf)
            if got is None: return
            buf = got[1]
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            n += 1
            with lock:
                answered[0] += 1
                open(countfile, "w").write(str(answered[0]))
        if how == "rst":   # let the last answer arrive, then close with an RST
            time.sleep(0.05)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:              # FIN after the last answer; read (never answer) what follows
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
    except OSError:
        pass
    finally:
        c.close()
serve_each(ls, serve, 20)
PY
race() {  # name K fin|rst N [barrage flags]
    local name=$1 k=$2 how=$3 n=$4
    shift 4
    begin "$name"
    rm -f "$TMP/drop.count"
    py_server "$TMP/drop.py" "$k" "$how" "$TMP/drop.count"
    bar -q --json "$J" -n "$n" --timeout 3s "$@" "http://127.0.0.1:$PY_PORT/"
    sleep 0.1
    kill "$SPAWNED_PID" 2>/dev/null; wait "$SPAWNED_PID" 2>/dev/null
    expect_rc 0
    expect_le "wall-clock seconds" "$BAR_WALL" 10
    expect_json "$J" requests.issued "$n"
    expect_json "$J" requests.ok "$n"
    expect_json "$J" requests.failed 0
    expect_num_eq "responses the server sent" "$(cat "$TMP/drop.count" 2>/dev/null)" "$n"
    expect_gt "connections.retried_requests" "$(json_get "$J" connections.retried_requests)" 0
    expect_ge "connections.opened" "$(json_get "$J" connections.opened)" $((n / k))
    expect_accounting "$J"
    end
}
race keepalive_race_fin 5 fin 100 -c 2 -t 1
race keepalive_race_rst 5 rst 100 -c 2 -t 1
race keepalive_race_pipelined 3 fin 90 -c 1 -t 1 --pipeline 4
# A server that resets each connection 50 ms after its one answer, while it is idle (-R 10
# on 2 connections: a request every 200 ms each): every reset is a close by the server,
# counted as a FIN would be (it was counted nowhere).
begin idle_reset_counted_as_server_close
rm -f "$TMP/drop.count"
py_server "$TMP/drop.py" 1 rst "$TMP/drop.count"
bar -q --json "$J" -R 10 -c 2 -t 1 -d 1s --timeout 3s "http://127.0.0.1:$PY_PORT/"
kill "$SPAWNED_PID" 2>/dev/null; wait "$SPAWNED_PID" 2>/dev/null
expect_rc 0
expect_json "$J" requests.failed 0
expect_ge "connections.closed_by_server" "$(json_get "$J" connections.closed_by_server)" \
    "$(json_get "$J" 'j["requests"]["ok"] - 2')"
expect_accounting "$J"
end
# (barrage serve --drop-after, the same race on the built-in target: 45_keepalive_close.sh)

# A link-local IPv6 target names its interface in the URL (RFC 6874: [fe80::1%25lo]); the
# zone is used to connect and left out of Host. It could not be resolved ("::1%lo": Name or
# service not known, as the zone went to the resolver still percent-encoded). Run in a
# network namespace of its own, whose loopback gets fe80::1.
if ! command -v ip >/dev/null || ! unshare -n true 2>/dev/null; then
    echo "SKIP ipv6_link_local_zone: no network namespaces or no ip(8) here"
else
begin ipv6_link_local_zone
timeout -k 2 20 unshare -n bash -c '
    ip link set lo up && ip addr add fe80::1/64 dev lo nodad || exit 9
    "$0" serve --host "fe80::1%lo" --port-file "$1/ll.port" --quiet & s=$!
    for i in $(seq 50); do [ -s "$1/ll.port" ] && break; sleep 0.05; done
    "$0" -t 1 -c 2 -n 20 -q --json "$1/ll.json" "http://[fe80::1%25lo]:$(cat "$1/ll.port")/"; rc=$?
    "$0" -t 1 -c 1 -n 1 -q "http://[fe80::1]:$(cat "$1/ll.port")/"; echo "no zone: $?"
    kill $s; exit $rc' "$BARRAGE" "$TMP" >"$BAR_OUT" 2>"$BAR_ERR" </dev/null
BAR_RC=$?
expect_rc 0
expect_json "$TMP/ll.json" requests.ok 20
expect_accounting "$TMP/ll.json"
expect_grep "no zone refused" "host 'fe80::1' is link-local: name its interface" "$BAR_ERR"
expect_grep "no zone exit status" '^no zone: 2$' "$BAR_OUT"
end
fi
