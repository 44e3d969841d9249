/* Scenario users on the worker's connections (-s FILE): rendering each step into its
 * connection's buffer, recording per-step statistics, checks and captures on responses,
 * think time, --share-connections (users waiting for a free connection) and open-loop
 * arrivals (each a user that runs one task). The walk through the steps is user.c's; the
 * connections are worker.c's. Runs on the worker thread; allocates only when a user's
 * request or kept response outgrows its buffer (in 256-byte steps, then never again).
 *
 * Where the quick mode sends the plan's pre-built bytes, a scenario user's request is
 * rendered from its current step into the connection's own buffer (req), and the
 * response is kept (rsp) when the step captures or checks more than the status. */
#include "worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Grows a per-connection or scratch buffer to at least `need` bytes (rounded up); the
 * buffers only grow, to the largest request or response a user sends or keeps, so this
 * allocates on the first requests of a run, not per request. Returns false when out of
 * memory or past `limit`. */
static bool grow(char **buf, uint32_t *cap, size_t need, size_t limit)
{
    if (need <= *cap) return true;
    if (need > limit) return false;
    size_t c = (need + 255) & ~(size_t)255;  /* small steps: thousands of idle users each hold these */
    char *b = realloc(*buf, c);
    if (!b) return false;
    *buf = b;
    *cap = (uint32_t)c;
    return true;
}

/* Renders user u's current step into connection idx's request buffer; returns its
 * length, or 0 when it cannot be built (too large: over 16 MiB, or out of memory). */
static size_t render_request(struct worker_state *s, uint32_t idx, uint32_t u, uint64_t now)
{
    uint64_t seq = s->users.seq, rng = s->users.rng;
    for (int tries = 0; tries < 4; tries++) {  /* the body, the head, its cookies */
        /* a rendering again, into grown buffers, draws the same ${seq}, ${rand}, ${uuid} */
        s->users.seq = seq;
        s->users.rng = rng;
        size_t body_need;
        size_t n = user_render(&s->users, u, s->req[idx], s->req_cap[idx], s->scratch, s->scratch_cap, &body_need,
                               now);
        if (body_need) {
            uint32_t cap = (uint32_t)s->scratch_cap;
            if (!grow(&s->scratch, &cap, body_need, 16u << 20)) return 0;
            s->scratch_cap = cap;
        } else if (n > s->req_cap[idx]) {
            if (!grow(&s->req[idx], &s->req_cap[idx], n, 16u << 20)) return 0;
        } else {
            return n;
        }
    }
    return 0;
}

/* Counts one finished request of user u's current step in its step statistics. */
static void step_record(struct worker_state *s, uint32_t u, const char *why, uint64_t latency_us)
{
    const struct scn_step *st = user_step(&s->users, u);
    struct step_stats *ss = &s->cur->steps[st->stat];
    if (latency_us != UINT64_MAX) hist_record(ss->latency, latency_us);
    if (!why) {
        ss->ok++;
        return;
    }
    ss->failed++;
    stats_reason(ss->reasons, STATS_STEP_REASONS, why, 1);
}

/* The one step of a static program (plan.h, static_program). */
static const struct scn_step *static_step(const struct worker_state *s)
{
    return &s->plan->scenario->classes[0].tasks[0].steps[0];
}

void static_step_done(struct worker_state *s, const struct http_resp *r, uint64_t latency_ns)
{
    const struct scn_step *st = static_step(s);
    struct step_stats *ss = &s->cur->steps[st->stat];
    unsigned code = r->status;
    hist_record(ss->latency, latency_ns / 1000);
    ss->body_bytes += r->body_bytes;
    if (scn_status_ok(st, code)) {
        s->cur->ok++;
        ss->ok++;
        return;
    }
    char why[EXTRACT_WHY_LEN];
    snprintf(why, sizeof(why), "status %u (expected %s)", code, st->status_text);
    count_failures(s, ERR_STATUS, 1);
    ss->failed++;
    stats_reason(ss->reasons, STATS_STEP_REASONS, why, 1);
}

void static_step_failed(struct worker_state *s, enum err_class e, uint64_t n, const char *why)
{
    if (e == ERR_STATUS) return;
    struct step_stats *ss = &s->cur->steps[static_step(s)->stat];
    ss->failed += n;
    stats_reason(ss->reasons, STATS_STEP_REASONS, why ? why : err_class_name(e), n);
}

/* Open loop: user slot u has finished its task (or stopped): free for the next arrival. */
static void slot_free(struct worker_state *s, uint32_t u)
{
    if (!s->free_slots || s->slot_free_now[u] || s->users.users[u].state != USER_STOPPED) return;
    s->slot_free_now[u] = 1;
    s->free_slots[s->nfree++] = u;
    s->cur->arrivals_done++;
}

/* --share-connections: user u wants a connection; it waits in the FIFO, which the loop
 * serves from the idle connections (serve_waiters). */
void user_enqueue(struct worker_state *s, uint32_t u, uint64_t now)
{
    if (s->uqueued[u]) return;
    uint32_t slot = s->uf_head + s->uf_len++;
    if (slot >= s->users.n) slot -= s->users.n;
    s->ufifo[slot] = u;
    s->ufifo_at[slot] = now;
    s->uqueued[u] = 1;
    s->uslot[u] = slot;
}

/* User u's request from before the shape retired it has ended (answered or failed): if the
 * shape brought the user back meanwhile, it starts now, as a new user. Returns whether it did. */
static bool restart_when_done(struct worker_state *s, uint32_t u, uint64_t now)
{
    if (!s->restart_when_free[u] || s->users.users[u].state != USER_STOPPED) return false;
    s->restart_when_free[u] = 0;
    user_start(&s->users, u, now);
    return true;
}

/* The request on connection idx failed without a usable response (connect, reset,
 * timeout, ...): counted for its user's step; the user moves on as on_failure says. The
 * connection is being closed, so nothing is sent from here: a READY user sends once
 * reconnected (or, sharing, once it gets a connection). */
void step_failed(struct worker_state *s, uint32_t idx, const char *why, uint64_t now)
{
    uint32_t u = user_of(s, idx);
    if (u == USER_NONE) return;
    step_record(s, u, why, UINT64_MAX);
    enum user_next next = user_step_done(&s->users, u, true, now);  /* a stopped (retired) user stays stopped */
    if (next == USER_STOP && restart_when_done(s, u, now)) next = USER_SEND;
    if (s->conn_user) {
        s->conn_user[idx] = USER_NONE;
        if (next == USER_SEND) user_enqueue(s, u, now);
    }
    if (next == USER_STOP) slot_free(s, u);
}

/* Sends the current step of connection idx's user, when the user is ready and the
 * connection free (or re-sends a request the server closed on unread: c->owed). */
void user_send(struct worker_state *s, struct conn *c, uint32_t idx, uint64_t now)
{
    const struct plan *p = s->plan;
    uint32_t uid = user_of(s, idx);
    if (uid == USER_NONE || c->sending || c->server_closing || c->inflight || idx >= s->active) return;
    struct user *u = &s->users.users[uid];
    bool resend = c->owed > 0;
    if (!resend && (u->state != USER_READY || !budget_left(s))) return;
    if (!resend && p->requests_per_conn && c->sent >= p->requests_per_conn) return;
    const struct scn_step *st = user_step(&s->users, uid);
    /* sent again (the server closed on it unread): the same bytes, ${seq} and all */
    size_t len = resend && s->req_len[idx] ? s->req_len[idx] : render_request(s, idx, uid, now);
    s->req_len[idx] = (uint32_t)len;
    if (!len) {  /* cannot be built: the step fails without being sent */
        s->issued++;
        s->cur->issued++;
        count_failures(s, ERR_CHECK, 1);
        step_record(s, uid, "request over 16 MiB or out of memory", UINT64_MAX);
        user_retire(&s->users, uid);  /* it would fail again at once: the user stops */
        if (s->conn_user) s->conn_user[idx] = USER_NONE;
        slot_free(s, uid);
        return;
    }
    if (resend) {  /* already issued and timed; first on a new connection, no longer reused */
        s->cur->reused_requests--;
        c->retried = 1;
        c->owed = 0;
    } else {
        if (s->clock_after_extract > now) now = s->clock_after_extract;
        s->sent_at[idx] = now;  /* pipeline is 1 with scenarios: one slot per connection */
        if (s->intended) s->intended[idx] = now;  /* serve_waiters moves it back to the wait's start */
        s->inflight++;
        s->issued++;
        s->cur->issued++;
        if (c->sent) s->cur->reused_requests++;
    }
    c->inflight = 1;
    c->sent++;
    u->state = USER_BUSY;
    s->rsp_keep[idx] = st->extract.needs_body ? RSP_KEEP_ALL : s->users.jars ? RSP_KEEP_HEAD : 0;
    s->rsp_len[idx] = 0;
    http_resp_start(&c->parser, st->head_method);
    s->cur->bytes_sent += len;
    worker_send_bytes(s, c, idx, s->req[idx], len);
}

/* --share-connections: connection idx is free of its request. Its user keeps it for the
 * next step of its task; a user that thinks, stopped, or starts a task while others wait
 * in line lets it go, to the idle stack (serve_waiters hands idle connections to waiting
 * users, oldest first). Without the last, users that never think would keep theirs for
 * good and the others would never run. */
void share_next(struct worker_state *s, struct conn *c, uint32_t idx, uint64_t now)
{
    /* Part of a response read: the connection stays with the request's user, even one the
     * shape has stopped meanwhile (the rest of the response is still its own). */
    if (c->inflight) return;
    uint32_t u = s->conn_user[idx];
    if (u != USER_NONE && s->user_conn[u] != idx) u = USER_NONE;  /* it has moved on to another */
    if (u != USER_NONE && s->restart_when_free && s->restart_when_free[u] &&
        s->users.users[u].state == USER_STOPPED) {  /* answered: now it can start again */
        s->restart_when_free[u] = 0;
        user_start(&s->users, u, now);
    }
    if (u != USER_NONE && s->users.users[u].state == USER_READY && !c->owed && s->uf_len &&
        s->users.users[u].step == 0) {  /* a new task, and others wait: to the back of the line */
        user_enqueue(s, u, now);
        u = USER_NONE;
    }
    if (u != USER_NONE && (c->owed || s->users.users[u].state == USER_READY)) {
        user_send(s, c, idx, now);
        return;
    }
    if (u != USER_NONE && s->users.users[u].state == USER_BUSY) return;  /* still its request */
    s->conn_user[idx] = USER_NONE;
    if (c->state == C_OPEN && !c->inflight && !c->sending && !c->server_closing && c->idle_pos == NOT_IDLE)
        worker_idle_push(s, idx);
}

/* --share-connections: waiting users take idle connections, oldest first; the wait is
 * the pool wait. */
void serve_waiters(struct worker_state *s, uint64_t now)
{
    while (s->uf_len && s->nidle) {
        uint32_t u = s->ufifo[s->uf_head];
        uint64_t at = s->ufifo_at[s->uf_head];
        if (++s->uf_head == s->users.n) s->uf_head = 0;
        s->uf_len--;
        s->uqueued[u] = 0;
        if (s->users.users[u].state != USER_READY) continue;  /* retired meanwhile */
        if (s->stopping) break;
        uint32_t idx = worker_idle_pop(s);
        hist_record(s->cur->pool_wait, (now > at ? now - at : 0) / 1000);
        s->conn_user[idx] = u;
        s->user_conn[u] = idx;
        user_send(s, &s->conns[idx], idx, now);
        if (s->intended) s->intended[idx] = at;  /* latency_from_wait: from the wait's start */
    }
}

/* --share-connections: user u, taken from the line, fails its step without having had a
 * connection: its request counts as issued and failed (cls). */
static void waiter_failed(struct worker_state *s, uint32_t u, enum err_class cls, const char *why, uint64_t now)
{
    s->issued++;
    s->cur->issued++;
    count_failures(s, cls, 1);
    step_record(s, u, why, UINT64_MAX);
    enum user_next next = user_step_done(&s->users, u, true, now);
    if (next == USER_SEND) user_enqueue(s, u, now);
    else if (next == USER_STOP) slot_free(s, u);
}

/* --share-connections: users that waited for a connection as long as their step's
 * timeout fail that step as a timeout. */
void waiters_time_out(struct worker_state *s, uint64_t now)
{
    while (s->uf_len) {
        uint32_t u = s->ufifo[s->uf_head];
        /* A user can join the line after the caller read the clock (a close times its
         * failure later): it has waited 0, not a wrapped-around lifetime. */
        uint64_t at = s->ufifo_at[s->uf_head], waited = now > at ? now - at : 0;
        if (s->users.users[u].state == USER_READY && waited < user_step(&s->users, u)->timeout_ns) break;
        if (++s->uf_head == s->users.n) s->uf_head = 0;
        s->uf_len--;
        s->uqueued[u] = 0;
        if (s->users.users[u].state != USER_READY) continue;
        if (!budget_left(s)) continue;  /* -n is spent: its request would never have gone out */
        s->cur->timeouts_queued++;
        waiter_failed(s, u, ERR_TIMEOUT, "no connection within the timeout", now);
    }
}

uint64_t waiter_failed_first(struct worker_state *s, enum err_class cls, uint64_t now)
{
    while (s->uf_len) {
        uint32_t u = s->ufifo[s->uf_head];
        if (++s->uf_head == s->users.n) s->uf_head = 0;
        s->uf_len--;
        s->uqueued[u] = 0;
        if (s->users.users[u].state != USER_READY) continue;  /* retired meanwhile */
        if (!budget_left(s)) return 0;  /* -n is spent: its request would never have gone out */
        waiter_failed(s, u, cls, err_class_name(cls), now);
        return 1;
    }
    return 0;
}

void rsp_keep_bytes(struct worker_state *s, uint32_t idx, const char *data, size_t n)
{
    uint32_t have = s->rsp_len[idx];
    if (!grow(&s->rsp[idx], &s->rsp_cap[idx], (size_t)have + n, RSP_KEEP_MAX)) {
        s->rsp_keep[idx] = RSP_KEEP_OVER;  /* the bytes kept stay: the head, for the user's cookies */
        return;
    }
    memcpy(s->rsp[idx] + have, data, n);
    s->rsp_len[idx] = have + (uint32_t)n;
}

/* A scenario response is complete: status, checks and captures decide whether the
 * step passed; the user moves on. */
void user_response(struct worker_state *s, struct conn *c, uint32_t idx,
                                                    uint64_t latency_us, uint64_t now)
{
    uint32_t u = user_of(s, idx);
    const struct scn_step *st = user_step(&s->users, u);
    unsigned code = c->parser.status;
    char why[EXTRACT_WHY_LEN];
    const char *failed = NULL;
    enum err_class cls = ERR_CHECK;
    /* cookies first: a response sets them whatever its status or length (one too long for
     * the checks kept its head) */
    bool cookie_oom = s->users.jars && c->parser.set_cookie && s->rsp_len[idx] &&
                      user_take_cookies(&s->users, u, s->req[idx], s->req_len[idx], s->rsp[idx], s->rsp_len[idx], now);
    if (!scn_status_ok(st, code)) {
        snprintf(why, sizeof(why), "status %u (expected %s)", code, st->status_text);
        failed = why;
        cls = ERR_STATUS;
    } else if (cookie_oom) {
        failed = "out of memory for a cookie";
    } else if (st->extract.needs_body) {
        if (s->rsp_keep[idx] == RSP_KEEP_OVER) {
            snprintf(why, sizeof(why), "response over %u bytes: too long for captures and checks", RSP_KEEP_MAX);
            failed = why;
        } else if (user_extract(&s->users, u, s->rsp[idx], s->rsp_len[idx], s->scratch, s->scratch_cap, why)) {
            failed = why;
        }
        if (s->rsp_cap[idx] > RSP_KEEP_IDLE) {
            free(s->rsp[idx]);
            s->rsp[idx] = NULL;
            s->rsp_cap[idx] = 0;
        }
        s->clock_after_extract = now = mono_ns();
    }
    if (failed) count_failures(s, cls, 1);
    else s->cur->ok++;
    s->cur->steps[st->stat].body_bytes += c->parser.body_bytes;
    step_record(s, u, failed, latency_us);
    if (user_step_done(&s->users, u, failed != NULL, now) != USER_STOP) return;
    /* sharing, share_next starts a user brought back once the connection is free */
    if (!s->conn_user && restart_when_done(s, u, now)) return;
    slot_free(s, u);
}

/* Thinking users whose time has come: their next task starts (on their connection when
 * it is open and free, otherwise once it is; sharing, on the next free connection). */
void wake_users(struct worker_state *s, uint64_t now)
{
    uint32_t i;
    while ((i = user_due(&s->users, now)) != USER_NONE)
        if (s->conn_user) user_enqueue(s, i, now);
        else if (s->conns[i].state == C_OPEN) user_send(s, &s->conns[i], i, now);
}


/* Open loop with a scenario: an arrival is a new user that runs on_start and one task,
 * on the shared connections; its pool wait runs from the schedule. No free slot: dropped
 * (counted against its class's first step). */
void scenario_arrival(struct worker_state *s, uint64_t at)
{
    uint32_t cls = user_pick_class(&s->users);
    if (!s->nfree) {
        const struct scn_class *c = &s->scn->classes[cls];
        const struct scn_step *first = c->non_start ? &c->on_start[0] : &c->tasks[0].steps[0];
        struct step_stats *ss = &s->cur->steps[first->stat];
        ss->failed++;
        stats_reason(ss->reasons, STATS_STEP_REASONS, "dropped: every user slot busy (--max-queue)", 1);
        s->issued++;
        s->cur->issued++;
        count_failures(s, ERR_DROPPED, 1);
        return;
    }
    uint32_t u = s->free_slots[--s->nfree];
    s->slot_free_now[u] = 0;
    struct user *usr = &s->users.users[u];
    usr->cls = cls;
    usr->gid = s->arrivals++ * s->plan->threads + s->w->id;
    user_start(&s->users, u, at);
    user_enqueue(s, u, at);
}

/* A user holds a connection exactly while its request is out (between steps it sends at
 * once, and it lets the connection go when it thinks), or owed: to be sent again once the
 * connection the server closed on it is back. */
static bool user_busy(const struct worker_state *s, uint32_t u)
{
    uint32_t idx = s->user_conn[u];
    return idx < s->w->nconns && s->conn_user[idx] == u && (s->conns[idx].inflight || s->conns[idx].owed);
}

void share_set_users(struct worker_state *s, uint32_t want, uint64_t now)
{
    if (want > s->users.n) want = s->users.n;
    uint32_t old = s->users_active;
    /* Retired users finish the request they have out (its answer is counted), then stop;
     * a waiting or thinking one stops at once (serve_waiters skips it). */
    for (uint32_t u = want; u < old; u++) {
        user_retire(&s->users, u);
        s->restart_when_free[u] = 0;
    }
    /* A new user each time; one whose request from before is still out starts once answered. */
    for (uint32_t u = old; u < want; u++) {
        if (user_busy(s, u)) {
            s->restart_when_free[u] = 1;
            continue;
        }
        user_start(&s->users, u, now);
        /* still in line from before it was retired: the new user's wait starts now */
        if (s->uqueued[u]) s->ufifo_at[s->uslot[u]] = now;
        else if (s->users.users[u].state == USER_READY) user_enqueue(s, u, now);
    }
    s->users_active = want;
}
