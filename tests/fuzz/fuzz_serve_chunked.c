/* libFuzzer target for the chunked request-body decoder of `barrage serve`
 * (serve_chunked_parse() in engine/serve_request.c), whose input comes from any client.
 *
 * Input: byte 0 = control (bit 0: the rest is framing to decode as it is; else the rest
 * is data to frame), byte 1 = a seed for the pieces and the framing, the rest = bytes.
 * - As it is: the bytes are decoded whole, a byte at a time and in random pieces, each
 *   piece in a heap block of exactly its size (ASan sees a read past it), and called again
 *   on what a call left, as serve_conn.c does. The three ways must end alike (the body's
 *   end at the same offset, a framing error, or still waiting), give the same data bytes
 *   in the same order, and every call must use at least one byte and place its data
 *   inside what it used.
 * - Framed: the data is cut into chunks (sizes from the seed, some with extensions, some
 *   lines ending in a bare LF, trailer fields after the last), and decoding the framing in
 *   pieces must give back exactly the data and end exactly at the framing's end.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iengine tests/fuzz/fuzz_serve_chunked.c engine/serve_request.c
 */
#include "serve_config.h"
#include "serve_request.h"
#include "fuzz_pieces.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum outcome { END, BAD, MORE };

struct decoded {
    enum outcome how;
    size_t end;          /* END: the offset just past the body */
    uint8_t *data;       /* the data bytes given, in order (malloc'd) */
    size_t len;
};

static void die(const char *why)
{
    fprintf(stderr, "fuzz_serve_chunked: %s\n", why);
    abort();
}

/* Decodes in[0, n) fed in the pieces `next` cuts from the state s. */
static struct decoded decode(const uint8_t *in, size_t n, size_t (*next)(uint32_t *), uint32_t s)
{
    struct decoded d = {.how = MORE, .data = malloc(n ? n : 1)};
    if (!d.data) die("out of memory");
    struct serve_chunked ch;
    serve_chunked_start(&ch);
    size_t at = 0;
    while (at < n) {
        size_t piece = next(&s);
        if (piece == 0) piece = 1;
        if (piece > n - at) piece = n - at;
        char *block = malloc(piece);
        if (!block) die("out of memory");
        memcpy(block, in + at, piece);
        size_t off = 0;
        while (off < piece && ch.state) {
            size_t data_off, data_len;
            ssize_t used = serve_chunked_parse(&ch, block + off, piece - off, &data_off, &data_len);
            if (used < 0) {
                if (used != SERVE_REQ_BAD) die("an error other than SERVE_REQ_BAD");
                d.how = BAD;
                free(block);
                return d;
            }
            if (used == 0) die("a call used no byte");
            if ((size_t)used > piece - off) die("a call used more than it was given");
            if (data_len && data_off + data_len > (size_t)used) die("data outside the bytes used");
            memcpy(d.data + d.len, block + off + data_off, data_len);
            d.len += data_len;
            off += (size_t)used;
        }
        free(block);
        at += off;
        if (!ch.state) {
            d.how = END;
            d.end = at;
            return d;
        }
    }
    return d;
}

static void same(const struct decoded *a, const struct decoded *b, const char *how)
{
    if (a->how != b->how) {
        fprintf(stderr, "outcome %d whole, %d %s\n", a->how, b->how, how);
        die("the ways of feeding disagree");
    }
    if (a->how == END && a->end != b->end) die("the body ends at different offsets");
    if (a->len != b->len || memcmp(a->data, b->data, a->len)) die("different data");
}

static uint32_t xs(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void put(uint8_t *out, size_t *n, const char *s, size_t len)
{
    memcpy(out + *n, s, len);
    *n += len;
}

/* The data framed as chunks; *n set to the framing's length. */
static uint8_t *frame(const uint8_t *data, size_t len, uint32_t seed, size_t *n)
{
    uint8_t *out = malloc(len + len * 48 + 256);   /* a chunk of 1 byte costs at most ~48 */
    if (!out) die("out of memory");
    *n = 0;
    uint32_t s = seed | 1;
    for (size_t at = 0; at < len;) {
        size_t size = 1 + xs(&s) % 40;
        if (size > len - at) size = len - at;
        char line[64];
        int k = snprintf(line, sizeof(line), xs(&s) & 1 ? "%zx" : "%zX", size);
        put(out, n, line, (size_t)k);
        if (xs(&s) % 4 == 0) put(out, n, ";ext=\"v\"", 8);
        bool crlf = xs(&s) % 5;
        put(out, n, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
        put(out, n, (const char *)data + at, size);
        put(out, n, "\r\n", 2);
        at += size;
    }
    put(out, n, "0\r\n", 3);
    if (xs(&s) & 1) put(out, n, "Trailer-A: 1\r\nX: y\n", 19);
    put(out, n, "\r\n", 2);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    if (size < 2) return 0;
    uint8_t control = in[0];
    uint32_t seed = in[1] * 2654435761u + 1;
    const uint8_t *bytes = in + 2;
    size_t n = size - 2;
    if (control & 1) {
        struct decoded whole = decode(bytes, n, piece_all, 0);
        struct decoded ones = decode(bytes, n, piece_one, 0);
        struct decoded random = decode(bytes, n, piece_random, seed);
        same(&whole, &ones, "a byte at a time");
        same(&whole, &random, "in random pieces");
        free(whole.data), free(ones.data), free(random.data);
    } else {
        size_t fn;
        uint8_t *framed = frame(bytes, n, seed, &fn);
        struct decoded d = decode(framed, fn, piece_random, seed);
        if (d.how != END) die("a well-framed body did not end");
        if (d.end != fn) die("the body ended before its last byte");
        if (d.len != n || memcmp(d.data, bytes, n)) die("the data came back different");
        free(d.data);
        free(framed);
    }
    return 0;
}
