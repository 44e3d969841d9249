/* Console output: the live line and the final summary. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/ioctl.h>

#include "http_parse.h"
#include "scenario.h"

void format_us(char *buf, size_t len, uint64_t us)
{
    if (us < 1000) snprintf(buf, len, "%lluus", (unsigned long long)us);
    else if (us < 999995) snprintf(buf, len, "%.2fms", (double)us / 1e3);  /* 999.995ms would print 1000.00ms */
    else snprintf(buf, len, "%.2fs", (double)us / 1e6);
}

void format_rate(char *buf, size_t len, double r)
{
    if (r > 0 && r < 0.01) snprintf(buf, len, "%.3g", r);
    else snprintf(buf, len, "%.2f", r);
}

static void format_bytes(char *buf, size_t len, double b)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (i < 4 && b >= (i ? 1023.995 : 1023.5)) b /= 1024, i++;  /* as printed: never 1024.00KiB */
    snprintf(buf, len, i ? "%.2f%s" : "%.0f%s", b, unit[i]);
}

double summary_target_rps(const struct summary *s)
{
    const struct plan *p = s->plan;
    if (!p->open_loop || s->duration_s <= 0) return 0;
    return shape_area(&p->shape, s->duration_s) / s->duration_s;
}

double summary_rps(const struct summary *s)
{
    return s->duration_s > 0 ? (double)stats_answered(s->total) / s->duration_s : 0;
}

double summary_cpu_us_per_request(const struct summary *s)
{
    uint64_t done = s->total->issued > s->in_flight ? s->total->issued - s->in_flight : 0;
    return done ? s->client.cpu_s * 1e6 / (double)done : 0;
}

double summary_completions_per_wait(const struct summary *s)
{
    return s->client.waits ? (double)s->client.completions / (double)s->client.waits : 0;
}

bool summary_client_saturated(const struct summary *s)
{
    return s->client.worker_busy_max_pct >= CLIENT_SATURATED_PCT;
}

bool summary_thresholds(const struct summary *s, struct threshold_result res[])
{
    return threshold_eval(&s->plan->thresholds, s->total, s->duration_s, s->watch, s->watch ? s->plan->nwatch : 0, 0,
                          res);
}

/* Each threshold with its measured value and verdict, why the run stopped early, the grade. */
static void report_verdict(FILE *out, const struct summary *s)
{
    const struct threshold_set *set = &s->plan->thresholds;
    struct threshold_result res[THRESHOLD_MAX];
    summary_thresholds(s, res);
    size_t w = 10;
    for (unsigned i = 0; i < set->n; i++)
        if (strlen(set->t[i].expr) > w) w = strlen(set->t[i].expr);
    if (w > 60) w = 60;
    for (unsigned i = 0; i < set->n; i++) {
        char v[64];
        slo_format_value(&set->t[i].cond, res[i].value, v, sizeof(v));
        fprintf(out, "  %-12s %-*s  %12s  %s\n", i ? "" : "Thresholds", (int)w, set->t[i].expr, v,
                res[i].passed ? "pass" : "FAIL");
    }
    if (s->stopped_early[0]) fprintf(out, "  %-12s early: %s\n", "Stopped", s->stopped_early);
    struct grade g;
    threshold_grade(s->plan->slo_set ? &s->plan->slo : NULL, s->total, &g);
    fprintf(out, "  %-12s %c: %s\n", "Grade", g.letter, g.reason);
}

/* What barrage used, and a warning when a worker had no CPU to spare: then the rate and
 * the latencies may be the client's, not the server's. */
static void report_client(FILE *out, const struct summary *s)
{
    const struct client_use *c = &s->client;
    fprintf(out, "  %-12s CPU %.2fs, %.1fus per request; workers busy %.0f%% (busiest %.0f%%); %.1f completions per wait\n",
            "Client", c->cpu_s, summary_cpu_us_per_request(s), c->worker_busy_mean_pct, c->worker_busy_max_pct,
            summary_completions_per_wait(s));
    if (summary_client_saturated(s))
        fprintf(out, "  %-12s worker %u was busy %.0f%% of its run: barrage may have limited the load "
                     "(give it more threads or CPUs, -t)\n",
                "Warning", c->busiest_worker, c->worker_busy_max_pct);
}

/* --watch-pid: one line per watched process, CPU and how its memory went; a warning when
 * the memory kept climbing faster than --leak-threshold. */
static void report_server(FILE *out, const struct summary *s)
{
    const struct plan *p = s->plan;
    for (unsigned i = 0; s->watch && i < p->nwatch; i++) {
        const struct watch_result *w = &s->watch[i];
        char cpu[64] = "CPU n/a (exited before the first sample)", trend[64] = "too short for a MB/min trend",
             peak[48] = "";
        if (!isnan(w->cpu_mean_pct))
            snprintf(cpu, sizeof(cpu), "CPU mean %.*f%% max %.*f%%", w->cpu_mean_pct < 10 ? 1 : 0, w->cpu_mean_pct,
                     w->cpu_max_pct < 10 ? 1 : 0, w->cpu_max_pct);
        if (!isnan(w->rss_slope_mb_per_min)) snprintf(trend, sizeof(trend), "%.1f MB/min", w->rss_slope_mb_per_min);
        if (w->rss_peak_mb > w->rss_end_mb + 0.05) snprintf(peak, sizeof(peak), ", peak %.1f MB", w->rss_peak_mb);
        fprintf(out, "  %-12s %s (pid %d%s): %s, RSS %.1f -> %.1f MB (%+.1f MB, %s)%s\n", i ? "" : "Server", w->comm,
                w->pid, w->exited ? ", exited during the run" : "", cpu, w->rss_start_mb, w->rss_end_mb,
                w->rss_growth_mb, trend, peak);
    }
    for (unsigned i = 0; s->watch && i < p->nwatch; i++) {
        const struct watch_result *w = &s->watch[i];
        if (!w->leak_suspected) continue;
        char who[64] = "";
        if (p->nwatch > 1) snprintf(who, sizeof(who), " of %s (pid %d)", w->comm, w->pid);
        fprintf(out, "  WARNING: memory%s grew %.1f MB/min (above --leak-threshold %g MB/min): a leak?\n", who,
                w->rss_slope_mb_per_min, p->leak_mb_per_min);
    }
}

double interval_target(const struct plan *p, double t0, double t1)
{
    if (p->open_loop)
        return t1 > t0 ? (shape_area(&p->shape, t1) - shape_area(&p->shape, t0)) / (t1 - t0) : shape_value(&p->shape, t1);
    if (p->shaped) return floor(shape_value(&p->shape, t1) + 1e-9);
    return p->connections;
}

/* "1,234,567": rates read at a glance on a live line */
static void format_thousands(char *buf, size_t len, double v)
{
    char digits[32];
    snprintf(digits, sizeof(digits), "%.0f", v < 0 ? 0 : v);
    size_t n = strlen(digits), o = 0;
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
}

/* The watched processes together: CPU% and RSS MB; false when none is watched or alive. */
static bool server_totals(const struct plan *p, const struct interval_rec *r, double *cpu, double *mb)
{
    *cpu = *mb = 0;
    bool any = false;
    for (unsigned k = 0; k < p->nwatch; k++)
        if (r->server[k].alive) *cpu += r->server[k].cpu_pct, *mb += r->server[k].rss_mb, any = true;
    return any;
}

/* Off a terminal: a table, its header again every 30 rows (as vmstat does) so that a long log
 * still reads. The target column appears when there is a target to compare with. */
static void live_row(FILE *out, const struct plan *p, const struct interval_rec *r, unsigned row)
{
    bool target = p->open_loop || p->shaped;
    if (row % 30 == 0) {
        fprintf(out, "%8s %10s", "time", "rps");
        if (target) fprintf(out, " %10s", p->open_loop ? "target/s" : "users want");
        fprintf(out, " %9s %9s %9s %9s %8s %7s", "p50", "p90", "p99", "max", "errors", "conns");
        if (p->nwatch) fprintf(out, " %8s %9s", "srv cpu", "srv MB");
        fputc('\n', out);
    }
    char q[4][32];
    const uint64_t us[4] = {r->p50_us, r->p90_us, r->p99_us, r->max_us};
    for (int k = 0; k < 4; k++)  /* an interval without a response timed has no latency: '-', not 0us */
        if (r->timed) format_us(q[k], sizeof(q[k]), us[k]);
        else snprintf(q[k], sizeof(q[k]), "-");
    int decimals = p->interval_ns % 100000000 ? 2 : 1;  /* 250ms intervals: 0.25s, 0.50s, ... */
    fprintf(out, "%7.*fs %10.0f", decimals, r->t, r->rps);
    if (target) {
        char t[32];
        if (r->target < 10) format_rate(t, sizeof(t), r->target);
        else snprintf(t, sizeof(t), "%.0f", r->target);
        fprintf(out, " %10s", t);
    }
    fprintf(out, " %9s %9s %9s %9s %8llu %7llu", q[0], q[1], q[2], q[3], (unsigned long long)r->errors,
            (unsigned long long)r->users);
    double cpu, mb;
    if (p->nwatch) {
        if (server_totals(p, r, &cpu, &mb)) fprintf(out, " %7.0f%% %9.1f", cpu, mb);
        else fprintf(out, " %8s %9s", "-", "-");
    }
    fputc('\n', out);
}

/* On a terminal: one line rewritten in place: progress, rate against its target, tail
 * latency, errors as a share, users (or connections) against what the shape wants. */
static void live_dashboard(FILE *out, const struct plan *p, const struct interval_rec *r)
{
    char bar[40] = "", rps[32], target[64] = "", p99[32], users[64], server[64] = "";
    if (p->duration_ns) {
        double total = (double)p->duration_ns / 1e9, frac = r->t / total;
        if (frac > 1) frac = 1;
        int fill = (int)(frac * 20 + 0.5);
        char cells[21];
        for (int i = 0; i < 20; i++) cells[i] = i < fill ? '#' : '.';
        cells[20] = 0;
        snprintf(bar, sizeof(bar), "[%s] %3.0f%% ", cells, frac * 100);
    }
    format_thousands(rps, sizeof(rps), r->rps);
    if (p->open_loop) {
        char t[32];
        if (r->target < 10) format_rate(t, sizeof(t), r->target);  /* -R 0.5: not "of 1" */
        else format_thousands(t, sizeof(t), r->target);
        snprintf(target, sizeof(target), " of %s", t);
    }
    if (r->timed) format_us(p99, sizeof(p99), r->p99_us);
    else snprintf(p99, sizeof(p99), "-");
    uint64_t done = r->ok + r->errors;
    double err_pct = done ? 100.0 * (double)r->errors / (double)done : 0;
    if (p->shaped && !p->open_loop && !p->share_connections)  /* each user its connection */
        snprintf(users, sizeof(users), "users %llu/%.0f", (unsigned long long)r->users, r->target);
    else snprintf(users, sizeof(users), "conns %llu", (unsigned long long)r->users);
    double cpu, mb;
    if (p->nwatch && server_totals(p, r, &cpu, &mb)) snprintf(server, sizeof(server), "  server %.0f%% %.0fMB", cpu, mb);
    char line[320];
    int n = snprintf(line, sizeof(line), "%s%6.*fs  %s req/s%s  p99 %s  errors %.1f%%  %s%s", bar,
                     p->interval_ns % 100000000 ? 2 : 1, r->t, rps, target, p99, err_pct, users, server);
    /* A line that wraps cannot be rewritten in place (\r goes back to its last row only):
     * cut to the terminal's width, the progress bar first to go. */
    struct winsize ws;
    if (n > 0 && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1) {
        size_t cols = (size_t)ws.ws_col - 1, len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
        const char *shown = line;
        if (len > cols && bar[0]) shown += strlen(bar), len -= strlen(bar);
        n = (int)(len < cols ? len : cols);
        fprintf(out, "\r\033[K%.*s", n, shown);
    } else {
        fprintf(out, "\r\033[K%s", line);
    }
    fflush(out);
}

void report_live(FILE *out, const struct plan *p, const struct interval_rec *r, unsigned row, bool tty)
{
    if (tty) live_dashboard(out, p, r);
    else {
        live_row(out, p, r, row);
        fflush(out);
    }
}

/* The per-name table of a scenario run, each name's failure reasons under it. */
static void report_steps(FILE *out, const struct summary *s)
{
    const struct scenario *scn = s->plan->scenario;
    const struct stats *t = s->total;
    size_t w = 4;
    for (uint32_t i = 0; i < scn->nstats; i++)
        if (strlen(scn->stat_names[i]) > w) w = strlen(scn->stat_names[i]);
    if (w > 40) w = 40;
    fprintf(out, "  %-12s %-*s %9s %7s %9s %9s %9s %9s %9s\n", "Steps", (int)w, "name", "requests", "failed", "req/s", "p50",
            "p90", "p99", "max");
    for (uint32_t i = 0; i < scn->nstats && i < t->nsteps; i++) {
        const struct step_stats *st = &t->steps[i];
        char q[4][32];
        static const double qs[] = {0.5, 0.9, 0.99};
        for (int k = 0; k < 3; k++) format_us(q[k], sizeof(q[k]), hist_quantile(st->latency, qs[k]));
        format_us(q[3], sizeof(q[3]), st->latency->max);
        if (!st->latency->total)  /* no response timed (every request failed without one): no latency, not 0 */
            for (int k = 0; k < 4; k++) snprintf(q[k], sizeof(q[k]), "-");
        uint64_t n = st->ok + st->failed;
        fprintf(out, "  %-12s %-*.*s %9llu %7llu %9.1f %9s %9s %9s %9s\n", "", (int)w, (int)w, scn->stat_names[i],
                (unsigned long long)n, (unsigned long long)st->failed, s->duration_s > 0 ? (double)n / s->duration_s : 0,
                q[0], q[1], q[2], q[3]);
        for (int r = 0; r < STATS_STEP_REASONS && st->reasons[r].count; r++)
            fprintf(out, "  %-12s   %s: %llu\n", "", st->reasons[r].text, (unsigned long long)st->reasons[r].count);
    }
}

static void quantile_line(FILE *out, const char *name, const struct hist *h)
{
    if (!h->total) {
        fprintf(out, "  %-12s (none)\n", name);
        return;
    }
    static const double qs[] = {0.5, 0.9, 0.99, 0.999, 0.9999};
    static const char *const qn[] = {"p50", "p90", "p99", "p99.9", "p99.99"};
    char v[32];
    format_us(v, sizeof(v), h->min);
    fprintf(out, "  %-12s min %s", name, v);
    for (int i = 0; i < 5; i++) {
        format_us(v, sizeof(v), hist_quantile(h, qs[i]));
        fprintf(out, "  %s %s", qn[i], v);
    }
    format_us(v, sizeof(v), h->max);
    fprintf(out, "  max %s", v);
    format_us(v, sizeof(v), (uint64_t)(hist_mean(h) + 0.5));
    fprintf(out, "  (mean %s)\n", v);
}

void report_summary(FILE *out, const struct summary *s)
{
    const struct stats *t = s->total;
    const struct plan *p = s->plan;
    char rx[32], tx[32];
    char who[64];  /* users sharing connections say both */
    if (p->share_connections && !p->open_loop)
        snprintf(who, sizeof(who), "%u users, %u connection%s", p->connections, p->pool, p->pool == 1 ? "" : "s");
    else snprintf(who, sizeof(who), "%u connection%s", p->connections, p->connections == 1 ? "" : "s");
    if (!p->quiet) fputc('\n', out);  /* apart from the live rows; -q prints none */
    fprintf(out, "barrage %s  %s  %.2fs, %u thread%s, %s%s%s\n", BARRAGE_VERSION, p->url_text, s->duration_s,
            s->threads, s->threads == 1 ? "" : "s", who, p->pipeline > 1 ? ", pipelined" : "",
            s->interrupted ? "  (interrupted)" : s->stopped_early[0] ? "  (stopped early: a threshold failed)" : "");
    fprintf(out, "  %-12s %llu issued = %llu ok + %llu failed + %llu in flight at stop", "Requests",
            (unsigned long long)t->issued, (unsigned long long)t->ok, (unsigned long long)t->failed,
            (unsigned long long)s->in_flight);
    if (s->queued_at_stop)
        fprintf(out, " (%llu of them waiting for a connection)", (unsigned long long)s->queued_at_stop);
    if (s->in_flight) {
        char age[32];
        format_us(age, sizeof(age), t->age_at_stop->max);
        fprintf(out, ", the oldest %s old", age);
    }
    fputc('\n', out);
    if (p->open_loop) {
        char lag[32], want[32];
        format_us(lag, sizeof(lag), t->schedule_lag->max);
        format_rate(want, sizeof(want), summary_target_rps(s));
        /* a scenario's arrivals are users that each run one task: the rate is of users */
        fprintf(out, "  %-12s target %s %s%s, achieved %.2f req/s, dropped %llu (queue full), max schedule lag %s\n",
                "Rate", want, !p->static_program ? "users/s (each runs one task)" : "req/s",
                p->poisson ? " (Poisson arrivals)" : "", summary_rps(s), (unsigned long long)t->errors[ERR_DROPPED], lag);
    }
    format_bytes(rx, sizeof(rx), s->duration_s > 0 ? (double)t->bytes_received / s->duration_s : 0);
    format_bytes(tx, sizeof(tx), s->duration_s > 0 ? (double)t->bytes_sent / s->duration_s : 0);
    fprintf(out, "  %-12s %.1f req/s   %s/s received   %s/s sent\n", "Throughput", summary_rps(s), rx, tx);
    quantile_line(out, "Latency", t->latency);
    if (p->open_loop && !p->static_program) {
        fprintf(out, "  %-12s (each step from its send; a new user's wait for a connection is the pool wait)\n", "");
        quantile_line(out, "Pool wait", t->pool_wait);
        quantile_line(out, "Sched. lag", t->schedule_lag);
    } else if (p->open_loop) {
        fprintf(out, "  %-12s (from each request's scheduled start: what a user waits)\n", "");
        quantile_line(out, "Service time", t->service);
        quantile_line(out, "Pool wait", t->pool_wait);
        quantile_line(out, "Sched. lag", t->schedule_lag);
    } else if (p->share_connections) {  /* users sharing --pool connections wait for one */
        if (!p->latency_from_wait)
            fprintf(out, "  %-12s (each step from its send; a user's wait for a connection is the pool wait)\n", "");
        quantile_line(out, "Pool wait", t->pool_wait);
    }
    quantile_line(out, "TTFB", t->ttfb);
    quantile_line(out, "Connect", t->connect);
    if (p->url.tls) {
        fprintf(out, "  %-12s %llu full handshakes, %llu resumed", "TLS", (unsigned long long)t->handshakes_full,
                (unsigned long long)t->handshakes_resumed);
        if (s->tls_version[0]) fprintf(out, "; %s, %s", s->tls_version, s->tls_cipher);
        fputc('\n', out);
        if (t->handshake_full->total) quantile_line(out, "  full", t->handshake_full);
        if (t->handshake_resumed->total) quantile_line(out, "  resumed", t->handshake_resumed);
    }

    fprintf(out, "  %-12s", "Status");
    int any = 0;
    for (int code = 0; code < STATUS_CODES; code++)
        if (t->status[code]) fprintf(out, "%s%d: %llu", any++ ? ", " : " ", code, (unsigned long long)t->status[code]);
    fprintf(out, "%s\n", any ? "" : " (no responses)");

    fprintf(out, "  %-12s", "Errors");
    if (!t->failed) fprintf(out, " none\n");
    else {
        any = 0;
        for (int e = 0; e < ERR__COUNT; e++)
            if (t->errors[e])
                fprintf(out, "%s%s %llu", any++ ? ", " : " ", err_class_name((enum err_class)e),
                        (unsigned long long)t->errors[e]);
        fputc('\n', out);
        for (int e = 1; e < STATS_ERRNO_MAX; e++)
            if (t->connect_errno[e])
                fprintf(out, "  %-12s   connect: %s: %llu\n", "", strerror(e), (unsigned long long)t->connect_errno[e]);
        for (int r = 0; r < STATS_TLS_REASONS && t->tls_reason[r].count; r++)
            fprintf(out, "  %-12s   tls: %s: %llu\n", "", t->tls_reason[r].text, (unsigned long long)t->tls_reason[r].count);
        for (int r = 1; r < STATS_PARSE_REASONS; r++)
            if (t->parse_reason[r])
                fprintf(out, "  %-12s   response: %s: %llu\n", "", http_error_str((enum http_error)r),
                        (unsigned long long)t->parse_reason[r]);
        for (int r = 0; r < RESET__COUNT; r++)
            if (t->reset_cause[r])
                fprintf(out, "  %-12s   %s: %llu\n", "", reset_cause_str((enum reset_cause)r),
                        (unsigned long long)t->reset_cause[r]);
    }
    if (p->scenario_file) report_steps(out, s);
    fprintf(out, "  %-12s opened %llu, most open %u, closed by server %llu, by client %llu, reused requests %llu",
            "Connections", (unsigned long long)t->conns_opened, s->max_open, (unsigned long long)t->closed_by_server,
            (unsigned long long)t->closed_by_client, (unsigned long long)stats_reused(t));
    if (t->retried_requests)
        fprintf(out, ", retried after a keep-alive close %llu", (unsigned long long)t->retried_requests);
    if (t->closed_unsolicited)
        fprintf(out, ", closed for bytes no request asked for %llu", (unsigned long long)t->closed_unsolicited);
    fputc('\n', out);
    report_client(out, s);
    report_server(out, s);
    report_verdict(out, s);
}
