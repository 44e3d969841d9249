#!/usr/bin/env bash
# Thresholds and grades (--threshold, --abort-on-fail, the grade): exit 0 when every
# threshold holds and 99 when one fails, the summary's Thresholds block and Grade line, the
# JSON "thresholds"/"grade", per-step thresholds on a scenario, stopping early, bad input.
# The target delays /delay/20 by 20 ms, so p99 sits near 20 ms and thresholds either side
# of it pass or fail for sure.
source "$(dirname "$0")/lib.sh"
BAR_LIMIT=20

start_target

begin thresholds_pass_exit_0
bar -q -t 1 -c 4 -d 1500ms --json "$TMP/a.json" --threshold 'p99<500ms' --threshold 'errors<1%' \
    --threshold 'rps>10' --threshold 'max<2s' --threshold 'p50>=15ms' "$TARGET_URL/delay/20"
expect_rc 0
expect_grep "Thresholds block" '^  Thresholds +p99<500ms +[0-9.]+ms +pass$' "$BAR_OUT"
expect_grep "errors line" '^ +errors<1% +0% +pass$' "$BAR_OUT"
expect_grep "rps line" '^ +rps>10 +[0-9]+ req/s +pass$' "$BAR_OUT"
expect_no_grep "no failure" 'FAIL' "$BAR_OUT"
expect_grep "grade A" '^  Grade +A: p99 [0-9.]+ms is within 500ms and errors 0% within 1%$' "$BAR_OUT"
expect_json_str "$TMP/a.json" 'len(j["thresholds"])' 5
expect_json_str "$TMP/a.json" 'j["thresholds"][0]["expr"]' 'p99<500ms'
expect_range "p99 value (us)" "$(json_get "$TMP/a.json" 'j["thresholds"][0]["value"]')" 19000 60000
expect_json_str "$TMP/a.json" 'all(t["passed"] for t in j["thresholds"])' true
expect_json_str "$TMP/a.json" thresholds_passed true
expect_json_str "$TMP/a.json" stopped_early None
expect_json_str "$TMP/a.json" grade.grade A
expect_accounting "$TMP/a.json"
end

begin thresholds_fail_exit_99
bar -q -t 1 -c 4 -d 1500ms --json "$TMP/b.json" --threshold 'p99<5ms' --threshold 'errors<1%' \
    --threshold 'rps>1000000' "$TARGET_URL/delay/20"
expect_rc 99
expect_grep "p99 fails" '^  Thresholds +p99<5ms +[0-9.]+ms +FAIL$' "$BAR_OUT"
expect_grep "errors pass" '^ +errors<1% +0% +pass$' "$BAR_OUT"
expect_grep "rps fails" '^ +rps>1000000 +[0-9]+ req/s +FAIL$' "$BAR_OUT"
expect_json_str "$TMP/b.json" '[t["passed"] for t in j["thresholds"]]' '[false,true,false]'
expect_json_str "$TMP/b.json" thresholds_passed false
expect_range "rps value" "$(json_get "$TMP/b.json" 'j["thresholds"][2]["value"]')" 50 250
# the run went its full length: no --abort-on-fail
expect_range "duration_s" "$(json_get "$TMP/b.json" duration_s)" 1.45 2.5
end

begin errors_threshold_fails_on_500s
bar -q -t 1 -c 2 -d 1s --json "$TMP/c.json" --threshold 'errors<1%' --threshold 'errors<=100%' "$TARGET_URL/status/500"
expect_rc 99
expect_grep "errors fail" '^  Thresholds +errors<1% +100% +FAIL$' "$BAR_OUT"
expect_grep "grade F" '^  Grade +F: errors 100% are over the 10% of D$' "$BAR_OUT"
expect_json_str "$TMP/c.json" '[t["value"] for t in j["thresholds"]]' '[1,1]'
expect_json_str "$TMP/c.json" grade.grade F
end

begin grade_against_slo
bar -q -t 1 -c 4 -d 1s --json "$TMP/d.json" --slo 'p99<10ms,errors<1%' "$TARGET_URL/delay/20"
expect_rc 0
expect_grep "grade C" '^  Grade +C: p99 [0-9.]+ms is over the 20ms of B$' "$BAR_OUT"
expect_json_str "$TMP/d.json" grade.grade C
expect_json_str "$TMP/d.json" 'j["grade"]["reason"].endswith("is over the 20ms of B")' true
expect_json_str "$TMP/d.json" thresholds '[]'
end

begin abort_on_fail_stops_early
bar -q -t 1 -c 4 -d 15s --json "$TMP/e.json" --abort-on-fail --threshold 'errors<1%' --threshold 'p99<5ms' \
    "$TARGET_URL/delay/20"
expect_rc 99
expect_le "wall-clock seconds (of -d 15s)" "$BAR_WALL" 4
expect_grep "header" 'stopped early: a threshold failed' "$BAR_OUT"
expect_grep "why" "^  Stopped +early: threshold 'p99<5ms' failed at [0-9.]+s \\(measured [0-9.]+ms\\)$" "$BAR_OUT"
expect_json_str "$TMP/e.json" 'j["stopped_early"].startswith("threshold '"'"'p99<5ms'"'"' failed")' true
expect_json_str "$TMP/e.json" thresholds_passed false
expect_le "duration_s" "$(json_get "$TMP/e.json" duration_s)" 4
expect_accounting "$TMP/e.json"
end

begin abort_on_fail_runs_on_when_passing
bar -q -t 1 -c 4 -d 2s --json "$TMP/f.json" --abort-on-fail --threshold 'p99<500ms' "$TARGET_URL/delay/20"
expect_rc 0
expect_ge "duration_s" "$(json_get "$TMP/f.json" duration_s)" 1.95
expect_no_grep "not stopped" 'Stopped|stopped early' "$BAR_OUT"
expect_json_str "$TMP/f.json" stopped_early None
end

# ---- per step name, on a scenario: a fast and a slow step
D=$(mktemp -d "$TMP/scn.XXXXXX")
cat >"$D/two.yaml" <<EOF2
target: $TARGET_URL
users:
  - name: reader
    think: 0
    tasks:
      - get: /delay/2
        name: fast page
      - get: /delay/40
        name: slow page
EOF2

begin step_thresholds
bar -q -t 1 -c 4 -d 1500ms -s "$D/two.yaml" --json "$TMP/g.json" \
    --threshold 'fast page:p95<20ms' --threshold 'slow page:p95<20ms' --threshold 'slow page:errors<1%' \
    --threshold 'p99<1s'
expect_rc 99
expect_grep "fast passes" '^  Thresholds +fast page:p95<20ms +[0-9.]+ms +pass$' "$BAR_OUT"
expect_grep "slow fails" '^ +slow page:p95<20ms +[0-9.]+ms +FAIL$' "$BAR_OUT"
expect_grep "slow errors pass" '^ +slow page:errors<1% +0% +pass$' "$BAR_OUT"
expect_json_str "$TMP/g.json" '[t["passed"] for t in j["thresholds"]]' '[true,false,true,true]'
expect_range "slow p95 (us)" "$(json_get "$TMP/g.json" 'j["thresholds"][1]["value"]')" 39000 100000
expect_range "fast p95 (us)" "$(json_get "$TMP/g.json" 'j["thresholds"][0]["value"]')" 1900 19000
end

begin step_thresholds_pass
bar -q -t 1 -c 4 -d 1s -s "$D/two.yaml" --threshold 'fast page:p95<20ms' --threshold 'slow page:rps>1'
expect_rc 0
expect_grep "slow rps" '^ +slow page:rps>1 +[0-9.]+ req/s +pass$' "$BAR_OUT"
end

# ---- bad input: one line naming the flag and the text, exit 2
expect_bad_input threshold_bad_value "--threshold: 'p99<abc': expected a duration" --threshold 'p99<abc' "$TARGET_URL/"
expect_bad_input threshold_bad_metric "--threshold: 'latency<1s': unknown metric" --threshold 'latency<1s' "$TARGET_URL/"
expect_bad_input threshold_empty "--threshold: expected a condition" --threshold '' "$TARGET_URL/"
expect_bad_input threshold_two_conditions "--threshold: 'p99<1s,errors<1%': one condition" \
    --threshold 'p99<1s,errors<1%' "$TARGET_URL/"
expect_bad_input threshold_step_without_scenario "--threshold: 'home:p99<1s': a step name needs a scenario" \
    --threshold 'home:p99<1s' "$TARGET_URL/"
expect_bad_input threshold_unknown_step "--threshold: 'nope:p99<1s': no step named 'nope'" \
    -s "$D/two.yaml" --threshold 'nope:p99<1s'
expect_bad_input threshold_step_bad_cond "--threshold: 'p95<x': expected a duration .*\\(in 'fast page:p95<x'\\)" \
    -s "$D/two.yaml" --threshold 'fast page:p95<x'
expect_bad_input abort_without_threshold "--abort-on-fail needs a --threshold" --abort-on-fail "$TARGET_URL/"
expect_bad_input threshold_with_find_limit "--threshold: not with --find-limit" --find-limit --threshold 'p99<1s' \
    "$TARGET_URL/"

stop_target >/dev/null
