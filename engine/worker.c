/* The worker: one pinned thread driving its own io_uring over its own connections.
 *
 * Everything here after set-up is the hot path: no allocation, no locks, no shared
 * writes. One user_data encoding (op | connection index | generation) and one
 * dispatcher (worker_dispatch). Connection life:
 *
 *   QUEUED --connect--> CONNECTING --ok--> OPEN --EOF/error/policy--> (closed) --> QUEUED
 *                            |fail                                         ^
 *                            v                                             |
 *                         BACKOFF ---------------- after a delay ----------+
 *
 * A static program (plan.h, static_program: the quick mode's, or a scenario file of one
 * static step) sends its requests as slices of the plan's pre-rendered buffer of
 * `pipeline` copies; responses are parsed straight out of the provided receive buffers,
 * which go back to the kernel as soon as a completion batch is done.
 *
 * Load models (docs/DESIGN.md, "Load models"):
 * - closed loop: each connection is a user that sends its next request when answered.
 *   With a shape, connections [0, active) run and the others are PARKED: a user above
 *   the target finishes its request, then its connection closes.
 * - open loop: requests arrive on a schedule (the shape's integral, split across workers
 *   by global arrival number), wait in a FIFO with their intended start when no
 *   connection is idle, and are timed from that intended start.
 *
 * Any other program (a scenario): user i of the worker rides connection i, one request at a time
 * (or users share the connections). worker_scenario.c renders each user's step into its
 * connection's buffer and handles its response; the walk through the steps, think time
 * and pacing are user.c's; thinking users wait in its timer heap, and the loop's wake-up
 * includes the earliest of them. The state both files use is in worker_internal.h.
 *
 * https: after the TCP connect a connection stays CONNECTING through the TLS handshake
 * (so the connect bound and timeout cover it); requests are encrypted by tls/ into the
 * connection's send buffer, and received ciphertext is decrypted into the worker's
 * plaintext buffer before parsing. The only difference on the hot path is a branch on
 * c->tls in send_bytes() and on_recv().
 */
#include "worker_internal.h"
#include "rx_time.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Sends up to this many bytes complete silently (IOSQE_CQE_SKIP_SUCCESS); larger
 * ones ask for a completion so that two sends never overlap on one socket. */
#define SILENT_SEND_MAX 4096
#define BACKOFF_MIN_NS (10ull * 1000000)
#define BACKOFF_MAX_NS (1000ull * 1000000)
#define MAX_TICK_NS (50ull * 1000000)
#define FDS_WAIT_NS (1000ull * 1000000)  /* see fds_wait */
#define FDS_RETRY_NS (1000000ull)
#define SHAPE_TICK_NS 1000000ull    /* a shaped user count is re-read this often */
/* Connects started per turn of the loop. A loopback connect completes inside the submit
 * (~20 us each), and every completion is timed when the submit and wait return: 1000
 * connects in one submit all read ~20-40 ms. Turns of a few connects each, without
 * sleeping between them while more can start, keep that error to a few of them. */
#define CONNECTS_PER_TURN 16

static struct io_uring_sqe *get_sqe(struct worker_state *s)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring.uring);
    if (sqe) return sqe;
    /* SUBMIT_ALL: empties the queue, or fails. After a failure, no more tries: the run
     * is ending, and each would be one more refused system call per entry queued. */
    int rc = s->w->error ? -s->w->error : io_uring_submit(&s->ring.uring);
    sqe = io_uring_get_sqe(&s->ring.uring);
    if (sqe) return sqe;
    /* The kernel took nothing (out of memory): the run ends with the reason, and what is
     * being queued goes to a scratch entry that is never submitted. */
    if (!s->w->error) {
        snprintf(s->w->errmsg, sizeof(s->w->errmsg), "io_uring submit: %s", strerror(rc < 0 ? -rc : EBUSY));
        s->w->error = rc < 0 ? -rc : EBUSY;
    }
    memset(&s->scratch_sqe, 0, sizeof(s->scratch_sqe));
    return &s->scratch_sqe;
}

/* Sockets of connections that are kept also sit in the ring's fixed-file table, at their
 * connection's index: a send or receive then skips the kernel's file lookup and reference
 * count (about 1% of the CPU per request at depth 1). A slot is filled and cleared by
 * operations queued in order with the connection's others, never by a register call made
 * at once, so that each queued operation finds the socket of its own generation. */
static void on_socket(struct worker_state *s, struct io_uring_sqe *sqe, uint32_t idx)
{
    if (!s->ring.fixed_files) return;
    sqe->fd = (int)idx;
    sqe->flags |= IOSQE_FIXED_FILE;
}

/* Queues setting connection idx's slot to fd (-1: empty). Issued inline at the next
 * submit, in queue order. The kernel reads the descriptor when it issues the update, so
 * it is kept in a cell of the SQE's own, valid until that SQE is consumed. */
static void queue_slot_update(struct worker_state *s, uint32_t idx, int fd, uint64_t ud)
{
    struct io_uring_sqe *sqe = get_sqe(s);
    if (sqe == &s->scratch_sqe) return;  /* the run is ending (get_sqe) */
    int *cell = &s->slot_fds[sqe - s->ring.uring.sq.sqes];
    *cell = fd;
    io_uring_prep_files_update(sqe, cell, 1, (int)idx);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    sqe->user_data = ud;
}

/* ---- connecting ---- */

static void queue_connect(struct worker_state *s, uint32_t idx)
{
    struct conn *c = &s->conns[idx];
    if ((idx >= s->active || user_stopped(s, idx)) && !c->owed) {  /* retired or stopped: stays closed */
        c->state = C_PARKED;
        return;
    }
    c->state = C_QUEUED;
    if (!c->gen) s->q_fresh++;
    uint32_t n = s->w->nconns;
    if (c->owed) {  /* requests already in flight go first, budget or not */
        s->q_head = (s->q_head + n - 1) % n;
        s->queue[s->q_head] = idx;
    } else {
        s->queue[(s->q_head + s->q_len) % n] = idx;
    }
    s->q_len++;
}

static int open_socket(struct worker_state *s)
{
    const struct plan *p = s->plan;
    int fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (s->rx_timed) setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    /* On loopback there is no loss and no queue for congestion control to act on, but the
     * system's choice still runs on every ACK: BBR, where a system picked it, models the
     * path's bandwidth and round trip (2% of barrage's CPU at depth 1 in a perf profile).
     * Reno's per-ACK work is a few additions. Any process may pick Reno; a failure leaves
     * the default. */
    if (p->loopback_reno) setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4);
    if (p->spread_sources) {
        /* Against a loopback target, rotate the source over 127.x.y.z so the
         * ephemeral ports of one source (~28k) never run out, TIME_WAIT included.
         * The port is chosen at connect time, per 4-tuple. */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        uint32_t k = s->src_next++ % 4096;
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl((127u << 24) | ((1u + s->w->id % 250) << 16) | ((k >> 6) << 8) | ((k & 63u) + 1u));
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
    }
    return fd;
}

static uint64_t attempt_failed(struct worker_state *s, struct conn *c, enum err_class why, int err, uint64_t now);

static void connect_failed(struct worker_state *s, struct conn *c, int err, uint64_t now)
{
    attempt_failed(s, c, ERR_CONNECT, err, now);
}

/* socket() found no descriptor free. Right after a burst of closes, that is their sockets
 * not closed yet (a shutdown goes through an io-wq thread first, then the linked close):
 * the queued connects wait for them, a moment at a time, rather than failing as if the
 * server had refused. A shortage that lasts FDS_WAIT_NS is real: each connect then fails
 * with its reason, until a socket() succeeds again. */
static bool fds_wait(struct worker_state *s, uint64_t now)
{
    if (!s->fds_short_since) s->fds_short_since = now;
    if (now - s->fds_short_since >= FDS_WAIT_NS) return false;
    s->fds_retry_at = now + FDS_RETRY_NS;
    return true;
}

/* Returns false when the connect has to wait for descriptors (fds_wait): nothing changed. */
static bool start_connect(struct worker_state *s, uint32_t idx, uint64_t now)
{
    int fd = open_socket(s);
    if ((fd == -EMFILE || fd == -ENFILE) && fds_wait(s, now)) return false;
    if (fd >= 0) s->fds_short_since = 0;
    struct conn *c = &s->conns[idx];
    c->gen++;
    c->state = C_CONNECTING;
    c->t_connect = now;
    c->inflight = c->sent = 0;  /* head stays: owed requests keep their send times */
    c->recv_armed = c->sending = c->server_closing = 0;
    http_resp_start(&c->parser, s->plan->no_body_response);
    s->connecting++;
    if (fd < 0) {
        c->fd = -1;
        connect_failed(s, c, -fd, now);
        return true;
    }
    c->fd = fd;
    s->unstamped[s->nunstamped++] = idx;
    if (s->ring.fixed_files) queue_slot_update(s, idx, fd, make_ud(OP_CLOSE, idx, c->gen));
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_connect(sqe, fd, (const struct sockaddr *)&s->plan->addr, s->plan->addrlen);
    on_socket(s, sqe, idx);
    sqe->user_data = make_ud(OP_CONNECT, idx, c->gen);
    return true;
}

/* -n: the queued connects that hold a request of the budget while CONNECTS_PER_TURN keeps
 * them for later turns: the connections never opened before, each of which will send a
 * request or fail as one (with -c 3000 -n 6000 all 3000 open, as when all started at
 * once), up to the budget left. Not reconnects, which may be owed requests already issued,
 * nor under a shape of users, which may retire a queued one: holding a request that is
 * then not taken would leave open connections without one. Open loop holds none. */
static uint32_t connects_held(const struct worker_state *s)
{
    if (!s->w->max_requests || s->plan->open_loop || s->next_shape_check != UINT64_MAX) return 0;
    uint64_t left = budget_left(s);  /* connects_deferred is 0 here */
    return left < s->q_fresh ? (uint32_t)left : s->q_fresh;
}

/* Returns true when connects are still queued that could start now (CONNECTS_PER_TURN
 * stopped them): the loop then does not sleep. */
static bool start_queued_connects(struct worker_state *s, uint64_t now)
{
    if (now < s->fds_retry_at) return false;
    s->connects_deferred = 0;
    for (unsigned started = 0; s->q_len && s->connecting < s->plan->max_connecting; started++) {
        if (started == CONNECTS_PER_TURN) {
            s->connects_deferred = connects_held(s);
            return true;
        }
        uint32_t idx = s->queue[s->q_head];
        struct conn *c = &s->conns[idx];
        /* -n: each connection being opened will take a request of the budget, which
         * budget_left() already holds for it, handshake included (held twice, -n under
         * twice -c opened fewer connections than -c: half of them with --pipeline) */
        if (!c->owed && !s->plan->open_loop && !budget_left(s)) break;
        s->q_head = (s->q_head + 1) % s->w->nconns;
        s->q_len--;
        if (!c->gen) s->q_fresh--;
        if (idx >= s->active && !c->owed) {
            c->state = C_PARKED;  /* retired while queued */
        } else if (!start_connect(s, idx, now)) {
            s->q_head = (s->q_head + s->w->nconns - 1) % s->w->nconns;  /* first again */
            s->q_len++;
            if (!c->gen) s->q_fresh++;
            break;
        }
    }
    return false;
}

/* ---- open loop: idle connections and waiting requests ---- */

static void idle_push(struct worker_state *s, uint32_t idx)
{
    s->conns[idx].idle_pos = s->nidle;
    s->idle[s->nidle++] = idx;
}

static uint32_t idle_pop(struct worker_state *s)
{
    uint32_t idx = s->idle[--s->nidle];
    s->conns[idx].idle_pos = NOT_IDLE;
    return idx;
}

static void idle_remove(struct worker_state *s, uint32_t idx)
{
    struct conn *c = &s->conns[idx];
    if (c->idle_pos == NOT_IDLE) return;
    uint32_t last = s->idle[--s->nidle];
    s->idle[c->idle_pos] = last;
    s->conns[last].idle_pos = c->idle_pos;
    c->idle_pos = NOT_IDLE;
}

static uint64_t waiting_pop(struct worker_state *s)
{
    uint64_t at = s->waiting[s->wait_head];
    if (++s->wait_head == s->wait_cap) s->wait_head = 0;
    s->wait_len--;
    return at;
}

/* The same for worker_scenario.c (worker_internal.h): the quick mode's callers keep the
 * static ones, which the compiler inlines into the hot path. */
void worker_idle_push(struct worker_state *s, uint32_t idx)
{
    idle_push(s, idx);
}

uint32_t worker_idle_pop(struct worker_state *s)
{
    return idle_pop(s);
}

/* ---- closing ---- */

/* A socket closed with request bytes the server has not taken (one that stopped reading)
 * would linger as an orphan in FIN_WAIT1 for minutes, holding those bytes (megabytes each
 * with a large body) in the kernel's TCP memory, which the server under test shares. Zero
 * linger makes the close reset the connection and free them at once. Synchronous
 * syscalls, but only for a connection closed with requests unanswered. */
void abort_if_unsent(int fd)
{
    static const struct linger reset = {.l_onoff = 1, .l_linger = 0};
    int queued = 0;  /* bytes not yet acknowledged: on loopback, bytes the server left unread */
    if (!ioctl(fd, SIOCOUTQ, &queued) && queued > 0) setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
}

/* Closes the socket without waiting. A pending multishot recv holds a file reference, so
 * it is cancelled (or the socket shut down) first; HARDLINK keeps the close even if that
 * fails (e.g. the recv just ended). Completions come back only on error and are dropped
 * by generation. */
static void close_socket(struct worker_state *s, struct conn *c, uint32_t idx, bool unanswered)
{
    tls_conn_destroy(c->tls);
    c->tls = NULL;
    if (c->fd < 0) return;
    /* The sequence below goes in one submission: a link head left last in a submission
     * is handed to an io-wq thread, and the close, in the next one, would overtake it. */
    if (io_uring_sq_space_left(&s->ring.uring) < 3 && !s->w->error) io_uring_submit(&s->ring.uring);
    /* First and unlinked, so that it is issued before a new connection fills the slot. */
    if (s->ring.fixed_files) queue_slot_update(s, idx, -1, make_ud(OP_CLOSE, idx, c->gen));
    struct io_uring_sqe *sqe;
    /* With requests unanswered a send may still wait on a full socket (a server that
     * stopped reading): shutdown fails it (io_uring hands a shutdown to an io-wq thread, a
     * few µs). After a clean exchange only the recv can be pending: it is cancelled
     * inline. Nothing pending (the server's EOF ended the recv): close alone. */
    if (unanswered || c->sending) {
        abort_if_unsent(c->fd);
        sqe = get_sqe(s);
        io_uring_prep_shutdown(sqe, c->fd, SHUT_RDWR);
        sqe->flags |= IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS;
        sqe->user_data = make_ud(OP_CLOSE, idx, c->gen);
    } else if (c->recv_armed) {
        sqe = get_sqe(s);
        io_uring_prep_cancel64(sqe, make_ud(OP_RECV, idx, c->gen), 0);
        sqe->flags |= IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS;
        sqe->user_data = make_ud(OP_CLOSE, idx, c->gen);
    }
    sqe = get_sqe(s);
    io_uring_prep_close(sqe, c->fd);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    sqe->user_data = make_ud(OP_CLOSE, idx, c->gen);
    c->fd = -1;
}

/* Who ended a connection, for connections.closed_by_server / closed_by_client: every
 * connection opened is closed by one of them, or still open at the stop. */
enum closer { BY_SERVER, BY_CLIENT };

static void count_close(struct worker_state *s, enum closer who)
{
    if (who == BY_SERVER) s->cur->closed_by_server++;
    else s->cur->closed_by_client++;
}

/* Ends a connection. Its unanswered requests fail with `why` (a scenario step's reason:
 * step_why, or the class's name when NULL); then it reconnects unless the run is winding
 * down. */
static void conn_close_why(struct worker_state *s, uint32_t idx, enum err_class why, enum closer who,
                           const char *step_why)
{
    struct conn *c = &s->conns[idx];
    count_close(s, who);
    bool unanswered = c->inflight > 0;
    if (c->inflight) {
        if (s->scn) step_failed(s, idx, step_why ? step_why : err_class_name(why), mono_ns());
        count_failures_why(s, why, c->inflight, step_why);
        s->inflight -= c->inflight;
        c->inflight = 0;
    }
    if (c->state == C_OPEN) s->open--;
    else if (c->state == C_CONNECTING) s->connecting--;
    idle_remove(s, idx);
    close_socket(s, c, idx, unanswered);
    c->gen++;  /* completions still in flight for the old socket are now stale */
}

static void backoff(struct conn *c, uint64_t now)
{
    c->backoff_ns = c->backoff_ns ? c->backoff_ns * 2 : BACKOFF_MIN_NS;
    if (c->backoff_ns > BACKOFF_MAX_NS) c->backoff_ns = BACKOFF_MAX_NS;
    c->state = C_BACKOFF;
    c->t_connect = now + c->backoff_ns;
}

static void conn_close(struct worker_state *s, uint32_t idx, enum err_class why, enum closer who)
{
    conn_close_why(s, idx, why, who, NULL);
}

static void conn_end(struct worker_state *s, uint32_t idx, enum err_class why, enum closer who)
{
    conn_close(s, idx, why, who);
    queue_connect(s, idx);
}

/* The connection ended under its requests in flight: they fail as resets, counted under
 * their cause; a new connection takes its place. Cold and out of line: inlined into the
 * receive path it cost every request about 6 instructions (callgrind). */
static __attribute__((cold, noinline)) void conn_reset(struct worker_state *s, uint32_t idx, enum reset_cause cause,
                                                       enum closer who)
{
    s->cur->reset_cause[cause] += s->conns[idx].inflight;
    conn_close_why(s, idx, ERR_RESET, who, reset_cause_str(cause));
    queue_connect(s, idx);
}

/* A receive or send failed with -res. */
static enum reset_cause reset_cause_of(int res)
{
    return res == -ECONNRESET || res == -EPIPE ? RESET_BY_PEER : RESET_SOCKET_ERROR;
}

/* Closes the connection of a user the shape no longer wants (it has nothing in flight). */
static void park(struct worker_state *s, uint32_t idx)
{
    struct conn *c = &s->conns[idx];
    count_close(s, BY_CLIENT);
    if (c->state == C_OPEN) s->open--;
    else if (c->state == C_CONNECTING) s->connecting--;
    close_socket(s, c, idx, false);
    c->gen++;
    c->state = C_PARKED;
}

/* A connect (or its TLS handshake: why = ERR_TLS) failed: the requests it stood for fail,
 * and the connection backs off before it tries again. Those are the ones already issued
 * on it; sharing connections, the oldest user waiting for one; in open loop the oldest
 * waiting request, which would have used it; in closed loop the one it was opened for (a
 * scenario user's only when one is waiting: not while the user thinks). Returns how many
 * failed (an attempt no request stood for is retried, not counted). */
static uint64_t attempt_failed(struct worker_state *s, struct conn *c, enum err_class why, int err, uint64_t now)
{
    uint32_t idx = (uint32_t)(c - s->conns);
    uint64_t failed = 0;
    s->connecting--;
    if (c->owed) {
        failed = c->owed;
        s->inflight -= c->owed;
        c->owed = 0;
        if (s->scn) step_failed(s, idx, err_class_name(why), now);  /* its user's step, which it was sent for */
        count_failures(s, why, failed);
    } else if (s->conn_user) {
        failed = waiter_failed_first(s, why, now);  /* counts it */
    } else if (s->plan->open_loop) {
        if (s->wait_len) {
            waiting_pop(s);
            s->inflight--;
            failed = 1;
            count_failures(s, why, 1);
        }
    } else if (!s->scn || (user_of(s, idx) != USER_NONE && s->users.users[user_of(s, idx)].state == USER_READY)) {
        s->issued++;
        s->cur->issued++;
        if (s->scn) step_failed(s, idx, err_class_name(why), now);
        failed = 1;
        count_failures(s, why, 1);
    }
    /* the reasons under the class count add up to it */
    if (failed && why == ERR_CONNECT && err > 0 && err < STATS_ERRNO_MAX) s->cur->connect_errno[err] += failed;
    close_socket(s, c, idx, false);
    c->gen++;
    backoff(c, now);
    return failed;
}

/* ---- TLS ---- */

_Static_assert(STATS_REASON_LEN >= TLS_ERROR_FIT, "a host name mismatch would lose its host");

/* Sends the ciphertext tls/ has waiting, one send at a time per connection. It is copied
 * into the connection's own buffer first (a few hundred bytes a request), so that closing
 * the connection, which frees its TLS state, never frees memory a send still reads. */
static void tls_flush(struct worker_state *s, struct conn *c, uint32_t idx)
{
    if (c->sending || !c->tls) return;
    const void *data;
    size_t n = tls_conn_out_peek(c->tls, &data);
    if (!n) return;
    if (n > s->tx_cap[idx]) {  /* grows to the largest flight once, then stays */
        size_t cap = (n + 511) & ~(size_t)511;
        char *b = realloc(s->tx[idx], cap);
        if (!b) return;  /* left pending: the next flush tries again */
        s->tx[idx] = b;
        s->tx_cap[idx] = (uint32_t)cap;
    }
    memcpy(s->tx[idx], data, n);
    tls_conn_out_consume(c->tls, n);
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_send(sqe, c->fd, s->tx[idx], n, MSG_WAITALL | MSG_NOSIGNAL);
    on_socket(s, sqe, idx);
    sqe->user_data = make_ud(OP_SEND, idx, c->gen);
    s->sends++;
    c->sending = 1;
    c->send_len = (uint32_t)n;
}

/* The handshake failed (who: BY_CLIENT), or the server went away during it (BY_SERVER).
 * The TCP connection was opened: its close is counted. */
static void handshake_failed(struct worker_state *s, struct conn *c, const char *reason, enum closer who,
                             uint64_t now)
{
    char why[160];  /* the reason may live in the TLS state the close frees */
    snprintf(why, sizeof(why), "%s", reason);
    count_close(s, who);
    uint64_t n = attempt_failed(s, c, ERR_TLS, 0, now);
    if (n) stats_tls_reason(s->cur, why, n);
}

/* ---- sending ---- */

/* Sends request bytes: as they are, or encrypted. Returns false when the connection was
 * ended (a TLS failure). */
static bool send_bytes(struct worker_state *s, struct conn *c, uint32_t idx, const char *data, size_t len)
{
    if (c->tls) {
        if (tls_conn_write(c->tls, data, len) < 0) {
            stats_tls_reason(s->cur, tls_conn_error(c->tls), c->inflight);
            conn_end(s, idx, ERR_TLS, BY_CLIENT);
            return false;
        }
        tls_flush(s, c, idx);
        return true;
    }
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_send(sqe, c->fd, data, len, MSG_WAITALL | MSG_NOSIGNAL);
    on_socket(s, sqe, idx);
    sqe->user_data = make_ud(OP_SEND, idx, c->gen);
    s->sends++;
    if (len <= SILENT_SEND_MAX) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    else c->sending = 1, c->send_len = (uint32_t)len;
    return true;
}

bool worker_send_bytes(struct worker_state *s, struct conn *c, uint32_t idx, const char *data, size_t len)
{
    return send_bytes(s, c, idx, data, len);
}

static void arm_recv(struct worker_state *s, struct conn *c, uint32_t idx)
{
    struct io_uring_sqe *sqe = get_sqe(s);
    if (s->rx_timed) io_uring_prep_recvmsg_multishot(sqe, c->fd, &s->rx_msg, 0);
    else if (s->ring.multishot) io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    else io_uring_prep_recv(sqe, c->fd, NULL, 0, 0);
    on_socket(s, sqe, idx);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = RING_BGID;
    sqe->user_data = make_ud(OP_RECV, idx, c->gen);
    c->recv_armed = 1;
}

/* Sends as many requests as the pipeline depth, the per-connection limit and the
 * budget allow, in one send. A pipelined connection is refilled only once half its
 * requests are answered: one send per depth/2 responses instead of one per read,
 * which saves the client and the server a send's worth of kernel work each time. */

static void fill_pipeline(struct worker_state *s, struct conn *c, uint32_t idx, uint64_t now)
{
    if (__builtin_expect(s->scn != NULL, 0)) {
        if (s->conn_user) share_next(s, c, idx, now);
        else user_send(s, c, idx, now);
        return;
    }
    const struct plan *p = s->plan;
    uint32_t refill_at = p->pipeline / 2;
    if (c->sending || c->server_closing || c->inflight > refill_at || idx >= s->active) return;
    uint32_t owed = c->owed;  /* re-sent first; already issued and timed */
    uint64_t k = p->pipeline - c->inflight - owed;
    if (p->requests_per_conn && k > p->requests_per_conn - c->sent - owed) k = p->requests_per_conn - c->sent - owed;
    uint64_t left = budget_left(s);
    if (k > left) k = left;
    if (!k && !owed) return;

    uint32_t n = (uint32_t)k;
    size_t bytes = (size_t)(n + owed) * p->request_len;
    uint64_t *ring = s->sent_at + (size_t)idx * p->pipeline;
    uint32_t slot = c->head + c->inflight + owed;
    for (uint32_t i = 0; i < n; i++, slot++) ring[slot >= p->pipeline ? slot - p->pipeline : slot] = now;
    if (owed) {
        /* The first request on a new connection: it was counted as reused at its first
         * send, on the connection that answered one before it (retry_unanswered). */
        s->cur->reused_requests--;
        c->retried = 1, c->owed = 0, c->inflight += owed, c->sent += owed;
    }
    s->cur->reused_requests += c->sent ? n : n - 1;
    c->sent += n;
    c->inflight += n;
    s->inflight += n;
    s->issued += n;
    s->cur->issued += n;
    s->cur->bytes_sent += bytes;
    send_bytes(s, c, idx, p->request, bytes);
}

/* Open loop: sends one scheduled request on an idle connection. Its issue was counted
 * when it came due (release_arrivals); its latency runs from `intended`. */
static void open_send(struct worker_state *s, uint32_t idx, uint64_t intended, uint64_t now)
{
    const struct plan *p = s->plan;
    struct conn *c = &s->conns[idx];
    s->sent_at[idx] = now;  /* pipeline is 1 in open loop: one slot per connection */
    s->intended[idx] = intended;
    hist_record(s->cur->pool_wait, (now - intended) / 1000);
    if (c->sent) s->cur->reused_requests++;
    c->sent++;
    c->inflight = 1;
    s->cur->bytes_sent += p->request_len;
    send_bytes(s, c, idx, p->request, p->request_len);
}

/* Open loop: a connection has nothing in flight; give it the oldest waiting request. */
static void conn_ready(struct worker_state *s, struct conn *c, uint32_t idx, uint64_t now)
{
    if (c->sending) return;  /* the send's completion comes back here */
    /* Already waiting: bytes that end no response (a TLS 1.3 session ticket after the
     * handshake) bring an idle connection back here; on the stack twice, it overflows. */
    if (c->idle_pos != NOT_IDLE) return;
    if (s->wait_len) open_send(s, idx, waiting_pop(s), now);
    else idle_push(s, idx);
}

static inline double exp_sample(uint64_t *state)
{
    uint64_t x = *state;  /* xorshift64* */
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    *state = x;
    double u = (double)((x * 2685821657736338717ull) >> 11) * 0x1.0p-53;  /* [0, 1) */
    return -log1p(-u);
}

/* Moves the schedule to this worker's next arrival. Worker i of N takes arrivals
 * i, i+N, i+2N, ... of the one global uniform schedule (arrival k is due when the
 * shape's integral reaches k), so the shares add up to the rate exactly, even below one
 * request per second per worker. Poisson: each worker runs its own process at 1/N of
 * the rate; their sum is a Poisson process at the full rate. */
static void schedule_next(struct worker_state *s)
{
    const struct plan *p = s->plan;
    double gap = p->threads;
    if (p->poisson) gap *= exp_sample(&s->rng);
    s->next_area += gap;
    double t = shape_time_at_area(&p->shape, s->next_area, &s->shape_cursor);
    uint64_t at = t < 1e8 ? s->w->start_ns + (uint64_t)(t * 1e9) : UINT64_MAX;
    /* never before the previous arrival: the inverse is monotone only to a few ulps */
    if (s->next_arrival != UINT64_MAX && at < s->next_arrival) at = s->next_arrival;
    s->next_arrival = at;
}


/* Open loop: requests that waited for a connection as long as the timeout fail as
 * timeouts (the oldest are first in the queue). */
static void expire_waiting(struct worker_state *s, uint64_t now)
{
    while (s->wait_len && now - s->waiting[s->wait_head] >= s->plan->timeout_ns) {
        waiting_pop(s);
        s->inflight--;
        count_failures(s, ERR_TIMEOUT, 1);
        s->cur->timeouts_queued++;
    }
}

/* Open loop: every arrival due by `until` (<= now) is issued: sent on an idle connection
 * (when `send`), or queued with its intended start, or dropped when the queue is full. */
static void release_arrivals(struct worker_state *s, uint64_t now, uint64_t until, bool send)
{
    while (s->next_arrival <= until) {
        if (s->w->max_requests && s->issued >= s->w->max_requests) {
            s->next_arrival = UINT64_MAX;
            break;
        }
        uint64_t at = s->next_arrival;
        hist_record(s->cur->schedule_lag, (now - at) / 1000);
        if (s->scn) {  /* a new user, waiting for a connection (counted at stop if it still is) */
            scenario_arrival(s, at);
            schedule_next(s);
            continue;
        }
        s->issued++;
        s->cur->issued++;
        s->inflight++;
        if (send && s->nidle && !s->wait_len) {
            open_send(s, idle_pop(s), at, now);
            schedule_next(s);
            continue;
        }
        /* A full queue first lets go of what has timed out: those fail as timeouts, not
         * the new arrival as dropped (the scan that expires them runs every timeout / 20). */
        if (s->wait_len == s->wait_cap) expire_waiting(s, now);
        if (s->wait_len < s->wait_cap) {
            uint32_t slot = s->wait_head + s->wait_len++;
            s->waiting[slot >= s->wait_cap ? slot - s->wait_cap : slot] = at;
        } else {
            s->inflight--;
            count_failures(s, ERR_DROPPED, 1);
        }
        schedule_next(s);
    }
}

/* Closed loop with a shape: this worker's share of the users the shape wants now. Users
 * are numbered globally, user j living on worker j mod N, so the shares add up exactly
 * and change one user at a time. */
static void update_users(struct worker_state *s, uint64_t now)
{
    const struct plan *p = s->plan;
    double u = floor(shape_value(&p->shape, (double)(now - s->w->start_ns) / 1e9) + 1e-9);
    uint64_t total = u > 0 ? (uint64_t)u : 0;
    unsigned n = p->threads, id = s->w->id;
    uint64_t want = total > id ? (total - id + n - 1) / n : 0;
    if (s->conn_user) {  /* users share the pool: the shape sets the users, the pool stays */
        share_set_users(s, want > UINT32_MAX ? UINT32_MAX : (uint32_t)want, now);
        s->next_shape_check = now + SHAPE_TICK_NS;
        return;
    }
    if (want > s->w->nconns) want = s->w->nconns;
    uint32_t old = s->active;
    s->active = (uint32_t)want;
    /* Retiring users finish their request first: busy ones park when answered (after_responses),
     * connecting ones when connected, queued ones when dequeued. */
    for (uint32_t i = s->active; i < old; i++) {
        struct conn *c = &s->conns[i];
        if (s->scn) user_retire(&s->users, i), s->restart_when_free[i] = 0;
        if (c->state == C_OPEN && !c->inflight && !c->owed) park(s, i);
    }
    for (uint32_t i = old; i < s->active; i++) {
        /* A new user each time; one whose request from before is still out starts once it
         * has ended (its answer counts for the step it was sent for). */
        if (s->scn && (s->conns[i].inflight || s->conns[i].owed)) s->restart_when_free[i] = 1;
        else if (s->scn) user_start(&s->users, i, now);
        if (s->conns[i].state == C_PARKED) {
            s->conns[i].backoff_ns = 0;
            queue_connect(s, i);
        }
    }
    s->next_shape_check = now + SHAPE_TICK_NS;
}

/* ---- receiving ---- */

static bool response_done(struct worker_state *s, struct conn *c, uint32_t idx, uint64_t now)
{
    const struct plan *p = s->plan;
    uint64_t sent = s->sent_at[(size_t)idx * p->pipeline + c->head];
    /* now may be the kernel's arrival time (rx_time.h). One before the send can only come
     * from the real-time clock stepping: then the response is timed as it was read. */
    if (now < sent) now = s->wait_now > sent ? s->wait_now : sent;
    /* Complete only at or past its timeout: the timer scan, every timeout/20, had not
     * failed it yet (it counted as a success, up to 5% over). The caller fails it as the
     * scan would have at the deadline. */
    uint64_t limit = __builtin_expect(s->scn != NULL, 0) && user_of(s, idx) != USER_NONE
                         ? user_step(&s->users, user_of(s, idx))->timeout_ns
                         : p->timeout_ns;
    if (__builtin_expect(now - sent >= limit, 0)) return false;
    if (c->t_first_byte < sent) c->t_first_byte = s->wait_now > sent ? s->wait_now : sent;
    if (++c->head == p->pipeline) c->head = 0;
    c->inflight--;
    s->inflight--;
    struct stats *st = s->cur;
    if (s->from_intended) {
        hist_record(st->latency, (now - s->intended[idx]) / 1000);
        hist_record(st->service, (now - sent) / 1000);
    } else {
        hist_record(st->latency, (now - sent) / 1000);
    }
    hist_record(st->ttfb, (c->t_first_byte - sent) / 1000);
    unsigned code = c->parser.status;  /* three digits: below STATUS_CODES */
    st->status[code]++;
    st->body_bytes += c->parser.body_bytes;
    if (__builtin_expect(s->per_step, 0)) {  /* users, or the step of a file's static program */
        if (s->scn) user_response(s, c, idx, (now - sent) / 1000, now);
        else static_step_done(s, &c->parser, now - sent);
    } else if (plan_status_ok(p, code)) {
        st->ok++;
    } else {
        count_failures(s, ERR_STATUS, 1);
    }
    if (c->parser.flags & HTTP_F_CLOSE) c->server_closing = 1;
    c->retried = 0;
    http_resp_start(&c->parser, p->no_body_response);
    return true;
}

/* Parses one receive buffer. Returns false when the connection was ended. */
static bool consume(struct worker_state *s, struct conn *c, uint32_t idx, const char *data, size_t len,
                    uint64_t now)
{
    s->cur->bytes_received += len;
    while (len) {
        if (!c->inflight) {  /* bytes nobody asked for: no request fails, the connection ends */
            s->cur->closed_unsolicited++;
            conn_end(s, idx, ERR_PARSE, BY_CLIENT);
            return false;
        }
        if (!http_resp_started(&c->parser)) c->t_first_byte = now;
        ssize_t n = http_resp_feed(&c->parser, data, len);
        if (__builtin_expect(s->scn != NULL, 0) && n > 0 && s->rsp_keep[idx]) rsp_append(s, c, idx, data, (size_t)n);
        if (n < 0) {
            /* every request in flight on it fails as parse (conn_close): the reason counts them all */
            s->cur->parse_reason[c->parser.error < STATS_PARSE_REASONS ? c->parser.error : 0] += c->inflight;
            conn_end(s, idx, ERR_PARSE, BY_CLIENT);
            return false;
        }
        data += n;
        len -= (size_t)n;
        if (c->parser.state == HTTP_DONE && !response_done(s, c, idx, now)) {
            conn_end(s, idx, ERR_TIMEOUT, BY_CLIENT);  /* complete past its timeout */
            return false;
        }
    }
    return true;
}

/* The server closed or reset a reused connection before a byte of the next response:
 * the keep-alive race, in which a server that closes an idle connection never read the
 * requests that crossed its FIN; or a close it announced (Connection: close, a body that
 * ran to the close), which leaves the requests pipelined behind unread (RFC 9112 9.3.2).
 * Like browsers and Go's HTTP client, send them again on a new connection if the method
 * is idempotent; they keep their send times, so the delay shows in their latency. Again
 * only after the connection answered one (c->retried clears then), so the run always
 * moves on. Returns false when this does not apply and the requests must fail. */
static bool retry_unanswered(struct worker_state *s, struct conn *c, uint32_t idx)
{
    bool idempotent = s->scn ? user_of(s, idx) != USER_NONE && user_step(&s->users, user_of(s, idx))->idempotent
                             : s->plan->idempotent;
    if (!c->inflight || c->retried || c->sent == c->inflight || http_resp_started(&c->parser) || !idempotent)
        return false;
    s->cur->retried_requests += c->inflight;
    count_close(s, BY_SERVER);
    c->owed = c->inflight;
    c->inflight = 0;  /* still counted in s->inflight: they are in flight */
    s->open--;
    close_socket(s, c, idx, true);
    c->gen++;
    queue_connect(s, idx);
    return true;
}

/* After a batch of bytes: keep the connection busy, or retire it. */
static void after_responses(struct worker_state *s, struct conn *c, uint32_t idx, uint64_t now)
{
    const struct plan *p = s->plan;
    if (c->inflight && c->server_closing) {
        /* Connection: close with requests pipelined behind it: the server will not answer
         * them (RFC 9112 9.6), so close now instead of waiting for its FIN. */
        if (!retry_unanswered(s, c, idx)) conn_reset(s, idx, RESET_CLOSE_PIPELINED, BY_SERVER);
        return;
    }
    if (c->inflight) {
        fill_pipeline(s, c, idx, now);
        return;
    }
    if (c->server_closing) {
        conn_end(s, idx, ERR_RESET, BY_SERVER);  /* idle: nothing fails */
    } else if (p->requests_per_conn && c->sent >= p->requests_per_conn) {
        conn_end(s, idx, ERR_RESET, BY_CLIENT);
    } else if (idx >= s->active || user_stopped(s, idx)) {
        park(s, idx);
    } else if (p->open_loop && !s->scn) {
        conn_ready(s, c, idx, now);
    } else {
        fill_pipeline(s, c, idx, now);
    }
}

static void on_eof(struct worker_state *s, struct conn *c, uint32_t idx, uint64_t now)
{
    if (retry_unanswered(s, c, idx)) return;
    int r = http_resp_eof(&c->parser);
    enum reset_cause cause = RESET_UNANSWERED;
    if (r == 1 && c->inflight) {
        if (!response_done(s, c, idx, now)) {
            conn_end(s, idx, ERR_TIMEOUT, BY_SERVER);  /* complete past its timeout */
            return;
        }
        c->server_closing = 1;
        if (retry_unanswered(s, c, idx)) return;  /* pipelined behind a body that ran to the close */
    } else if (r < 0) {
        /* The response being read was cut short: it and the requests pipelined behind it
         * fail as resets, all lost to that close, so the cause counts them all. */
        cause = RESET_MID_RESPONSE;
    }
    /* Unanswered requests fail as resets (the close counts whatever the method: only
     * idempotent ones are sent again); an idle close is routine. */
    conn_reset(s, idx, cause, BY_SERVER);
}

/* ---- completions ---- */

static void return_buffer(struct worker_state *s, uint32_t cqe_flags)
{
    unsigned bid = cqe_flags >> IORING_CQE_BUFFER_SHIFT;
    io_uring_buf_ring_add(s->ring.br, s->ring.bufs + (size_t)bid * s->ring.buf_size, s->ring.buf_size,
                          (unsigned short)bid, s->ring.buf_mask, (int)s->buf_returned++);
}

static bool tls_receive(struct worker_state *s, struct conn *c, uint32_t idx, const char *data, size_t len,
                        uint64_t now);

static void on_recv(struct worker_state *s, struct conn *c, uint32_t idx, struct io_uring_cqe *cqe, uint64_t now)
{
    int res = cqe->res;
    bool more = cqe->flags & IORING_CQE_F_MORE;
    if (!more) c->recv_armed = 0;
    if (res > 0) {
        char *data = s->ring.bufs + (size_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT) * s->ring.buf_size;
        size_t len = (size_t)res;
        uint64_t at = now;  /* when the bytes arrived */
        if (s->rx_timed) {  /* a recvmsg buffer with the kernel's receive time (rx_time.h) */
            struct rx_bytes rx;
            bool ok = rx_time_unwrap(&s->rx_msg, data, res, s->mono_minus_real, now, &rx);
            if (!ok || !rx.len) {
                return_buffer(s, cqe->flags);
                if (ok) on_eof(s, c, idx, now);
                else conn_reset(s, idx, RESET_UNREADABLE, BY_CLIENT);
                return;
            }
            s->rx_received++;
            s->kernel_timed += rx.kernel_timed;
            data = (char *)rx.data;
            len = rx.len;
            at = rx.at;
        }
        /* Responses are timed from their arrival; what they lead to runs from now. */
        bool alive = c->tls ? tls_receive(s, c, idx, data, len, now) : consume(s, c, idx, data, len, at);
        return_buffer(s, cqe->flags);
        if (!alive) return;
        if (c->state == C_OPEN) after_responses(s, c, idx, now);
    } else if (c->state == C_CONNECTING && res != -ENOBUFS) {  /* https: gone during the handshake */
        handshake_failed(s, c, res ? "connection reset during the TLS handshake"
                                   : "the server closed the connection during the TLS handshake", BY_SERVER, now);
        return;
    } else if (res == 0) {
        on_eof(s, c, idx, now);
        return;
    } else if (res != -ENOBUFS) {  /* a reset: the server closed it, as on_eof() counts */
        if (!retry_unanswered(s, c, idx)) conn_reset(s, idx, reset_cause_of(res), BY_SERVER);
        return;
    }
    /* ENOBUFS or a single-shot/terminated recv: re-arm once buffers are back. */
    if (!c->recv_armed && !c->rearm_queued) {
        c->rearm_queued = 1;
        s->rearm[s->nrearm++] = idx;
    }
}

/* Connected (and, for https, handshaken): the connection starts carrying requests. */
static void conn_established(struct worker_state *s, struct conn *c, uint32_t idx, uint64_t now)
{
    s->connecting--;
    c->state = C_OPEN;
    /* Over TLS 1.3 a server may still refuse the client (its certificate) after the
     * handshake: the backoff ends with the first response instead (tls_receive). */
    if (!c->tls) c->backoff_ns = 0;
    s->open++;
    if (s->open > s->max_open) s->max_open = s->open;
    if ((idx >= s->active || user_stopped(s, idx)) && !c->owed) {  /* retired while connecting */
        park(s, idx);
        return;
    }
    if (s->plan->open_loop && !s->scn && !c->owed) conn_ready(s, c, idx, now);
    else fill_pipeline(s, c, idx, now);
}

static void on_connect(struct worker_state *s, struct conn *c, uint32_t idx, int res, uint64_t now)
{
    if (res < 0) {
        connect_failed(s, c, -res, now);
        return;
    }
    s->cur->conns_opened++;
    hist_record(s->cur->connect, (now - c->t_connect) / 1000);
    arm_recv(s, c, idx);
    if (!s->tls_ctx) {
        conn_established(s, c, idx, now);
        return;
    }
    /* https: the handshake first; the connection stays CONNECTING until it ends */
    c->t_established = now;
    c->tls = tls_conn_create(s->tls_ctx);
    if (!c->tls) {
        handshake_failed(s, c, "out of memory for a TLS connection", BY_CLIENT, now);
        return;
    }
    if (tls_conn_handshake(c->tls) == TLS_ERROR) {
        handshake_failed(s, c, tls_conn_error(c->tls), BY_CLIENT, now);
        return;
    }
    tls_flush(s, c, idx);
}

/* https: received ciphertext. Drives the handshake, then decrypts into the worker's
 * plaintext buffer and parses it there. Returns false when the connection was ended. */
static bool tls_receive(struct worker_state *s, struct conn *c, uint32_t idx, const char *data, size_t len,
                        uint64_t now)
{
    if (tls_conn_feed(c->tls, data, len)) {
        static const char why[] = "received bytes while earlier ones were unread";
        if (c->state == C_CONNECTING) {
            handshake_failed(s, c, why, BY_CLIENT, now);
        } else {
            stats_tls_reason(s->cur, why, c->inflight);
            conn_end(s, idx, ERR_TLS, BY_CLIENT);
        }
        return false;
    }
    if (c->state == C_CONNECTING) {
        enum tls_status st = tls_conn_handshake(c->tls);
        if (st == TLS_ERROR) {
            handshake_failed(s, c, tls_conn_error(c->tls), BY_CLIENT, now);
            return false;
        }
        if (st == TLS_WANT) {
            tls_flush(s, c, idx);
            return true;  /* every fed byte taken */
        }
        bool resumed = tls_conn_resumed(c->tls);
        hist_record(resumed ? s->cur->handshake_resumed : s->cur->handshake_full, (now - c->t_established) / 1000);
        if (__builtin_expect(!s->w->tls_version[0], 0)) {  /* for the report: what the server chose */
            int v = tls_conn_version(c->tls);
            snprintf(s->w->tls_version, sizeof(s->w->tls_version), "%s",
                     v == TLS_V1_3 ? "TLS 1.3" : v == TLS_V1_2 ? "TLS 1.2" : "TLS (older)");
            snprintf(s->w->tls_cipher, sizeof(s->w->tls_cipher), "%s", tls_conn_cipher(c->tls));
        }
        if (resumed) s->cur->handshakes_resumed++;
        else s->cur->handshakes_full++;
        /* The client's last handshake flight (its Finished) goes out with the first
         * request, in one send: one segment and one wake-up of the server, not two. */
        conn_established(s, c, idx, now);
        if (c->state != C_OPEN) return false;
        tls_flush(s, c, idx);  /* no request yet (open loop): the Finished alone */
    }
    for (;;) {  /* until every fed byte is taken: the receive buffer then goes back */
        long n = tls_conn_read(c->tls, s->plain, s->plain_cap);
        if (n > 0) {
            if (!consume(s, c, idx, s->plain, (size_t)n, now)) return false;
        } else if (n == 0) {
            break;
        } else if (n == TLS_IO_CLOSED) {  /* close_notify: like EOF */
            on_eof(s, c, idx, now);
            return false;
        } else {
            stats_tls_reason(s->cur, tls_conn_error(c->tls), c->inflight);
            /* a bad record when no request waits: no request fails, as consume() */
            if (!c->inflight) s->cur->closed_unsolicited++;
            bool answered = c->sent > c->inflight;
            conn_close(s, idx, ERR_TLS, BY_CLIENT);
            if (answered) queue_connect(s, idx);
            else backoff(c, now);  /* refused before any response: as a failed handshake */
            return false;
        }
    }
    if (c->backoff_ns && c->sent > c->inflight) c->backoff_ns = 0;  /* answered: the server accepts us */
    tls_flush(s, c, idx);  /* a read may leave something to send (a key update) */
    return true;
}

static void worker_dispatch(struct worker_state *s, struct io_uring_cqe *cqe, uint64_t now)
{
    enum op op = (enum op)(cqe->user_data >> 56);
    uint32_t idx = (uint32_t)(cqe->user_data >> 32) & 0xffffff;
    uint32_t gen = (uint32_t)cqe->user_data;
    struct conn *c = &s->conns[idx];
    if (c->gen != gen) {  /* for a socket already closed */
        if (cqe->flags & IORING_CQE_F_BUFFER) return_buffer(s, cqe->flags);
        return;
    }
    switch (op) {
    case OP_CONNECT:
        on_connect(s, c, idx, cqe->res, now);
        break;
    case OP_RECV:
        on_recv(s, c, idx, cqe, now);
        break;
    case OP_SEND: {
        /* A silent send completes only when it failed (error or short). */
        bool silent = !c->sending;
        c->sending = 0;
        if (silent || cqe->res < 0 || (uint32_t)cqe->res != c->send_len) {
            /* the server reset the connection under the send */
            if (c->state == C_CONNECTING) handshake_failed(s, c, "the TLS handshake could not be sent", BY_SERVER, now);
            else if (!retry_unanswered(s, c, idx))  /* a short send: reset under it */
                conn_reset(s, idx, cqe->res < 0 ? reset_cause_of(cqe->res) : RESET_BY_PEER, BY_SERVER);
        } else if (c->tls && (tls_flush(s, c, idx), c->state != C_OPEN)) {
            /* handshake bytes sent: wait for the server's */
        } else if (!s->plan->open_loop || s->scn) {
            fill_pipeline(s, c, idx, now);
        } else if (!c->inflight) {  /* answered before the send completed */
            after_responses(s, c, idx, now);
        }
        break;
    }
    case OP_CLOSE:
        break;
    }
}

/* ---- timers and statistics ---- */

/* Scenario users that have all stopped for good (on_failure: stop), none to restart. */
static bool users_all_stopped(const struct worker_state *s)
{
    for (uint32_t i = 0; i < s->users.n; i++)
        if (s->users.users[i].state != USER_STOPPED || (s->restart_when_free && s->restart_when_free[i])) return false;
    return true;
}

static void scan_timers(struct worker_state *s, uint64_t now)
{
    /* -n alone ends when the budget is spent; a worker whose users all stopped never
     * spends its own: it is done (the run ends with fewer than -n, all accounted for).
     * In open loop every user stops after its task, so all are stopped between arrivals:
     * done only once no more arrive. */
    if (s->scn && s->w->max_requests && !s->w->end_ns && !s->inflight && !s->stopping &&
        s->next_arrival == UINT64_MAX && users_all_stopped(s))
        s->stopping = true;
    const struct plan *p = s->plan;
    uint64_t next_backoff = UINT64_MAX;
    for (uint32_t i = 0; i < s->w->nconns; i++) {
        struct conn *c = &s->conns[i];
        if (c->state == C_OPEN && c->inflight) {
            uint64_t sent = s->sent_at[(size_t)i * p->pipeline + c->head];
            uint64_t limit = s->scn && user_of(s, i) != USER_NONE ? user_step(&s->users, user_of(s, i))->timeout_ns
                                                                  : p->timeout_ns;
            /* a send made after captures in this batch is stamped later than now (user_send) */
            if (now > sent && now - sent >= limit) conn_end(s, i, ERR_TIMEOUT, BY_CLIENT);
        } else if (c->state == C_CONNECTING && now - c->t_connect >= p->timeout_ns) {
            if (c->tls)
                handshake_failed(s, c, "no TLS handshake within --timeout (is the server speaking TLS?)", BY_CLIENT, now);
            else connect_failed(s, c, ETIMEDOUT, now);
        } else if (c->state == C_BACKOFF) {
            if (now >= c->t_connect) queue_connect(s, i);
            else if (c->t_connect < next_backoff) next_backoff = c->t_connect;
        }
    }
    if (s->conn_user) waiters_time_out(s, now);
    expire_waiting(s, now);
    s->next_scan = now + s->scan_every;
    if (next_backoff < s->next_scan) s->next_scan = next_backoff;
}

/* The gauges of the slot about to be published (or left as the last one). */
static void record_gauges(struct worker_state *s)
{
    s->cur->open_conns = s->open;
    s->cur->active_users = s->conn_user ? s->users_active : s->active;
    s->cur->queued = s->wait_len;
}

static void rotate_stats(struct worker_state *s, uint64_t now)
{
    record_gauges(s);
    uint64_t iv = s->plan->interval_ns, k = (now - s->w->start_ns) / iv;
    s->cur->boundary = k;
    struct stats *next = handover_publish(&s->w->stats);
    if (!next) {
        s->next_rotate = now + 1000000;  /* the reporter is late: publish a little later */
        return;
    }
    s->cur = next;
    /* The next boundary of the grid, not the retry's time plus intervals: a publish that
     * had to wait must not shift every later one (the last, at the end of -d, would then
     * come after the stop and its counts land in a row of a few microseconds). */
    s->next_rotate = s->w->start_ns + (k + 1) * iv;
}

/* ---- the loop ---- */

/* The batch is measured on service time: what a wait's lateness adds to. */
static void tune_batch(struct worker_state *s, uint64_t now)
{
    uint64_t answered = s->issued > s->inflight ? s->issued - s->inflight : 0;
    /* The wider window only while the kernel really times the receives (it switches its
     * timestamps on a moment after the first socket asks, and might not at all). */
    uint64_t received = s->rx_received - s->tuned_received, timed = s->kernel_timed - s->tuned_timed;
    bool arrival_timed = received ? timed * 10 >= received * 9 : s->batch.arrival_timed;
    s->tuned_received = s->rx_received;
    s->tuned_timed = s->kernel_timed;
    batch_tune(&s->batch, now, answered, s->from_intended ? s->cur->service : s->cur->latency, arrival_timed);
}

static unsigned wait_count(const struct worker_state *s)
{
    uint64_t busy = (uint64_t)s->open * s->plan->pipeline;
    return batch_want(&s->batch, busy < s->inflight ? busy : s->inflight, s->plan->open_loop);
}

static void run_loop(struct worker_state *s)
{
    struct worker *w = s->w;
    struct io_uring *ring = &s->ring.uring;
    uint64_t now = mono_ns();
    for (;;) {
        if (now >= s->next_rotate) rotate_stats(s, now);
        if (now >= s->batch.next_tune) tune_batch(s, now);
        if (atomic_load_explicit(w->stop, memory_order_relaxed)) break;
        if (w->end_ns && now >= w->end_ns) {
            /* Time is up, also while -n's last answers are awaited: what is in flight stays
             * in flight. Arrivals due before the end still count, even when the wake-up
             * came late: as waiting, since nothing is sent any more. */
            now = mono_ns();  /* not the wait's return: the turn's work came after it */
            atomic_store_explicit(&w->stopping_ns, now, memory_order_release);
            if (!s->stopping) release_arrivals(s, now, w->end_ns - 1, false);
            break;
        }
        if (!s->stopping && w->max_requests && s->issued >= w->max_requests) s->stopping = true;
        if (s->stopping && !s->inflight) break;  /* -n: every request answered (or timed out) */
        if (now >= s->next_shape_check) update_users(s, now);
        if (!s->stopping) release_arrivals(s, now, now, true);
        if (s->scn && !s->stopping) wake_users(s, now);
        if (s->conn_user) serve_waiters(s, now);
        bool more_connects = start_queued_connects(s, now);

        uint64_t wake = s->next_rotate < s->next_scan ? s->next_rotate : s->next_scan;
        if (s->scn && user_next_wake(&s->users) < wake) wake = user_next_wake(&s->users);
        if (s->next_shape_check < wake) wake = s->next_shape_check;
        unsigned want = wait_count(s);
        /* An arrival may leave up to one batch window late, so that a wait serves several
         * arrivals and completions: the lateness is measured (latency runs from the
         * schedule, schedule_lag shows it), never hidden. Only while waits do batch: at a
         * rate that brings less than two completions a window (want 1) there is nothing to
         * gather, and every arrival left a whole window late (-R 200 against a 20 ms
         * server: 1 ms of schedule lag and pool wait on each request, 5% of its latency). */
        if (!s->stopping && s->next_arrival != UINT64_MAX) {
            uint64_t due = s->next_arrival + (want > 1 ? s->batch.window_ns : 0);
            if (due < wake) wake = due;
        }
        if (s->q_len && s->fds_retry_at > now && s->fds_retry_at < wake) wake = s->fds_retry_at;
        if (w->end_ns && w->end_ns < wake) wake = w->end_ns;
        if (wake > now + MAX_TICK_NS) wake = now + MAX_TICK_NS;
        if (want > 1 && wake > now + BATCH_MAX_WAIT_NS) wake = now + BATCH_MAX_WAIT_NS;
        if (want > 1 && s->plan->open_loop && wake > now + s->batch.window_ns) wake = now + s->batch.window_ns;
        if (more_connects) want = 1, wake = now;  /* a turn that only reaps */
        uint64_t dt = wake > now ? wake - now : 0;
        struct __kernel_timespec ts = {.tv_sec = (long long)(dt / 1000000000), .tv_nsec = (long long)(dt % 1000000000)};
        struct io_uring_cqe *cqe;
        if (s->nunstamped) {  /* connect time runs from the submit, not from socket() */
            uint64_t t = mono_ns();
            for (uint32_t i = 0; i < s->nunstamped; i++) s->conns[s->unstamped[i]].t_connect = t;
            s->nunstamped = 0;
        }
        if (w->error) break;  /* a submit failed (get_sqe) */
        s->waits++;
        int rc = io_uring_submit_and_wait_timeout(ring, &cqe, want, &ts, NULL);
        if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
            snprintf(w->errmsg, sizeof(w->errmsg), "io_uring wait: %s", strerror(-rc));
            w->error = -rc;
            break;
        }
        now = mono_ns();
        s->wait_now = now;
        if (s->rx_timed) s->mono_minus_real = rx_time_offset();
        /* Timeouts before the completions: a worker that got no CPU for a while must not
         * take a response that came long past its request's timeout as a success. */
        if (now >= s->next_scan) scan_timers(s, now);
        unsigned head, seen = 0;
        io_uring_for_each_cqe(ring, head, cqe) {
            worker_dispatch(s, cqe, now);
            seen++;
        }
        io_uring_cq_advance(ring, seen);
        s->batch.cqes += seen;
        if (s->buf_returned) {
            io_uring_buf_ring_advance(s->ring.br, (int)s->buf_returned);
            s->buf_returned = 0;
        }
        for (uint32_t i = 0; i < s->nrearm; i++) {
            struct conn *c = &s->conns[s->rearm[i]];
            c->rearm_queued = 0;
            if (c->state == C_OPEN && !c->recv_armed && c->fd >= 0) arm_recv(s, c, s->rearm[i]);
        }
        s->nrearm = 0;
    }
    /* The stop's time is read when it is decided, not taken from the wait's return: the
     * turn since may have taken a while (timers over every connection, a long batch), past
     * a report boundary. The -d way out stored it already; its release of arrivals, after
     * that, is not part of the run. */
    uint64_t decided = atomic_load_explicit(&w->stopping_ns, memory_order_relaxed);
    now = decided ? decided : mono_ns();
    w->stopped_ns = now;
    atomic_store_explicit(&w->stopping_ns, now, memory_order_release);
}

/* ---- set-up and tear-down (cold; the state's allocation is worker_state.c's) ---- */

static void pin(struct worker *w)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* At stop: how long each request still in flight (sent, or waiting for a connection)
 * has been going, from its intended start. Scenario users waiting for a shared connection
 * count too: their request is issued (one whose wait times out fails as issued, and in
 * open loop it was due when its arrival came, as a queued request of the quick mode is),
 * so they are in flight, queued at stop, aged from the start of their wait. */
static void record_in_flight(struct worker_state *s, uint64_t now)
{
    const struct plan *p = s->plan;
    struct hist *age = s->cur->age_at_stop;
    for (uint32_t i = 0; i < s->w->nconns; i++) {
        struct conn *c = &s->conns[i];
        uint32_t n = c->inflight + c->owed, slot = c->head;
        for (uint32_t k = 0; k < n; k++, slot = slot + 1 == p->pipeline ? 0 : slot + 1) {
            uint64_t t = s->from_intended ? s->intended[i] : s->sent_at[(size_t)i * p->pipeline + slot];
            hist_record(age, now > t ? (now - t) / 1000 : 0);
        }
    }
    for (uint32_t k = 0, j = s->wait_head; k < s->wait_len; k++, j = j + 1 == s->wait_cap ? 0 : j + 1)
        hist_record(age, now > s->waiting[j] ? (now - s->waiting[j]) / 1000 : 0);
    /* Closed loop, a connection of its own: a connect or TLS handshake still under way
     * stands for the request it was opened for (attempt_failed fails it as issued), so it
     * is in flight, waiting for its connection, aged from the connect: a server that never
     * ends its handshakes shows as requests in flight, as in open loop, not as nothing sent. */
    if (!p->open_loop && !s->conn_user && !s->stopping)
        for (uint32_t i = 0; i < s->w->nconns; i++) {
            const struct conn *c = &s->conns[i];
            if (c->state != C_CONNECTING || c->owed) continue;  /* owed: counted above */
            if (s->scn && (user_of(s, i) == USER_NONE || s->users.users[user_of(s, i)].state != USER_READY)) continue;
            s->issued++;
            s->cur->issued++;
            s->inflight++;
            s->connects_waiting++;
            hist_record(age, now > c->t_connect ? (now - c->t_connect) / 1000 : 0);
        }
    if (!s->ufifo) return;
    for (uint32_t k = 0, j = s->uf_head; k < s->uf_len; k++, j = j + 1 == s->users.n ? 0 : j + 1) {
        if (s->users.users[s->ufifo[j]].state != USER_READY) continue;  /* retired meanwhile */
        if (!budget_left(s)) break;  /* -n is spent: its request would never have gone out */
        s->issued++;
        s->cur->issued++;
        s->inflight++;
        s->users_waiting++;
        hist_record(age, now > s->ufifo_at[j] ? (now - s->ufifo_at[j]) / 1000 : 0);
    }
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pin(w);
    /* Timed waits end within 1 µs of their deadline instead of the default 50 µs slack:
     * open-loop sends leave on schedule. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    struct worker_state *s = state_create(w);
    if (!s) {
        if (!w->error) w->error = 1;
        atomic_store_explicit(&w->stopping_ns, mono_ns(), memory_order_release);
        atomic_store_explicit(&w->done, true, memory_order_release);
        return NULL;
    }
    s->cur = handover_current(&w->stats);
    uint64_t now = mono_ns();
    s->next_rotate = w->start_ns + w->plan->interval_ns;
    s->next_scan = now + s->scan_every;
    const struct plan *p = w->plan;
    s->active = w->nconns;
    s->next_shape_check = UINT64_MAX;
    s->next_arrival = UINT64_MAX;
    batch_init(&s->batch, now);
    if (p->shaped && !p->open_loop) {
        if (!s->conn_user) s->active = 0;  /* sharing: every connection of the pool opens */
        update_users(s, now);
    }
    if (s->free_slots) {  /* open loop: users come with the arrivals */
        s->users.once = true;
        for (uint32_t i = w->nusers; i-- > 0;) s->free_slots[s->nfree++] = i, s->slot_free_now[i] = 1;
    } else if (s->conn_user && !p->shaped) {  /* every user starts, waiting for a connection */
        for (uint32_t i = 0; i < w->nusers; i++) user_start(&s->users, i, now), user_enqueue(s, i, now);
        s->users_active = w->nusers;
    }
    else if (s->scn && !(p->shaped && !p->open_loop))
        for (uint32_t i = 0; i < s->active; i++) user_start(&s->users, i, now);
    for (uint32_t i = 0; i < s->active; i++) queue_connect(s, i);
    for (uint32_t i = s->active; i < w->nconns; i++) s->conns[i].state = C_PARKED;
    if (p->open_loop) {
        s->rng = 0x9E3779B97F4A7C15ull * (w->id + 1) ^ w->start_ns;
        if (!s->rng) s->rng = 1;
        s->next_area = p->poisson ? 0 : (double)w->id - (double)p->threads;
        schedule_next(s);
    }

    /* The CPU window inside the wall one: a loop stopped at once (a signal as the run
     * starts) lasts microseconds, and the clock reads around it made its CPU 142% of it. */
    uint64_t loop0 = mono_ns(), cpu0 = thread_cpu_ns();
    run_loop(s);
    w->cpu_ns = thread_cpu_ns() - cpu0;
    w->loop_ns = mono_ns() - loop0;
    s->connects_deferred = 0;  /* held for a next turn that never came */
    w->waits = s->waits;
    w->kernel_timed = s->kernel_timed;
    w->sends = s->sends;
    w->completions = batch_completions(&s->batch);

    record_in_flight(s, w->stopped_ns);
    w->queued_at_stop = s->wait_len + s->users_waiting + s->connects_waiting;
    w->in_flight = s->inflight;
    w->max_open = s->max_open;
    record_gauges(s);
    /* The last batch's closes are queued but not submitted, and a close linked behind a
     * cancel runs as task work: run both, so no descriptor outlives the run (find_limit
     * runs many in one process). */
    io_uring_submit_and_get_events(&s->ring.uring);
    state_destroy(s);
    if (p->scenario_file) extract_thread_exit();  /* this thread's JSON arena */
    atomic_store_explicit(&w->done, true, memory_order_release);
    return NULL;
}

int worker_start(struct worker *w)
{
    atomic_init(&w->stats.published, 0);
    atomic_init(&w->stats.consumed, 0);
    atomic_init(&w->done, false);
    atomic_init(&w->stopping_ns, 0);
    return pthread_create(&w->thread, NULL, worker_main, w);
}

void worker_join(struct worker *w)
{
    pthread_join(w->thread, NULL);
}
