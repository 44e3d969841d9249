/* --watch-pid: samples a server process's CPU and RSS from /proc at every interval, and
 * sums them up for the report: RSS growth and its slope (a leak warning past
 * --leak-threshold), mean and peak CPU. Runs on the reporter thread.
 * Ownership: watch_open() allocates; watch_close() frees (accepts NULL). */
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

#endif
