#!/usr/bin/env bash
# Load-model flags that do not fit: exit 2 and exactly one line on stderr naming the flag or
# the value, nothing on stdout, no load sent (as in 70_bad_input.sh).
source "$(dirname "$0")/lib.sh"
BAR_LIMIT=20

# Something listening, to be sure no bad invocation ever sends a request.
start_target
URL=$TARGET_URL/

# bad NAME PATTERN ARGS...: see expect_bad_input in lib.sh
bad() {
    local name=$1
    shift
    expect_bad_input "bad_load_$name" "$@"
}

printf '# a shape\n1s 10\n1s 10x\n1s 0\n' >"$TMP/bad_line3.shape"
printf '# only comments\n\n' >"$TMP/empty.shape"
printf 'target: %s\nusers:\n  - name: r\n    tasks:\n      - get: /\n' "$TARGET_URL" >"$TMP/one.yaml"

# combinations
bad rate_with_stages        "(-R|--rate).*--stages|--stages.*(-R|--rate)"   -R 10 --stages 1s:10 "$URL"
bad rate_with_shape         "(-R|--rate).*--shape|--shape.*(-R|--rate)"     -R 10 --shape ramp,to=10,over=1s "$URL"
bad open_without_shape      "--open"                                        --open "$URL"
bad open_with_rate          "--open.*-R"                                    --open -R 10 "$URL"
bad stages_with_c           "(-c|--connections).*--stages|--stages.*(-c|--connections)" --stages 1s:10 -c 5 "$URL"
bad stages_and_shape        "--stages.*--shape|--shape.*--stages"           --stages 1s:10 --shape constant,value=3 -d 1s "$URL"
bad pipeline_with_rate      "--pipeline"                                    --pipeline 4 -R 10 "$URL"
bad pipeline_with_open      "--pipeline"                                    --pipeline 4 --open --stages 1s:10 "$URL"
bad arrival_closed_loop     "--arrival"                                     --arrival poisson "$URL"
bad users_with_open         "--users.*--open|--open.*--users"               --users 5 --open "$URL"
bad run_time_and_d          "--run-time.*-d|-d.*--run-time"                 --users 5 --run-time 1s -d 1s "$URL"
bad spawn_rate_no_users     "--spawn-rate.*--users"                         --spawn-rate 5 "$URL"
bad run_time_no_users       "--run-time.*--users"                           --run-time 2s "$URL"
bad find_limit_with_d       "--find-limit.*-d|-d.*--find-limit"             --find-limit -d 5s "$URL"
bad find_limit_with_n       "--find-limit.*-n|-n.*--find-limit"             --find-limit -n 100 "$URL"
bad find_limit_with_rate    "--find-limit.*(-R|--rate)|(-R|--rate).*--find-limit" --find-limit -R 100 "$URL"
bad find_limit_with_stages  "--find-limit.*--stages|--stages.*--find-limit|--find-limit.*shape" --find-limit --stages 1s:5 "$URL"
bad closed_without_find_limit "--closed"                                    --closed "$URL"
bad find_limit_closed_with_c  "^barrage: -c: --closed steps the number of users" --find-limit --closed -c 5 "$URL"
bad find_limit_closed_arrival "--arrival applies to open loop; --closed"      --find-limit --closed --arrival poisson "$URL"
bad find_limit_closed_max_queue "--max-queue applies to open loop; --closed"  --find-limit --closed --max-queue 10 "$URL"
# --find-limit with a scenario: the same refusals, and the scenario's own
bad find_limit_scenario_rate  "--find-limit.*(-R|--rate)"                     --find-limit -s "$TMP/one.yaml" -R 10
bad find_limit_scenario_method "-m: not with --scenario"                      --find-limit -s "$TMP/one.yaml" -m POST
bad find_limit_scenario_pool  "--pool applies with --share-connections"       --find-limit -s "$TMP/one.yaml" --pool 5
bad find_limit_scenario_closed_c "-c: --closed"                               --find-limit --closed -s "$TMP/one.yaml" -c 50
bad find_limit_scenario_missing "nope\.yaml"                                 --find-limit -s "$TMP/nope.yaml"
bad step_duration_alone     "--step-duration"                               --step-duration 1s "$URL"
bad start_rate_alone        "--start-rate"                                  --start-rate 100 "$URL"
bad max_rate_alone          "--max-rate"                                    --max-rate 100 "$URL"

# values
bad arrival_bogus           "--arrival.*'bogus'"                            --arrival bogus -R 10 "$URL"
bad rate_zero               "(-R|--rate).*'0'"                              -R 0 "$URL"
bad rate_negative           "(-R|--rate).*'-5'"                             -R -5 "$URL"
bad rate_not_a_number       "(-R|--rate).*'abc'"                            -R abc "$URL"
bad rate_missing_value      "(-R|--rate).*(value|argument)"                 "$URL" -R
bad max_queue_zero          "--max-queue.*'0'"                              --max-queue 0 -R 10 "$URL"
bad max_queue_not_a_number  "--max-queue.*'lots'"                           --max-queue lots -R 10 "$URL"
bad stages_missing_target   "--stages.*1s"                                  --stages '1s:' "$URL"
bad stages_words            "--stages.*'abc'"                               --stages abc "$URL"
bad stages_bad_duration     "--stages.*'?5x'?"                              --stages '5x:10' "$URL"
bad stages_negative_target  "--stages.*-3"                                  --stages '1s:-3' "$URL"
bad stages_empty            "--stages"                                      --stages '' "$URL"
bad shape_ramp_missing_over "--shape.*over"                                 --shape ramp,to=10 "$URL"
bad shape_unknown_preset    "--shape.*'nosuch'"                             --shape nosuch,x=1 "$URL"
bad shape_unknown_param     "--shape.*(bogus|'?bogus=)"                     --shape ramp,to=10,over=1s,bogus=2 "$URL"
bad shape_step_bad_every    "--shape.*every"                                --shape step,by=5,every=soon,to=10 -d 1s "$URL"
bad shape_constant_no_d     "--shape.*(-d|duration)"                        --shape constant,value=3 "$URL"
bad shape_soak_no_d         "--shape.*(-d|duration)"                        --shape soak,to=5,ramp=1s "$URL"
bad shape_file_missing      "/nonexistent/shape\.txt"                       --shape-file /nonexistent/shape.txt "$URL"
bad shape_file_bad_line_3   "$TMP/bad_line3\.shape:3:"                      --shape-file "$TMP/bad_line3.shape" "$URL"
bad shape_file_no_stages    "$TMP/empty\.shape"                             --shape-file "$TMP/empty.shape" "$URL"
bad users_zero              "--users.*'0'"                                  --users 0 "$URL"
bad spawn_rate_zero         "--spawn-rate.*'0'"                             --users 5 --spawn-rate 0 "$URL"
bad slo_bad_duration        "--slo.*p99<abc"                                --slo 'p99<abc' --find-limit "$URL"
bad slo_unknown_metric      "--slo.*foo"                                    --slo 'foo<5ms' --find-limit "$URL"
bad slo_quantile_zero       "--slo.*p0"                                     --slo 'p0<5ms' --find-limit "$URL"
bad slo_empty_condition     "--slo.*empty"                                  --slo 'p99<5ms,,errors<1%' --find-limit "$URL"
bad step_duration_zero      "--step-duration.*'0s'"                         --step-duration 0s --find-limit "$URL"
bad start_rate_zero         "--start-rate.*'0'"                             --start-rate 0 --find-limit "$URL"

# None of the above sent a request.
begin bad_load_sent_nothing
stop_target
expect_num_eq "server requests" "$(server_count requests)" 0
expect_num_eq "server connections" "$(server_count connections)" 0
end
