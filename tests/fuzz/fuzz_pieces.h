/* Shared by the fuzzers of restartable parsers (HTTP responses, the server's requests):
 * - piece_*: how the input is cut into the pieces the parser is fed; each returns the next
 *   piece's length (SIZE_MAX: all that is left) from its state *s;
 * - fuzz_amplify: an input grown past a parser's size limit. */
#ifndef BARRAGE_FUZZ_PIECES_H
#define BARRAGE_FUZZ_PIECES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline size_t piece_all(uint32_t *s) { (void)s; return SIZE_MAX; }
static inline size_t piece_one(uint32_t *s) { (void)s; return 1; }
static inline size_t piece_fixed(uint32_t *s) { return *s; }
static inline size_t piece_random(uint32_t *s)  /* 1..64, xorshift */
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return 1 + (*s & 63);
}
static inline size_t piece_two(uint32_t *s)  /* one cut at *s, then the rest */
{
    size_t n = *s;
    *s = UINT32_MAX;
    return n;
}

/* The input's first line, then the rest repeated until past `limit` bytes: a malloc'd copy
 * (*size set to its length), or NULL when there is nothing after the first line. */
static inline uint8_t *fuzz_amplify(const uint8_t *data, size_t *size, size_t limit)
{
    const uint8_t *lf = memchr(data, '\n', *size);
    size_t head = lf ? (size_t)(lf - data) + 1 : 0, unit = *size - head;
    if (!unit) return NULL;
    size_t total = head + unit * ((limit + 1024) / unit + 1);
    uint8_t *out = malloc(total);
    if (!out) {
        fprintf(stderr, "fuzz_amplify: out of memory\n");
        abort();
    }
    memcpy(out, data, head);
    for (size_t at = head; at < total; at += unit) memcpy(out + at, data + head, unit);
    *size = total;
    return out;
}

#endif
