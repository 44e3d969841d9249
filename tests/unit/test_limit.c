/* Breaking-point search driven by synthetic servers: the limit it reports, the steps it runs,
 * the knee, and how it stops. SLO verdicts come from the real slo module. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "limit.h"
#include "slo.h"

/* A synthetic server: what one fixed-load step measures at `load`. */
enum model_kind {
    WALL,     /* open: fine up to capacity, then throughput flat and p99 huge */
    QUEUE,    /* open: p99 = 5ms / (1 - utilisation), so latency climbs before the wall */
    ERRORS,   /* open: unlimited throughput, 5% errors above `capacity` req/s */
    FOREVER,  /* open or closed: never saturates */
    BROKEN,   /* half the requests fail at any load */
    ALL_FAIL, /* every request fails at any load (a 503 for everything) */
    SHED,     /* open: sheds what is over `capacity` with an error, so errors fall with load */
    QUEUE_404, /* QUEUE, and 0.3% of requests answered 404 at any load */
    USERS,    /* closed: 10 ms per request until `capacity` req/s, then queueing */
};

struct model {
    enum model_kind kind;
    double capacity;
};

static struct limit_step measure(const struct model *m, double load)
{
    struct limit_step st = {.achieved = load, .span_s = 10, .p50_us = 2000, .p99_us = 5000};
    double rho = load / m->capacity;
    switch (m->kind) {
    case WALL:
        if (load > m->capacity) st.achieved = m->capacity, st.p50_us = 2e5, st.p99_us = 1e6 * rho;
        break;
    case QUEUE:
    case QUEUE_404:
        st.achieved = fmin(load, m->capacity);
        st.p99_us = rho < 1 ? 5000 / (1 - rho) : 1e7;
        if (m->kind == QUEUE_404) st.error_rate = 0.003;
        break;
    case ERRORS:
        st.error_rate = load > m->capacity ? 0.05 : 0;
        break;
    case FOREVER:
        break;
    case BROKEN:
        st.error_rate = 0.5;
        break;
    case ALL_FAIL:
        st.error_rate = 1;
        break;
    case SHED:
        st.error_rate = load > m->capacity ? 1 - m->capacity / load : 0;
        break;
    case USERS: /* Little's law with no think time: X = N / R */
        st.achieved = fmin(load / 0.010, m->capacity);
        st.p50_us = load / st.achieved * 1e6;
        st.p99_us = 1.5 * st.p50_us;
        break;
    }
    st.rps = st.achieved;
    st.outcomes = st.rps * st.span_s;
    return st;
}

static double step_quantile(const void *ctx, double q)
{
    const struct limit_step *st = ctx;
    return q <= 0.5 ? st->p50_us : st->p99_us;
}

/* Runs the whole search; slo_text NULL means no SLO. */
static void search(struct limit_search *ls, const struct model *m, const char *slo_text, struct limit_result *res)
{
    struct slo slo = {.n = 0};
    char err[128];
    if (slo_text) CHECK(slo_parse(&slo, slo_text, "--slo", err, sizeof(err)) == 0);
    unsigned guard = 0;
    for (double load; (load = limit_next(ls)) > 0 && guard < 1000; guard++) {
        CHECK(limit_next(ls) == load); /* asking twice gives the same load */
        struct limit_step st = measure(m, load);
        struct slo_measure sm = {step_quantile, &st, 1000, st.p99_us * 2, st.p50_us, st.error_rate, st.achieved};
        bool passed[SLO_MAX_CONDS];
        st.slo_ok = slo_eval(&slo, &sm, NULL, passed);
        st.errors_broke = false;
        for (unsigned i = 0; i < slo.n; i++)
            if (slo.cond[i].metric == SLO_ERRORS && !passed[i]) st.errors_broke = true;
        st.offered = -1; /* limit_record fills it in */
        limit_record(ls, &st);
    }
    CHECK(guard <= LIMIT_MAX_STEPS);
    CHECK(limit_next(ls) == 0);
    limit_result(ls, res);
}

/* What every finished search must look like, for a server whose health only gets worse with
 * load: loads distinct and positive; rising while nothing has broken; after that, each load
 * strictly between the highest good and the lowest broken load so far; at most
 * LIMIT_REFINE_STEPS such steps once something held; limit separates good from broken. */
static void check_sensible(const struct limit_search *ls, const struct limit_result *r)
{
    CHECK(r->nsteps >= 1 && r->nsteps <= LIMIT_MAX_STEPS);
    CHECK(r->stop != LIMIT_RUNNING);
    CHECK(!strcmp(r->stop_reason, limit_stop_str(r->stop)));
    double good = 0, bad = 0;
    unsigned refined = 0;
    for (unsigned i = 0; i < r->nsteps; i++) {
        const struct limit_step *st = &r->steps[i];
        CHECK(st->offered > 0);
        if (ls->closed) CHECK(st->offered == floor(st->offered));
        for (unsigned j = 0; j < i; j++) CHECK(r->steps[j].offered != st->offered);
        if (bad == 0) CHECK(st->offered > good);
        else CHECK(st->offered < bad && st->offered > good);
        if (bad > 0 && good > 0) refined++;
        if (st->verdict == LIMIT_OK) good = fmax(good, st->offered);
        else bad = bad == 0 ? st->offered : fmin(bad, st->offered);
    }
    CHECK(refined <= LIMIT_REFINE_STEPS);
    CHECK(r->limit == good);
    if (bad > 0) {
        CHECK(r->break_step >= 0 && r->steps[r->break_step].offered == bad);
        CHECK(r->steps[r->break_step].verdict != LIMIT_OK);
        CHECK(r->stop == LIMIT_STOP_BROKEN || r->stop == LIMIT_STOP_FLOOR || r->stop == LIMIT_STOP_MAX_STEPS ||
              r->stop == LIMIT_STOP_ERRORS_FLAT);
    } else {
        CHECK(r->break_step == -1);
    }
}

static void open_without_hint_finds_2000(void)
{
    struct limit_search ls;
    struct limit_result r;
    struct model m = {WALL, 2000};
    limit_init(&ls, false, 0, 0, 0);
    search(&ls, &m, "p99<100ms", &r);
    check_sensible(&ls, &r);
    static const double want[] = {100, 200, 400, 800, 1600, 3200, 2400, 2000, 2200};
    CHECK_EQ_U(r.nsteps, 9);
    for (unsigned i = 0; i < 9 && i < r.nsteps; i++) CHECK(r.steps[i].offered == want[i]);
    CHECK(r.limit >= 0.95 * 2000 && r.limit <= 2000);
    CHECK(r.stop == LIMIT_STOP_BROKEN);
    CHECK(r.steps[r.break_step].offered == 2200 && r.steps[r.break_step].verdict == LIMIT_BROKE_SLO);
    CHECK(r.knee == 2200); /* the first load past the wall */

    /* the throughput rule alone finds the wall too */
    limit_init(&ls, false, 250, 0, 0);
    search(&ls, &m, NULL, &r);
    check_sensible(&ls, &r);
    CHECK(r.steps[0].offered == 250);
    CHECK(r.limit >= 0.95 * 2000 && r.limit <= 2000 / 0.9);
    CHECK(r.steps[r.break_step].verdict == LIMIT_BROKE_THROUGHPUT);
}

static void open_with_hint_is_within_5_percent(void)
{
    struct limit_search ls;
    struct limit_result r;
    struct model m = {WALL, 2000};
    limit_init(&ls, false, 777 /* ignored */, 2000, 0);
    search(&ls, &m, "p99<100ms, errors<1%", &r);
    check_sensible(&ls, &r);
    static const double want[] = {500, 1000, 1400, 1600, 1800, 2000, 2200, 2100, 2050, 2025};
    CHECK_EQ_U(r.nsteps, 10);
    for (unsigned i = 0; i < 10 && i < r.nsteps; i++) CHECK(r.steps[i].offered == want[i]);
    CHECK(r.limit == 2000);

    /* a probe that under- or over-estimates, servers of other sizes */
    const double caps[] = {2000, 737, 15000, 120000};
    const double hints[] = {0.3, 0.6, 0.9, 1.0, 1.4, 1.9};
    for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
        for (size_t h = 0; h < sizeof(hints) / sizeof(hints[0]); h++) {
            m.capacity = caps[c];
            limit_init(&ls, false, 0, hints[h] * caps[c], 0);
            search(&ls, &m, "p99<100ms", &r);
            check_sensible(&ls, &r);
            bool ok = r.limit >= 0.95 * caps[c] && r.limit <= caps[c] && r.stop == LIMIT_STOP_BROKEN;
            if (!ok) printf("  capacity %g, hint %g: limit %g after %u steps\n", caps[c], hints[h] * caps[c], r.limit, r.nsteps);
            CHECK(ok);
        }
    }
}

static void open_queueing_server_knee_before_limit(void)
{
    /* p99 = 5ms / (1 - rho): the SLO p99 < 100ms holds below rho = 0.95 (1900 req/s);
     * p99 doubles against the 25% step (6.7ms) from rho = 0.625, first seen at 1400. */
    struct limit_search ls;
    struct limit_result r;
    struct model m = {QUEUE, 2000};
    limit_init(&ls, false, 0, 2000, 0);
    search(&ls, &m, "p99<100ms", &r);
    check_sensible(&ls, &r);
    CHECK(r.limit >= 0.95 * 1900 && r.limit <= 1900);
    CHECK(r.knee == 1400);
    CHECK(r.steps[r.break_step].verdict == LIMIT_BROKE_SLO);
}

/* A short step at a low rate counts few completions: one held within the two-completion
 * slack is no knee (the knee put a step judged ok below the limit: "Knee 50, Limit 100"). */
static void open_knee_follows_the_verdict(void)
{
    struct limit_search ls;
    struct limit_result r;
    limit_init(&ls, false, 50, 0, 100);
    struct limit_step st = {.achieved = 48.9, .span_s = 0.5, .p50_us = 2000, .p99_us = 5000, .slo_ok = true};
    CHECK(limit_next(&ls) == 50);
    limit_record(&ls, &st);  /* 48.9 + 2 / 0.5 >= 0.98 x 50: it held */
    CHECK(limit_next(&ls) == 100);
    st.achieved = 99.5;
    limit_record(&ls, &st);
    limit_result(&ls, &r);
    CHECK(r.steps[0].verdict == LIMIT_OK && r.steps[1].verdict == LIMIT_OK);
    CHECK(r.limit == 100);
    CHECK(r.knee == 0);

    /* below the slack: it broke, and it is the knee */
    limit_init(&ls, false, 50, 0, 100);
    st.achieved = 40;
    limit_record(&ls, &st);
    limit_result(&ls, &r);
    CHECK(r.steps[0].verdict == LIMIT_BROKE_THROUGHPUT);
    CHECK(r.knee == 50);
}

static void closed_loop_users(void)
{
    /* 10 ms per request, 2000 req/s at most: saturated from 20 users on. */
    struct limit_search ls;
    struct limit_result r;
    struct model m = {USERS, 2000};
    limit_init(&ls, true, 0, 5000 /* ignored in closed loop */, 0);
    search(&ls, &m, NULL, &r);
    check_sensible(&ls, &r);
    static const double ramp[] = {1, 2, 4, 8, 16, 32, 64};
    for (unsigned i = 0; i < 7 && i < r.nsteps; i++) CHECK(r.steps[i].offered == ramp[i]);
    /* 32 users still raised throughput (1600 → 2000 req/s); 64 did not while p99 doubled */
    CHECK(r.limit >= 20 && r.limit <= 40);
    CHECK(r.steps[r.break_step].verdict == LIMIT_BROKE_LATENCY);
    CHECK(r.knee > 20 && r.knee <= 40);
    CHECK(r.stop == LIMIT_STOP_BROKEN);
    for (unsigned i = 0; i < r.nsteps; i++)
        if (r.steps[i].offered == r.limit) CHECK(r.steps[i].achieved >= 0.95 * 2000);

    /* with an SLO: p99 = 1.5 N / 2000 s < 20ms holds up to 26 users, but 26 adds no
     * throughput over 24 while p99 rises: the latency rule, scaled to the closer loads of
     * bisection, breaks it (the unscaled 2%/20% rule would let 26 pass) */
    limit_init(&ls, true, 0, 0, 0);
    search(&ls, &m, "p99<20ms", &r);
    check_sensible(&ls, &r);
    static const double slo_steps[] = {1, 2, 4, 8, 16, 32, 24, 28, 26};
    static const enum limit_verdict verdicts[] = {LIMIT_OK, LIMIT_OK, LIMIT_OK, LIMIT_OK, LIMIT_OK,
                                                  LIMIT_BROKE_SLO, LIMIT_OK, LIMIT_BROKE_SLO, LIMIT_BROKE_LATENCY};
    CHECK_EQ_U(r.nsteps, 9);
    for (unsigned i = 0; i < 9 && i < r.nsteps; i++)
        CHECK(r.steps[i].offered == slo_steps[i] && r.steps[i].verdict == verdicts[i]);
    CHECK(r.limit == 24 && r.steps[r.break_step].offered == 26);

    limit_init(&ls, true, 0, 0, 0);
    search(&ls, &m, "mean<2.5ms", &r); /* mean 10ms: even 1 user fails */
    check_sensible(&ls, &r);
    CHECK(r.stop == LIMIT_STOP_FLOOR && r.limit == 0 && r.nsteps == 1);
    CHECK(r.knee == 0);
}

static void server_that_errors_above_a_rate(void)
{
    struct limit_search ls;
    struct limit_result r;
    struct model m = {ERRORS, 3000};
    limit_init(&ls, false, 0, 0, 0);
    search(&ls, &m, "p99<100ms,errors<1%", &r);
    check_sensible(&ls, &r);
    CHECK(r.limit >= 0.95 * 3000 && r.limit <= 3000);
    CHECK(r.steps[r.break_step].verdict == LIMIT_BROKE_SLO);
    CHECK(r.steps[r.break_step].error_rate > 0.01);
    CHECK(r.knee == 0); /* throughput and latency never bent */
}

static void server_that_never_breaks(void)
{
    struct limit_search ls;
    struct limit_result r;
    struct model m = {FOREVER, 0};
    limit_init(&ls, false, 0, 0, 50000);
    search(&ls, &m, "p99<100ms", &r);
    check_sensible(&ls, &r);
    CHECK(r.stop == LIMIT_STOP_MAX_LOAD && r.limit == 50000);
    CHECK_EQ_U(r.nsteps, 10); /* 100 … 25600, then 50000 instead of 51200 */
    CHECK(r.steps[r.nsteps - 1].offered == 50000 && r.break_step == -1 && r.knee == 0);

    limit_init(&ls, false, 0, 0, 0);
    search(&ls, &m, "p99<100ms", &r);
    check_sensible(&ls, &r);
    CHECK(r.stop == LIMIT_STOP_MAX_STEPS && r.nsteps == LIMIT_MAX_STEPS);
    CHECK(r.limit == ldexp(100, LIMIT_MAX_STEPS - 1));

    limit_init(&ls, true, 0, 0, 100.7);
    search(&ls, &m, NULL, &r);
    check_sensible(&ls, &r);
    CHECK(r.stop == LIMIT_STOP_MAX_LOAD && r.limit == 100 && r.nsteps == 8);

    limit_init(&ls, false, 0, 1000, 1500); /* the hint ramp capped */
    search(&ls, &m, NULL, &r);
    check_sensible(&ls, &r);
    CHECK(r.stop == LIMIT_STOP_MAX_LOAD && r.limit == 1500 && r.nsteps == 9);
}

static void server_broken_from_the_start(void)
{
    struct limit_search ls;
    struct limit_result r;
    struct model m = {BROKEN, 0};
    limit_init(&ls, false, 0, 0, 0);
    search(&ls, &m, "errors<1%", &r);
    check_sensible(&ls, &r);
    /* errors that do not fall with the load: three halvings say so (halving on took 7
     * steps, down to 1.5625 req/s, to report "broke at the lowest load") */
    CHECK(r.stop == LIMIT_STOP_ERRORS_FLAT && r.limit == 0);
    CHECK_EQ_U(r.nsteps, LIMIT_FLAT_STEPS); /* 100, 50, 25 */
    CHECK(r.steps[r.break_step].offered == 25);
    CHECK(strstr(r.stop_reason, "fails at any load") != NULL);

    struct model dead = {ALL_FAIL, 0};
    limit_init(&ls, false, 0, 4000, 0);
    search(&ls, &dead, "p99<100ms,errors<1%", &r);
    check_sensible(&ls, &r);
    CHECK(r.stop == LIMIT_STOP_ERRORS_FLAT && r.nsteps == LIMIT_FLAT_STEPS && r.limit == 0);
    limit_init(&ls, true, 64, 0, 0);
    search(&ls, &dead, "errors<1%", &r);
    check_sensible(&ls, &r);
    CHECK(r.stop == LIMIT_STOP_ERRORS_FLAT && r.nsteps == LIMIT_FLAT_STEPS && r.steps[2].offered == 16);

    /* a server that sheds what is over its capacity with errors: they fall as the load
     * does, so the search comes down to where they stop and bisects */
    struct model shed = {SHED, 10};
    limit_init(&ls, false, 0, 0, 0);
    search(&ls, &shed, "errors<1%", &r);
    check_sensible(&ls, &r);
    CHECK(r.stop == LIMIT_STOP_BROKEN && r.limit >= 6.25 && r.limit <= 10);
    CHECK(r.nsteps > LIMIT_FLAT_STEPS);
    /* ... also from 32 times its capacity, where its error rate barely falls (97%, 94%,
     * 88%): its successes do not */
    limit_init(&ls, false, 320, 0, 0);
    search(&ls, &shed, "errors<1%", &r);
    check_sensible(&ls, &r);
    CHECK(r.stop == LIMIT_STOP_BROKEN && r.limit >= 6.25 && r.limit <= 10);
    /* ... unless a step counted so few requests that the fall is within their noise */
    limit_init(&ls, false, 0, 0, 0);
    struct limit_step few = {.achieved = 100, .rps = 100, .span_s = 0.05, .outcomes = 20, .error_rate = 0.95,
                             .errors_broke = true};
    limit_record(&ls, &few);
    few.achieved = few.rps = 50, few.outcomes = 10, few.error_rate = 0.9;
    limit_record(&ls, &few);
    few.achieved = few.rps = 25, few.outcomes = 1.25, few.error_rate = 0.6;  /* two SE are 0.39 */
    limit_record(&ls, &few);
    CHECK(ls.stop == LIMIT_STOP_ERRORS_FLAT);

    /* a few errors at any load, and an SLO on latency alone: 80, 40 and 20 req/s break it
     * (p99 25, 8.3, 6.25 ms) with the same 0.3% errors and successes halving each time, but
     * they broke on latency: the search comes down on to where p99 < 6 ms (rho < 1/6) */
    struct model q404 = {QUEUE_404, 100};
    limit_init(&ls, false, 80, 0, 0);
    search(&ls, &q404, "p99<6ms", &r);
    check_sensible(&ls, &r);
    CHECK(r.stop == LIMIT_STOP_BROKEN && r.limit >= 10 && r.limit < 100.0 / 6);

    limit_init(&ls, true, 0, 0, 0);
    search(&ls, &m, "errors<1%", &r);
    CHECK(r.stop == LIMIT_STOP_FLOOR && r.limit == 0 && r.nsteps == 1);

    /* a weak server behind an optimistic probe: come down, then bisect */
    struct model weak = {WALL, 100};
    limit_init(&ls, false, 0, 2000, 0);
    search(&ls, &weak, "p99<100ms", &r);
    check_sensible(&ls, &r);
    CHECK(r.stop == LIMIT_STOP_BROKEN && r.limit >= 85 && r.limit <= 100);
}

static void bisection_stops_at_2_percent(void)
{
    /* hint 1000 capped at 1050: 1000 holds, 1050 breaks; 1025 holds, 1037.5 breaks, and the
     * gap 12.5 is under 2% of 1037.5: two refinement steps, not three */
    struct limit_search ls;
    struct limit_result r;
    struct model m = {WALL, 1030};
    limit_init(&ls, false, 0, 1000, 1050);
    search(&ls, &m, "p99<100ms", &r);
    check_sensible(&ls, &r);
    static const double want[] = {250, 500, 700, 800, 900, 1000, 1050, 1025, 1037.5};
    CHECK_EQ_U(r.nsteps, 9);
    for (unsigned i = 0; i < 9 && i < r.nsteps; i++) CHECK(r.steps[i].offered == want[i]);
    CHECK(r.limit == 1025 && r.stop == LIMIT_STOP_BROKEN);
}

static void record_fills_offered_and_ignores_extra_steps(void)
{
    struct limit_search ls;
    limit_init(&ls, true, 3.9, 0, 0);
    CHECK(limit_next(&ls) == 3);
    struct limit_step st = {.offered = 12345, .achieved = 300, .p99_us = 1000, .slo_ok = true, .verdict = LIMIT_BROKE_SLO};
    limit_record(&ls, &st);
    struct limit_result r;
    limit_result(&ls, &r);
    CHECK(r.nsteps == 1 && r.steps[0].offered == 3 && r.steps[0].verdict == LIMIT_OK);
    CHECK(r.stop == LIMIT_RUNNING && !strcmp(r.stop_reason, "not finished"));
    CHECK(limit_next(&ls) == 6);
    st.slo_ok = false;
    limit_record(&ls, &st); /* 6 breaks: bisect 3..6 */
    CHECK(limit_next(&ls) == 4);
    limit_record(&ls, &st); /* 4 breaks: nothing between 3 and 4 */
    CHECK(limit_next(&ls) == 0);
    limit_record(&ls, &st);
    limit_result(&ls, &r);
    CHECK(r.nsteps == 3 && r.limit == 3 && r.stop == LIMIT_STOP_BROKEN);
    CHECK(r.steps[r.break_step].offered == 4);
    CHECK(!strcmp(limit_verdict_str(r.steps[1].verdict), "SLO failed"));
}

int main(void)
{
    RUN(open_without_hint_finds_2000);
    RUN(open_with_hint_is_within_5_percent);
    RUN(open_queueing_server_knee_before_limit);
    RUN(open_knee_follows_the_verdict);
    RUN(closed_loop_users);
    RUN(server_that_errors_above_a_rate);
    RUN(server_that_never_breaks);
    RUN(server_broken_from_the_start);
    RUN(bisection_stops_at_2_percent);
    RUN(record_fills_offered_and_ignores_extra_steps);
    CHECK_EXIT();
}
