/* floor: the least an io_uring HTTP/1.1 client can do per request, as a yardstick.
 *
 *   floor HOST PORT CONNS SECONDS [WAIT]
 *
 * Keep-alive, depth 1, one thread. Every connection sends the same GET; a response is
 * counted by its length alone (taken from the first response: headers plus Content-Length,
 * which must then stay the same), so nothing is parsed, timed or accounted. Receives are
 * multishot on a provided-buffer ring, sends post no completion, the ring defers its task
 * work to the wait, and each wait asks for WAIT completions (default 32) or 1 ms.
 *
 * It is what the kernel's TCP path costs plus the least io_uring can add: bench/run.sh
 * runs it beside barrage and wrk (TOOLS=... floor) to show how far barrage is from the
 * floor on the same machine in the same run. It is not a load tester: it has no latency,
 * no errors but fatal ones, and stops at the first surprise. */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define NBUFS 1024
#define BUF_SIZE 4096
#define BGID 1

static void die(const char *what, int err)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(err));
    exit(1);
}

/* An SQE, submitting what is queued when the queue is full. */
static struct io_uring_sqe *sqe_get(struct io_uring *ring)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) {
        io_uring_submit(ring);
        sqe = io_uring_get_sqe(ring);
        if (!sqe) die("io_uring_get_sqe", EBUSY);
    }
    return sqe;
}

static void arm_recv(struct io_uring *ring, int i)
{
    struct io_uring_sqe *sqe = sqe_get(ring);
    io_uring_prep_recv_multishot(sqe, i, NULL, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    sqe->user_data = (uint64_t)i;
}

/* The request, on connection i; MSG_WAITALL: a short send, which posts no completion
 * either, would otherwise drop the connection out of the load silently. */
static void send_request(struct io_uring *ring, int i, const char *req, size_t len)
{
    struct io_uring_sqe *sqe = sqe_get(ring);
    io_uring_prep_send(sqe, i, req, len, MSG_NOSIGNAL | MSG_WAITALL);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS;
    sqe->user_data = (uint64_t)i | (1ull << 32);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Length of the first whole response in buf (headers and a Content-Length body), 0 while
 * its head is incomplete, (size_t)-1 for a response without Content-Length. */
static size_t response_len(const char *buf, size_t n)
{
    const char *end = memmem(buf, n, "\r\n\r\n", 4);
    if (!end) return 0;
    for (const char *l = buf; l < end; l++) {
        if (l[0] == '\n' && !strncasecmp(l + 1, "content-length:", 15))
            return (size_t)(end + 4 - buf) + strtoul(l + 16, NULL, 10);
    }
    return (size_t)-1;  /* no length: not a server floor can measure */
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: floor HOST PORT CONNS SECONDS [WAIT]\n");
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]), conns = atoi(argv[3]);
    double secs = atof(argv[4]);
    unsigned wait = argc > 5 ? (unsigned)atoi(argv[5]) : 32;
    if (conns < 1 || conns > 4096 || port < 1 || secs <= 0 || wait < 1) {
        fprintf(stderr, "floor: bad arguments\n");
        return 2;
    }
    char req[256];
    int reqlen = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s:%d\r\n\r\n", host, port);

    struct io_uring ring;
    struct io_uring_params p = {.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                                         IORING_SETUP_CQSIZE,
                                .cq_entries = 8192};
    int rc = io_uring_queue_init_params(1024, &ring, &p);
    if (rc == -EINVAL) {  /* before Linux 6.1: no deferred task work */
        p = (struct io_uring_params){.flags = IORING_SETUP_CQSIZE, .cq_entries = 8192};
        rc = io_uring_queue_init_params(1024, &ring, &p);
    }
    if (rc < 0) die("io_uring_queue_init", -rc);

    size_t br_bytes = NBUFS * sizeof(struct io_uring_buf);
    struct io_uring_buf_ring *br = mmap(NULL, br_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *bufs = malloc((size_t)NBUFS * BUF_SIZE);
    if (br == MAP_FAILED || !bufs) die("memory", ENOMEM);
    struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = NBUFS, .bgid = BGID};
    rc = io_uring_register_buf_ring(&ring, &reg, 0);
    if (rc < 0) die("io_uring_register_buf_ring", -rc);
    io_uring_buf_ring_init(br);
    int mask = io_uring_buf_ring_mask(NBUFS);
    for (int i = 0; i < NBUFS; i++) io_uring_buf_ring_add(br, bufs + (size_t)i * BUF_SIZE, BUF_SIZE, (unsigned short)i, mask, i);
    io_uring_buf_ring_advance(br, NBUFS);

    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "floor: HOST must be an IPv4 address\n");
        return 2;
    }
    int *fds = calloc((size_t)conns, sizeof(int));
    size_t *pending = calloc((size_t)conns, sizeof(size_t));  /* bytes of the current response seen */
    if (!fds || !pending) die("memory", ENOMEM);
    for (int i = 0; i < conns; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0) die("socket", errno);
        int one = 1;
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) die("connect", errno);
        struct timeval tv = {.tv_sec = 5};  /* for the first response, read plainly */
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    rc = io_uring_register_files(&ring, fds, (unsigned)conns);
    if (rc < 0) die("io_uring_register_files", -rc);

    /* The first response, read plainly, gives the length every later one must have. */
    char first[BUF_SIZE];
    size_t rlen = 0, got = 0;
    if (write(fds[0], req, (size_t)reqlen) != reqlen) die("write", errno);
    while (!rlen) {
        ssize_t n = read(fds[0], first + got, sizeof(first) - got);
        if (n <= 0) die("first response", n < 0 ? errno : ECONNRESET);
        got += (size_t)n;
        rlen = response_len(first, got);
        if (rlen == (size_t)-1) {
            fprintf(stderr, "floor: the first response has no Content-Length\n");
            return 1;
        }
        if (!rlen && got == sizeof(first)) die("first response", E2BIG);
    }
    if (got != rlen) die("first response", EPROTO);

    for (int i = 0; i < conns; i++) {
        arm_recv(&ring, i);
        send_request(&ring, i, req, (size_t)reqlen);
        io_uring_submit(&ring);
    }

    unsigned long long done = 0;
    double start = now_s(), end = start + secs;
    unsigned want = wait > (unsigned)conns / 2 ? (unsigned)conns / 2 : wait;
    if (!want) want = 1;
    for (unsigned long long turn = 0;; turn++) {
        if ((turn & 63) == 0 && now_s() >= end) break;
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {.tv_nsec = 1000000};
        rc = io_uring_submit_and_wait_timeout(&ring, &cqe, want, &ts, NULL);
        if (rc < 0 && rc != -ETIME && rc != -EINTR) die("io_uring wait", -rc);
        unsigned head, seen = 0, returned = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            seen++;
            int i = (int)(cqe->user_data & 0xffffffffu);
            if (cqe->user_data >> 32) die("send", cqe->res < 0 ? -cqe->res : EIO);
            if (cqe->res == -ENOBUFS) {  /* the ring ran dry: buffers come back below */
                arm_recv(&ring, i);
                continue;
            }
            if (cqe->res == 0) {
                fprintf(stderr, "floor: the server closed a connection\n");
                return 1;
            }
            if (cqe->res < 0) die("recv", -cqe->res);
            pending[i] += (size_t)cqe->res;
            unsigned short bid = (unsigned short)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
            io_uring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, bid, mask, (int)returned++);
            if (pending[i] > rlen) die("response longer than the first", EPROTO);
            if (pending[i] == rlen) {
                pending[i] = 0;
                done++;
                send_request(&ring, i, req, (size_t)reqlen);
            }
            if (!(cqe->flags & IORING_CQE_F_MORE)) arm_recv(&ring, i);
        }
        io_uring_cq_advance(&ring, seen);
        io_uring_buf_ring_advance(br, (int)returned);
    }
    double took = now_s() - start;
    printf("floor: %llu responses in %.3f s, %.0f req/s, %d connections, wait %u\n", done, took,
           (double)done / took, conns, want);
    return 0;
}
