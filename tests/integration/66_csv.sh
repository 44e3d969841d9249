#!/usr/bin/env bash
# --csv PREFIX: Locust's three files from real runs. Headers byte for byte as Locust writes
# them (CRLF line ends), read back with Python's csv module; the Aggregated row agrees with
# the JSON summary; the history grows by about a row a second; failures add up to the failed
# count with their causes; a scenario gives a row per step name under its method; a prefix
# that cannot be created stops barrage before the run.
source "$(dirname "$0")/lib.sh"
BAR_LIMIT=20

PCT='50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%'
H_STATS="Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,$PCT"
H_HISTORY="Timestamp,User Count,Type,Name,Requests/s,Failures/s,$PCT,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size"
H_FAILURES='Method,Name,Error,Occurrences'

# expect_headers PREFIX: the first line of each file, exactly, and every line ends in CRLF
expect_headers() {
    expect_eq "stats header" "$(head -1 "$1_stats.csv")" "$H_STATS"$'\r'
    expect_eq "history header" "$(head -1 "$1_stats_history.csv")" "$H_HISTORY"$'\r'
    expect_eq "failures header" "$(head -1 "$1_failures.csv")" "$H_FAILURES"$'\r'
    local f
    for f in "$1_stats.csv" "$1_stats_history.csv" "$1_failures.csv"; do
        [ "$(grep -c $'\r$' "$f")" = "$(wc -l <"$f")" ] || _err "${f##*/}: a line without CRLF"
    done
}

# csv_get FILE EXPR: EXPR over rows (a list of dicts, by Locust's column names) of a CSV file
csv_get() {
    "$PY" -S - "$1" "$2" <<'EOF'
import csv, sys
try:
    with open(sys.argv[1], newline="") as f:
        rows = list(csv.DictReader(f))
    print(eval(sys.argv[2], {"rows": rows}))
except Exception as e:
    print("ERROR(%s: %s)" % (type(e).__name__, e)); sys.exit(1)
EOF
}
expect_csv() {  # FILE EXPR WANT: textual equality
    local v
    v=$(csv_get "$1" "$2") || { _err "${1##*/}: $2: $v"; return; }
    expect_eq "${1##*/}: $2" "$v" "$3"
}

calc() { "$PY" -S -c "print($1)"; }

start_target

begin csv_quick_run_matches_json
t0=$(date +%s)
bar -q -t 1 -c 4 -d 2s --csv "$TMP/r" --json "$TMP/r.json" "$TARGET_URL/bytes/100"
t1=$(date +%s)
expect_rc 0
expect_headers "$TMP/r"
completed=$(( $(json_get "$TMP/r.json" requests.ok) + $(json_get "$TMP/r.json" requests.failed) ))
expect_gt "completed requests" "$completed" 100
expect_csv "$TMP/r_stats.csv" '[(r["Type"], r["Name"]) for r in rows]' "[('GET', '/bytes/100'), ('', 'Aggregated')]"
expect_csv "$TMP/r_stats.csv" 'rows[-1]["Request Count"]' "$completed"
expect_csv "$TMP/r_stats.csv" 'rows[0]["Request Count"]' "$completed"
expect_csv "$TMP/r_stats.csv" 'rows[-1]["Failure Count"]' 0
expect_csv "$TMP/r_stats.csv" 'rows[-1]["Average Content Size"]' 100.0
# ints where Locust writes ints, floats where it writes floats; the median is an int but kept
# within [min, max] as Locust keeps it (then it is the min or max: sub-millisecond times here)
expect_csv "$TMP/r_stats.csv" 'all(rows[-1][k].isdigit() for k in ("50%", "99%", "100%"))' True
expect_csv "$TMP/r_stats.csv" '(lambda r: r["Median Response Time"].isdigit() and float(r["Min Response Time"]) <= int(r["Median Response Time"]) <= float(r["Max Response Time"]) or r["Median Response Time"] in (r["Min Response Time"], r["Max Response Time"]))(rows[-1])' True
expect_csv "$TMP/r_stats.csv" 'all("." in rows[-1][k] for k in ("Average Response Time", "Min Response Time", "Requests/s"))' True
rps=$(json_get "$TMP/r.json" 'j["requests"]["ok"] / j["duration_s"]')
expect_range "Requests/s" "$(csv_get "$TMP/r_stats.csv" 'rows[-1]["Requests/s"]')" "$(calc "$rps * 0.99")" \
    "$(calc "$rps * 1.01")"
# about a row a second, the totals rising, the times within the run
expect_range "history rows" "$(csv_get "$TMP/r_stats_history.csv" 'len(rows)')" 2 3
expect_csv "$TMP/r_stats_history.csv" 'set(r["Name"] for r in rows), set(r["Type"] for r in rows)' "({'Aggregated'}, {''})"
# (a last partial interval of a few milliseconds may finish nothing: never falling, rising overall)
expect_csv "$TMP/r_stats_history.csv" 'all(int(a["Total Request Count"]) <= int(b["Total Request Count"]) for a, b in zip(rows, rows[1:])) and int(rows[0]["Total Request Count"]) < int(rows[-1]["Total Request Count"])' True
expect_csv "$TMP/r_stats_history.csv" 'all(int(a["Timestamp"]) <= int(b["Timestamp"]) for a, b in zip(rows, rows[1:]))' True
expect_range "first Timestamp" "$(csv_get "$TMP/r_stats_history.csv" 'rows[0]["Timestamp"]')" "$t0" "$t1"
expect_le "last Total Request Count" "$(csv_get "$TMP/r_stats_history.csv" 'rows[-1]["Total Request Count"]')" "$completed"
expect_csv "$TMP/r_stats_history.csv" 'rows[0]["User Count"]' 4
# the interval's own rate, as the JSON's intervals have it (not the run's mean, which a
# shared machine's noise can move by half)
irps=$(json_get "$TMP/r.json" 'j["intervals"][0]["rps"]')
expect_range "first Requests/s" "$(csv_get "$TMP/r_stats_history.csv" 'float(rows[0]["Requests/s"])')" \
    "$(calc "$irps * 0.99 - 0.01")" "$(calc "$irps * 1.01 + 0.01")"
expect_csv "$TMP/r_failures.csv" 'len(rows)' 0
end

# fails_add_up NAME PATH FLAGS...: a run of failures; Occurrences add up to the failed count
fails_add_up() {
    local name=$1 path=$2
    shift 2
    begin "$name"
    bar -q -t 1 --csv "$TMP/$name" --json "$TMP/$name.json" "$@" "$TARGET_URL$path"
    expect_rc 0
    expect_headers "$TMP/$name"
    F=$TMP/${name}_failures.csv
    failed=$(json_get "$TMP/$name.json" requests.failed)
    expect_gt "failed" "$failed" 0
    expect_csv "$F" 'sum(int(r["Occurrences"]) for r in rows)' "$failed"
    expect_csv "$F" 'set((r["Method"], r["Name"]) for r in rows)' "{('GET', '$path')}"
    expect_csv "$TMP/${name}_stats.csv" 'rows[-1]["Failure Count"]' "$failed"
}

fails_add_up csv_failures_status /status/503 -c 2 -d 1s
expect_csv "$F" '[(r["Error"], r["Occurrences"]) for r in rows]' "[('status 503', '$failed')]"
end

# Content-Length 100, 10 bytes, close: the cut-short responses fail as resets
fails_add_up csv_failures_truncated /truncate -c 2 -n 100
expect_csv "$F" '[(r["Error"], r["Occurrences"]) for r in rows]' "[('reset: connection closed mid-response', '100')]"
end

begin csv_scenario_rows_per_step
start_target --api
cat >"$TMP/s.yaml" <<EOF
target: $TARGET_URL
users:
  - name: reader
    on_start:
      - post: /api/login
        name: log in, "first"
        json: { user: u1, password: pw-u1 }
        capture: { token: json.access_token }
        expect: { status: 200 }
    tasks:
      - get: /api/items?page=1
        name: list items
        headers: { Authorization: "Bearer \${token}" }
      - get: /api/items/nope
        name: read missing
        headers: { Authorization: "Bearer \${token}" }
        expect: { status: 200 }
EOF
bar -q -s "$TMP/s.yaml" -t 1 -c 3 -d 1s --csv "$TMP/s" --json "$TMP/s.json"
expect_rc 0
expect_headers "$TMP/s"
completed=$(( $(json_get "$TMP/s.json" requests.ok) + $(json_get "$TMP/s.json" requests.failed) ))
expect_csv "$TMP/s_stats.csv" '[(r["Type"], r["Name"]) for r in rows]' \
    "[('POST', 'log in, \"first\"'), ('GET', 'list items'), ('GET', 'read missing'), ('', 'Aggregated')]"
expect_grep "quoted step name" '^POST,"log in, ""first""",3,0,' "$TMP/s_stats.csv"
expect_csv "$TMP/s_stats.csv" 'rows[-1]["Request Count"]' "$completed"
expect_csv "$TMP/s_stats.csv" 'sum(int(r["Request Count"]) for r in rows[:-1])' "$completed"
for s in "list items" "read missing"; do
    expect_csv "$TMP/s_stats.csv" "[r['Request Count'] for r in rows if r['Name'] == '$s'][0]" \
        "$(json_get "$TMP/s.json" "j['steps']['$s']['requests']")"
done
failed=$(json_get "$TMP/s.json" requests.failed)
expect_gt "failed" "$failed" 10
expect_csv "$TMP/s_failures.csv" '[(r["Method"], r["Name"], r["Error"]) for r in rows]' \
    "[('GET', 'read missing', 'status 404 (expected 200)')]"
expect_csv "$TMP/s_failures.csv" 'sum(int(r["Occurrences"]) for r in rows)' "$failed"
# the content size of the list's JSON body, not its headers
size=$(csv_get "$TMP/s_stats.csv" "float([r['Average Content Size'] for r in rows if r['Name'] == 'list items'][0])")
expect_range "list items content size" "$size" 100 1000
end

# Requests that all failed before an answer have no latencies: the percentiles are N/A
# (not 0), and the HTML's key figures say none (not 0us).
begin csv_html_no_latencies
port=$(free_port)
bar -q -t 1 -c 2 -d 300ms --csv "$TMP/nl" --html "$TMP/nl.html" "http://127.0.0.1:$port/"
expect_gt "failed requests" "$(csv_get "$TMP/nl_stats.csv" "[r['Failure Count'] for r in rows if r['Name'] == 'Aggregated'][0]")" 0
expect_eq "Aggregated 50%" "$(csv_get "$TMP/nl_stats.csv" "[r['50%'] for r in rows if r['Name'] == 'Aggregated'][0]")" N/A
expect_grep "HTML latency figure" '<div class="label">Latency p99</div><div class="value">none<' "$TMP/nl.html"
end

begin csv_cannot_create_fails_before_the_run
bar -d 5s --csv /nonexistent/dir/x "$TARGET_URL/"
expect_rc 2
expect_le "run time (s) of -d 5s" "$BAR_WALL" 2
expect_num_eq "stderr lines" "$(wc -l <"$BAR_ERR")" 1
expect_grep "message" '^barrage: --csv: cannot create /nonexistent/dir/x_stats.csv: No such file or directory$' "$BAR_ERR"
[ -s "$BAR_OUT" ] && _err "stdout not empty: $(head -c 200 "$BAR_OUT")"
end

# A run refused for another report's path, or for a process to watch that is gone, keeps
# the last run's files as they were and leaves no new one.
begin refused_run_keeps_old_files
echo PREV >"$TMP/old_stats.csv"
bar -d 1s --csv "$TMP/old" --hdr-log /nonexistent/dir/x.hlog "$TARGET_URL/"
expect_rc 2
expect_eq "old CSV kept" "$(cat "$TMP/old_stats.csv")" PREV
[ -e "$TMP/old_failures.csv" ] && _err "a new CSV was left: $(ls "$TMP"/old_*)"
"$PY" -S -c pass & gone=$!
wait "$gone"
bar -d 1s --json "$TMP/gone.json" --csv "$TMP/gone" --watch-pid "$gone" "$TARGET_URL/"
expect_rc 2
ls "$TMP"/gone* >/dev/null 2>&1 && _err "files were left: $(ls "$TMP"/gone*)"
end
