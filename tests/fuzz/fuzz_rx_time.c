/* libFuzzer target for the recvmsg buffer reader (engine/rx_time.c).
 *
 * The input is a receive buffer as the kernel would lay it out (header, control messages,
 * payload), copied to a heap block of exactly its size so ASan sees any read past it; the
 * first 8 bytes, when there are that many, also give the clocks' offset. Checks: a buffer
 * accepted has its payload inside the buffer, after the header and control area; the
 * arrival time is never after now, and is now whenever the kernel gave no usable time.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iengine tests/fuzz/fuzz_rx_time.c engine/rx_time.c -luring
 */
#include "rx_time.h"

#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *why)
{
    fprintf(stderr, "fuzz_rx_time: %s\n", why);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t offset = 0;
    if (size >= 8) memcpy(&offset, data, 8);
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    struct msghdr m;
    rx_time_msghdr(&m);
    const uint64_t now = 5000000000ull;
    struct rx_bytes rx;
    if (rx_time_unwrap(&m, buf, (int)size, offset, now, &rx)) {
        size_t head = sizeof(struct io_uring_recvmsg_out) + m.msg_controllen;
        if (rx.data != buf + head) die("payload not right after the header and control area");
        if (rx.len > size - head) die("payload past the buffer");
        if (rx.len) {
            volatile char last = rx.data[rx.len - 1];  /* ASan: inside the block */
            (void)last;
        }
        if (rx.at > now) die("arrival after now");
        if (!rx.kernel_timed && rx.at != now) die("no kernel time but not now");
    }
    free(buf);
    return 0;
}
