/* Breaking-point search: which fixed load to run next, and where the server broke.
 *
 * The driver runs one fixed-load step at a time (open loop: an offered rate in req/s, or of
 * arriving users/s with a scenario; closed loop: a number of users) and reports what it
 * measured, in the same unit as the load (open loop) or in req/s (closed loop):
 *
 *     limit_init(&ls, closed, start, hint, max);
 *     for (double load; (load = limit_next(&ls)) > 0;) { run a step at load; limit_record(&ls, &step); }
 *     limit_result(&ls, &res);
 *
 * Policy.
 *   Ramp. Open loop with a ceiling hint C (the throughput a closed-loop probe reached):
 *     25, 50, 70, 80, 90, 100, 110, 125, 150, 200 % of C, then doubling (400 %, 800 % …);
 *     `start` is then ignored. Without a hint: `start` (default 100 req/s), doubling.
 *     Closed loop: users `start` (default 1), doubling; loads are whole users and the hint
 *     is ignored. A step above max_load is run at max_load instead, once.
 *   A step breaks when (first that applies):
 *     LIMIT_BROKE_SLO         slo_ok is false;
 *     LIMIT_BROKE_THROUGHPUT  open loop: achieved < LIMIT_FOLLOW (0.98) × offered, less two
 *                             completions over the measured span (a short step at a low rate
 *                             counts few; none never holds); at 0.9 a load 11% past the
 *                             server's capacity held;
 *     LIMIT_BROKE_LATENCY     closed loop, against the recorded step P with the next lower
 *                             load, r = load / P's load: achieved / P.achieved − 1 < 0.02 (r − 1)
 *                             and p99 / P.p99 − 1 > 0.2 (r − 1). For a doubling (r = 2) that is
 *                             achieved < 1.02 × P.achieved while p99 > 1.2 × P.p99; scaling by
 *                             r keeps the rule meaningful for the closer loads of bisection.
 *   Refine. After the first break, bisect between the highest good load and the lowest broken
 *     one, for up to LIMIT_REFINE_STEPS steps, stopping early when the gap is below 2 % of the
 *     broken load (closed loop: when no whole user lies between). If the very first step
 *     breaks, halve the load (not counted as refinement) until one holds; stop at 1 user or
 *     below 1 req/s, or when the last LIMIT_FLAT_STEPS steps all broke an `errors` condition
 *     and the error rate of the lowest is at least LIMIT_FLAT_SHARE of the highest's, less two
 *     standard errors over the lowest's outcomes, while the requests that succeeded fell by
 *     half or more (errors that do not fall with the load: every request answered 503, say;
 *     a server shedding what is over its capacity keeps its successes instead).
 *   Stop at LIMIT_MAX_STEPS steps, or after a step at max_load that did not break.
 *   limit = the highest load whose step did not break (0 if none).
 *   knee  = the lowest load whose step shows saturation, 0 if none: p99 > 2 × the p99 of the
 *     lowest-load step, or (open loop) the step did not follow (as in Throughput above), or (closed loop) achieved
 *     < 0.9 × the throughput the lowest-load step would give scaled linearly to this load.
 *
 * Pure logic: no I/O, no clock, no allocation. */
#ifndef BARRAGE_LIMIT_H
#define BARRAGE_LIMIT_H

#include <stdbool.h>

#define LIMIT_FOLLOW 0.98  /* open loop: the share of the offered rate a holding step achieves */

#define LIMIT_MAX_STEPS 64
#define LIMIT_REFINE_STEPS 3
#define LIMIT_FLAT_STEPS 3     /* coming down: steps, each at half the load, whose errors ... */
#define LIMIT_FLAT_SHARE 0.8   /* ... kept this share of the first's error rate: stop */

enum limit_verdict { LIMIT_OK, LIMIT_BROKE_SLO, LIMIT_BROKE_THROUGHPUT, LIMIT_BROKE_LATENCY };

enum limit_stop {
    LIMIT_RUNNING,
    LIMIT_STOP_BROKEN,    /* broke, and refinement is done: limit is the breaking point */
    LIMIT_STOP_FLOOR,     /* broke even at 1 user / below 1 req/s: limit is 0 */
    LIMIT_STOP_ERRORS_FLAT, /* nothing held, and the errors did not fall with the load: limit is 0 */
    LIMIT_STOP_MAX_LOAD,  /* max_load held without breaking */
    LIMIT_STOP_MAX_STEPS, /* LIMIT_MAX_STEPS steps run before any of the above */
};

/* One step as measured. The caller fills the measurements; limit_record sets offered to the
 * load limit_next returned and verdict to its judgement. */
struct limit_step {
    double offered;    /* req/s (open loop) or users (closed loop); with a scenario in open
                          loop, arriving users/s */
    double achieved;   /* completed req/s (with a scenario in open loop: ended users/s) */
    double rps;        /* completed req/s, for reports (not judged) */
    double span_s;     /* the measured part of the step: achieved is a count over it */
    double p50_us, p99_us;
    double error_rate; /* 0..1 */
    double outcomes;   /* requests that ended ok or failed in the span: error_rate's sample */
    bool slo_ok;       /* every SLO condition held (true when there is no SLO) */
    bool errors_broke; /* an `errors` condition of the SLO failed */
    enum limit_verdict verdict;
};

/* Visible so that it can live on the stack; read it through the functions below. */
struct limit_search {
    bool closed;
    double ceiling, max_load;
    double base;              /* first load of the ramp (no hint) */
    double next;              /* what limit_next returns; 0 once stopped */
    double good, bad;         /* highest load that held / lowest that broke; 0 = none yet */
    unsigned ramp, refined;   /* ramp loads planned, refinement steps planned */
    unsigned n;
    enum limit_stop stop;
    struct limit_step steps[LIMIT_MAX_STEPS];
};

/* closed: loads are users (whole numbers). start: the first load, 0 = default. ceiling_hint:
 * open loop only, the throughput a closed-loop probe reached in the loads' unit, 0 = none.
 * max_load: 0 = none. */
void limit_init(struct limit_search *ls, bool closed, double start, double ceiling_hint, double max_load);

/* The load of the next step, or 0 when the search is over. Asking twice gives the same load. */
double limit_next(const struct limit_search *ls);

/* Records the step run at the load limit_next returned (st->offered and st->verdict are
 * ignored and set in the stored copy) and plans the next. Ignored once the search is over. */
void limit_record(struct limit_search *ls, const struct limit_step *st);

struct limit_result {
    double limit;            /* highest load that did not break, 0 if none */
    double knee;             /* lowest load showing saturation (see above), 0 if none */
    enum limit_stop stop;
    const char *stop_reason; /* limit_stop_str(stop) */
    int break_step;          /* index in steps of the lowest broken load, -1 if none */
    unsigned nsteps;
    const struct limit_step *steps; /* in the order run; points into the search */
};

void limit_result(const struct limit_search *ls, struct limit_result *out);

const char *limit_stop_str(enum limit_stop stop);       /* "breaking point found" … */
const char *limit_verdict_str(enum limit_verdict v);    /* "ok", "SLO failed" … */

#endif
