/* --find-limit driver. See find_limit.h; the search policy is documented in shapes/limit.h.
 *
 * Each step is a fresh run of the plan at one load (open loop: a constant rate with -c as
 * the pool; --closed: that many users) for --step-duration; its first fifth is warm-up and
 * not measured. Requests still unanswered at the end of a step count in its latency at the
 * age they reached, so an overloaded step cannot look fast by leaving its slowest requests
 * out. Without --start-rate, a closed-loop probe with -c connections first measures the
 * throughput ceiling that the open-loop steps are placed around. Between steps it waits
 * for the server to drain what the last step left queued (in flight at its end, at the
 * rate it was answering), so that one step's backlog does not slow the next.
 *
 * With a scenario (limit_step.h) an open-loop load is a rate of arriving users, each
 * running one task: a step's throughput is the users that ended per second, and the
 * probe's req/s becomes users/s through the requests one arrival sends. The probe's users
 * do not think, since arrivals do not either: think time would bound the probe by the
 * users' pauses, not by the server. The SLO is judged over all the scenario's requests,
 * timed from when their users began to wait for a connection. */
#include "find_limit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "limit.h"
#include "limit_step.h"
#include "report.h"
#include "run.h"

/* How the search counts its loads, for the policy and the reports. */
struct units {
    bool closed;
    bool arrivals;     /* open loop with a scenario: loads and throughput are users/s */
    const char *load;  /* "req/s", "users/s" or "users" */
};

struct step_measure {
    double rps;        /* answered requests/s */
    double achieved;   /* what the policy judges: rps, or ended users/s (units.arrivals) */
    double span_s;     /* the measured part of the step, s */
    double p50_us, p99_us, error_rate, outcomes;
    bool slo_ok, errors_broke;
    double slo_value[SLO_MAX_CONDS];
    bool slo_pass[SLO_MAX_CONDS];
};

static double hist_q(const void *ctx, double q)
{
    const struct hist *h = ctx;
    return h->total ? (double)hist_quantile(h, q) : NAN;
}

/* The step's figures over its measured part. `lat` is scratch: latency plus in-flight ages. */
static void measure(const struct plan *p, const struct units *u, const struct run_output *out, struct hist *lat,
                    struct step_measure *m)
{
    const struct stats *t = out->total;
    hist_reset(lat);
    hist_add(lat, t->latency);
    hist_add(lat, t->age_at_stop);
    double span = out->sum.duration_s - out->measured_from_s;
    m->span_s = span;
    m->rps = span > 0 ? (double)stats_answered(t) / span : 0;
    m->achieved = !u->arrivals ? m->rps : span > 0 ? (double)t->arrivals_done / span : 0;
    m->p50_us = hist_q(lat, 0.5);
    m->p99_us = hist_q(lat, 0.99);
    /* Outcomes inside the measured window, some of requests issued in the warm-up: their
     * ratio, not failures over issues, which can exceed 1. */
    uint64_t outcomes = t->ok + t->failed;
    m->error_rate = outcomes ? (double)t->failed / (double)outcomes : 0;
    m->outcomes = (double)outcomes;
    struct slo_measure sm = {
        .quantile_us = hist_q,
        .ctx = lat,
        .min_us = lat->total ? (double)lat->min : NAN,
        .max_us = lat->total ? (double)lat->max : NAN,
        .mean_us = lat->total ? hist_mean(lat) : NAN,
        .error_rate = m->error_rate,
        .rps = m->rps,
    };
    m->slo_ok = slo_eval(&p->slo, &sm, m->slo_value, m->slo_pass);
    m->errors_broke = false;
    for (unsigned i = 0; i < p->slo.n; i++)
        if (p->slo.cond[i].metric == SLO_ERRORS && !m->slo_pass[i]) m->errors_broke = true;
}

static void print_step(unsigned i, const struct units *u, double load, const struct step_measure *m,
                       const char *verdict)
{
    char p50[32], p99[32], users[48] = "";
    format_us(p50, sizeof(p50), isnan(m->p50_us) ? 0 : (uint64_t)m->p50_us);
    format_us(p99, sizeof(p99), isnan(m->p99_us) ? 0 : (uint64_t)m->p99_us);
    if (u->arrivals) snprintf(users, sizeof(users), "%10.1f users/s ", m->achieved);
    printf("  step %2u  %s %10.1f%s  achieved %s%10.1f req/s  p50 %9s  p99 %9s  errors %6.2f%%  %s\n", i + 1,
           u->closed ? "users  " : "offered", load, u->arrivals ? " users/s" : "", users, m->rps, p50, p99,
           m->error_rate * 100, verdict);
    fflush(stdout);
}

/* Why a step failed its SLO: "p99 412ms (p99<100ms)". */
static void slo_failure(const struct slo *slo, const struct step_measure *m, char *buf, size_t len)
{
    buf[0] = 0;
    for (unsigned i = 0; i < slo->n; i++)
        if (!m->slo_pass[i]) {
            char v[32];
            slo_format_value(&slo->cond[i], m->slo_value[i], v, sizeof(v));
            snprintf(buf, len, ": %s measured %s", slo->cond[i].text, v);
            return;
        }
}

/* The probe's figures: what it answered, and the ceiling the open-loop ramp is placed around. */
struct probe {
    double rps;          /* req/s; 0 when there was no probe */
    double per_arrival;  /* requests one open-loop load unit stands for (1, or a scenario's
                            arrival); 0 in closed loop */
    double ceiling;      /* rps / per_arrival: in the loads' unit */
};

static int write_json(const struct plan *p, const struct units *u, const struct limit_result *r, const char *slo_text,
                      const struct probe *pr, char *err, size_t errlen)
{
    FILE *f = fopen(p->json_path, "w");
    if (!f) return plan_error(err, errlen, "--json: cannot write '%s': %s", p->json_path, strerror(errno));
    fprintf(f, "{\"version\":\"%s\",\"find_limit\":{\"model\":\"%s\",\"unit\":\"%s\",\"slo\":\"%s\",\"step_s\":%.3f,"
               "\"probe_rps\":%.2f,\"probe_ceiling\":%.2f,",
            BARRAGE_VERSION, u->closed ? "closed" : "open", u->load, slo_text, (double)p->step_ns / 1e9, pr->rps,
            pr->ceiling);
    if (pr->per_arrival > 0) fprintf(f, "\"requests_per_arrival\":%.4f,", pr->per_arrival);
    else fputs("\"requests_per_arrival\":null,", f);
    /* none (no step met the SLO, no knee seen): null, as the console says "none", not 0 */
    if (r->limit > 0) fprintf(f, "\"limit\":%.2f,", r->limit);
    else fputs("\"limit\":null,", f);
    if (r->knee > 0) fprintf(f, "\"knee\":%.2f,", r->knee);
    else fputs("\"knee\":null,", f);
    /* as a run's "interrupted": a search cut short by a signal says so, beside its "stop"
     * ("not finished"), so that a script does not read its limit so far as the result */
    fprintf(f, "\"stop\":\"%s\",\"interrupted\":%s,\"steps\":[", r->stop_reason,
            run_interrupted() ? "true" : "false");
    for (unsigned i = 0; i < r->nsteps; i++) {
        const struct limit_step *s = &r->steps[i];
        fprintf(f, "%s{\"offered\":%.2f,\"achieved\":%.2f,\"achieved_rps\":%.2f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
                   "\"error_rate\":%.6f,\"slo_ok\":%s,\"verdict\":\"%s\"}",
                i ? "," : "", s->offered, s->achieved, s->rps, isnan(s->p50_us) ? -1 : s->p50_us,
                isnan(s->p99_us) ? -1 : s->p99_us, s->error_rate, s->slo_ok ? "true" : "false",
                limit_verdict_str(s->verdict));
    }
    fputs("]}}\n", f);
    if (fclose(f)) return plan_error(err, errlen, "--json: cannot write '%s': %s", p->json_path, strerror(errno));
    return 0;
}

#define NO_ANSWER_WHY_LEN (STATS_REASON_LEN + 64)

/* Why a run that got no responses got none, when a lower load would not change it: its
 * connects failed, or its TLS did (a certificate not trusted, no version in common), as
 * ", 14 connects failed; is the server up?" or ", 14 failed: tls: REASON" (the first reason,
 * as the summary words it). Leaves `why` as it is otherwise. */
static void no_answer_why(const struct stats *t, char *why, size_t len)
{
    if (t->errors[ERR_CONNECT])
        snprintf(why, len, ", %llu connects failed; is the server up?", (unsigned long long)t->errors[ERR_CONNECT]);
    else if (t->errors[ERR_TLS])
        snprintf(why, len, ", %llu failed: tls: %s", (unsigned long long)t->errors[ERR_TLS], t->tls_reason[0].text);
}

/* Without --start-rate in open loop: a closed-loop run at the open-loop steps' concurrency
 * measures the ceiling. Returns 0; 1 to give up (said on stderr) when it got no responses.
 * *code: as run_once returned. */
static int run_probe(const struct plan *p, const struct units *u, struct hist *lat, struct probe *pr, int *code)
{
    struct plan probe;
    char err[PLAN_ERR_LEN];
    if (limit_step_plan(&probe, p, STEP_PROBE, 0, err, sizeof(err))) {
        fprintf(stderr, "barrage: %s\n", err);
        return 1;
    }
    struct run_output out;
    struct step_measure m;
    char why[NO_ANSWER_WHY_LEN] = "; is the server up?";
    *code |= run_once(&probe, &(struct run_opts){.warmup_ns = p->step_ns / 5}, &out);
    if (out.total && !stats_answered(out.total)) no_answer_why(out.total, why, sizeof(why));
    if (out.total) {
        measure(p, &(struct units){.closed = true}, &out, lat, &m);
        pr->rps = m.rps;
        pr->ceiling = pr->rps / pr->per_arrival;
        char p99[32];
        format_us(p99, sizeof(p99), isnan(m.p99_us) ? 0 : (uint64_t)m.p99_us);
        if (u->arrivals)
            printf("  probe    closed loop, %u users without think time: %.1f req/s, p99 %s; at %.2f requests a "
                   "user, %.1f users/s\n", probe.connections, m.rps, p99, pr->per_arrival, pr->ceiling);
        else
            printf("  probe    closed loop, %u connections: %.1f req/s, p99 %s\n", probe.connections, m.rps, p99);
    }
    run_output_free(&out);
    limit_step_free(&probe, p);
    if (pr->rps <= 0 && !run_interrupted()) {
        fprintf(stderr, "barrage: --find-limit: the probe got no responses from %s%s\n", p->url_text, why);
        return 1;
    }
    return 0;
}

static int cmp_offered(const void *a, const void *b)
{
    double x = ((const struct limit_step *)a)->offered, y = ((const struct limit_step *)b)->offered;
    return (x > y) - (x < y);
}

/* The steps by load, the limit and the knee. */
static void print_result(const struct units *u, const struct limit_result *r, const char *slo_text)
{
    struct limit_step sorted[LIMIT_MAX_STEPS];
    memcpy(sorted, r->steps, r->nsteps * sizeof(sorted[0]));
    qsort(sorted, r->nsteps, sizeof(sorted[0]), cmp_offered);
    printf("\n  %15s %s%15s %10s %10s %8s  %s\n", u->closed ? "users" : u->arrivals ? "offered users/s" : "offered req/s",
           u->arrivals ? "achieved users/s " : "", "achieved req/s", "p50", "p99", "errors", "verdict");
    double limit_rps = 0;
    for (unsigned i = 0; i < r->nsteps; i++) {
        char p50[32], p99[32], users[32] = "";
        const struct limit_step *s = &sorted[i];
        format_us(p50, sizeof(p50), isnan(s->p50_us) ? 0 : (uint64_t)s->p50_us);
        format_us(p99, sizeof(p99), isnan(s->p99_us) ? 0 : (uint64_t)s->p99_us);
        if (u->arrivals) snprintf(users, sizeof(users), "%16.1f ", s->achieved);
        printf("  %15.1f %s%15.1f %10s %10s %7.2f%%  %s\n", s->offered, users, s->rps, p50, p99, s->error_rate * 100,
               limit_verdict_str(s->verdict));
        if (s->offered == r->limit && s->verdict == LIMIT_OK) limit_rps = s->rps;
    }
    if (r->limit > 0) {
        printf("\n  Limit        %.1f %s: the highest load that met the SLO (%s)\n", r->limit, u->load, slo_text);
        if (u->arrivals || u->closed)  /* the load is not req/s: say what it came to */
            printf("  Requests     %.1f req/s answered at the limit\n", limit_rps);
    } else if (!r->nsteps) {  /* interrupted, or no answer, before a step ended: nothing judged */
        printf("\n  Limit        none: no step was measured\n");
    } else {
        printf("\n  Limit        none: no step met the SLO (%s)\n", slo_text);
    }
    if (r->knee > 0) printf("  Knee         %.1f %s: where latency or throughput started to give\n", r->knee, u->load);
    else printf("  Knee         not seen\n");
    printf("  Stopped      %s%s\n", r->stop_reason, run_interrupted() ? " (interrupted)" : "");
}

/* Sleeps while the server answers what the last step left in flight (at most a step). */
static void drain(const struct plan *p, uint64_t left, double rps)
{
    if (!left || rps <= 0) return;
    double d = (double)left / rps, cap_s = (double)p->step_ns / 1e9;
    if (d > cap_s) d = cap_s;
    struct timespec ts = {.tv_sec = (time_t)d};
    ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

/* Runs the step at `load` and records it. Returns 0; 1 to end the search (said on stderr;
 * *code says how the process exits), also when interrupted. */
static int run_step(const struct plan *p, const struct units *u, struct limit_search *ls, unsigned i, double load,
                    struct hist *lat, int *code)
{
    struct plan st;
    char err[PLAN_ERR_LEN];
    if (limit_step_plan(&st, p, u->closed ? STEP_CLOSED : STEP_OPEN, load, err, sizeof(err))) {
        fprintf(stderr, "barrage: %s\n", err);
        *code = 1;
        return 1;
    }
    uint64_t fds = (uint64_t)(st.share_connections ? st.pool : st.connections) + 64 + 16ull * st.threads;
    if (u->closed && raise_fd_limit(fds, err, sizeof(err))) {
        fprintf(stderr, "barrage: %s\n", err);
        limit_step_free(&st, p);
        *code = 2;
        return 1;
    }
    struct run_output out;
    struct step_measure m;
    *code |= run_once(&st, &(struct run_opts){.warmup_ns = p->step_ns / 5}, &out);
    limit_step_free(&st, p);
    if (!out.total) return 1;
    measure(p, u, &out, lat, &m);
    /* what the server still has to answer: requests still waiting for a connection at
     * the stop never reached it */
    uint64_t left = out.sum.in_flight - out.sum.queued_at_stop;
    char dead[NO_ANSWER_WHY_LEN] = "";
    if (!stats_answered(out.total)) no_answer_why(out.total, dead, sizeof(dead));
    run_output_free(&out);
    if (run_interrupted()) return 1;  /* a cut-short step says nothing */
    if (dead[0]) {
        fprintf(stderr, "barrage: --find-limit: no responses from %s%s\n", p->url_text, dead);
        *code = 1;
        return 1;
    }
    drain(p, left, m.rps);
    struct limit_step rec = {.achieved = m.achieved, .rps = m.rps, .span_s = m.span_s, .p50_us = m.p50_us,
                             .p99_us = m.p99_us, .error_rate = m.error_rate, .outcomes = m.outcomes,
                             .slo_ok = m.slo_ok, .errors_broke = m.errors_broke};
    limit_record(ls, &rec);
    const struct limit_step *done = &ls->steps[ls->n - 1];
    char why[160] = "";
    if (!m.slo_ok) slo_failure(&p->slo, &m, why, sizeof(why));
    char verdict[200];
    snprintf(verdict, sizeof(verdict), "%s%s", limit_verdict_str(done->verdict), why);
    print_step(i, u, load, &m, verdict);
    return 0;
}

int find_limit(const struct plan *p)
{
    struct units u = {.closed = p->limit_closed, .arrivals = p->scenario_file && !p->limit_closed};
    u.load = u.closed ? "users" : u.arrivals ? "users/s" : "req/s";
    char slo_text[SLO_MAX_CONDS * SLO_TEXT_LEN] = "";
    for (unsigned i = 0; i < p->slo.n; i++) {
        if (i) strcat(slo_text, ",");
        strcat(slo_text, p->slo.cond[i].text);
    }
    struct hist *lat = hist_create(stats_highest_us(p->timeout_ns));
    struct limit_search *ls = malloc(sizeof(*ls));
    if (!lat || !ls) {
        fprintf(stderr, "barrage: out of memory\n");
        hist_destroy(lat);
        free(ls);
        return 1;
    }
    const char *model = u.closed ? "stepping users (closed loop)"
                      : u.arrivals ? "stepping the arrival rate of users, each running one task (open loop)"
                                   : "stepping the rate (open loop)";
    printf("barrage %s --find-limit  %s%s%s  SLO %s, steps of %.1fs, %s\n", BARRAGE_VERSION,
           p->scenario_file ? p->scenario_file : "", p->scenario_file ? " on " : "", p->url_text, slo_text,
           (double)p->step_ns / 1e9, model);

    int code = 0;
    struct probe pr = {.per_arrival = u.closed ? 0 : u.arrivals ? limit_requests_per_arrival(p->scenario) : 1};
    if (!u.closed && !p->start_load && run_probe(p, &u, lat, &pr, &code)) {
        hist_destroy(lat);
        free(ls);
        return 1;
    }
    limit_init(ls, u.closed, p->start_load, pr.ceiling, p->max_load);
    double load;
    for (unsigned i = 0; (load = limit_next(ls)) > 0 && !run_interrupted(); i++)
        if (run_step(p, &u, ls, i, load, lat, &code)) break;

    struct limit_result r;
    limit_result(ls, &r);
    print_result(&u, &r, slo_text);
    if (p->json_path) {
        char err[PLAN_ERR_LEN];
        if (write_json(p, &u, &r, slo_text, &pr, err, sizeof(err))) {
            fprintf(stderr, "barrage: %s\n", err);
            code = 1;
        }
    }
    free(ls);
    hist_destroy(lat);
    return code;
}
