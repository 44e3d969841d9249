/* --watch-pid: samples a server process's CPU and RSS from /proc at every interval, and
 * sums them up for the report: RSS growth and its slope (a leak warning past
 * --leak-threshold), mean and peak CPU. Runs on the reporter thread.
 * Ownership: watch_open() allocates; watch_close() frees (accepts NULL).
 *
 * The figures (struct watch_result, report.h):
 *   rss_start_mb   at watch_open(), before the load; rss_end_mb: the last sample it was alive
 *   rss_slope      least squares over the samples taken under load (each interval's, not the
 *                  one before the run: the jump from idle to a working set is growth, not a
 *                  leak). NaN (JSON null) with fewer than WATCH_SLOPE_MIN_SAMPLES of them or
 *                  when they span under WATCH_SLOPE_MIN_SPAN_S: 3 s runs or longer at the
 *                  default 1 s interval. leak_suspected: the slope is above --leak-threshold.
 *   cpu_mean_pct   CPU time from watch_open() to the last sample over that time (NaN before
 *                  the first sample); cpu_max_pct: the busiest interval, leaving out one
 *                  shorter than half of --interval (the run's last, partial one), and over
 *                  windows of consecutive intervals of at least WATCH_CPU_MIN_TICKS when
 *                  --interval is shorter: 1/CLK_TCK ticks over a few ms read as 100s of %
 *                  (a run shorter than one window: its mean). */
#ifndef BARRAGE_WATCH_H
#define BARRAGE_WATCH_H

#include "report.h"

struct watch;

/* Checks that each of the plan's processes exists and can be read. NULL with err set
 * ("--watch-pid 123: no such process"). */
struct watch *watch_open(const struct plan *p, char *err, size_t errlen);
/* Samples every process at the end of rec's interval into rec->server[]. */
void watch_sample(struct watch *w, struct interval_rec *rec);
/* The figures of the run so far, one per watched process (owned by w). */
const struct watch_result *watch_results(struct watch *w);
void watch_close(struct watch *w);

#define WATCH_SLOPE_MIN_SAMPLES 3
#define WATCH_SLOPE_MIN_SPAN_S 1.5
/* cpu_max_pct is taken over windows of at least this many clock ticks (200 ms at 100 Hz) */
#define WATCH_CPU_MIN_TICKS 20

/* A least-squares line through (t, y) points added one at a time: no storage, numerically
 * stable (running means and co-moments, as Welford's variance). */
struct slope_acc {
    double n, mean_t, mean_y, m2_t, c_ty;
    double t_first, t_last;
};
void slope_add(struct slope_acc *a, double t, double y);
/* y per unit of t; NaN with fewer than 2 points or when every t is the same. */
double slope_value(const struct slope_acc *a);
/* The same over arrays (for tests): the slope of y[i] over t[i], i < n. */
double watch_slope(const double *t, const double *y, size_t n);

#endif
