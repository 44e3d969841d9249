/* A load run: start the workers, report each interval, stop, summarize. */
#ifndef BARRAGE_RUN_H
#define BARRAGE_RUN_H

#include <stdbool.h>

#include "plan.h"
#include "report.h"

/* Runs the plan to completion (or the breaking-point search); prints and writes the
 * reports; returns the process exit code. */
int run_load(struct plan *p);

/* The pieces, for drivers that run several loads (find_limit.c). */
struct run_opts {
    bool live;            /* print a line per interval (unless the plan is quiet) */
    uint64_t warmup_ns;   /* measure only from the first interval boundary after this */
    struct outputs *outputs;  /* report files and watched processes fed per interval; or NULL */
};
struct run_output {
    struct summary sum;   /* points at total and intervals below */
    struct stats *total;  /* owned */
    struct interval_rec *intervals;  /* owned */
    double measured_from_s;  /* total covers from here (after the warm-up) to the stop */
};
/* Checks io_uring, raises the open-file limit, installs the signal handlers. Returns 0, or
 * an exit code after printing why. */
int run_setup(const struct plan *p);
/* One run of the plan: starts the workers, reports intervals, joins, merges. Returns 0, or
 * 1 when a worker failed (what ran is still in *out). Free *out with run_output_free(). */
int run_once(const struct plan *p, const struct run_opts *o, struct run_output *out);
void run_output_free(struct run_output *out);
/* A SIGINT or SIGTERM arrived. */
bool run_interrupted(void);

/* Raises RLIMIT_NOFILE for `need` descriptors. Returns 0, or -1 with a message naming
 * the limit and the fix. */
int raise_fd_limit(uint64_t need, char *err, size_t errlen);

#endif
