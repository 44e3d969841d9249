/* tls_alloc.c: OpenSSL's per-thread free lists. Reuse within a size class, alignment,
 * realloc, the bounds on what a thread keeps, and the drain when a thread ends (counted
 * here in the plain build; under ASan a missed drain is a leak LeakSanitizer reports). */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "count_malloc.h"
#include "tls_internal.h"

#define M(n) tls_alloc_malloc((n), __FILE__, __LINE__)
#define F(p) tls_alloc_free((p), __FILE__, __LINE__)
#define R(p, n) tls_alloc_realloc((p), (n), __FILE__, __LINE__)

static void before_prepare_nothing_is_kept(void)
{
    void *p = M(64);
    CHECK(p != NULL);
    F(p);
    CHECK_EQ_U(tls_alloc_kept(), 0);
}

static void a_freed_block_serves_the_next_malloc_of_its_class(void)
{
    void *p = M(100);
    F(p);
    CHECK_EQ_U(tls_alloc_kept(), 1);
    CHECK(M(97) == p);             /* 97 and 100 share the 97..112 class */
    CHECK_EQ_U(tls_alloc_kept(), 0);
    void *q = M(200);
    CHECK(q != p);
    F(q);
    F(p);
    void *r = M(113);              /* the next class up: not p's block */
    CHECK(r != p);
    F(r);
}

static void every_size_is_aligned_and_writable(void)
{
    /* ASan checks the writes. */
    void *keep[3100 + 40];
    size_t n = 0;
    for (size_t sz = 0; sz < 3100; sz++) {   /* every small class, the edge, large ones */
        unsigned char *p = M(sz);
        CHECK(p != NULL);
        if (!p) break;
        CHECK(((uintptr_t)p & 15) == 0);
        memset(p, 0xa5, sz);
        keep[n++] = p;
    }
    for (size_t sz = 3100; sz < TLS_ALLOC_MAX_BYTES + 4000; sz += 1000) {
        unsigned char *p = M(sz);
        CHECK(p != NULL && ((uintptr_t)p & 15) == 0);
        if (!p) break;
        memset(p, 0x5a, sz);
        keep[n++] = p;
    }
    for (size_t i = 0; i < n; i++) F(keep[i]);
    F(NULL);                       /* free(NULL) is nothing */
}

static void realloc_keeps_the_bytes(void)
{
    unsigned char *p = R(NULL, 10);
    CHECK(p != NULL);
    for (int i = 0; i < 10; i++) p[i] = (unsigned char)i;
    CHECK(R(p, 16) == p);          /* still in the block's class: same block */
    size_t have = 10;
    for (size_t n = 40; n <= 9000; n = n * 3 / 2) {
        unsigned char *q = R(p, n);
        CHECK(q != NULL);
        if (!q) return;
        for (size_t i = 0; i < have; i++)
            if (q[i] != (unsigned char)i) {
                CHECK(!"byte kept across realloc");
                break;
            }
        for (size_t i = have; i < n; i++) q[i] = (unsigned char)i;
        p = q, have = n;
    }
    CHECK(R(p, 0) == NULL);        /* realloc to 0 frees */
}

static void blocks_are_glibcs_own(void)
{
    /* OpenSSL's memory may reach plain free(), and glibc's may come back here. */
    char *p = M(300);
    CHECK(p != NULL);
    memset(p, 1, 300);
    free(p);
    char *q = malloc(300);
    CHECK(q != NULL);
    size_t usable = malloc_usable_size(q) / 16 * 16;     /* the requests q's class serves */
    F(q);
    char *r = M(usable);           /* q's block, kept */
    CHECK(r == q);
    memset(r, 2, usable);
    F(r);
}

static void a_class_keeps_a_bounded_number_of_blocks(void)
{
    enum { N = 400 };
    void *small[N], *mid[N], *record[N];
    for (int i = 0; i < N; i++) small[i] = M(16), mid[i] = M(2048), record[i] = M(16712);
    /* The three classes are empty now (N is more than they keep); glibc may round a block
     * up into the class above, so some of the frees land there. */
    for (int i = 0; i < N; i++) F(small[i]);
    CHECK_EQ_U(tls_alloc_kept_for(16), 256);                  /* ALLOC_KEEP */
    for (int i = 0; i < N; i++) F(mid[i]);
    CHECK_EQ_U(tls_alloc_kept_for(2048), 31);                 /* 64 KiB of 2056-byte blocks */
    for (int i = 0; i < N; i++) F(record[i]);
    CHECK_EQ_U(tls_alloc_kept_for(16712), 8);                 /* record buffers: ALLOC_KEEP_MIN */
    size_t before = tls_alloc_kept();
    void *big = M(TLS_ALLOC_MAX_BYTES + 2000);                /* past the classes: glibc's */
    F(big);
    CHECK_EQ_U(tls_alloc_kept(), before);
}

static void a_block_costs_what_glibc_alone_would(void)
{
    /* Requests are rounded to glibc's own chunk sizes, not past them (small ones), or to
     * 1 KiB steps. Not under ASan, whose blocks are exactly as asked. */
    if (!COUNT_MALLOC) return;
    for (size_t n = 1; n <= 4096; n += 7) {
        void *ours = M(n), *theirs = malloc(n);
        CHECK(ours && theirs);
        if (!ours || !theirs) return;
        CHECK(malloc_usable_size(ours) <= malloc_usable_size(theirs) + (n > 2056 ? 1024 : 0));
        F(ours);
        free(theirs);
    }
}

static void *alloc_and_free_then_end(void *arg)
{
    enum { N = 100 };
    void *p[N];
    for (int i = 0; i < N; i++) p[i] = M(48);
    for (int i = 0; i < N; i++) F(p[i]);
    *(size_t *)arg = tls_alloc_kept();
    return NULL;
}

/* A key made after tls_alloc_prepare()'s: glibc runs its destructor after the drain, as
 * OpenSSL's own thread cleanup may run. */
static pthread_key_t late_key;
static size_t kept_after_drain = 99;

static void late_destructor(void *arg)
{
    (void)arg;
    F(M(48));
    kept_after_drain = tls_alloc_kept_for(48);
}

static void *free_then_end_with_a_late_destructor(void *arg)
{
    (void)arg;
    F(M(48));
    pthread_setspecific(late_key, &late_key);
    return NULL;
}

static void frees_after_the_drain_go_to_glibc(void)
{
    CHECK(pthread_key_create(&late_key, late_destructor) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_then_end_with_a_late_destructor, NULL) == 0);
    pthread_join(t, NULL);
    CHECK_EQ_U(kept_after_drain, 0);    /* kept, it would be lost: LeakSanitizer says so too */
    pthread_key_delete(late_key);
}

static void an_ending_thread_gives_its_blocks_back(void)
{
    size_t kept_in_thread = 0;
    pthread_t t;
#if COUNT_MALLOC
    unsigned long frees_before = frees;
#endif
    CHECK(pthread_create(&t, NULL, alloc_and_free_then_end, &kept_in_thread) == 0);
    pthread_join(t, NULL);
    CHECK_EQ_U(kept_in_thread, 100);
#if COUNT_MALLOC
    CHECK(frees - frees_before >= 100);    /* the drain freed them to glibc */
#endif
}

int main(void)
{
    RUN(before_prepare_nothing_is_kept);
    CHECK(tls_alloc_prepare() == 0);
    RUN(a_freed_block_serves_the_next_malloc_of_its_class);
    RUN(every_size_is_aligned_and_writable);
    RUN(realloc_keeps_the_bytes);
    RUN(blocks_are_glibcs_own);
    RUN(a_class_keeps_a_bounded_number_of_blocks);
    RUN(a_block_costs_what_glibc_alone_would);
    RUN(an_ending_thread_gives_its_blocks_back);
    RUN(frees_after_the_drain_go_to_glibc);
    CHECK_EXIT();
}
