#!/usr/bin/env bash
# -d T: the run lasts T (wall clock and duration_s), the live report prints a table row per
# --interval when stdout is not a terminal (its header again every 30 rows), a dashboard line
# on a terminal, and nothing with -q.
source "$(dirname "$0")/lib.sh"

# time, rps, [target], p50, p90, p99, max ('-' when no response was timed), errors, conns
LIVE='^ *[0-9]+\.[0-9]{1,2}s +[0-9]+( +[0-9.]+)? +(([0-9.]+(us|ms|s)|-) +){4}[0-9]+ +[0-9]+$'
HEADER='^ +time +rps +.*p50 +p90 +p99 +max +errors +conns$'

begin duration_2s
start_target --threads 2
bar -q --json "$TMP/d.json" -c 10 -d 2s "$TARGET_URL/"
stop_target || _err "the target did not stop cleanly"
expect_rc 0
expect_range "wall-clock seconds" "$BAR_WALL" 1.9 3.0
expect_range "duration_s" "$(json_get "$TMP/d.json" duration_s)" 1.9 2.6
expect_gt "requests.ok" "$(json_get "$TMP/d.json" requests.ok)" 100
expect_json "$TMP/d.json" requests.failed 0
expect_json_str "$TMP/d.json" interrupted false
expect_le "requests.in_flight" "$(json_get "$TMP/d.json" requests.in_flight)" 10
expect_accounting "$TMP/d.json"
# The server answered at least every response barrage counted, and at most what it issued.
expect_range "server requests" "$(server_count requests)" \
    "$(json_get "$TMP/d.json" requests.ok)" "$(json_get "$TMP/d.json" requests.issued)"
expect_no_grep "quiet output" "$LIVE" "$BAR_OUT"
expect_grep "summary" 'issued = [0-9]+ ok \+ 0 failed' "$BAR_OUT"
end

# -d with -n: whichever comes first. A small -n ends long before 30 s.
begin duration_and_count_count_first
start_target
bar -q --json "$TMP/dn.json" -c 4 -t 1 -d 30s -n 200 "$TARGET_URL/"
stop_target
expect_rc 0
expect_le "wall-clock seconds" "$BAR_WALL" 10
expect_json "$TMP/dn.json" requests.issued 200
expect_json "$TMP/dn.json" requests.ok 200
expect_num_eq "server requests" "$(server_count requests)" 200
expect_accounting "$TMP/dn.json"
end

# ... and a -n too large to reach ends at -d (every response takes 50 ms here).
begin duration_and_count_duration_first
start_target --delay 50
bar -q --json "$TMP/dd.json" -c 2 -t 1 -d 1s -n 100000 "$TARGET_URL/"
stop_target
expect_rc 0
expect_range "wall-clock seconds" "$BAR_WALL" 0.9 2.5
expect_range "duration_s" "$(json_get "$TMP/dd.json" duration_s)" 0.9 1.6
# 2 connections x 1 s / 50 ms = about 40 responses; at most 2 x 21 can fit
expect_range "requests.ok" "$(json_get "$TMP/dd.json" requests.ok)" 10 42
expect_accounting "$TMP/dd.json"
end

# ... and -n reached before -d with its answers slow to come: -d still ends the run (it
# waited for the answers, spinning on a deadline already past), closed and open loop.
begin duration_ends_while_count_waits_for_answers
start_target
bar -q --json "$TMP/dw.json" -c 4 -t 1 -n 4 -d 1s --timeout 20s "$TARGET_URL/delay/3000"
expect_rc 0
expect_range "wall-clock seconds" "$BAR_WALL" 0.9 2.0
expect_json "$TMP/dw.json" requests.in_flight 4
expect_accounting "$TMP/dw.json"
expect_le "waits" "$(json_get "$TMP/dw.json" client.waits)" 1000
bar -q --json "$TMP/dwo.json" -c 4 -t 1 -R 1000 -n 100 -d 1s --timeout 20s "$TARGET_URL/delay/3000"
expect_rc 0
expect_range "wall-clock seconds (open loop)" "$BAR_WALL" 0.9 2.0
expect_json "$TMP/dwo.json" requests.in_flight 100
expect_accounting "$TMP/dwo.json"
expect_le "waits (open loop)" "$(json_get "$TMP/dwo.json" client.waits)" 1000
stop_target
end

# A -n run that ends just before an interval boundary: its answers are in one row that
# ends at the stop (they were in an empty row after it, with rps 0).
begin count_ends_before_a_boundary
start_target
for i in 1 2 3; do  # (the reporter may notice the stop before the boundary: then all is well anyway)
    bar -q --json "$TMP/nb.json" -c 2 -t 1 -n 2 "$TARGET_URL/delay/995"
    expect_rc 0
    expect_accounting "$TMP/nb.json"  # the last row ends by the stop
    expect_json_str "$TMP/nb.json" '[i["ok"] for i in j["intervals"] if i["ok"] and not i["rps"]]' '[]'
done
stop_target
end

begin live_lines_interval_500ms
start_target
bar --json "$TMP/l.json" -c 4 -t 1 -d 2s --interval 500ms "$TARGET_URL/"
stop_target
expect_rc 0
lines=$(grep -Ec "$LIVE" "$BAR_OUT")
expect_range "live lines" "$lines" 3 5
# timestamps go up by about 0.5 s
"$PY" -S - "$BAR_OUT" <<'PY' >"$TMP/ts.err" || _err "live line times: $(cat "$TMP/ts.err")"
import re, sys
ts = [float(m.group(1)) for m in re.finditer(r"^ *([0-9.]+)s +[0-9]+ ", open(sys.argv[1]).read(), re.M)]
if not ts: print("none"); sys.exit(1)
if not (0.3 <= ts[0] <= 0.9): print("first at %.1fs" % ts[0]); sys.exit(1)
for a, b in zip(ts, ts[1:]):
    if not (0.2 <= b - a <= 1.0): print("%s" % ts); sys.exit(1)
PY
# the live lines carry the rate: some interval reports a positive rps
grep -E "$LIVE" "$BAR_OUT" | awk '$2 > 0 {ok = 1} END {exit !ok}' || _err "no live line with rps > 0"
expect_num_eq "one header" "$(grep -Ec "$HEADER" "$BAR_OUT")" 1
# the last thing printed is the summary, with no terminal escapes off a tty
expect_grep "summary" '^barrage .* 2 threads?|^barrage .* 1 thread' "$BAR_OUT"
grep -q $'\r\|\033' "$BAR_OUT" && _err "terminal escapes in non-tty output"
end

# An interval in which nothing was answered has no latency: its row and the dashboard
# show '-' (they showed 0us: a stalled server looked fastest), the JSON's row 0 as before.
begin live_rows_without_responses
start_target
bar --json "$TMP/nr.json" -c 2 -t 1 -n 2 --interval 500ms "$TARGET_URL/delay/1200"
expect_rc 0
expect_grep "empty rows" '^ +0\.5s +0 +- +- +- +- +0 +2$' "$BAR_OUT"
expect_grep "the row with the answers" '^ +1\.[0-9]s +[0-9]+ +1\.[0-9]+s +1\.[0-9]+s +1\.[0-9]+s +1\.[0-9]+s +0 +2$' "$BAR_OUT"
expect_no_grep "no 0us latency" ' 0us ' "$BAR_OUT"
expect_json_str "$TMP/nr.json" '[i["p99_us"] for i in j["intervals"] if not i["ok"]]' '[0,0]'
if command -v script >/dev/null; then
    timeout 20 script -qec "$BARRAGE -c 2 -t 1 -n 2 --interval 500ms $TARGET_URL/delay/1200" /dev/null >"$TMP/nr.tty" 2>&1
    expect_grep "dashboard" $'\r\033\\[K +0\\.5s +0 req/s +p99 - +errors 0\\.0% +conns 2' "$TMP/nr.tty"
    expect_no_grep "dashboard without 0us" 'p99 0us' "$TMP/nr.tty"
fi
stop_target
end

# The live rows end at the stop, as the JSON's intervals do: a run stopping between two
# boundaries prints its last, partial interval too (it printed only whole ones), and the
# dashboard on a terminal shows that row before the summary.
begin live_rows_end_at_the_stop
start_target
bar --json "$TMP/ls.json" -c 2 -t 1 -d 1300ms --interval 500ms "$TARGET_URL/"
expect_rc 0
expect_num_eq "live rows" "$(grep -Ec "$LIVE" "$BAR_OUT")" "$(json_get "$TMP/ls.json" 'len(j["intervals"])')"
expect_range "last live row's time" "$(grep -E "$LIVE" "$BAR_OUT" | tail -1 | awk '{print $1+0}')" 1.25 1.45
if command -v script >/dev/null; then
    timeout 20 script -qec "$BARRAGE -c 2 -t 1 -d 1300ms --interval 500ms $TARGET_URL/" /dev/null >"$TMP/ls.tty" 2>&1
    expect_grep "the dashboard's last line at the stop" $'\r\033\\[K\\[#{20}\\] 100% +1\\.[34][0-9]?s ' "$TMP/ls.tty"
fi
stop_target
end

# An interval's connections are each worker's newest count: a worker that published late
# handed over two slots at once, and both were summed (300 open of -c 200). Busy loops on
# both CPUs make workers late.
begin interval_connections_count_each_worker_once
start_target
hogs=()
for i in 1 2 3 4 5 6; do timeout 5 bash -c 'while :; do :; done' & hogs+=($!); done
bar -q --json "$TMP/g.json" -c 200 -t 2 -d 2s --interval 20ms "$TARGET_URL/"
kill "${hogs[@]}" 2>/dev/null; wait "${hogs[@]}" 2>/dev/null
stop_target
expect_rc 0
expect_le "most connections in an interval" "$(json_get "$TMP/g.json" 'max(i["users"] for i in j["intervals"])')" 200
expect_ge "intervals" "$(json_get "$TMP/g.json" 'len(j["intervals"])')" 20
end

# An interval's rate is its responses over its own span, boundary to boundary (it was
# divided by the time between the reporter's wake-ups: 11% off at 20 ms intervals).
begin interval_rps_over_its_span
start_target
bar -q --json "$TMP/r.json" -c 4 -t 1 -d 1s --interval 20ms "$TARGET_URL/delay/2"
stop_target
expect_rc 0
expect_ok "rps = ok / (t - t0), every interval" "$PY" -S -c "
import json, sys
iv = json.load(open('$TMP/r.json'))['intervals']
if len(iv) < 30: sys.exit('%d intervals' % len(iv))
for i in iv:
    span = i['t'] - i['t0']
    if span <= 0 or abs(i['rps'] * span - i['ok']) > 0.001 * i['ok'] + 1e-6:
        sys.exit('interval %s: rps %s over %s s, ok %s' % (i['t0'], i['rps'], span, i['ok']))
"
end

# A reporter held up (its live rows going into a full pipe read slowly) refuses a worker's
# publish; the retry moved every later publish off the boundaries, so the last one came
# after the stop and never happened: the last whole row showed too few responses and a row
# of a few microseconds after it the rest, at millions of req/s.
begin interval_rows_after_a_late_reporter
start_target
cat >"$TMP/slowpipe.py" <<'PY'
import fcntl, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ: the live rows fill it in a fraction of a second
p = subprocess.Popen(sys.argv[1:], stdout=w)
os.close(w)
t0 = time.time()
while True:
    if time.time() - t0 < 0.6:
        time.sleep(0.2)  # read slowly at first: the reporter blocks on its rows
    if not os.read(r, 256):
        break
sys.exit(p.wait())
PY
for k in 1 2 3; do
    timeout 20 "$PY" "$TMP/slowpipe.py" "$BARRAGE" -t 1 -c 4 -d 1s --interval 10ms --json "$TMP/late$k.json" \
        "$TARGET_URL/" 2>>"$BAR_ERR" || _err "run $k: exit status $?"
    # The bug's row of a few microseconds read thousands of times the run's rate. A loaded
    # machine that runs the worker in bursts reads a few times it: up to 6x seen (136,300
    # req/s in one 10 ms row of a 23,046 req/s run, make test sharing the 2 CPUs with other
    # load tests), so the bound is 20x.
    expect_ok "run $k: every row's rate at most 20 times the run's" "$PY" -S -c "
import json, sys
j = json.load(open('$TMP/late$k.json'))
top = max(j['intervals'], key=lambda i: i['rps'])
if top['rps'] > 20 * j['rate']['achieved']:
    sys.exit('interval %s..%s: %s req/s (%d ok), the run %s req/s' % (top['t0'], top['t'], top['rps'], top['ok'], j['rate']['achieved']))
"
    expect_accounting "$TMP/late$k.json"
done
stop_target
end

# A reporter that wakes more than an interval late, within 2 ms after a boundary (the
# process stopped a while, as a loaded machine deschedules it), wrote that boundary's row
# and then, at its next wake, a row of zero length at 0 req/s: a dip to nothing in the live
# rows, the CSV history and the charts. Here stopped (SIGSTOP) 30 times for 10-90 ms.
begin no_zero_length_rows_after_a_stopped_reporter
start_target
"$BARRAGE" -t 1 -c 4 -d 3s -q --interval 10ms --json "$TMP/z.json" "$TARGET_URL/" >"$BAR_OUT" 2>"$BAR_ERR" &
pid=$!
sleep 0.2
for ((k = 0; k < 30; k++)); do
    kill -STOP "$pid"; sleep "0.0$((k % 9 + 1))"; kill -CONT "$pid"; sleep 0.03
done
wait "$pid"
expect_num_eq "exit status" "$?" 0
stop_target
expect_json_str "$TMP/z.json" '[(i["t0"], i["t"]) for i in j["intervals"] if i["t"] <= i["t0"]]' '[]'
expect_accounting "$TMP/z.json"
end

begin live_lines_default_interval
start_target
bar -c 2 -t 1 -d 2s "$TARGET_URL/"
stop_target
expect_rc 0
expect_range "live lines (1 s interval, 2 s)" "$(grep -Ec "$LIVE" "$BAR_OUT")" 1 3
end

begin quiet_no_live_lines
start_target
bar -q -c 2 -t 1 -d 1500ms --interval 200ms "$TARGET_URL/"
stop_target
expect_rc 0
expect_num_eq "live lines with -q" "$(grep -Ec "$LIVE" "$BAR_OUT")" 0
expect_grep "summary still printed" 'issued = ' "$BAR_OUT"
end

begin duration_500ms
start_target
bar -q --json "$TMP/h.json" -c 2 -t 1 -d 500ms "$TARGET_URL/"
stop_target
expect_rc 0
expect_range "wall-clock seconds" "$BAR_WALL" 0.45 1.5
expect_range "duration_s" "$(json_get "$TMP/h.json" duration_s)" 0.45 1.0
expect_accounting "$TMP/h.json"
end

# The deadline does not wait for answers: slow ones stay in flight and the run ends on time
begin duration_ends_with_requests_in_flight
start_target
bar -q --json "$TMP/s.json" -c 4 -t 1 -d 1s --timeout 20s "$TARGET_URL/delay/5000"
stop_target
expect_rc 0
expect_range "wall-clock seconds" "$BAR_WALL" 0.9 2.5
expect_range "duration_s" "$(json_get "$TMP/s.json" duration_s)" 0.9 1.5
expect_json "$TMP/s.json" requests.issued 4
expect_json "$TMP/s.json" requests.in_flight 4
expect_json "$TMP/s.json" requests.ok 0
expect_json "$TMP/s.json" requests.failed 0
expect_accounting "$TMP/s.json"
end

# A long log still reads: the header comes back every 30 rows; an open-loop run has a target column.
begin live_table_header_repeats
start_target
bar -R 2000 -c 4 -t 1 -d 1.8s --interval 50ms "$TARGET_URL/"
stop_target
expect_rc 0
expect_range "rows" "$(grep -Ec "$LIVE" "$BAR_OUT")" 30 37
expect_num_eq "headers" "$(grep -Ec "$HEADER" "$BAR_OUT")" 2
expect_grep "target column" '^ +time +rps +target/s +p50' "$BAR_OUT"
expect_grep "target value" '^ *[0-9.]+s +[0-9]+ +2000 ' "$BAR_OUT"
end

# On a terminal: one dashboard line rewritten in place: progress, rate, p99, errors, connections.
begin live_dashboard_on_a_terminal
if ! command -v script >/dev/null; then echo "SKIP live_dashboard_on_a_terminal: no script(1)"; else
start_target
BAR_TTY=$TMP/tty.out
timeout 20 script -qec "$BARRAGE -c 2 -t 1 -d 1.5s --interval 500ms $TARGET_URL/" /dev/null >"$BAR_TTY" 2>&1
rc=$?
stop_target
expect_num_eq "exit code" "$rc" 0
expect_grep "progress bar" $'\r\033\\[K\\[#+\\.*\\] +[0-9]+% +[0-9.]+s +[0-9,]+ req/s +p99 [0-9.]+(us|ms|s) +errors [0-9.]+% +conns 2' "$BAR_TTY"
expect_grep "full at the end" '\[#{20}\] 100%' "$BAR_TTY"
expect_no_grep "no table on a terminal" "$HEADER" "$BAR_TTY"
expect_grep "summary" '^barrage .* 1 thread' "$BAR_TTY"
# a narrow terminal: the line is cut to fit (a wrapped line cannot be rewritten in place)
start_target
timeout 20 script -qec "stty cols 40; $BARRAGE -c 2 -t 1 -d 1s --interval 500ms $TARGET_URL/" /dev/null >"$BAR_TTY" 2>&1
stop_target
expect_grep "dashboard lines" ' +[0-9.]+s +[0-9,]+ req/s +p99 ' "$BAR_TTY"
expect_num_eq "dashboard lines wider than 39 columns" \
    "$(sed -n '1,/^barrage /p' "$BAR_TTY" | tr '\r' '\n' | sed 's/\x1b\[K//' | awk 'length > 39' | grep -vc '^barrage ')" 0
fi
end
