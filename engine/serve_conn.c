/* One connection of `barrage serve`: read, parse, queue responses, write, close.
 *
 * The hot path, per readable event: one recv() into the worker's buffer, every complete
 * request in it answered into the staging queue (the prebuilt default response is one
 * memcpy), one sendmsg(). Only what the socket does not take at once, or what waits for a
 * delay, is moved to a queue of the connection's own, which then collects the following
 * responses until it drains; leftover bytes of a partial request are copied to conn->in.
 *
 * Back-pressure: while the queue is past its high-water marks (serve_outq_full) the
 * connection neither parses nor reads; EPOLLOUT or the delay timer resumes it. The socket
 * is edge-triggered, so `may_read` remembers that there may be bytes left to read.
 *
 * --capacity: a connection is served one request at a time. A complete request takes a
 * slot (serve_worker_slot_take) before it is answered, its response gated to the slot's
 * end; without a free slot it stays unparsed in conn->in while the connection waits in
 * the worker's queue. While waiting, or while its request holds the slot, the connection
 * parses and reads no further, just like back-pressure. The connection's timer wakes it
 * at the slot's end, when it gives the slot back, writes the response and goes on with
 * its next request, which queues behind those already waiting. A client that closes its
 * side while its request waits has given up (a timeout, say): like a proxy (nginx's 499)
 * the server drops the request and the connection, so abandoned requests cost no slot.
 * One that closes while its request holds a slot still gets the answer.
 *
 * --api: the JSON routes need their (small) request body whole. Such a request is not taken
 * until its body has arrived too: head and body wait together in conn->in, the head parsed
 * again with each read (bodies over SERVE_API_MAX_BODY are dropped and answered 413), and
 * then serve_api.c answers it in one go, the head's offsets and the body pointing into the
 * input still in hand.
 *
 * Request bodies come with a Content-Length (body_left counts them down) or chunked
 * (conn->chunked decodes the framing as it arrives; /echo answers it chunked, a chunk per
 * run of data, and the other routes answer once the body has ended). Other transfer
 * codings, chunked from an HTTP/1.0 client or with a Content-Length too, and chunked bodies
 * to the --api routes (which need a length) are refused and the connection closed.
 */
#include "serve_worker.h"
#include "serve_reply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Why consuming input stopped. */
enum consumed {
    CONSUMED_NEED_INPUT,   /* all of it used, or a partial request kept in conn->in */
    CONSUMED_QUEUE_FULL,   /* complete requests wait in conn->in for queue room */
    CONSUMED_WAIT_SLOT,    /* --capacity: input waits in conn->in for a slot */
};

struct serve_conn *serve_conn_create(struct serve_worker *w, int fd)
{
    struct serve_conn *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->fd = fd;
    c->may_read = 1;
    c->heap_index = SERVE_NO_TIMER;
    c->next = w->conns;
    if (w->conns) w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    return c;
}

void serve_conn_close(struct serve_worker *w, struct serve_conn *c)
{
    serve_worker_slot_give(w, c);
    serve_worker_clear_timer(w, c);
    serve_worker_update_idle(w, c, false);
    if (c->prev) c->prev->next = c->next;
    else w->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    w->nconns--;
    close(c->fd);
    free(c->in);
    serve_outq_destroy(c->out);
    free(c);
}

/* An RST instead of a FIN: SO_LINGER with a zero timeout makes close() abort. */
static void conn_reset(struct serve_worker *w, struct serve_conn *c)
{
    struct linger abort_now = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof(abort_now));
    serve_conn_close(w, c);
}

/* Reads and drops input until the peer's EOF, which ends the connection. */
static void conn_linger_read(struct serve_worker *w, struct serve_conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, w->rbuf, SERVE_RBUF_BYTES, 0);
        if (n > 0 || (n < 0 && errno == EINTR)) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        serve_conn_close(w, c);
        return;
    }
}

/* Graceful close once the last response is written. Closing a socket with unread input
 * makes the kernel send an RST, which can destroy responses the client has not read yet
 * (pipelined requests after a `Connection: close` do exactly that). So send our FIN with
 * shutdown(), read to the client's EOF, and only then close; a timer bounds the wait. */
static void conn_start_linger(struct serve_worker *w, struct serve_conn *c)
{
    serve_worker_slot_give(w, c);   /* it answers nothing more */
    if (c->eof || shutdown(c->fd, SHUT_WR) < 0) {
        serve_conn_close(w, c);
        return;
    }
    c->lingering = 1;
    serve_worker_update_idle(w, c, false);
    serve_worker_set_timer(w, c, w->now + SERVE_LINGER_NS);
    conn_linger_read(w, c);
}

static void conn_after(struct serve_conn *c, enum serve_after after)
{
    if (after == SERVE_AFTER_CLOSE) c->closing = 1;
    else if (after == SERVE_AFTER_HANG) c->hung = 1;
}

/* --drop-after: after the response just queued, close without having announced it. */
static void conn_maybe_drop(struct serve_worker *w, struct serve_conn *c, struct serve_outq *q)
{
    if (w->cfg->drop_after && c->responses >= w->cfg->drop_after && !c->closing) {
        serve_outq_mark(q, SERVE_OUT_CLOSE, 0);
        c->closing = 1;
    }
}

/* --capacity: the end of the slot that the request being answered holds; 0 without. */
static uint64_t conn_not_before(const struct serve_conn *c)
{
    return c->slot == SERVE_SLOT_BUSY ? c->slot_end : 0;
}

/* The request body has ended: answers its request (or ends the echo). */
static void conn_body_done(struct serve_worker *w, struct serve_conn *c, struct serve_outq *q)
{
    if (c->body_mode == SERVE_BODY_ECHO)
        conn_after(c, serve_reply_finish(q, c->body_close));
    else if (c->body_mode == SERVE_BODY_ANSWER_AFTER)
        conn_after(c, serve_reply_queue(q, &c->body_req, c->body_close, w->now,
                                                conn_not_before(c)));
    else if (c->body_mode == SERVE_BODY_API_TOO_LARGE)
        conn_after(c, serve_api_queue(q, &w->api, &c->body_req, NULL, NULL, c->body_close,
                                      w->now, conn_not_before(c)));
    conn_maybe_drop(w, c, q);
}

/* Takes Content-Length body bytes of the request in progress; answers once the body is
 * complete. Returns the bytes taken. */
static size_t conn_body(struct serve_worker *w, struct serve_conn *c, struct serve_outq *q,
                        const char *p, size_t n)
{
    size_t take = c->body_left < n ? (size_t)c->body_left : n;
    if (c->body_mode == SERVE_BODY_ECHO) serve_outq_put(q, p, take);
    c->body_left -= take;
    if (!c->body_left) conn_body_done(w, c, q);
    return take;
}

/* Takes chunked body bytes (framing and data) of the request in progress, up to a run of
 * data or the body's end; answers once it has ended. Malformed framing closes the
 * connection: with a 400 when no response to the request has begun, else (an echo under
 * way) cutting that response short. Returns the bytes taken: all of p[0, n) after an error. */
static size_t conn_chunked(struct serve_worker *w, struct serve_conn *c, struct serve_outq *q,
                           const char *p, size_t n)
{
    size_t data_off, data_len;
    ssize_t used = serve_chunked_parse(&c->chunked, p, n, &data_off, &data_len);
    if (used < 0) {
        c->chunked.state = 0;
        if (c->body_mode == SERVE_BODY_ANSWER_AFTER || c->body_mode == SERVE_BODY_API_TOO_LARGE)
            serve_reply_error(q, 400, w->now);
        else if (!c->closing && !c->hung)
            serve_outq_mark(q, SERVE_OUT_CLOSE, 0);
        c->closing = 1;
        return n;
    }
    if (data_len && c->body_mode == SERVE_BODY_ECHO) serve_reply_chunk(q, p + data_off, data_len);
    if (!c->chunked.state) {
        if (c->body_mode == SERVE_BODY_ECHO) serve_reply_chunk(q, NULL, 0);
        conn_body_done(w, c, q);
    }
    return (size_t)used;
}

/* --api: the body bytes of req to hold with its head, so that it is answered in one piece;
 * 0 for none (not an --api request, no body, or one too long to hold). */
static size_t conn_api_body(const struct serve_worker *w, const struct serve_request *req)
{
    if (!w->cfg->api || !serve_api_route(req->route) || req->transfer_encoding) return 0;
    return req->content_length <= SERVE_API_MAX_BODY ? (size_t)req->content_length : 0;
}

/* A request whose Transfer-Encoding we do not read: the status to refuse it with (the
 * connection is then closed, the body's end being unknown); 0 for one we read. */
static unsigned conn_te_refusal(const struct serve_worker *w, const struct serve_request *req)
{
    if (!req->transfer_encoding) return 0;
    /* RFC 9112 6.1, 6.3: chunked not last leaves the length unknown (so does a Content-Length
     * beside it, a smuggling attempt's mark); HTTP/1.0 has no chunked */
    if (req->chunked == SERVE_TE_NOT_CHUNKED || req->minor == 0) return 400;
    if (req->chunked == SERVE_TE_CHUNKED_AFTER) return 501;   /* gzip, ...: not decoded */
    if (w->cfg->api && serve_api_route(req->route)) return 411;   /* they need the length */
    return 0;
}

/* Answers req. start: the bytes it was parsed from; body: its body when held whole (an
 * --api request), else NULL. */
static void conn_request(struct serve_worker *w, struct serve_conn *c, struct serve_outq *q,
                         const struct serve_request *req, const char *start, const char *body)
{
    unsigned refusal = conn_te_refusal(w, req);
    if (refusal) {
        serve_reply_error(q, refusal, w->now);
        c->closing = 1;
        return;
    }
    c->responses++;
    uint32_t close_after = w->cfg->close_after;
    bool close = !req->keep_alive || (close_after && c->responses >= close_after);
    bool api = w->cfg->api && serve_api_route(req->route);
    if (api && (body || !req->content_length)) {
        conn_after(c, serve_api_queue(q, &w->api, req, start, body, close, w->now,
                                      conn_not_before(c)));
        conn_maybe_drop(w, c, q);
        return;
    }
    if (!req->content_length && !req->transfer_encoding) {
        conn_after(c, serve_reply_queue(q, req, close, w->now, conn_not_before(c)));
        conn_maybe_drop(w, c, q);
        return;
    }
    if (req->expect_continue) serve_reply_continue(q);
    if (req->transfer_encoding) serve_chunked_start(&c->chunked);
    else c->body_left = req->content_length;
    c->body_close = close;
    if (req->route == SERVE_ROUTE_ECHO) {
        enum serve_after after = serve_reply_queue(q, req, close, w->now, conn_not_before(c));
        c->body_mode = after == SERVE_AFTER_BODY ? SERVE_BODY_ECHO : SERVE_BODY_DROP;
        if (after != SERVE_AFTER_BODY) conn_after(c, after);
    } else {
        c->body_mode = api ? SERVE_BODY_API_TOO_LARGE : SERVE_BODY_ANSWER_AFTER;
        c->body_req = *req;   /* its offsets are stale by the time it is answered: unused */
    }
}

/* Keeps the n unused bytes at p (which may lie inside conn->in) for the next round. */
static int conn_keep_input(struct serve_conn *c, const char *p, size_t n)
{
    if (n > c->in_cap) {
        size_t cap = n < 1024 ? 1024 : n;
        char *in = realloc(c->in, cap);
        if (!in) return -1;
        c->in = in;
        c->in_cap = cap;
    }
    if (n && p != c->in) memmove(c->in, p, n);
    c->in_len = n;
    if (!n && c->in_cap > 16 * 1024) {   /* a long head grew it: give the memory back */
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    return 0;
}

/* Answers the requests in buf[0, len) into q. Returns enum consumed, or -1 (no memory). */
static int conn_consume(struct serve_worker *w, struct serve_conn *c, struct serve_outq *q,
                        const char *buf, size_t len)
{
    size_t off = 0;
    int rc = CONSUMED_NEED_INPUT;
    while (off < len) {
        if (c->chunked.state) {
            if (c->body_mode == SERVE_BODY_ECHO && serve_outq_full(q)) {  /* a client not reading */
                rc = CONSUMED_QUEUE_FULL;
                break;
            }
            off += conn_chunked(w, c, q, buf + off, len - off);
            continue;
        }
        if (c->body_left) {
            if (c->body_mode == SERVE_BODY_ECHO && serve_outq_full(q)) {  /* a client not reading */
                rc = CONSUMED_QUEUE_FULL;
                break;
            }
            off += conn_body(w, c, q, buf + off, len - off);
            continue;
        }
        if (c->closing || c->hung) {   /* nothing after this gets answered */
            off = len;
            break;
        }
        if (serve_outq_full(q)) {
            rc = CONSUMED_QUEUE_FULL;
            break;
        }
        if (c->slot == SERVE_SLOT_WAITING || c->slot == SERVE_SLOT_BUSY) {
            rc = CONSUMED_WAIT_SLOT;
            break;
        }
        struct serve_request req;
        ssize_t n = serve_request_parse(buf + off, len - off, &c->scanned, &req);
        if (n == SERVE_REQ_INCOMPLETE) break;
        if (n < 0) {
            serve_reply_error(q, n == SERVE_REQ_TOO_LARGE ? 431 : 400, w->now);
            c->closing = 1;
            off = len;
            break;
        }
        size_t hold = conn_api_body(w, &req);
        if (hold > len - off - (size_t)n) {   /* parsed again once the body is here */
            if (req.expect_continue && !c->continued) {
                serve_reply_continue(q);
                c->continued = 1;
            }
            break;
        }
        if (w->cfg->capacity && !serve_worker_slot_take(w, c)) {
            rc = CONSUMED_WAIT_SLOT;   /* parsed again (from scratch) once it has a slot */
            break;
        }
        const char *start = buf + off;
        off += (size_t)n;
        c->continued = 0;
        conn_request(w, c, q, &req, start, hold ? buf + off : NULL);
        off += hold;
    }
    return conn_keep_input(c, buf + off, len - off) < 0 ? -1 : rc;
}

/* One recv(), after the kept partial request, then consumes. Returns as conn_consume. */
static int conn_read(struct serve_worker *w, struct serve_conn *c, struct serve_outq *q)
{
    /* conn->in holds at most a partial head here, or a head and part of its --api body
     * (complete requests are consumed before reading), so room is at least one read's
     * worth (SERVE_RBUF_BYTES). */
    size_t have = c->in_len;
    if (have) memcpy(w->rbuf, c->in, have);
    size_t room = SERVE_RBUF_BYTES - have;
    ssize_t n = recv(c->fd, w->rbuf + have, room, 0);
    if (n < 0) {
        if (errno == EINTR) return CONSUMED_NEED_INPUT;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        c->may_read = 0;
        return CONSUMED_NEED_INPUT;
    }
    if (n == 0) {
        c->eof = 1;
        c->may_read = 0;
        return CONSUMED_NEED_INPUT;
    }
    /* A short read emptied the socket; edge-triggered epoll reports the next bytes. Not
     * so the peer's FIN, when it came with them: that event is spent, read on to the EOF. */
    if ((size_t)n < room && !c->hup) c->may_read = 0;
    return conn_consume(w, c, q, w->rbuf, have + (size_t)n);
}

/* Writes what it can from q. What is left of the (shared) staging queue moves to the
 * connection's own queue; a queue that reached its close or reset is emptied. */
static enum serve_flush conn_flush(struct serve_worker *w, struct serve_conn *c,
                                   struct serve_outq *q)
{
    if (q->broken) return SERVE_FLUSH_ERROR;
    uint64_t gate_at = 0;
    enum serve_flush r = serve_outq_flush(q, c->fd, w->now, &w->requests, &gate_at);
    if (r == SERVE_FLUSH_GATED) serve_worker_set_timer(w, c, gate_at);
    if (r == SERVE_FLUSH_CLOSE || r == SERVE_FLUSH_RESET) serve_outq_clear(q);
    if ((r == SERVE_FLUSH_AGAIN || r == SERVE_FLUSH_GATED) && q == w->staging) {
        if (!c->out) c->out = serve_outq_create(q->tail - q->head + 4096);
        if (!c->out || serve_outq_take(c->out, q) < 0) return SERVE_FLUSH_ERROR;
    }
    return r;
}

/* Idle for --idle-close: connected, and nothing in progress in either direction. */
static bool conn_idle(const struct serve_conn *c)
{
    return !c->in_len && !c->body_left && !c->chunked.state && !c->hung && !c->closing &&
           (!c->out || serve_outq_empty(c->out));
}

void serve_conn_run(struct serve_worker *w, struct serve_conn *c)
{
    if (c->slot == SERVE_SLOT_BUSY && c->slot_end <= w->now) serve_worker_slot_give(w, c);
    if (c->slot == SERVE_SLOT_WAITING && (c->hup || c->eof)) {   /* the client gave up */
        serve_conn_close(w, c);
        return;
    }
    if (c->lingering) {
        conn_linger_read(w, c);
        return;
    }
    for (;;) {
        struct serve_outq *q = c->out ? c->out : w->staging;
        int rc = CONSUMED_NEED_INPUT;
        if (c->in_len) rc = conn_consume(w, c, q, c->in, c->in_len);
        if (rc == CONSUMED_NEED_INPUT && c->may_read && !c->eof) rc = conn_read(w, c, q);
        if (rc < 0) goto fail;

        switch (conn_flush(w, c, q)) {
        case SERVE_FLUSH_ERROR: goto fail;
        case SERVE_FLUSH_RESET: conn_reset(w, c); return;
        case SERVE_FLUSH_CLOSE: conn_start_linger(w, c); return;
        default: break;
        }
        q = c->out ? c->out : w->staging;
        if (serve_outq_full(q)) break;            /* EPOLLOUT or the timer resumes us */
        if (rc == CONSUMED_QUEUE_FULL) continue;  /* room again for what is buffered */
        if (rc == CONSUMED_WAIT_SLOT) break;      /* the slot's timer resumes us */
        if (!c->may_read || c->eof) break;
    }
    /* After the peer's EOF, stay only to deliver what is queued. */
    if (c->eof && (c->hung || c->slot == SERVE_SLOT_WAITING || !c->out ||
                   serve_outq_empty(c->out))) {
        serve_conn_close(w, c);
        return;
    }
    bool timer_later = c->heap_index == SERVE_NO_TIMER || c->timer_at > c->slot_end;
    if (c->slot == SERVE_SLOT_BUSY && timer_later) serve_worker_set_timer(w, c, c->slot_end);
    if (c->out && serve_outq_empty(c->out) && c->out->cap > 4 * SERVE_OUT_HIGH_BYTES) {
        serve_outq_destroy(c->out);   /* a big echo grew it: give the memory back */
        c->out = NULL;
    }
    if (w->cfg->idle_close_ms) serve_worker_update_idle(w, c, conn_idle(c));
    return;
fail:
    serve_outq_clear(w->staging);
    serve_conn_close(w, c);
}

void serve_conn_timer(struct serve_worker *w, struct serve_conn *c)
{
    if (c->lingering) serve_conn_close(w, c);
    else serve_conn_run(w, c);
}
