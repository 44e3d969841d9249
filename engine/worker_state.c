/* A worker's state: everything it allocates, sized from the plan before the run
 * (connections, send and receive bookkeeping, scenario users, the TLS context, the ring
 * and its receive buffers), and its release after. Cold: the hot path in worker.c only
 * uses what is made here. */
#include "worker_internal.h"
#include "rx_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static uint32_t pow2_at_least(uint64_t v)
{
    uint32_t p = 1;
    while (p < v && p < (1u << 30)) p <<= 1;
    return p;
}

void state_destroy(struct worker_state *s)
{
    if (!s) return;
    ring_destroy(&s->ring);  /* cancels what is pending, dropping its file references */
    if (s->conns)
        for (uint32_t i = 0; i < s->w->nconns; i++) {
            if (s->conns[i].fd >= 0) {
                if (s->conns[i].inflight || s->conns[i].sending) abort_if_unsent(s->conns[i].fd);
                close(s->conns[i].fd);
            }
            tls_conn_destroy(s->conns[i].tls);
        }
    free(s->conns);
    free(s->slot_fds);
    free(s->sent_at);
    free(s->queue);
    free(s->rearm);
    free(s->unstamped);
    free(s->intended);
    free(s->waiting);
    free(s->idle);
    if (s->tx)
        for (uint32_t i = 0; i < s->w->nconns; i++) free(s->tx[i]);
    free(s->tx);
    free(s->tx_cap);
    free(s->plain);
    if (s->req)
        for (uint32_t i = 0; i < s->w->nconns; i++) free(s->req[i]);
    if (s->rsp)
        for (uint32_t i = 0; i < s->w->nconns; i++) free(s->rsp[i]);
    free(s->req);
    free(s->req_cap);
    free(s->req_len);
    free(s->rsp);
    free(s->rsp_len);
    free(s->rsp_cap);
    free(s->rsp_keep);
    free(s->scratch);
    free(s->conn_user);
    free(s->ufifo);
    free(s->ufifo_at);
    free(s->uqueued);
    free(s->uslot);
    free(s->restart_when_free);
    free(s->user_conn);
    free(s->free_slots);
    free(s->slot_free_now);
    user_pool_free(&s->users);
    tls_ctx_destroy(s->tls_ctx);  /* after its connections (ring_destroy/close above) */
    free(s);
}

struct worker_state *state_create(struct worker *w)
{
    const struct plan *p = w->plan;
    struct worker_state *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->w = w;
    s->plan = p;
    s->conns = calloc(w->nconns, sizeof(*s->conns));
    s->sent_at = calloc((size_t)w->nconns * p->pipeline, sizeof(*s->sent_at));
    s->queue = calloc(w->nconns, sizeof(*s->queue));
    s->rearm = calloc(w->nconns, sizeof(*s->rearm));
    s->unstamped = calloc(w->nconns, sizeof(*s->unstamped));
    bool oom = !s->conns || !s->sent_at || !s->queue || !s->rearm || !s->unstamped;
    if (p->open_loop) {
        /* this worker's share of --max-queue, at least one */
        s->wait_cap = (uint32_t)((p->max_queue + p->threads - 1) / p->threads);
        s->intended = calloc(w->nconns, sizeof(*s->intended));
        s->idle = calloc(w->nconns, sizeof(*s->idle));
        s->waiting = calloc(s->wait_cap, sizeof(*s->waiting));
        oom |= !s->intended || !s->idle || !s->waiting;
    }
    if (p->latency_from_wait && !s->intended) {
        s->intended = calloc(w->nconns, sizeof(*s->intended));
        oom |= !s->intended;
    }
    s->static_steps = p->static_program && p->scenario_file;  /* as run.c sizes the stats */
    s->per_step = s->static_steps || !p->static_program;
    s->from_intended = (p->open_loop && p->static_program) || p->latency_from_wait;
    if (!p->static_program) {
        s->scn = p->scenario;
        s->req = calloc(w->nconns, sizeof(*s->req));
        s->req_cap = calloc(w->nconns, sizeof(*s->req_cap));
        s->req_len = calloc(w->nconns, sizeof(*s->req_len));
        s->rsp = calloc(w->nconns, sizeof(*s->rsp));
        s->rsp_len = calloc(w->nconns, sizeof(*s->rsp_len));
        s->rsp_cap = calloc(w->nconns, sizeof(*s->rsp_cap));
        s->rsp_keep = calloc(w->nconns, sizeof(*s->rsp_keep));
        s->scratch_cap = p->scenario->scratch_need > 4096 ? p->scenario->scratch_need : 4096;
        s->scratch = malloc(s->scratch_cap);
        s->restart_when_free = calloc(w->nusers ? w->nusers : 1, 1);
        oom |= !s->req || !s->req_cap || !s->req_len || !s->rsp || !s->rsp_len || !s->rsp_cap || !s->rsp_keep || !s->scratch ||
               !s->restart_when_free;
        if (p->share_connections) {
            s->conn_user = malloc(w->nconns * sizeof(*s->conn_user));
            s->ufifo = calloc(w->nusers, sizeof(*s->ufifo));
            s->ufifo_at = calloc(w->nusers, sizeof(*s->ufifo_at));
            s->uqueued = calloc(w->nusers, 1);
            s->uslot = calloc(w->nusers, sizeof(*s->uslot));
            s->user_conn = calloc(w->nusers, sizeof(*s->user_conn));
            if (!s->idle) s->idle = calloc(w->nconns, sizeof(*s->idle));
            if (p->open_loop) {
                s->free_slots = calloc(w->nusers, sizeof(*s->free_slots));
                s->slot_free_now = calloc(w->nusers, 1);
                oom |= !s->free_slots || !s->slot_free_now;
            }
            oom |= !s->conn_user || !s->ufifo || !s->ufifo_at || !s->uqueued || !s->uslot || !s->idle || !s->user_conn;
            if (s->conn_user)
                for (uint32_t i = 0; i < w->nconns; i++) s->conn_user[i] = USER_NONE;
        }
        /* worker i of N has run-wide users i, i+N, i+2N, ... (as update_users numbers them) */
        /* open loop: each arrival draws its class; the slots have none (class_of covers -c users only) */
        if (!oom && user_pool_init(&s->users, p->scenario, w->nusers, w->id, p->threads,
                                   p->open_loop ? NULL : p->class_of, w->id,
                                   0x9E3779B97F4A7C15ull * (w->id + 1) ^ w->start_ns, w->errmsg, sizeof(w->errmsg))) {
            state_destroy(s);
            return NULL;
        }
    }
    if (p->url.tls) {
        s->plain_cap = 64 * 1024;
        s->plain = malloc(s->plain_cap);
        s->tx = calloc(w->nconns, sizeof(*s->tx));
        s->tx_cap = calloc(w->nconns, sizeof(*s->tx_cap));
        oom |= !s->plain || !s->tx || !s->tx_cap;
    }
    if (oom) {
        snprintf(w->errmsg, sizeof(w->errmsg), "out of memory for %u connections", w->nconns);
        state_destroy(s);
        return NULL;
    }
    if (p->url.tls) {
        /* Few connections: keep OpenSSL's record buffers (about 34 KiB each) instead of
         * freeing and allocating them around every request. */
        struct tls_config cfg = p->tls;
        cfg.keep_buffers = w->nconns <= 256;
        /* A session for each connection: connections that all reconnect at once (they
         * started together and do as many requests each) each find a TLS 1.3 ticket. */
        cfg.sessions = w->nconns;
        s->tls_ctx = tls_ctx_create(&cfg, w->errmsg, sizeof(w->errmsg));
        if (!s->tls_ctx) {
            state_destroy(s);
            return NULL;
        }
    }
    for (uint32_t i = 0; i < w->nconns; i++) s->conns[i].fd = -1, s->conns[i].idle_pos = NOT_IDLE;

    /* Queues: when the submission queue fills, get_sqe() submits early, so it can stay
     * small (a connection queues at most three at once: a close); the completion queue
     * holds a completion or two per connection. Both are memory mapped per worker, so
     * they are kept modest for many connections. */
    unsigned sq = pow2_at_least(3ull * w->nconns + 64);
    if (sq > 4096) sq = 4096;
    unsigned cq = pow2_at_least(2ull * w->nconns);
    if (cq < 2 * sq) cq = 2 * sq;
    if (cq > 65536) cq = 65536;
    /* Receive buffers: a fixed budget per worker, not per connection, so idle
     * connections cost no buffer memory. */
    uint32_t nbufs = pow2_at_least(w->nconns);
    if (nbufs < 64) nbufs = 64;
    if (nbufs > 4096) nbufs = 4096;
    uint32_t size = (uint32_t)((4u << 20) / nbufs);
    if (size < 1024) size = 1024;
    if (size > 65536) size = 65536;
    int rc = ring_create(&s->ring, sq, cq, nbufs, size, w->errmsg, sizeof(w->errmsg));
    if (rc) {
        state_destroy(s);
        return NULL;
    }
    s->rx_timed = s->ring.multishot && p->pipeline > 1 && !p->open_loop && !s->tls_ctx;
    /* Filling and clearing a slot costs two operations per connection: worth it only for
     * connections that carry more than a few requests. */
    if (!p->requests_per_conn || p->requests_per_conn > 4) {
        s->slot_fds = calloc(s->ring.uring.sq.ring_entries, sizeof(*s->slot_fds));
        if (s->slot_fds) ring_fixed_files(&s->ring, w->nconns);
    }
    rx_time_msghdr(&s->rx_msg);
    /* Timeouts fire at most a twentieth of the shortest one late. */
    uint64_t shortest = p->timeout_ns;
    if (s->scn && s->scn->min_timeout_ns && s->scn->min_timeout_ns < shortest) shortest = s->scn->min_timeout_ns;
    s->scan_every = shortest / 20;
    if (s->scan_every > 100000000) s->scan_every = 100000000;
    if (s->scan_every < 1000000) s->scan_every = 1000000;
    return s;
}
