/* Output queue of `barrage serve`: the bytes of a connection's queued responses, in order,
 * with the points where writing must wait (a delayed response) or the connection must end.
 *
 * Headers, short bodies and echoed bodies are copied into the queue's own buffer (adjacent
 * copies share one item, so a burst of pipelined responses goes out in one write). Long
 * bodies are not copied: a PATTERN item refers to the shared read-only pattern page, which
 * holds SERVE_PATTERN repeated, so /bytes/N costs no memory whatever N is. Generated bodies
 * (the default one, /bytes/N, the payload of /chunked/N) are that endless repetition from
 * its start: body byte i is SERVE_PATTERN[i % 14], so clients can check what they got.
 *
 * Errors: a failed allocation or an overfull item ring sets the sticky `broken` flag and
 * makes later additions no-ops; the owner checks it once after queueing and closes the
 * connection. Ownership: serve_outq_create() allocates, serve_outq_destroy() frees (NULL ok).
 * The pattern page is static; serve_pattern_init() fills it once before any thread starts.
 */
#ifndef BARRAGE_SERVE_OUT_H
#define BARRAGE_SERVE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERVE_PATTERN        "Hello, World!\n"
#define SERVE_PATTERN_LEN    14
#define SERVE_PATTERN_PERIOD (SERVE_PATTERN_LEN * 4681)   /* 65534: whole repetitions */

#define SERVE_OUT_ITEMS      64            /* item ring size */
#define SERVE_OUT_ROOM_ITEMS 12            /* one response adds at most this many items */
#define SERVE_OUT_HIGH_BYTES (256 * 1024)  /* stop answering past this many unsent bytes */
#define SERVE_OUT_COPY_MAX   4096          /* longer pattern slices become PATTERN items */

enum serve_out_kind {
    SERVE_OUT_BYTES,     /* len bytes of the queue's buffer */
    SERVE_OUT_PATTERN,   /* len bytes of the pattern, from offset arg */
    SERVE_OUT_GATE,      /* nothing after it is written before time arg */
    SERVE_OUT_CLOSE,     /* all before it written: close gracefully */
    SERVE_OUT_RESET,     /* all before it written: close with an RST */
};

struct serve_out_item {
    uint64_t len;        /* BYTES, PATTERN: bytes still to write */
    uint64_t arg;        /* PATTERN: pattern offset (< SERVE_PATTERN_PERIOD); GATE: deadline, ns */
    uint32_t ends;       /* responses whose last byte is in this item: counted once written */
    uint8_t kind;        /* enum serve_out_kind */
};

struct serve_outq {
    char *buf;           /* owned bytes of the BYTES items, in order, at [head, tail) */
    size_t head, tail, cap;
    uint32_t first, count;                  /* the item ring */
    bool broken;                            /* see the top of this file */
    struct serve_out_item items[SERVE_OUT_ITEMS];
};

/* What serve_outq_flush() stopped at. */
enum serve_flush {
    SERVE_FLUSH_EMPTY,   /* everything written */
    SERVE_FLUSH_AGAIN,   /* the socket is full: wait for EPOLLOUT */
    SERVE_FLUSH_GATED,   /* waiting for a delayed response's time */
    SERVE_FLUSH_CLOSE,   /* reached a SERVE_OUT_CLOSE */
    SERVE_FLUSH_RESET,   /* reached a SERVE_OUT_RESET */
    SERVE_FLUSH_ERROR,   /* the peer is gone (EPIPE, ECONNRESET, ...) */
};

extern char serve_pattern_page[2 * SERVE_PATTERN_PERIOD];
void serve_pattern_init(void);

/* cap: initial buffer bytes. NULL when out of memory. */
struct serve_outq *serve_outq_create(size_t cap);
void serve_outq_destroy(struct serve_outq *q);

/* Forgets everything queued (and the broken flag); keeps the buffer. */
void serve_outq_clear(struct serve_outq *q);

/* Moves all of src to the empty dst, leaving src empty. -1 (dst broken) when out of memory. */
int serve_outq_take(struct serve_outq *dst, struct serve_outq *src);

/* Queues bytes copied from src (serve_outq_puts: a C string). */
void serve_outq_put(struct serve_outq *q, const void *src, size_t n);

/* Queues n bytes of the pattern starting at pattern offset `offset` (any value). */
void serve_outq_put_pattern(struct serve_outq *q, uint64_t offset, uint64_t n);

/* Queues a marker item (SERVE_OUT_GATE with its deadline, SERVE_OUT_CLOSE, SERVE_OUT_RESET). */
void serve_outq_mark(struct serve_outq *q, enum serve_out_kind kind, uint64_t arg);

/* Writes what it can to the non-blocking socket fd, up to the first gate later than now.
 * Adds the responses fully written to *answered; on SERVE_FLUSH_GATED sets *gate_at. */
enum serve_flush serve_outq_flush(struct serve_outq *q, int fd, uint64_t now,
                                  uint64_t *answered, uint64_t *gate_at);

static inline bool serve_outq_empty(const struct serve_outq *q)
{
    return q->count == 0;
}

/* Past the high-water marks: take no more requests until some of it is written. */
static inline bool serve_outq_full(const struct serve_outq *q)
{
    return q->count > SERVE_OUT_ITEMS - SERVE_OUT_ROOM_ITEMS ||
           q->tail - q->head > SERVE_OUT_HIGH_BYTES;
}

static inline struct serve_out_item *serve_outq_last(struct serve_outq *q)
{
    return &q->items[(q->first + q->count - 1) % SERVE_OUT_ITEMS];
}

static inline void serve_outq_puts(struct serve_outq *q, const char *s)
{
    serve_outq_put(q, s, __builtin_strlen(s));
}

/* The bytes queued so far complete one response. */
static inline void serve_outq_end_response(struct serve_outq *q)
{
    if (q->count) serve_outq_last(q)->ends++;
}

#endif
