/* How many completions one io_uring wait of a worker asks for, and how late it may end.
 *
 * Waiting for several completions per system call is where io_uring saves CPU (each wait
 * that sleeps costs two context switches, ~10-20 us of CPU on a virtual machine), but
 * every response in a batch is timed when the batch returns. So a wait asks for about as
 * many completions as the recent rate brings in a window of 1/BATCH_WINDOW_DIV of the
 * recent median latency (at least BATCH_WINDOW_MIN_NS, at most BATCH_MAX_WAIT_NS): the
 * timing error stays a few percent of what is measured. The rate is re-measured every
 * BATCH_TUNE_NS (the first time at a quarter of that), so a run batches from its start.
 *
 * Pipelined connections in closed loop are timed from the kernel's receive time instead
 * (rx_time.h): the time of the newest segment a read takes. A wait's lateness then reaches
 * a latency only where one read takes segments that arrived apart (a server answering one
 * refill in several writes): those responses are timed up to the window late. Otherwise
 * it only delays refilling a connection that still has half its requests in flight,
 * which take about half the latency to be answered. So their window is
 * 1/BATCH_WINDOW_DIV_RX_TIMED of the median: the server never runs dry, and two refills
 * of one connection, half a latency apart, rarely share a read. It applies only while
 * the receives really carry the kernel's time (batch_tune's arrival_timed). */
#ifndef BARRAGE_BATCH_H
#define BARRAGE_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "hist.h"

#define BATCH_WINDOW_DIV 20
#define BATCH_WINDOW_DIV_RX_TIMED 5
#define BATCH_WINDOW_MIN_NS 50000ull
#define BATCH_MAX_WAIT_NS 1000000ull
#define BATCH_TUNE_NS 100000000ull
#define BATCH_MAX 64

struct batch {
    uint64_t window_ns;        /* how late a batched wait may end */
    bool arrival_timed;        /* the window is for responses timed from their arrival */
    uint64_t hint;             /* completions the recent rate brings in one window */
    uint64_t per_cqe16;        /* recent responses per completion, times 16 (>= 16) */
    uint64_t cqes;             /* completions since tuned_at: the worker adds them */
    uint64_t cqes_before;      /* completions before tuned_at */
    uint64_t answered;         /* responses (and failures) finished at tuned_at */
    uint64_t tuned_at, next_tune;
};

void batch_init(struct batch *b, uint64_t now);
/* Re-measures at now: answered is the worker's count of requests finished so far, latency
 * the histogram of the interval so far (the last window is kept while it holds fewer than
 * 64 values); arrival_timed: the responses since the last tune were nearly all timed from
 * their arrival (BATCH_WINDOW_DIV_RX_TIMED), not from the end of their wait. */
void batch_tune(struct batch *b, uint64_t now, uint64_t answered, const struct hist *latency, bool arrival_timed);
/* Completions to wait for. busy: requests in flight on open connections (at most open
 * connections x pipeline depth). Closed loop: no more than a quarter of the completions
 * they would bring, since not every one answers soon. Open loop: the completions to come
 * are mostly of requests not sent yet, so the wait is bounded by time instead (window_ns). */
unsigned batch_want(const struct batch *b, uint64_t busy, bool open_loop);

static inline uint64_t batch_completions(const struct batch *b)
{
    return b->cqes_before + b->cqes;
}

#endif
