/* Receive times from the kernel (see rx_time.h). */
#include "rx_time.h"

#include <liburing.h>
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
    return clock_ns(CLOCK_MONOTONIC) - clock_ns(CLOCK_REALTIME);
}

bool rx_time_unwrap(const struct msghdr *m, char *buf, int res, int64_t mono_minus_real, uint64_t now,
                    struct rx_bytes *out)
{
    /* liburing's helpers take a non-const msghdr but only read it */
    struct msghdr *mh = (struct msghdr *)m;
    struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, res, mh);
    if (!o || o->controllen > m->msg_controllen) return false;
    size_t head = (size_t)((char *)io_uring_recvmsg_payload(o, mh) - buf);
    if (head > (size_t)res || o->payloadlen > (size_t)res - head) return false;
    out->data = io_uring_recvmsg_payload(o, mh);
    out->len = o->payloadlen;
    out->at = now;
    out->kernel_timed = false;
    for (struct cmsghdr *cm = io_uring_recvmsg_cmsg_firsthdr(o, mh); cm; cm = io_uring_recvmsg_cmsg_nexthdr(o, mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_TIMESTAMPNS || cm->cmsg_len < CMSG_LEN(sizeof(struct timespec)) || cm->cmsg_len > o->controllen)
            continue;
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
        int64_t t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + mono_minus_real;
        /* A real-time clock stepped since the offset was taken can put t anywhere. */
        if (t > 0 && (uint64_t)t <= now) {
            out->at = (uint64_t)t;
            out->kernel_timed = true;
        }
    }
    return true;
}
