/* Worker threads of `barrage serve`: one per --threads, each with its own SO_REUSEPORT
 * listener, epoll instance, timers and connections; they share nothing but the read-only
 * config, the prebuilt responses and the pattern page.
 *
 * serve_worker.c runs the event loop (accepting, timers, stopping); serve_conn.c is one
 * connection's life (read, parse, queue responses, write, close).
 *
 * --capacity's slots and their FIFO queue are a worker's too (serve.c allows the mode with
 * one thread only): a connection with a complete request takes a free slot or waits in the
 * queue; a slot given back goes to the oldest waiter, whose timer is set to now so that the
 * same round of timers runs it.
 *
 * Ownership: serve_worker_create() takes the listening socket and frees it with the rest
 * in serve_worker_destroy() (NULL ok). A worker owns its connections; each connection owns
 * its input leftover and output queue. Counters are written by the worker thread only and
 * read by serve.c after joining it.
 */
#ifndef BARRAGE_SERVE_WORKER_H
#define BARRAGE_SERVE_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serve_api.h"
#include "serve_config.h"
#include "serve_out.h"
#include "serve_request.h"

/* Leftover head (with an --api body: SERVE_API_MAX_BODY more) + one read. */
#define SERVE_RBUF_BYTES (SERVE_MAX_HEADER_BYTES + 64 * 1024)
_Static_assert(SERVE_RBUF_BYTES - SERVE_MAX_HEADER_BYTES - SERVE_API_MAX_BODY >= 32 * 1024,
               "room for a read after a held head and --api body");
#define SERVE_LINGER_NS  (2ull * 1000000000)   /* wait this long for the peer after our FIN */
#define SERVE_NO_TIMER   UINT32_MAX

/* What happens to a request body as it arrives. */
enum serve_body_mode {
    SERVE_BODY_ANSWER_AFTER,   /* drop it, then answer body_req */
    SERVE_BODY_ECHO,           /* append it to the open /echo response, then end that */
    SERVE_BODY_DROP,           /* drop it: the request is answered already */
    SERVE_BODY_API_TOO_LARGE,  /* drop it, then answer body_req (an --api route) with 413 */
};

/* A connection's hold on a --capacity slot. */
enum serve_slot {
    SERVE_SLOT_NONE,
    SERVE_SLOT_WAITING,   /* in the worker's queue, its next request unparsed in `in` */
    SERVE_SLOT_GRANTED,   /* given a slot while waiting; its next request takes it */
    SERVE_SLOT_BUSY,      /* a request holds the slot until slot_end */
};

struct serve_conn {
    int fd;
    uint8_t may_read;      /* epoll said readable and we have not seen EAGAIN since */
    uint8_t eof;           /* the peer will send nothing more */
    uint8_t closing;       /* a close or reset is queued: drop further input */
    uint8_t hung;          /* /hang: never answer, drop further input */
    uint8_t lingering;     /* our FIN is sent: reading to the peer's EOF, then closing */
    uint8_t body_close;    /* close after the response to `body_req` */
    uint8_t body_mode;     /* enum serve_body_mode, while body_left > 0 */
    uint8_t slot;          /* enum serve_slot */
    uint8_t hup;           /* epoll saw the peer's FIN, a hang-up or an error */
    uint8_t continued;     /* --api: "100 Continue" sent for the head waiting in `in` */
    uint32_t responses;    /* responses queued, for --close-after */
    uint64_t body_left;    /* request body bytes still to come (Content-Length) */
    struct serve_chunked chunked;   /* a chunked request body being read (state 0: none) */
    struct serve_request body_req;  /* the request whose body is being read */
    size_t scanned;        /* serve_request_parse() resume state for in */
    char *in;              /* unparsed input carried to the next read: a partial request */
    size_t in_len, in_cap;
    struct serve_outq *out;   /* created when output first has to wait; NULL before */

    uint64_t slot_end;     /* SERVE_SLOT_GRANTED, _BUSY: when the slot is given back */
    struct serve_conn *slot_prev, *slot_next;   /* SERVE_SLOT_WAITING: the worker's queue */

    uint64_t timer_at;     /* gate, slot or linger deadline (monotonic ns) while in the heap */
    uint32_t heap_index;   /* SERVE_NO_TIMER when not in the heap */
    uint8_t in_idle_list;
    uint64_t idle_since;   /* --idle-close: when the connection last became idle */
    struct serve_conn *idle_prev, *idle_next;
    struct serve_conn *prev, *next;   /* all connections of the worker */
};

struct serve_worker {
    const struct serve_config *cfg;
    int listen_fd;
    int epoll_fd;
    int wake_fd;            /* eventfd: serve_worker_stop() writes to it */
    int spare_fd;           /* kept open to be given up at EMFILE (see worker_shed) */
    pthread_t thread;
    bool started;
    int error;              /* errno of a failure that stopped the loop; 0 when none */
    uint64_t now;           /* monotonic ns, read after each epoll_wait */

    uint64_t requests;      /* responses fully written */
    uint64_t connections;   /* connections accepted */

    char *rbuf;             /* SERVE_RBUF_BYTES: every read lands here */
    struct serve_outq *staging;  /* responses go here when their connection has nothing
                                  * waiting; what is not written at once moves to conn->out */
    struct serve_conn *conns;
    uint32_t nconns;
    struct serve_conn **heap;    /* min-heap on timer_at; room for every connection */
    uint32_t heap_len, heap_cap;
    struct serve_conn *idle_head, *idle_tail;   /* oldest first */
    bool warned_emfile;
    bool precise_wait;      /* epoll_pwait2() works here: timeouts in ns, not ms */

    struct serve_api api;   /* --api: this thread's item counter */

    uint32_t slots_free;    /* --capacity */
    struct serve_conn *slot_head, *slot_tail;   /* waiting for a slot, oldest first */
};

/* 0, or -errno with *what naming the step that failed. */
int serve_worker_create(struct serve_worker **out, const struct serve_config *cfg,
                        int listen_fd, const char **what);
void serve_worker_destroy(struct serve_worker *w);

/* Thread body (arg: the worker). Returns when stopped or failed (w->error). */
void *serve_worker_run(void *arg);

/* Asks the loop to return. Any thread, async-signal-safe. */
void serve_worker_stop(struct serve_worker *w);

/* serve_worker.c, for serve_conn.c: timers and connection bookkeeping. */
void serve_worker_set_timer(struct serve_worker *w, struct serve_conn *c, uint64_t at);
void serve_worker_clear_timer(struct serve_worker *w, struct serve_conn *c);
void serve_worker_update_idle(struct serve_worker *w, struct serve_conn *c, bool idle);

/* --capacity, for a connection with a complete request to answer: true when it has a slot
 * (now SERVE_SLOT_BUSY until c->slot_end), false when it waits in the queue. */
bool serve_worker_slot_take(struct serve_worker *w, struct serve_conn *c);
/* Gives the connection's slot back, or takes it out of the queue; any state is fine. */
void serve_worker_slot_give(struct serve_worker *w, struct serve_conn *c);

/* serve_conn.c */
struct serve_conn *serve_conn_create(struct serve_worker *w, int fd);
/* Does everything the connection can do now: called on each epoll event and timer. */
void serve_conn_run(struct serve_worker *w, struct serve_conn *c);
/* A timer of the connection expired. */
void serve_conn_timer(struct serve_worker *w, struct serve_conn *c);
/* Closes the socket and frees the connection. */
void serve_conn_close(struct serve_worker *w, struct serve_conn *c);

#endif
