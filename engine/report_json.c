/* The JSON summary (--json FILE). Field reference: README.md, "JSON output". */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "report.h"
#include "scenario.h"

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return n;
}

/* A JSON string. Bytes that are not UTF-8 (a URL typed in Latin-1, say) become U+FFFD:
 * the file stays JSON that any parser reads. */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    while (*s) {
        unsigned char c = (unsigned char)*s;
        size_t n = utf8_len((const unsigned char *)s);
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else if (!n) fputs("\\ufffd", f), n = 1;
        else fwrite(s, 1, n, f);
        s += n ? n : 1;
    }
    fputc('"', f);
}

static void json_hist(FILE *f, const char *name, const struct hist *h)
{
    static const double qs[] = {0.5, 0.9, 0.95, 0.99, 0.999, 0.9999};
    static const char *const qn[] = {"p50", "p90", "p95", "p99", "p99.9", "p99.99"};
    fprintf(f, "\"%s\":{\"count\":%llu,\"min\":%llu", name, (unsigned long long)h->total,
            (unsigned long long)(h->total ? h->min : 0));
    for (int i = 0; i < 6; i++) fprintf(f, ",\"%s\":%llu", qn[i], (unsigned long long)hist_quantile(h, qs[i]));
    fprintf(f, ",\"max\":%llu,\"mean\":%.1f}", (unsigned long long)h->max, hist_mean(h));
}

/* ,"steps":{"NAME":{"requests":..,"ok":..,"failed":..,"rps":..,"latency_us":{..},"failures":{REASON:n}}} */
static void json_steps(FILE *f, const struct summary *s)
{
    const struct scenario *scn = s->plan->scenario;
    const struct stats *t = s->total;
    fputs(",\"steps\":{", f);
    for (uint32_t i = 0; i < scn->nstats && i < t->nsteps; i++) {
        const struct step_stats *st = &t->steps[i];
        uint64_t n = st->ok + st->failed;
        if (i) fputc(',', f);
        json_string(f, scn->stat_names[i]);
        fprintf(f, ":{\"requests\":%llu,\"ok\":%llu,\"failed\":%llu,\"rps\":%.2f,", (unsigned long long)n,
                (unsigned long long)st->ok, (unsigned long long)st->failed,
                s->duration_s > 0 ? (double)n / s->duration_s : 0);
        json_hist(f, "latency_us", st->latency);
        fputs(",\"failures\":{", f);
        for (int r = 0; r < STATS_STEP_REASONS && st->reasons[r].count; r++) {
            if (r) fputc(',', f);
            json_string(f, st->reasons[r].text);
            fprintf(f, ":%llu", (unsigned long long)st->reasons[r].count);
        }
        fputs("}}", f);
    }
    fputc('}', f);
}

/* A number, or null for NaN (nothing measured). 10 digits: a latency of 1234567 us stays
 * 1234567, as latency_us shows it (6 would write 1.23457e+06). */
static void json_number(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.10g", v);
    else fputs("null", f);
}

/* ,"thresholds":[{"expr":..,"value":..,"passed":..}],"thresholds_passed":..,"stopped_early":..,"grade":{..} */
static void json_verdict(FILE *f, const struct summary *s)
{
    const struct threshold_set *set = &s->plan->thresholds;
    struct threshold_result res[THRESHOLD_MAX];
    bool all = summary_thresholds(s, res);
    fputs(",\"thresholds\":[", f);
    for (unsigned i = 0; i < set->n; i++) {
        fputs(i ? ",{\"expr\":" : "{\"expr\":", f);
        json_string(f, set->t[i].expr);
        fputs(",\"value\":", f);
        json_number(f, res[i].value);
        fprintf(f, ",\"passed\":%s}", res[i].passed ? "true" : "false");
    }
    fprintf(f, "],\"thresholds_passed\":%s,\"stopped_early\":", all && !s->stopped_early[0] ? "true" : "false");
    if (s->stopped_early[0]) json_string(f, s->stopped_early);
    else fputs("null", f);
    struct grade g;
    threshold_grade(s->plan->slo_set ? &s->plan->slo : NULL, s->total, &g);
    fprintf(f, ",\"grade\":{\"grade\":\"%c\",\"reason\":", g.letter);
    json_string(f, g.reason);
    fputc('}', f);
}

/* "name":v, or ,"name":v when name starts with a comma; null for NaN */
static void json_named_number(FILE *f, const char *name, double v)
{
    if (*name == ',') fputc(*name++, f);
    fprintf(f, "\"%s\":", name);
    json_number(f, v);
}

/* ,"server":[{"pid":..,"name":..,"exited":..,"rss_mb":{start,end,peak,growth,slope_per_min},"leak_suspected":..,
 *  "cpu_pct":{mean,max}}] */
static void json_watch(FILE *f, const struct summary *s)
{
    fputs(",\"server\":[", f);
    for (unsigned k = 0; k < s->plan->nwatch; k++) {
        const struct watch_result *w = &s->watch[k];
        fprintf(f, "%s{\"pid\":%d,\"name\":", k ? "," : "", w->pid);
        json_string(f, w->comm);
        fprintf(f, ",\"exited\":%s,\"rss_mb\":{", w->exited ? "true" : "false");
        json_named_number(f, "start", w->rss_start_mb);
        json_named_number(f, ",end", w->rss_end_mb);
        json_named_number(f, ",peak", w->rss_peak_mb);
        json_named_number(f, ",growth", w->rss_growth_mb);
        json_named_number(f, ",slope_per_min", w->rss_slope_mb_per_min);
        fprintf(f, "},\"leak_suspected\":%s,\"cpu_pct\":{", w->leak_suspected ? "true" : "false");
        json_named_number(f, "mean", w->cpu_mean_pct);
        json_named_number(f, ",max", w->cpu_max_pct);
        fputs("}}", f);
    }
    fputc(']', f);
}

int report_json(const char *path, const struct summary *s, char *err, size_t errlen)
{
    const struct stats *t = s->total;
    /* stdout is written where it stands: reopening /dev/stdout would truncate a file the
     * shell appends to */
    FILE *f = s->plan->to_stdout == TO_STDOUT_JSON ? stdout : fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "--json: cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "{\"version\":\"%s\",\"url\":", BARRAGE_VERSION);
    json_string(f, s->plan->url_text);
    fprintf(f, ",\"threads\":%u,\"connections_configured\":%u,\"pipeline\":%u,\"interrupted\":%s,",
            s->threads, s->plan->connections, s->plan->pipeline, s->interrupted ? "true" : "false");
    fprintf(f, "\"start_epoch\":%.3f,\"duration_s\":%.6f,", s->start_epoch, s->duration_s);
    const struct plan *p = s->plan;
    char shape[256] = "";
    if (p->shaped || p->open_loop) shape_describe(&p->shape, shape, sizeof(shape));
    fprintf(f, "\"load\":{\"model\":\"%s\",\"shaped\":%s,\"shape\":", p->open_loop ? "open" : "closed",
            p->shaped ? "true" : "false");
    json_string(f, shape);
    fprintf(f, ",\"arrival\":\"%s\"},", p->open_loop ? (p->poisson ? "poisson" : "uniform") : "closed");
    fprintf(f, "\"requests\":{\"issued\":%llu,\"ok\":%llu,\"failed\":%llu,\"in_flight\":%llu,\"queued_at_stop\":%llu},",
            (unsigned long long)t->issued, (unsigned long long)t->ok, (unsigned long long)t->failed,
            (unsigned long long)s->in_flight, (unsigned long long)s->queued_at_stop);
    fprintf(f, "\"rate\":{\"achieved\":%.2f", summary_rps(s));
    if (p->open_loop)
        fprintf(f, ",\"target\":%.10g,\"dropped\":%llu,\"timed_out_waiting\":%llu,\"max_schedule_lag_us\":%llu",
                summary_target_rps(s), (unsigned long long)t->errors[ERR_DROPPED],
                (unsigned long long)t->timeouts_queued, (unsigned long long)t->schedule_lag->max);
    fputs("},", f);
    fprintf(f, "\"bytes\":{\"sent\":%llu,\"received\":%llu},", (unsigned long long)t->bytes_sent,
            (unsigned long long)t->bytes_received);
    json_hist(f, "latency_us", t->latency);
    fputc(',', f);
    json_hist(f, "ttfb_us", t->ttfb);
    fputc(',', f);
    json_hist(f, "connect_us", t->connect);
    fputc(',', f);
    /* closed loop: latency is the service time and nothing waits for a connection */
    json_hist(f, "service_time_us", p->open_loop && p->static_program ? t->service : t->latency);
    fputc(',', f);
    json_hist(f, "pool_wait_us", t->pool_wait);
    fputc(',', f);
    json_hist(f, "schedule_lag_us", t->schedule_lag);
    fputc(',', f);
    json_hist(f, "in_flight_age_us", t->age_at_stop);
    if (p->url.tls) {
        fprintf(f, ",\"tls\":{\"handshakes_full\":%llu,\"handshakes_resumed\":%llu,\"version\":",
                (unsigned long long)t->handshakes_full, (unsigned long long)t->handshakes_resumed);
        json_string(f, s->tls_version);
        fputs(",\"cipher\":", f);
        json_string(f, s->tls_cipher);
        fputc(',', f);
        struct hist *all = hist_create(t->handshake_full->highest);  /* full and resumed together */
        if (all) {
            hist_add(all, t->handshake_full);
            hist_add(all, t->handshake_resumed);
            json_hist(f, "handshake_us", all);
            fputc(',', f);
            hist_destroy(all);
        }
        json_hist(f, "handshake_full_us", t->handshake_full);
        fputc(',', f);
        json_hist(f, "handshake_resumed_us", t->handshake_resumed);
        fputs(",\"errors\":{", f);
        for (int r = 0; r < STATS_TLS_REASONS && t->tls_reason[r].count; r++) {
            if (r) fputc(',', f);
            json_string(f, t->tls_reason[r].text);
            fprintf(f, ":%llu", (unsigned long long)t->tls_reason[r].count);
        }
        fputs("}}", f);
    }
    fputs(",\"errors\":{", f);
    for (int e = 0; e < ERR__COUNT; e++)
        fprintf(f, "%s\"%s\":%llu", e ? "," : "", err_class_name((enum err_class)e), (unsigned long long)t->errors[e]);
    fputs("},\"status\":{", f);
    int any = 0;
    for (int code = 0; code < STATUS_CODES; code++)
        if (t->status[code]) fprintf(f, "%s\"%d\":%llu", any++ ? "," : "", code, (unsigned long long)t->status[code]);
    fprintf(f, "},\"connections\":{\"opened\":%llu,\"max_open\":%u,\"closed_by_server\":%llu,"
               "\"closed_by_client\":%llu,\"closed_unsolicited\":%llu,\"reused_requests\":%llu,"
               "\"retried_requests\":%llu}",
            (unsigned long long)t->conns_opened, s->max_open, (unsigned long long)t->closed_by_server,
            (unsigned long long)t->closed_by_client, (unsigned long long)t->closed_unsolicited,
            (unsigned long long)stats_reused(t), (unsigned long long)t->retried_requests);
    fputs(",\"client\":{", f);
    json_named_number(f, "cpu_s", s->client.cpu_s);
    json_named_number(f, ",cpu_us_per_request", summary_cpu_us_per_request(s));
    json_named_number(f, ",worker_busy_mean_pct", s->client.worker_busy_mean_pct);
    json_named_number(f, ",worker_busy_max_pct", s->client.worker_busy_max_pct);
    fprintf(f, ",\"saturated\":%s,\"waits\":%llu,\"completions\":%llu,\"kernel_timed_receives\":%llu,\"sends\":%llu,",
            summary_client_saturated(s) ? "true" : "false", (unsigned long long)s->client.waits,
            (unsigned long long)s->client.completions, (unsigned long long)s->client.kernel_timed,
            (unsigned long long)s->client.sends);
    json_named_number(f, "completions_per_wait", summary_completions_per_wait(s));
    fputc('}', f);
    if (p->scenario_file) json_steps(f, s);
    json_verdict(f, s);
    if (s->watch) json_watch(f, s);
    fputs(",\"intervals\":[", f);
    for (size_t i = 0; i < s->nintervals; i++) {
        const struct interval_rec *r = &s->intervals[i];
        fprintf(f, "%s{\"t0\":%.3f,\"t\":%.3f,\"target\":%.10g,\"rps\":%.2f,\"p50_us\":%llu,\"p90_us\":%llu,"
                   "\"p99_us\":%llu,\"max_us\":%llu,\"ok\":%llu,\"errors\":%llu,\"users\":%llu",
                i ? "," : "", r->t0, r->t, r->target, r->rps, (unsigned long long)r->p50_us, (unsigned long long)r->p90_us,
                (unsigned long long)r->p99_us, (unsigned long long)r->max_us, (unsigned long long)r->ok,
                (unsigned long long)r->errors, (unsigned long long)r->users);
        if (s->watch) {
            fputs(",\"server\":[", f);
            for (unsigned k = 0; k < p->nwatch; k++)
                fprintf(f, "%s{\"alive\":%s,\"cpu_pct\":%.1f,\"rss_mb\":%.3f}", k ? "," : "",
                        r->server[k].alive ? "true" : "false", r->server[k].cpu_pct, r->server[k].rss_mb);
            fputc(']', f);
        }
        fputc('}', f);
    }
    fputs("]}\n", f);
    if (f == stdout ? fflush(f) || ferror(f) : fclose(f)) {
        snprintf(err, errlen, "--json: cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
