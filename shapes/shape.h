/* Load shapes: pure functions of time → a target value, the number of users (closed loop)
 * or the arrival rate in requests/s (open loop).
 *
 * A shape is a start value and a list of stages; each stage goes linearly from the previous
 * target to its own over its duration (duration 0: an instant jump). Before t = 0 the value
 * is `start`; after the last stage it stays at the last target. Values are >= 0.
 *
 * The parsers (stages, presets, files, Locust flags) run at plan time and may allocate;
 * shape_value(), shape_area() and shape_time_at_area() never allocate and are safe to call
 * from any number of threads on the same shape.
 *
 * Ownership: a shape owns one heap block, `stages`; `area_at` and `start_at` point into it.
 * shape_free() releases it (NULL-safe, idempotent). The parsers overwrite *s without freeing
 * it; on error they leave it all zero, so shape_free() is always safe afterwards.
 */
#ifndef BARRAGE_SHAPE_H
#define BARRAGE_SHAPE_H

#include <stddef.h>

#define SHAPE_MAX_STAGES 100000
#define SHAPE_MAX_VALUE 1e9       /* largest target (users or req/s) */
#define SHAPE_MAX_DURATION 1e9    /* longest single stage, seconds */
#define SHAPE_MIN_VALUE 1e-6      /* smallest target above 0 */
#define SHAPE_MIN_DURATION 1e-6   /* shortest stage above 0 (a jump is 0) */

struct shape_stage {
    double duration_s;   /* >= 0; 0 = an instant jump */
    double target;       /* value at the end of the stage */
};

struct shape {
    double start;                 /* value at t = 0 */
    struct shape_stage *stages;   /* owned (the one block) */
    unsigned nstages;
    double total_s;               /* sum of the durations */
    double *area_at;              /* integral of the value from 0 to the start of stage i (nstages+1 entries) */
    double *start_at;             /* time at which stage i starts (nstages+1 entries; the last is total_s) */
};

/* All parsers: return 0, or -1 with a one-line message in err naming the flag or
 * file:line and what was expected. */

/* A duration as people write it, the whole of [p, end): "1.5s", "500ms", "250us", "2m",
 * "1h", "1m30s", "1h30m"; a bare number is seconds. Returns 0 with *seconds, or -1 (no
 * range limits: each user of it applies its own). The one duration syntax of barrage:
 * the shapes, -d and every other duration flag, scenario files. */
int shape_parse_duration(const char *p, const char *end, double *seconds);

/* k6 style, "30s:100,1m:100,30s:0"; the start value is 0. */
int shape_parse_stages(struct shape *s, const char *text, char *err, size_t errlen);

/* "name,key=value,...": constant,value=N | ramp,to=N,over=T | step,by=N,every=T,to=M |
 * spike,base=B,peak=P,at=T1,for=T2 | soak,to=N,ramp=T. duration_s is the run's -d
 * (0: not given); the presets hold their last value until then. */
int shape_parse_preset(struct shape *s, const char *text, double duration_s, char *err, size_t errlen);

/* One stage a line, "30s 100" or "30s:100"; '#' starts a comment; blank lines are skipped.
 * Errors read "path:N: ...". The start value is 0. */
int shape_load_file(struct shape *s, const char *path, char *err, size_t errlen);

/* Locust: ramp from 0 at spawn_rate users/s up to `users`, hold until run_time_s
 * (0: no end; the ramp is cut if run_time_s is shorter). */
int shape_locust(struct shape *s, double users, double spawn_rate, double run_time_s, char *err, size_t errlen);

/* Builds a shape from a copy of `stages`. Returns 0, or -1 when out of memory or when a
 * value is out of range (negative, non-finite, above the limits above); *s is then empty. */
int shape_from_stages(struct shape *s, double start, const struct shape_stage *stages, unsigned nstages);

/* `value` for duration_s: start = value and one stage. If that cannot be built (out of
 * memory, value out of range) the shape still holds `value`, with no stages. */
void shape_constant(struct shape *s, double value, double duration_s);

void shape_free(struct shape *s);

/* The value at t; t < 0: start; after total_s: the last target. A jump (a stage of
 * duration 0) takes effect at its instant. O(log nstages). */
double shape_value(const struct shape *s, double t);

/* The largest value the shape takes. */
double shape_max(const struct shape *s);

/* ∫_0^t value dt (0 for t <= 0; after the end the value continues as the last target). */
double shape_area(const struct shape *s, double t);

/* The earliest t >= 0 with shape_area(t) >= area (0 for area <= 0); INFINITY if never
 * reached (the value stays 0 after the end). *cursor is a stage index the caller keeps
 * between calls, starting at 0: increasing queries cost O(1) amortized, and the answer
 * does not depend on the cursor. Successive answers for increasing areas are non-decreasing
 * up to rounding (a few ulps). Never allocates. */
double shape_time_at_area(const struct shape *s, double area, unsigned *cursor);

/* One line for reports, e.g. "stages 30s:100, 1m:100, 30s:0" or "constant 50 for 1m". */
void shape_describe(const struct shape *s, char *buf, size_t len);

#endif
