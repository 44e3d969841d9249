/* Sinks: the live line per interval, the final console summary, the JSON summary.
 * They only read what the reporter merged; none of them runs on a worker. */
#ifndef BARRAGE_REPORT_H
#define BARRAGE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "plan.h"
#include "stats.h"

/* A watched server process (--watch-pid) at the end of an interval. */
struct server_sample {
    bool alive;                  /* false once the process is gone (then the rest is 0) */
    double cpu_pct;              /* CPU time over the interval / its length, 100 = one core */
    double rss_mb;               /* resident set size, MB (10^6 bytes) */
};

/* One reporting interval, as the JSON "intervals" array lists them. */
struct interval_rec {
    double t0, t;                /* seconds since the start: the interval's start and end */
    double target;               /* open loop: mean target rate over it; closed: users wanted */
    double rps;                  /* responses per second */
    uint64_t p50_us, p90_us, p99_us, max_us;
    uint64_t timed;              /* responses timed in it: none, no latency to show (not 0us) */
    uint64_t ok, errors;         /* requests that succeeded / failed in it */
    uint64_t users;              /* open connections at its end */
    struct server_sample server[PLAN_MAX_WATCH];  /* --watch-pid, in the plan's order */
};

/* What --watch-pid found over the whole run, per process (watch.c). */
struct watch_result {
    int pid;
    char comm[32];               /* the process's name (/proc/PID/comm) */
    bool exited;                 /* it went away during the run */
    double rss_start_mb, rss_end_mb, rss_peak_mb;
    double rss_growth_mb;        /* end - start */
    double rss_slope_mb_per_min; /* least-squares slope of RSS over time */
    bool leak_suspected;         /* slope above --leak-threshold */
    double cpu_mean_pct, cpu_max_pct;
};

/* What barrage itself used: a load generator that is short of CPU limits the rate it
 * reports, and this is how a user can tell. */
struct client_use {
    double cpu_s;                /* the process's user + system CPU from the workers' start */
    double worker_busy_max_pct;  /* the busiest worker's CPU in its loop / its loop's time */
    double worker_busy_mean_pct;
    unsigned busiest_worker;
    uint64_t waits;              /* io_uring waits (system calls) of all workers */
    uint64_t completions;        /* completions they handled */
    uint64_t kernel_timed;       /* receives timed from the kernel's arrival time (rx_time.h) */
    uint64_t sends;              /* send operations (requests, TLS flights) of all workers */
};
/* The busiest worker at or above this share of its time is a saturated client. */
#define CLIENT_SATURATED_PCT 90.0

struct summary {
    const struct plan *plan;
    const struct stats *total;   /* every worker, every interval */
    double duration_s;           /* start to the last worker's stop */
    uint64_t in_flight;          /* unanswered when the run stopped */
    uint64_t queued_at_stop;     /* of in_flight: open loop, never got a connection */
    const struct interval_rec *intervals;
    size_t nintervals;
    uint32_t max_open;           /* most connections open at once (sum of workers' peaks) */
    unsigned threads;
    bool interrupted;            /* stopped by a signal */
    char stopped_early[256];     /* --abort-on-fail stopped the run: why; "" otherwise */
    double start_epoch;          /* wall clock at the start, seconds since 1970 */
    const struct watch_result *watch;  /* --watch-pid: plan->nwatch of them; NULL otherwise */
    struct client_use client;
    char tls_version[16];        /* what the first TLS handshake agreed ("" if none) */
    char tls_cipher[64];
};

/* One interval, the row-th of the run (from 0). Off a terminal a table row (and its header
 * every 30 rows); on one, a dashboard line rewritten in place. */
void report_live(FILE *out, const struct plan *p, const struct interval_rec *r, unsigned row, bool tty);
/* Where the live rows and the summary go: stdout, or stderr when a report goes to stdout. */
static inline FILE *report_stream(const struct plan *p)
{
    return p->to_stdout ? stderr : stdout;
}
/* The interval's target (see struct interval_rec) from the plan's shape. */
double interval_target(const struct plan *p, double t0, double t1);
void report_summary(FILE *out, const struct summary *s);
/* Returns 0, or -1 with err set. */
int report_json(const char *path, const struct summary *s, char *err, size_t errlen);

/* Evaluates the plan's thresholds on the totals into res[plan->thresholds.n]; returns true
 * when all passed (or there are none). */
bool summary_thresholds(const struct summary *s, struct threshold_result res[]);
/* Responses per second: complete responses (any status) over the duration. */
double summary_rps(const struct summary *s);
/* barrage's own CPU per request finished (answered or failed), in microseconds. */
double summary_cpu_us_per_request(const struct summary *s);
/* Completions handled per io_uring wait: how well the workers batched. */
double summary_completions_per_wait(const struct summary *s);
/* The busiest worker reached CLIENT_SATURATED_PCT: barrage may have limited the load. */
bool summary_client_saturated(const struct summary *s);
/* Open loop: the mean target rate over the run (scheduled arrivals per second); else 0. */
double summary_target_rps(const struct summary *s);
/* "850us", "1.25ms", "2.50s" */
void format_us(char *buf, size_t len, uint64_t us);
/* A rate with two decimals, or three significant digits below 0.01 ("0.002", never "0.00") */
void format_rate(char *buf, size_t len, double r);

#endif
