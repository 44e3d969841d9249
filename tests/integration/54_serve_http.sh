#!/usr/bin/env bash
# The built-in target as an HTTP/1.1 server, over raw sockets, where barrage's own runs would
# not notice: what it may send an HTTP/1.0 client, a client's FIN that comes with its last
# bytes, and a client that uploads to /echo without reading the answer.
source "$(dirname "$0")/lib.sh"

# raw PY-CODE: runs python with `port` set and send(bytes) -> (head, body) of one response
# read to the close; prints what the code prints
raw() {
    "$PY" -S - "$TARGET_PORT" <<EOF
import socket, sys
port = int(sys.argv[1])
def send(data):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(data)
    buf = b""
    while True:
        d = s.recv(65536)
        if not d: break
        buf += d
    s.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    return head.decode(), body
$1
EOF
}

# An HTTP/1.0 client gets neither chunked framing nor 1xx responses (RFC 9112 6.1, RFC 9110
# 15.2), and its Expect: 100-continue is ignored (RFC 9110 10.1.1).
begin serve_http10_no_chunked_no_interim
start_target --chunked --body-size 7
out=$(raw '
checks = []
h, b = send(b"GET /chunked/4 HTTP/1.0\r\n\r\n")
checks.append(("/chunked/4", "Transfer-Encoding" not in h and "Content-Length: 4" in h and len(b) == 4))
h, b = send(b"GET / HTTP/1.0\r\n\r\n")  # --chunked: the default answer is chunked to 1.1 only
checks.append(("/ with --chunked", "Transfer-Encoding" not in h and "Content-Length: 7" in h and len(b) == 7))
h, b = send(b"GET /status/103 HTTP/1.0\r\n\r\n")
checks.append(("/status/103", h.startswith("HTTP/1.1 200 ") and h.count("HTTP/1.1") == 1 and b"HTTP/1.1" not in b))
h, b = send(b"POST /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi")
checks.append(("Expect", h.startswith("HTTP/1.1 200 ") and b == b"hi"))
h, b = send(b"GET /status/205 HTTP/1.1\r\nConnection: close\r\n\r\n")  # no content (RFC 9110 15.3.6)
checks.append(("/status/205", "Content-Length: 0" in h and b == b""))
h, b = send(b"GET /chunked/4 HTTP/1.1\r\nConnection: close\r\n\r\n")  # 1.1 still chunked
checks.append(("/chunked/4 over 1.1", "Transfer-Encoding: chunked" in h))
print(" ".join(name for name, ok in checks if not ok) or "ok")
')
stop_target
expect_eq "responses not fit for HTTP/1.0" "$out" ok
end

# A client that sends its request (whole or not) and closes at once: its FIN comes with
# the bytes, and the server must still see it and close (connections were left in
# CLOSE_WAIT, one descriptor each, for as long as the server ran).
begin serve_client_close_with_last_bytes
start_target
raw '
import time
for data in [b"GET /hang HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x"] * 25:
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(data)
    s.close()
for _ in range(10):  # and a half-close after a whole request: answered, then closed
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(b"GET / HTTP/1.1\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536): pass
    s.close()
'
sleep 0.5
expect_num_eq "server sockets in CLOSE_WAIT" "$(ss -Htn state close-wait "( sport = :$TARGET_PORT )" | wc -l)" 0
expect_le "server descriptors (a fresh target holds about 10)" "$(ls /proc/"$TARGET_PID"/fd | wc -l)" 20
stop_target
end

# An upload to /echo from a client that never reads the echo: the server stops reading too
# (its RSS grew by the upload's size, without bound).
begin serve_echo_back_pressure
start_target
rss_before=$(awk '/^VmRSS/ {print $2}' /proc/"$TARGET_PID"/status)
sent=$(raw '
import time
s = socket.create_connection(("127.0.0.1", port), 5)
s.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: 1099511627776\r\n\r\n")
s.settimeout(0.5)  # a send that waits that long: the server has stopped reading
sent, chunk, end = 0, b"x" * 131072, time.time() + 3
try:
    while time.time() < end and sent < 300 << 20:
        s.sendall(chunk)
        sent += len(chunk)
        time.sleep(0.001)  # pieces apart, each its own readable event
except socket.timeout:
    pass
print(sent)
s.close()
')
rss_after=$(awk '/^VmRSS/ {print $2}' /proc/"$TARGET_PID"/status)
stop_target
expect_le "bytes the server took before it stopped reading" "$sent" $((64 << 20))
expect_le "server RSS growth (KiB)" "$((rss_after - rss_before))" $((32 << 10))
end

# A chunked request body (RFC 9112 7.1: an HTTP/1.1 server must read one; curl -T -, Python's
# requests with a generator, Go with a body of unknown length send them): /echo streams it
# back chunked, other routes answer once it has ended, the connection stays usable. Codings
# it cannot decode, chunked from HTTP/1.0 or beside a Content-Length are refused and the
# connection closed. (Every chunked body was answered 400.)
begin serve_chunked_request_body
start_target
out=$(raw '
checks = []
def get(data):  # one response (or more) on a connection closed by the last request
    return send(data + b"GET /bytes/2 HTTP/1.1\r\nConnection: close\r\n\r\n")
h, b = get(b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
checks.append(("echo", h.startswith("HTTP/1.1 200 ") and "Transfer-Encoding: chunked" in h and
               b == b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nHe"))
h, b = get(b"POST /bytes/3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
checks.append(("/bytes/3", h.startswith("HTTP/1.1 200 ") and b.startswith(b"Hel") and b.endswith(b"He")))
h, b = send(b"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
checks.append(("gzip", h.startswith("HTTP/1.1 501 ")))
for name, te in (("HTTP/1.0", b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"),
                 ("with a length", b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
                 ("bad size", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz")):
    h, b = send(te + b"\r\n0\r\n\r\n")
    checks.append((name, h.startswith("HTTP/1.1 400 ") and b"HTTP" not in b))
print(" ".join(name for name, ok in checks if not ok) or "ok")
')
stop_target
expect_eq "chunked request bodies" "$out" ok
end
