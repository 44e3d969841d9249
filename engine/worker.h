/* One worker thread: its ring, its connections, its statistics (handed to the
 * reporter through stats_handover.h at interval boundaries).
 */
#ifndef BARRAGE_WORKER_H
#define BARRAGE_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "plan.h"
#include "stats_handover.h"

struct worker {
    /* set before worker_start(), read-only afterwards */
    const struct plan *plan;
    unsigned id;
    unsigned cpu;
    uint32_t nconns;             /* this worker's share of -c (of --pool with --share-connections) */
    uint32_t nusers;             /* scenario: its share of the users (-c) */
    uint64_t max_requests;       /* this worker's share of -n; 0: unlimited */
    uint64_t start_ns;           /* common start, CLOCK_MONOTONIC */
    uint64_t end_ns;             /* 0: no time limit */
    const atomic_bool *stop;     /* set by the reporter on a signal */

    struct stats_handover stats;
    uint64_t reported;           /* reporter only: the last interval boundary received */
    uint64_t gauge_open, gauge_users, gauge_queued;  /* reporter only: the newest slot's gauges */
    _Alignas(64) atomic_bool done;             /* the worker has finished: loop left, state torn down */
    /* 0 while it runs; then stopped_ns, as soon as it is decided: the reporter learns that
     * the run ended before an interval boundary even while the worker still works through
     * its stop (open loop: releasing arrivals it is far behind on, ~0.5 s at -R 1e8). */
    _Atomic uint64_t stopping_ns;

    /* valid after worker_join() */
    int error;                   /* 0, or set-up failed: message in errmsg */
    char errmsg[256];
    uint64_t in_flight;          /* requests issued and unanswered when the run stopped */
    uint64_t queued_at_stop;     /* of in_flight: open loop, still waiting for a connection */
    uint64_t stopped_ns;         /* when the worker left its loop */
    uint32_t max_open;           /* most connections open at once */
    uint64_t cpu_ns;             /* this thread's CPU time in its loop (user + system) */
    uint64_t loop_ns;            /* wall time in its loop, until it left it (its work at the
                                    stop included: stopped_ns is read before that) */
    uint64_t waits;              /* io_uring waits (system calls) in its loop */
    uint64_t completions;        /* completions handled in its loop */
    uint64_t kernel_timed;       /* of them, receives timed by the kernel (rx_time.h) */
    uint64_t sends;              /* send operations it submitted */
    char tls_version[16];        /* what its first TLS handshake agreed ("TLS 1.3"); "" if none */
    char tls_cipher[64];         /* and the cipher ("TLS_AES_256_GCM_SHA384") */

    pthread_t thread;
};

int worker_start(struct worker *w);
void worker_join(struct worker *w);

static inline uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
