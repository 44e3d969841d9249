#!/usr/bin/env bash
# Runs every test and prints "N passed, N failed" last.
#   unit:        build/unit/test_* and the same under ASan+UBSan (build/asan/test_*)
#   fuzz:        the response-parser fuzzer for FUZZ_SECONDS (default 30)
#   integration: tests/integration/*.sh against the built-in target and nginx
# Each program prints "PASS name" / "FAIL name: why" lines; a program that exits
# non-zero without printing a FAIL line counts as one failure.
# TESTS=pattern runs only the matching programs.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0
log=build/test-logs
mkdir -p "$log"

run_one() {  # name, timeout seconds, command...
    local name=$1 limit=$2; shift 2
    if [ -n "${TESTS:-}" ] && [[ "$name" != *$TESTS* ]]; then return; fi
    local out="$log/${name//\//_}.log" rc
    timeout -k 5 "$limit" "$@" >"$out" 2>&1; rc=$?
    local p f
    p=$(grep -c '^PASS ' "$out"); f=$(grep -c '^FAIL ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1; echo "FAIL $name: exited $rc$([ $rc -eq 124 ] && echo ' (timed out)')" >>"$out"
    fi
    passed=$((passed + p)); failed=$((failed + f))
    printf '%-44s %3d passed %3d failed\n' "$name" "$p" "$f"
    if [ "$f" -gt 0 ]; then grep -E '^(FAIL|  )' "$out" | head -20 | sed 's/^/    /'; fi
}

for t in build/unit/test_*; do [ -x "$t" ] && run_one "unit/${t##*/}" 120 "$t"; done
for t in build/asan/test_*; do [ -x "$t" ] && run_one "asan/${t##*/}" 300 "$t"; done

fuzz_parser() {
    mkdir -p build/fuzz/corpus
    if build/fuzz/fuzz_http_parse -max_total_time="${FUZZ_SECONDS:-30}" -print_final_stats=0 \
         build/fuzz/corpus tests/fuzz/seeds; then
        echo "PASS fuzz_http_parse (${FUZZ_SECONDS:-30}s)"
    else
        echo "FAIL fuzz_http_parse: crash, see build/test-logs"
    fi
}
export -f fuzz_parser
[ -x build/fuzz/fuzz_http_parse ] && run_one fuzz/http_parse $(( ${FUZZ_SECONDS:-30} + 60 )) bash -c fuzz_parser

for t in tests/integration/[0-9]*.sh; do [ -f "$t" ] && run_one "integration/${t##*/}" 300 bash "$t"; done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
