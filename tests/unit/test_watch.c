/* --watch-pid (watch.c): the least-squares slope, the refusals at open (no such process, a
 * zombie), CPU and RSS sampled from a real process (this one: busy, then allocating), the
 * rule that a slope needs 3 samples over 1.5 s, the leak verdict, a name with ") (" in it,
 * and a process that exits during the run (reaped or left a zombie). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "watch.h"

static struct plan plan;  /* large: not on the stack */

static bool near(double a, double b, double tol) { return fabs(a - b) <= tol; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
}

static void watch_only(int pid)
{
    memset(&plan, 0, sizeof(plan));
    plan.watch_pids[0] = pid;
    plan.nwatch = 1;
    plan.interval_ns = 1000000000;
    plan.leak_mb_per_min = 10;
}

/* /proc/PID/stat's state letter, or 0 once it cannot be read. */
static char proc_state(int pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *close = strrchr(buf, ')');
    return close && close[1] == ' ' ? close[2] : 0;
}

static void slope_fits(void)
{
    double t[] = {0, 1, 2, 3, 4}, y[] = {5, 7, 9, 11, 13};
    CHECK(near(watch_slope(t, y, 5), 2, 1e-12));
    double noisy[] = {5, 8, 8, 12, 12};  /* 2 a step give or take: the fit says 1.8 */
    CHECK(near(watch_slope(t, noisy, 5), 1.8, 1e-12));
    double down[] = {100, 90, 80, 70, 60};
    CHECK(near(watch_slope(t, down, 5), -10, 1e-12));
    double flat[] = {3, 3, 3, 3, 3};
    CHECK(watch_slope(t, flat, 5) == 0);
    CHECK(isnan(watch_slope(t, y, 1)) && isnan(watch_slope(t, y, 0)));
    double same_t[] = {2, 2, 2};
    CHECK(isnan(watch_slope(same_t, y, 3)));
    /* a day in, at 1 s a sample: no loss of precision from the large t */
    static double bt[86400], by[86400];
    for (int i = 0; i < 86400; i++) bt[i] = 1e5 + i, by[i] = 50 + 0.001 * i + (i % 2 ? 0.5 : -0.5);
    CHECK(near(watch_slope(bt, by, 86400), 0.001, 1e-8));
    /* the running form gives the same as the arrays, and keeps the span */
    struct slope_acc a = {0};
    for (int i = 0; i < 5; i++) slope_add(&a, t[i], noisy[i]);
    CHECK(near(slope_value(&a), 1.8, 1e-12) && a.n == 5 && a.t_first == 0 && a.t_last == 4);
}

static void refuses_missing_and_zombies(void)
{
    char err[256] = "";
    pid_t gone = fork();
    if (gone == 0) _exit(0);
    waitpid(gone, NULL, 0);  /* reaped: its pid is free */
    watch_only(gone);
    CHECK(watch_open(&plan, err, sizeof(err)) == NULL);
    char want[64];
    snprintf(want, sizeof(want), "--watch-pid %d: no such process", (int)gone);
    CHECK(!strcmp(err, want));

    pid_t zombie = fork();
    if (zombie == 0) _exit(0);
    for (int i = 0; i < 500 && proc_state(zombie) != 'Z'; i++) sleep_s(0.01);
    CHECK(proc_state(zombie) == 'Z');
    watch_only(zombie);
    err[0] = 0;
    CHECK(watch_open(&plan, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "--watch-pid") && strstr(err, "has exited") && !strchr(err, '\n'));
    waitpid(zombie, NULL, 0);
    watch_close(NULL);
}

/* Busy for `s` seconds of wall time. */
static void spin(double s)
{
    volatile unsigned long x = 0;
    for (double end = now_s() + s; now_s() < end;)
        for (int i = 0; i < 100000; i++) x += (unsigned long)i;
}

/* n MB, every page touched (so resident). */
static char *grow(size_t mb)
{
    char *p = malloc(mb * 1000000);
    if (p) memset(p, 1, mb * 1000000);
    return p;
}

static void samples_this_process(void)
{
    watch_only(getpid());
    char err[256] = "";
    struct watch *w = watch_open(&plan, err, sizeof(err));
    CHECK(w != NULL);
    if (!w) {
        printf("  %s\n", err);
        return;
    }
    struct interval_rec rec[3];
    memset(rec, 0, sizeof(rec));
    spin(0.6);
    char *a = grow(30);
    watch_sample(w, &rec[0]);
    CHECK(rec[0].server[0].alive);
    CHECK(rec[0].server[0].cpu_pct > 20 && rec[0].server[0].cpu_pct < 150);  /* one busy thread: ~100 */
    const struct watch_result *r = watch_results(w);
    CHECK(r && r->pid == getpid() && !r->exited && !strcmp(r->comm, "test_watch"));
    CHECK(r->rss_growth_mb >= 28 && near(r->rss_end_mb, rec[0].server[0].rss_mb, 1e-9));
    CHECK(r->rss_end_mb - r->rss_start_mb == r->rss_growth_mb && r->rss_peak_mb >= r->rss_end_mb);
    CHECK(r->cpu_mean_pct > 20 && near(r->cpu_max_pct, rec[0].server[0].cpu_pct, 1e-9));
    CHECK(isnan(r->rss_slope_mb_per_min) && !r->leak_suspected);  /* one sample */

    /* three samples but within 1.5 s: still no slope */
    struct watch *quick = watch_open(&plan, err, sizeof(err));
    CHECK(quick != NULL);
    if (quick) {
        struct interval_rec q;
        for (int i = 0; i < 3; i++) watch_sample(quick, &q);
        const struct watch_result *qr = watch_results(quick);
        CHECK(isnan(qr->rss_slope_mb_per_min) && !qr->leak_suspected);
        /* short intervals only: their busiest counts as the max */
        CHECK(!isnan(qr->cpu_max_pct) && !isnan(qr->cpu_mean_pct));
        watch_close(quick);
    }

    /* 30 MB every 0.8 s: 2250 MB/min, a leak */
    sleep_s(0.8);
    char *b = grow(30);
    watch_sample(w, &rec[1]);
    r = watch_results(w);
    CHECK(isnan(r->rss_slope_mb_per_min));  /* two samples */
    CHECK(rec[1].server[0].cpu_pct < rec[0].server[0].cpu_pct);  /* mostly asleep */
    sleep_s(0.8);
    char *c = grow(30);
    watch_sample(w, &rec[2]);
    r = watch_results(w);
    CHECK(r->rss_growth_mb >= 85 && r->rss_peak_mb >= r->rss_start_mb + 85);
    CHECK(r->rss_slope_mb_per_min > 1000 && r->rss_slope_mb_per_min < 4000);
    CHECK(r->leak_suspected);
    CHECK(r->cpu_mean_pct < r->cpu_max_pct);  /* the busy interval is the max, the sleeps pull the mean down */
    plan.leak_mb_per_min = 1e6;
    CHECK(!watch_results(w)->leak_suspected);
    free(a), free(b), free(c);
    watch_close(w);
}

/* At --interval 5ms the kernel's CPU ticks (10 ms at 100 Hz) make one interval read 0%,
 * 200% or more of a single busy thread: the busiest is taken over 200 ms windows instead
 * (it said 199.8% for a single-threaded server at --interval 10ms). */
static void cpu_max_short_intervals(void)
{
    watch_only(getpid());
    plan.interval_ns = 5000000;
    char err[256] = "";
    struct watch *w = watch_open(&plan, err, sizeof(err));
    CHECK(w != NULL);
    if (!w) {
        printf("  %s\n", err);
        return;
    }
    struct interval_rec rec;
    for (int i = 0; i < 120; i++) {  /* 0.6 s, one thread busy */
        spin(0.005);
        watch_sample(w, &rec);
    }
    const struct watch_result *r = watch_results(w);
    CHECK(r->cpu_max_pct > 20 && r->cpu_max_pct < 130);
    if (!(r->cpu_max_pct < 130)) printf("  cpu_max_pct %.1f for one busy thread\n", r->cpu_max_pct);
    CHECK(r->cpu_mean_pct > 20 && r->cpu_mean_pct <= r->cpu_max_pct + 1e-9);
    watch_close(w);

    /* a run shorter than a window: the max is its mean */
    plan.interval_ns = 1000000;
    w = watch_open(&plan, err, sizeof(err));
    CHECK(w != NULL);
    if (!w) return;
    for (int i = 0; i < 3; i++) {
        spin(0.001);
        watch_sample(w, &rec);
    }
    r = watch_results(w);
    CHECK(!isnan(r->cpu_max_pct) && near(r->cpu_max_pct, r->cpu_mean_pct, 1e-9));
    watch_close(w);
}

/* A child named with the characters that trip a naive /proc/PID/stat parser, which exits
 * during the run: reaped (ESRCH on the open file) or not (a zombie). */
static void process_exits(bool reap)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_NAME, "x) y (z");
        char *keep = grow(20);  /* resident until it dies */
        (void)!write(fds[1], "r", 1);
        for (;;) pause();
        free(keep);
    }
    char byte;
    CHECK(read(fds[0], &byte, 1) == 1);
    close(fds[0]);
    close(fds[1]);
    watch_only(child);
    char err[256] = "";
    struct watch *w = watch_open(&plan, err, sizeof(err));
    CHECK(w != NULL);
    if (!w) {
        printf("  %s\n", err);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        return;
    }
    struct interval_rec rec;
    watch_sample(w, &rec);
    CHECK(rec.server[0].alive && rec.server[0].rss_mb >= 20);
    const struct watch_result *r = watch_results(w);
    CHECK(!strcmp(r->comm, "x) y (z") && !r->exited && r->rss_end_mb >= 20);
    double alive_rss = r->rss_end_mb;
    kill(child, SIGKILL);
    if (reap) waitpid(child, NULL, 0);
    else
        for (int i = 0; i < 500 && proc_state(child) != 'Z'; i++) sleep_s(0.01);
    memset(&rec, 0xff, sizeof(rec));
    watch_sample(w, &rec);
    CHECK(!rec.server[0].alive && rec.server[0].rss_mb == 0 && rec.server[0].cpu_pct == 0);
    watch_sample(w, &rec);  /* and stays gone */
    CHECK(!rec.server[0].alive);
    r = watch_results(w);
    CHECK(r->exited && r->rss_end_mb == alive_rss && !isnan(r->cpu_mean_pct));
    watch_close(w);
    if (!reap) waitpid(child, NULL, 0);
}

static void exits_reaped(void) { process_exits(true); }
static void exits_as_zombie(void) { process_exits(false); }

int main(void)
{
    prctl(PR_SET_NAME, "test_watch");  /* under ASan too, whatever the binary is called */
    RUN(slope_fits);
    RUN(refuses_missing_and_zombies);
    RUN(samples_this_process);
    RUN(cpu_max_short_intervals);
    RUN(exits_reaped);
    RUN(exits_as_zombie);
    CHECK_EXIT();
}
