#!/usr/bin/env bash
# Runs every test and prints "N passed, N failed" last.
#   unit:        build/unit/test_* and the same under ASan+UBSan (build/asan/test_*)
#   fuzz:        every build/fuzz/fuzz_* (the response parser for FUZZ_SECONDS, default 30)
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
    grep '^SKIP' "$out" | sed 's/^/    /'  # a test that could not run says so
    if [ "$f" -gt 0 ]; then grep -E '^(FAIL|  )' "$out" | head -20 | sed 's/^/    /'; fi
}

for t in build/unit/test_*; do [ -x "$t" ] && run_one "unit/${t##*/}" 120 "$t"; done
for t in build/asan/test_*; do [ -x "$t" ] && run_one "asan/${t##*/}" 300 "$t"; done

# Each fuzzer (build/fuzz/fuzz_NAME, seeds in tests/fuzz/seeds/NAME): the response parser
# gets FUZZ_SECONDS, the smaller parsers a quarter of it (ten of them: about 80 s in all).
fuzz_one() {  # name seconds
    mkdir -p "build/fuzz/corpus/$1"
    if "build/fuzz/fuzz_$1" -max_total_time="$2" -print_final_stats=0 \
         "build/fuzz/corpus/$1" "tests/fuzz/seeds/$1"; then
        echo "PASS fuzz_$1 ($2s)"
    else
        echo "FAIL fuzz_$1: crash, see build/test-logs"
    fi
}
export -f fuzz_one
for f in build/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    n=${f##*/fuzz_} secs=${FUZZ_SECONDS:-30}
    [ "$n" = http_parse ] || secs=$(( (secs + 3) / 4 ))
    run_one "fuzz/$n" $(( secs + 60 )) bash -c "fuzz_one $n $secs"
done

for t in tests/integration/[0-9]*.sh; do [ -f "$t" ] && run_one "integration/${t##*/}" 300 bash "$t"; done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
