/* --watch-pid: a server process's CPU and memory, read from /proc/PID/stat at each interval.
 *
 * One file gives both: utime + stime (fields 14, 15, in clock ticks) and the resident set
 * (field 24, in pages). That rss is the counter /proc/PID/statm's second field and status's
 * VmRSS also print (the mm's file + anon + shmem pages), so statm or status would only add a
 * second read per sample, and status a long text to scan for one line.
 *
 * The file stays open from watch_open() on and is re-read with pread(): the open file is
 * bound to that process, so a pid the kernel hands to a new process after ours exited is
 * never mistaken for it (the read fails with ESRCH instead), and a sample costs one syscall.
 *
 * Nothing is allocated per sample: the RSS trend is a running least-squares fit (struct
 * slope_acc), CPU the ticks at the first and last sample, the rest running maxima. A run of
 * any length keeps the same few numbers (each interval's sample is also in the interval
 * records, rec->server[], for the files). */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void slope_add(struct slope_acc *a, double t, double y)
{
    if (a->n == 0) a->t_first = t;
    a->t_last = t;
    a->n += 1;
    double dt = t - a->mean_t;
    a->mean_t += dt / a->n;
    a->mean_y += (y - a->mean_y) / a->n;
    a->m2_t += dt * (t - a->mean_t);  /* old deviation times new: Welford */
    a->c_ty += dt * (y - a->mean_y);
}

double slope_value(const struct slope_acc *a)
{
    return a->n >= 2 && a->m2_t > 0 ? a->c_ty / a->m2_t : NAN;
}

double watch_slope(const double *t, const double *y, size_t n)
{
    struct slope_acc a = {0};
    for (size_t i = 0; i < n; i++) slope_add(&a, t[i], y[i]);
    return slope_value(&a);
}

struct proc {
    int pid, fd;
    bool gone;                   /* exited (or a zombie), or /proc stopped answering */
    char comm[sizeof(((struct watch_result *)0)->comm)];
    uint64_t ticks0, ticks;      /* utime + stime at watch_open(), at the last sample */
    uint64_t t0_ns, t_ns;        /* when they were read */
    unsigned samples;            /* taken while it was alive, after watch_open()'s */
    unsigned windows;            /* CPU windows closed: samples since the last one span min_span_s */
    uint64_t win_ticks, win_ns;  /* where the open window began */
    double rss_start, rss_end, rss_peak;
    struct slope_acc rss;        /* MB over seconds since watch_open(): the samples under load */
    double cpu_max;              /* busiest window */
};

struct watch {
    const struct plan *plan;
    unsigned n;
    double tck, page_mb;         /* clock ticks per second; MB per page */
    double min_span_s;           /* the shortest window cpu_max is taken over */
    uint64_t open_ns;
    struct proc p[PLAN_MAX_WATCH];
    struct watch_result res[PLAN_MAX_WATCH];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One reading of /proc/PID/stat: utime + stime in ticks, the resident pages, the name (when
 * comm is not NULL). Returns 0, -ESRCH when the process is gone or a zombie, -EINVAL when the
 * text is not understood, or the read's -errno. */
static int read_stat(int fd, uint64_t *ticks, uint64_t *rss_pages, char *comm, size_t commlen)
{
    char buf[1024];
    ssize_t got = pread(fd, buf, sizeof(buf) - 1, 0);
    if (got < 0) return -errno;
    buf[got] = '\0';
    /* "pid (comm) S ppid ...": comm may hold spaces and ')', so the last ')' ends it */
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close || close < open || close[1] != ' ') return -EINVAL;
    if (comm) {
        size_t len = (size_t)(close - open - 1), i;
        if (len >= commlen) len = commlen - 1;
        for (i = 0; i < len; i++) {
            char c = open[1 + i];
            comm[i] = (unsigned char)c < 0x20 || c == 0x7f ? '?' : c;  /* printed as is later */
        }
        comm[i] = '\0';
    }
    char state = close[2];
    if (state == 'Z' || state == 'X' || state == 'x') return -ESRCH;
    /* fields 4.. after the state; keep 14 (utime), 15 (stime), 24 (rss) */
    const char *p = close + 3;
    uint64_t utime = 0, stime = 0, rss = 0;
    for (int field = 4; field <= 24; field++) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno) return -EINVAL;
        if (field == 14) utime = (uint64_t)v;
        else if (field == 15) stime = (uint64_t)v;
        else if (field == 24) rss = v > 0 ? (uint64_t)v : 0;
        p = end;
    }
    *ticks = utime + stime;
    *rss_pages = rss;
    return 0;
}

/* "--watch-pid 123: no such process", or why /proc/123/stat cannot be read. */
static void open_error(int pid, int e, char *err, size_t errlen)
{
    if (e == ENOENT || e == ESRCH) {
        /* /proc mounted with hidepid= hides other users' processes: kill() still tells */
        if (kill(pid, 0) && errno == EPERM)
            snprintf(err, errlen, "--watch-pid %d: permission denied (another user's process, hidden in /proc)", pid);
        else snprintf(err, errlen, "--watch-pid %d: no such process", pid);
    } else if (e == EACCES || e == EPERM) {
        snprintf(err, errlen, "--watch-pid %d: cannot read /proc/%d/stat: permission denied", pid, pid);
    } else if (e == EINVAL) {
        snprintf(err, errlen, "--watch-pid %d: /proc/%d/stat is not in the expected format", pid, pid);
    } else {
        snprintf(err, errlen, "--watch-pid %d: cannot read /proc/%d/stat: %s", pid, pid, strerror(e));
    }
}

struct watch *watch_open(const struct plan *p, char *err, size_t errlen)
{
    struct watch *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->plan = p;
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    w->tck = tck > 0 ? (double)tck : 100;
    w->page_mb = (double)(page > 0 ? page : 4096) / 1e6;
    /* half an interval (the run's last, partial one is left out), and never under
     * WATCH_CPU_MIN_TICKS: the kernel counts CPU time in ticks (10 ms at 100 Hz), so at
     * --interval 10ms one interval reads 0%, 100% or 200% of a single-threaded server */
    w->min_span_s = (double)p->interval_ns / 2e9;
    if (w->min_span_s < WATCH_CPU_MIN_TICKS / w->tck) w->min_span_s = WATCH_CPU_MIN_TICKS / w->tck;
    for (unsigned i = 0; i < PLAN_MAX_WATCH; i++) w->p[i].fd = -1;
    for (unsigned i = 0; i < p->nwatch && i < PLAN_MAX_WATCH; i++) {
        struct proc *pr = &w->p[w->n++];
        pr->pid = p->watch_pids[i];
        char path[32];
        snprintf(path, sizeof(path), "/proc/%d/stat", pr->pid);
        pr->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (pr->fd < 0) {
            open_error(pr->pid, errno, err, errlen);
            goto err;
        }
        uint64_t pages;
        int rc = read_stat(pr->fd, &pr->ticks, &pages, pr->comm, sizeof(pr->comm));
        if (rc == -ESRCH && pr->comm[0]) {
            snprintf(err, errlen, "--watch-pid %d: %s has exited (a zombie its parent has not reaped)", pr->pid,
                     pr->comm);
            goto err;
        }
        if (rc) {
            open_error(pr->pid, -rc, err, errlen);
            goto err;
        }
        pr->win_ns = pr->t_ns = pr->t0_ns = now_ns();
        pr->win_ticks = pr->ticks0 = pr->ticks;
        pr->rss_start = pr->rss_end = pr->rss_peak = (double)pages * w->page_mb;
    }
    w->open_ns = now_ns();
    return w;
err:
    watch_close(w);
    return NULL;
}

void watch_sample(struct watch *w, struct interval_rec *rec)
{
    for (unsigned i = 0; i < w->n; i++) {
        struct proc *pr = &w->p[i];
        struct server_sample *s = &rec->server[i];
        *s = (struct server_sample){.alive = false};
        uint64_t ticks, pages;
        if (pr->gone) continue;
        if (read_stat(pr->fd, &ticks, &pages, NULL, 0)) {
            pr->gone = true;  /* exited, or unreadable from now on: the same to the report */
            continue;
        }
        uint64_t t = now_ns();
        double span = (double)(t - pr->t_ns) / 1e9;
        double cpu = span > 0 && ticks > pr->ticks ? (double)(ticks - pr->ticks) / w->tck / span * 100 : 0;
        double rss = (double)pages * w->page_mb;
        *s = (struct server_sample){.alive = true, .cpu_pct = cpu, .rss_mb = rss};
        pr->ticks = ticks > pr->ticks ? ticks : pr->ticks;
        double win = (double)(t - pr->win_ns) / 1e9;
        if (win >= w->min_span_s) {  /* the samples since the last window: one more */
            double win_cpu = (double)(pr->ticks - pr->win_ticks) / w->tck / win * 100;
            if (!pr->windows++ || win_cpu > pr->cpu_max) pr->cpu_max = win_cpu;
            pr->win_ticks = pr->ticks;
            pr->win_ns = t;
        }
        pr->t_ns = t;
        pr->samples++;
        pr->rss_end = rss;
        if (rss > pr->rss_peak) pr->rss_peak = rss;
        slope_add(&pr->rss, (double)(t - w->open_ns) / 1e9, rss);
    }
}

const struct watch_result *watch_results(struct watch *w)
{
    if (!w) return NULL;
    for (unsigned i = 0; i < w->n; i++) {
        const struct proc *pr = &w->p[i];
        struct watch_result *r = &w->res[i];
        double slope = NAN;
        if (pr->rss.n >= WATCH_SLOPE_MIN_SAMPLES && pr->rss.t_last - pr->rss.t_first >= WATCH_SLOPE_MIN_SPAN_S)
            slope = slope_value(&pr->rss) * 60;
        double cpu_s = (double)(pr->ticks - pr->ticks0) / w->tck, span_s = (double)(pr->t_ns - pr->t0_ns) / 1e9;
        *r = (struct watch_result){
            .pid = pr->pid,
            .exited = pr->gone,
            .rss_start_mb = pr->rss_start,
            .rss_end_mb = pr->rss_end,
            .rss_peak_mb = pr->rss_peak,
            .rss_growth_mb = pr->rss_end - pr->rss_start,
            .rss_slope_mb_per_min = slope,
            .leak_suspected = !isnan(slope) && slope > w->plan->leak_mb_per_min,
            .cpu_mean_pct = pr->samples && span_s > 0 ? cpu_s / span_s * 100 : NAN,
            /* no window yet (a run shorter than one): the whole run's */
            .cpu_max_pct = !pr->samples ? NAN : pr->windows ? pr->cpu_max : span_s > 0 ? cpu_s / span_s * 100 : 0,
        };
        memcpy(r->comm, pr->comm, sizeof(r->comm));
    }
    return w->res;
}

void watch_close(struct watch *w)
{
    if (!w) return;
    for (unsigned i = 0; i < w->n; i++)
        if (w->p[i].fd >= 0) close(w->p[i].fd);
    free(w);
}
