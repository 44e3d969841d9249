/* The batching policy of a worker's waits (see batch.h). */
#include "batch.h"

void batch_init(struct batch *b, uint64_t now)
{
    *b = (struct batch){.window_ns = BATCH_WINDOW_MIN_NS, .per_cqe16 = 16, .tuned_at = now,
                        .next_tune = now + BATCH_TUNE_NS / 4};
}

void batch_tune(struct batch *b, uint64_t now, uint64_t answered, const struct hist *latency, bool arrival_timed)
{
    uint64_t span = now - b->tuned_at;
    b->arrival_timed = arrival_timed;
    if (latency->total >= 64) {
        unsigned div = arrival_timed ? BATCH_WINDOW_DIV_RX_TIMED : BATCH_WINDOW_DIV;
        uint64_t window = hist_quantile(latency, 0.5) * 1000 / div;
        if (window < BATCH_WINDOW_MIN_NS) window = BATCH_WINDOW_MIN_NS;
        if (window > BATCH_MAX_WAIT_NS) window = BATCH_MAX_WAIT_NS;
        b->window_ns = window;
    }
    b->hint = span ? b->cqes * b->window_ns / span : 0;
    /* Pipelined responses often share a receive. (answered can go down in open loop, where
     * arrivals still waiting count as in flight.) */
    if (b->cqes && answered > b->answered) b->per_cqe16 = (answered - b->answered) * 16 / b->cqes;
    if (b->per_cqe16 < 16) b->per_cqe16 = 16;
    b->cqes_before += b->cqes;
    b->cqes = 0;
    b->answered = answered;
    b->tuned_at = now;
    b->next_tune = now + BATCH_TUNE_NS;
}

unsigned batch_want(const struct batch *b, uint64_t busy, bool open_loop)
{
    uint64_t n = b->hint;
    uint64_t coming = busy * 16 / b->per_cqe16;
    if (!open_loop && n > coming / 4) n = coming / 4;
    if (n > BATCH_MAX) n = BATCH_MAX;
    return n ? (unsigned)n : 1;
}
