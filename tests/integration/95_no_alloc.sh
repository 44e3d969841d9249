#!/usr/bin/env bash
# The hot path allocates nothing per request: a run of 50x more requests makes the
# same number of allocations (counted by an LD_PRELOAD shim around malloc and friends).
source "$(dirname "$0")/lib.sh"

cc -shared -fPIC -O1 -o "$TMP/count_alloc.so" "$IT_DIR/count_alloc.c" -ldl || { echo "FAIL no_alloc: shim did not build"; exit 1; }

allocs() {  # N [extra flags]: allocations of a run of N requests
    local n=$1; shift
    COUNT_ALLOC_FILE=$TMP/allocs LD_PRELOAD=$TMP/count_alloc.so \
        "$BARRAGE" -q -t 1 -c 8 -n "$n" "$@" --json "$TMP/a.json" "$TARGET_URL/" >/dev/null 2>&1
    cat "$TMP/allocs" 2>/dev/null || echo missing
}

# scenario_allocs YAML: a run of 1000 and one of 20000 requests of the scenario give the same
# number of allocations (give or take a few: stdio, the last interval), never more per request
scenario_allocs() {
    local small big
    small=$(scenario_run "$1" 1000)
    big=$(scenario_run "$1" 20000)
    stop_target
    expect_json "$TMP/s.json" requests.ok 20000
    if [[ $small =~ ^[0-9]+$ && $big =~ ^[0-9]+$ ]]; then
        expect_le "allocations with 20000 requests (1000 requests: $small)" "$big" $((small + 16))
    else
        _err "allocation counts not written: '$small' '$big'"
    fi
}
scenario_run() {  # YAML N
    COUNT_ALLOC_FILE=$TMP/allocs LD_PRELOAD=$TMP/count_alloc.so \
        "$BARRAGE" -q -t 1 -c 8 -n "$2" -s "$1" --json "$TMP/s.json" >/dev/null 2>&1
    cat "$TMP/allocs" 2>/dev/null || echo missing
}

for mode in "keepalive" "pipeline" "chunked"; do
    begin "no_allocation_per_request_$mode"
    case $mode in
        keepalive) flags=(); start_target ;;
        pipeline) flags=(--pipeline 8); start_target ;;
        chunked) flags=(); start_target --chunked ;;
    esac
    small=$(allocs 1000 "${flags[@]}")
    big=$(allocs 50000 "${flags[@]}")
    stop_target
    expect_json "$TMP/a.json" requests.ok 50000
    if [[ $small =~ ^[0-9]+$ && $big =~ ^[0-9]+$ ]]; then
        # a few allocations may differ (stdio, timing of the last interval): never per request
        expect_le "allocations with 50000 requests (1000 requests: $small)" "$big" $((small + 16))
        expect_gt "allocations counted" "$small" 0
    else
        _err "allocation counts not written: '$small' '$big'"
    fi
    end
done

# A scenario: templates rendered per request, a JSON capture and a header capture, a check
# on the body with a variable; the user's request and response buffers grow on the first
# requests only, and jansson parses into the worker's arena.
begin no_allocation_per_request_scenario
start_target --api
cat >"$TMP/scn.yaml" <<YAML
target: $TARGET_URL
users:
  - name: u
    on_start:
      - post: /api/login
        json: { user: "u\${user_id}", password: "pw-u\${user_id}" }
        capture: { token: json.access_token }
    tasks:
      - sequence:
          - post: /api/items
            headers: { Authorization: "Bearer \${token}" }
            json: { title: "t \${seq} \${rand(1,1000)}" }
            capture: { id: json.id, etag: header.ETag }
          - get: /api/items/\${id}
            headers: { Authorization: "Bearer \${token}" }
            expect: { status: 200, body_contains: "\${id}" }
YAML
scenario_allocs "$TMP/scn.yaml"
end

# A regex capture on every response (and a check with the captured value): the compiled
# regex runs in the worker's scratch, never in memory of its own per match (glibc's
# regexec allocated on every call here).
begin no_allocation_per_request_regex_capture
start_target --api
cat >"$TMP/rx.yaml" <<YAML
target: $TARGET_URL
users:
  - name: u
    on_start:
      - post: /api/login
        json: { user: "u\${user_id}", password: "pw-u\${user_id}" }
        capture: { token: 'regex:"access_token":"([^"]+)"' }
    tasks:
      - sequence:
          - post: /api/items
            headers: { Authorization: "Bearer \${token}" }
            json: { title: "t \${seq} \${rand(1,1000)}" }
            capture: { id: 'regex:"id":"([A-Za-z0-9_-]+)"' }
          - get: /api/items/\${id}
            headers: { Authorization: "Bearer \${token}" }
            capture: { title: 'regex:"title":"(t [0-9]+ [0-9]{1,4})"', whole: 'regex:^\{.*\}$' }
            expect: { status: 200, body_contains: "\${id}" }
YAML
scenario_allocs "$TMP/rx.yaml"
end

# TLS: OpenSSL's allocations go to tls/tls_alloc.c's per-thread lists, so a warmed-up worker
# asks glibc for nothing per keep-alive request (OpenSSL makes ~4 a request, and above 256
# connections a worker 4 more: the record buffers an idle connection gives back) and next to
# nothing per new connection (~650 in a resumed TLS 1.3 handshake). BARRAGE_TLS_ALLOC=glibc
# shows those numbers.
source "$IT_DIR/tls_lib.sh"
if ! have_nginx || ! command -v openssl >/dev/null; then
    echo "SKIP no_allocation_tls: needs nginx and the openssl command"
else
    make_certs "$TMP/certs" && start_tls_nginx "$TMP/certs" || { echo "FAIL no_allocation_tls: nginx did not start"; exit 1; }
    tls_allocs() {  # N [flags]: allocations of a TLS 1.3 run of N requests
        local n=$1; shift
        COUNT_ALLOC_FILE=$TMP/allocs LD_PRELOAD=$TMP/count_alloc.so \
            "$BARRAGE" -q -t 1 -c 8 -n "$n" --cacert "$TMP/certs/ca.pem" "$@" --json "$TMP/t.json" \
            "https://127.0.0.1:$TLS_PORT_13/" >/dev/null 2>&1
        cat "$TMP/allocs" 2>/dev/null || echo missing
    }

    begin no_allocation_per_request_tls_keepalive
    small=$(tls_allocs 2000)
    big=$(tls_allocs 20000)
    expect_json "$TMP/t.json" requests.ok 20000
    if [[ $small =~ ^[0-9]+$ && $big =~ ^[0-9]+$ ]]; then
        expect_le "allocations with 20000 TLS requests (2000 requests: $small)" "$big" $((small + 16))
    else
        _err "allocation counts not written: '$small' '$big'"
    fi
    end

    begin no_allocation_per_request_tls_buffers_given_back
    # 300 connections: idle ones give back their record buffers (engine/worker_state.c).
    # Connects start 16 a turn, so how many handshakes overlap (each holding its buffers,
    # more than the lists keep) varies from run to run by a few hundred allocations: full
    # handshakes all (--no-resume), and 2000 allowed. A request that allocated would add
    # 4 to 6 each, over 100,000 here.
    small=$(tls_allocs 3000 -c 300 --no-resume)
    big=$(tls_allocs 30000 -c 300 --no-resume)
    expect_json "$TMP/t.json" requests.ok 30000
    if [[ $small =~ ^[0-9]+$ && $big =~ ^[0-9]+$ ]]; then
        expect_le "allocations with 30000 TLS requests, 300 connections (3000 requests: $small)" \
            "$big" $((small + 2000))
    else
        _err "allocation counts not written: '$small' '$big'"
    fi
    end

    begin tls_new_connections_allocate_next_to_nothing
    small=$(tls_allocs 200 --no-keepalive)
    big=$(tls_allocs 1000 --no-keepalive)
    expect_json "$TMP/t.json" requests.ok 1000
    expect_gt "resumed handshakes" "$(json_get "$TMP/t.json" tls.handshakes_resumed)" 900
    if [[ $small =~ ^[0-9]+$ && $big =~ ^[0-9]+$ ]]; then
        # 800 more connections: at most 2 allocations each (glibc alone: ~650 each)
        expect_le "allocations with 1000 new TLS connections (200: $small)" "$big" $((small + 1600))
    else
        _err "allocation counts not written: '$small' '$big'"
    fi
    end
    stop_nginx
fi
