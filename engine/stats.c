/* Per-interval statistics: allocation, reset and merge. */
#include "stats.h"

#include <stdlib.h>
#include <string.h>

struct stats *stats_create(uint64_t highest_us)
{
    struct stats *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->latency = hist_create(highest_us);
    s->ttfb = hist_create(highest_us);
    s->connect = hist_create(highest_us);
    if (!s->latency || !s->ttfb || !s->connect) {
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
    free(s);
}

void stats_reset(struct stats *s)
{
    struct hist *l = s->latency, *t = s->ttfb, *c = s->connect;
    memset(s, 0, sizeof(*s));
    s->latency = l;
    s->ttfb = t;
    s->connect = c;
    hist_reset(l);
    hist_reset(t);
    hist_reset(c);
}

static void add_array(uint64_t *dst, const uint64_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

void stats_add(struct stats *dst, const struct stats *src)
{
    dst->issued += src->issued;
    dst->ok += src->ok;
    dst->failed += src->failed;
    add_array(dst->errors, src->errors, ERR__COUNT);
    add_array(dst->status, src->status, 600);
    add_array(dst->connect_errno, src->connect_errno, STATS_ERRNO_MAX);
    add_array(dst->parse_reason, src->parse_reason, STATS_PARSE_REASONS);
    dst->bytes_sent += src->bytes_sent;
    dst->bytes_received += src->bytes_received;
    dst->conns_opened += src->conns_opened;
    dst->closed_by_server += src->closed_by_server;
    dst->closed_by_client += src->closed_by_client;
    dst->reused_requests += src->reused_requests;
    dst->retried_requests += src->retried_requests;
    dst->open_conns += src->open_conns;
    hist_add(dst->latency, src->latency);
    hist_add(dst->ttfb, src->ttfb);
    hist_add(dst->connect, src->connect);
}

const char *err_class_name(enum err_class e)
{
    static const char *const names[ERR__COUNT] = {"connect", "timeout", "reset", "parse", "status"};
    return (unsigned)e < ERR__COUNT ? names[e] : "?";
}
