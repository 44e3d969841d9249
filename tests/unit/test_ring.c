/* The ring's fixed-file table as the worker uses it: a connection's slot is filled and
 * cleared by queued operations, issued in queue order, so that an operation queued
 * before a slot changes still reaches the socket it was queued for. */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../../engine/ring.h"
#include "check.h"

static bool kernel_takes_fixed_files(void)
{
    struct utsname u;
    int ma = 0, mi = 0;
    return uname(&u) == 0 && sscanf(u.release, "%d.%d", &ma, &mi) == 2 && (ma > 6 || (ma == 6 && mi >= 13));
}

static void queue_update(struct io_uring *u, int *fd, unsigned slot)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(u);
    io_uring_prep_files_update(sqe, fd, 1, (int)slot);
    sqe->user_data = 1;
}

static void queue_send(struct io_uring *u, unsigned slot, const char *text)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(u);
    io_uring_prep_send(sqe, (int)slot, text, strlen(text), MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    sqe->user_data = 2;
}

/* One submission: slot 3 gets socket A, a send, then the slot is emptied and given
 * socket B, and another send. Each send must reach the socket the slot held when it was
 * queued, and A's file must outlive its removal from the table while A's descriptor is
 * open. */
static void a_slot_reused_in_one_submission_keeps_each_send_on_its_socket(void)
{
    if (!kernel_takes_fixed_files()) {
        printf("  skipped: barrage uses fixed-file tables from Linux 6.13\n");
        return;
    }
    struct ring r;
    char err[256];
    CHECK(ring_create(&r, 16, 32, 64, 1024, err, sizeof(err)) == 0);
    CHECK(ring_fixed_files(&r, 8));
    CHECK(r.fixed_files);
    int a[2], b[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
    int none = -1;
    queue_update(&r.uring, &a[0], 3);
    queue_send(&r.uring, 3, "to A");
    queue_update(&r.uring, &none, 3);
    queue_update(&r.uring, &b[0], 3);
    queue_send(&r.uring, 3, "to B");
    CHECK(io_uring_submit_and_wait(&r.uring, 5) == 5);
    struct io_uring_cqe *cqe;
    int sends_ok = 0, updates_ok = 0;
    while (io_uring_peek_cqe(&r.uring, &cqe) == 0) {
        if (cqe->user_data == 2 && cqe->res == 4) sends_ok++;
        if (cqe->user_data == 1 && cqe->res == 1) updates_ok++;
        io_uring_cqe_seen(&r.uring, cqe);
    }
    CHECK_EQ_U(sends_ok, 2);
    CHECK_EQ_U(updates_ok, 3);
    char got[16] = {0};
    CHECK(recv(a[1], got, sizeof(got), MSG_DONTWAIT) == 4 && memcmp(got, "to A", 4) == 0);
    memset(got, 0, sizeof(got));
    CHECK(recv(b[1], got, sizeof(got), MSG_DONTWAIT) == 4 && memcmp(got, "to B", 4) == 0);
    /* Emptied slot: a send through it fails instead of reaching a socket. */
    queue_update(&r.uring, &none, 3);
    queue_send(&r.uring, 3, "lost");
    CHECK(io_uring_submit_and_wait(&r.uring, 2) == 2);
    int badf = 0;
    while (io_uring_peek_cqe(&r.uring, &cqe) == 0) {
        if (cqe->user_data == 2 && cqe->res == -EBADF) badf++;
        io_uring_cqe_seen(&r.uring, cqe);
    }
    CHECK_EQ_U(badf, 1);
    for (int i = 0; i < 2; i++) close(a[i]), close(b[i]);
    ring_destroy(&r);
}

int main(void)
{
    RUN(a_slot_reused_in_one_submission_keeps_each_send_on_its_socket);
    CHECK_EXIT();
}
