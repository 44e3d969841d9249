/* Statistics: merge of every field, and the lock-free hand-over losing nothing
 * while a worker records and a reporter takes concurrently. */
#include <pthread.h>
#include <stdbool.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "stats_handover.h"

static void add_merges_every_field(void)
{
    struct stats *a = stats_create(1000000, 0), *b = stats_create(1000000, 0);
    b->issued = 10, b->ok = 6, b->failed = 3, b->errors[ERR_TIMEOUT] = 2, b->errors[ERR_STATUS] = 1;
    b->status[200] = 6, b->status[503] = 1, b->connect_errno[111] = 4, b->parse_reason[2] = 1;
    b->bytes_sent = 100, b->bytes_received = 200, b->conns_opened = 3, b->closed_by_server = 1;
    b->closed_by_client = 2, b->reused_requests = 7, b->open_conns = 3;
    hist_record(b->latency, 123);
    hist_record(b->ttfb, 45);
    hist_record(b->connect, 67);
    stats_add(a, b);
    stats_add(a, b);
    CHECK_EQ_U(a->issued, 20);
    CHECK_EQ_U(a->ok, 12);
    CHECK_EQ_U(a->failed, 6);
    CHECK_EQ_U(a->errors[ERR_TIMEOUT], 4);
    CHECK_EQ_U(a->errors[ERR_STATUS], 2);
    CHECK_EQ_U(a->status[200], 12);
    CHECK_EQ_U(a->status[503], 2);
    CHECK_EQ_U(a->connect_errno[111], 8);
    CHECK_EQ_U(a->parse_reason[2], 2);
    CHECK_EQ_U(a->bytes_sent, 200);
    CHECK_EQ_U(a->bytes_received, 400);
    CHECK_EQ_U(a->conns_opened, 6);
    CHECK_EQ_U(a->closed_by_server, 2);
    CHECK_EQ_U(a->closed_by_client, 4);
    CHECK_EQ_U(a->reused_requests, 14);
    CHECK_EQ_U(a->latency->total, 2);
    CHECK_EQ_U(hist_quantile(a->ttfb, 0.5), 45);
    CHECK_EQ_U(a->connect->max, 67);
    stats_reset(a);
    CHECK_EQ_U(a->issued, 0);
    CHECK_EQ_U(a->latency->total, 0);
    CHECK(a->latency && a->ttfb && a->connect);
    stats_destroy(a);
    stats_destroy(b);
    stats_destroy(NULL);
}

enum { EVENTS = 3000000 };
static struct stats_handover ho;
static atomic_bool worker_done;
static atomic_uint taken;  /* slots the reader has taken so far */

/* On a busy machine the reader may not run at all while the worker counts: the worker
 * waits (up to 5 s) for it at two points, so that hand-overs happen mid-run every time. */
static void wait_for_takes(unsigned n)
{
    for (int i = 0; i < 5000 && atomic_load(&taken) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void *fake_worker(void *arg)
{
    (void)arg;
    struct stats *cur = handover_current(&ho);
    for (uint64_t i = 1; i <= EVENTS; i++) {
        cur->issued++;
        cur->ok++;
        hist_record(cur->latency, i % 5000);
        if (i % 1000 == 0) {  /* an "interval boundary" every 1000 events */
            struct stats *next = handover_publish(&ho);
            if (next) cur = next;
        }
        if (i == EVENTS / 2) wait_for_takes(1);
    }
    wait_for_takes(2);
    atomic_store(&worker_done, true);
    return NULL;
}

static void handover_loses_nothing(void)
{
    ho.slot[0] = stats_create(1000000, 0);
    ho.slot[1] = stats_create(1000000, 0);
    struct stats *total = stats_create(1000000, 0);
    pthread_t t;
    pthread_create(&t, NULL, fake_worker, NULL);
    uint64_t takes = 0;
    while (!atomic_load(&worker_done)) {
        struct stats *s = handover_take(&ho);
        if (!s) {
            sched_yield();
            continue;
        }
        CHECK_EQ_U(s->issued, s->ok);  /* a slot is never seen half-written */
        CHECK_EQ_U(s->latency->total, s->ok);
        stats_add(total, s);
        stats_reset(s);
        handover_release(&ho);
        takes++;
        atomic_fetch_add(&taken, 1);
    }
    pthread_join(t, NULL);
    struct stats *s = handover_take(&ho);
    if (s) stats_add(total, s), stats_reset(s), handover_release(&ho);
    stats_add(total, handover_current(&ho));
    CHECK_EQ_U(total->issued, EVENTS);
    CHECK_EQ_U(total->ok, EVENTS);
    CHECK_EQ_U(total->latency->total, EVENTS);
    CHECK(takes > 1);
    stats_destroy(ho.slot[0]);
    stats_destroy(ho.slot[1]);
    stats_destroy(total);
}

int main(void)
{
    RUN(add_merges_every_field);
    RUN(handover_loses_nothing);
    CHECK_EXIT();
}
