/* Event loop of one `barrage serve` worker: accepting, timers, stopping. See serve_worker.h. */
#ifndef _GNU_SOURCE   /* the Makefile defines it; accept4 needs it */
#define _GNU_SOURCE
#endif
#include "serve_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS   256
#define ACCEPT_BURST 128   /* accepts per listener event, so connections cannot starve I/O */
#define NS_PER_S     1000000000u

/* epoll_pwait2() (Linux 5.11, glibc 2.35) takes its timeout in ns; epoll_wait() in ms,
 * which would make every /delay, slot and stall up to a millisecond late. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define HAVE_EPOLL_PWAIT2 1
#endif

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* --- timers: a binary min-heap of connections on timer_at ----------------------------- */

static void heap_place(struct serve_worker *w, uint32_t i, struct serve_conn *c)
{
    w->heap[i] = c;
    c->heap_index = i;
}

static void heap_sift_up(struct serve_worker *w, uint32_t i)
{
    struct serve_conn *c = w->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (w->heap[parent]->timer_at <= c->timer_at) break;
        heap_place(w, i, w->heap[parent]);
        i = parent;
    }
    heap_place(w, i, c);
}

static void heap_sift_down(struct serve_worker *w, uint32_t i)
{
    struct serve_conn *c = w->heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= w->heap_len) break;
        if (child + 1 < w->heap_len && w->heap[child + 1]->timer_at < w->heap[child]->timer_at)
            child++;
        if (c->timer_at <= w->heap[child]->timer_at) break;
        heap_place(w, i, w->heap[child]);
        i = child;
    }
    heap_place(w, i, c);
}

/* The heap always has room: worker_adopt() grows it with the connection count. */
void serve_worker_set_timer(struct serve_worker *w, struct serve_conn *c, uint64_t at)
{
    uint32_t i = c->heap_index;
    if (i == SERVE_NO_TIMER) {
        i = w->heap_len++;
        heap_place(w, i, c);
    }
    c->timer_at = at;
    heap_sift_up(w, i);
    heap_sift_down(w, c->heap_index);
}

void serve_worker_clear_timer(struct serve_worker *w, struct serve_conn *c)
{
    uint32_t i = c->heap_index;
    if (i == SERVE_NO_TIMER) return;
    c->heap_index = SERVE_NO_TIMER;
    struct serve_conn *last = w->heap[--w->heap_len];
    if (last == c) return;
    heap_place(w, i, last);
    heap_sift_up(w, i);
    heap_sift_down(w, last->heap_index);
}

/* --- --idle-close: a list in the order connections became idle, so oldest first -------- */

void serve_worker_update_idle(struct serve_worker *w, struct serve_conn *c, bool idle)
{
    if (c->in_idle_list) {
        if (c->idle_prev) c->idle_prev->idle_next = c->idle_next;
        else w->idle_head = c->idle_next;
        if (c->idle_next) c->idle_next->idle_prev = c->idle_prev;
        else w->idle_tail = c->idle_prev;
        c->in_idle_list = 0;
    }
    if (!idle) return;
    c->idle_since = w->now;
    c->idle_prev = w->idle_tail;
    c->idle_next = NULL;
    if (w->idle_tail) w->idle_tail->idle_next = c;
    else w->idle_head = c;
    w->idle_tail = c;
    c->in_idle_list = 1;
}

static uint64_t idle_deadline(const struct serve_worker *w)
{
    return w->idle_head->idle_since + (uint64_t)w->cfg->idle_close_ms * 1000000u;
}

/* --- --capacity: slots and the queue for them -------------------------------------- */

bool serve_worker_slot_take(struct serve_worker *w, struct serve_conn *c)
{
    if (c->slot == SERVE_SLOT_GRANTED) {
        c->slot = SERVE_SLOT_BUSY;
        return true;
    }
    if (c->slot != SERVE_SLOT_NONE) return false;
    if (w->slots_free) {
        w->slots_free--;
        c->slot = SERVE_SLOT_BUSY;
        c->slot_end = w->now + w->cfg->slot_ns;
        return true;
    }
    c->slot = SERVE_SLOT_WAITING;
    c->slot_prev = w->slot_tail;
    c->slot_next = NULL;
    if (w->slot_tail) w->slot_tail->slot_next = c;
    else w->slot_head = c;
    w->slot_tail = c;
    return false;
}

static void slot_unqueue(struct serve_worker *w, struct serve_conn *c)
{
    if (c->slot_prev) c->slot_prev->slot_next = c->slot_next;
    else w->slot_head = c->slot_next;
    if (c->slot_next) c->slot_next->slot_prev = c->slot_prev;
    else w->slot_tail = c->slot_prev;
    c->slot_prev = c->slot_next = NULL;
}

/* A slot handed to a waiter starts when the previous request's slot ended, not when the
 * timer got round to it: otherwise each hand-over would lose the timer's lateness (some
 * 100 us, 1% of a 10 ms slot) and throughput would fall short of K/T. Only lateness of
 * less than a slot is made up, so a --stall still costs its time. */
void serve_worker_slot_give(struct serve_worker *w, struct serve_conn *c)
{
    enum serve_slot had = (enum serve_slot)c->slot;
    c->slot = SERVE_SLOT_NONE;
    if (had == SERVE_SLOT_WAITING) slot_unqueue(w, c);
    if (had != SERVE_SLOT_GRANTED && had != SERVE_SLOT_BUSY) return;
    struct serve_conn *next = w->slot_head;
    if (!next) {
        w->slots_free++;
        return;
    }
    uint64_t slot = w->cfg->slot_ns, from = w->now;
    if (had == SERVE_SLOT_BUSY && c->slot_end <= w->now && w->now - c->slot_end < slot)
        from = c->slot_end;
    slot_unqueue(w, next);
    next->slot = SERVE_SLOT_GRANTED;
    next->slot_end = from + slot;
    serve_worker_set_timer(w, next, w->now);   /* worker_expire() runs it in this round */
}

/* --- waiting for events -------------------------------------------------------------- */

/* The next timer or idle-close deadline (monotonic ns); UINT64_MAX for none. */
static uint64_t worker_deadline(const struct serve_worker *w)
{
    uint64_t next = UINT64_MAX;
    if (w->heap_len) next = w->heap[0]->timer_at;
    if (w->idle_head && idle_deadline(w) < next) next = idle_deadline(w);
    return next;
}

/* epoll_wait until the next deadline. Returns as epoll_wait. */
static int worker_wait(struct serve_worker *w, struct epoll_event *events)
{
    uint64_t next = worker_deadline(w), left = UINT64_MAX;
    if (next != UINT64_MAX) {
        uint64_t now = now_ns();
        left = next > now ? next - now : 0;
    }
#ifdef HAVE_EPOLL_PWAIT2
    if (w->precise_wait) {
        struct timespec ts = { .tv_sec = (time_t)(left / NS_PER_S),
                               .tv_nsec = (long)(left % NS_PER_S) };
        int n = epoll_pwait2(w->epoll_fd, events, MAX_EVENTS,
                             left == UINT64_MAX ? NULL : &ts, NULL);
        if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return n;
        w->precise_wait = false;   /* an older kernel, or a seccomp filter that lacks it */
    }
#endif
    int ms = -1;   /* rounded up, so a timer never fires early */
    if (left != UINT64_MAX)
        ms = left / 1000000 >= INT_MAX ? INT_MAX : (int)((left + 999999) / 1000000);
    return epoll_wait(w->epoll_fd, events, MAX_EVENTS, ms);
}

/* --stall: when w->now falls in a stall window, waits for its end, doing nothing else.
 * Called after each wait for events, before handling them: whatever arrived during the
 * window (and whatever timer expired in it) is handled when it ends. No wake-up at the
 * window's start is needed: an idle worker is woken by the first event or timer, and
 * this check then holds it back; a busy one comes here after every batch. The wait is a
 * ppoll() on the stop eventfd, so a stop is not held up by a long stall. Returns true
 * when asked to stop meanwhile. */
static bool worker_stall(struct serve_worker *w)
{
    const struct serve_config *cfg = w->cfg;
    if (w->now < cfg->start_ns) return false;
    uint64_t phase = (w->now - cfg->start_ns) % cfg->stall_every_ns;
    if (phase >= cfg->stall_ns) return false;
    uint64_t end = w->now - phase + cfg->stall_ns;
    struct pollfd stop = { .fd = w->wake_fd, .events = POLLIN };
    while (w->now < end) {
        uint64_t left = end - w->now;
        struct timespec ts = { .tv_sec = (time_t)(left / NS_PER_S),
                               .tv_nsec = (long)(left % NS_PER_S) };
        if (ppoll(&stop, 1, &ts, NULL) > 0) return true;
        w->now = now_ns();
    }
    return false;
}

static void worker_expire(struct serve_worker *w)
{
    w->now = now_ns();
    while (w->heap_len && w->heap[0]->timer_at <= w->now) {
        struct serve_conn *c = w->heap[0];
        serve_worker_clear_timer(w, c);
        serve_conn_timer(w, c);   /* may set a later timer again */
    }
    while (w->idle_head && idle_deadline(w) <= w->now) serve_conn_close(w, w->idle_head);
}

/* --- accepting ----------------------------------------------------------------------- */

/* Out of file descriptors: spend the spare one to accept and drop a connection, so its
 * client hears about it at once and the level-triggered listener stops firing at us. */
static void worker_shed(struct serve_worker *w)
{
    if (!w->warned_emfile && !w->cfg->quiet)
        fprintf(stderr, "barrage serve: out of file descriptors: dropping new connections\n");
    w->warned_emfile = true;
    if (w->spare_fd < 0) return;
    close(w->spare_fd);
    int fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) close(fd);
    w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Sets up an accepted socket. Closes fd itself on failure. */
static void worker_adopt(struct serve_worker *w, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (w->nconns + 1 > w->heap_cap) {
        uint32_t cap = w->heap_cap ? 2 * w->heap_cap : 1024;
        struct serve_conn **heap = realloc(w->heap, cap * sizeof(*heap));
        if (!heap) {
            close(fd);
            return;
        }
        w->heap = heap;
        w->heap_cap = cap;
    }
    struct serve_conn *c = serve_conn_create(w, fd);
    if (!c) {
        close(fd);
        return;
    }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                              .data.ptr = c };
    if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        serve_conn_close(w, c);
        return;
    }
    w->connections++;
    if (w->cfg->idle_close_ms) serve_worker_update_idle(w, c, true);
}

static void worker_accept(struct serve_worker *w)
{
    for (int i = 0; i < ACCEPT_BURST; i++) {
        int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            worker_adopt(w, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE) worker_shed(w);
        return;   /* EAGAIN, or an error the next readiness event will retry */
    }
}

/* --- the loop ------------------------------------------------------------------------ */

void *serve_worker_run(void *arg)
{
    struct serve_worker *w = arg;
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = worker_wait(w, events);
        if (n < 0) {
            if (errno == EINTR) continue;
            w->error = errno;
            kill(getpid(), SIGTERM);   /* wakes serve_main's sigwait(), which stops us all */
            return NULL;
        }
        w->now = now_ns();
        if (w->cfg->stall_ns && worker_stall(w)) return NULL;
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &w->listen_fd) {
                worker_accept(w);
            } else if (tag == &w->wake_fd) {
                return NULL;
            } else {
                struct serve_conn *c = tag;
                if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    c->may_read = 1;
                if (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->hup = 1;
                serve_conn_run(w, c);
            }
        }
        worker_expire(w);
    }
}

void serve_worker_stop(struct serve_worker *w)
{
    uint64_t one = 1;
    ssize_t ignored = write(w->wake_fd, &one, sizeof(one));   /* eventfd: cannot fail here */
    (void)ignored;
}

/* --- setup --------------------------------------------------------------------------- */

static int watch(struct serve_worker *w, int fd, int *tag)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };
    return epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

int serve_worker_create(struct serve_worker **out, const struct serve_config *cfg,
                        int listen_fd, const char **what)
{
    int err = -ENOMEM;
    *what = "allocating a worker";
    struct serve_worker *w = calloc(1, sizeof(*w));
    if (!w) {
        close(listen_fd);
        return err;
    }
    w->cfg = cfg;
    w->listen_fd = listen_fd;
    w->precise_wait = true;
    w->slots_free = cfg->capacity;
    serve_api_state_init(&w->api);
    w->wake_fd = w->spare_fd = -1;
    w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epoll_fd < 0) {
        *what = "epoll_create1";
        goto fail_errno;
    }
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wake_fd < 0) {
        *what = "eventfd";
        goto fail_errno;
    }
    if (watch(w, listen_fd, &w->listen_fd) < 0 || watch(w, w->wake_fd, &w->wake_fd) < 0) {
        *what = "epoll_ctl";
        goto fail_errno;
    }
    w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);   /* optional: see worker_shed */
    w->rbuf = malloc(SERVE_RBUF_BYTES);
    w->staging = serve_outq_create(SERVE_OUT_HIGH_BYTES + SERVE_RBUF_BYTES);
    if (!w->rbuf || !w->staging) goto fail;
    w->now = now_ns();
    *out = w;
    return 0;

fail_errno:
    err = -errno;
fail:
    serve_worker_destroy(w);
    return err;
}

void serve_worker_destroy(struct serve_worker *w)
{
    if (!w) return;
    while (w->conns) serve_conn_close(w, w->conns);
    free(w->heap);
    serve_outq_destroy(w->staging);
    free(w->rbuf);
    if (w->spare_fd >= 0) close(w->spare_fd);
    if (w->wake_fd >= 0) close(w->wake_fd);
    if (w->epoll_fd >= 0) close(w->epoll_fd);
    close(w->listen_fd);
    free(w);
}
