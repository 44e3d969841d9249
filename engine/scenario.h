/* A user scenario compiled for the workers (docs/SCENARIOS.md): classes of users, each
 * with on_start steps and weighted tasks of steps; every string of a request is a
 * template (template.h), every capture and check compiled (extract.h).
 *
 * Built once, before the run, by scenario_load() from a YAML file (libfyaml), or for the
 * quick mode (one URL) by quick_program() as one class, one task and one static step;
 * read-only afterwards, shared by the workers. A static program (static_only) is sent as
 * pre-rendered bytes, pipelined if asked (plan.c, worker.c); any other is run by users
 * (user.c, worker_scenario.c). Ownership: the scenario owns everything it points to;
 * scenario_free() releases it.
 */
#ifndef BARRAGE_SCENARIO_H
#define BARRAGE_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "extract.h"
#include "feeder.h"
#include "template.h"

#define SCN_MAX_VARS 64          /* variables (capture names) per scenario */
#define SCN_VAR_BYTES 256        /* default bytes a variable holds (defaults: var_bytes) */
#define SCN_MAX_STEPS 1024       /* steps in all */

enum think_kind {
    THINK_NONE,      /* the next task starts when the last one ends */
    THINK_CONST,     /* think_min_ns between tasks */
    THINK_UNIFORM,   /* uniform in [think_min_ns, think_max_ns] between tasks */
    THINK_PACE,      /* a task starts every think_min_ns, whatever the last one took */
};

enum on_failure {
    ONFAIL_CONTINUE, /* go on with the next step (default) */
    ONFAIL_RESTART,  /* start the task list again (after think time) */
    ONFAIL_STOP,     /* the user stops for the rest of the run */
};

struct scn_step {
    char *name;              /* statistics are kept per name (default "METHOD path") */
    uint32_t stat;           /* index into scenario.stat_names */
    struct tpl head;         /* "METHOD path HTTP/1.1\r\nHost: ..\r\n" and every header line,
                                defaults included; ends with "\r\n" of the last header */
    struct tpl body;         /* empty: no body */
    bool has_body;           /* send Content-Length (also for an empty body) */
    bool head_method;        /* HEAD: the response has no body */
    bool idempotent;         /* GET, HEAD, PUT, DELETE, OPTIONS: may be sent again after a
                                keep-alive race (set by plan.c from the head) */
    uint64_t status_ok[10];  /* bit s set: status s (0..639) passes; read by scn_status_ok() */
    uint64_t path_vars;      /* bit v: ${v} goes into the request line (SCN_MAX_VARS <= 64) */
    uint64_t header_vars;    /* bit v: ${v} goes into a header value */
    char *status_text;       /* for messages: "200" or "200, 201" or "100-399" */
    struct extract extract;  /* captures and checks */
    uint64_t timeout_ns;     /* per request */
    bool own_cookie;         /* its head has a Cookie header: the user's jar adds none */
};

struct scn_task {
    char *name;              /* optional, for messages */
    uint32_t weight;         /* >= 1 */
    struct scn_step *steps;
    uint32_t nsteps;
};

struct scn_class {
    char *name;
    double weight;           /* > 0: share of users */
    enum think_kind think;
    uint64_t think_min_ns, think_max_ns;
    char **tags;
    uint32_t ntags;
    struct scn_step *on_start;   /* run once when a user starts */
    uint32_t non_start;
    struct scn_task *tasks;      /* tasks chosen by weight */
    uint32_t ntasks;
    uint64_t total_weight;       /* sum of task weights */
    enum on_failure on_failure;
};

struct scenario {
    char *file;              /* path as given; NULL for the quick mode */
    char *target;            /* base URL text: scheme://host[:port] (no path) */
    char *host;              /* the target's host name or address (for cookies' Domain) */
    bool https;
    struct scn_class *classes;
    uint32_t nclasses;
    struct feeder *feeders;
    uint32_t nfeeders;
    char **vars;             /* variable names; slot = index */
    uint32_t nvars;
    uint32_t var_bytes;      /* bytes each variable holds */
    char **stat_names;       /* distinct step names, in order of first appearance */
    uint32_t nstats;
    uint64_t timeout_ns;     /* defaults: timeout (or --timeout) */
    uint64_t min_timeout_ns; /* the smallest step timeout: how often timers are scanned */
    size_t scratch_need;     /* bytes of per-worker scratch the captures need (regexes) */
    bool has_think;          /* some class thinks or paces */
    bool cookies;            /* users keep cookies (cookie_jar.h); defaults: cookies: false */
    bool static_only;        /* one class, one task, one step, no variables, no captures,
                                no checks, no think time, no on_start, and a failure does not
                                stop the user: every request alike, so it can be pre-rendered */
};

/* What the command line says about a scenario file: selections and overrides. */
struct scenario_options {
    const char *const *tags;          /* --tags: keep tasks with any of these (NULL: all) */
    uint32_t ntags;
    const char *const *exclude_tags;  /* --exclude-tags: drop tasks with any of these */
    uint32_t nexclude;
    const char *user;                 /* --user NAME: only this class */
    const char *target;               /* a URL on the command line overrides target: */
    uint64_t timeout_ns;              /* --timeout if given (0: the file's, or 10s) */
};

/* Loads and compiles a scenario file. Returns 0, or -1 with a one-line message in err
 * that starts with "FILE:LINE:COLUMN: " where it points into the file, e.g.
 *   "shop.yaml:12:7: unknown key 'hedaers' in a step (expected: get, post, ..., headers)". */
int scenario_load(struct scenario *s, const char *path, const struct scenario_options *opt, char *err,
                  size_t errlen);
/* The same from text already in memory (`where` names it in messages); for tests and the
 * fuzzer. Feeder paths are relative to `dir`. */
int scenario_parse(struct scenario *s, const char *text, size_t len, const char *where, const char *dir,
                   const struct scenario_options *opt, char *err, size_t errlen);
void scenario_free(struct scenario *s);

/* The run-wide split of users over classes: class_of[j] for users j < nusers (user j
 * lives on worker j mod threads). Smooth weighted round robin, so that of the first n
 * users class k has within one of n * weight_k / sum of weights, for every n. */
void scenario_assign_classes(const struct scenario *s, uint64_t nusers, uint32_t *class_of);

_Static_assert(SCN_MAX_VARS <= 64, "scn_step's path_vars and header_vars hold a bit per variable");

/* Whether a step passes a response's status. Codes 640-999 lie past the bits: never ok. */
static inline bool scn_status_ok(const struct scn_step *st, unsigned code)
{
    return code < 640 && (st->status_ok[code / 64] >> (code % 64) & 1);
}

#endif
