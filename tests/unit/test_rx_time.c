/* Receive times from the kernel (engine/rx_time.c): a recvmsg buffer is unwrapped into its
 * payload and the arrival time on CLOCK_MONOTONIC; a time the clocks cannot give (after
 * now) or no time at all falls back to now; malformed buffers are refused. And the real
 * thing: a loopback TCP pair read by a multishot recvmsg through engine/ring.c gives the
 * payload and a time between the send and the read. */
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ring.h"
#include "rx_time.h"

/* A buffer as a multishot recvmsg with m lays it out: header, control, payload. */
static int layout(char *buf, const struct msghdr *m, int64_t stamp_ns, const char *payload, int timed)
{
    struct io_uring_recvmsg_out o = {.payloadlen = (unsigned)strlen(payload)};
    char *ctl = buf + sizeof(o);
    memset(ctl, 0, m->msg_controllen);
    if (timed) {
        struct cmsghdr cm = {.cmsg_len = CMSG_LEN(sizeof(struct timespec)), .cmsg_level = SOL_SOCKET,
                             .cmsg_type = SCM_TIMESTAMPNS};
        struct timespec ts = {.tv_sec = stamp_ns / 1000000000, .tv_nsec = stamp_ns % 1000000000};
        memcpy(ctl, &cm, sizeof(cm));
        memcpy(CMSG_DATA((struct cmsghdr *)ctl), &ts, sizeof(ts));
        o.controllen = (unsigned)CMSG_SPACE(sizeof(ts));
    }
    memcpy(buf, &o, sizeof(o));
    memcpy(ctl + m->msg_controllen, payload, o.payloadlen);
    return (int)(sizeof(o) + m->msg_controllen + o.payloadlen);
}

static void kernel_time_becomes_monotonic(void)
{
    struct msghdr m;
    rx_time_msghdr(&m);
    _Alignas(16) char buf[256];
    int res = layout(buf, &m, 1700000000123456789ll, "HTTP/1.1 200 OK", 1);
    int64_t mono_minus_real = -1699999000000000000ll;  /* monotonic 1000.123456789 s */
    struct rx_bytes rx;
    CHECK(rx_time_unwrap(&m, buf, res, mono_minus_real, 2000000000000ull, &rx));
    CHECK_EQ_U(rx.len, 15);
    CHECK(rx.len == 15 && memcmp(rx.data, "HTTP/1.1 200 OK", 15) == 0);
    CHECK_EQ_U(rx.at, 1000123456789ull);
    CHECK(rx.kernel_timed);
}

static void no_time_or_a_time_after_now_is_now(void)
{
    struct msghdr m;
    rx_time_msghdr(&m);
    _Alignas(16) char buf[256];
    struct rx_bytes rx;
    int res = layout(buf, &m, 0, "abc", 0);
    CHECK(rx_time_unwrap(&m, buf, res, 0, 5000, &rx));
    CHECK_EQ_U(rx.at, 5000);
    CHECK(!rx.kernel_timed);
    CHECK_EQ_U(rx.len, 3);
    res = layout(buf, &m, 6000, "abc", 1);  /* the real-time clock stepped back meanwhile */
    CHECK(rx_time_unwrap(&m, buf, res, 0, 5000, &rx));
    CHECK_EQ_U(rx.at, 5000);
    CHECK(!rx.kernel_timed);
    res = layout(buf, &m, 5000, "abc", 1);
    CHECK(rx_time_unwrap(&m, buf, res, 0, 5000, &rx));
    CHECK_EQ_U(rx.at, 5000);
    CHECK(rx.kernel_timed);
}

static void end_of_stream_has_no_payload(void)
{
    struct msghdr m;
    rx_time_msghdr(&m);
    _Alignas(16) char buf[256];
    struct rx_bytes rx;
    int res = layout(buf, &m, 100, "", 1);
    CHECK(rx_time_unwrap(&m, buf, res, 0, 5000, &rx));
    CHECK_EQ_U(rx.len, 0);
}

static void malformed_buffers_are_refused(void)
{
    struct msghdr m;
    rx_time_msghdr(&m);
    _Alignas(16) char buf[256];
    struct rx_bytes rx;
    int res = layout(buf, &m, 100, "abcdef", 1);
    CHECK(!rx_time_unwrap(&m, buf, (int)(sizeof(struct io_uring_recvmsg_out) + m.msg_controllen - 1), 0, 5000, &rx));
    CHECK(!rx_time_unwrap(&m, buf, res - 1, 0, 5000, &rx));  /* payload longer than the buffer */
    CHECK(!rx_time_unwrap(&m, buf, -1, 0, 5000, &rx));
    struct io_uring_recvmsg_out o;
    memcpy(&o, buf, sizeof(o));
    o.controllen = (unsigned)m.msg_controllen + 8;  /* more control than asked for */
    memcpy(buf, &o, sizeof(o));
    CHECK(!rx_time_unwrap(&m, buf, res, 0, 5000, &rx));
    /* a control message claiming more bytes than the control area holds is skipped */
    res = layout(buf, &m, 100, "abcdef", 1);
    ((struct cmsghdr *)(buf + sizeof(o)))->cmsg_len = m.msg_controllen + 16;
    CHECK(rx_time_unwrap(&m, buf, res, 0, 5000, &rx));
    CHECK(!rx.kernel_timed);
    CHECK_EQ_U(rx.at, 5000);
    /* a length that wraps a pointer around (found by fuzz_rx_time) ends the walk */
    ((struct cmsghdr *)(buf + sizeof(o)))->cmsg_len = (size_t)-8;
    CHECK(rx_time_unwrap(&m, buf, res, 0, 5000, &rx));
    CHECK(!rx.kernel_timed);
    /* a time before the monotonic clock's start is no time */
    res = layout(buf, &m, 100, "abcdef", 1);
    CHECK(rx_time_unwrap(&m, buf, res, -200, 5000, &rx));
    CHECK(!rx.kernel_timed);
    CHECK_EQ_U(rx.at, 5000);
}

static uint64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void a_real_loopback_receive_is_timed_between_send_and_read(void)
{
    char err[256];
    struct ring r;
    CHECK(ring_create(&r, 8, 16, 4, 4096, err, sizeof(err)) == 0);
    if (!r.uring_ok) return;
    if (!r.multishot) {  /* before 6.0: barrage reads with plain recv and times by the wait */
        printf("  (skipped: no multishot receive on this kernel)\n");
        ring_destroy(&r);
        return;
    }
    int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    CHECK(bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lfd, 1) == 0);
    CHECK(getsockname(lfd, (struct sockaddr *)&a, &alen) == 0);
    CHECK(setsockopt(cfd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) == 0);
    CHECK(connect(cfd, (struct sockaddr *)&a, sizeof(a)) == 0);
    int sfd = accept(lfd, NULL, NULL);
    CHECK(sfd >= 0);

    struct msghdr m;
    rx_time_msghdr(&m);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r.uring);
    io_uring_prep_recvmsg_multishot(sqe, cfd, &m, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = RING_BGID;
    io_uring_submit(&r.uring);
    /* The kernel switches receive timestamps on from a work queue after the first
     * SO_TIMESTAMPNS (barrage times by the wait until then): a few tries. */
    bool timed = false;
    for (int attempt = 0; attempt < 20 && !timed; attempt++) {
        uint64_t before = mono();
        CHECK(write(sfd, "HTTP/1.1 204 No Content\r\n\r\n", 27) == 27);
        usleep(20000);  /* the read comes well after the arrival */
        struct io_uring_cqe *cqe;
        CHECK(io_uring_wait_cqe(&r.uring, &cqe) == 0);
        uint64_t now = mono();
        CHECK(cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER) && (cqe->flags & IORING_CQE_F_MORE));
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        char *buf = r.bufs + (size_t)bid * r.buf_size;
        struct rx_bytes rx;
        CHECK(rx_time_unwrap(&m, buf, cqe->res, rx_time_offset(), now, &rx));
        CHECK_EQ_U(rx.len, 27);
        CHECK(rx.len == 27 && memcmp(rx.data, "HTTP/1.1 204", 12) == 0);
        timed = rx.kernel_timed;
        if (timed) CHECK(rx.at >= before && rx.at + 15000000 < now);  /* at the write, not the read */
        io_uring_cqe_seen(&r.uring, cqe);
        io_uring_buf_ring_add(r.br, buf, r.buf_size, (unsigned short)bid, r.buf_mask, 0);
        io_uring_buf_ring_advance(r.br, 1);
    }
    CHECK(timed);
    close(sfd);
    close(cfd);
    close(lfd);
    ring_destroy(&r);
}

int main(void)
{
    RUN(kernel_time_becomes_monotonic);
    RUN(no_time_or_a_time_after_now_is_now);
    RUN(end_of_stream_has_no_payload);
    RUN(malformed_buffers_are_refused);
    RUN(a_real_loopback_receive_is_timed_between_send_and_read);
    CHECK_EXIT();
}
