/* Pass/fail for CI: --threshold expressions and the A-F grade (README, "Thresholds and grades").
 *
 * A threshold is one SLO condition (shapes/slo.h grammar: "p99<250ms", "errors<1%", "rps>5000")
 * on the totals, or on one scenario step name: "list items:p95<100ms" (split at the last ':').
 * server_cpu and server_rss_growth are measured on the --watch-pid processes (the whole run,
 * never a step): each watched process must hold the condition, so the value judged is the
 * highest of theirs (mean CPU over the run; RSS at the end minus at the start).
 * Pure logic over merged statistics: no I/O, no allocation. The caller owns every struct. */
#ifndef BARRAGE_THRESHOLD_H
#define BARRAGE_THRESHOLD_H

#include <stdbool.h>
#include <stddef.h>

#include "slo.h"
#include "stats.h"

#define THRESHOLD_MAX 32
#define THRESHOLD_TEXT_LEN 256  /* the expression as written, NUL included */

struct threshold {
    char expr[THRESHOLD_TEXT_LEN];  /* as written, trimmed: "list items:p95<100ms" */
    char name[THRESHOLD_TEXT_LEN];  /* the step name; "" for the totals */
    int step;                       /* index into the scenario's stat_names; -1 for the totals */
    struct slo_cond cond;
};

struct watch_result;  /* report.h */

struct threshold_set {
    struct threshold t[THRESHOLD_MAX];
    unsigned n;
};

/* Parses one --threshold and appends it to set (step stays -1 until threshold_resolve()).
 * Returns 0, or -1 with one line in err naming the flag and the text. */
int threshold_add(struct threshold_set *set, const char *text, char *err, size_t errlen);

/* Binds each per-name threshold to its step among names[0..nnames). selected_by: the flags
 * that chose those steps out of the file's ("--tags", ...; NULL: all of them), for the
 * message. Returns 0, or -1 with err set (a name that no step has, or a name without a
 * scenario). */
int threshold_resolve(struct threshold_set *set, char *const *names, unsigned nnames, const char *selected_by,
                      char *err, size_t errlen);

/* Measured value (the condition's unit, NaN when nothing was measured) and verdict. */
struct threshold_result {
    double value;
    bool passed;
};

/* True when a threshold is on a server metric (it needs --watch-pid). */
bool threshold_set_has_server(const struct threshold_set *set);

/* Evaluates every threshold on `total` covering duration_s seconds, and the server metrics on
 * watch[0..nwatch) (the --watch-pid figures so far; NULL, 0 without: they read NaN and fail).
 * min_count > 0 (during the run): a threshold whose subject has fewer responses, or a server
 * metric not measured yet, is reported as passed with a NaN value, not judged yet. Returns
 * true when all passed. */
bool threshold_eval(const struct threshold_set *set, const struct stats *total, double duration_s,
                    const struct watch_result *watch, unsigned nwatch, uint64_t min_count,
                    struct threshold_result res[]);

/* The grade A..F from the error rate and a latency percentile (see threshold.c for bands). */
struct grade {
    char letter;      /* 'A'..'F' */
    char reason[256]; /* "p99 412ms is over the 250ms of A" (for B) */
};
/* slo: the --slo conditions, or NULL (or empty) for the defaults p99<500ms, errors<1%. */
void threshold_grade(const struct slo *slo, const struct stats *total, struct grade *g);

#endif
