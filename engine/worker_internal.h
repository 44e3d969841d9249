/* What the worker's files share: its state and connections (worker.c runs them,
 * worker_state.c allocates them), the few connection functions the scenario code calls,
 * and the scenario users' entry points (worker_scenario.c). Private to the worker: nothing
 * else includes it. See worker.c's top comment for the connection life and the load models. */
#ifndef BARRAGE_WORKER_INTERNAL_H
#define BARRAGE_WORKER_INTERNAL_H

#include <sys/socket.h>

#include "batch.h"
#include "http_parse.h"
#include "ring.h"
#include "scenario.h"
#include "tls.h"
#include "user.h"
#include "worker.h"

enum op { OP_CONNECT = 1, OP_RECV, OP_SEND, OP_CLOSE };
enum conn_state { C_QUEUED, C_BACKOFF, C_CONNECTING, C_OPEN, C_PARKED };

#define NOT_IDLE UINT32_MAX          /* conn.idle_pos: not in the idle stack */
/* A scenario response kept for captures and checks is at most this long. */
#define RSP_KEEP_MAX (1u << 20)
/* worker_state.rsp_keep[idx]: what of the response on connection idx is kept */
#define RSP_KEEP_ALL 1               /* all of it (up to RSP_KEEP_MAX): captures, checks */
#define RSP_KEEP_HEAD 2              /* its head: the user's cookies */
#define RSP_KEEP_OVER 3              /* it outgrew RSP_KEEP_MAX: what came before (its head) is kept */
/* ... and its buffer is given back after use when it grew past this: a big response must
 * not stay held by every connection that once read one (1 MiB × -c). */
#define RSP_KEEP_IDLE (64u << 10)

struct conn {
    int fd;
    uint32_t gen;
    uint8_t state;
    uint8_t recv_armed;
    uint8_t rearm_queued;
    uint8_t sending;             /* a send with a completion is in flight */
    uint8_t server_closing;      /* the last response said Connection: close */
    uint8_t retried;             /* requests re-sent after a keep-alive race are on it */
    uint32_t owed;               /* requests to re-send once reconnected (see retry_unanswered) */
    uint32_t send_len;           /* bytes of the send with a completion in flight */
    uint32_t inflight;           /* sent, not yet answered */
    uint32_t sent;               /* requests sent on this connection */
    uint32_t head;               /* oldest in-flight request's slot in sent_at */
    uint32_t idle_pos;           /* open loop: index in the idle stack, or NOT_IDLE */
    uint64_t t_connect;          /* connect submitted, or backoff until */
    uint64_t t_first_byte;       /* first byte of the response being read */
    uint64_t t_established;      /* TCP connected: the TLS handshake's start */
    struct tls_conn *tls;        /* https: this connection's TLS state; NULL otherwise */
    uint64_t backoff_ns;
    struct http_resp parser;
};

struct worker_state {
    struct worker *w;
    const struct plan *plan;
    struct ring ring;
    int *slot_fds;               /* per SQE: the descriptor a fixed-file slot update sets */
    struct io_uring_sqe scratch_sqe; /* get_sqe's answer when the kernel takes no more */
    struct conn *conns;
    uint64_t *sent_at;           /* nconns * pipeline send times */
    uint32_t *queue;             /* connections waiting to connect (FIFO ring of nconns) */
    uint32_t q_head, q_len;
    uint32_t *rearm;             /* connections whose recv must be re-armed */
    uint32_t *unstamped;         /* connects queued in this batch, timed from the submit */
    uint32_t nunstamped;
    uint32_t nrearm;
    uint32_t connecting, open, max_open;
    uint32_t q_fresh;            /* queued connections never connected before (gen 0) */
    uint32_t connects_deferred;  /* queued connects the last turn left to the next ones
                                    (CONNECTS_PER_TURN): they hold -n's budget too */
    uint64_t inflight;
    uint64_t issued;             /* for the -n budget */
    uint32_t buf_returned;       /* buffers added back since the last advance */
    uint32_t src_next;           /* next source address index */
    uint64_t fds_short_since;    /* socket() has found no descriptor free since (0: it has) */
    uint64_t fds_retry_at;       /* queued connects wait until then for closes to free some */
    struct stats *cur;
    uint64_t next_rotate, next_scan, scan_every;
    struct batch batch;          /* how many completions a wait asks for (batch.h) */
    uint64_t waits;              /* io_uring waits so far */
    uint64_t sends;              /* send operations submitted */
    /* Pipelined plain connections are read with recvmsg and timed from the kernel's
     * receive time of their bytes (rx_time.h). */
    bool rx_timed;
    struct msghdr rx_msg;        /* what each of their recvmsg asks for */
    int64_t mono_minus_real;     /* measured after each wait */
    uint64_t rx_received;        /* their receives with bytes */
    uint64_t kernel_timed;       /* of those, timed by the kernel */
    uint64_t tuned_received, tuned_timed;  /* both at the last tune_batch */
    uint64_t wait_now;           /* when the last wait returned */

    bool stopping;               /* no new requests */
    bool static_steps;           /* a static program from a scenario file: keep its step's statistics */
    bool per_step;               /* responses are counted by the step code: static_steps, or users */
    bool from_intended;          /* latency runs from intended[] (the schedule, or the start of a
                                    user's wait for a connection), service time from the send */

    /* closed loop with a shape: connections [0, active) are users, the rest parked */
    uint32_t active;
    uint64_t next_shape_check;

    /* open loop */
    uint64_t *intended;          /* per connection: intended start of its request */
    uint64_t *waiting;           /* FIFO ring of intended starts waiting for a connection */
    uint32_t wait_head, wait_len, wait_cap;
    uint32_t *idle;              /* stack of open connections with nothing in flight */
    uint32_t nidle;
    double next_area;            /* the next arrival is due when the shape's integral reaches it */
    unsigned shape_cursor;
    uint64_t next_arrival;       /* CLOCK_MONOTONIC ns; UINT64_MAX: no more */
    uint64_t rng;                /* xorshift state for Poisson gaps */

    /* scenario users (plan->scenario; see the top of this file) */
    const struct scenario *scn;  /* NULL: the quick mode */
    struct user_pool users;
    char **req;                  /* per connection: the rendered request being sent */
    uint32_t *req_cap;
    uint32_t *req_len;           /* its length: a request sent again goes out as it was */
    char **rsp;                  /* per connection: the response kept for captures */
    uint32_t *rsp_len, *rsp_cap;
    uint8_t *rsp_keep;           /* per connection: keep this response */
    uint64_t clock_after_extract; /* when the last captures and checks ended: sends made later
                                     in the same batch are stamped no earlier (a big regex
                                     capture's CPU is not the next request's latency) */
    char *scratch;               /* request bodies, expected values, regex captures */
    size_t scratch_cap;
    /* --share-connections: users are not tied to connections */
    uint32_t *conn_user;         /* per connection: its user, or USER_NONE; NULL: user i on conn i */
    uint32_t *ufifo;             /* users waiting for a connection (a ring of users.n) */
    uint64_t *ufifo_at;          /* since when each has waited */
    uint32_t uf_head, uf_len;
    uint64_t users_waiting;      /* at stop: ready users still in ufifo, counted in flight */
    uint64_t connects_waiting;   /* at stop, closed loop: connects (handshakes) under way for a
                                    request, counted in flight (record_in_flight) */
    uint8_t *uqueued;            /* per user: in ufifo */
    uint32_t *uslot;             /* per user in ufifo: its slot there */
    uint32_t *user_conn;         /* per user: the connection it was last given (see share_next) */
    uint32_t users_active;       /* with a shape: users [0, users_active) run (the pool stays open) */
    uint8_t *restart_when_free;  /* per user: started again by the shape while its request was out */
    /* open loop with a scenario: each arrival is a user (a slot) that runs one task */
    uint32_t *free_slots;
    uint8_t *slot_free_now;      /* per user: in free_slots */
    uint32_t nfree;
    uint64_t arrivals;           /* this worker's arrivals so far: ${user_id} = arrivals * threads + id */

    /* https */
    struct tls_ctx *tls_ctx;     /* NULL for http:// */
    char **tx;                   /* per connection: ciphertext being sent (see tls_flush) */
    uint32_t *tx_cap;
    char *plain;                 /* decrypted bytes of one receive, parsed in place */
    size_t plain_cap;
};

static inline uint64_t make_ud(enum op op, uint32_t idx, uint32_t gen)
{
    return ((uint64_t)op << 56) | ((uint64_t)(idx & 0xffffff) << 32) | gen;
}

static inline uint64_t budget_left(const struct worker_state *s)
{
    if (s->stopping) return 0;
    if (!s->w->max_requests) return UINT64_MAX;
    /* each connect in progress (or about to start) will use one request: it sends one or
     * fails as one */
    uint64_t used = s->issued + s->connecting + s->connects_deferred;
    return used < s->w->max_requests ? s->w->max_requests - used : 0;
}

/* why: the reason the step's failures list shows (NULL: the class's name) */
void static_step_failed(struct worker_state *s, enum err_class e, uint64_t n, const char *why);

static inline void count_failures_why(struct worker_state *s, enum err_class e, uint64_t n, const char *why)
{
    s->cur->errors[e] += n;
    s->cur->failed += n;
    if (__builtin_expect(s->static_steps, 0)) static_step_failed(s, e, n, why);
}

static inline void count_failures(struct worker_state *s, enum err_class e, uint64_t n)
{
    count_failures_why(s, e, n, NULL);
}


/* The scenario user on connection idx (USER_NONE: none, sharing). */
static inline uint32_t user_of(const struct worker_state *s, uint32_t idx)
{
    return s->conn_user ? s->conn_user[idx] : idx;
}

/* A connection whose own user stopped stays closed (never when users share connections). */
static inline bool user_stopped(const struct worker_state *s, uint32_t idx)
{
    return s->scn && !s->conn_user && s->users.users[idx].state == USER_STOPPED;
}

/* ---- worker_state.c: the state's allocation (cold) ---- */

/* Allocates worker w's state and creates its ring; NULL with w->errmsg set on failure. */
struct worker_state *state_create(struct worker *w);
/* Closes what is still open and frees it all (NULL is fine). */
void state_destroy(struct worker_state *s);

/* ---- worker.c, for the scenario code and the set-up ---- */

/* Before closing a socket: reset it if the server left request bytes unread. */
void abort_if_unsent(int fd);

/* Sends len bytes on the connection (encrypting first on https); false when it closed. */
bool worker_send_bytes(struct worker_state *s, struct conn *c, uint32_t idx, const char *data, size_t len);
/* Open loop: the stack of idle connections. */
void worker_idle_push(struct worker_state *s, uint32_t idx);
uint32_t worker_idle_pop(struct worker_state *s);

/* ---- worker_scenario.c: scenario users on the worker's connections ---- */

/* User u's next step is due: send it on its own connection or queue it for a shared one. */
void user_enqueue(struct worker_state *s, uint32_t u, uint64_t now);
/* The request on connection idx failed before a response (why: an error class's name). */
void step_failed(struct worker_state *s, uint32_t idx, const char *why, uint64_t now);
/* Connection idx can send: its user's step is rendered into it and sent. */
void user_send(struct worker_state *s, struct conn *c, uint32_t idx, uint64_t now);
/* --share-connections: connection idx is free; the user it served goes on, or the next waits. */
void share_next(struct worker_state *s, struct conn *c, uint32_t idx, uint64_t now);
/* --share-connections: idle connections to waiting users; waits past their step's timeout. */
void serve_waiters(struct worker_state *s, uint64_t now);
void waiters_time_out(struct worker_state *s, uint64_t now);
/* --share-connections: a connect that the oldest waiting user would have taken failed: that
 * user's step fails as cls. Returns 1, or 0 when no user waits (or -n is spent). */
uint64_t waiter_failed_first(struct worker_state *s, enum err_class cls, uint64_t now);
/* Keeps response bytes (the copy; rsp_append below decides). */
void rsp_keep_bytes(struct worker_state *s, uint32_t idx, const char *data, size_t n);
/* A scenario response is complete: checks, captures and the user's next step. */
void user_response(struct worker_state *s, struct conn *c, uint32_t idx, uint64_t latency_us, uint64_t now);
/* --share-connections with a shape of users: users [0, want) of the worker run. */
void share_set_users(struct worker_state *s, uint32_t want, uint64_t now);
/* Thinking users whose time has come start their next task. */
void wake_users(struct worker_state *s, uint64_t now);
/* A static program from a scenario file keeps its one step's statistics as users would:
 * a response, counted as ok or failed in the totals too, and failures (called by
 * count_failures, except a status failure, which static_step_done counts with the status
 * in its reason). */
void static_step_done(struct worker_state *s, const struct http_resp *r, uint64_t latency_ns);
/* Open loop: an arrival starts a new user (at: its scheduled time). */
void scenario_arrival(struct worker_state *s, uint64_t at);

/* Keeps the bytes the parser just took, of a response whose step reads more than its status
 * (RSP_KEEP_ALL), or of its head for the user's cookies (RSP_KEEP_HEAD): only a head with a
 * Set-Cookie (the parser notes one), so most heads are never copied. */
static inline void rsp_append(struct worker_state *s, struct conn *c, uint32_t idx, const char *data, size_t n)
{
    if (s->rsp_keep[idx] == RSP_KEEP_OVER) return;
    if (s->rsp_keep[idx] == RSP_KEEP_HEAD && c->parser.state >= HTTP_BODY_LENGTH) {
        if (!c->parser.set_cookie) {  /* the head is whole, and sets no cookie */
            s->rsp_keep[idx] = 0;
            s->rsp_len[idx] = 0;
            return;
        }
        s->rsp_keep[idx] = 0;  /* these bytes end the head: the last ones kept */
    }
    rsp_keep_bytes(s, idx, data, n);
}

#endif
