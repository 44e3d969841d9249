#!/usr/bin/env bash
# Secrets never appear in any output: header values (Authorization, X-Api-Key, Cookie), the
# password of user:password@ and secret-named query parameters are masked in the console,
# the JSON, CSV, HTML and HdrHistogram files, and in error messages. Each secret below holds
# the word SECRET; the test greps every byte barrage wrote for it.
source "$(dirname "$0")/lib.sh"
BAR_LIMIT=20

# every file under $1 plus barrage's stdout and stderr: no "SECRET" anywhere
no_secret_in() {
    local hits
    hits=$(grep -rl 'SECRET' "$1" "$BAR_OUT" "$BAR_ERR" 2>/dev/null)
    [ -z "$hits" ] || _err "a secret leaked into: $(echo "$hits" | tr '\n' ' ') ($(grep -rhoa '.\{0,30\}SECRET.\{0,10\}' "$1" "$BAR_OUT" "$BAR_ERR" | head -3 | tr '\n' '|'))"
}

start_target --api --threads 1
host=${TARGET_URL#http://}

begin secrets_quick_mode_every_output
O=$(mktemp -d "$TMP/out.XXXXXX")
bar -t 1 -c 2 -d 1s --interval 500ms -H 'Authorization: Bearer tok_SECRET_1' -H 'X-Api-Key: key_SECRET_2' \
    -H 'Cookie: sid=ck_SECRET_5' --json "$O/r.json" --csv "$O/r" --html "$O/r.html" --hdr-log "$O/r.hlog" \
    "http://user:pw_SECRET_3@$host/health?access_token=q_SECRET_4&page=1"
expect_rc 0
expect_gt "requests.ok" "$(json_get "$O/r.json" requests.ok)" 10
for f in r.json r_stats.csv r_stats_history.csv r_failures.csv r.html r.hlog; do
    [ -s "$O/$f" ] || _err "$f was not written"
done
no_secret_in "$O"
expect_json_str "$O/r.json" url "http://****@$host/health?access_token=****&page=1"
expect_grep "summary shows the masked URL" "^barrage .*http://\*\*\*\*@$host/health\?access_token=\*\*\*\*&page=1" "$BAR_OUT"
end

begin secrets_scenario_every_output
O=$(mktemp -d "$TMP/out.XXXXXX")
cat >"$TMP/s.yaml" <<YAML
target: $TARGET_URL
defaults:
  headers: { Authorization: "Bearer tok_SECRET_6" }
users:
  - name: reader
    think: 0
    on_start:
      - post: /api/login
        name: login
        json: { user: alice, password: "pw-alice" }
        capture: { token: json.access_token }
    tasks:
      - get: /health?api_key=key_SECRET_7&x=1
      - get: /api/items
        name: list
        headers: { Authorization: "Bearer \${token}", X-Session: sess_SECRET_8 }
        expect: { headers: { X-Auth-Token: tok_SECRET_9 } }
      - post: /api/login
        name: relogin
        json: { user: alice, password: "pw-alice" }
        expect: { json: { access_token: tok_SECRET_10 } }
YAML
bar -t 1 -c 2 -d 1s -s "$TMP/s.yaml" --json "$O/r.json" --csv "$O/r" --html "$O/r.html" --hdr-log "$O/r.hlog"
expect_rc 0
expect_gt "requests.ok" "$(json_get "$O/r.json" requests.ok)" 10
expect_json_str "$O/r.json" '"GET /health?api_key=****&x=1" in j["steps"]' true
expect_gt "the failed check is counted" "$(json_get "$O/r.json" errors.check)" 0
no_secret_in "$O"
end

begin secrets_not_in_errors
bar -t 1 -c 1 -d 1s "http://user:pw_SECRET_10@127.0.0.1:99999/?token=q_SECRET_11"
expect_rc 2
expect_grep "says what is wrong" 'invalid port' "$BAR_ERR"
bar -t 1 -c 1 -d 1s -H 'Authorization Bearer tok_SECRET_12' "$TARGET_URL/"
expect_rc 2
expect_grep "says what is wrong" "'Authorization ...' is not 'Name: value'" "$BAR_ERR"
no_secret_in /dev/null
end
