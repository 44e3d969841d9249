/* Ring and provided-buffer set-up, with fallbacks for older kernels. */
#include "ring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>

static bool kernel_at_least(int major, int minor)
{
    struct utsname u;
    int ma = 0, mi = 0;
    if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
    return ma > major || (ma == major && mi >= minor);
}

int ring_create(struct ring *r, unsigned sq_entries, unsigned cq, uint32_t nbufs, uint32_t buf_size,
                char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    /* Best first: SINGLE_ISSUER + DEFER_TASKRUN (6.1+) runs completion work only when
     * we wait, in our thread; COOP_TASKRUN (5.19+) avoids IPIs; then plain. */
    static const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
        0,
    };
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        struct io_uring_params p = {.flags = tries[i] | IORING_SETUP_CQSIZE, .cq_entries = cq};
        rc = io_uring_queue_init_params(sq_entries, &r->uring, &p);
        if (rc == 0) {
            r->setup_flags = tries[i];
            break;
        }
        if (rc != -EINVAL) break;
    }
    if (rc) {
        snprintf(err, errlen, "io_uring_queue_init: %s", strerror(-rc));
        return rc;
    }
    r->uring_ok = true;
    /* Each wait then skips looking the ring's descriptor up (Linux 5.18+; optional). */
    io_uring_register_ring_fd(&r->uring);

    r->nbufs = nbufs;
    r->buf_size = buf_size;
    r->buf_mask = (uint32_t)io_uring_buf_ring_mask(nbufs);
    r->br_bytes = (size_t)nbufs * sizeof(struct io_uring_buf);
    /* The buffer ring must be page aligned: mmap gives that. */
    void *br = mmap(NULL, r->br_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    r->bufs = malloc((size_t)nbufs * buf_size);
    if (br == MAP_FAILED || !r->bufs) {
        if (br != MAP_FAILED) munmap(br, r->br_bytes);
        r->br = NULL;
        snprintf(err, errlen, "out of memory for %u receive buffers", nbufs);
        ring_destroy(r);
        return -ENOMEM;
    }
    r->br = br;
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br, .ring_entries = nbufs, .bgid = RING_BGID};
    rc = io_uring_register_buf_ring(&r->uring, &reg, 0);
    if (rc) {
        snprintf(err, errlen, "io_uring provided-buffer rings need Linux 5.19 or later (register: %s)",
                 strerror(-rc));
        ring_destroy(r);
        return rc;
    }
    io_uring_buf_ring_init(r->br);
    for (uint32_t i = 0; i < nbufs; i++)
        io_uring_buf_ring_add(r->br, r->bufs + (size_t)i * buf_size, buf_size, (unsigned short)i, r->buf_mask, (int)i);
    io_uring_buf_ring_advance(r->br, (int)nbufs);
    r->multishot = kernel_at_least(6, 0);
    return 0;
}

bool ring_fixed_files(struct ring *r, unsigned slots)
{
    /* Before 6.13 a file taken out of the table is released only once every request that
     * used an older table state has ended: a long-lived multishot recv on another
     * connection would keep closed sockets open. */
    if (!kernel_at_least(6, 13)) return false;
    r->fixed_files = io_uring_register_files_sparse(&r->uring, slots) == 0;
    return r->fixed_files;
}

void ring_destroy(struct ring *r)
{
    if (r->uring_ok) io_uring_queue_exit(&r->uring);
    if (r->br) munmap(r->br, r->br_bytes);
    free(r->bufs);
    memset(r, 0, sizeof(*r));
}

static int read_sysctl_int(const char *path, int *v)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int ok = fscanf(f, "%d", v) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

int ring_probe(char *err, size_t errlen)
{
    struct io_uring u;
    int rc = io_uring_queue_init(4, &u, 0);
    if (rc == 0) {
        io_uring_queue_exit(&u);
        return 0;
    }
    int disabled = 0;
    if (read_sysctl_int("/proc/sys/kernel/io_uring_disabled", &disabled) == 0 && disabled > 0 &&
        (rc == -EPERM || rc == -EACCES))
        snprintf(err, errlen,
                 "io_uring is disabled on this machine (sysctl kernel.io_uring_disabled=%d); "
                 "enable it with: sudo sysctl -w kernel.io_uring_disabled=0%s",
                 disabled, disabled == 1 ? " (or add this user to the group in kernel.io_uring_group)" : "");
    else if (rc == -ENOSYS)
        snprintf(err, errlen,
                 "io_uring is not available: the kernel is older than 5.1 or a seccomp filter "
                 "(e.g. a container's default profile) blocks io_uring_setup; run on Linux 6.1+ "
                 "or allow io_uring_setup/io_uring_enter/io_uring_register in the seccomp profile");
    else if (rc == -EPERM || rc == -EACCES)
        snprintf(err, errlen,
                 "io_uring is not permitted here (%s): a seccomp filter (e.g. a container's "
                 "default profile) or an LSM blocks it; allow io_uring_setup/io_uring_enter/"
                 "io_uring_register (docker: --security-opt seccomp=unconfined)", strerror(-rc));
    else if (rc == -ENOMEM)
        snprintf(err, errlen,
                 "io_uring set-up failed: out of locked memory (RLIMIT_MEMLOCK); raise it with "
                 "ulimit -l or use Linux 5.12+, which does not count rings against it");
    else
        snprintf(err, errlen, "io_uring set-up failed: %s", strerror(-rc));
    return -1;
}
