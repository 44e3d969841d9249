/* Counting allocations in a unit test (not under ASan, which owns malloc): include it once,
 * in the test's own file; `mallocs` counts malloc, calloc and realloc calls, `frees` the
 * free calls of a block, and COUNT_MALLOC says whether it can. */
#ifndef BARRAGE_COUNT_MALLOC_H
#define BARRAGE_COUNT_MALLOC_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_MALLOC 0
#else
#define COUNT_MALLOC 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static unsigned long mallocs, frees;
void *malloc(size_t n)
{
    mallocs++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    mallocs++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    mallocs++;
    return __libc_realloc(p, n);
}
void free(void *p)
{
    frees += p != NULL;
    __libc_free(p);
}
#endif

#endif
