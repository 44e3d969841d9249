/* Thresholds (--threshold) and the grade: each threshold is one condition of the --slo
 * grammar, parsed by slo_parse(), optionally on one scenario step name. */
#include "threshold.h"
#include "errfmt.h"
#include "report.h"
#include "secrets.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool is_space(char c) { return c && strchr(" \t\n\r\v\f", c); }


/* The expression as error messages show it: a step name before the last ':' masked as the
 * reports mask a default step name ("GET /x?token=****:p99<1s"), since one typed from a
 * request's path may carry a secret. Returns out. */
static const char *shown(const char *expr, char *out, size_t outlen)
{
    const char *colon = strrchr(expr, ':');
    if (!colon) {
        snprintf(out, outlen, "%s", expr);
        return out;
    }
    char name[THRESHOLD_TEXT_LEN];
    snprintf(name, sizeof(name), "%.*s", (int)(colon - expr), expr);
    secret_mask_url(name, out, outlen);
    size_t n = strlen(out);
    if (n < outlen) snprintf(out + n, outlen - n, "%s", colon);
    return out;
}

/* [b, e) without the spaces around it. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_space(**b)) (*b)++;
    while (*e > *b && is_space((*e)[-1])) (*e)--;
}

int threshold_add(struct threshold_set *set, const char *text, char *err, size_t errlen)
{
    const char *b = text ? text : "", *e = b + strlen(b);
    trim(&b, &e);
    size_t len = (size_t)(e - b);
    if (len == 0) return errfmt_line(err, errlen, "--threshold: expected a condition such as 'p99<250ms' or 'errors<1%%'");
    char show[2 * THRESHOLD_TEXT_LEN];
    if (len >= THRESHOLD_TEXT_LEN) {
        char head[41];
        snprintf(head, sizeof(head), "%.40s", b);
        return errfmt_line(err, errlen, "--threshold: '%s...': too long (at most %d characters)",
                           secret_mask_url(head, show, sizeof(show)), THRESHOLD_TEXT_LEN - 1);
    }
    if (set->n == THRESHOLD_MAX) return errfmt_line(err, errlen, "--threshold: at most %d thresholds", THRESHOLD_MAX);
    struct threshold *t = &set->t[set->n];
    memset(t, 0, sizeof(*t));
    memcpy(t->expr, b, len);
    t->step = -1;

    /* A step name may hold ':' and spaces; a condition holds neither ':' nor a name. */
    const char *cond = t->expr, *colon = strrchr(t->expr, ':');
    if (colon) {
        const char *nb = t->expr, *ne = colon;
        trim(&nb, &ne);
        if (nb == ne)
            return errfmt_line(err, errlen, "--threshold: '%s': empty step name before ':'",
                               shown(t->expr, show, sizeof(show)));
        memcpy(t->name, nb, (size_t)(ne - nb));
        cond = colon + 1;
        if (!cond[strspn(cond, " \t\n\r\v\f")])  /* slo_parse would ask for a list, which --threshold refuses */
            return errfmt_line(err, errlen, "--threshold: expected a condition such as 'p99<250ms' or 'errors<1%%' "
                                            "after ':' (in '%s')", shown(t->expr, show, sizeof(show)));
    }
    if (strchr(cond, ','))
        return errfmt_line(err, errlen, "--threshold: '%s': one condition per --threshold (repeat the flag)",
                           shown(t->expr, show, sizeof(show)));
    struct slo one;
    char why[256];
    if (slo_parse(&one, cond, "--threshold", why, sizeof(why))) {
        /* slo_parse names the condition; name the whole expression when it had a step */
        if (colon) return errfmt_line(err, errlen, "%s (in '%s')", why, shown(t->expr, show, sizeof(show)));
        return errfmt_line(err, errlen, "%s", why);
    }
    t->cond = one.cond[0];
    if (colon && slo_metric_is_server(t->cond.metric))
        return errfmt_line(err, errlen, "--threshold: '%s': %s is on the watched server, not on a step",
                           shown(t->expr, show, sizeof(show)),
                           t->cond.metric == SLO_SERVER_CPU ? "server_cpu" : "server_rss_growth");
    set->n++;
    return 0;
}

bool threshold_set_has_server(const struct threshold_set *set)
{
    for (unsigned i = 0; i < set->n; i++)
        if (slo_metric_is_server(set->t[i].cond.metric)) return true;
    return false;
}

int threshold_resolve(struct threshold_set *set, char *const *names, unsigned nnames, const char *selected_by,
                      char *err, size_t errlen)
{
    char show[2 * THRESHOLD_TEXT_LEN], name[2 * THRESHOLD_TEXT_LEN];
    for (unsigned i = 0; i < set->n; i++) {
        struct threshold *t = &set->t[i];
        t->step = -1;
        if (!t->name[0]) continue;
        if (!nnames)
            return errfmt_line(err, errlen, "--threshold: '%s': a step name needs a scenario (-s FILE)",
                               shown(t->expr, show, sizeof(show)));
        for (unsigned k = 0; k < nnames && t->step < 0; k++)
            if (!strcmp(names[k], t->name)) t->step = (int)k;
        if (t->step < 0) {
            secret_mask_url(t->name, name, sizeof(name));
            for (unsigned k = 0; k < nnames; k++)
                if (strcmp(name, t->name) && !strcmp(names[k], name))  /* typed with its secret */
                    return errfmt_line(err, errlen,
                                       "--threshold: '%s': write the step name as the Steps table shows it, "
                                       "its secret masked: '%s'", shown(t->expr, show, sizeof(show)), name);
            if (selected_by)
                return errfmt_line(err, errlen, "--threshold: '%s': no step named '%s' among the steps selected by %s",
                                   shown(t->expr, show, sizeof(show)), name, selected_by);
            return errfmt_line(err, errlen, "--threshold: '%s': no step named '%s' in the scenario",
                               shown(t->expr, show, sizeof(show)), name);
        }
    }
    return 0;
}

static double hist_q(const void *ctx, double q)
{
    const struct hist *h = ctx;
    return h->total ? (double)hist_quantile(h, q) : NAN;
}

/* The highest of the watched processes' figures (NaN ones skipped); NaN when none. */
static double server_worst(const struct watch_result *w, unsigned n, bool cpu)
{
    double worst = NAN;
    for (unsigned i = 0; w && i < n; i++) {
        double v = cpu ? w[i].cpu_mean_pct : w[i].rss_growth_mb;
        if (!isnan(v) && (isnan(worst) || v > worst)) worst = v;
    }
    return worst;
}

/* What the condition is measured on: the totals or one step's requests; the watched server. */
static void measure(const struct stats *s, int step, double duration_s, const struct watch_result *watch,
                    unsigned nwatch, struct slo_measure *m, uint64_t *count)
{
    const struct hist *h;
    uint64_t ok, failed, answered;
    if (step >= 0 && (uint32_t)step < s->nsteps) {
        const struct step_stats *st = &s->steps[step];
        h = st->latency, ok = st->ok, failed = st->failed, answered = ok + failed;
    } else if (step >= 0) {  /* not kept: nothing measured */
        h = NULL, ok = failed = answered = 0;
    } else {
        h = s->latency, ok = s->ok, failed = s->failed;
        answered = stats_answered(s);
    }
    bool any = h && h->total;
    *m = (struct slo_measure){
        .quantile_us = h ? hist_q : NULL,
        .ctx = h,
        .min_us = any ? (double)h->min : NAN,
        .max_us = any ? (double)h->max : NAN,
        .mean_us = any ? hist_mean(h) : NAN,
        .error_rate = ok + failed ? (double)failed / (double)(ok + failed) : NAN,
        .rps = duration_s > 0 ? (double)answered / duration_s : NAN,
        .server_cpu_pct = server_worst(watch, nwatch, true),
        .server_rss_growth_mb = server_worst(watch, nwatch, false),
    };
    *count = ok + failed;
}

bool threshold_eval(const struct threshold_set *set, const struct stats *total, double duration_s,
                    const struct watch_result *watch, unsigned nwatch, uint64_t min_count,
                    struct threshold_result res[])
{
    bool all = true;
    for (unsigned i = 0; i < set->n; i++) {
        const struct threshold *t = &set->t[i];
        struct slo_measure m;
        uint64_t count;
        measure(total, t->step, duration_s, watch, nwatch, &m, &count);
        struct slo one = {.cond = {t->cond}, .n = 1};
        double v;
        bool ok;
        slo_eval(&one, &m, &v, &ok);
        /* not judged yet; the server's figures do not wait for responses */
        if (min_count && (slo_metric_is_server(t->cond.metric) ? isnan(v) : count < min_count)) v = NAN, ok = true;
        res[i] = (struct threshold_result){.value = v, .passed = ok};
        all = all && ok;
    }
    return all;
}

/* Grade bands: the grade's limit is the SLO's times these factors (A is the SLO itself):
 * latency A < 1x, B < 2x, C < 4x, D < 8x, else F; errors A < 1x, B < 2x, C < 5x, D < 10x, else F. */
static const double lat_factor[4] = {1, 2, 4, 8};
static const double err_factor[4] = {1, 2, 5, 10};

static int band(double v, double limit, bool inclusive, const double factor[4])
{
    for (int i = 0; i < 4; i++)
        if (inclusive ? v <= limit * factor[i] : v < limit * factor[i]) return i;
    return 4;
}

static char letter(int b) { return "ABCDF"[b]; }

void threshold_grade(const struct slo *slo, const struct stats *total, struct grade *g)
{
    /* the SLO's first upper bound on a percentile and on errors; defaults for what it lacks */
    struct slo_cond lat = {.metric = SLO_QUANTILE, .op = SLO_LT, .quantile = 0.99, .value = 500e3, .text = "p99<500ms"};
    struct slo_cond err = {.metric = SLO_ERRORS, .op = SLO_LT, .value = 0.01, .text = "errors<1%"};
    bool lat_set = false, err_set = false;
    for (unsigned i = 0; slo && i < slo->n; i++) {
        const struct slo_cond *c = &slo->cond[i];
        if (c->op != SLO_LT && c->op != SLO_LE) continue;
        if (c->metric == SLO_QUANTILE && !lat_set) lat = *c, lat_set = true;
        if (c->metric == SLO_ERRORS && !err_set) err = *c, err_set = true;
    }
    uint64_t outcomes = total->ok + total->failed;
    if (!outcomes || !total->latency->total) {
        g->letter = 'F';
        snprintf(g->reason, sizeof(g->reason), "%s", outcomes ? "no responses, every request failed" : "no responses");
        return;
    }
    double lv = (double)hist_quantile(total->latency, lat.quantile);
    double ev = (double)total->failed / (double)outcomes;
    /* an SLO of errors<=0 still leaves room for bands: 0.01% a step */
    double elimit = err.value > 0 ? err.value : 0.0001;
    int lb = band(lv, lat.value, lat.op == SLO_LE, lat_factor);
    int eb = band(ev, elimit, err.op == SLO_LE || err.value <= 0, err_factor);
    if (err.value <= 0 && ev == 0) eb = 0;
    int worst = lb > eb ? lb : eb;
    g->letter = letter(worst);

    char pname[16], lvs[40], lls[40], evs[40], els[40];
    snprintf(pname, sizeof(pname), "p%.*g", 6, lat.quantile * 100);  /* p(95) reads as p95 */
    slo_format_value(&lat, lv, lvs, sizeof(lvs));
    slo_format_value(&err, ev, evs, sizeof(evs));
    if (worst == 0) {
        slo_format_value(&lat, lat.value, lls, sizeof(lls));
        slo_format_value(&err, err.value, els, sizeof(els));
        snprintf(g->reason, sizeof(g->reason), "%s %s is within %s and errors %s within %s", pname, lvs, lls,
                 evs, els);
        return;
    }
    /* the limit of the grade above this one, for the dimension(s) that set it */
    char lat_why[120] = "", err_why[120] = "";
    if (lb == worst) {
        slo_format_value(&lat, lat.value * lat_factor[worst - 1], lls, sizeof(lls));
        snprintf(lat_why, sizeof(lat_why), "%s %s is over the %s of %c", pname, lvs, lls, letter(worst - 1));
    }
    if (eb == worst) {
        slo_format_value(&err, elimit * err_factor[worst - 1], els, sizeof(els));
        snprintf(err_why, sizeof(err_why), "errors %s are over the %s of %c", evs, els, letter(worst - 1));
    }
    snprintf(g->reason, sizeof(g->reason), "%s%s%s", lat_why, lat_why[0] && err_why[0] ? "; " : "", err_why);
}
