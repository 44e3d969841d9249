#!/usr/bin/env bash
# Load shapes. Closed loop: --stages / --shape / --shape-file / --users give the number of
# users (connections) over time; users retire after their request is answered. Open loop:
# --open with a shape, or -R, gives the arrival rate; --arrival poisson; --max-queue drops.
# The target answers every request after 10 ms, so a user sends about 100 requests a second
# and the workers stay mostly idle (their bookkeeping is on time even on two noisy cores).
source "$(dirname "$0")/lib.sh"
BAR_LIMIT=20

# check_intervals FILE TOL MAX_BAD [T=TARGET | skip=T]...: every interval's users are within
# TOL of its target, or of a value between it and the previous interval's target (a worker
# that once published its snapshot late stays one interval behind, so its part of the count
# is the one at the previous boundary); at most MAX_BAD intervals may miss (a snapshot
# missing altogether). Intervals ending at a skip=T are not checked: a step of the shape
# falls there, the new target holds from that instant and the users follow a moment later.
# Each T=V pins the target of the interval ending at T. Prints what is wrong.
check_intervals() {
    "$PY" -S - "$@" <<'EOF'
import json, sys
f, tol = sys.argv[1], float(sys.argv[2])
max_bad = int(sys.argv[3])
kv = [x.split("=") for x in sys.argv[4:]]
skip = set(round(float(b), 3) for a, b in kv if a == "skip")
pins = dict((round(float(a), 3), float(b)) for a, b in kv if a != "skip")
iv = json.load(open(f)).get("intervals")
if not iv: print("no intervals"); sys.exit(1)
errs, bad = [], []
by_t = dict((round(i["t"], 3), i) for i in iv)
for t, want in sorted(pins.items()):
    if t not in by_t: errs.append("no interval ends at %ss" % t)
    elif by_t[t]["target"] != want: errs.append("target at %ss is %s, expected %s" % (t, by_t[t]["target"], want))
for k, i in enumerate(iv):
    # a late worker shows the users at the previous boundary: its target, or when a step
    # fell there, anything from the target before the step
    near = [i["target"]] + [iv[m]["target"] for m in (k - 1, k - 2) if m >= 0 and
                            (m == k - 1 or round(iv[k - 1]["t"], 3) in skip)]
    lo, hi = min(near), max(near)
    if round(i["t"], 3) in skip: continue
    if not lo - tol <= i["users"] <= hi + tol: bad.append("t=%s users %s target %s" % (i["t"], i["users"], i["target"]))
if len(bad) > max_bad: errs.append("users off target: " + ", ".join(bad))
if errs: print("; ".join(errs)); sys.exit(1)
EOF
}

start_target --delay 10

# ---- closed loop: ramp 0 -> 20 over 1 s, hold 1 s, back to 0 over 1 s (no -d: 3 s)
begin closed_stages_ramp_hold_down
bar -q --json "$TMP/a.json" --stages '1s:20,1s:20,1s:0' --interval 250ms "$TARGET_URL/"
expect_rc 0
expect_range "wall-clock seconds (the shape's length)" "$BAR_WALL" 2.9 4.5
expect_range "duration_s" "$(json_get "$TMP/a.json" duration_s)" 2.95 3.3
expect_json_str "$TMP/a.json" load.model closed
expect_json_str "$TMP/a.json" load.shaped true
expect_json "$TMP/a.json" connections.max_open 20
expect_json "$TMP/a.json" connections.opened 20
# the ramp down retired all 20 users, each after its answer: nothing failed or left in flight
expect_json "$TMP/a.json" connections.closed_by_client 20
expect_json "$TMP/a.json" requests.failed 0
expect_json "$TMP/a.json" requests.in_flight 0
# 40 user-seconds (10 + 20 + 10) of 10 ms requests: at most 4000 responses, at least 3000
expect_range "requests.ok" "$(json_get "$TMP/a.json" requests.ok)" 3000 4050
expect_accounting "$TMP/a.json"
expect_num_eq "intervals" "$(json_get "$TMP/a.json" 'len(j["intervals"])')" 12
expect_num_eq "most users in an interval" "$(json_get "$TMP/a.json" 'max(i["users"] for i in j["intervals"])')" 20
expect_ok "intervals" check_intervals "$TMP/a.json" 2 1 0.25=5 0.5=10 0.75=15 1.0=20 1.5=20 2.0=20 2.5=10 3.0=0
# the rate follows the users: about 100 req/s each in the hold (one interval may miss a
# worker's snapshot), a quarter of that early on
expect_ok "rps follows users" "$PY" -S -c "
import json, sys
iv = json.load(open('$TMP/a.json'))['intervals']
hold = sorted(i['rps'] for i in iv if 1.25 <= i['t'] <= 2.0)
if len(hold) != 4 or not all(1500 <= r <= 2050 for r in hold[1:]): sys.exit('hold rps %s, expected 1500..2050' % hold)
if not iv[0]['rps'] < 0.5 * hold[1]: sys.exit('first interval rps %s not well below the hold' % iv[0]['rps'])
"
end

# ---- a retiring user finishes its request: 300 ms requests, the users leave within 100 ms
begin closed_stages_users_retire_after_answer
start_target --delay 300
bar -q --json "$TMP/r.json" --stages '300ms:10,1s:10,100ms:0' -d 2s --interval 250ms "$TARGET_URL/"
stop_target || _err "the target did not stop cleanly"
expect_rc 0
expect_range "duration_s (-d)" "$(json_get "$TMP/r.json" duration_s)" 1.95 2.3
expect_json "$TMP/r.json" connections.max_open 10
expect_json "$TMP/r.json" connections.closed_by_client 10
expect_json "$TMP/r.json" requests.failed 0
expect_json "$TMP/r.json" requests.in_flight 0
expect_json "$TMP/r.json" connections.closed_by_server 0
# every request the server saw was answered and counted: none was cut off by a retirement
expect_num_eq "server requests" "$(server_count requests)" "$(json_get "$TMP/r.json" requests.ok)"
expect_range "requests.ok" "$(json_get "$TMP/r.json" requests.ok)" 30 55
expect_num_eq "users in the last interval" "$(json_get "$TMP/r.json" 'j["intervals"][-1]["users"]')" 0
expect_accounting "$TMP/r.json"
end

start_target --delay 10

# ---- step preset: 5 users, +5 every 500 ms up to 15, held to -d
begin closed_shape_step
bar -q --json "$TMP/s.json" --shape step,by=5,every=500ms,to=15 -d 2s --interval 250ms "$TARGET_URL/"
expect_rc 0
expect_range "duration_s" "$(json_get "$TMP/s.json" duration_s)" 1.95 2.3
expect_json "$TMP/s.json" connections.max_open 15
expect_json "$TMP/s.json" connections.closed_by_client 0
expect_json "$TMP/s.json" requests.failed 0
# targets inside each step (not at the step boundaries, where the new value starts)
expect_ok "intervals" check_intervals "$TMP/s.json" 1 1 0.25=5 0.75=10 1.25=15 1.75=15 2.0=15 skip=0.5 skip=1.0
expect_accounting "$TMP/s.json"
end

# ---- spike, soak and constant presets
begin closed_shape_presets
bar -q --json "$TMP/sp.json" --shape spike,base=2,peak=12,at=500ms,for=500ms -d 1500ms --interval 250ms "$TARGET_URL/"
expect_rc 0
expect_json "$TMP/sp.json" connections.max_open 12
expect_json "$TMP/sp.json" connections.closed_by_client 10   # the spike's 10 left, the base stayed
expect_ok "spike intervals" check_intervals "$TMP/sp.json" 1 1 0.25=2 0.75=12 1.25=2 1.5=2 skip=0.5 skip=1.0
expect_accounting "$TMP/sp.json"
bar -q --json "$TMP/so.json" --shape soak,to=8,ramp=500ms -d 1500ms --interval 250ms "$TARGET_URL/"
expect_rc 0
expect_json "$TMP/so.json" connections.max_open 8
expect_json "$TMP/so.json" connections.closed_by_client 8    # ramped down to 0 within -d
expect_json "$TMP/so.json" requests.in_flight 0
expect_ok "soak intervals" check_intervals "$TMP/so.json" 1 1 0.25=4 0.75=8 1.0=8 1.25=4 1.5=0
expect_accounting "$TMP/so.json"
bar -q --json "$TMP/co.json" --shape constant,value=6 -d 1s --interval 250ms "$TARGET_URL/"
expect_rc 0
expect_json "$TMP/co.json" connections.max_open 6
expect_ok "constant intervals" check_intervals "$TMP/co.json" 0 1 0.25=6 0.5=6 0.75=6 1.0=6
expect_range "requests.ok (6 users x 1 s x ~100/s)" "$(json_get "$TMP/co.json" requests.ok)" 450 610
expect_accounting "$TMP/co.json"
end

# ---- Locust style: the first user at once, then 20 users/s up to 10 (0.45 s), held until --run-time
begin closed_users_spawn_rate_run_time
bar -q --json "$TMP/u.json" --users 10 --spawn-rate 20 --run-time 2s --interval 250ms "$TARGET_URL/"
expect_rc 0
expect_range "wall-clock seconds" "$BAR_WALL" 1.9 3.2
expect_range "duration_s" "$(json_get "$TMP/u.json" duration_s)" 1.95 2.3
expect_json "$TMP/u.json" connections.max_open 10
expect_json "$TMP/u.json" connections.closed_by_client 0
expect_ok "intervals" check_intervals "$TMP/u.json" 1 1 0.25=6 0.5=10 0.75=10 1.5=10 2.0=10
expect_le "users at 0.25s (half-way up)" "$(json_get "$TMP/u.json" 'j["intervals"][0]["users"]')" 6
expect_accounting "$TMP/u.json"
end

# ---- --shape-file: comments, blank lines, both 'T N' and 'T:N'
begin closed_shape_file
cat >"$TMP/shape.txt" <<'EOF'
# ramp to 6, hold, down to 2, hold
500ms 6

   # an indented comment
500ms:6    # a trailing comment
500ms 2
250ms:2
EOF
bar -q --json "$TMP/f.json" --shape-file "$TMP/shape.txt" --interval 250ms "$TARGET_URL/"
expect_rc 0
expect_range "duration_s (the file's 1.75 s)" "$(json_get "$TMP/f.json" duration_s)" 1.7 2.05
expect_json_str "$TMP/f.json" load.shaped true
expect_json "$TMP/f.json" connections.max_open 6
expect_json "$TMP/f.json" connections.closed_by_client 4
expect_ok "intervals" check_intervals "$TMP/f.json" 1 1 0.25=3 0.5=6 1.0=6 1.25=4 1.5=2 1.75=2
expect_accounting "$TMP/f.json"
end

# ---- open loop with a shape: 0 -> 500 req/s over 1 s, then -> 1000 over 1 s
begin open_stages_ramp
bar -q --json "$TMP/o.json" --open --stages '1s:500,1s:1000' -c 40 --interval 250ms "$TARGET_URL/"
expect_rc 0
expect_json_str "$TMP/o.json" load.model open
expect_json_str "$TMP/o.json" load.shaped true
expect_range "duration_s" "$(json_get "$TMP/o.json" duration_s)" 1.95 2.3
# the arrivals are the shape's area: 250 + 750
expect_range "requests.issued" "$(json_get "$TMP/o.json" requests.issued)" 970 1030
expect_range "rate.target (mean)" "$(json_get "$TMP/o.json" rate.target)" 490 510
expect_json "$TMP/o.json" rate.dropped 0
expect_json "$TMP/o.json" requests.failed 0
expect_accounting "$TMP/o.json"
# each interval's target is the shape's mean over it (500 t: 250 (t0 + t1)); rps follows it
# (or lies between it and the previous interval's: a worker may report one interval late)
expect_ok "intervals" "$PY" -S -c "
import json, sys
iv = json.load(open('$TMP/o.json'))['intervals']
if len(iv) != 8: sys.exit('%d intervals, expected 8' % len(iv))
t0, prev, bad = 0, None, []
for i in iv:
    want = 250 * (t0 + i['t'])
    if abs(i['target'] - want) > 1: bad.append('target at %s is %s, expected %s' % (i['t'], i['target'], want))
    lo, hi = (want, want) if prev is None else (min(want, prev), max(want, prev))
    if not 0.9 * lo - 15 <= i['rps'] <= 1.1 * hi + 15: bad.append('rps at %s is %s, target %s' % (i['t'], i['rps'], want))
    t0, prev = i['t'], want
if len(bad) > 1: sys.exit('; '.join(bad))
"
end

# ---- open loop, -R with uniform and poisson arrivals
begin open_rate_uniform
bar -q --json "$TMP/ru.json" -R 1000 -c 50 -d 2s "$TARGET_URL/"
expect_rc 0
expect_json_str "$TMP/ru.json" load.model open
expect_json_str "$TMP/ru.json" load.shaped false
expect_json_str "$TMP/ru.json" load.arrival uniform
expect_range "requests.issued (exactly 1000/s)" "$(json_get "$TMP/ru.json" requests.issued)" 1999 2001
expect_range "rate.target" "$(json_get "$TMP/ru.json" rate.target)" 999 1001
expect_json "$TMP/ru.json" rate.dropped 0
expect_num_eq "schedule_lag_us.count" "$(json_get "$TMP/ru.json" schedule_lag_us.count)" "$(json_get "$TMP/ru.json" requests.issued)"
expect_accounting "$TMP/ru.json"
end

begin open_rate_poisson
bar -q --json "$TMP/rp.json" -R 1000 -c 50 -d 2s --arrival poisson --interval 100ms "$TARGET_URL/"
expect_rc 0
expect_json_str "$TMP/rp.json" load.arrival poisson
# 2000 expected, standard deviation 45
expect_range "requests.issued" "$(json_get "$TMP/rp.json" requests.issued)" 1800 2200
expect_range "rate.target" "$(json_get "$TMP/rp.json" rate.target)" 999 1001
expect_json "$TMP/rp.json" rate.dropped 0
expect_accounting "$TMP/rp.json"
# Poisson counts per 100 ms vary as much as their mean (variance / mean about 1); uniform
# arrivals give nearly the same count every interval (about 0)
expect_ok "poisson dispersion" "$PY" -S -c "
import json, sys
iv = json.load(open('$TMP/rp.json'))['intervals'][1:-1]
n = [i['rps'] * 0.1 for i in iv]
if len(n) < 15: sys.exit('%d intervals' % len(n))
m = sum(n) / len(n)
v = sum((x - m) ** 2 for x in n) / (len(n) - 1)
if not 0.25 <= v / m <= 6: sys.exit('variance/mean of the counts per interval is %.2f, expected about 1' % (v / m))
"
end

# ---- rates below one request per thread: the shares add up (t = 0, 2, 4 s)
begin open_rate_below_threads
bar -q --json "$TMP/l1.json" -R 0.5 -t 2 -d 4.5s "$TARGET_URL/"
expect_rc 0
expect_json "$TMP/l1.json" requests.issued 3
expect_json "$TMP/l1.json" requests.ok 3
expect_range "rate.target" "$(json_get "$TMP/l1.json" rate.target)" 0.49 0.51
expect_range "duration_s" "$(json_get "$TMP/l1.json" duration_s)" 4.45 4.8
bar -q --json "$TMP/l2.json" -R 3 -t 2 -d 2s "$TARGET_URL/"
expect_rc 0
expect_json "$TMP/l2.json" requests.issued 6
expect_json "$TMP/l2.json" requests.ok 6
expect_accounting "$TMP/l2.json"
# a rate below 0.01 keeps its digits in the summary and the live rows (it read "0.00")
bar --json "$TMP/l3.json" -R 0.002 -t 1 -d 300ms --interval 100ms "$TARGET_URL/"
expect_rc 0
expect_grep "summary target" '^  Rate +target 0\.002 req/s' "$BAR_OUT"
expect_json_str "$TMP/l3.json" 'j["rate"]["target"], j["intervals"][0]["target"]' '(0.002, 0.002)'
expect_grep "live row target" '^ +0\.[0-9]s +[0-9]+ +0\.002 ' "$BAR_OUT"
end

# ---- a full queue drops: one connection, 200 ms answers, 200 req/s, room for 5 waiting.
# 4 answers fit in 1 s; 1 in flight and 5 waiting at the end; the other 190 are dropped.
begin open_max_queue_drops
start_target --delay 200
bar -q --json "$TMP/q.json" -R 200 -c 1 -t 1 --max-queue 5 -d 1s "$TARGET_URL/"
stop_target
expect_rc 0
expect_range "requests.issued" "$(json_get "$TMP/q.json" requests.issued)" 199 201
expect_range "requests.ok" "$(json_get "$TMP/q.json" requests.ok)" 3 5
expect_range "errors.dropped" "$(json_get "$TMP/q.json" errors.dropped)" 180 196
expect_num_eq "rate.dropped" "$(json_get "$TMP/q.json" rate.dropped)" "$(json_get "$TMP/q.json" errors.dropped)"
expect_le "requests.queued_at_stop" "$(json_get "$TMP/q.json" requests.queued_at_stop)" 5
expect_le "requests.in_flight" "$(json_get "$TMP/q.json" requests.in_flight)" 6
expect_json "$TMP/q.json" connections.opened 1
expect_accounting "$TMP/q.json"
expect_grep "summary names the drops" 'dropped [0-9]+' "$BAR_OUT"
end

# ---- without -d a run lasts as long as its shape, -n or not (whichever ends first): a
# shape that ends at 0 with a huge -n used to idle for ever after it.
begin shape_with_count_ends_with_the_shape
start_target
bar -q --json "$TMP/sn.json" --stages 500ms:4,0s:0 -n 100000000 -t 1 "$TARGET_URL/"
expect_rc 0
expect_le "wall-clock seconds" "$BAR_WALL" 1.5
expect_range "duration_s" "$(json_get "$TMP/sn.json" duration_s)" 0.45 0.7
expect_gt "requests.ok" "$(json_get "$TMP/sn.json" requests.ok)" 10
expect_accounting "$TMP/sn.json"
bar -q --json "$TMP/sn2.json" --stages 5s:4 -n 300 -t 1 "$TARGET_URL/"
expect_rc 0
expect_json "$TMP/sn2.json" requests.issued 300
expect_le "wall-clock seconds, -n first" "$BAR_WALL" 4
stop_target
end
