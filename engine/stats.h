/* Counters and histograms of one worker for one interval, and their merge.
 *
 * A worker records into one struct stats at a time, never shared; the reporter
 * adds finished ones into its aggregates (see worker.h for the hand-over).
 * Ownership: stats_create() allocates the struct and its histograms;
 * stats_destroy() frees them (accepts NULL).
 */
#ifndef BARRAGE_STATS_H
#define BARRAGE_STATS_H

#include <stdint.h>

#include "hist.h"

/* A status line's code is three digits, 100-999. 600-999 are invalid (RFC 9110 section 15):
 * each is still counted under its own code, and never as ok. */
#define STATUS_CODES 1000

/* The highest value the histograms of a run track, in µs. A latency can reach twice the
 * timeout: in open loop it runs from the schedule, through up to --timeout of waiting for a
 * connection and up to --timeout of service; and a timeout fires up to a twentieth late. */
static inline uint64_t stats_highest_us(uint64_t timeout_ns)
{
    return timeout_ns / 1000 * 2 + timeout_ns / 1000 / 8;
}

/* ERR_DROPPED: open loop only, a scheduled request found the queue for connections full.
 * ERR_TLS: the TLS handshake or a record failed (reasons in tls_reason).
 * ERR_CHECK: a scenario step's check or capture failed (reasons per step). */
enum err_class { ERR_CONNECT, ERR_TIMEOUT, ERR_RESET, ERR_PARSE, ERR_STATUS, ERR_DROPPED, ERR_TLS, ERR_CHECK, ERR__COUNT };
/* Why requests failed as resets (errors[ERR_RESET]), each counted once per request. */
enum reset_cause {
    RESET_MID_RESPONSE,     /* the server closed with a response partly read */
    RESET_UNANSWERED,       /* the server closed (FIN) before answering */
    RESET_BY_PEER,          /* ECONNRESET or EPIPE: the server reset the connection */
    RESET_SOCKET_ERROR,     /* another error on a receive or send */
    RESET_CLOSE_PIPELINED,  /* pipelined behind a response that said Connection: close */
    RESET_UNREADABLE,       /* our side: a receive buffer that could not be unwrapped */
    RESET__COUNT
};
#define STATS_TLS_REASONS 8     /* distinct TLS failure reasons kept; more count as the last */
#define STATS_STEP_REASONS 8    /* distinct failure reasons kept per scenario step name */
#define STATS_REASON_LEN 120     /* holds a TLS reason whole (TLS_ERROR_FIT, worker.c) */

/* A failure reason and how often it happened; tables of them keep the first distinct
 * reasons and count the rest under "other reasons" in the last entry. */
struct reason_count {
    char text[STATS_REASON_LEN];
    uint64_t count;
};

/* One scenario step name: its requests, failures and latency. */
struct step_stats {
    uint64_t ok, failed;        /* requests that passed / failed (any error class) */
    uint64_t body_bytes;        /* response bodies, as for the totals */
    struct hist *latency;       /* µs, as for the totals */
    struct reason_count reasons[STATS_STEP_REASONS];
};
#define STATS_ERRNO_MAX 160     /* connect failures are also counted per errno below this */
#define STATS_PARSE_REASONS 16  /* per enum http_error */

struct stats {
    uint64_t boundary;          /* the last interval boundary it covers (1 = start + interval) */
    uint64_t issued;            /* requests handed to a connection (or a connect attempt for one) */
    uint64_t ok;                /* complete responses with a status below 400 */
    uint64_t failed;            /* sum of errors[] */
    uint64_t errors[ERR__COUNT];
    uint64_t status[STATUS_CODES]; /* complete responses by status code */
    uint64_t connect_errno[STATS_ERRNO_MAX];
    uint64_t parse_reason[STATS_PARSE_REASONS];
    uint64_t reset_cause[RESET__COUNT];  /* they add up to errors[ERR_RESET] */
    uint64_t bytes_sent, bytes_received;
    uint64_t body_bytes;        /* bodies of complete responses, decoded (--csv: Average Content Size) */
    uint64_t conns_opened;      /* connects that succeeded */
    uint64_t closed_by_server;  /* server closed a connection (idle, reset, Connection: close) */
    uint64_t closed_by_client;  /* --requests-per-conn / --no-keepalive / errors on our side (worker.c enum closer) */
    uint64_t closed_unsolicited; /* of those: the server sent bytes no request asked for */
    /* Requests sent on a connection that had carried one before. Signed: a request sent
     * again on a new connection (the server closed the old one unread) gives back the
     * reuse counted at its first send, in whatever interval that happens; read the sum
     * through stats_reused(). */
    int64_t reused_requests;
    uint64_t retried_requests;  /* re-sent after the server closed a reused connection unread */
    uint64_t handshakes_full, handshakes_resumed;  /* TLS handshakes completed */
    struct reason_count tls_reason[STATS_TLS_REASONS];
    uint64_t open_conns;        /* gauge: open connections when the slot was published */
    uint64_t active_users;      /* gauge: users (connections) the shape wants now */
    uint64_t queued;            /* gauge, open loop: requests waiting for a connection */
    uint64_t timeouts_queued;   /* of errors[ERR_TIMEOUT]: never got a connection in time */
    uint64_t arrivals_done;     /* open loop with a scenario: arrivals whose user has ended (its
                                   task done, or stopped on a failure) */
    struct hist *latency;       /* µs from intended start to the last byte */
    struct hist *ttfb;          /* µs from send to the first response byte */
    struct hist *connect;       /* µs from connect() to established */
    struct hist *handshake_full;     /* µs from established to the TLS handshake's end */
    struct hist *handshake_resumed;
    /* open loop only (empty in closed loop, where latency is the service time) */
    struct hist *service;       /* µs from the actual send to the last byte */
    struct hist *pool_wait;     /* µs from the intended start to the actual send */
    struct hist *schedule_lag;  /* µs from the intended start until the worker saw it due */
    struct hist *age_at_stop;   /* µs since the intended start of requests in flight at stop */
    uint32_t nsteps;            /* scenario: per step name (scenario.stat_names); 0 otherwise */
    struct step_stats *steps;
};

/* nsteps: scenario step names to keep statistics for (0: none). */
struct stats *stats_create(uint64_t highest_us, uint32_t nsteps);
void stats_destroy(struct stats *s);
static inline uint64_t stats_reused(const struct stats *s)
{
    return s->reused_requests > 0 ? (uint64_t)s->reused_requests : 0;
}
void stats_reset(struct stats *s);
/* dst += src (the gauges open_conns, active_users and queued are summed too: callers add one
 * slot per worker, and keep only the newer of two slots' gauges from one worker). */
void stats_add(struct stats *dst, const struct stats *src);

const char *err_class_name(enum err_class e);
/* Responses, whatever their status or a scenario's checks said: what req/s counts. */
static inline uint64_t stats_answered(const struct stats *t)
{
    return t->ok + t->errors[ERR_STATUS] + t->errors[ERR_CHECK];
}
/* "reset: connection closed mid-response": as the summary, the CSV and the steps say it */
const char *reset_cause_str(enum reset_cause c);
/* Counts n failures under their reason in a table of `len` (cold: failures only). */
void stats_reason(struct reason_count *table, unsigned len, const char *reason, uint64_t n);
static inline void stats_tls_reason(struct stats *s, const char *reason, uint64_t n)
{
    stats_reason(s->tls_reason, STATS_TLS_REASONS, reason, n);
}

#endif
