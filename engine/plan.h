/* The plan of a run: everything decided before the first request, immutable after.
 *
 * cli_parse() fills a struct plan from argv; plan_prepare() compiles the program (a
 * scenario file, or the quick mode's one request as a one-step scenario), resolves the
 * target and, for a static program, pre-renders the request bytes. Workers only read it. Ownership: the plan owns
 * every buffer it points to; plan_free() releases them.
 */
#ifndef BARRAGE_PLAN_H
#define BARRAGE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "shape.h"
#include "slo.h"
#include "threshold.h"
#include "tls.h"

#define BARRAGE_VERSION "0.1.0"
#define PLAN_MAX_HEADERS 64
#define PLAN_ERR_LEN 512
#define PLAN_MAX_WATCH 4
#define PLAN_MAX_TAGS 64          /* names in --tags, in --exclude-tags */
#define PLAN_TAGS_BYTES 1024      /* the text of --tags, of --exclude-tags */

/* "Basic " and the base64 of a user:password of at most URL_USERINFO_MAX bytes, decoded */
#define URL_USERINFO_MAX 512
#define URL_AUTH_MAX (6 + (URL_USERINFO_MAX + 3) / 3 * 4 + 1)

struct url {
    char scheme[8];          /* "http" or "https" */
    bool tls;                /* https */
    char host[256];          /* without brackets for IPv6 */
    uint16_t port;
    char path[4096];         /* path and query, at least "/" */
    bool ipv6_literal;
    char zone[64];           /* an IPv6 literal's zone ([fe80::1%25eth0]: "eth0"), "" if none;
                                used to connect, never sent (RFC 6874) */
    char basic_auth[URL_AUTH_MAX];  /* "Basic ..." from the URL's user:password@ ("": none) */
};

struct plan {
    /* from the command line */
    unsigned threads;          /* 0 until plan_prepare(): one per usable CPU */
    uint32_t connections;
    uint64_t duration_ns;      /* 0: no time limit (then max_requests > 0) */
    uint64_t max_requests;     /* 0: no count limit */
    uint64_t timeout_ns;
    uint64_t interval_ns;
    uint32_t pipeline;         /* requests in flight per connection, >= 1 */
    uint32_t requests_per_conn;/* 0: unlimited */
    bool keepalive;
    bool quiet;
    const char *method;
    const char *headers[PLAN_MAX_HEADERS];
    unsigned nheaders;
    char *body;                /* owned */
    size_t body_len;
    char *json_path;           /* owned; NULL: no JSON */
    /* The report written to stdout instead of a file (`-`, or this process's stdout; at
     * most one): it alone goes there, the live rows and the summary to stderr (plan_prepare). */
    enum { TO_STDOUT_NONE, TO_STDOUT_JSON, TO_STDOUT_HTML, TO_STDOUT_HDR_LOG } to_stdout;
    bool status_ok[600];       /* statuses counted as ok (--expect-status; default 100-399); for a
                                  static program, plan_prepare() sets it from the step.
                                  Read through plan_status_ok(): a code may reach 999 */
    struct url url;
    char *url_text;            /* owned; as given, for reports (credentials masked) */
    const char *url_arg;       /* the URL argument (argv); NULL with a scenario's own target */
    struct tls_config tls;     /* https: --insecure, --cacert ... (strings point into argv) */

    /* load model (see docs/DESIGN.md, "Load models") */
    bool open_loop;            /* -R / --open: requests arrive on a schedule, -c is the pool */
    bool shaped;               /* the target follows `shape` (users, or req/s when open_loop) */
    struct shape shape;        /* owned; open loop without a shape: constant -R */
    double rate;               /* -R: requests per second in total */
    bool poisson;              /* --arrival poisson: exponential gaps */
    uint64_t max_queue;        /* open loop: requests waiting for a connection, all workers */
    bool find_limit;           /* --find-limit: run steps, search the breaking point */
    bool limit_closed;         /* --closed: the search steps users, not the rate */
    uint64_t step_ns;          /* --step-duration */
    double start_load, max_load;  /* --start-rate / --max-rate (or users with --closed) */
    struct slo slo;            /* --slo */
    bool slo_set;
    struct threshold_set thresholds; /* --threshold (README, "Thresholds and grades") */
    bool abort_on_fail;        /* --abort-on-fail: stop the run when a threshold fails */

    /* report files and the watched server (README, "Reports"); strings point into argv */
    const char *csv_prefix;    /* --csv PREFIX: PREFIX_stats.csv, _stats_history.csv, _failures.csv */
    const char *hdr_log_path;  /* --hdr-log FILE: HdrHistogram interval log */
    const char *html_path;     /* --html FILE: self-contained HTML report */
    int watch_pids[PLAN_MAX_WATCH];  /* --watch-pid PID (repeatable) */
    unsigned nwatch;
    double leak_mb_per_min;    /* --leak-threshold: RSS slope that warns of a leak (default 10) */

    /* scenario (-s FILE, docs/SCENARIOS.md); strings point into argv */
    const char *scenario_file; /* NULL: the quick mode (one URL) */
    const char *tags;          /* --tags a,b (checked: see cli.c's tag_list_problem) */
    const char *exclude_tags;  /* --exclude-tags a,b */
    const char *user_class;    /* --user NAME */
    bool timeout_set;          /* --timeout was given (it overrides the file's) */
    bool share_connections;    /* --share-connections: users share a pool of `pool` connections */
    uint32_t pool;             /* with share_connections: connections in all (-c is the users) */
    struct scenario *scenario; /* owned, by plan_prepare(): the program, from scenario_file or
                                  (the quick mode) from the one request above, quick_program.c */
    bool latency_from_wait;    /* scenario users sharing connections (--find-limit steps): a
                                  request's latency runs from when its user began to wait for a
                                  connection, as in the quick mode's open loop, not from its send */
    uint32_t *class_of;        /* owned: the class of each run-wide user (scenario) */

    /* derived by plan_prepare() */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    bool spread_sources;       /* IPv4 loopback target: bind sources across 127.0.0.0/8 */
    bool loopback_reno;        /* loopback target: sockets use Reno congestion control (open_socket) */
    bool static_program;       /* the program is one static step (scenario->static_only) without
                                  --share-connections: the workers send the pre-rendered `request`,
                                  pipelined, instead of running users; the rest of this block is
                                  that step's, and set only then */
    bool no_body_response;     /* its method is HEAD */
    bool idempotent;           /* safe to re-send after a keep-alive race (RFC 9110 9.2.2) */
    char *request;             /* owned: `pipeline` back-to-back copies of its request */
    size_t request_len;        /* length of one copy */
    uint32_t max_connecting;   /* connects in progress per worker */
    unsigned cpus[1024];       /* CPU each worker is pinned to */
    unsigned ncpus;
};

enum cli_result { CLI_RUN, CLI_EXIT_OK, CLI_EXIT_USAGE };

/* Formats a one-line message into err; returns -1, for `return plan_error(...)`. */
int plan_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fills *p from argv. On CLI_EXIT_USAGE err holds a one-line message. */
enum cli_result cli_parse(struct plan *p, int argc, char **argv, char *err, size_t errlen);
void cli_usage(FILE *out);

/* Parses "500ms", "10s", "2m", "1h", "1.5s", "1m30s", or a plain number of seconds
 * (shape_parse_duration's syntax). Returns 0 and sets *ns, or -1. */
int parse_duration(const char *s, uint64_t *ns);
/* Parses "200-299,404" into ok[100..599]. Returns 0, or -1. */
int parse_status_list(const char *s, bool ok[600]);
/* Parses a positive rate "0.5", "20000", "20k". Returns 0, or -1. */
int parse_rate(const char *s, double *out);
/* Parses a memory growth rate "10", "10MB/min", "500KB/min", "1GB/h" into MB per minute. */
int parse_mb_per_min(const char *s, double *out);
/* Parses a non-negative integer with optional k/K (1000) or m/M suffix. */
int parse_count(const char *s, uint64_t *out);
/* A copy of a URL for reports, with any user:password@ masked (malloc'd). */
char *url_for_reports(const char *url);
/* Parses http[s]://host[:port][/path]. Returns 0, or -1 with err set. */
int url_parse(const char *text, struct url *u, char *err, size_t errlen);

struct addrinfo;
/* Of getaddrinfo()'s answer, the address to load: IPv4 first; of several, the first that
 * accepts a TCP connection within wait_ms (else the first). */
const struct addrinfo *plan_pick_address(const struct addrinfo *res, int wait_ms);

/* Loads the scenario (if any), resolves the target and builds the request bytes.
 * Returns 0, or -1 with err set. */
int plan_prepare(struct plan *p, char *err, size_t errlen);
void plan_free(struct plan *p);

/* Whether a response's status counts as ok. Codes 600-999 are invalid and never are. */
static inline bool plan_status_ok(const struct plan *p, unsigned code)
{
    return code < 600 && p->status_ok[code];
}

#endif
