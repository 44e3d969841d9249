/* LD_PRELOAD shim for 95_no_alloc.sh: counts malloc/calloc/realloc calls of the process
 * and writes the count to $COUNT_ALLOC_FILE at exit. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_ulong calls;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);

/* dlsym itself may calloc before real_calloc is known: serve that from a static pool. */
static char boot[4096];
static size_t boot_used;

void *malloc(size_t n)
{
    if (!real_malloc) real_malloc = dlsym(RTLD_NEXT, "malloc");
    atomic_fetch_add(&calls, 1);
    return real_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (!real_calloc) {
        size_t n = (a * b + 15) & ~(size_t)15;
        if (boot_used + n > sizeof(boot)) return NULL;
        void *p = boot + boot_used;
        boot_used += n;
        real_calloc = dlsym(RTLD_NEXT, "calloc");
        return p;
    }
    atomic_fetch_add(&calls, 1);
    return real_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    if (!real_realloc) real_realloc = dlsym(RTLD_NEXT, "realloc");
    atomic_fetch_add(&calls, 1);
    return real_realloc(p, n);
}

void free(void *p)
{
    static void (*real_free)(void *);
    if ((char *)p >= boot && (char *)p < boot + sizeof(boot)) return;
    if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}

__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("COUNT_ALLOC_FILE");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (!f) return;
    fprintf(f, "%lu\n", (unsigned long)atomic_load(&calls));
    fclose(f);
}
