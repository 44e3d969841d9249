#!/usr/bin/env bash
# Against nginx: counts exact and equal to nginx's access log, status classes, pipelining,
# chunked bodies, and 2000 concurrent connections.
source "$(dirname "$0")/lib.sh"
J=$TMP/n.json

if ! have_nginx; then
    echo "FAIL nginx: not installed ($NGINX); apt-get install nginx-light"
    exit 1
fi
start_nginx || { echo "FAIL nginx_start: nginx did not start"; exit 1; }

# ngx NAME N PATH STATUS [barrage flags]: -n N, all answered with STATUS, N lines logged
ngx() {
    local name=$1 n=$2 path=$3 status=$4 logged
    shift 4
    begin "$name"
    : >"$NGINX_LOG"
    bar -q --json "$J" --timeout 5s -n "$n" "$@" "$NGINX_URL$path"
    expect_rc 0
    expect_json "$J" requests.issued "$n"
    expect_json "$J" requests.in_flight 0
    expect_json_str "$J" status "{\"$status\":$n}"
    if [ "$status" -lt 400 ]; then
        expect_json "$J" requests.ok "$n"
        expect_json "$J" requests.failed 0
    else
        expect_json "$J" requests.ok 0
        expect_json "$J" errors.status "$n"
        expect_json "$J" requests.failed "$n"
    fi
    logged=$(access_log_lines "$n")
    expect_num_eq "nginx access log lines" "$logged" "$n"
    expect_num_eq "nginx log lines with status $status" "$(grep -c "\" $status " "$NGINX_LOG")" "$n"
    expect_accounting "$J"
}

ngx nginx_count_exact 5000 / 200 -c 20 -t 2
expect_json "$J" connections.opened 20
end

ngx nginx_count_c1 777 / 200 -c 1 -t 1
expect_json "$J" connections.opened 1
end

ngx nginx_404 1000 /missing 404 -c 10 -t 2
end

ngx nginx_pipeline16 8000 / 200 -c 4 -t 2 --pipeline 16
expect_json "$J" connections.opened 4
end

ngx nginx_pipeline_404 1000 /missing 404 -c 2 -t 1 --pipeline 8
end

ngx nginx_static_file 1000 /file.txt 200 -c 4 -t 2
expect_ge "bytes.received" "$(json_get "$J" bytes.received)" $((1000 * 1000))
end

ngx nginx_head_static 1000 /file.txt 200 -c 4 -t 2 -m HEAD
expect_le "bytes.received (no bodies)" "$(json_get "$J" bytes.received)" $((1000 * 400))
end

# SSI drops Content-Length: the body comes chunked
ngx nginx_chunked_ssi 1000 /ssi.html 200 -c 4 -t 2
end
ngx nginx_chunked_ssi_pipelined 2000 /ssi.html 200 -c 2 -t 2 --pipeline 16
end

# gzip on the fly: chunked, and much smaller than the 20000-byte file
ngx nginx_chunked_gzip 500 /gz.txt 200 -c 4 -t 2 --pipeline 4 -H 'Accept-Encoding: gzip'
expect_le "bytes.received (compressed)" "$(json_get "$J" bytes.received)" $((500 * 5000))
end

ngx nginx_post_body 1000 / 200 -c 4 -t 2 -m POST -b 'a=1&b=2'
end

ngx nginx_no_keepalive 500 / 200 -c 4 -t 2 --no-keepalive
expect_json "$J" connections.opened 500
end

ngx nginx_requests_per_conn 1000 / 200 -c 1 -t 1 --requests-per-conn 10
expect_json "$J" connections.opened 100
end

# A 12 KiB response head: with 3000 connections on one thread the receive buffers are 1 KiB,
# so every head spans a dozen of them. bytes.received is exactly N responses.
ngx nginx_big_headers_small_buffers 6000 /big-headers 200 -c 3000 -t 1
expect_json "$J" connections.opened 3000
expect_json "$J" bytes.received $((6000 * $(response_len "$NGINX_PORT" /big-headers)))
end

ngx nginx_big_headers_pipelined 2000 /big-headers 200 -c 4 -t 2 --pipeline 8
expect_json "$J" bytes.received $((2000 * $(response_len "$NGINX_PORT" /big-headers)))
end

# 2000 connections at once, all established, none refused
begin nginx_2000_connections
: >"$NGINX_LOG"
bar -q --json "$J" -c 2000 -t 2 -d 2s "$NGINX_URL/"
expect_rc 0
expect_range "wall-clock seconds" "$BAR_WALL" 1.9 6
expect_json "$J" connections.opened 2000
expect_json "$J" connections.max_open 2000
expect_json "$J" errors.connect 0
expect_json "$J" requests.failed 0
expect_gt "requests.ok" "$(json_get "$J" requests.ok)" 2000
expect_accounting "$J"
ok=$(json_get "$J" requests.ok)
# nginx logged every answered request, and at most the ones issued
logged=$(access_log_lines "$ok")
expect_range "nginx access log lines" "$logged" "$ok" "$(json_get "$J" requests.issued)"
expect_no_grep "nginx error log" 'worker_connections are not enough|Too many open files' "$NGINX_PREFIX/logs/error.log"
end

stop_nginx
