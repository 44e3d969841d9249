/* Responses of `barrage serve`, route by route. See serve_reply.h. */
#include "serve_reply.h"

#include <stdlib.h>
#include <string.h>

/* How the connection header reads: HTTP/1.1 keep-alive needs none, HTTP/1.0 needs one. */
enum conn_kind { CONN_KEEP, CONN_CLOSE, CONN_KEEP_10, CONN_KINDS };
static const char *const conn_header[CONN_KINDS] = {
    "", "Connection: close\r\n", "Connection: keep-alive\r\n",
};

/* FRAME_CHUNKED announces the trailer put_chunked_body() sends; FRAME_STREAM is chunked
 * without one (/echo of a chunked request body, streamed as it arrives). */
enum framing { FRAME_NONE, FRAME_LENGTH, FRAME_CHUNKED, FRAME_STREAM };

static const struct serve_config *config;

/* The default response, whole, per [HEAD?][enum conn_kind]; len 0 when it is too long to
 * keep (a big --body-size): then it is assembled each time, its body by reference. */
static struct prebuilt { char *bytes; size_t len; } prebuilt[2][CONN_KINDS];

static const char *reason_phrase(unsigned status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    }
    static const char *const by_class[] = {
        "Informational", "Success", "Redirection", "Client Error", "Server Error",
    };
    return by_class[status / 100 - 1];
}

static void put_number(struct serve_outq *q, uint64_t v, unsigned base)
{
    char digits[24];
    size_t i = sizeof(digits);
    do {
        digits[--i] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    serve_outq_put(q, digits + i, sizeof(digits) - i);
}

static void put_status_line(struct serve_outq *q, unsigned status)
{
    serve_outq_puts(q, "HTTP/1.1 ");
    put_number(q, status, 10);
    serve_outq_puts(q, " ");
    serve_outq_puts(q, reason_phrase(status));
    serve_outq_puts(q, "\r\n");
}

/* Status line and headers, through the empty line. length: for FRAME_LENGTH. */
static void put_head(struct serve_outq *q, unsigned status, enum framing framing,
                     uint64_t length, enum conn_kind conn)
{
    put_status_line(q, status);
    serve_outq_puts(q, "Content-Type: text/plain\r\n");
    if (framing == FRAME_LENGTH) {
        serve_outq_puts(q, "Content-Length: ");
        put_number(q, length, 10);
        serve_outq_puts(q, "\r\n");
    } else if (framing == FRAME_CHUNKED) {
        serve_outq_puts(q, "Transfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n");
    } else if (framing == FRAME_STREAM) {
        serve_outq_puts(q, "Transfer-Encoding: chunked\r\n");
    }
    serve_outq_puts(q, conn_header[conn]);
    serve_outq_puts(q, "\r\n");
}

/* n payload bytes in min(n, 3) chunks, the first with an extension, then a trailer: a
 * chunked body with every feature a client's decoder must handle. */
static void put_chunked_body(struct serve_outq *q, uint64_t n)
{
    unsigned chunks = n < 3 ? (unsigned)n : 3;
    uint64_t off = 0;
    for (unsigned i = 0; i < chunks; i++) {
        uint64_t size = i + 1 < chunks ? n / chunks : n - off;
        put_number(q, size, 16);
        serve_outq_puts(q, i == 0 ? ";x=y\r\n" : "\r\n");
        serve_outq_put_pattern(q, off, size);
        serve_outq_puts(q, "\r\n");
        off += size;
    }
    serve_outq_puts(q, "0\r\nX-Trailer: done\r\n\r\n");
}

static void build_default(struct serve_outq *q, bool head, enum conn_kind conn)
{
    uint64_t n = config->body_size;
    if (config->chunked) {
        put_head(q, 200, FRAME_CHUNKED, 0, conn);
        if (!head) put_chunked_body(q, n);
    } else {
        put_head(q, 200, FRAME_LENGTH, n, conn);
        if (!head) serve_outq_put_pattern(q, 0, n);
    }
}

/* Neither chunked framing nor a 1xx response may go to an HTTP/1.0 client (RFC 9112 6.1,
 * RFC 9110 15.2): it gets a Content-Length instead, and only the final response. */
static void put_default(struct serve_outq *q, bool head, enum conn_kind conn, bool http10)
{
    if (http10 && config->chunked) {
        put_head(q, 200, FRAME_LENGTH, config->body_size, conn);
        if (!head) serve_outq_put_pattern(q, 0, config->body_size);
        return;
    }
    const struct prebuilt *p = &prebuilt[head][conn];
    if (p->len) serve_outq_put(q, p->bytes, p->len);
    else build_default(q, head, conn);
}

int serve_reply_init(const struct serve_config *cfg)
{
    config = cfg;
    struct serve_outq *q = serve_outq_create(4096);
    if (!q) return -1;
    int rc = 0;
    for (int head = 0; head < 2 && rc == 0; head++) {
        for (int conn = 0; conn < CONN_KINDS && rc == 0; conn++) {
            serve_outq_clear(q);
            build_default(q, head, (enum conn_kind)conn);
            /* Keep it only when it is one run of bytes (no body by reference). */
            if (q->broken) rc = -1;
            if (rc || q->count != 1 || q->items[q->first].kind != SERVE_OUT_BYTES) continue;
            struct prebuilt *p = &prebuilt[head][conn];
            p->len = q->tail - q->head;
            p->bytes = malloc(p->len);
            if (!p->bytes) rc = -1;
            else memcpy(p->bytes, q->buf + q->head, p->len);
        }
    }
    serve_outq_destroy(q);
    if (rc) serve_reply_fini();
    return rc;
}

void serve_reply_fini(void)
{
    for (int head = 0; head < 2; head++) {
        for (int conn = 0; conn < CONN_KINDS; conn++) {
            free(prebuilt[head][conn].bytes);
            prebuilt[head][conn] = (struct prebuilt){ 0 };
        }
    }
}

/* /status/CODE. Returns false when what it queued is no response and the connection must
 * end after it (101). */
static bool put_status_route(struct serve_outq *q, unsigned status, bool head,
                             enum conn_kind conn, bool http10)
{
    if (status < 200 && http10) {  /* no interim response, no upgrade: the final one alone */
        put_default(q, head, conn, true);
        return true;
    }
    if (status == 101) {   /* the protocol would change: nothing HTTP can follow */
        serve_outq_puts(q, "HTTP/1.1 101 Switching Protocols\r\n"
                           "Connection: upgrade\r\nUpgrade: barrage-none\r\n\r\n");
        return false;
    }
    if (status < 200) {    /* interim response, then a final one: 1xx never stands alone */
        put_status_line(q, status);
        serve_outq_puts(q, "\r\n");
        put_default(q, head, conn, false);
    } else if (status == 204 || status == 304) {
        put_head(q, status, FRAME_NONE, 0, conn);
    } else if (status == 205) {  /* no content (RFC 9110 15.3.6), but framed: a 0 length */
        put_head(q, status, FRAME_LENGTH, 0, conn);
    } else {
        const char *reason = reason_phrase(status);
        put_head(q, status, FRAME_LENGTH, 4 + strlen(reason) + 1, conn);
        if (!head) {
            put_number(q, status, 10);
            serve_outq_puts(q, " ");
            serve_outq_puts(q, reason);
            serve_outq_puts(q, "\n");
        }
    }
    return true;
}

/* Answers that end the connection instead of completing a response. */
static const char truncated[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                "Content-Length: 100\r\n\r\n";
static const char garbage[] = "this is not http\r\n\r\n";

enum serve_after serve_reply_queue(struct serve_outq *q, const struct serve_request *req,
                                   bool close, uint64_t now, uint64_t not_before)
{
    if (req->route == SERVE_ROUTE_HANG) return SERVE_AFTER_HANG;

    enum conn_kind conn = close ? CONN_CLOSE : req->minor == 0 ? CONN_KEEP_10 : CONN_KEEP;
    uint64_t delay_ms = req->route == SERVE_ROUTE_DELAY ? req->route_arg : config->delay_ms;
    uint64_t gate = delay_ms ? now + delay_ms * 1000000 : 0;
    if (gate < not_before) gate = not_before;
    if (gate) serve_outq_mark(q, SERVE_OUT_GATE, gate);

    bool head = req->head, http10 = req->minor == 0;
    uint64_t n = req->route_arg;
    switch ((enum serve_route)req->route) {
    case SERVE_ROUTE_DEFAULT:
    case SERVE_ROUTE_DELAY:
    /* The --api routes without --api (with it, serve_conn.c hands them to serve_api.c). */
    case SERVE_ROUTE_HEALTH:
    case SERVE_ROUTE_API_LOGIN:
    case SERVE_ROUTE_API_ITEMS:
    case SERVE_ROUTE_API_ITEM:
    case SERVE_ROUTE_API_OTHER:
        put_default(q, head, conn, http10);
        break;
    case SERVE_ROUTE_CLOSE:
        put_default(q, head, CONN_CLOSE, http10);
        close = true;
        break;
    case SERVE_ROUTE_BYTES:
        put_head(q, 200, FRAME_LENGTH, n, conn);
        if (!head) serve_outq_put_pattern(q, 0, n);
        break;
    case SERVE_ROUTE_CHUNKED:
        put_head(q, 200, http10 ? FRAME_LENGTH : FRAME_CHUNKED, n, conn);
        if (head) break;
        if (http10) serve_outq_put_pattern(q, 0, n);
        else put_chunked_body(q, n);
        break;
    case SERVE_ROUTE_STATUS:
        if (!put_status_route(q, (unsigned)n, head, conn, http10)) {
            serve_outq_mark(q, SERVE_OUT_CLOSE, 0);
            return SERVE_AFTER_CLOSE;
        }
        break;
    case SERVE_ROUTE_ECHO:
        if (req->chunked == SERVE_TE_CHUNKED) {   /* its length is known at its end only */
            put_head(q, 200, FRAME_STREAM, 0, conn);
            if (!head) return SERVE_AFTER_BODY;
            break;
        }
        put_head(q, 200, FRAME_LENGTH, req->content_length, conn);
        if (!head && req->content_length) return SERVE_AFTER_BODY;
        break;
    case SERVE_ROUTE_BAD_ARG:
        put_head(q, 400, FRAME_LENGTH, 12, conn);
        if (!head) serve_outq_puts(q, "bad request\n");
        break;
    case SERVE_ROUTE_RESET:
        serve_outq_mark(q, SERVE_OUT_RESET, 0);
        return SERVE_AFTER_CLOSE;
    case SERVE_ROUTE_TRUNCATE:   /* promises 100 body bytes, sends 10 */
        serve_outq_puts(q, truncated);
        if (!head) serve_outq_put_pattern(q, 0, 10);
        serve_outq_mark(q, SERVE_OUT_CLOSE, 0);
        return SERVE_AFTER_CLOSE;
    case SERVE_ROUTE_GARBAGE:
        serve_outq_puts(q, garbage);
        serve_outq_mark(q, SERVE_OUT_CLOSE, 0);
        return SERVE_AFTER_CLOSE;
    case SERVE_ROUTE_HANG:
        break;   /* handled above */
    }
    return serve_reply_finish(q, close);
}

enum serve_after serve_reply_finish(struct serve_outq *q, bool close)
{
    serve_outq_end_response(q);
    if (!close) return SERVE_AFTER_NEXT;
    serve_outq_mark(q, SERVE_OUT_CLOSE, 0);
    return SERVE_AFTER_CLOSE;
}

void serve_reply_error(struct serve_outq *q, unsigned status, uint64_t now)
{
    if (config->delay_ms) serve_outq_mark(q, SERVE_OUT_GATE, now + config->delay_ms * 1000000ull);
    const char *reason = reason_phrase(status);
    put_head(q, status, FRAME_LENGTH, strlen(reason) + 1, CONN_CLOSE);
    serve_outq_puts(q, reason);
    serve_outq_puts(q, "\n");
    serve_reply_finish(q, true);
}

void serve_reply_chunk(struct serve_outq *q, const void *p, size_t n)
{
    put_number(q, n, 16);
    serve_outq_puts(q, "\r\n");
    if (!n) {
        serve_outq_puts(q, "\r\n");
        return;
    }
    serve_outq_put(q, p, n);
    serve_outq_puts(q, "\r\n");
}

void serve_reply_continue(struct serve_outq *q)
{
    serve_outq_puts(q, "HTTP/1.1 100 Continue\r\n\r\n");
}

void serve_reply_gate(struct serve_outq *q, uint64_t now, uint64_t not_before)
{
    uint64_t gate = config->delay_ms ? now + config->delay_ms * 1000000ull : 0;
    if (gate < not_before) gate = not_before;
    if (gate) serve_outq_mark(q, SERVE_OUT_GATE, gate);
}

void serve_reply_status_line(struct serve_outq *q, unsigned status)
{
    put_status_line(q, status);
}

const char *serve_reply_conn_header(const struct serve_request *req, bool close)
{
    return conn_header[close ? CONN_CLOSE : req->minor == 0 ? CONN_KEEP_10 : CONN_KEEP];
}
