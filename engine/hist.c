/* Log-linear histogram: allocation, merge and quantiles. Recording is inline in hist.h. */
#include "hist.h"

#include <stdlib.h>
#include <string.h>

struct hist *hist_create(uint64_t highest)
{
    if (highest < 1) highest = 1;
    uint32_t n = hist_index(highest) + 1;
    struct hist *h = calloc(1, sizeof(*h) + (size_t)n * sizeof(h->counts[0]));
    if (!h) return NULL;
    h->highest = highest;
    h->ncounts = n;
    h->min = UINT64_MAX;
    return h;
}

void hist_destroy(struct hist *h)
{
    free(h);
}

void hist_reset(struct hist *h)
{
    /* Every record and every add counts in total: an empty histogram has no counts to clear
     * (most of a run's histograms are empty in most intervals). */
    if (h->total) memset(h->counts, 0, (size_t)h->ncounts * sizeof(h->counts[0]));
    h->total = h->sum = h->max = h->clamped = 0;
    h->min = UINT64_MAX;
}

static unsigned index_bucket(uint32_t index)
{
    unsigned top = index >> (HIST_SUB_BITS - 1);   /* (bucket + 1) for buckets >= 1 */
    return top <= 1 ? 0 : top - 1;
}

uint64_t hist_index_low(uint32_t index)
{
    unsigned b = index_bucket(index);
    uint64_t sub = index - ((uint64_t)b << (HIST_SUB_BITS - 1));
    return sub << b;
}

uint64_t hist_index_high(uint32_t index)
{
    unsigned b = index_bucket(index);
    return hist_index_low(index) + ((1ull << b) - 1);
}

int hist_add(struct hist *dst, const struct hist *src)
{
    if (dst->ncounts != src->ncounts || dst->highest != src->highest) return -1;
    if (!src->total) return 0;
    for (uint32_t i = 0; i < src->ncounts; i++) dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->sum += src->sum;
    dst->clamped += src->clamped;
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
    return 0;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (!h->total) return 0;
    if (q <= 0) return h->min;
    if (q >= 1) return h->max;
    uint64_t rank = (uint64_t)(q * (double)h->total + 0.999999999);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < h->ncounts; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = hist_index_high(i);
            if (v > h->max) v = h->max;
            if (v < h->min) v = h->min;
            return v;
        }
    }
    return h->max;
}

double hist_mean(const struct hist *h)
{
    return h->total ? (double)h->sum / (double)h->total : 0.0;
}
