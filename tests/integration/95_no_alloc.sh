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
