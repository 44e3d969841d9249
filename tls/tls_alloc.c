/* OpenSSL's heap, served from per-thread free lists (installed by tls_alloc_install()).
 *
 * A TLS 1.3 resumed handshake makes about 650 small allocations with OpenSSL 3.0 and frees
 * them again within the connection; a keep-alive TLS request makes about four (WPACKETs,
 * a lock), or more where idle connections give back their ~16.6 KiB record buffers
 * (above 256 connections a worker). glibc's tcache keeps 7 blocks per size, so most of
 * them took its slower paths: malloc and free were 5% of the instructions of a new
 * connection. Here each thread keeps freed blocks per size class and hands them out again
 * without a lock or an atomic. barrage's workers never share an SSL object; a block freed
 * on another thread than its own simply joins that thread's lists.
 *
 * The classes are glibc's own chunk sizes (usable 24, 40, 56, ... 2056 bytes), then 1 KiB
 * apart. So a block is a plain glibc block with no header, and a small one is no larger
 * than glibc alone would make it: free finds its class from malloc_usable_size(), and
 * memory OpenSSL hands out may still be given to plain free().
 *
 * Bounds: blocks above TLS_ALLOC_MAX_BYTES go straight to glibc, and a class keeps at most
 * ALLOC_KEEP blocks or about ALLOC_KEEP_BYTES (but at least ALLOC_KEEP_MIN blocks): about
 * 12 MiB a thread at the very most, far less in practice (OpenSSL uses a few dozen sizes).
 * A thread's lists go back to glibc when it ends.
 *
 * Under ASan nothing is installed: the sanitizer must see every OpenSSL object's life, not
 * blocks parked for reuse (the unit tests call these functions directly). */
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tls_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define ALLOC_SMALL_CLASSES 128
#define ALLOC_SMALL_MIN 24           /* glibc's smallest usable chunk; classes 16 bytes apart */
#define ALLOC_SMALL_TOP (ALLOC_SMALL_MIN + (ALLOC_SMALL_CLASSES - 1) * 16)      /* 2056 */
#define ALLOC_LARGE_GRAIN 1024       /* above it, 1 KiB apart: record buffers and such */
#define ALLOC_CLASSES (ALLOC_SMALL_CLASSES + (TLS_ALLOC_MAX_BYTES - ALLOC_SMALL_TOP) / ALLOC_LARGE_GRAIN + 1)
#define ALLOC_KEEP 256
#define ALLOC_KEEP_MIN 8
#define ALLOC_KEEP_BYTES (64 * 1024)

struct free_block {
    struct free_block *next;
};

struct thread_lists {
    struct free_block *head[ALLOC_CLASSES];
    unsigned count[ALLOC_CLASSES];   /* UINT_MAX once drained: the thread is ending */
    bool registered;                 /* the key's destructor will drain these */
};

static __thread struct thread_lists lists;
static unsigned keep_of[ALLOC_CLASSES];
static pthread_key_t drain_key;
static pthread_once_t prepared = PTHREAD_ONCE_INIT;
static bool key_ok;

/* The class a request of n bytes (n <= TLS_ALLOC_MAX_BYTES) is served from. */
static inline unsigned class_of(size_t n)
{
    if (n <= ALLOC_SMALL_MIN) return 0;
    if (n <= ALLOC_SMALL_TOP) return (unsigned)((n - ALLOC_SMALL_MIN + 15) / 16);
    return ALLOC_SMALL_CLASSES + (unsigned)((n - ALLOC_SMALL_TOP - 1) / ALLOC_LARGE_GRAIN);
}

/* The bytes a class's blocks hold: a glibc chunk's usable size (16k + 8). */
static inline size_t class_bytes(unsigned c)
{
    if (c < ALLOC_SMALL_CLASSES) return ALLOC_SMALL_MIN + (size_t)c * 16;
    return ALLOC_SMALL_TOP + ((size_t)(c - ALLOC_SMALL_CLASSES) + 1) * ALLOC_LARGE_GRAIN;
}

/* The class a freed block of `usable` bytes joins: the largest whose requests it holds
 * (a block glibc rounded up may serve a class above the one it was taken for), or -1 when
 * it is too small or too large to keep. */
static inline int class_holding(size_t usable)
{
    if (usable < ALLOC_SMALL_MIN || usable >= class_bytes(ALLOC_CLASSES - 1) + ALLOC_LARGE_GRAIN) return -1;
    if (usable < ALLOC_SMALL_TOP + ALLOC_LARGE_GRAIN) {
        size_t c = (usable - ALLOC_SMALL_MIN) / 16;
        return (int)(c < ALLOC_SMALL_CLASSES ? c : ALLOC_SMALL_CLASSES - 1);
    }
    return ALLOC_SMALL_CLASSES + (int)((usable - ALLOC_SMALL_TOP) / ALLOC_LARGE_GRAIN) - 1;
}

/* At thread exit. Frees that come later in the exit (OpenSSL's own thread cleanup) find
 * every class full and go to glibc. */
static void drain(void *arg)
{
    struct thread_lists *t = arg;
    for (int c = 0; c < ALLOC_CLASSES; c++) {
        while (t->head[c]) {
            struct free_block *b = t->head[c];
            t->head[c] = b->next;
            free(b);
        }
        t->count[c] = UINT_MAX;
    }
}

static void prepare(void)
{
    for (int c = 0; c < ALLOC_CLASSES; c++) {
        unsigned by_bytes = (unsigned)(ALLOC_KEEP_BYTES / class_bytes((unsigned)c));
        keep_of[c] = by_bytes > ALLOC_KEEP ? ALLOC_KEEP : by_bytes < ALLOC_KEEP_MIN ? ALLOC_KEEP_MIN : by_bytes;
    }
    key_ok = pthread_key_create(&drain_key, drain) == 0;
}

int tls_alloc_prepare(void)
{
    pthread_once(&prepared, prepare);
    return key_ok ? 0 : -1;
}

void *tls_alloc_malloc(size_t n, const char *file, int line)
{
    (void)file, (void)line;
    if (n > TLS_ALLOC_MAX_BYTES) return malloc(n);
    unsigned c = class_of(n);
    struct free_block *b = lists.head[c];
    if (b) {
        lists.head[c] = b->next;
        lists.count[c]--;
        return b;
    }
    return malloc(class_bytes(c));
}

void tls_alloc_free(void *p, const char *file, int line)
{
    (void)file, (void)line;
    if (!p) return;
    int c = class_holding(malloc_usable_size(p));
    if (c >= 0 && lists.count[c] < keep_of[c]) {
        if (__builtin_expect(!lists.registered, 0)) {
            /* Without a key there is no drain at thread exit: keep nothing. */
            if (!key_ok || pthread_setspecific(drain_key, &lists)) goto to_glibc;
            lists.registered = true;
        }
        struct free_block *b = p;
        b->next = lists.head[c];
        lists.head[c] = b;
        lists.count[c]++;
        return;
    }
to_glibc:
    free(p);
}

void *tls_alloc_realloc(void *p, size_t n, const char *file, int line)
{
    if (!p) return tls_alloc_malloc(n, file, line);
    if (!n) {
        tls_alloc_free(p, file, line);
        return NULL;
    }
    size_t have = malloc_usable_size(p);
    if (n <= have) return p;
    void *q = tls_alloc_malloc(n, file, line);
    if (!q) return NULL;
    memcpy(q, p, have);
    tls_alloc_free(p, file, line);
    return q;
}

size_t tls_alloc_kept(void)
{
    size_t n = 0;
    for (int c = 0; c < ALLOC_CLASSES; c++)
        if (lists.count[c] != UINT_MAX) n += lists.count[c];
    return n;
}

size_t tls_alloc_kept_for(size_t n)
{
    unsigned c = class_of(n);
    return n <= TLS_ALLOC_MAX_BYTES && lists.count[c] != UINT_MAX ? lists.count[c] : 0;
}

int tls_alloc_install(void)
{
#if UNDER_ASAN
    return 0;
#else
    const char *e = getenv("BARRAGE_TLS_ALLOC");   /* "glibc": OpenSSL's default, to compare */
    if ((e && !strcmp(e, "glibc")) || tls_alloc_prepare()) return -1;
    return CRYPTO_set_mem_functions(tls_alloc_malloc, tls_alloc_realloc, tls_alloc_free) ? 0 : -1;
#endif
}
