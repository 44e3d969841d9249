/* --csv PREFIX: Locust's _stats.csv, _stats_history.csv and _failures.csv (report_csv.h).
 *
 * Written as Locust's csv.writer writes them, so that a spreadsheet or script made for
 * Locust reads them unchanged: its headers, its column order, CRLF line ends, a field
 * quoted only when it holds a comma, a quote or a line break (quotes doubled, RFC 4180),
 * times in milliseconds with Locust's types: median and percentiles as whole numbers (the
 * median clamped to [min, max] as Locust clamps it, a float then), averages, min, max and
 * rates as floats written as Python writes them ("12.5", "3.0"),
 * "N/A" percentiles for a row without requests.
 *
 * A request here is what Locust counts as one: it succeeded or failed (ok + failed), so
 * Request Count includes the failures. Average Content Size is the mean decoded response
 * body, as Locust's len(response.content).
 */
#include "report_csv.h"
#include "secrets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"
#include "scenario.h"

/* Locust's PERCENTILES_TO_REPORT, and their column names */
static const double PCT[] = {0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0};
#define PCT_HEADER "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
#define NPCT (sizeof(PCT) / sizeof(PCT[0]))

enum { F_STATS, F_HISTORY, F_FAILURES, F_COUNT };
static const char *const SUFFIX[F_COUNT] = {"_stats.csv", "_stats_history.csv", "_failures.csv"};
static const char *const HEADER[F_COUNT] = {
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s," PCT_HEADER,
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s," PCT_HEADER ",Total Request Count,Total Failure Count,"
    "Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,"
    "Total Average Content Size",
    "Method,Name,Error,Occurrences",
};

/* The Name of failures that no scenario step owns (rare: see scenario_failures) */
#define NO_STEP "(no step)"

struct csv_out {
    const struct plan *plan;
    double epoch;                /* wall clock at the start, for the history's Timestamp */
    FILE *f[F_COUNT];
    char *path[F_COUNT];
    int werr[F_COUNT];           /* the first write error of each file (errno); 0: none */
};

/* One row's figures: a scenario step name, or the totals (of a run or an interval). */
struct entry {
    uint64_t requests, failures, body_bytes;
    const struct hist *latency;  /* µs */
};

static struct entry total_entry(const struct stats *s)
{
    return (struct entry){s->ok + s->failed, s->failed, s->body_bytes, s->latency};
}

static struct entry step_entry(const struct step_stats *st)
{
    return (struct entry){st->ok + st->failed, st->failed, st->body_bytes, st->latency};
}

/* ---- fields ---- */

static void put_field(FILE *f, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")]) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* A float as Python's repr writes one in the range a load test sees: the fewest decimals,
 * at least one, that read back as the same double ("2.0", "12.345", "0.30000000000000004"). */
static void put_float(FILE *f, double v)
{
    char b[400];
    for (int d = 1; d <= 17; d++) {
        snprintf(b, sizeof(b), "%.*f", d, v);
        if (strtod(b, NULL) == v) break;
    }
    fputs(b, f);
}

/* Median and percentiles: whole milliseconds, rounded (Locust's are its bucket keys). */
static void put_ms_int(FILE *f, uint64_t us)
{
    fprintf(f, "%llu", (unsigned long long)((us + 500) / 1000));
}

static void put_ms_float(FILE *f, double us)
{
    put_float(f, us / 1000.0);
}

/* The median as Locust's median_response_time: its rounded bucket, whole milliseconds, but
 * kept within the exact min and max (a float then), so that a row never shows a median
 * below its min (sub-millisecond responses: 0) or above its max (0.6 ms rounded up to 1). */
static void put_median(FILE *f, const struct hist *h)
{
    uint64_t ms = (hist_quantile(h, 0.5) + 500) / 1000;
    if ((double)ms * 1000 > (double)h->max) put_ms_float(f, (double)h->max);
    else if ((double)ms * 1000 < (double)h->min) put_ms_float(f, (double)h->min);
    else fprintf(f, "%llu", (unsigned long long)ms);
}

/* Median, Average, Min, Max, Average Content Size: the same five in both files. Locust
 * writes 0 (an int) for the ones it has no value for, 0.0 for the average. */
static void put_times(FILE *f, const struct entry *e)
{
    const struct hist *h = e->latency;
    if (h->total) put_median(f, h);
    else fputc('0', f);
    fputc(',', f);
    if (h->total) put_ms_float(f, hist_mean(h));
    else fputs("0.0", f);
    fputc(',', f);
    if (h->total) put_ms_float(f, (double)h->min);
    else fputc('0', f);
    fputc(',', f);
    if (h->total) put_ms_float(f, (double)h->max);
    else fputc('0', f);
    fputc(',', f);
    if (e->requests) put_float(f, (double)e->body_bytes / (double)e->requests);
    else fputc('0', f);
}

static void put_percentiles(FILE *f, const struct entry *e)
{
    for (size_t i = 0; i < NPCT; i++) {
        fputc(',', f);
        if (e->latency->total) put_ms_int(f, hist_quantile(e->latency, PCT[i]));
        else fputs("N/A", f);  /* no latencies: none answered (refused connections, say) */
    }
}

/* ---- files ---- */

/* Flushes file i; notes its first write error. */
static bool wrote(struct csv_out *c, int i)
{
    errno = 0;
    if (fflush(c->f[i]) || ferror(c->f[i])) {
        if (!c->werr[i]) c->werr[i] = errno ? errno : EIO;
        return false;
    }
    return true;
}

struct csv_out *csv_open(const char *prefix, const struct plan *p, char *err, size_t errlen)
{
    struct csv_out *c = calloc(1, sizeof(*c));
    if (!c) goto oom;
    c->plan = p;
    for (int i = 0; i < F_COUNT; i++) {
        size_t n = strlen(prefix) + strlen(SUFFIX[i]) + 1;
        if (!(c->path[i] = malloc(n))) goto oom;
        snprintf(c->path[i], n, "%s%s", prefix, SUFFIX[i]);
        if (!(c->f[i] = fopen(c->path[i], "w"))) {
            snprintf(err, errlen, "--csv: cannot create %s: %s", c->path[i], strerror(errno));
            goto fail;
        }
        /* every file gets its header now, as Locust's do: a run cut short leaves valid files */
        fprintf(c->f[i], "%s\r\n", HEADER[i]);
        if (!wrote(c, i)) {
            snprintf(err, errlen, "--csv: cannot write %s: %s", c->path[i], strerror(c->werr[i]));
            goto fail;
        }
    }
    return c;
oom:
    snprintf(err, errlen, "--csv: out of memory");
fail:
    csv_close(c);
    return NULL;
}

void csv_begin(struct csv_out *c, double epoch)
{
    c->epoch = epoch;
}

/* Locust's User Count is runner.user_count: the users running, whether or not they hold a
 * connection at the moment. Closed loop: the users the shape (or -c) keeps running, the
 * active_users gauge, which stays put while a server refuses connections (the open ones
 * would drop), and counts users, not the pool, with --share-connections. Open loop has no
 * users in Locust's sense: the connections open, as the JSON's intervals. */
static uint64_t user_count(const struct plan *p, const struct interval_view *v)
{
    if (p->open_loop) return v->rec->users;
    return v->iv->active_users;
}

void csv_interval(struct csv_out *c, const struct interval_view *v)
{
    FILE *f = c->f[F_HISTORY];
    struct entry iv = total_entry(v->iv), tot = total_entry(v->total);
    double span = v->rec->t - v->rec->t0;
    /* Timestamp: whole seconds since 1970 at the interval's end, as Locust's int(time.time()) */
    fprintf(f, "%lld,%llu,,Aggregated,", (long long)(c->epoch + v->rec->t), (unsigned long long)user_count(c->plan, v));
    /* the interval's own rates and percentiles (Locust's "current" figures; it writes
     * rates with "%2f", six decimals) */
    fprintf(f, "%2f,%2f", span > 0 ? (double)iv.requests / span : 0.0, span > 0 ? (double)iv.failures / span : 0.0);
    put_percentiles(f, &iv);
    fprintf(f, ",%llu,%llu,", (unsigned long long)tot.requests, (unsigned long long)tot.failures);
    put_times(f, &tot);
    fputs("\r\n", f);
    wrote(c, F_HISTORY);  /* flushed each interval: `tail -f` shows it as it comes */
}

/* ---- the end of the run ---- */

static void stats_row(FILE *f, const char *type, const char *name, const struct entry *e, double duration_s)
{
    put_field(f, type);
    fputc(',', f);
    put_field(f, name);
    fprintf(f, ",%llu,%llu,", (unsigned long long)e->requests, (unsigned long long)e->failures);
    put_times(f, e);
    fputc(',', f);
    put_float(f, duration_s > 0 ? (double)e->requests / duration_s : 0.0);
    fputc(',', f);
    put_float(f, duration_s > 0 ? (double)e->failures / duration_s : 0.0);
    put_percentiles(f, e);
    fputs("\r\n", f);
}

/* The method of stat name i: the first word of the first step with that name (statistics
 * are kept per name: steps that share one under different methods show the first's). */
static void stat_method(const struct scenario *scn, uint32_t stat, char *buf, size_t len)
{
    buf[0] = 0;
    for (uint32_t k = 0; k < scn->nclasses; k++) {
        const struct scn_class *cl = &scn->classes[k];
        for (uint32_t t = 0; t <= cl->ntasks; t++) {
            const struct scn_step *steps = t ? cl->tasks[t - 1].steps : cl->on_start;
            uint32_t n = t ? cl->tasks[t - 1].nsteps : cl->non_start;
            for (uint32_t i = 0; i < n; i++) {
                const struct tpl *h = &steps[i].head;
                if (steps[i].stat != stat || !h->lit) continue;
                const char *sp = memchr(h->lit, ' ', h->lit_len);
                size_t m = sp ? (size_t)(sp - h->lit) : h->lit_len;
                snprintf(buf, len, "%.*s", (int)m, h->lit);
                return;
            }
        }
    }
}

static void fail_row(FILE *f, const char *method, const char *name, const char *error, uint64_t n)
{
    if (!n) return;
    put_field(f, method);
    fputc(',', f);
    put_field(f, name);
    fputc(',', f);
    put_field(f, error);
    fprintf(f, ",%llu\r\n", (unsigned long long)n);
}

/* One row of up to *left failures; *left goes down by what it took. */
static void take(FILE *f, const char *method, const char *name, const char *error, uint64_t n, uint64_t *left)
{
    if (n > *left) n = *left;
    fail_row(f, method, name, error, n);
    *left -= n;
}

/* The one cause the run kept for class e, as the console summary names it ("connect:
 * Connection refused"), into buf; NULL when it kept none or several. Every connect failure
 * has an errno, every TLS failure a reason, every parse failure a parse error (each
 * request pipelined behind it counts it too) and every reset a cause, so one kept cause is
 * the cause of them all. */
static const char *only_cause(const struct stats *t, enum err_class e, char *buf, size_t len)
{
    int one = 0;
    switch (e) {
    case ERR_CONNECT:
        for (int i = 1; i < STATS_ERRNO_MAX; i++)
            if (t->connect_errno[i]) {
                if (one) return NULL;
                one = i;
            }
        if (!one) return NULL;
        snprintf(buf, len, "connect: %s", strerror(one));
        return buf;
    case ERR_TLS:
        if (!t->tls_reason[0].count || t->tls_reason[1].count) return NULL;
        snprintf(buf, len, "tls: %.*s", STATS_REASON_LEN, t->tls_reason[0].text);
        return buf;
    case ERR_PARSE:
        for (int r = 1; r < STATS_PARSE_REASONS; r++)
            if (t->parse_reason[r]) {
                if (one) return NULL;
                one = r;
            }
        if (!one) return NULL;
        snprintf(buf, len, "response: %s", http_error_str((enum http_error)one));
        return buf;
    case ERR_RESET:
        for (int r = 0; r < RESET__COUNT; r++)
            if (t->reset_cause[r]) {
                if (one) return NULL;
                one = r + 1;
            }
        if (!one) return NULL;
        snprintf(buf, len, "%s", reset_cause_str((enum reset_cause)(one - 1)));
        return buf;
    default:
        return NULL;
    }
}

/* n failures of class e as rows, named as the console summary names them. With one cause
 * kept for the class, one row; otherwise first a row per cause kept (connect errnos, TLS
 * reasons, parse errors, reset causes, in the quick mode the status
 * codes), then what is left under the class's name. Those counters are not exact shares
 * of the class (an attempt that stood for no request still counts its errno; a parse error
 * fails every pipelined request), so each row takes at most what is left: the rows add
 * up to n. */
static void class_rows(FILE *f, const struct plan *p, const char *method, const char *name, const struct stats *t,
                       enum err_class e, uint64_t n)
{
    char text[STATS_REASON_LEN + 32];
    uint64_t left = n;
    if (only_cause(t, e, text, sizeof(text))) {
        fail_row(f, method, name, text, n);
        return;
    }
    switch (e) {
    case ERR_CONNECT:
        for (int i = 1; i < STATS_ERRNO_MAX && left; i++)
            if (t->connect_errno[i]) {
                snprintf(text, sizeof(text), "connect: %s", strerror(i));
                take(f, method, name, text, t->connect_errno[i], &left);
            }
        break;
    case ERR_TLS:
        for (int r = 0; r < STATS_TLS_REASONS && t->tls_reason[r].count && left; r++) {
            snprintf(text, sizeof(text), "tls: %.*s", STATS_REASON_LEN, t->tls_reason[r].text);
            take(f, method, name, text, t->tls_reason[r].count, &left);
        }
        break;
    case ERR_PARSE:
        for (int r = 1; r < STATS_PARSE_REASONS && left; r++)
            if (t->parse_reason[r]) {
                snprintf(text, sizeof(text), "response: %s", http_error_str((enum http_error)r));
                take(f, method, name, text, t->parse_reason[r], &left);
            }
        break;
    case ERR_RESET:
        for (int r = 0; r < RESET__COUNT && left; r++)
            if (t->reset_cause[r]) take(f, method, name, reset_cause_str((enum reset_cause)r), t->reset_cause[r], &left);
        break;
    case ERR_STATUS:
        for (int code = 0; code < STATUS_CODES && left && !p->scenario_file; code++)
            if (t->status[code] && !plan_status_ok(p, (unsigned)code)) {
                snprintf(text, sizeof(text), "status %d", code);
                take(f, method, name, text, t->status[code], &left);
            }
        break;
    default:
        break;
    }
    take(f, method, name, err_class_name(e), left, &left);
}

/* A step's reason that is a class's bare name ("connect": the transport failed) says
 * more when the run kept one cause for that class. Returns the reason to write. */
static const char *refine(const struct stats *t, const char *reason, char *buf, size_t len)
{
    static const enum err_class named[] = {ERR_CONNECT, ERR_TLS, ERR_PARSE};
    for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++)
        if (!strcmp(reason, err_class_name(named[k]))) {
            const char *cause = only_cause(t, named[k], buf, len);
            return cause ? cause : reason;
        }
    return reason;
}

/* A scenario's failures: each step name's reasons; then the few that no step owns (a
 * request re-sent after a keep-alive race whose reconnect failed), per class: a class's
 * count less what the steps list under its name. Those are the transport classes; a
 * response's status or check always fails a step. The rows add up to t->failed. */
static void scenario_failures(FILE *f, const struct plan *p, const struct stats *t)
{
    const struct scenario *scn = p->scenario;
    uint64_t stepped = 0, attributed[ERR__COUNT] = {0};
    char method[32], buf[STATS_REASON_LEN + 32];
    for (uint32_t i = 0; i < scn->nstats && i < t->nsteps; i++) {
        const struct step_stats *st = &t->steps[i];
        stat_method(scn, i, method, sizeof(method));
        stepped += st->failed;
        for (int r = 0; r < STATS_STEP_REASONS && st->reasons[r].count; r++) {
            const char *why = st->reasons[r].text;
            fail_row(f, method, scn->stat_names[i], refine(t, why, buf, sizeof(buf)), st->reasons[r].count);
            for (int e = 0; e < ERR__COUNT; e++)
                if (!strcmp(why, err_class_name((enum err_class)e))) attributed[e] += st->reasons[r].count;
        }
    }
    attributed[ERR_TIMEOUT] += t->timeouts_queued;  /* "no connection within the timeout" */
    uint64_t left = t->failed > stepped ? t->failed - stepped : 0;
    static const enum err_class transport[] = {ERR_CONNECT, ERR_TIMEOUT, ERR_RESET, ERR_PARSE, ERR_TLS};
    for (size_t k = 0; k < sizeof(transport) / sizeof(transport[0]) && left; k++) {
        enum err_class e = transport[k];
        uint64_t n = t->errors[e] > attributed[e] ? t->errors[e] - attributed[e] : 0;
        if (n > left) n = left;
        class_rows(f, p, "", NO_STEP, t, e, n);
        left -= n;
    }
    fail_row(f, "", NO_STEP, "other", left);  /* a step's "other reasons" hid a class name */
}

int csv_finish(struct csv_out *c, const struct summary *s, char *err, size_t errlen)
{
    const struct plan *p = s->plan;
    const struct stats *t = s->total;
    FILE *f = c->f[F_STATS];
    struct entry e;
    char path[2 * sizeof(p->url.path) + 16];  /* the quick mode's name: its path, secrets masked */
    secret_mask_url(p->url.path, path, sizeof(path));
    if (p->scenario_file) {
        char method[32];
        for (uint32_t i = 0; i < p->scenario->nstats && i < t->nsteps; i++) {
            stat_method(p->scenario, i, method, sizeof(method));
            e = step_entry(&t->steps[i]);
            stats_row(f, method, p->scenario->stat_names[i], &e, s->duration_s);
        }
    } else {
        e = total_entry(t);
        stats_row(f, p->method, path, &e, s->duration_s);
    }
    e = total_entry(t);
    stats_row(f, "", "Aggregated", &e, s->duration_s);
    wrote(c, F_STATS);

    f = c->f[F_FAILURES];
    if (p->scenario_file) scenario_failures(f, p, t);
    else
        for (int k = 0; k < ERR__COUNT; k++) class_rows(f, p, p->method, path, t, (enum err_class)k, t->errors[k]);
    wrote(c, F_FAILURES);

    for (int i = 0; i < F_COUNT; i++)
        if (c->werr[i]) {
            snprintf(err, errlen, "--csv: cannot write %s: %s", c->path[i], strerror(c->werr[i]));
            return -1;
        }
    return 0;
}

void csv_close(struct csv_out *c)
{
    if (!c) return;
    for (int i = 0; i < F_COUNT; i++) {
        if (c->f[i]) fclose(c->f[i]);
        free(c->path[i]);
    }
    free(c);
}
