/* io_uring set-up for one worker: the ring with the best flags this kernel takes,
 * and a provided-buffer ring for receives. Cold code: called once per worker.
 * Ownership: ring_create() fills a caller-owned struct ring; ring_destroy() releases
 * the kernel ring and the buffer memory.
 */
#ifndef BARRAGE_RING_H
#define BARRAGE_RING_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RING_BGID 0

struct ring {
    struct io_uring uring;
    bool uring_ok;
    bool multishot;            /* multishot recv available (kernel 6.0+) */
    unsigned setup_flags;      /* the IORING_SETUP_* flags that took */
    bool fixed_files;          /* a fixed-file table is registered (ring_fixed_files) */
    struct io_uring_buf_ring *br;
    size_t br_bytes;
    char *bufs;                /* nbufs * buf_size bytes */
    uint32_t nbufs, buf_size, buf_mask;
};

/* sq_entries, cq_entries: queue sizes (powers of two; the completion queue may
 * overflow into the kernel's backlog, which is slower but loses nothing).
 * nbufs must be a power of two. Returns 0, or -errno with err set. */
int ring_create(struct ring *r, unsigned sq_entries, unsigned cq_entries, uint32_t nbufs, uint32_t buf_size,
                char *err, size_t errlen);
void ring_destroy(struct ring *r);

/* Registers an empty fixed-file table of `slots` entries (Linux 6.13+, where a file
 * cleared from the table is released as soon as its own requests end). Returns false
 * where the kernel or the open-file limit refuses it: descriptors are used as they are. */
bool ring_fixed_files(struct ring *r, unsigned slots);

/* Checks that this process may use io_uring at all. Returns 0, or -1 with a
 * one-line explanation naming the cause and the fix in err. */
int ring_probe(char *err, size_t errlen);

#endif
