/* Histogram: index layout, precision, quantiles against an exact sort, merge. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hist.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void index_is_contiguous_and_monotonic(void)
{
    /* Every value maps into a bucket whose [low, high] range holds it; indexes never go back. */
    uint32_t prev = 0;
    for (uint64_t v = 0; v < (1u << 20); v++) {
        uint32_t i = hist_index(v);
        CHECK(i >= prev && i <= prev + 1);
        CHECK(hist_index_low(i) <= v && v <= hist_index_high(i));
        prev = i;
    }
    for (uint64_t v = 1ull << 20; v < (1ull << 40); v = v * 3 + 7) {
        uint32_t i = hist_index(v);
        CHECK(hist_index_low(i) <= v && v <= hist_index_high(i));
    }
}

static void precision_is_three_digits(void)
{
    for (uint64_t v = 1; v < (1ull << 36); v = v + 1 + v / 7) {
        uint32_t i = hist_index(v);
        double width = (double)(hist_index_high(i) - hist_index_low(i));
        CHECK(width / (double)v <= 1.0 / 1000);
    }
}

static void small_values_are_exact(void)
{
    struct hist *h = hist_create(10000000);
    for (uint64_t v = 1; v <= 100; v++) hist_record(h, v);
    CHECK_EQ_U(h->total, 100);
    CHECK_EQ_U(hist_quantile(h, 0.5), 50);
    CHECK_EQ_U(hist_quantile(h, 0.99), 99);
    CHECK_EQ_U(hist_quantile(h, 0), 1);
    CHECK_EQ_U(hist_quantile(h, 1), 100);
    CHECK(fabs(hist_mean(h) - 50.5) < 1e-9);
    hist_destroy(h);
}

static void quantiles_match_exact_sort(void)
{
    enum { N = 200000 };
    uint64_t *vals = malloc(N * sizeof(*vals));
    struct hist *h = hist_create(10000000);
    for (int i = 0; i < N; i++) {
        /* a long-tailed mix: mostly ~100us, some ms, a few near the top */
        uint64_t r = rng();
        uint64_t v = (r % 100 < 90) ? 50 + r % 200 : (r % 100 < 99) ? 1000 + r % 50000 : 1000000 + r % 8000000;
        vals[i] = v;
        hist_record(h, v);
    }
    qsort(vals, N, sizeof(*vals), cmp_u64);
    const double qs[] = {0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999};
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        uint64_t exact = vals[(size_t)ceil(qs[k] * N) - 1];
        uint64_t got = hist_quantile(h, qs[k]);
        CHECK(got >= exact);
        CHECK((double)(got - exact) <= (double)exact / 1000 + 1);
    }
    CHECK_EQ_U(h->min, vals[0]);
    CHECK_EQ_U(h->max, vals[N - 1]);
    free(vals);
    hist_destroy(h);
}

static void values_above_range_are_clamped_not_lost(void)
{
    struct hist *h = hist_create(1000);
    hist_record(h, 5);
    hist_record(h, 5000);
    CHECK_EQ_U(h->total, 2);
    CHECK_EQ_U(h->clamped, 1);
    /* bucketed at the highest value, but max and the mean stay exact */
    CHECK_EQ_U(h->max, 5000);
    CHECK_EQ_U(h->sum, 5005);
    CHECK_EQ_U(hist_quantile(h, 1.0), 5000);
    CHECK_EQ_U(hist_quantile(h, 0.5), 5);
    CHECK(hist_quantile(h, 0.99) >= 1000 && hist_quantile(h, 0.99) <= 5000);
    hist_destroy(h);
}

static void merge_equals_single_histogram(void)
{
    struct hist *a = hist_create(10000000), *b = hist_create(10000000), *all = hist_create(10000000);
    for (int i = 0; i < 50000; i++) {
        uint64_t v = rng() % 3000000;
        hist_record(i % 3 ? a : b, v);
        hist_record(all, v);
    }
    CHECK(hist_add(a, b) == 0);
    CHECK_EQ_U(a->total, all->total);
    CHECK_EQ_U(a->sum, all->sum);
    CHECK_EQ_U(a->min, all->min);
    CHECK_EQ_U(a->max, all->max);
    CHECK(memcmp(a->counts, all->counts, a->ncounts * sizeof(uint64_t)) == 0);
    struct hist *other = hist_create(1000);
    CHECK(hist_add(a, other) == -1);
    hist_reset(a);
    CHECK_EQ_U(a->total, 0);
    CHECK_EQ_U(hist_quantile(a, 0.5), 0);
    hist_destroy(a);
    hist_destroy(b);
    hist_destroy(all);
    hist_destroy(other);
}

int main(void)
{
    RUN(index_is_contiguous_and_monotonic);
    RUN(precision_is_three_digits);
    RUN(small_values_are_exact);
    RUN(quantiles_match_exact_sort);
    RUN(values_above_range_are_clamped_not_lost);
    RUN(merge_equals_single_histogram);
    CHECK_EXIT();
}
