/* Sinks: the live line per interval, the final console summary, the JSON summary.
 * They only read what the reporter merged; none of them runs on a worker. */
#ifndef BARRAGE_REPORT_H
#define BARRAGE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "plan.h"
#include "stats.h"

struct summary {
    const struct plan *plan;
    const struct stats *total;   /* every worker, every interval */
    double duration_s;           /* start to the last worker's stop */
    uint64_t in_flight;          /* unanswered when the run stopped */
    uint32_t max_open;           /* most connections open at once (sum of workers' peaks) */
    unsigned threads;
    bool interrupted;            /* stopped by a signal */
};

/* One interval. tty: rewrite one line in place with a progress bar. */
void report_live(FILE *out, const struct plan *p, double elapsed_s, double interval_s,
                 const struct stats *iv, bool tty);
void report_summary(FILE *out, const struct summary *s);
/* Returns 0, or -1 with err set. */
int report_json(const char *path, const struct summary *s, char *err, size_t errlen);

/* Responses per second: complete responses (any status) over the duration. */
double summary_rps(const struct summary *s);
/* "850us", "1.25ms", "2.50s" */
void format_us(char *buf, size_t len, uint64_t us);

#endif
