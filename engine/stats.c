/* Per-interval statistics: allocation, reset and merge. */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stats *stats_create(uint64_t highest_us, uint32_t nsteps)
{
    struct stats *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    if (nsteps) {
        s->steps = calloc(nsteps, sizeof(*s->steps));
        if (!s->steps) {
            free(s);
            return NULL;
        }
        s->nsteps = nsteps;
        for (uint32_t i = 0; i < nsteps; i++)
            if (!(s->steps[i].latency = hist_create(highest_us))) {
                stats_destroy(s);
                return NULL;
            }
    }
    s->latency = hist_create(highest_us);
    s->ttfb = hist_create(highest_us);
    s->connect = hist_create(highest_us);
    s->service = hist_create(highest_us);
    s->pool_wait = hist_create(highest_us);
    s->schedule_lag = hist_create(highest_us);
    s->age_at_stop = hist_create(highest_us);
    s->handshake_full = hist_create(highest_us);
    s->handshake_resumed = hist_create(highest_us);
    if (!s->latency || !s->ttfb || !s->connect || !s->service || !s->pool_wait || !s->schedule_lag || !s->age_at_stop ||
        !s->handshake_full || !s->handshake_resumed) {
        stats_destroy(s);
        return NULL;
    }
    return s;
}

void stats_destroy(struct stats *s)
{
    if (!s) return;
    hist_destroy(s->latency);
    hist_destroy(s->ttfb);
    hist_destroy(s->connect);
    hist_destroy(s->service);
    hist_destroy(s->pool_wait);
    hist_destroy(s->schedule_lag);
    hist_destroy(s->age_at_stop);
    hist_destroy(s->handshake_full);
    hist_destroy(s->handshake_resumed);
    for (uint32_t i = 0; i < s->nsteps; i++) hist_destroy(s->steps[i].latency);
    free(s->steps);
    free(s);
}

void stats_reset(struct stats *s)
{
    struct hist *h[] = {s->latency,      s->ttfb,        s->connect,        s->service,          s->pool_wait,
                        s->schedule_lag, s->age_at_stop, s->handshake_full, s->handshake_resumed};
    struct step_stats *steps = s->steps;
    uint32_t nsteps = s->nsteps;
    memset(s, 0, sizeof(*s));
    s->steps = steps;
    s->nsteps = nsteps;
    for (uint32_t i = 0; i < nsteps; i++) {
        struct hist *l = steps[i].latency;
        hist_reset(l);
        memset(&steps[i], 0, sizeof(steps[i]));
        steps[i].latency = l;
    }
    s->latency = h[0];
    s->ttfb = h[1];
    s->connect = h[2];
    s->service = h[3];
    s->pool_wait = h[4];
    s->schedule_lag = h[5];
    s->age_at_stop = h[6];
    s->handshake_full = h[7];
    s->handshake_resumed = h[8];
    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) hist_reset(h[i]);
}

static void add_array(uint64_t *dst, const uint64_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

void stats_add(struct stats *dst, const struct stats *src)
{
    if (src->boundary > dst->boundary) dst->boundary = src->boundary;
    dst->issued += src->issued;
    dst->ok += src->ok;
    dst->failed += src->failed;
    add_array(dst->errors, src->errors, ERR__COUNT);
    add_array(dst->status, src->status, STATUS_CODES);
    add_array(dst->connect_errno, src->connect_errno, STATS_ERRNO_MAX);
    add_array(dst->parse_reason, src->parse_reason, STATS_PARSE_REASONS);
    add_array(dst->reset_cause, src->reset_cause, RESET__COUNT);
    dst->bytes_sent += src->bytes_sent;
    dst->bytes_received += src->bytes_received;
    dst->body_bytes += src->body_bytes;
    dst->conns_opened += src->conns_opened;
    dst->closed_by_server += src->closed_by_server;
    dst->closed_by_client += src->closed_by_client;
    dst->closed_unsolicited += src->closed_unsolicited;
    dst->reused_requests += src->reused_requests;
    dst->retried_requests += src->retried_requests;
    dst->handshakes_full += src->handshakes_full;
    dst->handshakes_resumed += src->handshakes_resumed;
    for (int i = 0; i < STATS_TLS_REASONS && src->tls_reason[i].count; i++)
        stats_tls_reason(dst, src->tls_reason[i].text, src->tls_reason[i].count);
    for (uint32_t k = 0; k < src->nsteps && k < dst->nsteps; k++) {
        struct step_stats *d = &dst->steps[k];
        const struct step_stats *e = &src->steps[k];
        d->ok += e->ok;
        d->failed += e->failed;
        d->body_bytes += e->body_bytes;
        hist_add(d->latency, e->latency);
        for (int i = 0; i < STATS_STEP_REASONS && e->reasons[i].count; i++)
            stats_reason(d->reasons, STATS_STEP_REASONS, e->reasons[i].text, e->reasons[i].count);
    }
    dst->open_conns += src->open_conns;
    dst->active_users += src->active_users;
    dst->queued += src->queued;
    dst->timeouts_queued += src->timeouts_queued;
    dst->arrivals_done += src->arrivals_done;
    hist_add(dst->latency, src->latency);
    hist_add(dst->ttfb, src->ttfb);
    hist_add(dst->connect, src->connect);
    hist_add(dst->service, src->service);
    hist_add(dst->pool_wait, src->pool_wait);
    hist_add(dst->schedule_lag, src->schedule_lag);
    hist_add(dst->age_at_stop, src->age_at_stop);
    hist_add(dst->handshake_full, src->handshake_full);
    hist_add(dst->handshake_resumed, src->handshake_resumed);
}

void stats_reason(struct reason_count *table, unsigned len, const char *reason, uint64_t n)
{
    unsigned i = 0;
    while (i < len - 1 && table[i].count && strcmp(table[i].text, reason)) i++;
    struct reason_count *r = &table[i];
    if (!r->count) snprintf(r->text, sizeof(r->text), "%s", reason);
    else if (strcmp(r->text, reason)) snprintf(r->text, sizeof(r->text), "other reasons");
    r->count += n;
}

const char *err_class_name(enum err_class e)
{
    static const char *const names[ERR__COUNT] = {"connect", "timeout", "reset", "parse", "status", "dropped", "tls", "check"};
    return (unsigned)e < ERR__COUNT ? names[e] : "?";
}

const char *reset_cause_str(enum reset_cause c)
{
    static const char *const text[RESET__COUNT] = {
        [RESET_MID_RESPONSE] = "reset: connection closed mid-response",
        [RESET_UNANSWERED] = "reset: connection closed before the response",
        [RESET_BY_PEER] = "reset: connection reset by the server",
        [RESET_SOCKET_ERROR] = "reset: socket error",
        [RESET_CLOSE_PIPELINED] = "reset: pipelined behind the server's Connection: close",
        [RESET_UNREADABLE] = "reset: a receive buffer that could not be read",
    };
    return (unsigned)c < RESET__COUNT ? text[c] : "reset";
}
