#!/usr/bin/env bash
# --watch-pid: the summary's Server line (CPU, RSS start -> end, growth, MB/min), the leak
# WARNING past --leak-threshold, the server_rss_growth / server_cpu thresholds (exit 99 on a
# failure, --abort-on-fail), a watched process that exits during the run, and the refusals
# (no such process, a server threshold or --leak-threshold without --watch-pid, bad values).
# The watched process is a python helper that grows its RSS by 10 MB every 0.25 s, or stays
# flat, or exits; each lives 15 s at most.
source "$(dirname "$0")/lib.sh"
BAR_LIMIT=20

start_target

# grow.py READY STEPS LIFE_S: writes READY, then STEPS times 10 MB (touched) 0.25 s apart,
# then sleeps until LIFE_S after its start and exits.
cat >"$TMP/grow.py" <<'EOF'
import sys, time
ready, steps, life = sys.argv[1], int(sys.argv[2]), min(float(sys.argv[3]), 15.0)
start = time.monotonic()
open(ready, "w").close()
chunks = []
for i in range(steps):
    chunks.append(bytearray(b"\x01") * (10 << 20))  # every page written: resident
    time.sleep(max(0.0, start + 0.25 * (i + 1) - time.monotonic()))
time.sleep(max(0.0, start + life - time.monotonic()))
EOF

# helper NAME STEPS LIFE_S: starts grow.py, waits until it is running; sets HELPER
helper() {
    local i
    spawn "$PY" -S "$TMP/grow.py" "$TMP/$1.ready" "$2" "$3"
    HELPER=$SPAWNED_PID
    for ((i = 0; i < 100; i++)); do
        [ -e "$TMP/$1.ready" ] && return 0
        sleep 0.05
    done
    echo "  helper $1 did not start" >&2
}
# The figures of the Server line of pid $1: "start end growth slope" (slope: - when none)
server_figures() {
    sed -nE "s/^  Server +[^ ]+ \\(pid $1[^)]*\\): .*RSS ([0-9.]+) -> ([0-9.]+) MB \\(([-+][0-9.]+) MB, ([-0-9.]+ MB\\/min|too short)[^)]*\\).*/\\1 \\2 \\3 \\4/p" \
        "$BAR_OUT" | sed 's| MB/min||; s|too short|-|'
}
server_cpu_mean() { sed -nE "s/^  Server +[^ ]+ \\(pid $1[^)]*\\): CPU mean ([0-9.]+)% max ([0-9.]+)%.*/\\1/p" "$BAR_OUT"; }
LINE_RE='^  Server +[^ ]+ \(pid [0-9]+\): CPU mean [0-9.]+% max [0-9.]+%, RSS [0-9.]+ -> [0-9.]+ MB \([-+][0-9.]+ MB, [-0-9.]+ MB/min\)'

begin watch_pid_sees_growth_and_warns
helper leak 12 15
bar -t 1 -c 4 -d 3s --watch-pid "$HELPER" --threshold 'server_rss_growth<2GB' --json "$TMP/a.json" "$TARGET_URL/"
expect_rc 0
expect_grep "Server line" "$LINE_RE" "$BAR_OUT"
read -r start endmb growth slope <<<"$(server_figures "$HELPER")"
expect_ge "RSS growth (MB)" "${growth#+}" 80
expect_ge "RSS at the end (MB)" "${endmb:-0}" 85
expect_ge "RSS slope (MB/min)" "$slope" 600
expect_grep "leak warning" '^  WARNING: memory grew [0-9.]+ MB/min \(above --leak-threshold 10 MB/min\): a leak\?$' "$BAR_OUT"
expect_grep "2GB passes" '^  Thresholds +server_rss_growth<2GB +[0-9.]+MB +pass$' "$BAR_OUT"
expect_accounting "$TMP/a.json"
end
_kill_wait "$HELPER"

begin rss_growth_threshold_fails_exit_99
helper fail 12 15
bar -q -t 1 -c 4 -d 3s --watch-pid "$HELPER" --threshold 'server_rss_growth<20MB' --threshold 'p99<5s' \
    --leak-threshold 100000 "$TARGET_URL/"
expect_rc 99
expect_grep "20MB fails" '^  Thresholds +server_rss_growth<20MB +[0-9.]+MB +FAIL$' "$BAR_OUT"
expect_grep "p99 passes" '^ +p99<5s +[0-9.]+(us|ms) +pass$' "$BAR_OUT"
expect_no_grep "no warning under a high --leak-threshold" 'WARNING' "$BAR_OUT"
expect_grep "Server line" "$LINE_RE" "$BAR_OUT"
end
_kill_wait "$HELPER"

begin abort_on_fail_on_rss_growth
helper abort 12 15
bar -q -t 1 -c 4 -d 10s --watch-pid "$HELPER" --abort-on-fail --threshold 'server_rss_growth<20MB' "$TARGET_URL/"
expect_rc 99
expect_le "wall-clock seconds (of -d 10s)" "$BAR_WALL" 5
expect_grep "why" "^  Stopped +early: threshold 'server_rss_growth<20MB' failed at [0-9.]+s \\(measured [0-9.]+MB\\)$" \
    "$BAR_OUT"
end
_kill_wait "$HELPER"

begin steady_process_no_warning
helper flat 0 15
bar -q -t 1 -c 4 -d 3s --watch-pid "$HELPER" "$TARGET_URL/"
expect_rc 0
expect_grep "Server line" "$LINE_RE" "$BAR_OUT"
read -r start endmb growth slope <<<"$(server_figures "$HELPER")"
expect_range "RSS growth (MB)" "${growth#+}" -2 2
expect_range "RSS slope (MB/min)" "$slope" -5 5
expect_no_grep "no leak warning" 'WARNING' "$BAR_OUT"
end
_kill_wait "$HELPER"

begin watch_the_target_server
bar -q -t 1 -c 4 -d 2s --watch-pid "$TARGET_PID" --threshold 'server_cpu<10000%' --html "$TMP/w.html" "$TARGET_URL/"
expect_rc 0
# the HTML's table says so too (it printed "+nan MB/min")
expect_no_grep "no nan in the HTML table" '<td>[^<]*nan' "$TMP/w.html"
expect_grep "HTML slope cell" '<td>too short</td>' "$TMP/w.html"
expect_grep "Server line" "^  Server +barrage \\(pid $TARGET_PID\\): CPU mean" "$BAR_OUT"
expect_gt "server CPU mean (%)" "$(server_cpu_mean "$TARGET_PID")" 0
# two samples under load over a 2 s run: no MB/min figure, so no warning either
expect_grep "no slope from 2 s" '\([-+][0-9.]+ MB, too short for a MB/min trend\)' "$BAR_OUT"
expect_grep "cpu threshold" '^  Thresholds +server_cpu<10000% +[0-9.]+% +pass$' "$BAR_OUT"
end

begin watched_process_exits
helper gone 0 1.2
bar -q -t 1 -c 4 -d 3s --watch-pid "$HELPER" --json "$TMP/e.json" "$TARGET_URL/"
expect_rc 0
expect_grep "says it exited" "^  Server +[^ ]+ \\(pid $HELPER, exited during the run\\): CPU mean" "$BAR_OUT"
expect_grep "the run went on" '^  Requests +[0-9]+ issued' "$BAR_OUT"
expect_ge "duration_s" "$(json_get "$TMP/e.json" duration_s)" 2.9
expect_accounting "$TMP/e.json"
end
_kill_wait "$HELPER"

# ---- refusals: one line, exit 2, before any load
"$PY" -S -c pass & GONE=$!
wait "$GONE"  # reaped: no process has this pid now
expect_bad_input watch_pid_no_such_process "^barrage: --watch-pid $GONE: no such process$" --watch-pid "$GONE" "$TARGET_URL/"
expect_bad_input watch_pid_not_a_number "--watch-pid.*'abc'" --watch-pid abc "$TARGET_URL/"
expect_bad_input leak_threshold_without_watch "--leak-threshold applies with --watch-pid" --leak-threshold 5 "$TARGET_URL/"
expect_bad_input server_cpu_without_watch "--threshold: 'server_cpu<80%' needs --watch-pid" \
    --threshold 'server_cpu<80%' "$TARGET_URL/"
expect_bad_input server_rss_without_watch "--threshold: 'server_rss_growth<100MB' needs --watch-pid" \
    --threshold 'server_rss_growth<100MB' "$TARGET_URL/"
expect_bad_input server_cpu_needs_percent "--threshold: 'server_cpu<80': expected a CPU share such as 80%" \
    --watch-pid "$TARGET_PID" --threshold 'server_cpu<80' "$TARGET_URL/"
expect_bad_input server_rss_bad_unit "--threshold: 'server_rss_growth<5TB': expected a size such as 100MB" \
    --watch-pid "$TARGET_PID" --threshold 'server_rss_growth<5TB' "$TARGET_URL/"
expect_bad_input server_metric_on_a_step "'home:server_cpu<80%': server_cpu is on the watched server, not on a step" \
    --watch-pid "$TARGET_PID" --threshold 'home:server_cpu<80%' "$TARGET_URL/"
expect_bad_input server_metric_in_slo "--slo: 'server_cpu<80%': a server metric goes in a --threshold" \
    --slo 'p99<1s,server_cpu<80%' "$TARGET_URL/"

stop_target >/dev/null
