/* How a fuzzer cuts its input into the pieces a restartable parser is fed: each function
 * returns the next piece's length (SIZE_MAX: all that is left) from its state *s. Shared by
 * the fuzzers that compare feeding whole, a byte at a time and in chosen pieces. */
#ifndef BARRAGE_FUZZ_PIECES_H
#define BARRAGE_FUZZ_PIECES_H

#include <stddef.h>
#include <stdint.h>

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

#endif
