/* Breaking-point search: a ramp, then bisection. The policy is in limit.h. */
#include "limit.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static const double hint_ramp[] = {0.25, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0};
#define HINT_RAMP_LEN (sizeof(hint_ramp) / sizeof(hint_ramp[0]))

/* The k-th load of the ramp, before capping at max_load. */
static double ramp_load(const struct limit_search *ls, unsigned k)
{
    if (ls->ceiling > 0) {
        if (k < HINT_RAMP_LEN) return hint_ramp[k] * ls->ceiling;
        return ls->ceiling * hint_ramp[HINT_RAMP_LEN - 1] * ldexp(1, (int)(k - HINT_RAMP_LEN + 1));
    }
    return ls->base * ldexp(1, (int)k);
}

static double stop(struct limit_search *ls, enum limit_stop why)
{
    ls->stop = why;
    return 0;
}

/* Coming down from a first step that broke: whether the last LIMIT_FLAT_STEPS steps (each
 * at half the load of the one before) all had errors, and the error rate at the lowest load
 * is still at least LIMIT_FLAT_SHARE of the rate at the highest, less two standard errors
 * of a rate counted over the lowest step's few requests. Errors that do not fall with the
 * load (a 503 or 404 for every request, a server that resets every connection) are not a
 * breaking point: halving on to the floor would only take longer to say so. */
static bool errors_flat(const struct limit_search *ls)
{
    if (ls->n < LIMIT_FLAT_STEPS) return false;
    const struct limit_step *last = &ls->steps[ls->n - LIMIT_FLAT_STEPS];
    for (unsigned i = 0; i < LIMIT_FLAT_STEPS; i++)
        if (!last[i].errors_broke || !(last[i].error_rate > 0)) return false;
    const struct limit_step *hi = &last[0], *low = &last[LIMIT_FLAT_STEPS - 1];
    double noise = low->outcomes >= 1 ? 2 * sqrt(hi->error_rate * (1 - hi->error_rate) / low->outcomes) : 0;
    if (low->error_rate < LIMIT_FLAT_SHARE * hi->error_rate - noise) return false;
    /* successes per second: a server that sheds what is over its capacity keeps them
     * while its error rate falls slowly (from 16 times its capacity: 94%, 88%, 75%) */
    double ok_hi = hi->span_s > 0 ? hi->outcomes * (1 - hi->error_rate) / hi->span_s : 0;
    double ok_low = low->span_s > 0 ? low->outcomes * (1 - low->error_rate) / low->span_s : 0;
    return ok_low <= 0.5 * ok_hi;
}

/* The load after the steps recorded so far, or 0 with ls->stop set. */
static double plan(struct limit_search *ls)
{
    if (ls->bad == 0) { /* still ramping: everything so far held */
        if (ls->max_load > 0 && ls->good >= ls->max_load) return stop(ls, LIMIT_STOP_MAX_LOAD);
        double load = ramp_load(ls, ls->ramp++);
        return ls->max_load > 0 && load > ls->max_load ? ls->max_load : load;
    }
    if (ls->good == 0) { /* even the first step broke: come down until one holds */
        if (errors_flat(ls)) return stop(ls, LIMIT_STOP_ERRORS_FLAT);
        double load = ls->closed ? floor(ls->bad / 2) : ls->bad / 2;
        return load < 1 ? stop(ls, LIMIT_STOP_FLOOR) : load;
    }
    if (ls->refined == LIMIT_REFINE_STEPS) return stop(ls, LIMIT_STOP_BROKEN);
    double mid = (ls->good + ls->bad) / 2;
    if (ls->closed) mid = floor(mid);
    if (ls->bad - ls->good < 0.02 * ls->bad || mid <= ls->good || mid >= ls->bad)
        return stop(ls, LIMIT_STOP_BROKEN);
    ls->refined++;
    return mid;
}

void limit_init(struct limit_search *ls, bool closed, double start, double ceiling_hint, double max_load)
{
    memset(ls, 0, sizeof(*ls));
    ls->closed = closed;
    bool have_start = start > 0 && isfinite(start);
    if (closed) {
        ls->base = have_start && start >= 1 ? floor(start) : 1;
        ls->max_load = max_load > 0 && isfinite(max_load) ? fmax(floor(max_load), 1) : 0;
    } else {
        ls->base = have_start ? start : 100;
        ls->ceiling = ceiling_hint > 0 && isfinite(ceiling_hint) ? ceiling_hint : 0;
        ls->max_load = max_load > 0 && isfinite(max_load) ? max_load : 0;
    }
    ls->stop = LIMIT_RUNNING;
    ls->next = plan(ls);
}

double limit_next(const struct limit_search *ls)
{
    return ls->stop == LIMIT_RUNNING ? ls->next : 0;
}

/* The recorded step with the highest load below `load`, or NULL. */
static const struct limit_step *step_below(const struct limit_search *ls, double load)
{
    const struct limit_step *best = NULL;
    for (unsigned i = 0; i < ls->n; i++)
        if (ls->steps[i].offered < load && (!best || ls->steps[i].offered > best->offered)) best = &ls->steps[i];
    return best;
}

/* Open loop: whether the step achieved the rate offered, give or take two completions (a
 * count's own grain over the step's span). The verdict and the knee both ask this. */
static bool follows_offered(const struct limit_step *st)
{
    double slack = st->span_s > 0 ? 2 / st->span_s : 0;
    return st->achieved > 0 && st->achieved + slack >= LIMIT_FOLLOW * st->offered;
}

static enum limit_verdict judge(const struct limit_search *ls, const struct limit_step *st)
{
    if (!st->slo_ok) return LIMIT_BROKE_SLO;
    if (!ls->closed) return follows_offered(st) ? LIMIT_OK : LIMIT_BROKE_THROUGHPUT;
    const struct limit_step *prev = step_below(ls, st->offered);
    if (!prev || !(prev->achieved > 0) || !(prev->p99_us > 0)) return LIMIT_OK;
    double r = st->offered / prev->offered - 1;
    double gained = st->achieved / prev->achieved - 1, rose = st->p99_us / prev->p99_us - 1;
    return gained < 0.02 * r && rose > 0.2 * r ? LIMIT_BROKE_LATENCY : LIMIT_OK;
}

void limit_record(struct limit_search *ls, const struct limit_step *st)
{
    if (ls->stop != LIMIT_RUNNING) return;
    struct limit_step s = *st;
    s.offered = ls->next;
    s.verdict = judge(ls, &s);
    ls->steps[ls->n++] = s;
    if (s.verdict == LIMIT_OK) {
        if (s.offered > ls->good) ls->good = s.offered;
    } else if (ls->bad == 0 || s.offered < ls->bad) {
        ls->bad = s.offered;
    }
    ls->next = plan(ls);
    if (ls->stop == LIMIT_RUNNING && ls->n == LIMIT_MAX_STEPS) ls->next = stop(ls, LIMIT_STOP_MAX_STEPS);
}

/* Whether st shows saturation against the lowest-load step base (see limit.h). */
static bool saturated(const struct limit_search *ls, const struct limit_step *base, const struct limit_step *st)
{
    if (base->p99_us > 0 && st->p99_us > 2 * base->p99_us) return true;
    if (!ls->closed) return !follows_offered(st);
    return st->achieved < 0.9 * base->achieved * st->offered / base->offered;
}

void limit_result(const struct limit_search *ls, struct limit_result *out)
{
    memset(out, 0, sizeof(*out));
    out->limit = ls->good;
    out->stop = ls->stop;
    out->stop_reason = limit_stop_str(ls->stop);
    out->nsteps = ls->n;
    out->steps = ls->steps;
    out->break_step = -1;
    const struct limit_step *base = NULL;
    for (unsigned i = 0; i < ls->n; i++)
        if (!base || ls->steps[i].offered < base->offered) base = &ls->steps[i];
    for (unsigned i = 0; i < ls->n; i++) {
        const struct limit_step *st = &ls->steps[i];
        if (saturated(ls, base, st) && (out->knee == 0 || st->offered < out->knee)) out->knee = st->offered;
        if (st->verdict != LIMIT_OK && st->offered == ls->bad && out->break_step < 0) out->break_step = (int)i;
    }
}

const char *limit_stop_str(enum limit_stop stop)
{
    switch (stop) {
    case LIMIT_RUNNING: return "not finished";
    case LIMIT_STOP_BROKEN: return "breaking point found";
    case LIMIT_STOP_FLOOR: return "broke at the lowest load";
    case LIMIT_STOP_ERRORS_FLAT: return "errors did not fall with the load: the server fails at any load";
    case LIMIT_STOP_MAX_LOAD: return "max load reached without breaking";
    case LIMIT_STOP_MAX_STEPS: return "step limit reached";
    }
    return "?";
}

const char *limit_verdict_str(enum limit_verdict v)
{
    switch (v) {
    case LIMIT_OK: return "ok";
    case LIMIT_BROKE_SLO: return "SLO failed";
    case LIMIT_BROKE_THROUGHPUT: return "throughput below offered";
    case LIMIT_BROKE_LATENCY: return "throughput flat, latency rising";
    }
    return "?";
}
