#!/usr/bin/env bash
# --html FILE: a self-contained report. A real run (closed loop, then a scenario with a
# hostile step name and a failing threshold, then open loop) writes a page that fetches
# nothing, carries the run's figures and chart data, and escapes what came from outside.
# Headless chromium then loads each page: every chart drew (body[data-rendered=ok]), no
# script error (body[data-error]), and a screenshot that is not blank. The unit test's
# made-up summary (watched server, TLS, open loop, hostile text everywhere) is loaded too.
# A path that cannot be written fails before the run.
source "$(dirname "$0")/lib.sh"
BAR_LIMIT=20

CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)

# page_facts HTML JSON: what the page must hold, from barrage's own JSON of the same run;
# prints what is wrong.
page_facts() {
    "$PY" -S - "$1" "$2" <<'EOF'
import json, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
j = json.load(open(sys.argv[2]))
bad = []
# nothing fetched: no remote src/href, no @import, no url() to elsewhere, no source maps
for pat in (r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", r"@import", r"""url\(\s*["']?\s*(https?:)?//""",
            r"sourceMappingURL"):
    m = re.search(pat, page, re.I)
    if m: bad.append("fetches something: %r" % page[max(0, m.start() - 40):m.end() + 40])
r = j["requests"]
line = "%d issued = %d ok + %d failed + %d in flight at stop" % (r["issued"], r["ok"], r["failed"], r["in_flight"])
if line not in page: bad.append("no line %r" % line)
if ">%d<" % r["issued"] not in page: bad.append("no figure of %d requests issued" % r["issued"])
m = re.search(r'<script type="application/json" id="barrage-data">(.*?)</script>', page, re.S)
if not m:
    bad.append("no chart data")
else:
    d = json.loads(m.group(1))
    if len(d["t"]) != len(j["intervals"]) or len(d["rps"]) != len(j["intervals"]):
        bad.append("chart data has %d intervals, the JSON %d" % (len(d["t"]), len(j["intervals"])))
    # both files round the same doubles, to 3 and to 2 decimals: equal within the coarser
    if any(abs(x - i["rps"]) > 0.006 for x, i in zip(d["rps"], j["intervals"])):
        bad.append("chart rps %s != JSON %s" % (d["rps"], [i["rps"] for i in j["intervals"]]))
    if len(d["dist"]) < 10 or d["dist"][-1][1] != j["latency_us"]["max"]:
        bad.append("distribution ends at %s, latency max is %s" % (d["dist"][-1:], j["latency_us"]["max"]))
if page.count("<script") != 4: bad.append("%d <script> tags, expected 4" % page.count("<script"))
if bad: print("; ".join(bad)); sys.exit(1)
EOF
}

# png_check PNG: a real picture: many colours, the page's background not everywhere, the
# verdict band coloured, chart lines drawn (dygraphs' blue). Plain python3 (zlib, struct).
png_check() {
    "$PY" -S - "$1" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n": print("not a PNG"); sys.exit(1)
pos, idat = 8, []
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    pos += 12 + n
    if typ == b"IHDR": w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
    elif typ == b"IDAT": idat.append(body)
if depth != 8 or ctype not in (2, 6) or interlace: print("unexpected PNG format %d/%d/%d" % (depth, ctype, interlace)); sys.exit(1)
raw = zlib.decompress(b"".join(idat))
bpp = 3 if ctype == 2 else 4
stride = w * bpp
prev = bytearray(stride)
colours, sampled, band, blue = {}, 0, 0, 0
for y in range(h):
    ft, cur = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if ft == 1:
        for i in range(bpp, stride): cur[i] = (cur[i] + cur[i - bpp]) & 255
    elif ft == 2:
        cur = bytearray((a + b) & 255 for a, b in zip(cur, prev))
    elif ft == 3:
        for i in range(stride): cur[i] = (cur[i] + ((cur[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
    elif ft == 4:
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = cur
    if y % 2: continue
    for x in range(0, stride, bpp):
        r, g, b = cur[x], cur[x + 1], cur[x + 2]
        if y < 60 and max(r, g, b) - min(r, g, b) > 60: band += 1
        if abs(r - 37) + abs(g - 99) + abs(b - 235) < 40: blue += 1
        if x % (4 * bpp) == 0:
            sampled += 1
            k = (r, g, b)
            colours[k] = colours.get(k, 0) + 1
top = max(colours.values())
bad = []
if len(colours) < 100: bad.append("%d colours" % len(colours))
if top > 0.9 * sampled: bad.append("one colour covers %d%%" % (100 * top // sampled))
if band < w * 10: bad.append("no coloured band at the top (%d pixels)" % band)
if blue < 200: bad.append("no chart lines (%d blue pixels)" % blue)
if bad: print("blank-looking screenshot: " + ", ".join(bad)); sys.exit(1)
EOF
}

# in_browser NAME HTML: a test that chromium renders the page without errors.
in_browser() {
    local name=$1 page=$2
    if [ -z "$CHROMIUM" ]; then
        echo "SKIP html screenshot: no chromium"
        return
    fi
    begin "$name"
    local prof=$TMP/chromium-profile dom=$TMP/dom.html shot=$TMP/shot.png
    local opts=(--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$prof"
                --no-first-run --virtual-time-budget=5000)
    timeout 60 "$CHROMIUM" "${opts[@]}" --dump-dom "file://$page" >"$dom" 2>"$TMP/chromium.err"
    if ! grep -q '<body' "$dom"; then
        _err "chromium loaded nothing: $(grep -v dbus "$TMP/chromium.err" | tail -n 2 | head -c 300)"
    elif grep -q '<body[^>]* data-error=' "$dom"; then
        _err "script error: $(grep -o 'data-error="[^"]*"' "$dom" | head -c 300)"
    elif ! grep -q '<body[^>]* data-rendered="ok"' "$dom"; then
        _err "charts not drawn: $(grep -o '<body[^>]*>' "$dom" | head -c 300)"
    fi
    rm -f "$shot"
    timeout 60 "$CHROMIUM" "${opts[@]}" --window-size=1280,2000 --screenshot="$shot" "file://$page" \
        >/dev/null 2>>"$TMP/chromium.err"
    if [ -s "$shot" ]; then expect_ok "screenshot" png_check "$shot"
    else _err "no screenshot: $(grep -v dbus "$TMP/chromium.err" | tail -n 2 | head -c 300)"; fi
    end
}

start_target

begin html_closed_loop
bar -q -t 1 -c 8 -d 2s --html "$TMP/r.html" --json "$TMP/r.json" "$TARGET_URL/delay/2"
expect_rc 0
[ -s "$TMP/r.html" ] || _err "no report written"
expect_ok "page facts" page_facts "$TMP/r.html" "$TMP/r.json"
expect_grep "passing band" 'class="band pass"' "$TMP/r.html"
expect_grep "closed loop chart" 'Users wanted vs connections open' "$TMP/r.html"
end
in_browser html_closed_loop_renders "$TMP/r.html"

# A scenario: a step name that tries to end the script and the markup, a failing threshold.
D=$(mktemp -d "$TMP/scn.XXXXXX")
cat >"$D/two.yaml" <<EOF
target: $TARGET_URL
users:
  - name: reader
    think: 0
    tasks:
      - get: /delay/1
        name: "home </script><b id=evil>x</b> '\""
      - get: /status/404
        name: missing
EOF
begin html_scenario
bar -q -t 1 -c 4 -d 1s -s "$D/two.yaml" --html "$TMP/s.html" --json "$TMP/s.json" --threshold 'errors<1%'
expect_rc 99
expect_ok "page facts" page_facts "$TMP/s.html" "$TMP/s.json"
expect_grep "failing band" 'class="band fail"' "$TMP/s.html"
expect_grep "FAILED" '>FAILED<' "$TMP/s.html"
expect_grep "steps table" 'Scenario steps' "$TMP/s.html"
expect_grep "escaped step name" 'home &lt;/script&gt;&lt;b id=evil&gt;x&lt;/b&gt; &#39;&quot;' "$TMP/s.html"
expect_no_grep "no raw markup from the step name" '<b id=evil' "$TMP/s.html"
expect_grep "status 404 counted" '>404</span></td><td>[1-9]' "$TMP/s.html"
end
in_browser html_scenario_renders "$TMP/s.html"

begin html_open_loop
bar -q -t 1 -c 8 -R 300 -d 1500ms --html "$TMP/o.html" --json "$TMP/o.json" "$TARGET_URL/"
expect_rc 0
expect_ok "page facts" page_facts "$TMP/o.html" "$TMP/o.json"
expect_grep "target chart" 'Target vs achieved rate' "$TMP/o.html"
expect_grep "service time" '<td>Service time</td>' "$TMP/o.html"
expect_grep "a rate of requests" 'target 300\.00 req/s' "$TMP/o.html"
end

# In open loop a scenario's arrivals are users, each running one task: its rate says so.
begin html_open_loop_scenario_rate_of_users
bar -q -t 1 -c 4 -R 50 -d 1s -s "$D/two.yaml" --html "$TMP/os.html" "$TARGET_URL/"
expect_grep "target in users/s" 'open: users arrive on a schedule \(uniform\), target 50\.00 users/s' "$TMP/os.html"
expect_no_grep "not req/s" 'target 50\.00 req/s' "$TMP/os.html"
end

# The unit test's summary: the watched server, TLS and hostile text in every place.
if [ -x "$ROOT/build/unit/test_report_html" ]; then
    begin html_made_up_summary
    HTML_OUT=$TMP/u.html "$ROOT/build/unit/test_report_html" >"$TMP/u.out" 2>&1 || _err "unit test: $(grep FAIL "$TMP/u.out")"
    expect_grep "watched server" 'Possible memory leak' "$TMP/u.html"
    end
    in_browser html_made_up_summary_renders "$TMP/u.html"
else
    echo "SKIP html_made_up_summary: build/unit/test_report_html not built"
fi

# A path that cannot be written: one line, exit 2, before any load (-d 30s would outlast the check).
expect_bad_input html_bad_path '^barrage: --html: cannot create /nonexistent/dir/x\.html: No such file or directory$' \
    -d 30s --html /nonexistent/dir/x.html "$TARGET_URL/"

stop_target >/dev/null
