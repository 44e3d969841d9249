/* Receive times from the kernel.
 *
 * A worker times a response when the wait that delivered it returns, so a wait that
 * batches many completions makes the early ones look late: that is why batch.h keeps the
 * wait short. Pipelined connections are instead read with a multishot recvmsg on sockets
 * with SO_TIMESTAMPNS: each buffer then carries when its bytes reached this host (the
 * kernel's receive time of the newest segment read), and responses are timed from that,
 * whatever the wait's length. Depth 1 gains nothing from it (a batch there delays the
 * next request, so the wait must stay short anyway) and would pay recvmsg's extra cost on
 * every response, so it keeps plain recv. */
#ifndef BARRAGE_RX_TIME_H
#define BARRAGE_RX_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* What each recvmsg asks for: room for one timestamp, no address. */
void rx_time_msghdr(struct msghdr *m);

/* CLOCK_MONOTONIC minus CLOCK_REALTIME, now: the kernel stamps on the real-time clock. */
int64_t rx_time_offset(void);

struct rx_bytes {
    const char *data;  /* the payload */
    size_t len;        /* 0: the peer closed */
    uint64_t at;       /* CLOCK_MONOTONIC ns of its arrival; now when the kernel gave none */
    bool kernel_timed; /* at came from the kernel */
};

/* Unwraps a recvmsg buffer of res bytes (as laid out by a multishot recvmsg with m). at is
 * never after now. Returns false for a buffer that does not hold what m asked for. */
bool rx_time_unwrap(const struct msghdr *m, char *buf, int res, int64_t mono_minus_real, uint64_t now,
                    struct rx_bytes *out);

#endif
