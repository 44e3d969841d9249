/* --find-limit driver. See find_limit.h; the search policy is documented in shapes/limit.h.
 *
 * Each step is a fresh run of the plan at one load (open loop: a constant rate with -c as
 * the pool; --closed: that many users) for --step-duration; its first fifth is warm-up and
 * not measured. Requests still unanswered at the end of a step count in its latency at the
 * age they reached, so an overloaded step cannot look fast by leaving its slowest requests
 * out. Without --start-rate, a closed-loop probe with -c connections first measures the
 * throughput ceiling that the open-loop steps are placed around. Between steps it waits
 * for the server to drain what the last step left queued (in flight at its end, at the
 * rate it was answering), so that one step's backlog does not slow the next. */
#include "find_limit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "limit.h"
#include "report.h"
#include "run.h"

struct step_measure {
    double rps, p50_us, p99_us, error_rate;
    bool slo_ok;
    double slo_value[SLO_MAX_CONDS];
    bool slo_pass[SLO_MAX_CONDS];
};

static double hist_q(const void *ctx, double q)
{
    const struct hist *h = ctx;
    return h->total ? (double)hist_quantile(h, q) : NAN;
}

/* The step's figures over its measured part. `lat` is scratch: latency plus in-flight ages. */
static void measure(const struct plan *p, const struct run_output *out, struct hist *lat, struct step_measure *m)
{
    const struct stats *t = out->total;
    hist_reset(lat);
    hist_add(lat, t->latency);
    hist_add(lat, t->age_at_stop);
    double span = out->sum.duration_s - out->measured_from_s;
    m->rps = span > 0 ? (double)(t->ok + t->errors[ERR_STATUS]) / span : 0;
    m->p50_us = hist_q(lat, 0.5);
    m->p99_us = hist_q(lat, 0.99);
    /* Outcomes inside the measured window, some of requests issued in the warm-up: their
     * ratio, not failures over issues, which can exceed 1. */
    uint64_t outcomes = t->ok + t->failed;
    m->error_rate = outcomes ? (double)t->failed / (double)outcomes : 0;
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
}

/* The plan of one step at `load`. Shares the parent's owned buffers except the shape,
 * which step_free() releases. */
static void step_plan(struct plan *st, const struct plan *p, bool closed, double load)
{
    *st = *p;
    st->shape = (struct shape){0};
    st->shaped = false;
    st->find_limit = false;
    st->json_path = NULL;
    st->duration_ns = p->step_ns;
    st->max_requests = 0;
    st->interval_ns = p->step_ns / 10 < 10000000 ? 10000000 : p->step_ns / 10;
    if (closed) {
        st->open_loop = false;
        st->connections = (uint32_t)load;
        if (st->threads > st->connections) st->threads = st->connections;
        return;
    }
    st->open_loop = true;
    st->rate = load;
    shape_constant(&st->shape, load, (double)p->step_ns / 1e9);
    if (!p->max_queue) {
        double q = load * ((double)p->timeout_ns / 1e9);
        st->max_queue = q < 1024 ? 1024 : q > (1 << 20) ? (1 << 20) : (uint64_t)q;
    }
}

static void print_step(unsigned i, bool closed, double load, const struct step_measure *m, const char *verdict)
{
    char p50[32], p99[32];
    format_us(p50, sizeof(p50), isnan(m->p50_us) ? 0 : (uint64_t)m->p50_us);
    format_us(p99, sizeof(p99), isnan(m->p99_us) ? 0 : (uint64_t)m->p99_us);
    printf("  step %2u  %s %10.1f  achieved %10.1f req/s  p50 %9s  p99 %9s  errors %6.2f%%  %s\n", i + 1,
           closed ? "users  " : "offered", load, m->rps, p50, p99, m->error_rate * 100, verdict);
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

static int cmp_offered(const void *a, const void *b)
{
    double x = ((const struct limit_step *)a)->offered, y = ((const struct limit_step *)b)->offered;
    return (x > y) - (x < y);
}

static int write_json(const struct plan *p, const struct limit_result *r, const char *slo_text, double probe_rps,
                      char *err, size_t errlen)
{
    FILE *f = fopen(p->json_path, "w");
    if (!f) return plan_error(err, errlen, "--json: cannot write '%s': %s", p->json_path, strerror(errno));
    fprintf(f, "{\"version\":\"%s\",\"find_limit\":{\"model\":\"%s\",\"slo\":\"%s\",\"step_s\":%.3f,"
               "\"probe_rps\":%.2f,\"limit\":%.2f,\"knee\":%.2f,\"stop\":\"%s\",\"steps\":[",
            BARRAGE_VERSION, p->limit_closed ? "closed" : "open", slo_text, (double)p->step_ns / 1e9, probe_rps,
            r->limit, r->knee, r->stop_reason);
    for (unsigned i = 0; i < r->nsteps; i++) {
        const struct limit_step *s = &r->steps[i];
        fprintf(f, "%s{\"offered\":%.2f,\"achieved\":%.2f,\"p50_us\":%.0f,\"p99_us\":%.0f,\"error_rate\":%.6f,"
                   "\"slo_ok\":%s,\"verdict\":\"%s\"}",
                i ? "," : "", s->offered, s->achieved, isnan(s->p50_us) ? -1 : s->p50_us,
                isnan(s->p99_us) ? -1 : s->p99_us, s->error_rate, s->slo_ok ? "true" : "false",
                limit_verdict_str(s->verdict));
    }
    fputs("]}}\n", f);
    if (fclose(f)) return plan_error(err, errlen, "--json: cannot write '%s': %s", p->json_path, strerror(errno));
    return 0;
}

int find_limit(const struct plan *p)
{
    bool closed = p->limit_closed;
    char slo_text[SLO_MAX_CONDS * SLO_TEXT_LEN] = "";
    for (unsigned i = 0; i < p->slo.n; i++) {
        if (i) strcat(slo_text, ",");
        strcat(slo_text, p->slo.cond[i].text);
    }
    struct hist *lat = hist_create(p->timeout_ns / 1000);
    if (!lat) {
        fprintf(stderr, "barrage: out of memory\n");
        return 1;
    }
    printf("barrage %s --find-limit  %s  SLO %s, steps of %.1fs, %s\n", BARRAGE_VERSION, p->url_text, slo_text,
           (double)p->step_ns / 1e9, closed ? "stepping users (closed loop)" : "stepping the rate (open loop)");

    int code = 0;
    double probe_rps = 0;
    struct run_output out;
    struct step_measure m;
    if (!closed && !p->start_load) {
        struct plan probe;
        step_plan(&probe, p, true, p->connections);
        probe.threads = p->threads;
        code |= run_once(&probe, &(struct run_opts){.warmup_ns = p->step_ns / 5}, &out);
        if (out.total) {
            measure(p, &out, lat, &m);
            probe_rps = m.rps;
            char p99[32];
            format_us(p99, sizeof(p99), isnan(m.p99_us) ? 0 : (uint64_t)m.p99_us);
            printf("  probe    closed loop, %u connections: %.1f req/s, p99 %s\n", p->connections, m.rps, p99);
        }
        run_output_free(&out);
        if (probe_rps <= 0 && !run_interrupted()) {
            fprintf(stderr, "barrage: --find-limit: the probe got no responses from %s; is the server up?\n",
                    p->url_text);
            hist_destroy(lat);
            return 1;
        }
    }

    struct limit_search *ls = malloc(sizeof(*ls));
    if (!ls) {
        hist_destroy(lat);
        fprintf(stderr, "barrage: out of memory\n");
        return 1;
    }
    limit_init(ls, closed, p->start_load, probe_rps, p->max_load);
    double load;
    for (unsigned i = 0; (load = limit_next(ls)) > 0 && !run_interrupted(); i++) {
        struct plan st;
        step_plan(&st, p, closed, load);
        char err[PLAN_ERR_LEN];
        if (closed && raise_fd_limit((uint64_t)st.connections + 64 + 16ull * st.threads, err, sizeof(err))) {
            fprintf(stderr, "barrage: %s\n", err);
            shape_free(&st.shape);
            code = 2;
            break;
        }
        code |= run_once(&st, &(struct run_opts){.warmup_ns = p->step_ns / 5}, &out);
        shape_free(&st.shape);
        if (!out.total) break;
        measure(p, &out, lat, &m);
        uint64_t left = out.sum.in_flight, connect_errors = out.total->errors[ERR_CONNECT];
        bool answered = out.total->ok + out.total->errors[ERR_STATUS] > 0;
        run_output_free(&out);
        if (run_interrupted()) break;  /* a cut-short step says nothing */
        if (!answered && connect_errors) {
            fprintf(stderr, "barrage: --find-limit: no responses from %s, %llu connects failed; is the server up?\n",
                    p->url_text, (unsigned long long)connect_errors);
            code = 1;
            break;
        }
        if (left && m.rps > 0) {
            double drain_s = (double)left / m.rps, cap_s = (double)p->step_ns / 1e9;
            struct timespec ts = {0};
            double d = drain_s < cap_s ? drain_s : cap_s;
            ts.tv_sec = (time_t)d;
            ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
            nanosleep(&ts, NULL);
        }
        struct limit_step rec = {.achieved = m.rps, .p50_us = m.p50_us, .p99_us = m.p99_us,
                                 .error_rate = m.error_rate, .slo_ok = m.slo_ok};
        limit_record(ls, &rec);
        const struct limit_step *done = &ls->steps[ls->n - 1];
        char why[160] = "";
        if (!m.slo_ok) slo_failure(&p->slo, &m, why, sizeof(why));
        char verdict[200];
        snprintf(verdict, sizeof(verdict), "%s%s", limit_verdict_str(done->verdict), why);
        print_step(i, closed, load, &m, verdict);
    }

    struct limit_result r;
    limit_result(ls, &r);
    struct limit_step sorted[LIMIT_MAX_STEPS];
    memcpy(sorted, r.steps, r.nsteps * sizeof(sorted[0]));
    qsort(sorted, r.nsteps, sizeof(sorted[0]), cmp_offered);
    const char *unit = closed ? "users" : "req/s";
    printf("\n  %14s %15s %10s %10s %8s  %s\n", closed ? "users" : "offered req/s", "achieved req/s", "p50", "p99",
           "errors", "verdict");
    for (unsigned i = 0; i < r.nsteps; i++) {
        char p50[32], p99[32];
        const struct limit_step *s = &sorted[i];
        format_us(p50, sizeof(p50), isnan(s->p50_us) ? 0 : (uint64_t)s->p50_us);
        format_us(p99, sizeof(p99), isnan(s->p99_us) ? 0 : (uint64_t)s->p99_us);
        printf("  %14.1f %15.1f %10s %10s %7.2f%%  %s\n", s->offered, s->achieved, p50, p99, s->error_rate * 100,
               limit_verdict_str(s->verdict));
    }
    if (r.limit > 0)
        printf("\n  Limit        %.1f %s: the highest load that met the SLO (%s)\n", r.limit, unit, slo_text);
    else
        printf("\n  Limit        none: no step met the SLO (%s)\n", slo_text);
    if (r.knee > 0) printf("  Knee         %.1f %s: where latency or throughput started to give\n", r.knee, unit);
    else printf("  Knee         not seen\n");
    printf("  Stopped      %s%s\n", r.stop_reason, run_interrupted() ? " (interrupted)" : "");
    if (p->json_path) {
        char err[PLAN_ERR_LEN];
        if (write_json(p, &r, slo_text, probe_rps, err, sizeof(err))) {
            fprintf(stderr, "barrage: %s\n", err);
            code = 1;
        }
    }
    free(ls);
    hist_destroy(lat);
    return code;
}
