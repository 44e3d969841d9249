/* Scenario users: the per-worker state machine. See user.h. */
#include "user.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t next_rand(uint64_t *state)
{
    uint64_t x = *state;  /* xorshift64* */
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ull;
}

/* ---- the timer heap of thinking users ---- */

static void heap_swap(struct user_pool *up, uint32_t a, uint32_t b)
{
    uint32_t ua = up->heap[a], ub = up->heap[b];
    up->heap[a] = ub, up->heap[b] = ua;
    up->users[ub].heap_pos = a;
    up->users[ua].heap_pos = b;
}

static void heap_up(struct user_pool *up, uint32_t k)
{
    while (k) {
        uint32_t parent = (k - 1) / 2;
        if (up->users[up->heap[parent]].wake <= up->users[up->heap[k]].wake) break;
        heap_swap(up, k, parent);
        k = parent;
    }
}

static void heap_down(struct user_pool *up, uint32_t k)
{
    for (;;) {
        uint32_t l = 2 * k + 1, r = l + 1, m = k;
        if (l < up->nheap && up->users[up->heap[l]].wake < up->users[up->heap[m]].wake) m = l;
        if (r < up->nheap && up->users[up->heap[r]].wake < up->users[up->heap[m]].wake) m = r;
        if (m == k) return;
        heap_swap(up, k, m);
        k = m;
    }
}

static void heap_push(struct user_pool *up, uint32_t i)
{
    up->users[i].heap_pos = up->nheap;
    up->heap[up->nheap++] = i;
    heap_up(up, up->nheap - 1);
}

static void heap_remove(struct user_pool *up, uint32_t i)
{
    uint32_t k = up->users[i].heap_pos;
    if (k == USER_NONE) return;
    up->users[i].heap_pos = USER_NONE;
    uint32_t last = --up->nheap;
    if (k == last) return;
    up->heap[k] = up->heap[last];
    up->users[up->heap[k]].heap_pos = k;
    heap_up(up, k);
    heap_down(up, up->users[up->heap[k]].heap_pos);
}

/* ---- set-up ---- */

int user_pool_init(struct user_pool *up, const struct scenario *scn, uint32_t n, uint64_t first_gid, uint64_t stride,
                   const uint32_t *class_of, unsigned worker, uint64_t seed, char *err, size_t errlen)
{
    memset(up, 0, sizeof(*up));
    up->scn = scn;
    up->n = n;
    up->worker = worker;
    up->rng = seed ? seed : 1;
    size_t nv = scn->nvars, nf = scn->nfeeders;
    up->users = calloc(n ? n : 1, sizeof(*up->users));
    up->heap = calloc(n ? n : 1, sizeof(*up->heap));
    up->vars = calloc(n * nv * scn->var_bytes + 1, 1);
    up->var_len = calloc(n * nv + 1, sizeof(*up->var_len));
    up->feed_row = calloc(n * nf + 1, sizeof(*up->feed_row));
    up->feeders = calloc(nf + 1, sizeof(*up->feeders));
    if (scn->cookies) {
        up->jars = calloc(n ? n : 1, sizeof(*up->jars));
        up->origin = (struct jar_origin){.host = scn->host, .host_len = scn->host ? strlen(scn->host) : 0,
                                         .https = scn->https};
    }
    if (!up->users || !up->heap || !up->vars || !up->var_len || !up->feed_row || !up->feeders ||
        (scn->cookies && !up->jars)) {
        user_pool_free(up);
        snprintf(err, errlen, "out of memory for %u users", n);
        return -1;
    }
    for (size_t f = 0; f < nf; f++) up->feeders[f] = &scn->feeders[f];
    for (uint32_t i = 0; i < n; i++) {
        struct user *u = &up->users[i];
        u->gid = first_gid + i * stride;
        u->cls = class_of ? class_of[u->gid] : 0;
        u->heap_pos = USER_NONE;
        u->state = USER_STOPPED;
    }
    return 0;
}

void user_pool_free(struct user_pool *up)
{
    if (up->jars)
        for (uint32_t i = 0; i < up->n; i++) jar_free(&up->jars[i]);
    free(up->jars);
    free(up->users);
    free(up->heap);
    free(up->vars);
    free(up->var_len);
    free(up->feed_row);
    free(up->feeders);
    memset(up, 0, sizeof(*up));
}

/* ---- the walk through the program ---- */

static uint32_t pick_task(struct user_pool *up, const struct scn_class *c)
{
    if (c->ntasks == 1) return 0;
    uint64_t r = next_rand(&up->rng) % c->total_weight;
    for (uint32_t t = 0; t < c->ntasks; t++) {
        if (r < c->tasks[t].weight) return t;
        r -= c->tasks[t].weight;
    }
    return c->ntasks - 1;
}

static void begin_task(struct user_pool *up, struct user *u, uint64_t now)
{
    const struct scn_class *c = &up->scn->classes[u->cls];
    u->task = pick_task(up, c);
    u->step = 0;
    u->iter_start = now;
    u->state = USER_READY;
}

void user_start(struct user_pool *up, uint32_t i, uint64_t now)
{
    const struct scenario *scn = up->scn;
    struct user *u = &up->users[i];
    heap_remove(up, i);
    memset(up->var_len + (size_t)i * scn->nvars, 0, scn->nvars * sizeof(*up->var_len));
    if (up->jars) jar_clear(&up->jars[i]);
    for (uint32_t f = 0; f < scn->nfeeders; f++) {
        const struct feeder *fd = &scn->feeders[f];
        uint32_t row = fd->order == FEED_RANDOM ? (uint32_t)(next_rand(&up->rng) % fd->nrows)
                                                : (uint32_t)(u->gid % fd->nrows);
        up->feed_row[(size_t)i * scn->nfeeders + f] = row;
    }
    const struct scn_class *c = &scn->classes[u->cls];
    if (c->non_start) {
        u->task = USER_ON_START;
        u->step = 0;
        u->iter_start = now;
        u->state = USER_READY;
    } else {
        begin_task(up, u, now);
    }
}

void user_retire(struct user_pool *up, uint32_t i)
{
    heap_remove(up, i);
    up->users[i].state = USER_STOPPED;
}

const struct scn_step *user_step(const struct user_pool *up, uint32_t i)
{
    const struct user *u = &up->users[i];
    const struct scn_class *c = &up->scn->classes[u->cls];
    return u->task == USER_ON_START ? &c->on_start[u->step] : &c->tasks[u->task].steps[u->step];
}

static struct tpl_env env_of(struct user_pool *up, uint32_t i)
{
    const struct scenario *scn = up->scn;
    return (struct tpl_env){
        .vars = up->vars + (size_t)i * scn->nvars * scn->var_bytes,
        .var_len = up->var_len + (size_t)i * scn->nvars,
        .var_cap = scn->var_bytes,
        .feed_row = up->feed_row + (size_t)i * scn->nfeeders,
        .feeders = up->feeders,
        .user_id = up->users[i].gid,
        .worker = up->worker,
        .seq = &up->seq,
        .rng = &up->rng,
    };
}

/* Ends a request whose head (n bytes) is in dst: the Content-Length line when the step
 * has a body, the empty line, and the body. Returns the whole length; above cap when
 * that does not fit (then dst is not to be sent). */
static size_t finish_request(const struct scn_step *st, char *dst, size_t n, size_t cap, const char *body,
                             size_t body_len)
{
    if (n > cap) return n + body_len + 64;
    char line[48];
    int k = st->has_body ? snprintf(line, sizeof(line), "Content-Length: %zu\r\n\r\n", body_len) : 2;
    if (!st->has_body) memcpy(line, "\r\n", 2);
    if (n + (size_t)k + body_len > cap) return n + (size_t)k + body_len;
    memcpy(dst + n, line, (size_t)k);
    if (body_len) memcpy(dst + n + k, body, body_len);
    return n + (size_t)k + body_len;
}

size_t user_render(struct user_pool *up, uint32_t i, char *dst, size_t cap, char *scratch, size_t scratch_cap,
                   size_t *body_need, uint64_t now)
{
    const struct scn_step *st = user_step(up, i);
    struct tpl_env env = env_of(up, i);
    *body_need = 0;
    size_t body = 0;
    if (st->has_body) {
        /* The body first: its length goes into the head. A body that does not fit is
         * rendered again after the caller grew scratch, so ${seq} and ${rand} advance
         * twice then: harmless, and only until the buffers have grown. */
        body = tpl_render(&st->body, &env, scratch, scratch_cap);
        if (body > scratch_cap) {
            *body_need = body;
            return SIZE_MAX;
        }
    }
    size_t n = tpl_render(&st->head, &env, dst, cap);
    if (up->jars && up->jars[i].n && !st->own_cookie && n <= cap) {
        size_t plen;
        const char *path = jar_request_path(dst, n, &plen);
        if (path) n += jar_render(&up->jars[i], up->origin.https, path, plen, now, dst + n, cap - n);
    }
    return finish_request(st, dst, n, cap, scratch, body);
}

int user_take_cookies(struct user_pool *up, uint32_t i, const char *req, size_t req_len, char *raw, size_t len,
                      uint64_t now)
{
    struct resp_view v;
    size_t plen;
    const char *path = jar_request_path(req, req_len, &plen);
    if (!up->jars || !path || resp_view_head(&v, raw, len)) return 0;
    return jar_take(&up->jars[i], &up->origin, path, plen, v.head, v.head_len, now, (int64_t)time(NULL));
}

size_t step_render_static(const struct scn_step *st, char *dst, size_t cap)
{
    size_t n = st->head.lit_len;  /* no placeholders: the literal bytes are the whole head */
    if (n <= cap) memcpy(dst, st->head.lit, n);
    return finish_request(st, dst, n, cap, st->body.lit, st->has_body ? st->body.lit_len : 0);
}

int user_extract(struct user_pool *up, uint32_t i, char *raw, size_t len, char *scratch, size_t scratch_cap,
                 char why[EXTRACT_WHY_LEN])
{
    const struct scn_step *st = user_step(up, i);
    const struct scenario *scn = up->scn;
    struct resp_view v;
    if (resp_view_parse(&v, raw, len)) {
        snprintf(why, EXTRACT_WHY_LEN, "response could not be read for captures");
        return -1;
    }
    struct tpl_env env = env_of(up, i);
    return extract_run(&st->extract, &v, &env, up->vars + (size_t)i * scn->nvars * scn->var_bytes,
                       up->var_len + (size_t)i * scn->nvars, scn->var_bytes, scratch, scratch_cap, why);
}

/* The task ended: think, then begin the next one (open loop: the user is done). */
static enum user_next end_task(struct user_pool *up, uint32_t i, uint64_t now)
{
    struct user *u = &up->users[i];
    const struct scn_class *c = &up->scn->classes[u->cls];
    if (up->once) {
        u->state = USER_STOPPED;
        return USER_STOP;
    }
    uint64_t wake = now;
    switch (c->think) {
    case THINK_NONE:
        break;
    case THINK_CONST:
        wake = now + c->think_min_ns;
        break;
    case THINK_UNIFORM: {
        uint64_t span = c->think_max_ns - c->think_min_ns;
        wake = now + c->think_min_ns + (span ? next_rand(&up->rng) % (span + 1) : 0);
        break;
    }
    case THINK_PACE:
        /* a task every think_min_ns from the last one's start; late: at once */
        wake = u->iter_start + c->think_min_ns;
        if (wake < now) wake = now;
        break;
    }
    begin_task(up, u, wake);
    if (wake <= now) return USER_SEND;
    u->wake = wake;
    u->state = USER_THINKING;
    heap_push(up, i);
    return USER_WAIT;
}

enum user_next user_step_done(struct user_pool *up, uint32_t i, bool failed, uint64_t now)
{
    struct user *u = &up->users[i];
    const struct scn_class *c = &up->scn->classes[u->cls];
    if (u->state == USER_STOPPED) return USER_STOP;
    u->state = USER_READY;
    if (failed && (c->on_failure == ONFAIL_STOP || (up->once && c->on_failure == ONFAIL_RESTART))) {
        u->state = USER_STOPPED;
        return USER_STOP;
    }
    if (failed && c->on_failure == ONFAIL_RESTART) {
        /* a new user from its first step, after the think time a task end would take */
        uint64_t started = u->iter_start;
        user_start(up, i, now);
        u->iter_start = started;
        enum user_next next = end_task(up, i, now);
        if (c->non_start) u->task = USER_ON_START, u->step = 0;
        return next;
    }
    u->step++;
    if (u->task == USER_ON_START) {
        if (u->step < c->non_start) return USER_SEND;
        begin_task(up, u, now);  /* on_start ends straight into the first task */
        return USER_SEND;
    }
    if (u->step < c->tasks[u->task].nsteps) return USER_SEND;
    return end_task(up, i, now);
}

uint32_t user_pick_class(struct user_pool *up)
{
    const struct scenario *scn = up->scn;
    if (scn->nclasses == 1) return 0;
    double total = 0;
    for (uint32_t k = 0; k < scn->nclasses; k++) total += scn->classes[k].weight;
    double r = (double)(next_rand(&up->rng) >> 11) * 0x1.0p-53 * total;
    for (uint32_t k = 0; k < scn->nclasses; k++) {
        if (r < scn->classes[k].weight) return k;
        r -= scn->classes[k].weight;
    }
    return scn->nclasses - 1;
}

uint32_t user_due(struct user_pool *up, uint64_t now)
{
    if (!up->nheap) return USER_NONE;
    uint32_t i = up->heap[0];
    if (up->users[i].wake > now) return USER_NONE;
    heap_remove(up, i);
    up->users[i].state = USER_READY;
    return i;
}
