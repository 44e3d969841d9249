/* The report files a run writes as it goes and at its end: --csv, --hdr-log, --html,
 * and the --watch-pid sampler whose figures they and the summary show.
 *
 * The reporter (run.c) opens them before the workers start, so that a path that cannot be
 * written fails the run before any load; feeds them each interval; finishes them with the
 * summary. None of them runs on a worker. Ownership: outputs_open() allocates what it
 * returns; outputs_close() frees it (accepts NULL).
 */
#ifndef BARRAGE_OUTPUTS_H
#define BARRAGE_OUTPUTS_H

#include "report.h"

/* One interval as the sinks see it. */
struct interval_view {
    const struct interval_rec *rec;  /* t0, t and the figures of the interval */
    const struct stats *iv;          /* the interval, every worker merged */
    const struct stats *total;       /* since measuring began, up to this interval's end */
};

struct outputs;

/* Before the run (plan_prepare): whether path can be written, found out without leaving a
 * trace. A file made here is removed again; one that exists is neither truncated nor
 * changed, so a run refused later (or for another file) keeps the last run's reports.
 * Returns 0, or -1 with a one-line "FLAG: cannot create PATH: reason" in err. */
int output_path_check(const char *flag, const char *path, char *err, size_t errlen);

/* Opens the plan's report files and watched processes. Returns NULL with err set when one
 * cannot be opened (or out of memory). */
struct outputs *outputs_open(const struct plan *p, char *err, size_t errlen);
/* The run started now: epoch is the wall clock at the start, seconds since 1970. */
void outputs_begin(struct outputs *o, double epoch);
/* An interval ended: samples the watched processes into rec->server[] (--watch-pid), then
 * writes what the files keep per interval. iv: the interval, total: since measuring began. */
void outputs_interval(struct outputs *o, struct interval_rec *rec, const struct stats *iv, const struct stats *total);
/* The watched processes' figures over the run, for the summary (NULL without --watch-pid). */
const struct watch_result *outputs_watch_results(struct outputs *o);
/* Writes what the files keep of the whole run. Returns 0, or -1 with err set (the first
 * failure; the others are still written). */
int outputs_finish(struct outputs *o, const struct summary *s, char *err, size_t errlen);
void outputs_close(struct outputs *o);

#endif
