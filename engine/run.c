/* The reporter: owns the workers, merges their statistics at interval boundaries,
 * drives the sinks. Runs on the main thread; never touches a worker's hot data. */
#include "run.h"
#include "scenario.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "find_limit.h"
#include "outputs.h"
#include "report.h"
#include "ring.h"
#include "worker.h"

static atomic_bool stop_requested;
static volatile sig_atomic_t signals_seen;
static _Atomic int64_t first_signal_ns;

/* A second signal leaves at once only when it comes 250 ms or more after the first: GNU
 * timeout(1) (without --foreground) sends its signal to the child and then to the child's
 * process group, so one `timeout -s INT` delivers two in a row. clock_gettime is
 * async-signal-safe. */
static void on_signal(int sig)
{
    (void)sig;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, zero = 0;
    if (!atomic_compare_exchange_strong(&first_signal_ns, &zero, now) && now - zero >= 250000000)
        _exit(130);  /* a second Ctrl-C: leave now */
    signals_seen = 1;
    atomic_store(&stop_requested, true);
}

static void install_signals(void)
{
    /* SA_RESTART: a live row blocked on a full pipe (stdout read slowly) goes on being
     * written after the signal; interrupted (EINTR), stdio dropped it and marked stdout
     * failed, so the run exited 1 with "cannot write the report". The reporter's sleeps
     * still end at the signal (clock_nanosleep is never restarted). */
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A hang-up (the terminal or the SSH session went away) stops the run as SIGTERM
     * does, so the report files are still written; under nohup it stays ignored. */
    struct sigaction hup;
    if (sigaction(SIGHUP, NULL, &hup) == 0 && hup.sa_handler != SIG_IGN) sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int raise_fd_limit(uint64_t need, char *err, size_t errlen)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl)) return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= need) return 0;
    /* Past the hard limit only with CAP_SYS_RESOURCE, and never past fs.nr_open. */
    struct rlimit want = {.rlim_cur = need, .rlim_max = need};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) return 0;
    snprintf(err, errlen,
             "-c needs about %llu open files but the limit is %llu and cannot be raised here; "
             "raise it with 'ulimit -n %llu' (as root, or the hard limit in /etc/security/limits.conf; "
             "above fs.nr_open also 'sysctl -w fs.nr_open=...'), or use fewer connections",
             (unsigned long long)need, (unsigned long long)rl.rlim_cur, (unsigned long long)need);
    return -1;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000), .tv_nsec = (long)(t % 1000000000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Takes every slot the workers have published since the last call. Returns how many
 * workers have now delivered everything up to interval boundary `boundary`. */
static unsigned collect(struct worker *ws, unsigned n, struct stats *interval, struct stats *total, uint64_t boundary)
{
    unsigned current = 0;
    for (unsigned i = 0; i < n; i++) {
        struct stats *slot = handover_take(&ws[i].stats);
        if (slot) {
            if (slot->boundary > ws[i].reported) ws[i].reported = slot->boundary;
            ws[i].gauge_open = slot->open_conns, ws[i].gauge_users = slot->active_users;
            ws[i].gauge_queued = slot->queued;
            if (interval) stats_add(interval, slot);
            stats_add(total, slot);
            stats_reset(slot);
            handover_release(&ws[i].stats);
        }
        if (ws[i].reported >= boundary || atomic_load_explicit(&ws[i].done, memory_order_acquire)) current++;
    }
    return current;
}

static bool all_done(struct worker *ws, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!atomic_load_explicit(&ws[i].done, memory_order_acquire)) return false;
    return true;
}

/* Every worker has decided to stop (or ended): none will publish again. */
static bool all_stopping(struct worker *ws, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!atomic_load_explicit(&ws[i].stopping_ns, memory_order_acquire) &&
            !atomic_load_explicit(&ws[i].done, memory_order_acquire))
            return false;
    return true;
}

/* Every worker has stopped (or decided to), all of them before `boundary`: the run ended
 * inside this interval, whether or not they have finished their stop's work. */
static bool all_stopped_before(struct worker *ws, unsigned n, uint64_t boundary)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t t = atomic_load_explicit(&ws[i].stopping_ns, memory_order_acquire);
        if (!t || t >= boundary) return false;
    }
    return true;
}

/* Once every worker is done (their slots are then still, and readable here): whether one
 * stopped holding counts it never published (its last publish was refused while this
 * thread was late). */
static bool unpublished_left(struct worker *ws, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct stats *cur = handover_current(&ws[i].stats);
        if (cur->ok || cur->failed) return true;
    }
    return false;
}

/* The intervals of the run, for the JSON. Grows on the reporter thread only. */
struct interval_log {
    struct interval_rec *rec;
    size_t n, cap;
};

/* t0, t1: the interval's boundaries in seconds since the start (the workers publish at
 * them, so its counts run from one to the other); span: t1 - t0, for the rate. */
static struct interval_rec *log_interval(struct interval_log *log, const struct plan *p, double t0, double t1,
                                         double span, const struct stats *iv)
{
    static struct interval_rec dropped;  /* out of memory: still printed, not kept */
    struct interval_rec *r = &dropped;
    if (log->n == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 64;
        struct interval_rec *nr = realloc(log->rec, cap * sizeof(*nr));
        if (nr) log->rec = nr, log->cap = cap;
    }
    if (log->n < log->cap) r = &log->rec[log->n++];
    *r = (struct interval_rec){
        .t0 = t0,
        .t = t1,
        .target = interval_target(p, t0, t1),
        .rps = span > 0 ? (double)stats_answered(iv) / span : 0,
        .p50_us = hist_quantile(iv->latency, 0.50),
        .p90_us = hist_quantile(iv->latency, 0.90),
        .p99_us = hist_quantile(iv->latency, 0.99),
        .max_us = iv->latency->total ? iv->latency->max : 0,
        .timed = iv->latency->total,
        .ok = iv->ok,
        .errors = iv->failed,
        .users = iv->open_conns,
    };
    return r;
}

/* --abort-on-fail: the thresholds on the totals so far, once the run has had a moment (1 s,
 * and 100 responses for each threshold's subject), and on the watched server's figures so
 * far (watch: NULL without --watch-pid). Returns true, with why, when one failed. */
static bool threshold_breached(const struct plan *p, const struct stats *total, const struct watch_result *watch,
                               double elapsed_s, char *why, size_t len)
{
    if (!p->abort_on_fail || elapsed_s < 1.0) return false;
    struct threshold_result res[THRESHOLD_MAX];
    if (threshold_eval(&p->thresholds, total, elapsed_s, watch, watch ? p->nwatch : 0, 100, res)) return false;
    for (unsigned i = 0; i < p->thresholds.n; i++)
        if (!res[i].passed) {
            char v[64];
            slo_format_value(&p->thresholds.t[i].cond, res[i].value, v, sizeof(v));
            snprintf(why, len, "threshold '%s' failed at %.1fs (measured %s)", p->thresholds.t[i].expr, elapsed_s, v);
            break;
        }
    return true;
}

static void report_intervals(const struct plan *p, const struct run_opts *o, struct worker *ws, unsigned n,
                             uint64_t start, struct stats *interval, struct stats *total, struct interval_log *log,
                             double *measured_from_s, char *stopped_early, size_t stopped_len)
{
    FILE *out = report_stream(p);
    bool tty = isatty(fileno(out)), live = o->live && !p->quiet;
    uint64_t iv = p->interval_ns, last_boundary = start;
    bool warm = o->warmup_ns == 0;
    /* Wake just after each boundary so the workers have published. */
    uint64_t next = start + iv + 2000000;
    while (!all_done(ws, n)) {
        uint64_t now = mono_ns(), slice = now + 20000000;
        sleep_until(next < slice ? next : slice);
        if (signals_seen) atomic_store(&stop_requested, true);
        now = mono_ns();
        if (now < next) continue;
        /* total holds what ran up to last_boundary (this wake's interval is collected
         * below): once that boundary is past the warm-up, all of it was warm-up */
        if (!warm && last_boundary - start >= o->warmup_ns) {
            stats_reset(total);  /* what ran before is warm-up: measure from here */
            *measured_from_s = (double)(last_boundary - start) / 1e9;
            warm = true;
        }
        uint64_t k = (now - start) / iv, boundary = start + k * iv;
        /* Every worker stopped before this boundary: what they did since the last one is
         * the run's last, partial interval, which run_once writes up to the stop. */
        if (all_stopped_before(ws, n, boundary)) break;
        stats_reset(interval);
        /* A worker that published late last time had its next publish refused until now:
         * take what it delivers over the next few milliseconds, so that it catches up
         * instead of staying one interval behind. */
        uint64_t give_up = now + (iv / 4 < 50000000 ? iv / 4 : 50000000);
        while (collect(ws, n, interval, total, k) < n && mono_ns() < give_up) sleep_until(mono_ns() + 1000000);
        /* Every worker is working through its stop (releasing arrivals far behind takes
         * up to half a second) and will not publish again: wait for them to finish, so that
         * what one kept unpublished goes into the run's last row below, not into a row of
         * a few microseconds after this one. */
        if (all_stopping(ws, n))
            while (!all_done(ws, n)) sleep_until(mono_ns() + 1000000);
        /* Every worker stopped, and one kept its last counts: they and what was taken here
         * are the run's last row, from the last boundary to the stop, which run_once writes
         * (a row here without them, and one after it of a few microseconds with them,
         * would show a rate thousands of times too high). Likewise when the workers
         * stopped before this boundary while this wake waited for them: a row up to the
         * boundary would end after the run. */
        if ((all_done(ws, n) && unpublished_left(ws, n)) || all_stopped_before(ws, n, boundary)) {
            interval->open_conns = interval->active_users = interval->queued = 0;
            return;
        }
        /* The gauges are each worker's newest: a late worker may have handed over two slots
         * in this interval (summing both would count its connections twice) or none. */
        interval->open_conns = interval->active_users = interval->queued = 0;
        for (unsigned i = 0; i < n; i++) {
            interval->open_conns += ws[i].gauge_open;
            interval->active_users += ws[i].gauge_users;
            interval->queued += ws[i].gauge_queued;
        }
        now = mono_ns();
        /* The counts run between the boundaries the workers published at, not between
         * the reporter's wake-ups (a few ms after them, and not always equally late). */
        struct interval_rec *r = log_interval(log, p, (double)(last_boundary - start) / 1e9,
                                              (double)(boundary - start) / 1e9, (double)(boundary - last_boundary) / 1e9,
                                              interval);
        if (o->outputs) outputs_interval(o->outputs, r, interval, total);
        if (live) report_live(out, p, r, (unsigned)(log->n - 1), tty);
        if (!stopped_early[0] &&
            threshold_breached(p, total, outputs_watch_results(o->outputs),
                               (double)(now - start) / 1e9 - *measured_from_s, stopped_early, stopped_len))
            atomic_store(&stop_requested, true);
        last_boundary = boundary;
        /* The next wake is after the next boundary of the grid, not only after now: a wake
         * that came more than an interval late (the reporter got no CPU for a while) lands
         * within 2 ms after a boundary, before that boundary's `next`, and the wake at that
         * `next` found the same boundary again: a row of zero length, 0 req/s, in the live
         * rows, the CSV history and the JSON. */
        if (next < boundary + iv + 2000000) next = boundary + iv + 2000000;
        while (next <= now) next += iv;
    }
    stats_reset(interval);
}

int run_setup(const struct plan *p)
{
    char err[PLAN_ERR_LEN];
    if (ring_probe(err, sizeof(err))) {
        fprintf(stderr, "barrage: %s\n", err);
        return 1;
    }
    if (raise_fd_limit((uint64_t)(p->share_connections ? p->pool : p->connections) + 64 + 16ull * p->threads, err,
                       sizeof(err))) {
        fprintf(stderr, "barrage: %s\n", err);
        return 2;
    }
    install_signals();
    return 0;
}

bool run_interrupted(void)
{
    return signals_seen > 0;
}

static double rusage_cpu_s(const struct rusage *r)
{
    return (double)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) + (double)(r->ru_utime.tv_usec + r->ru_stime.tv_usec) / 1e6;
}

/* Adds worker i (of n) to what the client used. */
static void add_client_use(struct client_use *c, const struct worker *w, unsigned i, unsigned n)
{
    /* over the loop's own wall time, not stopped_ns - start_ns: the arrivals a late worker
     * releases at the stop take CPU after stopped_ns (-R far above what it keeps up with) */
    double pct = w->loop_ns ? 100.0 * (double)w->cpu_ns / (double)w->loop_ns : 0;
    if (pct > 100) pct = 100;  /* one thread, one core: above is the two clocks' granularity */
    if (i == 0 || pct > c->worker_busy_max_pct) c->worker_busy_max_pct = pct, c->busiest_worker = i;
    c->worker_busy_mean_pct += pct / n;
    c->waits += w->waits;
    c->kernel_timed += w->kernel_timed;
    c->sends += w->sends;
    c->completions += w->completions;
}

int run_once(const struct plan *p, const struct run_opts *o, struct run_output *out)
{
    unsigned n = p->threads;
    uint32_t nsteps = p->scenario_file ? p->scenario->nstats : 0;  /* step statistics: for a scenario file */
    struct worker *ws = calloc(n, sizeof(*ws));
    struct stats *interval = stats_create(stats_highest_us(p->timeout_ns), nsteps);
    struct interval_log log = {0};
    struct summary *sum = &out->sum;
    *sum = (struct summary){.plan = p, .threads = n};
    out->total = stats_create(stats_highest_us(p->timeout_ns), nsteps);
    out->intervals = NULL;
    out->measured_from_s = 0;
    bool live = o->live && !p->quiet, live_tty = isatty(fileno(report_stream(p)));
    int code = 1;
    if (!ws || !interval || !out->total) goto out_oom;
    for (unsigned i = 0; i < n; i++) {
        ws[i].stats.slot[0] = stats_create(stats_highest_us(p->timeout_ns), nsteps);
        ws[i].stats.slot[1] = stats_create(stats_highest_us(p->timeout_ns), nsteps);
        if (!ws[i].stats.slot[0] || !ws[i].stats.slot[1]) goto out_oom;
    }

    /* Workers never take signals: the reporter turns them into the stop flag. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    struct rusage ru0;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t start = mono_ns();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    sum->start_epoch = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
    if (o->outputs) outputs_begin(o->outputs, sum->start_epoch);
    unsigned started = 0;
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = &ws[i];
        w->plan = p;
        w->id = i;
        w->cpu = p->ncpus ? p->cpus[i % p->ncpus] : i;
        w->nusers = p->connections / n + (i < p->connections % n);
        if (!p->static_program && p->open_loop) {  /* users come with arrivals: at most --max-queue at once */
            uint64_t slots = (p->max_queue + n - 1) / n;
            w->nusers = slots > 65536 ? 65536 : (uint32_t)slots;
        }
        w->nconns = p->share_connections ? p->pool / n + (i < p->pool % n) : w->nusers;
        w->max_requests = p->max_requests ? p->max_requests / n + (i < p->max_requests % n) : 0;
        w->start_ns = start;
        w->end_ns = p->duration_ns ? start + p->duration_ns : 0;
        w->stop = &stop_requested;
        if (worker_start(w)) {
            fprintf(stderr, "barrage: cannot start worker thread %u: %s\n", i, strerror(errno));
            atomic_store(&stop_requested, true);
            break;
        }
        started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (started == n) report_intervals(p, o, ws, n, start, interval, out->total, &log, &out->measured_from_s,
                                        sum->stopped_early, sizeof(sum->stopped_early));
    sum->total = out->total;
    /* interval: empty, or what report_intervals took towards the last row */
    /* The dashboard's line, if one is up, ends before anything else is printed. */
    bool dash_open = live && live_tty && log.n;
    uint64_t stopped = start;
    code = 0;
    for (unsigned i = 0; i < started; i++) {
        struct worker *w = &ws[i];
        worker_join(w);
        if (w->error) {
            if (dash_open) {
                fputc('\n', report_stream(p));
                fflush(report_stream(p));
                dash_open = false;
            }
            fprintf(stderr, "barrage: worker %u: %s\n", i, w->errmsg);
            code = 1;
        }
        /* After the join the slots are ours: the published one, then the current one. Both
         * go into the last interval, but only the current one's gauges: they are the newer. */
        uint64_t open = interval->open_conns, users = interval->active_users, queued = interval->queued;
        collect(w, 1, interval, out->total, 0);
        interval->open_conns = open, interval->active_users = users, interval->queued = queued;
        stats_add(interval, handover_current(&w->stats));
        stats_add(out->total, handover_current(&w->stats));
        sum->in_flight += w->in_flight;
        sum->queued_at_stop += w->queued_at_stop;
        sum->max_open += w->max_open;
        if (!sum->tls_version[0] && w->tls_version[0]) {
            memcpy(sum->tls_version, w->tls_version, sizeof(sum->tls_version));
            memcpy(sum->tls_cipher, w->tls_cipher, sizeof(sum->tls_cipher));
        }
        if (w->stopped_ns > stopped) stopped = w->stopped_ns;
        add_client_use(&sum->client, w, i, started);
    }
    struct rusage ru1;
    getrusage(RUSAGE_SELF, &ru1);
    sum->client.cpu_s = rusage_cpu_s(&ru1) - rusage_cpu_s(&ru0);
    if (started < n) code = 1;
    sum->duration_s = (double)(stopped - start) / 1e9;
    /* The last, partial interval: what was published after the reporter's last look. It
     * is a row however short (a -n run of a millisecond, a worker that published late),
     * so that the rows add up to the totals; a row without results (only requests still
     * in flight at the stop) adds nothing. */
    double last_t = log.n ? log.rec[log.n - 1].t : 0;
    if (interval->ok || interval->failed) {
        double end = sum->duration_s > last_t ? sum->duration_s : last_t;
        struct interval_rec *r = log_interval(&log, p, last_t, end, end - last_t, interval);
        if (o->outputs) outputs_interval(o->outputs, r, interval, out->total);
        if (live) report_live(report_stream(p), p, r, (unsigned)(log.n - 1), live_tty);
        dash_open = live && live_tty;
    }
    if (dash_open) fputc('\n', report_stream(p));
    sum->watch = outputs_watch_results(o->outputs);
    sum->intervals = out->intervals = log.rec;
    sum->nintervals = log.n;
    sum->interrupted = signals_seen > 0;
    log.rec = NULL;
    goto out;

out_oom:
    fprintf(stderr, "barrage: out of memory setting up %u workers\n", n);
out:
    free(log.rec);
    if (ws)
        for (unsigned i = 0; i < n; i++) {
            stats_destroy(ws[i].stats.slot[0]);
            stats_destroy(ws[i].stats.slot[1]);
        }
    free(ws);
    stats_destroy(interval);
    return code;
}

void run_output_free(struct run_output *out)
{
    stats_destroy(out->total);
    free(out->intervals);
    out->total = NULL;
    out->intervals = NULL;
}

int run_load(struct plan *p)
{
    int code = run_setup(p);
    if (code) return code;
    if (p->find_limit) return find_limit(p);
    char err[PLAN_ERR_LEN];
    struct outputs *files = outputs_open(p, err, sizeof(err));
    if (!files) {
        fprintf(stderr, "barrage: %s\n", err);
        return 2;
    }
    struct run_output out;
    code = run_once(p, &(struct run_opts){.live = true, .outputs = files}, &out);
    if (out.total) {
        report_summary(report_stream(p), &out.sum);  /* also with -q, and after a worker failed: what ran counts */
        struct threshold_result res[THRESHOLD_MAX];
        bool passed = summary_thresholds(&out.sum, res) && !out.sum.stopped_early[0];
        if (!passed && !code) code = 99;  /* CI: a threshold failed (README, "Thresholds and grades") */
        if (p->json_path && report_json(p->json_path, &out.sum, err, sizeof(err))) {
            fprintf(stderr, "barrage: %s\n", err);
            code = 1;
        }
        if (outputs_finish(files, &out.sum, err, sizeof(err))) {
            fprintf(stderr, "barrage: %s\n", err);
            code = 1;
        }
    }
    run_output_free(&out);
    outputs_close(files);
    return code;
}
