/* Receive times from the kernel (see rx_time.h). */
#include "rx_time.h"

#include <liburing.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

void rx_time_msghdr(struct msghdr *m)
{
    *m = (struct msghdr){.msg_controllen = CMSG_SPACE(sizeof(struct timespec))};
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t rx_time_offset(void)
{
    /* The real-time read bracketed by two monotonic ones, taken from the narrowest of a
     * few tries: a preemption between the reads would shift every time of a wait. */
    int64_t best = 0, width = INT64_MAX;
    for (int i = 0; i < 3 && width > 2000; i++) {
        int64_t m1 = clock_ns(CLOCK_MONOTONIC), r = clock_ns(CLOCK_REALTIME), m2 = clock_ns(CLOCK_MONOTONIC);
        if (m2 - m1 < width) width = m2 - m1, best = m1 + (m2 - m1) / 2 - r;
    }
    return best;
}

bool rx_time_unwrap(const struct msghdr *m, char *buf, int res, int64_t mono_minus_real, uint64_t now,
                    struct rx_bytes *out)
{
    /* liburing's helpers take a non-const msghdr but only read it */
    struct msghdr *mh = (struct msghdr *)m;
    struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, res, mh);
    if (!o || o->controllen > m->msg_controllen) return false;
    /* validate() saw the header, the name and the control area inside the buffer */
    size_t head = (size_t)((char *)io_uring_recvmsg_payload(o, mh) - buf);
    if (o->payloadlen > (size_t)res - head) return false;
    out->data = io_uring_recvmsg_payload(o, mh);
    out->len = o->payloadlen;
    out->at = now;
    out->kernel_timed = false;
    /* The control messages, walked here rather than with liburing's helpers, which
     * trust each message's length. */
    const char *cm = (const char *)io_uring_recvmsg_name(o) + m->msg_namelen;
    size_t left = o->controllen;
    while (left >= sizeof(struct cmsghdr)) {
        struct cmsghdr h;
        memcpy(&h, cm, sizeof(h));
        if (h.cmsg_len < sizeof(h) || h.cmsg_len > left) break;
        if (h.cmsg_level == SOL_SOCKET && h.cmsg_type == SCM_TIMESTAMPNS &&
            h.cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            struct timespec ts;
            memcpy(&ts, cm + CMSG_LEN(0), sizeof(ts));
            /* Modulo 2^64, so a time before the monotonic clock's start wraps past now. A
             * real-time clock stepped since the offset was taken can put t anywhere. */
            uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + (uint64_t)mono_minus_real;
            if (ts.tv_sec >= 0 && ts.tv_sec < (1ll << 34) && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000 && t &&
                t <= now) {
                out->at = t;
                out->kernel_timed = true;
            }
        }
        size_t step = CMSG_ALIGN(h.cmsg_len);
        if (step >= left) break;
        cm += step;
        left -= step;
    }
    return true;
}
