/* The batching policy of a worker's io_uring waits (engine/batch.c): the first measure
 * comes early, the wait asks for what the rate brings in 1/20 of the median latency (within
 * 50 us..1 ms), closed loop keeps to a quarter of the completions the busy requests would
 * bring (fewer when pipelined responses share a receive), and never more than 64; where
 * responses are timed from their arrival the window is a fifth of the median. */
#include <stdlib.h>

#include "batch.h"
#include "check.h"

#define MS 1000000ull

/* A latency histogram of n values of us microseconds. */
static struct hist *latency(uint64_t n, uint64_t us)
{
    struct hist *h = hist_create(10000000);
    for (uint64_t i = 0; i < n; i++) hist_record(h, us);
    return h;
}

static void starts_unbatched_and_measures_within_25ms(void)
{
    struct batch b;
    batch_init(&b, 1000 * MS);
    CHECK_EQ_U(batch_want(&b, 64, false), 1);
    CHECK_EQ_U(b.next_tune, 1025 * MS);
    CHECK_EQ_U(b.window_ns, BATCH_WINDOW_MIN_NS);
    struct hist *h = latency(1000, 1000);  /* p50 1 ms: window 50 us */
    b.cqes = 2500;                         /* 100,000 completions/s */
    batch_tune(&b, 1025 * MS, 2500, h, false);
    CHECK_EQ_U(b.window_ns, 50000);
    CHECK_EQ_U(b.hint, 5);
    CHECK_EQ_U(batch_want(&b, 64, false), 5);
    CHECK_EQ_U(b.next_tune, 1125 * MS);
    CHECK_EQ_U(b.cqes, 0);
    CHECK_EQ_U(batch_completions(&b), 2500);
    hist_destroy(h);
}

static void window_follows_the_median_within_bounds(void)
{
    struct batch b;
    batch_init(&b, 0);
    struct hist *h = latency(100, 10000);  /* p50 10 ms: 500 us */
    batch_tune(&b, 25 * MS, 0, h, false);
    CHECK_EQ_U(b.window_ns, 500000);
    hist_destroy(h);
    h = latency(100, 200000);  /* p50 200 ms: capped at 1 ms */
    batch_tune(&b, 125 * MS, 0, h, false);
    CHECK_EQ_U(b.window_ns, BATCH_MAX_WAIT_NS);
    hist_destroy(h);
    h = latency(100, 100);  /* p50 100 us: 5 us, raised to 50 us */
    batch_tune(&b, 225 * MS, 0, h, false);
    CHECK_EQ_U(b.window_ns, BATCH_WINDOW_MIN_NS);
    hist_destroy(h);
    h = latency(63, 10000);  /* too few values to judge: the window stays */
    batch_tune(&b, 325 * MS, 0, h, false);
    CHECK_EQ_U(b.window_ns, BATCH_WINDOW_MIN_NS);
    hist_destroy(h);
}

/* Responses timed from their arrival (rx_time.h): the window only has to keep a
 * pipelined connection from running dry, a fifth of the median. */
static void window_is_a_fifth_of_the_median_when_timed_by_the_kernel(void)
{
    struct batch b;
    batch_init(&b, 0);
    struct hist *h = latency(100, 2000);  /* p50 2 ms: 400 us */
    b.cqes = 2500;                        /* 100,000 completions/s */
    batch_tune(&b, 25 * MS, 10000, h, true);
    CHECK_EQ_U(b.window_ns, 400000);
    CHECK_EQ_U(b.hint, 40);
    CHECK_EQ_U(batch_want(&b, 1024, false), 40);
    /* receives no longer timed by the kernel: back to a twentieth */
    b.cqes = 10000;
    batch_tune(&b, 125 * MS, 20000, h, false);
    CHECK_EQ_U(b.window_ns, 100000);
    CHECK_EQ_U(b.hint, 10);
    hist_destroy(h);
    h = latency(100, 10000);  /* p50 10 ms: capped at 1 ms */
    batch_tune(&b, 225 * MS, 20000, h, true);
    CHECK_EQ_U(b.window_ns, BATCH_MAX_WAIT_NS);
    hist_destroy(h);
}

static void closed_loop_keeps_a_quarter_of_what_can_come(void)
{
    struct batch b;
    batch_init(&b, 0);
    struct hist *h = latency(1000, 6000);  /* window 300 us */
    b.cqes = 10000;                        /* 100 ms: 100,000/s, hint 30 */
    batch_tune(&b, 100 * MS, 10000, h, false);    /* one response per completion */
    CHECK_EQ_U(b.hint, 30);
    CHECK_EQ_U(batch_want(&b, 64, false), 16);  /* depth 1, 64 busy connections */
    CHECK_EQ_U(batch_want(&b, 8, false), 2);
    CHECK_EQ_U(batch_want(&b, 3, false), 1);
    CHECK_EQ_U(batch_want(&b, 8, true), 30);  /* open loop: bounded by time, not by busy */
    /* pipelined: 16,000 responses in 10,000 completions; 1024 busy requests bring ~640 */
    b.cqes = 10000;
    batch_tune(&b, 200 * MS, 26000, h, false);
    CHECK_EQ_U(b.per_cqe16, 25);
    CHECK_EQ_U(batch_want(&b, 1024, false), 30);
    CHECK_EQ_U(batch_want(&b, 64, false), 10);  /* 64 busy requests bring ~40 */
    /* a faster rate is capped at BATCH_MAX */
    b.cqes = 100000;
    batch_tune(&b, 300 * MS, 126000, h, false);
    CHECK_EQ_U(b.hint, 300);
    CHECK_EQ_U(batch_want(&b, 1024, false), BATCH_MAX);
    CHECK_EQ_U(batch_completions(&b), 120000);
    hist_destroy(h);
}

static void responses_per_completion_never_below_one(void)
{
    struct batch b;
    batch_init(&b, 0);
    struct hist *h = latency(100, 1000);
    b.cqes = 300;  /* large responses: several completions each */
    batch_tune(&b, 25 * MS, 100, h, false);
    CHECK_EQ_U(b.per_cqe16, 16);
    b.cqes = 100;
    batch_tune(&b, 125 * MS, 400, h, false);
    CHECK_EQ_U(b.per_cqe16, 48);
    b.cqes = 100;  /* open loop: arrivals now waiting made the count go down */
    batch_tune(&b, 225 * MS, 350, h, false);
    CHECK_EQ_U(b.per_cqe16, 48);
    CHECK_EQ_U(b.answered, 350);
    hist_destroy(h);
}

int main(void)
{
    RUN(starts_unbatched_and_measures_within_25ms);
    RUN(window_follows_the_median_within_bounds);
    RUN(window_is_a_fifth_of_the_median_when_timed_by_the_kernel);
    RUN(closed_loop_keeps_a_quarter_of_what_can_come);
    RUN(responses_per_completion_never_below_one);
    CHECK_EXIT();
}
