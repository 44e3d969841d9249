#!/usr/bin/env bash
# https:// against nginx: certificate verification (CA, host name, --insecure, client
# certificates), session resumption with TLS 1.2 and 1.3, version limits, a server closing
# keep-alive connections, a port that does not speak TLS, and keep-alive throughput.
# Certificates are made here with the openssl CLI; nginx logs each request's protocol and
# whether its session was reused, so versions and resumption are checked on both sides.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tls_lib.sh"
J=$TMP/t.json

if ! have_nginx; then
    echo "SKIP tls: nginx is not installed ($NGINX); apt-get install nginx-light"
    exit 0
fi
if ! command -v openssl >/dev/null; then
    echo "SKIP tls: the openssl command is not installed"
    exit 0
fi
CERTS=$TMP/certs
make_certs "$CERTS" || { echo "FAIL tls_certs: openssl could not make the test certificates"; exit 1; }
start_tls_nginx "$CERTS" || { echo "FAIL tls_nginx_start: nginx did not start"; exit 1; }
CA=(--cacert "$CERTS/ca.pem")
U=https://127.0.0.1

# tls_checks FILE: accounting, one histogram sample per handshake, errors.tls made of the
# reasons, and every opened connection handshaken at most once.
tls_checks() {
    expect_accounting "$1"
    expect_json "$1" tls.handshake_full_us.count "$(json_get "$1" tls.handshakes_full)"
    expect_json "$1" tls.handshake_resumed_us.count "$(json_get "$1" tls.handshakes_resumed)"
    expect_json "$1" tls.handshake_us.count \
        "$(json_get "$1" 'j["tls"]["handshakes_full"] + j["tls"]["handshakes_resumed"]')"
    expect_json "$1" errors.tls "$(json_get "$1" 'sum(j["tls"]["errors"].values())')"
    expect_le "handshakes (full + resumed)" \
        "$(json_get "$1" 'j["tls"]["handshakes_full"] + j["tls"]["handshakes_resumed"]')" \
        "$(json_get "$1" connections.opened)"
}

# expect_reason FILE REGEX: some TLS error reason in the JSON, and the console's Errors
# section, matches REGEX (extended, case-insensitive)
expect_reason() {
    local reasons
    reasons=$(json_get "$1" 'chr(10).join(j["tls"]["errors"])')
    grep -Eqi -- "$2" <<<"$reasons" || _err "no TLS error reason matches /$2/: '${reasons//$'\n'/ | }'"
    grep -Eqi -- "^ +tls: .*($2).*: [0-9]+$" "$BAR_OUT" ||
        _err "console: no 'tls: REASON: N' line matches /$2/"
}

# expect_failed_tls FILE: a run where no request got through and TLS is why
expect_failed_tls() {
    expect_json "$1" requests.ok 0
    expect_gt "errors.tls" "$(json_get "$1" errors.tls)" 0
    expect_json "$1" tls.handshakes_full 0
    expect_json "$1" tls.handshakes_resumed 0
    expect_json_str "$1" status '{}'
    tls_checks "$1"
}

# log_count REGEX: access-log lines that match (after waiting for WANT lines, if given)
log_count() {
    [ -n "${2:-}" ] && access_log_lines "$2" >/dev/null
    grep -Ec -- "$1" "$NGINX_LOG"
}

# expect_resumption FILE PORT PROTO: a --no-keepalive run resumed > 90% of its handshakes,
# few were full, and nginx saw PROTO on every request and reused sessions on > 90% of them
expect_resumption() {
    local full resumed ok lines
    full=$(json_get "$1" tls.handshakes_full)
    resumed=$(json_get "$1" tls.handshakes_resumed)
    ok=$(json_get "$1" requests.ok)
    expect_json "$1" requests.failed 0
    expect_gt "requests.ok" "$ok" 200
    expect_gt "resumed / handshakes" "$("$PY" -S -c "print($resumed / max(1, $full + $resumed))")" 0.9
    expect_le "handshakes_full" "$full" 8
    expect_ge "handshake_resumed_us.p50" "$(json_get "$1" tls.handshake_resumed_us.p50)" 1
    lines=$(access_log_lines "$ok")
    expect_range "nginx log lines" "$lines" "$ok" "$(json_get "$1" requests.issued)"
    expect_num_eq "nginx lines not on port $2 with $3" "$(grep -Evc "^$2 $3 [r.] 200$" "$NGINX_LOG")" 0
    expect_gt "nginx: reused sessions / requests" \
        "$("$PY" -S -c "print($(log_count "^$2 $3 r 200$") / max(1, $lines))")" 0.9
    tls_checks "$1"
}

# ---------------------------------------------------------------- verification

for host in 127.0.0.1 localhost; do
    begin "tls_verify_cacert_$host"
    : >"$NGINX_LOG"
    bar --json "$J" "${CA[@]}" -t 1 -c 4 -n 2000 --timeout 5s "https://$host:$TLS_PORT_ALL/"
    expect_rc 0
    expect_json "$J" requests.issued 2000
    expect_json "$J" requests.ok 2000
    expect_json "$J" requests.failed 0
    expect_json "$J" errors.tls 0
    expect_json_str "$J" status '{"200":2000}'
    expect_json "$J" connections.opened 4
    expect_json "$J" tls.handshakes_full 4   # opened together: no ticket yet to resume
    expect_json "$J" tls.handshake_full_us.count 4
    expect_gt "handshake_full_us.min" "$(json_get "$J" tls.handshake_full_us.min)" 0
    expect_json_str "$J" tls.errors '{}'
    expect_grep "console TLS line" '^ +TLS +4 full handshakes, 0 resumed' "$BAR_OUT"
    expect_num_eq "nginx log lines" "$(access_log_lines 2000)" 2000
    expect_num_eq "nginx TLS log lines" "$(log_count "^$TLS_PORT_ALL TLSv1\.[23] [r.] 200$")" 2000
    tls_checks "$J"
    end
done

# No --cacert: the system store does not know the test CA. Each failed handshake is one
# failed request, and the connection backs off (10 ms doubling): about 7 tries each in 1 s.
begin tls_unknown_ca_fails
bar --json "$J" -t 1 -c 2 -d 1s --timeout 2s "$U:$TLS_PORT_ALL/"
expect_failed_tls "$J"
expect_reason "$J" 'certificate verify failed'
expect_range "errors.tls (backing off)" "$(json_get "$J" errors.tls)" 4 30
expect_json "$J" requests.issued "$(json_get "$J" 'j["errors"]["tls"] + j["requests"]["in_flight"]')"
expect_le "wall seconds" "$BAR_WALL" 3
end

# --find-limit where no handshake can succeed: the search stops at its first step (or the
# probe) and says why in barrage's words, as for refused connects, instead of halving the
# rate step after step at 100% errors and "is the server up?".
begin tls_find_limit_unknown_ca_says_why
bar --json "$J" --find-limit --start-rate 200 --step-duration 300ms -t 1 -c 2 "$U:$TLS_PORT_ALL/"
expect_rc 1
expect_grep "the TLS reason" \
    '^barrage: --find-limit: no responses from https://127.0.0.1:[0-9]+/, [0-9]+ failed: tls: certificate verify failed' \
    "$BAR_ERR"
expect_json "$J" 'len(j["find_limit"]["steps"])' 0
expect_le "wall seconds" "$BAR_WALL" 3
bar --find-limit --step-duration 300ms -t 1 -c 2 "$U:$TLS_PORT_ALL/"
expect_rc 1
expect_grep "the probe's TLS reason" \
    '^barrage: --find-limit: the probe got no responses from https://127.0.0.1:[0-9]+/, [0-9]+ failed: tls: certificate verify failed' \
    "$BAR_ERR"
expect_no_grep "the server is up" 'is the server up' "$BAR_ERR"
end

# A server that takes the connection and never answers the ClientHello, -d shorter than
# --timeout: each connection's request waits on its handshake at the stop, so it is in
# flight, waiting for its connection, with its age, as in open loop; not "0 issued".
begin tls_handshake_pending_at_stop_in_flight
cat >"$TMP/mute.py" <<'PY'
import sys, time
from pyserve import listen, serve_each
serve_each(listen(sys.argv[1]), lambda c: time.sleep(10), 5)
PY
py_server "$TMP/mute.py"
MUTE_PID=$SPAWNED_PID
bar --json "$J" "${CA[@]}" -t 1 -c 2 -d 1s --timeout 5s "$U:$PY_PORT/"
_kill_wait "$MUTE_PID"
expect_rc 0
expect_le "wall seconds" "$BAR_WALL" 2.5
expect_json "$J" requests.issued 2
expect_json "$J" requests.in_flight 2
expect_json "$J" requests.queued_at_stop 2
expect_json "$J" requests.failed 0
expect_gt "in_flight_age_us.max" "$(json_get "$J" in_flight_age_us.max)" 800000
expect_grep "console" '^  Requests +2 issued = 0 ok \+ 0 failed \+ 2 in flight at stop \(2 of them waiting for a connection\)' \
    "$BAR_OUT"
tls_checks "$J"
end

# A certificate for other.example, signed by the trusted CA, at 127.0.0.1; --sni names the
# certificate's host, but verification is still against the URL's.
for sni in "" other.example; do
    begin "tls_wrong_host_fails${sni:+_sni_$sni}"
    bar --json "$J" "${CA[@]}" ${sni:+--sni "$sni"} -t 1 -c 2 -d 1s --timeout 2s "$U:$TLS_PORT_OTHER/"
    expect_failed_tls "$J"
    expect_reason "$J" 'mismatch'
    expect_reason "$J" '127\.0\.0\.1|other\.example'
    end
done

# Matching names pass: localhost to the localhost certificate with --sni (and the system
# store stays out of it: --cacert only).
begin tls_sni_with_matching_host
: >"$NGINX_LOG"
bar --json "$J" "${CA[@]}" --sni localhost -t 1 -c 2 -n 500 --timeout 5s "$U:$TLS_PORT_ALL/"
expect_json "$J" requests.ok 500
expect_json "$J" errors.tls 0
tls_checks "$J"
end

for port in ALL OTHER; do
    begin "tls_insecure_${port,,}"
    p=TLS_PORT_$port
    bar --json "$J" --insecure -t 1 -c 2 -n 1000 --timeout 5s "$U:${!p}/"
    expect_rc 0
    expect_json "$J" requests.ok 1000
    expect_json "$J" requests.failed 0
    expect_json "$J" tls.handshakes_full 2
    tls_checks "$J"
    end
done

# Client certificates. nginx's ssl_verify_client lets the handshake finish without one and
# answers 400 "No required SSL certificate was sent": status errors, nothing ok.
begin tls_client_cert_missing_nginx_400
: >"$NGINX_LOG"
bar --json "$J" "${CA[@]}" -t 1 -c 2 -d 1s --timeout 2s "$U:$TLS_PORT_CLIENT/"
failed=$(json_get "$J" requests.failed)
expect_json "$J" requests.ok 0
expect_gt "requests.failed" "$failed" 0
expect_json "$J" errors.status "$failed"
expect_json_str "$J" status "{\"400\":$failed}"
access_log_lines "$failed" >/dev/null
expect_num_eq "nginx lines other than 400" "$(grep -vc ' 400$' "$NGINX_LOG")" 0
tls_checks "$J"
end

# openssl s_server -Verify 1 fails the handshake itself: TLS 1.2 in the handshake, TLS 1.3
# with an alert after the client's Finished (read with the first response). Either way a
# tls error whose reason says to give --cert and --key, and no response.
SS_PORT=$(free_port)
spawn openssl s_server -quiet -accept "127.0.0.1:$SS_PORT" -www -Verify 1 \
    -CAfile "$CERTS/client-ca.pem" -cert "$CERTS/server.pem" -key "$CERTS/server.key" \
    >"$TMP/s_server.out" 2>&1 </dev/null
SS_PID=$SPAWNED_PID
for ((i = 0; i < 100; i++)); do
    "$PY" -S -c "import socket; socket.create_connection(('127.0.0.1', $SS_PORT), 0.5)" 2>/dev/null && break
    sleep 0.05
done
for proto in 1.2 1.3; do
    begin "tls_client_cert_missing_handshake_fails_$proto"
    bar --json "$J" "${CA[@]}" --tls-min "$proto" --tls-max "$proto" -t 1 -c 1 -d 1s --timeout 2s \
        "$U:$SS_PORT/"
    expect_json "$J" requests.ok 0
    # one connection backing off 10 ms, 20 ms, ... tries about 7 times in 1 s (TLS 1.3 refuses
    # after the client's handshake ended: without the backoff that was a storm of ~1,300)
    expect_range "errors.tls" "$(json_get "$J" errors.tls)" 1 40
    expect_json "$J" requests.failed "$(json_get "$J" errors.tls)"
    expect_json_str "$J" status '{}'
    expect_reason "$J" "$([ "$proto" = 1.2 ] && echo 'handshake failure' || echo 'certificate required')"
    expect_reason "$J" 'give --cert and --key'
    tls_checks "$J"
    end
done
_kill_wait "$SS_PID"

begin tls_client_cert_required_given
: >"$NGINX_LOG"
bar --json "$J" "${CA[@]}" --cert "$CERTS/client.pem" --key "$CERTS/client.key" \
    -t 1 -c 2 -n 1000 --timeout 5s "$U:$TLS_PORT_CLIENT/"
expect_rc 0
expect_json "$J" requests.ok 1000
expect_json "$J" requests.failed 0
expect_num_eq "nginx 200 lines" "$(log_count " 200$" 1000)" 1000
tls_checks "$J"
end

# ---------------------------------------------------------------- resumption and versions

# name port proto [flags]: a connection per request, 4 at a time, for 1.5 s
resume_run() {
    local name=$1 port=$2 proto=$3
    shift 3
    begin "$name"
    : >"$NGINX_LOG"
    bar --json "$J" "${CA[@]}" --no-keepalive -t 1 -c 4 -d 1.5s --timeout 5s "$@" "$U:$port/"
    expect_rc 0
    expect_resumption "$J" "$port" "$proto"
    # the version agreed, as nginx logged it, and a cipher, in the JSON and the console
    expect_json_str "$J" tls.version "TLS 1.${proto: -1}"
    expect_grep "console TLS line" "^ +TLS +[0-9]+ full handshakes, [0-9]+ resumed; TLS 1\\.${proto: -1}, [A-Z][A-Z0-9_-]+\$" "$BAR_OUT"
    end
}
resume_run tls_resumption "$TLS_PORT_ALL" 'TLSv1\.3'
# Over TLS 1.3 a new connection takes two sends: its ClientHello, then its Finished with
# the first request (a send of its own for the Finished would make three).
begin tls13_new_connection_two_sends
bar --json "$J" "${CA[@]}" --no-keepalive --tls-min 1.3 -t 1 -c 4 -n 300 --timeout 5s "$U:$TLS_PORT_ALL/"
expect_rc 0
expect_json "$J" requests.ok 300
expect_json "$J" connections.opened 300  # none opened past the budget
expect_le "client.sends" "$(json_get "$J" client.sends)" "$((2 * $(json_get "$J" connections.opened)))"
expect_ge "client.sends" "$(json_get "$J" client.sends)" 600
end
resume_run tls12_only_server_resumes "$TLS_PORT_12" 'TLSv1\.2'
resume_run tls_max_12_resumes "$TLS_PORT_ALL" 'TLSv1\.2' --tls-max 1.2
resume_run tls13_only_server_resumes "$TLS_PORT_13" 'TLSv1\.3'
resume_run tls_min_13_resumes "$TLS_PORT_ALL" 'TLSv1\.3' --tls-min 1.3

# Connections started together that do as many requests each reconnect together, in waves,
# and a TLS 1.3 ticket resumes once: each connection of a wave needs one. Only the first
# wave is full (with 16 sessions kept a worker, 3 in 4 of each later wave's 64 were full).
begin tls13_reconnect_waves_resume
: >"$NGINX_LOG"
bar --json "$J" "${CA[@]}" --tls-min 1.3 --requests-per-conn 5 -t 1 -c 64 -d 1.5s --timeout 5s "$U:$TLS_PORT_ALL/"
expect_rc 0
expect_json "$J" requests.failed 0
expect_gt "connections.opened (waves)" "$(json_get "$J" connections.opened)" 192
expect_le "handshakes_full" "$(json_get "$J" tls.handshakes_full)" 68
expect_gt "resumed / handshakes after the first wave" \
    "$(json_get "$J" 'j["tls"]["handshakes_resumed"] / max(1, j["tls"]["handshakes_full"] + j["tls"]["handshakes_resumed"] - 64)')" 0.95
tls_checks "$J"
end

for proto in 1.2 1.3; do
    begin "tls_no_resume_$proto"
    : >"$NGINX_LOG"
    bar --json "$J" "${CA[@]}" --no-resume --tls-min "$proto" --tls-max "$proto" --no-keepalive \
        -t 1 -c 4 -d 1s --timeout 5s "$U:$TLS_PORT_ALL/"
    expect_rc 0
    ok=$(json_get "$J" requests.ok)
    expect_gt "requests.ok" "$ok" 100
    expect_json "$J" requests.failed 0
    expect_json "$J" tls.handshakes_resumed 0
    expect_ge "handshakes_full" "$(json_get "$J" tls.handshakes_full)" "$ok"
    lines=$(access_log_lines "$ok")
    expect_num_eq "nginx log lines with a reused session" "$(log_count ' r 200$')" 0
    expect_num_eq "nginx log lines not TLSv$proto" "$(grep -Fvc " TLSv$proto " "$NGINX_LOG")" 0
    tls_checks "$J"
    end
done

begin tls_min_13_vs_12_only_server_fails
bar --json "$J" "${CA[@]}" --tls-min 1.3 -t 1 -c 2 -d 1s --timeout 2s "$U:$TLS_PORT_12/"
expect_failed_tls "$J"
expect_reason "$J" 'protocol version'
expect_le "wall seconds" "$BAR_WALL" 3
end

# ---------------------------------------------------------------- connection life

# keepalive_requests 3: nginx closes after every 3rd response, announced with Connection:
# close; pipelined, the requests sent behind the 3rd go unanswered and are sent again on
# the next connection. Every request answered once, nothing failed.
for depth in 1 4; do
    begin "tls_server_closes_every_3rd_depth$depth"
    : >"$NGINX_LOG"
    bar --json "$J" "${CA[@]}" -t 1 -c 4 -n 3000 --pipeline "$depth" --timeout 5s "$U:$TLS_PORT_CLOSE3/"
    expect_rc 0
    expect_json "$J" requests.issued 3000
    expect_json "$J" requests.ok 3000
    expect_json "$J" requests.failed 0
    expect_ge "closed_by_server" "$(json_get "$J" connections.closed_by_server)" 990
    expect_ge "connections.opened" "$(json_get "$J" connections.opened)" 1000
    expect_gt "resumed / handshakes" \
        "$(json_get "$J" 'j["tls"]["handshakes_resumed"] / (j["tls"]["handshakes_full"] + j["tls"]["handshakes_resumed"])')" 0.9
    expect_num_eq "nginx log lines (each request answered once)" "$(access_log_lines 3000)" 3000
    tls_checks "$J"
    end
done

# A plain-HTTP port: nginx answers the ClientHello with a 400 and closes. Fails at once with
# a reason, every retry too; no hang until --timeout.
begin tls_plain_http_port_fails_fast
bar --json "$J" "${CA[@]}" -t 1 -c 2 -d 2s --timeout 1s "$U:$TLS_PORT_PLAIN/"
expect_failed_tls "$J"
expect_reason "$J" 'not TLS'
expect_json "$J" errors.timeout 0
expect_json "$J" 'sum(v for k, v in j["tls"]["errors"].items() if "within --timeout" in k)' 0
expect_range "errors.tls (retried, backing off)" "$(json_get "$J" errors.tls)" 6 40
expect_range "wall seconds" "$BAR_WALL" 1.9 3.5
# each connection that failed its handshake was closed, and counted so
expect_gt "connections.opened" "$(json_get "$J" connections.opened)" 5
expect_closes_balance "$J"
end

# The same against barrage's own server, plain HTTP: it answers a ClientHello with a 400 at
# its first byte (it waited for a head that never ends, and each handshake for --timeout).
begin tls_to_builtin_plain_server_fails_fast
start_target
bar --json "$J" --insecure -t 1 -c 2 -n 10 --timeout 5s "https://127.0.0.1:$TARGET_PORT/"
stop_target
expect_failed_tls "$J"
expect_reason "$J" 'not TLS'
expect_le "wall seconds" "$BAR_WALL" 2
end

# Keep-alive throughput: two threads, each with its own TLS context.
begin tls_keepalive_throughput
bar --json "$J" "${CA[@]}" -t 2 -c 4 -d 2s --timeout 5s "$U:$TLS_PORT_ALL/"
expect_rc 0
expect_gt "requests.ok" "$(json_get "$J" requests.ok)" 1000
expect_json "$J" requests.failed 0
expect_json "$J" connections.opened 4
expect_json "$J" 'j["tls"]["handshakes_full"] + j["tls"]["handshakes_resumed"]' 4
expect_range "wall seconds" "$BAR_WALL" 1.9 4
tls_checks "$J"
end


# Open loop with more connections than the rate keeps busy: a TLS 1.3 session ticket
# reaches a connection already idle, which must not be made idle twice (it was put on the
# idle stack again, past its end: a heap overflow, an abort, no report).
begin tls_open_loop_idle_connections
bar --json "$J" "${CA[@]}" -t 1 -c 16 -R 200 -d 1500ms --timeout 5s "$U:$TLS_PORT_ALL/"
expect_rc 0
expect_range "requests.ok" "$(json_get "$J" requests.ok)" 280 301
expect_json "$J" requests.failed 0
expect_le "connections.opened" "$(json_get "$J" connections.opened)" 16
tls_checks "$J"
end

# A record that does not decrypt, sent while no request waits (20 ms after each response):
# no request fails, and each such close is counted, as bytes nobody asked for are over http
# (it was counted nowhere).
cat >"$TMP/badrec.py" <<'PY'
import os, ssl, sys, time
from pyserve import listen, serve_each, read_head
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2] + "/server.pem", sys.argv[2] + "/server.key")
ls = listen(sys.argv[1])
def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
        if read_head(t) is None: return
        t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        time.sleep(0.02)
        os.write(t.fileno(), b"\x17\x03\x03\x00\x20" + b"\x55" * 32)  # past the TLS layer
        time.sleep(1)
    except (OSError, ssl.SSLError):
        pass
    finally:
        c.close()
serve_each(ls, serve, 8)
PY
begin tls_bad_record_while_idle_counted
py_server "$TMP/badrec.py" "$CERTS"
bar --json "$J" "${CA[@]}" -t 1 -c 1 -R 10 -d 1s --timeout 5s "$U:$PY_PORT/"
kill "$SPAWNED_PID" 2>/dev/null; wait "$SPAWNED_PID" 2>/dev/null
expect_rc 0
expect_json "$J" requests.failed 0
expect_range "requests.ok" "$(json_get "$J" requests.ok)" 9 10
expect_ge "connections.closed_unsolicited" "$(json_get "$J" connections.closed_unsolicited)" 8
expect_ge "connections.closed_by_client" "$(json_get "$J" connections.closed_by_client)" \
    "$(json_get "$J" connections.closed_unsolicited)"
tls_checks "$J"
end

# bench/compare_pooling.py: one row per pooling mode, each measuring what it says: keep-alive
# opens c connections, N per connection about ok/N, a new connection per request one per
# request; over https the resumed row resumes and the full row does not.
begin compare_pooling_table
out=$TMP/pool.txt
BARRAGE=$BARRAGE timeout 60 "$PY" "$ROOT/bench/compare_pooling.py" -c 4 -d 1s -t 1 --rpc 10 \
    "$U:$TLS_PORT_ALL/" -- "${CA[@]}" >"$out" 2>&1 || _err "compare_pooling.py failed: $(tail -3 "$out")"
expect_num_eq "rows" "$(grep -Ec '^(keep-alive|10 per connection|new connection, resumed|new connection, full) ' "$out")" 4
row() { grep -E "^$1 " "$out" | sed -E "s/^$1 +//"; }  # the columns after the mode's name
# columns: req/s p50 p99 connect-p50 full-hs-p50 resumed-hs-p50 opened failed
expect_le "keep-alive opened" "$(row keep-alive | awk '{print $7}')" 4
expect_eq "keep-alive resumed hs" "$(row keep-alive | awk '{print $6}')" "-"
expect_gt "10-per-connection opened" "$(row '10 per connection' | awk '{print $7}')" 20
expect_eq "full row resumed hs" "$(row 'new connection, full' | awk '{print $6}')" "-"
expect_ne_dash() { [ "$2" != "-" ] || _err "$1 is '-'"; }
expect_ne_dash "resumed row resumed hs" "$(row 'new connection, resumed' | awk '{print $6}')"
for r in keep-alive '10 per connection' 'new connection, resumed' 'new connection, full'; do
    expect_num_eq "$r failed" "$(row "$r" | awk '{print $8}')" 0
done
end

stop_nginx
