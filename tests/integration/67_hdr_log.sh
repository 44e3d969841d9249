#!/usr/bin/env bash
# --hdr-log FILE: the HdrHistogram interval log. Its header, one line per interval (flushed
# while the run goes on), counts that add up to the JSON's (read back by the hidden
# `barrage hdrlog-read`), Tag= lines per scenario step; and, where java and HdrHistogram's
# jar are installed, Java's own HistogramLogProcessor decoding it to the same count, max
# and p99 (the independent implementation). A path that cannot be created fails first.
source "$(dirname "$0")/lib.sh"
BAR_LIMIT=20
JAR=/usr/share/java/hdrhistogram.jar

start_target

# read_total FILE FIELD: count/p50/p99/max of the "total" line of `barrage hdrlog-read FILE`
read_total() {
    local col
    case $2 in count) col=5 ;; p50) col=6 ;; p99) col=7 ;; max) col=8 ;; esac
    "$BARRAGE" hdrlog-read "$1" | awk -F, -v c="$col" '$1 == "total" { print $c }'
}

begin hdr_log_header_intervals_and_counts
timeout -k 2 "$BAR_LIMIT" "$BARRAGE" -t 1 -c 8 -d 2s --hdr-log "$TMP/x.hlog" --json "$TMP/x.json" \
    "$TARGET_URL" >"$BAR_OUT" 2>"$BAR_ERR" </dev/null &
pid=$!
sleep 1.6  # past the first interval: its line is in the file already
grep -c '^[0-9]' "$TMP/x.hlog" >"$TMP/mid.count" 2>/dev/null
"$BARRAGE" hdrlog-read "$TMP/x.hlog" >"$TMP/mid.csv" 2>&1 || _err "mid-run read failed: $(head -c 200 "$TMP/mid.csv")"
wait "$pid"
BAR_RC=$?
expect_rc 0
expect_range "data lines 1.6 s into the run" "$(cat "$TMP/mid.count")" 1 1
expect_eq "line 1" "$(sed -n 1p "$TMP/x.hlog")" '#[Histogram log format version 1.3]'
expect_grep "StartTime" '^#\[StartTime: [0-9]{10}\.[0-9]{3} \(seconds since epoch\), [A-Z][a-z]{2} [A-Z][a-z]{2} [0-9]{2} [0-9:]{8} .+ [0-9]{4}\]$' "$TMP/x.hlog"
expect_grep "BaseTime" '^#\[BaseTime: [0-9]{10}\.[0-9]{3} \(seconds since epoch\)\]$' "$TMP/x.hlog"
expect_eq "StartTime = BaseTime" "$(grep -o 'StartTime: [0-9.]*' "$TMP/x.hlog" | cut -d' ' -f2)" \
    "$(grep -o 'BaseTime: [0-9.]*' "$TMP/x.hlog" | cut -d' ' -f2)"
expect_grep "legend" '^"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"$' "$TMP/x.hlog"
nlines=$(grep -c '^[0-9]' "$TMP/x.hlog")
expect_json_str "$TMP/x.json" 'len(j["intervals"])' "$nlines"
expect_num_eq "lines not start,length,max,base64" \
    "$(grep '^[0-9]' "$TMP/x.hlog" | grep -Evc '^[0-9]+\.[0-9]{3},[0-9]+\.[0-9]{3},[0-9]+\.[0-9]{3},HISTF[A-Za-z0-9+/]+=*$')" 0
expect_eq "first interval" "$(grep -m1 '^[0-9]' "$TMP/x.hlog" | cut -d, -f1-2)" "0.000,1.000"
expect_ok "hdrlog-read" "$BARRAGE" hdrlog-read "$TMP/x.hlog"
count=$(read_total "$TMP/x.hlog" count)
expect_json "$TMP/x.json" latency_us.count "$count"
expect_gt "count" "$count" 1000
p99=$(read_total "$TMP/x.hlog" p99) jp99=$(json_get "$TMP/x.json" latency_us.p99)
expect_range "p99 read back ($p99) against the JSON's ($jp99)" "$p99" "$jp99" "$((jp99 + jp99 / 1000 + 1))"
# the max of the format is the highest value of the max's bucket (2048 sub-buckets)
bucket_high() { "$PY" -S -c "v = $1; b = max(v.bit_length() - 11, 0); print((v >> b << b) + (1 << b) - 1)"; }
jsonmax=$(json_get "$TMP/x.json" latency_us.max)
expect_num_eq "max read back against the JSON's $jsonmax us" "$(read_total "$TMP/x.hlog" max)" "$(bucket_high "$jsonmax")"
expect_num_eq "hdrlog-read lines" "$("$BARRAGE" hdrlog-read "$TMP/x.hlog" | grep -c '^line,,')" "$nlines"
end

if ! command -v java >/dev/null 2>&1 || [ ! -f "$JAR" ]; then
    echo "SKIP hdr log java decode: no java"
else
    begin hdr_log_java_decode
    java -cp "$JAR" org.HdrHistogram.HistogramLogProcessor -i "$TMP/x.hlog" -outputValueUnitRatio 1000 -csv \
        >"$TMP/java.csv" 2>"$TMP/java.err" || _err "HistogramLogProcessor failed: $(head -c 300 "$TMP/java.err")"
    # rows "Value","Percentile","TotalCount","1/(1-Percentile)", values in ms (3 decimals: µs)
    read -r jcount jmax jlo jhi < <("$PY" -S - "$TMP/java.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.reader(l for l in open(sys.argv[1]) if l[0].isdigit())]
us = lambda r: round(float(r[0]) * 1000)
lo = max((us(r) for r in rows if float(r[1]) <= 0.99), default=-1)
hi = min((us(r) for r in rows if float(r[1]) >= 0.99), default=-1)
print(int(rows[-1][2]) if rows else -1, us(rows[-1]) if rows else -1, lo, hi)
EOF
)
    expect_num_eq "Java's total count" "$jcount" "$(json_get "$TMP/x.json" latency_us.count)"
    expect_num_eq "Java's max (us)" "$jmax" "$(read_total "$TMP/x.hlog" max)"
    expect_num_eq "Java's max against the JSON's $jsonmax us" "$jmax" "$(bucket_high "$jsonmax")"
    # Java lists percentiles in steps: the p99 lies between the rows either side of 0.99
    expect_range "our p99 within Java's rows around 0.99" "$p99" "$jlo" "$jhi"
    expect_range "the JSON's p99 within Java's rows around 0.99" "$jp99" "$jlo" "$jhi"
    end
fi

cat >"$TMP/steps.yaml" <<EOF
target: $TARGET_URL
users:
  - name: u
    tasks:
      - sequence:
          - get: /a
            name: "list, items"
          - get: /b
            name: login
EOF

begin hdr_log_scenario_tags
bar -s "$TMP/steps.yaml" -t 1 -c 4 -d 1s --hdr-log "$TMP/s.hlog" --json "$TMP/s.json"
expect_rc 0
expect_grep "Tag=list__items line" '^Tag=list__items,[0-9]+\.[0-9]{3},' "$TMP/s.hlog"
expect_grep "Tag=login line" '^Tag=login,[0-9]+\.[0-9]{3},' "$TMP/s.hlog"
"$BARRAGE" hdrlog-read "$TMP/s.hlog" >"$TMP/s.csv" || _err "hdrlog-read failed"
for pair in "list__items|list, items" "login|login"; do
    tag=${pair%%|*} name=${pair#*|}
    sum=$(awk -F, -v t="$tag" '$1 == "line" && $2 == t { s += $5 } END { print s + 0 }' "$TMP/s.csv")
    expect_json "$TMP/s.json" "j['steps']['$name']['latency_us']['count']" "$sum"
    expect_gt "$tag count" "$sum" 10
    if command -v java >/dev/null 2>&1 && [ -f "$JAR" ]; then
        jsum=$(java -cp "$JAR" org.HdrHistogram.HistogramLogProcessor -i "$TMP/s.hlog" -tag "$tag" -csv |
            awk -F, '/^[0-9]/ { c = $3 } END { print c + 0 }')
        expect_num_eq "Java's count for Tag=$tag" "$jsum" "$sum"
    fi
done
end

expect_bad_input hdr_log_cannot_create \
    '^barrage: --hdr-log: cannot create /nonexistent/dir/x: No such file or directory$' \
    -d 1s --hdr-log /nonexistent/dir/x "$TARGET_URL"

# A run shorter than a millisecond past its last boundary still has its line: every count
# is in one line (with -n 5 the whole run was dropped, and Java's processor crashed on it).
begin hdr_log_run_shorter_than_a_millisecond
bar -q -t 2 -c 4 -n 5 --hdr-log "$TMP/n.hlog" --json "$TMP/n.json" --csv "$TMP/n" "$TARGET_URL"
expect_rc 0
expect_num_eq "count read back" "$(read_total "$TMP/n.hlog" count)" 5
expect_json_str "$TMP/n.json" 'sum(i["ok"] for i in j["intervals"])' 5
expect_num_eq "history rows" "$(($(wc -l <"$TMP/n_stats_history.csv") - 1))" 1
expect_accounting "$TMP/n.json"
end

# A FIFO read by another process while the run goes on (the check before the run must
# not open it: the reader would take that for the end); a symlink to a file not made yet.
begin hdr_log_into_a_fifo_and_a_dangling_symlink
mkfifo "$TMP/fifo"
cat "$TMP/fifo" >"$TMP/fifo.out" &
reader=$!
bar -q -t 1 -c 2 -d 1200ms --interval 500ms --hdr-log "$TMP/fifo" "$TARGET_URL"
expect_rc 0
_kill_wait "$reader"
expect_ge "lines read through the FIFO" "$(grep -c '^[0-9]' "$TMP/fifo.out")" 2
ln -s "$TMP/made-later.hlog" "$TMP/link.hlog"
bar -q -t 1 -c 2 -d 300ms --hdr-log "$TMP/link.hlog" "$TARGET_URL"
expect_rc 0
expect_grep "written through the link" '^#\[Histogram log format' "$TMP/made-later.hlog"
end

begin hdrlog_read_refuses_a_bad_line
{ head -5 "$TMP/x.hlog"; echo '0.000,1.000,0.100,HISTFAAAACd42pNpmSzM'; } >"$TMP/bad.hlog"
"$BARRAGE" hdrlog-read "$TMP/bad.hlog" >"$BAR_OUT" 2>"$BAR_ERR"
expect_eq "exit status" "$?" 1
expect_eq "stderr" "$(cat "$BAR_ERR")" "barrage: $TMP/bad.hlog:6: compressed length 39, but 7 bytes follow"
end

begin hdrlog_read_help
"$BARRAGE" hdrlog-read --help >"$BAR_OUT" 2>"$BAR_ERR"
expect_eq "exit status" "$?" 0
expect_grep "usage on stdout" '^usage: barrage hdrlog-read FILE' "$BAR_OUT"
end
