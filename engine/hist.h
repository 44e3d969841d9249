/* Log-linear latency histogram (HdrHistogram-style), one per metric per worker slot.
 *
 * Values are integers in microseconds. Each power-of-two range is split into
 * HIST_SUB_HALF linear sub-buckets, so a recorded value is kept to within
 * 1/HIST_SUB_HALF of itself (3 significant decimal digits). Values above the
 * histogram's highest trackable value are counted in `clamped` and in the bucket of
 * `highest`, never dropped; min, max and the sum stay exact.
 *
 * Ownership: hist_create() allocates one block; hist_destroy() frees it
 * (accepts NULL). Recording never allocates.
 */
#ifndef BARRAGE_HIST_H
#define BARRAGE_HIST_H

#include <stdint.h>
#include <stddef.h>

#define HIST_SUB_BITS 11                      /* 2048 sub-buckets in the first range */
#define HIST_SUB_HALF (1u << (HIST_SUB_BITS - 1))

struct hist {
    uint64_t total;      /* number of recorded values */
    uint64_t sum;        /* exact sum, for the mean */
    uint64_t min, max;   /* exact; min is UINT64_MAX while empty */
    uint64_t clamped;    /* values that exceeded `highest` */
    uint64_t highest;    /* highest trackable value */
    uint32_t ncounts;    /* length of counts[] */
    uint64_t counts[];
};

/* Tracks values 0..highest (highest >= 1). Returns NULL when out of memory. */
struct hist *hist_create(uint64_t highest);
void hist_destroy(struct hist *h);
void hist_reset(struct hist *h);

static inline uint32_t hist_index(uint64_t v)
{
    /* floor(log2(v)) of values below 2^HIST_SUB_BITS counts as HIST_SUB_BITS-1: bucket 0 */
    unsigned msb = 63u - (unsigned)__builtin_clzll(v | ((1ull << HIST_SUB_BITS) - 1));
    unsigned bucket = msb - (HIST_SUB_BITS - 1);
    return (uint32_t)((bucket << (HIST_SUB_BITS - 1)) + (v >> bucket));
}

static inline void hist_record(struct hist *h, uint64_t v)
{
    h->total++;
    h->sum += v;  /* min, max and the mean stay exact for a value past highest */
    if (v < h->min) h->min = v;
    if (v > h->max) h->max = v;
    if (v > h->highest) {
        v = h->highest;
        h->clamped++;
    }
    h->counts[hist_index(v)]++;
}

/* Lowest and highest value that share counts[index]. */
uint64_t hist_index_low(uint32_t index);
uint64_t hist_index_high(uint32_t index);

/* Adds src into dst. Both must have been created with the same `highest`.
 * Returns 0, or -1 when their shapes differ. */
int hist_add(struct hist *dst, const struct hist *src);

/* The value at quantile q (0 <= q <= 1): the highest value equivalent to the
 * bucket holding the ceil(q * total)-th recorded value, clamped to [min, max].
 * q = 0 gives min, q = 1 gives max. Returns 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);

#endif
