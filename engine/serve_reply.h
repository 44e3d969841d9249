/* Responses of `barrage serve`: what each route answers, queued into a serve_outq.
 *
 * The default response (the one a benchmark hits) is built once per variant by
 * serve_reply_init() and copied whole into the queue; other routes are assembled from
 * a few constant pieces. Nothing here allocates per request.
 */
#ifndef BARRAGE_SERVE_REPLY_H
#define BARRAGE_SERVE_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serve_config.h"
#include "serve_out.h"
#include "serve_request.h"

/* What the connection does after serve_reply_queue(). */
enum serve_after {
    SERVE_AFTER_NEXT,    /* read the next request */
    SERVE_AFTER_CLOSE,   /* the queue ends with a close or reset: ignore further input */
    SERVE_AFTER_HANG,    /* never answer again: ignore further input, keep the connection */
    SERVE_AFTER_BODY,    /* /echo: queue the request body, then call serve_reply_finish() */
};

/* Builds the prebuilt responses; keeps cfg (which must outlive the server). 0 or -1 (no
 * memory). Call once before the workers start; serve_reply_fini() frees them. */
int serve_reply_init(const struct serve_config *cfg);
void serve_reply_fini(void);

/* Queues the response to req. close: the connection ends after it (the client asked, or
 * --close-after). now: monotonic ns, for the response's delay. not_before: 0, or no byte
 * of it goes out before that time (the end of its --capacity slot). Returns enum
 * serve_after. */
enum serve_after serve_reply_queue(struct serve_outq *q, const struct serve_request *req,
                                   bool close, uint64_t now, uint64_t not_before);

/* /echo of a chunked request body (its response is chunked too): queues n bytes of it as
 * one chunk; n == 0 queues the last chunk, before serve_reply_finish(). */
void serve_reply_chunk(struct serve_outq *q, const void *p, size_t n);

/* Ends a response left open by SERVE_AFTER_BODY. Returns SERVE_AFTER_NEXT or _CLOSE. */
enum serve_after serve_reply_finish(struct serve_outq *q, bool close);

/* The answer to a head that could not be parsed (400, 431): queued with a close. */
void serve_reply_error(struct serve_outq *q, unsigned status, uint64_t now);

/* "100 Continue", before reading a body the client is waiting to send. */
void serve_reply_continue(struct serve_outq *q);

/* Pieces for responses assembled elsewhere (serve_api.c), in this order: the gate that
 * delays the response (--delay; not_before as for serve_reply_queue), the status line,
 * headers, the Connection header (the empty string when none is needed), the empty line and
 * the body, then serve_reply_finish(). */
void serve_reply_gate(struct serve_outq *q, uint64_t now, uint64_t not_before);
void serve_reply_status_line(struct serve_outq *q, unsigned status);
const char *serve_reply_conn_header(const struct serve_request *req, bool close);

#endif
