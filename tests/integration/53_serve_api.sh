#!/usr/bin/env bash
# The built-in target's --api mode: POST /api/login hands out a token, /api/items needs it
# (401 without), created items read back by ID (404 for another user's or a made-up one),
# /health. Requests over curl, then over raw sockets for what curl does not do: a pipelined
# burst with bodies fed one byte at a time, Expect: 100-continue, a body over the limit.
# Then barrage itself loads the API. Without --api the paths answer like /.
source "$(dirname "$0")/lib.sh"
BAR_LIMIT=15
H=$TMP/headers
B=$TMP/body
J=$TMP/api.json

if ! command -v curl >/dev/null 2>&1; then
    echo "SKIP 53_serve_api: no curl"
    exit 0
fi

# call METHOD PATH [TOKEN [BODY]]: sets CODE; headers in $H, body in $B
call() {
    local args=(-s -o "$B" -D "$H" -w '%{http_code}' -X "$1" --max-time 5)
    [ -n "${3:-}" ] && args+=(-H "Authorization: Bearer $3")
    [ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
    CODE=$(curl "${args[@]}" "$TARGET_URL$2")
}
# body_is EXPR WANT: a value of the JSON body ($B), see json_get
body_is() { expect_json_str "$B" "$1" "$2"; }
header_has() { grep -Eiq -- "^$1" "$H" || _err "no header matching /^$1/: $(tr -d '\r' <"$H" | tr '\n' '|')"; }
json_type() { grep -iq '^Content-Type: application/json' "$H" || _err "Content-Type is not application/json"; }
login() {  # USER PASSWORD: sets TOKEN (empty unless 200)
    call POST /api/login '' "{\"user\":\"$1\",\"password\":\"$2\"}"
    TOKEN=''
    [ "$CODE" = 200 ] && TOKEN=$(json_get "$B" access_token)
}

start_target --api --threads 4

begin api_login
login alice pw-alice
expect_eq "status" "$CODE" 200
json_type
body_is user alice
[[ $TOKEN =~ ^tok-[0-9a-f]{32}$ ]] || _err "token '$TOKEN' is not tok- and 32 hex digits"
expect_eq "keys" "$(json_get "$B" 'sorted(j)')" '["access_token","user"]'
ALICE=$TOKEN
login alice pw-alice
expect_eq "the same user's second token" "$TOKEN" "$ALICE"
login bob pw-bob
BOB=$TOKEN
[ -n "$BOB" ] && [ "$BOB" != "$ALICE" ] || _err "bob's token '$BOB' (alice's '$ALICE')"
login 'caf\u00e9 \"q\"' 'pw-caf\u00e9 \"q\"'   # escapes in the JSON body
expect_eq "escaped user: status" "$CODE" 200
body_is user 'café "q"'
end

begin api_login_refused
login alice wrong
expect_eq "wrong password" "$CODE" 401
json_type
body_is error "bad credentials"
login alice pw-bob
expect_eq "another user's password" "$CODE" 401
call POST /api/login '' '{"user":"alice"'
expect_eq "garbled body" "$CODE" 400
body_is error "bad request"
call POST /api/login '' ''
expect_eq "no body" "$CODE" 400
call POST /api/login '' '["alice","pw-alice"]'
expect_eq "an array" "$CODE" 400
call POST /api/login '' '{"user":"alice","password":5}'
expect_eq "a number for a password" "$CODE" 400
call GET /api/login
expect_eq "GET /api/login" "$CODE" 405
header_has 'Allow: POST'
end

begin api_items_need_token
call GET '/api/items?page=2'
expect_eq "no token" "$CODE" 401
json_type
body_is error unauthorized
header_has 'WWW-Authenticate: Bearer'
forged=${ALICE:0:35}$([ "${ALICE: -1}" = 0 ] && echo 1 || echo 0)   # last digit changed
call GET '/api/items?page=2' "$forged"
expect_eq "a forged token" "$CODE" 401
call GET '/api/items?page=2' nonsense
expect_eq "a token of another shape" "$CODE" 401
CODE=$(curl -s -o "$B" -w '%{http_code}' -H "Authorization: Basic $ALICE" "$TARGET_URL/api/items")
expect_eq "not Bearer" "$CODE" 401
call POST /api/items '' '{"title":"x"}'
expect_eq "create without token" "$CODE" 401
call GET /api/items/AAAAAAAAAAAAAAAAAAAAAA
expect_eq "read without token" "$CODE" 401
end

begin api_items_list
call GET '/api/items?page=7' "$ALICE"
expect_eq "status" "$CODE" 200
json_type
body_is page 7
expect_eq "items" "$(json_get "$B" 'len(j["items"])')" 5
expect_eq "titles" "$(json_get "$B" '[i["title"] for i in j["items"]]')" \
    '["item 7.1","item 7.2","item 7.3","item 7.4","item 7.5"]'
first=$(json_get "$B" 'j["items"][0]["id"]')
call GET '/api/items' "$ALICE"
body_is page 1
call GET '/api/items?sort=x&page=3' "$ALICE"
body_is page 3
for p in 0 x -1 1000001; do
    call GET "/api/items?page=$p" "$ALICE"
    expect_eq "page=$p" "$CODE" 400
done
call GET "/api/items/$first" "$ALICE"
expect_eq "a listed item read back" "$CODE" 200
body_is title "item 7.1"
end

begin api_items_create_read
create_body='{"title":"item 1f0e \"quoted\" \\ tab\t end"}'   # JSON escapes
call POST /api/items "$ALICE" "$create_body"
expect_eq "create" "$CODE" 201
json_type
header_has 'ETag: "[0-9a-f]{16}"'
etag=$(grep -i '^ETag:' "$H" | tr -d '\r' | cut -d' ' -f2)
id=$(json_get "$B" id)
header_has "Location: /api/items/$id"
body_is title $'item 1f0e "quoted" \\ tab\t end'
[[ $id =~ ^[A-Za-z0-9_-]+$ ]] || _err "id '$id' is not URL-safe"
call POST /api/items "$ALICE" "$create_body"
id2=$(json_get "$B" id)
[ "$id2" != "$id" ] || _err "the same title created twice has one id"
call GET "/api/items/$id" "$ALICE"
expect_eq "read back" "$CODE" 200
body_is id "$id"
body_is title $'item 1f0e "quoted" \\ tab\t end'
header_has "ETag: $etag"
grep -qF -- "$id" "$B" || _err "the body does not contain the id"
call GET "/api/items/$id" "$BOB"
expect_eq "another user's item" "$CODE" 404
json_type
body_is error "not found"
call GET "/api/items/${id:0:10}$([ "${id:10:1}" = x ] && echo y || echo x)${id:11}" "$ALICE"
expect_eq "a damaged id" "$CODE" 404
call GET /api/items/AAAA "$ALICE"
expect_eq "a made-up id" "$CODE" 404
call GET '/api/items/a%2Fb' "$ALICE"
expect_eq "an id with escapes" "$CODE" 404
call POST /api/items "$ALICE" '{"name":"x"}'
expect_eq "no title" "$CODE" 400
call POST /api/items "$ALICE" "{\"title\":\"$(printf '%0129d' 0)\"}"
expect_eq "a title over 128 bytes" "$CODE" 400
call POST "/api/items/$id" "$ALICE" '{}'
expect_eq "POST to an item" "$CODE" 405
call DELETE /api/items "$ALICE"
expect_eq "DELETE /api/items" "$CODE" 405
end

begin api_health_and_others
call GET /health
expect_eq "health" "$CODE" 200
json_type
body_is status ok
call GET /api/nothing "$ALICE"
expect_eq "an unknown /api/ path" "$CODE" 404
CODE=$(curl -s -o /dev/null -D "$H" -w '%{http_code}' -I "$TARGET_URL/health")
expect_eq "HEAD /health" "$CODE" 200   # and no body: see api_pipelined_split_bodies
header_has 'Content-Length: 15'
call GET /bytes/5
expect_eq "/bytes/5 still there" "$(cat "$B")" "Hello"
end

# Raw sockets: a login, a create and a read of it pipelined, with Content-Length bodies,
# sent in one piece and one byte at a time; every connection lands on one of 4 threads, and
# the token and id from one are good on every other.
begin api_pipelined_split_bodies
out=$("$PY" -S - "$TARGET_PORT" <<'PY' 2>&1
import json, socket, sys
port = int(sys.argv[1])

def conn():
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(5)
    return s

def read_response(s, buf):
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d: raise SystemExit("closed early")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    hdr = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    n = int(hdr["content-length"])
    while len(rest) < n:
        d = s.recv(65536)
        if not d: raise SystemExit("closed in a body")
        rest += d
    return int(lines[0].split()[1]), hdr, rest[:n], rest[n:]

def post(path, obj, token=None):
    body = json.dumps(obj).encode()
    auth = b"Authorization: Bearer " + token.encode() + b"\r\n" if token else b""
    return (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n" + auth +
            b"Content-Length: %d\r\n\r\n" % len(body) + body)

def get(path, token):
    return b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode() + b"\r\n\r\n"

s = conn()
s.sendall(post(b"/api/login", {"user": "carol", "password": "pw-carol"}))
st, h, body, _ = read_response(s, b"")
token = json.loads(body)["access_token"]

for bytewise in (False, True):
    burst = (post(b"/api/items", {"title": "split %s" % bytewise}, token) +
             post(b"/api/login", {"user": "dave", "password": "pw-nope"}) +
             get(b"/health", token) + post(b"/api/items", {"title": "second"}, token))
    s = conn()
    if bytewise:
        for i in range(len(burst)):
            s.sendall(burst[i:i + 1])
    else:
        s.sendall(burst)
    buf = b""
    got = []
    for _ in range(4):
        st, h, body, buf = read_response(s, buf)
        got.append((st, json.loads(body)))
    assert [g[0] for g in got] == [201, 401, 200, 201], got
    assert got[0][1]["title"] == "split %s" % bytewise, got
    ids = [got[0][1]["id"], got[3][1]["id"]]
    # read back on fresh connections (SO_REUSEPORT spreads them over the threads)
    for i, item in enumerate(ids * 4):
        c = conn()
        c.sendall(get(b"/api/items/" + item.encode(), token))
        st, h, body, _ = read_response(c, b"")
        assert st == 200 and json.loads(body)["id"] == item, (st, body)
        c.close()

# Expect: 100-continue: the interim answer, then the response once the body is sent.
s = conn()
body = json.dumps({"title": "expected"}).encode()
s.sendall(b"POST /api/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode() +
          b"\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
assert buf.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), buf
s.sendall(body)
st, h, rb, _ = read_response(s, buf[len(b"HTTP/1.1 100 Continue\r\n\r\n"):])
assert st == 201 and json.loads(rb)["title"] == "expected", (st, rb)

# HEAD: the head of GET's answer, no body (the next response follows at once).
s = conn()
s.sendall(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n" + get(b"/health", token))
buf = b""
while buf.count(b"\r\n\r\n") < 2:
    buf += s.recv(4096)
head, rest = buf.split(b"\r\n\r\n", 1)
assert b"Content-Length: 15" in head and rest.startswith(b"HTTP/1.1 200 OK\r\n"), buf
st, h, rb, _ = read_response(s, rest)
assert st == 200 and json.loads(rb) == {"status": "ok"}, (st, rb)

# A body over 16 KiB: 413, and the connection goes on with the next request.
big = json.dumps({"title": "x" * 20000}).encode()
s = conn()
s.sendall(b"POST /api/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode() +
          b"\r\nContent-Length: %d\r\n\r\n" % len(big) + big + get(b"/health", token))
st, h, rb, buf = read_response(s, b"")
assert st == 413 and json.loads(rb)["error"] == "body too large", (st, rb)
st, h, rb, buf = read_response(s, buf)
assert st == 200 and json.loads(rb) == {"status": "ok"}, (st, rb)
print("ok")
PY
)
expect_eq "raw-socket checks" "$out" ok
end

# barrage against the API: the right statuses, nothing failed, pipelined bodies included.
begin api_under_load
login erin pw-erin
bar -q --json "$J" -t 1 -c 4 --pipeline 8 -d 1s -m POST -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -b '{"title":"load"}' "$TARGET_URL/api/items"
expect_rc 0
expect_json "$J" requests.failed 0
expect_gt "201 responses" "$(json_get "$J" status.201)" 100
expect_eq "statuses" "$(json_get "$J" 'sorted(j["status"])')" '["201"]'
expect_accounting "$J"
bar -q --json "$J" -t 1 -c 4 -d 1s "$TARGET_URL/api/items?page=2"
expect_eq "statuses without a token" "$(json_get "$J" 'sorted(j["status"])')" '["401"]'
end
stop_target || echo "FAIL api_target_stop: the target did not stop cleanly"

begin api_off_by_default
start_target
call POST /api/login '' '{"user":"alice","password":"pw-alice"}'
expect_eq "status" "$CODE" 200
expect_eq "body" "$(cat "$B")" "Hello, World!"
call GET /api/items
expect_eq "items without --api" "$CODE" 200
call GET /health
expect_eq "health without --api" "$(cat "$B")" "Hello, World!"
stop_target || _err "the target did not stop cleanly"
end
