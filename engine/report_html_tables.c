/* The --html report's tables: latency percentiles, scenario steps, status codes, errors
 * with their reasons, connections and TLS, the watched server. They show what the console
 * summary (report.c) shows, from the same figures. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "http_parse.h"
#include "report_html_parts.h"
#include "scenario.h"

void html_esc(FILE *f, const char *s)
{
    for (; *s; s++) switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
}

void html_escf(FILE *f, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    html_esc(f, buf);
}

void html_format_bytes(char *buf, size_t len, double b)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (i < 4 && b >= (i ? 1023.995 : 1023.5)) b /= 1024, i++;  /* as printed: never 1024.00 KiB */
    snprintf(buf, len, i ? "%.2f %s" : "%.0f %s", b, unit[i]);
}

static void td_us(FILE *f, uint64_t us)
{
    char v[32];
    format_us(v, sizeof(v), us);
    fprintf(f, "<td>%s</td>", v);
}

/* A share of the whole as a small bar, 0..120 px. */
static void td_bar(FILE *f, uint64_t n, uint64_t whole, bool bad)
{
    double share = whole ? (double)n / (double)whole : 0;
    fprintf(f, "<td><span class=\"bar%s\" style=\"width:%.0fpx\"></span> %.1f%%</td>", bad ? " bad" : "",
            share * 120 + 2, share * 100);
}

static void latency_row(FILE *f, const char *name, const struct hist *h, bool sub)
{
    fprintf(f, "<tr%s><td>%s</td><td>%llu</td>", sub ? " class=\"sub\"" : "", name, (unsigned long long)h->total);
    if (!h->total) {
        fputs("<td colspan=\"8\" class=\"text\" style=\"text-align:right\">none</td></tr>\n", f);
        return;
    }
    static const double qs[] = {0.5, 0.9, 0.99, 0.999, 0.9999};
    td_us(f, h->min);
    for (int i = 0; i < 5; i++) td_us(f, hist_quantile(h, qs[i]));
    td_us(f, h->max);
    td_us(f, (uint64_t)(hist_mean(h) + 0.5));
    fputs("</tr>\n", f);
}

void html_latency_table(FILE *f, const struct summary *s)
{
    const struct stats *t = s->total;
    const struct plan *p = s->plan;
    fputs("<section class=\"card wide\"><h3>Latency</h3>", f);
    fputs(p->open_loop ? "<p class=\"note\">Latency counts from each request's scheduled start: what a user waits. "
                         "Service time counts from the actual send.</p>"
                       : "<p class=\"note\">From sending a request to the last byte of its response.</p>", f);
    fputs("<div class=\"scroll\"><table><thead><tr><th></th><th>count</th><th>min</th><th>p50</th><th>p90</th>"
          "<th>p99</th><th>p99.9</th><th>p99.99</th><th>max</th><th>mean</th></tr></thead><tbody>\n", f);
    latency_row(f, "Latency", t->latency, false);
    if (p->open_loop) {
        latency_row(f, "Service time", t->service, false);
        latency_row(f, "Pool wait", t->pool_wait, false);
        latency_row(f, "Schedule lag", t->schedule_lag, false);
    } else if (p->share_connections) {
        latency_row(f, "Pool wait", t->pool_wait, false);
    }
    latency_row(f, "Time to first byte", t->ttfb, false);
    latency_row(f, "Connect", t->connect, false);
    if (p->url.tls) {
        latency_row(f, "TLS handshake, full", t->handshake_full, false);
        latency_row(f, "TLS handshake, resumed", t->handshake_resumed, false);
    }
    if (s->in_flight) latency_row(f, "Age of those in flight at stop", t->age_at_stop, false);
    fputs("</tbody></table></div></section>\n", f);
}

void html_steps_table(FILE *f, const struct summary *s)
{
    const struct scenario *scn = s->plan->scenario;
    const struct stats *t = s->total;
    fputs("<section class=\"card wide\"><h3>Scenario steps</h3><p class=\"note\">Per step name, with the reasons "
          "its requests failed.</p><div class=\"scroll\"><table><thead><tr><th>step</th><th>requests</th>"
          "<th>failed</th><th>req/s</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr></thead><tbody>\n", f);
    for (uint32_t i = 0; i < scn->nstats && i < t->nsteps; i++) {
        const struct step_stats *st = &t->steps[i];
        uint64_t n = st->ok + st->failed;
        fputs("<tr><td class=\"text\">", f);
        html_esc(f, scn->stat_names[i]);
        fprintf(f, "</td><td>%llu</td><td>%s%llu%s</td><td>%.1f</td>", (unsigned long long)n,
                st->failed ? "<span class=\"pill fail\">" : "", (unsigned long long)st->failed,
                st->failed ? "</span>" : "", s->duration_s > 0 ? (double)n / s->duration_s : 0);
        static const double qs[] = {0.5, 0.9, 0.99};
        if (!st->latency->total) fputs("<td>-</td><td>-</td><td>-</td><td>-</td>", f);  /* no latency, not 0 */
        else {
            for (int k = 0; k < 3; k++) td_us(f, hist_quantile(st->latency, qs[k]));
            td_us(f, st->latency->max);
        }
        fputs("</tr>\n", f);
        for (int r = 0; r < STATS_STEP_REASONS && st->reasons[r].count; r++) {
            fputs("<tr class=\"sub\"><td class=\"text\" colspan=\"2\">", f);
            html_esc(f, st->reasons[r].text);
            fprintf(f, "</td><td>%llu</td><td colspan=\"5\"></td></tr>\n", (unsigned long long)st->reasons[r].count);
        }
    }
    fputs("</tbody></table></div></section>\n", f);
}

void html_status_table(FILE *f, const struct summary *s)
{
    const struct stats *t = s->total;
    uint64_t all = 0;
    for (int code = 0; code < STATUS_CODES; code++) all += t->status[code];
    fputs("<section class=\"card\"><h3>Status codes</h3><p class=\"note\">Complete responses by status.</p>", f);
    if (!all) {
        fputs("<p class=\"empty\">No responses.</p></section>\n", f);
        return;
    }
    fputs("<table><thead><tr><th>status</th><th>responses</th><th>share</th></tr></thead><tbody>\n", f);
    for (int code = 0; code < STATUS_CODES; code++) {
        if (!t->status[code]) continue;
        bool bad = !plan_status_ok(s->plan, (unsigned)code);
        fprintf(f, "<tr><td><span class=\"pill %s\">%d</span></td><td>%llu</td>", bad ? "fail" : "pass", code,
                (unsigned long long)t->status[code]);
        td_bar(f, t->status[code], all, bad);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></section>\n", f);
}

/* The detailed reasons of one error class, as rows under it. */
static void reason_row(FILE *f, const char *text, uint64_t n)
{
    fputs("<tr class=\"sub\"><td class=\"text\">", f);
    html_esc(f, text);
    fprintf(f, "</td><td>%llu</td><td></td></tr>\n", (unsigned long long)n);
}

void html_errors_table(FILE *f, const struct summary *s)
{
    const struct stats *t = s->total;
    fputs("<section class=\"card\"><h3>Errors</h3><p class=\"note\">Failed requests by class, with the reasons.</p>", f);
    if (!t->failed) {
        fputs("<p class=\"callout pass\">No errors.</p></section>\n", f);
        return;
    }
    fputs("<table><thead><tr><th>class</th><th>requests</th><th>of all failed</th></tr></thead><tbody>\n", f);
    for (int e = 0; e < ERR__COUNT; e++) {
        if (!t->errors[e]) continue;
        fprintf(f, "<tr><td>%s</td><td>%llu</td>", err_class_name((enum err_class)e), (unsigned long long)t->errors[e]);
        td_bar(f, t->errors[e], t->failed, true);
        fputs("</tr>\n", f);
        char line[STATS_REASON_LEN + 64];
        if (e == ERR_CONNECT)
            for (int n = 1; n < STATS_ERRNO_MAX; n++)
                if (t->connect_errno[n]) reason_row(f, strerror(n), t->connect_errno[n]);
        if (e == ERR_TLS)
            for (int r = 0; r < STATS_TLS_REASONS && t->tls_reason[r].count; r++)
                reason_row(f, t->tls_reason[r].text, t->tls_reason[r].count);
        if (e == ERR_PARSE)
            for (int r = 1; r < STATS_PARSE_REASONS; r++)
                if (t->parse_reason[r]) reason_row(f, http_error_str((enum http_error)r), t->parse_reason[r]);
        if (e == ERR_RESET)
            for (int r = 0; r < RESET__COUNT; r++)
                if (t->reset_cause[r]) reason_row(f, reset_cause_str((enum reset_cause)r), t->reset_cause[r]);
        if (e == ERR_TIMEOUT && t->timeouts_queued) {
            snprintf(line, sizeof(line), "never got a connection in time");
            reason_row(f, line, t->timeouts_queued);
        }
    }
    fputs("</tbody></table>", f);
    if (s->plan->scenario_file && t->errors[ERR_CHECK])
        fputs("<p class=\"note\" style=\"margin-top:8px\">The reasons of failed checks are in the steps table.</p>", f);
    fputs("</section>\n", f);
}

static void kv(FILE *f, const char *name, unsigned long long v)
{
    fprintf(f, "<dt>%s</dt><dd>%llu</dd>", name, v);
}

void html_connections_table(FILE *f, const struct summary *s)
{
    const struct stats *t = s->total;
    fputs("<section class=\"card\"><h3>Connections</h3><p class=\"note\">Over the whole run.</p><dl class=\"kv\">", f);
    kv(f, "opened", t->conns_opened);
    kv(f, "most open at once", s->max_open);
    kv(f, "closed by the server", t->closed_by_server);
    kv(f, "closed by barrage", t->closed_by_client);
    if (t->closed_unsolicited) kv(f, "of those, for bytes no request asked for", t->closed_unsolicited);
    kv(f, "requests on a reused connection", stats_reused(t));
    kv(f, "retried after a keep-alive close", t->retried_requests);
    if (s->plan->url.tls) {
        kv(f, "TLS handshakes, full", t->handshakes_full);
        kv(f, "TLS handshakes, resumed", t->handshakes_resumed);
    }
    char rx[32], tx[32];
    html_format_bytes(rx, sizeof(rx), (double)t->bytes_received);
    html_format_bytes(tx, sizeof(tx), (double)t->bytes_sent);
    fprintf(f, "<dt>bytes received</dt><dd>%s</dd><dt>bytes sent</dt><dd>%s</dd>", rx, tx);
    fputs("</dl></section>\n", f);
}

void html_client_table(FILE *f, const struct summary *s)
{
    const struct client_use *c = &s->client;
    fputs("<section class=\"card\"><h3>Load generator</h3><p class=\"note\">What barrage itself used (CPU: 100% = one "
          "core).</p><dl class=\"kv\">", f);
    fprintf(f, "<dt>CPU</dt><dd>%.2f s</dd><dt>CPU per request</dt><dd>%.1f &micro;s</dd>", c->cpu_s,
            summary_cpu_us_per_request(s));
    fprintf(f, "<dt>workers busy, mean</dt><dd>%.0f%%</dd><dt>busiest worker</dt><dd>%.0f%%</dd>",
            c->worker_busy_mean_pct, c->worker_busy_max_pct);
    fprintf(f, "<dt>completions per io_uring wait</dt><dd>%.1f</dd></dl>", summary_completions_per_wait(s));
    if (summary_client_saturated(s))
        fprintf(f, "<p class=\"callout warn\"><b>The load generator was saturated:</b> worker %u was busy %.0f%% of "
                   "its run, so the rate and latencies may be barrage's limit, not the server's. Give it more "
                   "threads or CPUs (-t).</p>", c->busiest_worker, c->worker_busy_max_pct);
    fputs("</section>\n", f);
}

void html_watch_table(FILE *f, const struct summary *s)
{
    const struct plan *p = s->plan;
    fputs("<section class=\"card wide\"><h3>Watched server</h3><p class=\"note\">Resident memory and CPU of each "
          "--watch-pid process (CPU: 100% = one core).</p><div class=\"scroll\"><table><thead><tr><th>process</th>"
          "<th>pid</th><th>RSS start</th><th>RSS end</th><th>RSS peak</th><th>growth</th><th>slope</th>"
          "<th>CPU mean</th><th>CPU max</th></tr></thead><tbody>\n", f);
    for (unsigned i = 0; i < p->nwatch; i++) {
        const struct watch_result *w = &s->watch[i];
        fputs("<tr><td class=\"text\">", f);
        html_esc(f, w->comm);
        if (w->exited) fputs(" <span class=\"pill warn\">exited</span>", f);
        /* NaN: a run too short for a trend, a process gone before its first CPU sample */
        char slope[48] = "too short", mean[32] = "n/a", max[32] = "n/a";
        if (!isnan(w->rss_slope_mb_per_min)) snprintf(slope, sizeof(slope), "%+.2f MB/min", w->rss_slope_mb_per_min);
        if (!isnan(w->cpu_mean_pct)) snprintf(mean, sizeof(mean), "%.1f%%", w->cpu_mean_pct);
        if (!isnan(w->cpu_max_pct)) snprintf(max, sizeof(max), "%.1f%%", w->cpu_max_pct);
        fprintf(f, "</td><td>%d</td><td>%.1f MB</td><td>%.1f MB</td><td>%.1f MB</td><td>%+.1f MB</td>"
                   "<td>%s</td><td>%s</td><td>%s</td></tr>\n",
                w->pid, w->rss_start_mb, w->rss_end_mb, w->rss_peak_mb, w->rss_growth_mb, slope, mean, max);
    }
    fputs("</tbody></table></div>", f);
    for (unsigned i = 0; i < p->nwatch; i++) {
        const struct watch_result *w = &s->watch[i];
        if (!w->leak_suspected) continue;
        fputs("<p class=\"callout warn\"><b>Possible memory leak:</b> ", f);
        html_escf(f, "%s (%d) grew %.2f MB/min, faster than --leak-threshold %.2f MB/min.", w->comm, w->pid,
                  w->rss_slope_mb_per_min, p->leak_mb_per_min);
        fputs("</p>", f);
    }
    fputs("</section>\n", f);
}
