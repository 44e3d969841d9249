#!/usr/bin/env bash
# The --json file's shape against golden files: every key path with its value's type (lists
# collapsed to their first element), so that a field that disappears, is renamed or changes
# type fails here and the README's field table is updated with it. A new field means updating
# tests/golden/json_shape_*.txt (run with GOLDEN_UPDATE=1) and the README.
source "$(dirname "$0")/lib.sh"
BAR_LIMIT=20

shape() {  # json-file > shape
    "$PY" -S - "$1" <<'PY'
import json, sys
# status codes, step names and failure reasons are data, not fields
DATA = {".status", ".steps", ".steps.*.failures", ".tls.errors"}
def walk(v, path, out):
    t = {dict: "object", list: "array", str: "string", bool: "bool", type(None): "null"}.get(type(v), "number")
    out.add("%s: %s" % (path or ".", t))
    if isinstance(v, dict):
        for k, x in v.items():
            walk(x, path + "." + ("*" if path in DATA else k), out)
    elif isinstance(v, list) and v:
        walk(v[0], path + "[]", out)
out = set()
walk(json.load(open(sys.argv[1])), "", out)
print("\n".join(sorted(out)))
PY
}

check_shape() {  # name json
    local golden=$ROOT/tests/golden/json_shape_$1.txt
    shape "$2" >"$TMP/$1.shape" || { _err "cannot read $2"; return; }
    if [ -n "${GOLDEN_UPDATE:-}" ]; then cp "$TMP/$1.shape" "$golden"; fi
    if ! diff -u "$golden" "$TMP/$1.shape" >"$TMP/$1.diff"; then
        _err "JSON shape differs from tests/golden/json_shape_$1.txt: $(grep '^[-+][^-+]' "$TMP/$1.diff" | head -5 | tr '\n' ' ')"
    fi
}

start_target --api --threads 1

begin json_shape_quick_mode
bar -q -t 1 -c 2 -d 2500ms --interval 250ms --json "$TMP/q.json" --watch-pid "$TARGET_PID" --threshold 'p99<1s' "$TARGET_URL/health"
expect_rc 0
check_shape quick "$TMP/q.json"
end

begin json_shape_open_loop_https_free
bar -q -t 1 -c 2 -R 200 -d 1s --json "$TMP/o.json" "$TARGET_URL/health"
expect_rc 0
check_shape open_loop "$TMP/o.json"
end

begin json_shape_scenario
cat >"$TMP/s.yaml" <<YAML
target: $TARGET_URL
users:
  - name: u
    think: 0
    tasks:
      - get: /health
        name: health
      - get: /nope
        name: missing
        expect: { status: 200 }
YAML
bar -q -t 1 -c 2 -d 1s -s "$TMP/s.yaml" --json "$TMP/s.json"
expect_rc 0
check_shape scenario "$TMP/s.json"
end

# A URL with bytes that are not UTF-8 (Latin-1 é) still gives JSON that parses; valid
# UTF-8 is kept as it is.
begin json_url_not_utf8
bar -q -t 1 -c 1 -n 2 --json "$TMP/u.json" "$TARGET_URL/caf"$'\xe9'"/"$'\xc3\xa9'
expect_rc 0
expect_json_str "$TMP/u.json" 'j["url"].endswith("/caf\ufffd/\u00e9")' true
end

# --json - (or /dev/stdout): the JSON alone on stdout, the report on stderr, and a file the
# shell appends stdout to is appended to, not truncated.
begin json_to_stdout
printf 'EARLIER LINE\n' >"$TMP/log.txt"
timeout -k 2 20 "$BARRAGE" -t 1 -c 2 -n 50 --json /dev/stdout "$TARGET_URL/" >>"$TMP/log.txt" 2>"$BAR_ERR"
expect_num_eq "exit code" "$?" 0
expect_eq "earlier line kept" "$(head -1 "$TMP/log.txt")" "EARLIER LINE"
expect_ok "the rest is one JSON document" "$PY" -c "
import json, sys
j = json.loads(open('$TMP/log.txt').read().split('\n', 1)[1])
sys.exit(0 if j['requests']['ok'] == 50 else 'ok %d' % j['requests']['ok'])"
expect_grep "the summary on stderr" '^  Requests +50 issued' "$BAR_ERR"
timeout -k 2 20 "$BARRAGE" -t 1 -c 2 -n 20 -q --json - "$TARGET_URL/" >"$TMP/dash.out" 2>/dev/null
expect_json "$TMP/dash.out" requests.ok 20
[ -e ./- ] && _err "a file named '-' was written"
end

# --hdr-log - and --html - as --json -: the report alone on stdout, no file named '-'; two
# reports cannot share stdout.
begin hdr_log_and_html_to_stdout
timeout -k 2 20 "$BARRAGE" -t 1 -c 2 -n 30 -q --hdr-log - "$TARGET_URL/" >"$TMP/hl.out" 2>"$BAR_ERR"
expect_num_eq "exit code" "$?" 0
expect_eq "an HdrHistogram log on stdout" "$(head -1 "$TMP/hl.out")" "#[Histogram log format version 1.3]"
expect_grep "with an interval" '^[0-9.]+,[0-9.]+,[0-9.]+,HIST' "$TMP/hl.out"
expect_grep "the summary on stderr" '^  Requests +30 issued' "$BAR_ERR"
timeout -k 2 20 "$BARRAGE" -t 1 -c 2 -n 30 -q --html /dev/stdout "$TARGET_URL/" >"$TMP/h.out" 2>/dev/null
expect_num_eq "exit code" "$?" 0
expect_eq "an HTML page alone on stdout" "$(head -c 15 "$TMP/h.out")" "<!DOCTYPE html>"
expect_eq "ending the page" "$(tail -1 "$TMP/h.out")" "</body></html>"
bar -q -t 1 -c 2 -n 30 --html - --json - "$TARGET_URL/"
expect_rc 2
expect_grep "says which two" "--json - and --html - both write to standard output" "$BAR_ERR"
[ -e ./- ] && _err "a file named '-' was written"
end
