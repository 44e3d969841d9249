/* Output queue of `barrage serve`: buffering, the pattern page, and writing. See serve_out.h. */
#include "serve_out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define FLUSH_IOVS 64   /* iovecs per sendmsg: 64 pattern slices are ~4 MiB */

/* Two periods, so any slice of up to one period starting inside the first is contiguous. */
char serve_pattern_page[2 * SERVE_PATTERN_PERIOD];

void serve_pattern_init(void)
{
    for (size_t i = 0; i < sizeof(serve_pattern_page); i += SERVE_PATTERN_LEN)
        memcpy(serve_pattern_page + i, SERVE_PATTERN, SERVE_PATTERN_LEN);
}

struct serve_outq *serve_outq_create(size_t cap)
{
    struct serve_outq *q = calloc(1, sizeof(*q));
    if (!q) return NULL;
    q->buf = malloc(cap);
    if (!q->buf) {
        free(q);
        return NULL;
    }
    q->cap = cap;
    return q;
}

void serve_outq_destroy(struct serve_outq *q)
{
    if (!q) return;
    free(q->buf);
    free(q);
}

void serve_outq_clear(struct serve_outq *q)
{
    q->head = q->tail = 0;
    q->first = q->count = 0;
    q->broken = false;
}

static struct serve_out_item *item_at(struct serve_outq *q, uint32_t i)
{
    return &q->items[(q->first + i) % SERVE_OUT_ITEMS];
}

static struct serve_out_item *push_item(struct serve_outq *q, uint8_t kind)
{
    if (q->count == SERVE_OUT_ITEMS) {   /* callers leave room; this is a bug guard */
        q->broken = true;
        return NULL;
    }
    q->count++;
    struct serve_out_item *it = serve_outq_last(q);
    *it = (struct serve_out_item){ .kind = kind };
    return it;
}

static void pop_item(struct serve_outq *q)
{
    q->first = (q->first + 1) % SERVE_OUT_ITEMS;
    q->count--;
}

/* Room for n more bytes at tail: compacts first, grows when that is not enough. */
static bool reserve(struct serve_outq *q, size_t n)
{
    if (q->cap - q->tail >= n) return true;
    if (q->head) {
        memmove(q->buf, q->buf + q->head, q->tail - q->head);
        q->tail -= q->head;
        q->head = 0;
        if (q->cap - q->tail >= n) return true;
    }
    size_t cap = q->cap ? q->cap : 4096;
    while (cap - q->tail < n) cap *= 2;
    char *buf = realloc(q->buf, cap);
    if (!buf) {
        q->broken = true;
        return false;
    }
    q->buf = buf;
    q->cap = cap;
    return true;
}

void serve_outq_put(struct serve_outq *q, const void *src, size_t n)
{
    if (q->broken || !n || !reserve(q, n)) return;
    memcpy(q->buf + q->tail, src, n);
    q->tail += n;
    struct serve_out_item *last = q->count ? serve_outq_last(q) : NULL;
    if (!last || last->kind != SERVE_OUT_BYTES) last = push_item(q, SERVE_OUT_BYTES);
    if (last) last->len += n;
}

void serve_outq_put_pattern(struct serve_outq *q, uint64_t offset, uint64_t n)
{
    offset %= SERVE_PATTERN_PERIOD;
    if (n <= SERVE_OUT_COPY_MAX) {
        serve_outq_put(q, serve_pattern_page + offset, (size_t)n);
        return;
    }
    if (q->broken) return;
    struct serve_out_item *it = push_item(q, SERVE_OUT_PATTERN);
    if (!it) return;
    it->len = n;
    it->arg = offset;
}

void serve_outq_mark(struct serve_outq *q, enum serve_out_kind kind, uint64_t arg)
{
    if (q->broken) return;
    struct serve_out_item *it = push_item(q, (uint8_t)kind);
    if (it) it->arg = arg;
}

int serve_outq_take(struct serve_outq *dst, struct serve_outq *src)
{
    size_t n = src->tail - src->head;
    if (!reserve(dst, n)) return -1;
    memcpy(dst->buf + dst->tail, src->buf + src->head, n);
    dst->tail += n;
    for (uint32_t i = 0; i < src->count; i++) *item_at(dst, dst->count + i) = *item_at(src, i);
    dst->count += src->count;
    dst->broken |= src->broken;
    serve_outq_clear(src);
    return dst->broken ? -1 : 0;
}

/* Drops what sendmsg() took (n bytes) and the expired gates in front; counts the
 * responses whose last byte went out. */
static void advance(struct serve_outq *q, size_t n, uint64_t now, uint64_t *answered)
{
    while (q->count) {
        struct serve_out_item *it = item_at(q, 0);
        if (it->kind == SERVE_OUT_GATE) {
            if (it->arg > now) break;
            pop_item(q);
            continue;
        }
        if (it->kind != SERVE_OUT_BYTES && it->kind != SERVE_OUT_PATTERN) break;
        size_t take = it->len < n ? (size_t)it->len : n;
        if (it->kind == SERVE_OUT_BYTES) q->head += take;
        else it->arg = (it->arg + take) % SERVE_PATTERN_PERIOD;
        it->len -= take;
        n -= take;
        if (it->len) break;
        *answered += it->ends;
        pop_item(q);
    }
    if (q->head == q->tail) q->head = q->tail = 0;
}

/* Gathers the writable prefix of the queue into iov. Returns the iovec count. */
static int gather(struct serve_outq *q, uint64_t now, struct iovec *iov, size_t *total)
{
    int n = 0;
    size_t off = q->head;
    *total = 0;
    for (uint32_t i = 0; i < q->count && n < FLUSH_IOVS; i++) {
        struct serve_out_item *it = item_at(q, i);
        if (it->kind == SERVE_OUT_BYTES) {
            iov[n++] = (struct iovec){ q->buf + off, (size_t)it->len };
            off += it->len;
            *total += it->len;
        } else if (it->kind == SERVE_OUT_PATTERN) {
            uint64_t left = it->len, pos = it->arg;
            while (left && n < FLUSH_IOVS) {
                size_t chunk = left < SERVE_PATTERN_PERIOD ? (size_t)left : SERVE_PATTERN_PERIOD;
                iov[n++] = (struct iovec){ serve_pattern_page + pos, chunk };
                pos = (pos + chunk) % SERVE_PATTERN_PERIOD;
                left -= chunk;
                *total += chunk;
            }
            if (left) break;
        } else if (it->kind != SERVE_OUT_GATE || it->arg > now) {
            break;   /* a gate still closed, or the end of the connection */
        }
    }
    return n;
}

enum serve_flush serve_outq_flush(struct serve_outq *q, int fd, uint64_t now,
                                  uint64_t *answered, uint64_t *gate_at)
{
    for (;;) {
        struct iovec iov[FLUSH_IOVS];
        size_t total;
        int n = gather(q, now, iov, &total);
        if (n == 0) {
            advance(q, 0, now, answered);   /* drop expired gates in front */
            if (!q->count) return SERVE_FLUSH_EMPTY;
            struct serve_out_item *it = item_at(q, 0);
            if (it->kind == SERVE_OUT_GATE) {
                *gate_at = it->arg;
                return SERVE_FLUSH_GATED;
            }
            return it->kind == SERVE_OUT_RESET ? SERVE_FLUSH_RESET : SERVE_FLUSH_CLOSE;
        }
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return SERVE_FLUSH_AGAIN;
            return SERVE_FLUSH_ERROR;
        }
        advance(q, (size_t)w, now, answered);
        if ((size_t)w < total) return SERVE_FLUSH_AGAIN;   /* the kernel took all it could */
    }
}
