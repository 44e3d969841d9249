/* Scenario users of one worker: the state machine that walks each user through its
 * class's on_start steps and weighted tasks, with think time or pacing between tasks,
 * and renders the request of the step it is on. The worker (worker.c) does the I/O and
 * calls in here at three points: to render a request, when a response (or a failure)
 * ends a step, and when a thinking user's time is up.
 *
 * Everything is allocated by user_pool_init() for a fixed number of users and sized at
 * plan time (variables: nvars slots of var_bytes each per user); nothing after that.
 * A pool belongs to one worker thread and is never shared.
 */
#ifndef BARRAGE_USER_H
#define BARRAGE_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cookie_jar.h"
#include "extract.h"
#include "scenario.h"

#define USER_NONE UINT32_MAX
#define USER_ON_START UINT32_MAX   /* user.task while on the on_start steps */

enum user_state {
    USER_READY,      /* its current step is to be sent */
    USER_BUSY,       /* its request is in flight */
    USER_THINKING,   /* waiting until `wake` (in the timer heap) */
    USER_STOPPED,    /* on_failure: stop, or retired by the shape */
};

struct user {
    uint64_t gid;            /* run-wide user number: ${user_id}, feeder rows, class */
    uint64_t wake;           /* USER_THINKING: when the next task starts */
    uint64_t iter_start;     /* pace: when the current task started */
    uint32_t cls;
    uint32_t task;           /* index in the class's tasks, or USER_ON_START */
    uint32_t step;           /* index in the on_start steps or the task's steps */
    uint32_t heap_pos;       /* index in the timer heap, or USER_NONE */
    uint8_t state;           /* enum user_state */
};

struct user_pool {
    const struct scenario *scn;
    uint32_t n;
    unsigned worker;
    struct user *users;
    char *vars;              /* n * nvars * var_bytes */
    uint32_t *var_len;       /* n * nvars */
    uint32_t *feed_row;      /* n * nfeeders */
    const struct feeder **feeders;
    uint64_t seq;            /* ${seq} */
    uint64_t rng;            /* xorshift64* state: think times, task choice, ${rand}, ${uuid} */
    struct cookie_jar *jars; /* n, when the scenario keeps cookies; else NULL */
    struct jar_origin origin;
    uint32_t *heap;          /* thinking users, a binary min-heap on wake */
    uint32_t nheap;
    bool once;               /* open loop: a user runs on_start and one task, then stops */
};

/* What the worker does after a step ended. */
enum user_next {
    USER_SEND,       /* send the user's (new) current step now */
    USER_WAIT,       /* thinking: user_due() hands it back when its time comes */
    USER_STOP,       /* the user has stopped (on_failure: stop) */
};

/* Users i of the pool are run-wide users first_gid + i * stride; class_of is indexed by
 * run-wide user. Returns 0, or -1 with err set (out of memory). */
int user_pool_init(struct user_pool *up, const struct scenario *scn, uint32_t n, uint64_t first_gid, uint64_t stride,
                   const uint32_t *class_of, unsigned worker, uint64_t seed, char *err, size_t errlen);
void user_pool_free(struct user_pool *up);

/* (Re)starts user i as a new user: variables cleared, feeder rows taken, its first step
 * (on_start, or a task chosen by weight) current, READY. */
void user_start(struct user_pool *up, uint32_t i, uint64_t now);
/* Retires user i (the shape wants fewer users): STOPPED, out of the timer heap. */
void user_retire(struct user_pool *up, uint32_t i);

/* The step user i is on. */
const struct scn_step *user_step(const struct user_pool *up, uint32_t i);

/* Renders the request of user i's current step into dst (cap bytes), using scratch
 * (scratch_cap bytes) for the body. Returns the request's length; when that is above
 * cap, or the body is above scratch_cap (*body_need says how much it needs), nothing
 * usable was written and the caller grows its buffers and calls again. The user's cookies
 * that apply at now go in a Cookie header (unless the step writes its own). */
size_t user_render(struct user_pool *up, uint32_t i, char *dst, size_t cap, char *scratch, size_t scratch_cap,
                   size_t *body_need, uint64_t now);
/* User i's request (req, req_len bytes) was answered with the response in raw: its
 * Set-Cookie headers go into the user's jar (when it keeps cookies). Returns 0, or -1 if
 * memory ran out for a cookie. */
int user_take_cookies(struct user_pool *up, uint32_t i, const char *req, size_t req_len, char *raw, size_t len,
                      uint64_t now);

/* The request of a step without placeholders (head and body not dynamic), rendered as
 * user_render() would for any user. Returns its length; above cap when it does not fit. */
size_t step_render_static(const struct scn_step *st, char *dst, size_t cap);

/* Runs the step's captures and checks on a complete response (raw bytes, len; a chunked
 * body is de-chunked in place). scratch holds at least the scenario's scratch_need bytes.
 * Returns 0, or -1 with why set. */
int user_extract(struct user_pool *up, uint32_t i, char *raw, size_t len, char *scratch, size_t scratch_cap,
                 char why[EXTRACT_WHY_LEN]);

/* User i's current step ended (failed or not) at `now`: moves it to the next step, or
 * ends the task and thinks, or restarts/stops as on_failure says. */
enum user_next user_step_done(struct user_pool *up, uint32_t i, bool failed, uint64_t now);

/* A class drawn by weight (open loop: the class of an arrival). */
uint32_t user_pick_class(struct user_pool *up);

/* A thinking user whose time has come (wake <= now), now READY; USER_NONE if none. */
uint32_t user_due(struct user_pool *up, uint64_t now);
/* The earliest wake of a thinking user, or UINT64_MAX. */
static inline uint64_t user_next_wake(const struct user_pool *up)
{
    return up->nheap ? up->users[up->heap[0]].wake : UINT64_MAX;
}

#endif
