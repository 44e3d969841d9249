/* --html FILE: one page, nothing fetched. The summary, the verdict and the tables are HTML
 * written here (report_html_tables.c); the charts are drawn by dygraphs and the page's script
 * (both inlined from report_html_assets.h) from a JSON block of the intervals and the
 * latency distribution. */
#include "report_html.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errfmt.h"
#include "report_html_assets.h"
#include "report_html_parts.h"

/* ---------------------------------------------------------------- the data for the charts */

/* A JSON string that is also safe inside <script>: < > & as \u escapes (no "</script"). */
static void js_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&') fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void js_number(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fputs("null", f);
}

enum field { F_T0, F_T, F_RPS, F_ERRORS, F_P50, F_P90, F_P99, F_MAX, F_TARGET, F_USERS };

static double field(const struct interval_rec *r, enum field k)
{
    switch (k) {
    case F_T0: return r->t0;
    case F_T: return r->t;
    case F_RPS: return r->rps;
    case F_ERRORS: return (double)r->errors;
    case F_P50: return (double)r->p50_us;
    case F_P90: return (double)r->p90_us;
    case F_P99: return (double)r->p99_us;
    case F_MAX: return (double)r->max_us;
    case F_TARGET: return r->target;
    case F_USERS: return (double)r->users;
    }
    return 0;
}

static void js_series(FILE *f, const struct summary *s, const char *name, enum field k)
{
    fprintf(f, ",\"%s\":[", name);
    for (size_t i = 0; i < s->nintervals; i++) {
        if (i) fputc(',', f);
        js_number(f, field(&s->intervals[i], k));
    }
    fputc(']', f);
}

/* [[1/(1-q), µs]...] as HdrHistogram plots a distribution: 40 points a decade of 1/(1-q)
 * from q = 0 until one response is left above q, then the maximum (at 1/(1-q) = 10 when
 * there is only one). */
static void js_distribution(FILE *f, const struct hist *h)
{
    fputs(",\"dist\":[", f);
    if (h->total) {
        double n = (double)h->total, x = 1;
        for (int k = 0; k == 0 || x < n; x = pow(10, ++k / 40.0))
            fprintf(f, "[%.6g,%llu],", x, (unsigned long long)hist_quantile(h, 1 - 1 / x));
        fprintf(f, "[%.6g,%llu]", n > 1 ? n : 10, (unsigned long long)h->max);
    }
    fputc(']', f);
}

static void js_watch(FILE *f, const struct summary *s)
{
    fputs(",\"watch\":[", f);
    for (unsigned w = 0; s->watch && w < s->plan->nwatch; w++) {
        fprintf(f, "%s{\"pid\":%d,\"comm\":", w ? "," : "", s->watch[w].pid);
        js_string(f, s->watch[w].comm);
        for (int cpu = 1; cpu >= 0; cpu--) {
            fputs(cpu ? ",\"cpu\":[" : ",\"rss\":[", f);
            for (size_t i = 0; i < s->nintervals; i++) {
                const struct server_sample *x = &s->intervals[i].server[w];
                if (i) fputc(',', f);
                js_number(f, !x->alive ? NAN : cpu ? x->cpu_pct : x->rss_mb);
            }
            fputc(']', f);
        }
        fputc('}', f);
    }
    fputc(']', f);
}

static void chart_data(FILE *f, const struct summary *s)
{
    fprintf(f, "<script type=\"application/json\" id=\"barrage-data\">{\"open_loop\":%s",
            s->plan->open_loop ? "true" : "false");
    js_series(f, s, "t0", F_T0);
    js_series(f, s, "t", F_T);
    js_series(f, s, "rps", F_RPS);
    js_series(f, s, "errors", F_ERRORS);
    js_series(f, s, "p50", F_P50);
    js_series(f, s, "p90", F_P90);
    js_series(f, s, "p99", F_P99);
    js_series(f, s, "max", F_MAX);
    js_series(f, s, "target", F_TARGET);
    js_series(f, s, "users", F_USERS);
    js_watch(f, s);
    js_distribution(f, s->total->latency);
    fputs("}</script>\n", f);
}

/* ---------------------------------------------------------------- the page */

/* The verdict: thresholds when there are some, else the grade's colour. */
struct verdict {
    const char *cls;       /* "pass", "fail", "warn" */
    const char *word;
    char why[320];
};

static void decide(const struct summary *s, const struct threshold_result res[], bool all, const struct grade *g,
                   struct verdict *v)
{
    const struct threshold_set *set = &s->plan->thresholds;
    unsigned failed = 0;
    for (unsigned i = 0; i < set->n; i++) failed += !res[i].passed;
    if (set->n) {
        bool ok = all && !s->stopped_early[0];
        v->cls = ok ? "pass" : "fail";
        v->word = ok ? "PASSED" : "FAILED";
        if (s->stopped_early[0]) snprintf(v->why, sizeof(v->why), "stopped early: %s", s->stopped_early);
        else if (failed) snprintf(v->why, sizeof(v->why), "%u of %u threshold%s failed", failed, set->n, set->n == 1 ? "" : "s");
        else snprintf(v->why, sizeof(v->why), "all %u threshold%s held", set->n, set->n == 1 ? "" : "s");
        return;
    }
    v->cls = g->letter <= 'B' ? "pass" : g->letter == 'C' ? "warn" : "fail";
    v->word = s->interrupted ? "INTERRUPTED" : "COMPLETED";
    snprintf(v->why, sizeof(v->why), "no thresholds set; grade %c: %s", g->letter, g->reason);
}

static void who(char *buf, size_t len, const struct plan *p)
{
    if (p->share_connections && !p->open_loop)
        snprintf(buf, len, "%u users, %u connection%s", p->connections, p->pool, p->pool == 1 ? "" : "s");
    else snprintf(buf, len, "%u connection%s", p->connections, p->connections == 1 ? "" : "s");
}

static void band(FILE *f, const struct summary *s, const struct verdict *v, const struct grade *g)
{
    const struct plan *p = s->plan;
    char when[64] = "", w[64];
    time_t t0 = (time_t)s->start_epoch;
    struct tm tm;
    if (s->start_epoch > 0 && localtime_r(&t0, &tm)) strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
    who(w, sizeof(w), p);
    fprintf(f, "<header class=\"band %s\"><div class=\"wrap\"><div><p class=\"kicker\">barrage %s load test report</p><h1>",
            v->cls, BARRAGE_VERSION);
    html_esc(f, p->url_text);
    fputs("</h1><p class=\"meta\">", f);
    if (when[0]) {
        fputs("<span>", f);
        html_esc(f, when);
        fputs("</span>", f);
    }
    char dur[32];
    format_us(dur, sizeof(dur), (uint64_t)(s->duration_s * 1e6 + 0.5));
    fprintf(f, "<span>%s</span><span>%u thread%s</span><span>%s</span><span>%s loop</span>", dur,
            s->threads, s->threads == 1 ? "" : "s", w, p->open_loop ? "open" : "closed");
    if (p->scenario_file) fputs("<span>scenario</span>", f);
    if (s->interrupted) fputs("<span>interrupted</span>", f);
    fprintf(f, "</p></div><div class=\"verdict\"><div><div class=\"word\" id=\"verdict\">%s</div><div class=\"why\">",
            v->word);
    html_esc(f, v->why);
    fprintf(f, "</div></div><div class=\"grade\" title=\"grade\">%c</div></div></div></header>\n", g->letter);
}

static void figure(FILE *f, const char *label, const char *value, const char *unit, const char *sub, bool bad)
{
    fprintf(f, "<div class=\"fig%s\"><div class=\"label\">%s</div><div class=\"value\">%s<small>%s</small></div>"
               "<div class=\"sub\">",
            bad ? " bad" : "", label, value, unit);
    html_esc(f, sub);
    fputs("</div></div>\n", f);
}

static void figures(FILE *f, const struct summary *s)
{
    const struct stats *t = s->total;
    char v[64], sub[160], a[32], b[32];
    fputs("<div class=\"figures\">\n", f);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)t->issued);
    snprintf(sub, sizeof(sub), "%llu ok, %llu failed, %llu in flight at stop", (unsigned long long)t->ok,
             (unsigned long long)t->failed, (unsigned long long)s->in_flight);
    figure(f, "Requests issued", v, "", sub, false);
    snprintf(v, sizeof(v), "%.1f", summary_rps(s));
    html_format_bytes(a, sizeof(a), s->duration_s > 0 ? (double)t->bytes_received / s->duration_s : 0);
    html_format_bytes(b, sizeof(b), s->duration_s > 0 ? (double)t->bytes_sent / s->duration_s : 0);
    snprintf(sub, sizeof(sub), "%s/s received, %s/s sent", a, b);
    figure(f, "Throughput", v, "req/s", sub, false);
    if (s->plan->open_loop) {
        format_rate(v, sizeof(v), summary_target_rps(s));
        snprintf(sub, sizeof(sub), "%s arrivals, %llu dropped (queue full)", s->plan->poisson ? "Poisson" : "uniform",
                 (unsigned long long)t->errors[ERR_DROPPED]);
        /* a scenario's arrivals are users that each run one task */
        figure(f, "Target rate", v, s->plan->static_program ? "req/s" : "users/s", sub, false);
    }
    if (!t->latency->total) {  /* as the console's "Latency (none)": not a latency of 0us */
        figure(f, "Latency p50", "none", "", "no responses", false);
        figure(f, "Latency p99", "none", "", "no responses", false);
    } else {
        format_us(v, sizeof(v), hist_quantile(t->latency, 0.5));
        format_us(a, sizeof(a), (uint64_t)(hist_mean(t->latency) + 0.5));
        snprintf(sub, sizeof(sub), "mean %s", a);
        figure(f, "Latency p50", v, "", sub, false);
        format_us(v, sizeof(v), hist_quantile(t->latency, 0.99));
        format_us(a, sizeof(a), hist_quantile(t->latency, 0.999));
        format_us(b, sizeof(b), t->latency->max);
        snprintf(sub, sizeof(sub), "p99.9 %s, max %s", a, b);
        figure(f, "Latency p99", v, "", sub, false);
    }
    uint64_t outcomes = t->ok + t->failed;
    snprintf(v, sizeof(v), "%.2f", outcomes ? 100.0 * (double)t->failed / (double)outcomes : 0);
    snprintf(sub, sizeof(sub), "%llu failed of %llu finished", (unsigned long long)t->failed,
             (unsigned long long)outcomes);
    figure(f, "Errors", v, "%", sub, t->failed > 0);
    snprintf(v, sizeof(v), "%u", s->max_open);
    snprintf(sub, sizeof(sub), "most open at once; %llu opened", (unsigned long long)t->conns_opened);
    figure(f, "Connections", v, "", sub, false);
    fputs("</div>\n", f);
}

static void dl_row(FILE *f, const char *name, const char *value)
{
    fprintf(f, "<dt>%s</dt><dd>", name);
    html_esc(f, value);
    fputs("</dd>", f);
}

static void run_card(FILE *f, const struct summary *s)
{
    const struct plan *p = s->plan;
    const struct stats *t = s->total;
    char line[512], shape[256] = "";
    fputs("<section class=\"card\"><h3>Run</h3><p class=\"note\">What was asked and what ran.</p><dl class=\"kv\">", f);
    dl_row(f, "target", p->url_text);
    if (p->scenario_file) dl_row(f, "scenario", p->scenario_file);
    format_us(line, sizeof(line), (uint64_t)(s->duration_s * 1e6 + 0.5));
    if (s->interrupted) snprintf(line + strlen(line), sizeof(line) - strlen(line), " (interrupted)");
    dl_row(f, "duration", line);
    who(line, sizeof(line), p);
    snprintf(line + strlen(line), sizeof(line) - strlen(line), ", %u thread%s%s", s->threads,
             s->threads == 1 ? "" : "s", p->pipeline > 1 ? ", pipelined" : "");
    dl_row(f, "load", line);
    if (p->shaped || p->open_loop) shape_describe(&p->shape, shape, sizeof(shape));
    if (p->open_loop)
    {
        char want[32];
        format_rate(want, sizeof(want), summary_target_rps(s));
        snprintf(line, sizeof(line), "open: %s arrive on a schedule (%s), target %s %s%s%s",
                 p->static_program ? "requests" : "users", p->poisson ? "Poisson" : "uniform", want,
                 p->static_program ? "req/s" : "users/s (each runs one task)", shape[0] ? ", " : "", shape);
    }
    else snprintf(line, sizeof(line), "closed: each user sends when its last response came%s%s", shape[0] ? ", " : "", shape);
    dl_row(f, "model", line);
    snprintf(line, sizeof(line), "%llu issued = %llu ok + %llu failed + %llu in flight at stop",
             (unsigned long long)t->issued, (unsigned long long)t->ok, (unsigned long long)t->failed,
             (unsigned long long)s->in_flight);
    if (s->queued_at_stop)
        snprintf(line + strlen(line), sizeof(line) - strlen(line), " (%llu waiting for a connection)",
                 (unsigned long long)s->queued_at_stop);
    dl_row(f, "requests", line);
    if (p->open_loop) {
        char lag[32];
        format_us(lag, sizeof(lag), t->schedule_lag->max);
        snprintf(line, sizeof(line), "achieved %.2f req/s, dropped %llu, max schedule lag %s", summary_rps(s),
                 (unsigned long long)t->errors[ERR_DROPPED], lag);
        dl_row(f, "rate", line);
    }
    fputs("</dl></section>\n", f);
}

static void verdict_card(FILE *f, const struct summary *s, const struct threshold_result res[], const struct grade *g)
{
    const struct threshold_set *set = &s->plan->thresholds;
    fputs("<section class=\"card\"><h3>Verdict</h3>", f);
    if (!set->n) fputs("<p class=\"note\">No --threshold was set: the grade alone judges the run.</p>", f);
    else {
        fputs("<p class=\"note\">Each --threshold against what the run measured.</p><table><thead><tr><th>threshold</th>"
              "<th>measured</th><th>result</th></tr></thead><tbody>\n", f);
        for (unsigned i = 0; i < set->n; i++) {
            char v[64];
            slo_format_value(&set->t[i].cond, res[i].value, v, sizeof(v));
            fputs("<tr><td class=\"text mono\">", f);
            html_esc(f, set->t[i].expr);
            fprintf(f, "</td><td>%s</td><td><span class=\"pill %s\">%s</span></td></tr>\n", v,
                    res[i].passed ? "pass" : "fail", res[i].passed ? "PASS" : "FAIL");
        }
        fputs("</tbody></table>", f);
    }
    if (s->stopped_early[0]) {
        fputs("<p class=\"callout fail\"><b>Stopped early:</b> ", f);
        html_esc(f, s->stopped_early);
        fputs("</p>", f);
    }
    if (s->interrupted) fputs("<p class=\"callout warn\">The run was interrupted by a signal.</p>", f);
    for (unsigned i = 0; s->watch && i < s->plan->nwatch; i++)
        if (s->watch[i].leak_suspected) {
            fputs("<p class=\"callout warn\"><b>Possible memory leak:</b> ", f);
            html_escf(f, "the RSS of %s (%d) grew %.2f MB/min (see Watched server).", s->watch[i].comm,
                      s->watch[i].pid, s->watch[i].rss_slope_mb_per_min);
            fputs("</p>", f);
        }
    fprintf(f, "<p class=\"callout %s\"><b>Grade %c:</b> ", g->letter <= 'B' ? "pass" : g->letter == 'C' ? "warn" : "fail",
            g->letter);
    html_esc(f, g->reason);
    fputs(s->plan->slo_set ? " (against --slo)" : " (against p99&lt;500ms, errors&lt;1%)", f);
    fputs("</p></section>\n", f);
}

static void chart_card(FILE *f, const char *id, const char *title, const char *note, bool wide)
{
    fprintf(f, "<section class=\"card%s\"><h3>%s</h3><p class=\"note\">%s</p><div class=\"chart\" id=\"%s\"></div>"
               "<div class=\"legend\" id=\"%s-legend\"></div></section>\n",
            wide ? " wide" : "", title, note, id, id);
}

static void charts(FILE *f, const struct summary *s)
{
    const struct plan *p = s->plan;
    fputs("<h2>Over time</h2><div class=\"grid\">\n", f);
    chart_card(f, "c-throughput", "Throughput and errors", "Responses per second and failed requests, per interval.",
               false);
    chart_card(f, "c-latency", "Latency", "p50, p90, p99 and max of each interval (log scale).", false);
    chart_card(f, "c-target", p->open_loop ? "Target vs achieved rate" : "Users wanted vs connections open",
               p->open_loop ? "The scheduled arrival rate and the rate of responses."
                            : "Users the load shape asks for and connections open at each interval's end.",
               false);
    chart_card(f, "c-dist", "Latency distribution",
               "Latency by percentile over the whole run, HdrHistogram style (log percentile axis).", false);
    if (s->watch && p->nwatch) {
        chart_card(f, "c-cpu", "Server CPU", "CPU of each watched process (100% = one core).", false);
        chart_card(f, "c-rss", "Server memory", "Resident set size of each watched process, MB.", false);
    }
    fputs("</div>\n", f);
}

static void page(FILE *f, const struct summary *s)
{
    struct threshold_result res[THRESHOLD_MAX];
    bool all = summary_thresholds(s, res);
    struct grade g;
    threshold_grade(s->plan->slo_set ? &s->plan->slo : NULL, s->total, &g);
    struct verdict v;
    decide(s, res, all, &g, &v);

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>barrage: ", f);
    html_esc(f, s->plan->url_text);
    fprintf(f, " (%s)</title>\n<style>", v.word);
    fwrite(html_page_css, 1, html_page_css_len, f);
    fputs("</style>\n<style>", f);
    fwrite(html_dygraph_css, 1, html_dygraph_css_len, f);
    /* the first script: any later error is recorded where a test (or a person) can see it */
    fputs("</style>\n</head><body>\n<script>window.onerror = function (m, src, line) {"
          " document.body.setAttribute(\"data-error\", String(m) + \" (line \" + line + \")\"); };</script>\n", f);
    band(f, s, &v, &g);
    fputs("<main class=\"wrap\">\n<h2>Summary</h2>\n", f);
    figures(f, s);
    fputs("<div class=\"grid\" style=\"margin-top:16px\">\n", f);
    verdict_card(f, s, res, &g);
    run_card(f, s);
    fputs("</div>\n", f);
    charts(f, s);
    fputs("<h2>Details</h2><div class=\"grid\">\n", f);
    html_latency_table(f, s);
    if (s->plan->scenario_file) html_steps_table(f, s);
    fputs("</div>\n<div class=\"grid thirds\">\n", f);
    html_status_table(f, s);
    html_errors_table(f, s);
    html_connections_table(f, s);
    html_client_table(f, s);
    fputs("</div>\n", f);
    if (s->watch && s->plan->nwatch) {
        fputs("<div class=\"grid\" style=\"margin-top:16px\">\n", f);
        html_watch_table(f, s);
        fputs("</div>\n", f);
    }
    fputs("</main>\n<footer>Written by barrage " BARRAGE_VERSION ". Charts: dygraphs (MIT).</footer>\n", f);
    chart_data(f, s);
    fputs("<script>", f);
    fwrite(html_dygraph_js, 1, html_dygraph_js_len, f);
    fputs("</script>\n<script>", f);
    fwrite(html_page_js, 1, html_page_js_len, f);
    fputs("</script>\n</body></html>\n", f);
}

int report_html(const char *path, const struct summary *s, char *err, size_t errlen)
{
    /* stdout is written where it stands, as --json's (report_json.c) */
    FILE *f = s->plan->to_stdout == TO_STDOUT_HTML ? stdout : fopen(path, "w");
    if (!f) return errfmt_line(err, errlen, "--html: cannot create %s: %s", path, strerror(errno));
    errno = 0;
    page(f, s);
    int bad = ferror(f);
    if (f == stdout ? fflush(f) || bad : fclose(f) || bad)
        return errfmt_line(err, errlen, "--html: cannot write %s: %s", path, strerror(errno ? errno : EIO));
    return 0;
}
