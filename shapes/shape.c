/* A shape's tables and its math: value, integral and the integral's inverse. See shape.h. */
#include "shape.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 0, or between SHAPE_MIN_VALUE and SHAPE_MAX_VALUE: smaller targets underflow the
 * integral's inverse and mean nothing (one request in 11 days). */
static int valid_value(double v)
{
    return v == 0 || (isfinite(v) && v >= SHAPE_MIN_VALUE && v <= SHAPE_MAX_VALUE);
}

int shape_from_stages(struct shape *s, double start, const struct shape_stage *stages, unsigned nstages)
{
    memset(s, 0, sizeof(*s));
    if (!valid_value(start) || nstages > SHAPE_MAX_STAGES) return -1;
    for (unsigned i = 0; i < nstages; i++) {
        double d = stages[i].duration_s;
        if (!valid_value(stages[i].target) || !isfinite(d) || d < 0 || d > SHAPE_MAX_DURATION) return -1;
        if (d > 0 && d < SHAPE_MIN_DURATION) return -1;
    }
    /* one block: the stages, then area_at[n + 1], then start_at[n + 1] */
    size_t n = nstages;
    char *block = malloc(n * sizeof(struct shape_stage) + 2 * (n + 1) * sizeof(double));
    if (!block) return -1;
    s->stages = (struct shape_stage *)block;
    s->area_at = (double *)(block + n * sizeof(struct shape_stage));
    s->start_at = s->area_at + n + 1;
    if (n) memcpy(s->stages, stages, n * sizeof(*stages));
    s->start = start;
    s->nstages = nstages;
    double t = 0, area = 0, prev = start;
    for (size_t i = 0; i < n; i++) {
        s->start_at[i] = t;
        s->area_at[i] = area;
        double d = stages[i].duration_s, b = stages[i].target;
        t += d;
        area += d * (prev + b) / 2;
        prev = b;
    }
    s->start_at[n] = t;
    s->area_at[n] = area;
    s->total_s = t;
    return 0;
}

void shape_constant(struct shape *s, double value, double duration_s)
{
    struct shape_stage st = {duration_s, value};
    if (shape_from_stages(s, value, &st, 1) == 0) return;
    /* out of memory (or out of range): still a constant, with no stages */
    memset(s, 0, sizeof(*s));
    s->start = value;
    s->total_s = duration_s;
}

void shape_free(struct shape *s)
{
    if (!s) return;
    free(s->stages);
    memset(s, 0, sizeof(*s));
}

/* The value at which stage i starts. */
static double stage_from(const struct shape *s, unsigned i)
{
    return i ? s->stages[i - 1].target : s->start;
}

static double last_value(const struct shape *s)
{
    return stage_from(s, s->nstages);
}

/* The stage holding t, for 0 <= t < total_s: the last i with start_at[i] <= t, which has
 * a duration > 0 (a later zero-length stage would start at or before t too). */
static unsigned stage_at(const struct shape *s, double t)
{
    unsigned lo = 0, hi = s->nstages - 1;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo + 1) / 2;
        if (s->start_at[mid] <= t) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* Value at tau into stage i (0 <= tau <= duration, duration > 0). */
static double value_in(const struct shape *s, unsigned i, double tau)
{
    double a = stage_from(s, i), b = s->stages[i].target, d = s->stages[i].duration_s;
    double v = a + (b - a) * (tau / d);
    /* stay between a and b despite rounding */
    double lo = a < b ? a : b, hi = a < b ? b : a;
    return v < lo ? lo : v > hi ? hi : v;
}

double shape_value(const struct shape *s, double t)
{
    if (!(t >= 0) || !s->nstages) return s->start;
    if (t >= s->total_s) return last_value(s);
    unsigned i = stage_at(s, t);
    return value_in(s, i, t - s->start_at[i]);
}

double shape_max(const struct shape *s)
{
    double m = s->start;
    for (unsigned i = 0; i < s->nstages; i++)
        if (s->stages[i].target > m) m = s->stages[i].target;
    return m;
}

double shape_area(const struct shape *s, double t)
{
    if (!(t > 0)) return 0;
    if (!s->nstages) return s->start * t;
    if (t >= s->total_s) return s->area_at[s->nstages] + last_value(s) * (t - s->total_s);
    unsigned i = stage_at(s, t);
    double tau = t - s->start_at[i];
    double area = s->area_at[i] + tau * (stage_from(s, i) + value_in(s, i, tau)) / 2;
    /* never past the stage's end, so that the area stays monotonic across stages */
    return area < s->area_at[i + 1] ? area : s->area_at[i + 1];
}

/* Within stage i (value a → b over d > 0, positive area), the tau in [0, d] where the
 * integral from the stage's start reaches r > 0:  a tau + (b - a) tau² / (2 d) = r.
 * The root is written as 2r / (a + sqrt(a² + 2 r (b - a) / d)), which has no subtraction
 * of near-equal terms: it is r / a when b = a, sqrt(2 r d / b) when a = 0, and its square
 * root stays real on a ramp down (b < a) because r is at most the area to reach b. */
static double tau_for_area(double a, double b, double d, double r)
{
    double q = a * a + 2 * (r / d) * (b - a);
    if (q < 0) q = 0;
    double den = a + sqrt(q);
    double tau = den > 0 ? 2 * r / den : 0;
    return tau < d ? tau : d;
}

double shape_time_at_area(const struct shape *s, double area, unsigned *cursor)
{
    if (!(area > 0)) return 0;
    unsigned n = s->nstages;
    if (!n) return s->start > 0 ? area / s->start : INFINITY;
    /* the first stage whose end reaches `area`; area_at[] never decreases */
    unsigned i = *cursor < n ? *cursor : n;
    while (i > 0 && s->area_at[i] >= area) i--;
    while (i < n && s->area_at[i + 1] < area) i++;
    *cursor = i;
    if (i == n) {
        double v = last_value(s);
        return v > 0 ? s->total_s + (area - s->area_at[n]) / v : INFINITY;
    }
    /* area_at[i] < area <= area_at[i + 1]: stage i has a positive area, so duration > 0 */
    double d = s->stages[i].duration_s;
    double t = s->start_at[i] + tau_for_area(stage_from(s, i), s->stages[i].target, d, area - s->area_at[i]);
    return t < s->start_at[i + 1] ? t : s->start_at[i + 1];
}

/* "1h2m30s", "500ms", "0s". */
static void format_duration(double sec, char *buf, size_t len)
{
    if (sec <= 0) {
        snprintf(buf, len, "0s");
        return;
    }
    if (sec < 1) {
        snprintf(buf, len, "%.6gms", sec * 1000);
        return;
    }
    double h = floor(sec / 3600), m = floor((sec - h * 3600) / 60), rest = sec - h * 3600 - m * 60;
    size_t at = 0;
    if (h > 0) at += (size_t)snprintf(buf + at, len - at, "%.0fh", h);
    if (m > 0 && at < len) at += (size_t)snprintf(buf + at, len - at, "%.0fm", m);
    if ((rest > 0 || at == 0) && at < len) snprintf(buf + at, len - at, "%.6gs", rest);
}

#define DESCRIBE_STAGES 8   /* stages listed before "..." */

void shape_describe(const struct shape *s, char *buf, size_t len)
{
    if (!len) return;
    char d[64];
    if (!s->nstages || (s->nstages == 1 && s->stages[0].target == s->start)) {
        if (s->total_s <= 0) {  /* -n without -d: for as long as the requests take */
            snprintf(buf, len, "constant %.10g", s->start);
            return;
        }
        format_duration(s->total_s, d, sizeof(d));
        snprintf(buf, len, "constant %.10g for %s", s->start, d);
        return;
    }
    size_t at = (size_t)snprintf(buf, len, "stages ");
    if (s->start != 0 && at < len) at += (size_t)snprintf(buf + at, len - at, "from %.10g: ", s->start);
    for (unsigned i = 0; i < s->nstages && i < DESCRIBE_STAGES && at < len; i++) {
        format_duration(s->stages[i].duration_s, d, sizeof(d));
        at += (size_t)snprintf(buf + at, len - at, "%s%s:%.10g", i ? ", " : "", d, s->stages[i].target);
    }
    if (s->nstages > DESCRIBE_STAGES && at < len) {
        format_duration(s->total_s, d, sizeof(d));
        snprintf(buf + at, len - at, ", ... (%u stages, %s)", s->nstages, d);
    }
}
