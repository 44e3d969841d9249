/* libFuzzer target for the shape parsers and the shape math.
 *
 * The input, as a NUL-terminated copy, is parsed as a --stages list, as a --shape preset
 * (without -d and with a -d taken from the input's length) and as a shape file (through a
 * memfd). Every shape that parses must hold these, or the target traps:
 * - the tables add up: start_at[] and area_at[] never decrease, total_s is their last time;
 * - shape_value() is finite, within [0, shape_max()];
 * - shape_area() never decreases (up to rounding) and never grows faster than the max;
 * - shape_time_at_area() inverts shape_area(), gives the same answer with a kept cursor as
 *   with a fresh one, and is INFINITY only past the end when the last value is 0;
 * - shape_describe() writes one NUL-terminated line.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Ishapes tests/fuzz/fuzz_shape_parse.c shapes/shape.c shapes/shape_parse.c -lm
 */
#include "shape.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SAMPLES 64

static void fail(const char *why, const struct shape *s, double x, double y)
{
    fprintf(stderr, "fuzz_shape_parse: %s (%.17g, %.17g) in a shape of %u stages, %.17g s\n", why, x, y,
            s->nstages, s->total_s);
    __builtin_trap();
}

/* Rounding allowance for areas near `a` on a shape whose areas reach `scale`. */
static double slack(const struct shape *s, double a)
{
    double scale = s->nstages ? s->area_at[s->nstages] : 0;
    return 1e-9 * (fabs(a) + scale + shape_max(s) * (s->total_s + 1) * 1e-3) + 1e-300;
}

static void check_shape(const struct shape *s)
{
    unsigned n = s->nstages;
    double max = shape_max(s);
    if (!isfinite(max) || max < 0 || !isfinite(s->total_s)) fail("max or total not finite", s, max, s->total_s);
    for (unsigned i = 0; i < n; i++)
        if (s->start_at[i + 1] < s->start_at[i] || s->area_at[i + 1] < s->area_at[i])
            fail("tables decrease", s, i, 0);
    if (n && s->start_at[n] != s->total_s) fail("total_s is not the last start", s, s->start_at[n], s->total_s);

    double end = s->total_s * 1.25 + 1, prev_t = 0, prev_a = 0;
    for (int k = 0; k <= SAMPLES; k++) {
        double t = end * k / SAMPLES, v = shape_value(s, t), a = shape_area(s, t);
        if (!isfinite(v) || v < 0 || v > max) fail("value out of range", s, t, v);
        if (!isfinite(a) || a < prev_a - slack(s, a)) fail("area decreases", s, t, a);
        if (a - prev_a > max * (t - prev_t) * (1 + 1e-9) + slack(s, a)) fail("area grows faster than the max", s, t, a);
        prev_t = t, prev_a = a;
    }
    for (unsigned i = 0; i <= n && i < SAMPLES; i++) {   /* at each stage start, just before and after */
        double t = s->start_at[i];
        if (!isfinite(shape_value(s, t)) || !isfinite(shape_value(s, nextafter(t, -1)))) fail("value NaN", s, t, 0);
    }
    if (shape_area(s, -1) != 0 || shape_value(s, -1) != s->start) fail("before 0", s, 0, 0);

    double total = n ? s->area_at[n] : 0, last = n ? s->stages[n - 1].target : s->start;
    unsigned cursor = 0;
    double prev = 0;
    for (int k = 1; k <= SAMPLES; k++) {
        double x = (total > 0 ? total : 1) * 1.5 * k / SAMPLES;
        unsigned fresh = 0;
        double t = shape_time_at_area(s, x, &cursor), t0 = shape_time_at_area(s, x, &fresh);
        if (!(t == t0 || (isnan(t) && isnan(t0)))) fail("cursor changes the answer", s, t, t0);
        if (isnan(t) || t < 0) fail("time_at_area NaN or negative", s, x, t);
        if (cursor > n) fail("cursor past the end", s, cursor, n);
        if (isinf(t)) {
            if (x <= total || last > 0) fail("INFINITY for a reachable area", s, x, total);
            continue;
        }
        double a = shape_area(s, t);
        if (fabs(a - x) > slack(s, x)) fail("area(time_at_area(x)) != x", s, x, a);
        if (t < prev - 1e-9 * (prev + 1)) fail("time_at_area decreases", s, prev, t);
        prev = t;
    }

    char line[256];
    shape_describe(s, line, sizeof(line));
    if (!memchr(line, 0, sizeof(line)) || strchr(line, '\n')) fail("describe", s, 0, 0);
}

static void try_file(const char *text, size_t len)
{
    static int fd = -1;
    if (fd < 0) fd = memfd_create("fuzz_shape", 0);
    if (fd < 0) return;
    if (ftruncate(fd, 0) || pwrite(fd, text, len, 0) != (ssize_t)len) return;
    char path[64], err[512];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct shape s;
    if (shape_load_file(&s, path, err, sizeof(err)) == 0) check_shape(&s);
    else if (!err[0] || strncmp(err, path, strlen(path))) fail("file error without the path", &s, 0, 0);
    shape_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    char err[512];
    struct shape s;

    err[0] = 0;
    if (shape_parse_stages(&s, text, err, sizeof(err)) == 0) check_shape(&s);
    else if (strncmp(err, "--stages: ", 10) || strchr(err, '\n')) fail("bad --stages error", &s, 0, 0);
    shape_free(&s);

    const double durations[] = {0, 0.5 + (double)(size % 97) * 7.25};
    for (int i = 0; i < 2; i++) {
        err[0] = 0;
        if (shape_parse_preset(&s, text, durations[i], err, sizeof(err)) == 0) check_shape(&s);
        else if (strncmp(err, "--shape", 7)) fail("bad --shape error", &s, 0, 0);
        if (durations[i] > 0 && s.nstages && s.total_s != durations[i] && fabs(s.total_s - durations[i]) > 1e-9 * durations[i])
            fail("preset does not last -d", &s, s.total_s, durations[i]);
        shape_free(&s);
    }

    try_file(text, size);
    free(text);
    return 0;
}
