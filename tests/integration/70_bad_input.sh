#!/usr/bin/env bash
# Bad input: exit 2 and exactly one line on stderr naming the flag or value, nothing on
# stdout, no load sent. io_uring unavailable: exit 1, one line naming the cause and the fix.
source "$(dirname "$0")/lib.sh"
BAR_LIMIT=20

# Something listening, to be sure no bad invocation ever sends a request.
start_target
URL=$TARGET_URL/

# bad NAME PATTERN ARGS...: see expect_bad_input in lib.sh
bad() {
    local name=$1
    shift
    expect_bad_input "bad_input_$name" "$@"
}

bad wrk_lua_script      "-s/--scenario '/tmp/x\.lua': barrage reads YAML scenario files, not wrk's Lua" -s /tmp/x.lua "$URL"
bad c_not_a_number    "(-c|--connections).*'abc'"       -c abc "$URL"
bad c_zero            "(-c|--connections).*'0'"         -c 0 "$URL"
bad c_negative        "(-c|--connections).*'-5'"        -c -5 "$URL"
bad c_missing_value   "(-c|--connections).*(value|argument)" "$URL" -c
bad t_zero            "(-t|--threads).*'0'"             -t 0 "$URL"
bad t_too_many        "-t/--threads: invalid value '100000' \\(a whole number from 1 to 1024\\)" -t 100000 "$URL"
bad d_bad_unit        "(-d|--duration).*'5x'"           -d 5x "$URL"
bad d_zero            "(-d|--duration).*'0s'"           -d 0s "$URL"
bad d_words           "(-d|--duration).*'soon'"         -d soon "$URL"
bad n_not_a_number    "(-n|--requests).*'many'"         -n many "$URL"
bad n_zero            "(-n|--requests).*'0'"            -n 0 "$URL"
bad timeout_bad       "--timeout.*'fast'"               --timeout fast "$URL"
bad pipeline_zero     "--pipeline.*'0'"                 --pipeline 0 "$URL"
bad interval_bad      "--interval.*'often'"             --interval often "$URL"
bad rpc_zero          "--requests-per-conn.*'0'"        --requests-per-conn 0 "$URL"
bad method_bad        "(-m|--method).*'get me'"         -m 'get me' "$URL"
bad unknown_long_flag "unknown option.*--bogus"         --bogus "$URL"
bad unknown_short_flag "unknown option.*-Z"             -Z "$URL"
bad missing_url       "URL"                             -c 2
bad two_urls          "'http://127.0.0.1:1/b'"          "$URL" http://127.0.0.1:1/b
bad tls_flag_on_http  "--insecure applies to https://"  --insecure "$URL"
bad insecure_with_cacert "--cacert has no effect with --insecure" --insecure --cacert /etc/hostname https://127.0.0.1:$TARGET_PORT/
bad cacert_missing    "--cacert.*/nonexistent/ca.pem"   --cacert /nonexistent/ca.pem https://127.0.0.1:$TARGET_PORT/
bad ftp_url           "ftp"                             ftp://127.0.0.1/
bad no_scheme         "127\.0\.0\.1"                    127.0.0.1:$TARGET_PORT/
bad port_too_big      "99999"                           http://127.0.0.1:99999/
bad port_not_number   "8o8o"                            http://127.0.0.1:8o8o/
bad port_zero         "port"                            http://127.0.0.1:0/
bad port_empty        "port"                            http://127.0.0.1:/
bad no_host           "host"                            http:///path
bad unresolvable_host "no-such-host-for-barrage\.invalid" http://no-such-host-for-barrage.invalid/
bad userinfo_too_long "URL 'http://\\*\\*\\*\\*@127.0.0.1:[0-9]+/': user:password over 512 bytes" "http://u:$(printf '%0600d' 0)@127.0.0.1:$TARGET_PORT/"
# a flag that takes one value, given twice, is refused (the last one silently won)
bad body_twice "^barrage: --body-file: a body was given already" -b x --body-file /etc/hostname "$URL"
bad json_twice "^barrage: --json: given twice" --json "$TMP/a.json" --json "$TMP/b.json" "$URL"
bad json_empty "^barrage: --json: invalid value ''" --json '' "$URL"
bad csv_stdout "^barrage: --csv -: --csv takes a prefix" --csv - "$URL"
bad keepalive_contradicted "^barrage: --no-keepalive: -H 'Connection: keep-alive' says the opposite" --no-keepalive -H 'Connection: Keep-Alive' "$URL"
bad interval_too_short "^barrage: --interval: '1ms' is under the shortest interval, 10ms$" --interval 1ms "$URL"
bad header_no_colon   "(-H|--header).*'NoColonHere'"    -H NoColonHere "$URL"
bad header_empty_name "(-H|--header).*': v' has no name before its ':'" -H ': v' "$URL"
bad header_control_char "'X-A: a\\\\x01b' has a control character in its value" -H $'X-A: a\x01b' "$URL"
bad header_name_not_token "'X\\(A\\): b' has a name with a character other than letters" -H 'X(A): b' "$URL"
bad header_name_space "'X A: b' has a name with a character other than" -H 'X A: b' "$URL"
bad expect_status_range "--expect-status: invalid value '200-600' \\(codes from 100 to 599" --expect-status 200-600 "$URL"
bad watch_pid_twice "^barrage: --watch-pid $$: given twice$" --watch-pid $$ --watch-pid $$ "$URL"
bad leak_threshold_form "^barrage: --leak-threshold: invalid value '0' \\(a growth above 0 such as 10MB/min" \
    --watch-pid $$ --leak-threshold 0 "$URL"
bad header_content_length "Content-Length"              -H 'Content-Length: 5' -b hello "$URL"
bad body_file_missing "--body-file.*$TMP/nope"          --body-file "$TMP/nope" "$URL"
bad body_file_dir     "^barrage: --body-file: cannot read '$TMP': Is a directory$" --body-file "$TMP" "$URL"
# Arrivals are scheduled one by one: a rate far past what any machine sends would outlast -d.
bad rate_above_what_is_scheduled "-R: 200000000 req/s is more than barrage schedules" -R 2e8 -d 1s "$URL"
bad shape_rate_above_what_is_scheduled "--stages: 500000000 req/s is more than" --open --stages 1s:5e8 "$URL"
# A ramp cut by -d before it reaches anything: said so (it was "out of memory")
bad shape_cut_before_one_user "--shape never reaches one user" --shape 'ramp,to=1,over=1000000000s' -d 1s "$URL"
# (however slow --spawn-rate is, the first user starts at once, as in Locust)
bad users_below_one "--users never reaches one user" --users 0.5 --spawn-rate 1 --run-time 1s "$URL"
bad find_limit_rate_above "--max-rate: 1000000000 req/s is more than" --find-limit --max-rate 1e9 "$URL"
bad flag_given_a_value "^barrage: --open takes no value$" --open=1 "$URL"
bad short_flag_as_long "^barrage: --quiet takes no value$" --quiet=yes "$URL"
# Whatever a message quotes stays on one line, and a header's value (a credential, or
# another header after a line break) is not repeated.
bad header_line_break "-H/--header 'X-A': a line break" -H $'X-A: a\r\nCookie: sekrit-cookie' "$URL"
bad count_line_break  "invalid value '1\\\\n2'"         -c $'1\n2' "$URL"
bad header_key_equals "'X-Api-Key \\.\\.\\.' is not 'Name: value'" -H 'X-Api-Key=sekrit-key' "$URL"
begin bad_input_never_shows_header_values
grep -q sekrit "$BAR_ERR" && _err "a header's value is in the message: $(cat "$BAR_ERR")"
bar -H $'X-A: a\r\nCookie: sekrit-cookie' "$URL"
grep -q sekrit "$BAR_ERR" && _err "a header's value is in the message: $(cat "$BAR_ERR")"
end
# A run refused for another reason leaves no empty --json file behind.
bad unresolvable_with_json "no-such-host-for-barrage\\.invalid" --json "$TMP/never.json" http://no-such-host-for-barrage.invalid/
begin bad_input_leaves_no_json_file
[ -e "$TMP/never.json" ] && _err "an empty --json file was left: $(ls -l "$TMP/never.json")"
end
# Two reports into one file would leave only the last one written: refused, whatever the
# spelling of the path, and before anything is written.
bad reports_same_file "--json and --html both write '.*/\\./same\\.out'" --json "$TMP/same.out" --html "$TMP/./same.out" "$URL"
bad reports_csv_name_clash "--hdr-log and --csv both write '.*clash_stats\\.csv'" --hdr-log "$TMP/clash_stats.csv" --csv "$TMP/clash" "$URL"
ln -s dangling.out "$TMP/dangling.link"  # a symlink to a file yet to be made names that file
bad reports_same_file_by_dangling_link "--json and --html both write '.*/dangling\\.link'" \
    --json "$TMP/dangling.out" --html "$TMP/dangling.link" "$URL"
begin reports_same_file_writes_nothing
[ -e "$TMP/dangling.out" ] && _err "a report file was written through the link: $(ls -l "$TMP/dangling.out")"
[ -e "$TMP/same.out" ] && _err "a report file was written: $(ls -l "$TMP/same.out")"
end
bad url_long_path_keeps_reason "\\.\\.\\.': path too long$" "http://127.0.0.1:1/$(printf 'b%.0s' {1..4095})"

# None of the above sent a request.
begin bad_input_sent_nothing
stop_target
expect_num_eq "server requests" "$(server_count requests)" 0
expect_num_eq "server connections" "$(server_count connections)" 0
end

# --json to a place that cannot be written: said on one line (after the run), exit 1
begin json_unwritable
start_target
bar -q -c 1 -t 1 -n 10 --json "$TMP/no/such/dir/out.json" "$TARGET_URL/"
stop_target
expect_rc 2  # checked before the run starts
expect_num_eq "stderr lines" "$(wc -l <"$BAR_ERR")" 1
expect_grep "names --json and the path" "--json.*$TMP/no/such/dir/out.json" "$BAR_ERR"
end

# The report cannot be written to stdout (a full disk): said on stderr, exit 1, not 0
begin stdout_unwritable
start_target
timeout -k 2 "$BAR_LIMIT" "$BARRAGE" -q -c 1 -t 1 -n 10 "$TARGET_URL/" >/dev/full 2>"$BAR_ERR"
BAR_RC=$?
stop_target
expect_rc 1
expect_grep "says so" '^barrage: cannot write the report to standard output: No space left on device$' "$BAR_ERR"
end

begin help_and_version
bar --help
expect_rc 0
expect_grep "--help" '^usage: barrage' "$BAR_OUT"
bar --version
expect_rc 0
expect_grep "--version" '^barrage [0-9]+\.[0-9]+' "$BAR_OUT"
bar -v  # as wrk takes it
expect_rc 0
expect_grep "-v" '^barrage [0-9]+\.[0-9]+' "$BAR_OUT"
bar serve --help
expect_rc 0
expect_grep "serve --help" '^usage: barrage serve' "$BAR_OUT"
end

begin serve_bad_flags
bar serve --port 70000
expect_rc 2
expect_num_eq "stderr lines (--port 70000)" "$(wc -l <"$BAR_ERR")" 1
expect_grep "names the flag" '--port.*70000' "$BAR_ERR"
bar serve --bogus
expect_rc 2
expect_grep "names the flag" '--bogus' "$BAR_ERR"
end

# ---- more connections than the open-file limit allows

begin fd_limit_too_low
# Lower the limit in a subshell; root must also lose CAP_SYS_RESOURCE (setpriv), else it may
# raise it again: then ask for more than fs.nr_open, which nobody can have.
conns=5000
wrap=()
if [ "$(id -u)" -eq 0 ]; then
    if command -v setpriv >/dev/null 2>&1 &&
       setpriv --bounding-set=-sys_resource --inh-caps=-sys_resource true 2>/dev/null; then
        wrap=(setpriv --bounding-set=-sys_resource --inh-caps=-sys_resource)
    else
        conns=$(( $(cat /proc/sys/fs/nr_open) + 1000 ))
        [ "$conns" -gt 10000000 ] && conns=10000000
    fi
fi
( ulimit -Sn 256 && ulimit -Hn 256 && exec "${wrap[@]}" "$BARRAGE" -c "$conns" -d 1s \
    "http://127.0.0.1:$(free_port)/" ) >"$BAR_OUT" 2>"$BAR_ERR" </dev/null
BAR_RC=$?
expect_rc 2
expect_num_eq "stderr lines" "$(wc -l <"$BAR_ERR")" 1
expect_grep "names ulimit" 'ulimit' "$BAR_ERR"
expect_grep "names the limit" '256' "$BAR_ERR"
grep -q '^barrage: ' "$BAR_ERR" || _err "stderr does not start with 'barrage: '"
end

# Within the limit it runs (-c 200 with 256 descriptors)
begin fd_limit_enough
start_target
( ulimit -Sn 512 && ulimit -Hn 512 && exec "$BARRAGE" -q -c 200 -t 2 -n 2000 --json "$TMP/fd.json" "$TARGET_URL/" ) \
    >"$BAR_OUT" 2>"$BAR_ERR" </dev/null
BAR_RC=$?
stop_target
expect_rc 0
expect_json "$TMP/fd.json" requests.ok 2000
expect_json "$TMP/fd.json" connections.opened 200
end

# ---- io_uring unavailable (a seccomp filter, as in a container)

begin no_uring_helper_builds
mkdir -p "$TMP/cc"
if cc -O2 -Wall -o "$TMP/cc/no_uring" "$IT_DIR/no_uring.c" 2>"$TMP/cc/err"; then
    "$TMP/cc/no_uring" enosys true 2>"$TMP/cc/err2" || _err "the seccomp filter cannot be installed here: $(cat "$TMP/cc/err2")"
else
    _err "cc failed: $(head -c 300 "$TMP/cc/err")"
fi
end

uring_blocked() {  # enosys|eperm
    begin "io_uring_unavailable_$1"
    start_target
    timeout 20 "$TMP/cc/no_uring" "$1" "$BARRAGE" -c 2 -n 10 "$TARGET_URL/" >"$BAR_OUT" 2>"$BAR_ERR" </dev/null
    BAR_RC=$?
    stop_target
    expect_rc 1
    expect_num_eq "stderr lines" "$(wc -l <"$BAR_ERR")" 1
    grep -q '^barrage: ' "$BAR_ERR" || _err "stderr does not start with 'barrage: ': $(head -c 200 "$BAR_ERR")"
    expect_grep "names io_uring" 'io_uring' "$BAR_ERR"
    expect_grep "names seccomp" 'seccomp' "$BAR_ERR"
    expect_no_grep "no bare errno" '^barrage: [^ ]*: (Function not implemented|Operation not permitted)$' "$BAR_ERR"
    expect_num_eq "server requests" "$(server_count requests)" 0
    end
}
if [ -x "$TMP/cc/no_uring" ]; then
    uring_blocked enosys
    uring_blocked eperm
fi

# ---- a submit the kernel refuses mid-run

# The run ends at once with one line naming the reason, and the report still accounts for
# every request. One worker, 2500 connections (a 4096-entry submission queue) to a target
# that answers after 5 s, --timeout 2s (timers scanned every 100 ms): the requests, sent
# within some tens of ms of each other, time out in at most two scans, one of them with
# 1250 or more, and closing their connections (3 operations each) and reopening them (2
# each, at most 1024 connects at once) fills the queue within that loop iteration,
# so get_sqe() submits early (so does close_socket() with fewer than 3 entries free). The
# filter refuses a submit of 4094 or more entries with ENOMEM: exactly those. (A lower bound
# would now and then catch the loop's own submit at its wait instead, when an iteration
# queues just under 4096: that is another message, "io_uring wait".) Should the timeouts
# spread over several scans (a busy machine), the next round, 2 s later, gets another try.
submit_refused() {
    local J=$TMP/submit.json limit=10 t0 t1
    begin io_uring_submit_refused_mid_run
    start_target --delay 5000
    t0=$(now_s)
    timeout -k 2 "$limit" "$TMP/cc/no_uring" bigsubmit 4094 "$BARRAGE" -q -t 1 -c 2500 -d 6s \
        --timeout 2s --json "$J" "$TARGET_URL/" >"$BAR_OUT" 2>"$BAR_ERR" </dev/null
    BAR_RC=$?
    t1=$(now_s)
    BAR_WALL=$("$PY" -S -c "print(round($t1 - $t0, 3))")
    stop_target
    if [ "$BAR_RC" -eq 124 ] || [ "$BAR_RC" -eq 137 ]; then
        _err "hung: still running after ${limit} s"
    elif [ "$BAR_RC" -gt 128 ]; then
        _err "killed by signal $((BAR_RC - 128))"
    elif [ "$BAR_RC" -eq 0 ]; then
        _err "exit status 0: the submission queue never filled (no submit was refused)"
    else
        expect_rc 1
    fi
    expect_le "run time (s), short of -d 6s" "$BAR_WALL" 5.5
    expect_num_eq "stderr lines" "$(wc -l <"$BAR_ERR")" 1
    expect_grep "names the submit and the reason" '^barrage: .*io_uring submit: Cannot allocate memory$' "$BAR_ERR"
    expect_no_grep "no sanitizer report" 'Sanitizer|runtime error' "$BAR_ERR"
    expect_grep "the summary is printed" 'Requests +[0-9]+ issued = [0-9]+ ok \+ [0-9]+ failed' "$BAR_OUT"
    expect_accounting "$J"
    expect_gt "errors.timeout" "$(json_get "$J" errors.timeout)" 0
    end
}
# barrage and the target each raise their soft limit to the hard one: 2500 sockets each, and some
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 6000 ]; then
    echo "SKIP io_uring_submit_refused_mid_run: open-file hard limit $hard (needs 6000)"
elif [ -x "$TMP/cc/no_uring" ]; then
    submit_refused
fi
