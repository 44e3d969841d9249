/* `barrage serve`: flags, listening sockets, worker threads, clean stop and the stats file.
 *
 * Shape of a run: parse flags; block SIGINT/SIGTERM (before anything a test could wait
 * for, so a signal sent right after the port appears is never fatal); bind one
 * SO_REUSEPORT listener per thread on the same port; announce the port; start the
 * workers; sigwait(); stop and join them; add up their counters.
 *
 * Two modes model a server's limits, for testing a load generator against known answers:
 *   --stall S --stall-every P   a stop-the-world pause: in every window [kP, kP + S) of
 *       monotonic time since the common start (k = 0, 1, ...; taken once, just before the
 *       threads start, so all threads are in phase) a worker neither accepts, reads nor
 *       writes. A request arriving s into a window is answered when it ends, S - s later.
 *       The check comes after each epoll_wait, before the events are handled: a batch
 *       already being handled when a window opens still goes out (well under a
 *       millisecond). See worker_stall() in serve_worker.c.
 *   --capacity K --slot T       K slots, each request holding one for T and answered when T
 *       ends; requests finding none free wait in one FIFO queue (one request at a time
 *       per connection; one whose client hangs up while it waits is dropped). So
 *       throughput is at most K/T exactly and latency grows without bound past it. The
 *       slots and their queue are one worker's, which makes K/T exact with no locking:
 *       --capacity needs --threads 1 (one thread answers some 100,000 requests a second,
 *       far above any capacity a test needs). See serve_worker_slot_take() in
 *       serve_worker.c and the top of serve_conn.c.
 */

#include "serve.h"
#include "plan.h"          /* parse_duration(): the same durations as the client's -d */
#include "serve_api.h"
#include "serve_config.h"
#include "serve_reply.h"
#include "serve_worker.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_BACKLOG 4096

static const char usage[] =
    "usage: barrage serve [options]\n"
    "Built-in HTTP/1.1 target server.\n"
    "\n"
    "  --host ADDR         address to bind (default 127.0.0.1)\n"
    "  --port P            port, 0 = ephemeral (default 0)\n"
    "  --threads N         worker threads, each with its own listener (default 1)\n"
    "  --port-file FILE    write the port number to FILE once listening\n"
    "  --body-size N       body bytes of the default response (default 13)\n"
    "  --delay T           delay every response by T (250ms, 2s; a bare number is ms)\n"
    "  --chunked           send default responses with chunked encoding\n"
    "  --close-after N     close each connection after its Nth response (0: never)\n"
    "  --drop-after N      close each connection after its Nth response without saying so (0: never)\n"
    "                      (no Connection: close; later requests on it go unanswered)\n"
    "  --idle-close T      close keep-alive connections idle for T (ms when bare; 0: never)\n"
    "  --stall T           freeze for T at the start of every --stall-every period\n"
    "  --stall-every P     the stall period (T < P); see Stall mode below\n"
    "  --capacity K        serve at most K requests at once; see Capacity mode below\n"
    "  --slot T            how long each request holds its --capacity slot\n"
    "  --api               serve the JSON API routes below (login, items, health)\n"
    "  --stats-file FILE   at exit write {\"requests\":N,\"connections\":N} to FILE\n"
    "  --quiet             print nothing on stdout, no warnings\n"
    "  -h, --help          this text\n"
    "\n"
    "Routes (query strings ignored; HEAD answers without the body; request bodies with a\n"
    "Content-Length or chunked; other framings refused and the connection closed):\n"
    "  /               200 with the default body (also any unknown path)\n"
    "  /bytes/N        200 with an N-byte body\n"
    "  /chunked/N      200, N bytes in chunks (one with an extension), a trailer\n"
    "  /delay/MS       the default response after MS milliseconds\n"
    "  /status/CODE    that status (100-599)\n"
    "  /close          200 with Connection: close, then close\n"
    "  /reset          no answer: close with an RST\n"
    "  /truncate       Content-Length: 100 but 10 body bytes, then close\n"
    "  /garbage        a line that is not HTTP, then close\n"
    "  /hang           never answer\n"
    "  /echo           200 with the request body (chunked when it came chunked)\n"
    "\n"
    "With --api (JSON bodies, Content-Type: application/json; without --api these paths\n"
    "answer like /):\n"
    "  POST /api/login      body {\"user\":\"U\",\"password\":\"pw-U\"}: 200\n"
    "                       {\"access_token\":\"TOKEN\",\"user\":\"U\"}; a wrong password 401,\n"
    "                       a body that is not such an object 400\n"
    "  GET  /api/items?page=N   200 {\"page\":N,\"items\":[{\"id\":\"ID\",\"title\":\"T\"},...]}\n"
    "                       (5 items; N from 1 to 1000000, default 1)\n"
    "  POST /api/items      body {\"title\":\"T\"}: 201 {\"id\":\"ID\",\"title\":\"T\"} with ETag\n"
    "                       and Location headers\n"
    "  GET  /api/items/ID   200 {\"id\":\"ID\",\"title\":\"T\"} with its ETag; 404 unless ID was\n"
    "                       created (or listed) for the same user\n"
    "  GET  /health         200 {\"status\":\"ok\"}\n"
    "  The /api/items routes need \"Authorization: Bearer TOKEN\" with a TOKEN from\n"
    "  /api/login: 401 {\"error\":\"unauthorized\"} without it. Errors are {\"error\":\"...\"}:\n"
    "  405 for a wrong method, 404 for another /api/ path, 413 for a body over 16 KiB.\n"
    "  Nothing is stored: tokens and IDs are signed with a key drawn at start, so any\n"
    "  thread answers any of them, and they are valid until the server exits.\n"
    "\n"
    "Durations (T, P) as for the client's -d: 250ms, 1s, 1.5s.\n"
    "\n"
    "Stall mode (--stall T --stall-every P): a stop-the-world pause. In every window\n"
    "[kP, kP + T) after the server starts (k = 0, 1, ...; all threads in phase) it neither\n"
    "accepts, reads nor writes; a request arriving s into a window is answered when the\n"
    "window ends, T - s later. One being answered as a window opens may still go out.\n"
    "\n"
    "Capacity mode (--capacity K --slot T): K slots. A request takes a free slot, holds it\n"
    "for T and is answered when T ends (or when its --delay or /delay ends, if later);\n"
    "requests that find all K busy wait in one FIFO queue for the next free slot. So at\n"
    "most K/T requests a second are answered, and past that latency grows without bound.\n"
    "A connection is served one request at a time: a pipelined request queues for a slot\n"
    "when the one before it ends. A waiting request whose client closes the connection is\n"
    "dropped (it takes no slot). Needs --threads 1 (the slots belong to one thread).\n";

/* --- flags --------------------------------------------------------------------------- */

/* FLAG_MS: milliseconds, bare ("250") as the flag always took them, or a duration
 * ("250ms", "2s") in whole milliseconds. */
enum flag_kind { FLAG_STRING, FLAG_NUMBER, FLAG_DURATION, FLAG_MS, FLAG_SWITCH };

struct flag {
    const char *name;
    enum flag_kind kind;
    size_t offset, size;   /* of the field in struct serve_config */
    uint64_t min, max;     /* FLAG_NUMBER, FLAG_MS (ms); FLAG_DURATION (ns) */
};

#define FIELD(f) offsetof(struct serve_config, f), sizeof(((struct serve_config *)0)->f)
static const struct flag flags[] = {
    { "--host",        FLAG_STRING, FIELD(host),          0, 0 },
    { "--port",        FLAG_NUMBER, FIELD(port),          0, 65535 },
    { "--threads",     FLAG_NUMBER, FIELD(threads),       1, SERVE_MAX_THREADS },
    { "--port-file",   FLAG_STRING, FIELD(port_file),     0, 0 },
    { "--body-size",   FLAG_NUMBER, FIELD(body_size),     0, SERVE_MAX_BODY },
    { "--delay",       FLAG_MS,     FIELD(delay_ms),      0, SERVE_MAX_DELAY_MS },
    { "--chunked",     FLAG_SWITCH, FIELD(chunked),       0, 0 },
    { "--close-after", FLAG_NUMBER, FIELD(close_after),   0, UINT32_MAX },
    { "--drop-after",  FLAG_NUMBER, FIELD(drop_after),    0, UINT32_MAX },
    { "--idle-close",  FLAG_MS,     FIELD(idle_close_ms), 0, UINT32_MAX },
    { "--stall",       FLAG_DURATION, FIELD(stall_ns),     1, SERVE_MAX_DURATION },
    { "--stall-every", FLAG_DURATION, FIELD(stall_every_ns), 1, SERVE_MAX_DURATION },
    { "--capacity",    FLAG_NUMBER, FIELD(capacity),      1, UINT32_MAX },
    { "--slot",        FLAG_DURATION, FIELD(slot_ns),      1, SERVE_MAX_DURATION },
    { "--api",         FLAG_SWITCH, FIELD(api),           0, 0 },
    { "--stats-file",  FLAG_STRING, FIELD(stats_file),    0, 0 },
    { "--quiet",       FLAG_SWITCH, FIELD(quiet),         0, 0 },
};

static bool parse_number(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s) return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (v < min || v > max) return false;
    *out = v;
    return true;
}

static bool parse_ms(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (parse_number(s, min, max, out)) return true;
    /* Past a bare number only a duration with its unit: parse_duration would read "1.5"
     * as seconds where the flag's bare numbers are milliseconds. */
    size_t len = strlen(s);
    uint64_t ns;
    if (!len || !isalpha((unsigned char)s[len - 1]) || parse_duration(s, &ns) != 0 || ns % 1000000) return false;
    if (ns / 1000000 < min || ns / 1000000 > max) return false;
    *out = ns / 1000000;
    return true;
}

static void store_number(void *field, size_t size, uint64_t v)
{
    switch (size) {
    case 2: *(uint16_t *)field = (uint16_t)v; break;
    case 4: *(uint32_t *)field = (uint32_t)v; break;
    default: *(uint64_t *)field = v; break;
    }
}

/* Flags that only make sense together. -1 when they do, else 2 after printing why. */
static int check_modes(const struct serve_config *cfg)
{
    const char *why = NULL;
    if (!cfg->stall_ns != !cfg->stall_every_ns)
        why = "--stall and --stall-every go together";
    else if (cfg->stall_ns && cfg->stall_ns >= cfg->stall_every_ns)
        why = "--stall must be shorter than --stall-every";
    else if (!cfg->capacity != !cfg->slot_ns)
        why = "--capacity and --slot go together";
    else if (cfg->capacity && cfg->threads != 1)
        why = "--capacity needs --threads 1 (the slots belong to one thread)";
    if (!why) return -1;
    fprintf(stderr, "barrage serve: %s\n", why);
    return 2;
}

/* Returns -1 to go on serving, else the exit code: 0 after --help, 2 for a bad flag
 * (the message is printed here, the one place flags are judged). */
static int parse_flags(int argc, char **argv, struct serve_config *cfg)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct flag *f = NULL;
        for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
            if (strlen(flags[k].name) == name_len && !strncmp(arg, flags[k].name, name_len))
                f = &flags[k];
        }
        if (!f) {
            fprintf(stderr, "barrage serve: %s '%s'\n",
                    arg[0] == '-' ? "unknown option" : "unexpected argument", arg);
            return 2;
        }
        void *field = (char *)cfg + f->offset;
        if (f->kind == FLAG_SWITCH) {
            if (eq) {
                fprintf(stderr, "barrage serve: %s: takes no value\n", f->name);
                return 2;
            }
            *(bool *)field = true;
            continue;
        }
        const char *value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!value) {
            fprintf(stderr, "barrage serve: %s: missing value\n", f->name);
            return 2;
        }
        uint64_t v;
        if (f->kind == FLAG_STRING && *value) {
            *(const char **)field = value;
        } else if (f->kind == FLAG_NUMBER && parse_number(value, f->min, f->max, &v)) {
            store_number(field, f->size, v);
        } else if (f->kind == FLAG_DURATION && parse_duration(value, &v) == 0 &&
                   v >= f->min && v <= f->max) {
            store_number(field, f->size, v);
        } else if (f->kind == FLAG_MS && parse_ms(value, f->min, f->max, &v)) {
            store_number(field, f->size, v);
        } else if (f->kind == FLAG_MS) {
            fprintf(stderr, "barrage serve: %s: invalid value '%s' (whole milliseconds, or a duration such as 250ms "
                    "or 2s, at most %llus)\n", f->name, value, (unsigned long long)(f->max / 1000));
            return 2;
        } else {
            fprintf(stderr, "barrage serve: %s: invalid value '%s'\n", f->name, value);
            return 2;
        }
    }
    return check_modes(cfg);
}

/* --- setup and files ----------------------------------------------------------------- */

/* ~20,000 connections need more descriptors than the usual soft limit of 1024. */
static void raise_fd_limit(const struct serve_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max) return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && !cfg->quiet)
        fprintf(stderr, "barrage serve: warning: cannot raise the open-file limit: %s\n",
                strerror(errno));
}

/* Binds a listener to addr (whose port is set). Returns the fd, or -errno with *what set. */
static int open_listener(const struct sockaddr_storage *addr, socklen_t len, const char **what)
{
    int one = 1;
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *what = "socket";
        return -errno;
    }
    *what = "setsockopt";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        goto fail;
    *what = "bind";
    if (bind(fd, (const struct sockaddr *)addr, len) < 0) goto fail;
    *what = "listen";
    if (listen(fd, LISTEN_BACKLOG) < 0) goto fail;
    return fd;
fail:;
    int err = -errno;
    close(fd);
    return err;
}

/* SO_REUSEPORT lets a second server of the same user share a port without a word, which
 * would split a test's traffic between two servers. So an explicit port is first bound
 * without it: that fails (EADDRINUSE) when anyone listens there. 0 or -errno. */
static int check_port_free(const struct sockaddr_storage *addr, socklen_t len)
{
    int one = 1;
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int err = bind(fd, (const struct sockaddr *)addr, len) < 0 ? -errno : 0;
    close(fd);
    return err;
}

/* Writes text to path through path.tmp and rename(), so a reader polling for path never
 * sees it half-written. 0 or -errno. */
static int write_file_atomically(const char *path, const char *text)
{
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp) return -ENOMEM;
    snprintf(tmp, n, "%s.tmp", path);
    int err = 0;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        err = -errno;
    } else {
        bool ok = fputs(text, f) >= 0;
        if (fclose(f) != 0 || !ok) err = errno ? -errno : -EIO;
        else if (rename(tmp, path) < 0) err = -errno;
        if (err) unlink(tmp);
    }
    free(tmp);
    return err;
}

/* Found out at the start, not after the whole run (or after listening): the directory of
 * --stats-file or --port-file (flag) takes its file (write_file_atomically's temporary one,
 * removed again). */
static int out_file_check(const char *flag, const char *path)
{
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp) return -1;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int err = f ? 0 : errno;
    if (f) {
        fclose(f);
        unlink(tmp);
    }
    free(tmp);
    if (err) fprintf(stderr, "barrage serve: %s %s: cannot write: %s\n", flag, path, strerror(err));
    return err ? -1 : 0;
}

static void set_port(struct sockaddr_storage *addr, uint16_t port)
{
    if (addr->ss_family == AF_INET6) ((struct sockaddr_in6 *)addr)->sin6_port = htons(port);
    else ((struct sockaddr_in *)addr)->sin_port = htons(port);
}

static uint16_t get_port(const struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
    return ntohs(((const struct sockaddr_in *)addr)->sin_port);
}

/* --- the run ------------------------------------------------------------------------- */

struct server {
    const struct serve_config *cfg;
    struct serve_worker *workers[SERVE_MAX_THREADS];
    int nworkers;
    struct sockaddr_storage addr;   /* bound address, with the real port */
    socklen_t addr_len;
};

/* Resolves --host and creates one worker per thread, each with a listener on one port.
 * 0, or -1 after printing why; *code is the exit code to use. */
static int server_listen(struct server *s, int *code)
{
    const struct serve_config *cfg = s->cfg;
    struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai = NULL;
    if (getaddrinfo(cfg->host, NULL, &hints, &ai) != 0 || !ai) {
        fprintf(stderr, "barrage serve: --host: invalid value '%s'\n", cfg->host);
        *code = 2;
        return -1;
    }
    memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
    s->addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    set_port(&s->addr, cfg->port);

    *code = 1;
    const char *what = "bind";
    int err = cfg->port ? check_port_free(&s->addr, s->addr_len) : 0;
    for (int i = 0; i < cfg->threads && !err; i++) {
        int fd = open_listener(&s->addr, s->addr_len, &what);
        if (fd < 0) {
            err = fd;
            break;
        }
        if (i == 0 && cfg->port == 0) {   /* the other threads join the ephemeral port */
            socklen_t len = sizeof(s->addr);
            getsockname(fd, (struct sockaddr *)&s->addr, &len);
        }
        err = serve_worker_create(&s->workers[i], cfg, fd, &what);
        if (err) break;
        s->nworkers++;
    }
    if (!err) return 0;
    fprintf(stderr, "barrage serve: %s %s port %u: %s\n", what, cfg->host,
            get_port(&s->addr), strerror(-err));
    return -1;
}

/* The port file, then "listening on http://HOST:PORT/". 0 or -1 after printing why. */
static int server_announce(struct server *s)
{
    const struct serve_config *cfg = s->cfg;
    uint16_t port = get_port(&s->addr);
    if (cfg->port_file) {
        char text[16];
        snprintf(text, sizeof(text), "%u\n", port);
        int err = write_file_atomically(cfg->port_file, text);
        if (err) {
            fprintf(stderr, "barrage serve: --port-file %s: %s\n", cfg->port_file, strerror(-err));
            return -1;
        }
    }
    if (!cfg->quiet) {
        char host[NI_MAXHOST];
        if (getnameinfo((struct sockaddr *)&s->addr, s->addr_len, host, sizeof(host), NULL, 0,
                        NI_NUMERICHOST) != 0)
            snprintf(host, sizeof(host), "%s", cfg->host);
        bool v6 = s->addr.ss_family == AF_INET6;
        printf("listening on http://%s%s%s:%u/\n", v6 ? "[" : "", host, v6 ? "]" : "", port);
        fflush(stdout);
    }
    return 0;
}

static int server_write_stats(const struct server *s)
{
    uint64_t requests = 0, connections = 0;
    for (int i = 0; i < s->nworkers; i++) {
        requests += s->workers[i]->requests;
        connections += s->workers[i]->connections;
    }
    char text[96];
    snprintf(text, sizeof(text), "{\"requests\":%llu,\"connections\":%llu}\n",
             (unsigned long long)requests, (unsigned long long)connections);
    int err = write_file_atomically(s->cfg->stats_file, text);
    if (!err) return 0;
    fprintf(stderr, "barrage serve: --stats-file %s: %s\n", s->cfg->stats_file, strerror(-err));
    return -1;
}

/* Starts the workers, waits for SIGINT/SIGTERM, stops and joins them. 0, or 1 when a
 * worker could not start or failed. */
static int server_run(struct server *s, const sigset_t *stop_signals)
{
    int started = 0, code = 0;
    for (; started < s->nworkers; started++) {
        struct serve_worker *w = s->workers[started];
        int err = pthread_create(&w->thread, NULL, serve_worker_run, w);
        if (err) {
            fprintf(stderr, "barrage serve: starting a thread: %s\n", strerror(err));
            code = 1;
            break;
        }
    }
    if (!code) {
        int sig;
        sigwait(stop_signals, &sig);
    }
    for (int i = 0; i < started; i++) serve_worker_stop(s->workers[i]);
    for (int i = 0; i < started; i++) {
        struct serve_worker *w = s->workers[i];
        pthread_join(w->thread, NULL);
        if (w->error) {
            fprintf(stderr, "barrage serve: worker %d: epoll_wait: %s\n", i, strerror(w->error));
            code = 1;
        }
    }
    return code;
}

int serve_main(int argc, char **argv)
{
    struct serve_config cfg = { .host = "127.0.0.1", .threads = 1, .body_size = 13 };
    int code = parse_flags(argc, argv, &cfg);
    if (code >= 0) return code;

    sigset_t stop_signals, old_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);   /* inherited by the workers */

    raise_fd_limit(&cfg);
    serve_pattern_init();
    serve_api_init();
    struct server s = { .cfg = &cfg };
    code = 1;
    if (serve_reply_init(&cfg) < 0) {
        fprintf(stderr, "barrage serve: out of memory\n");
        goto out;
    }
    if ((cfg.stats_file && out_file_check("--stats-file", cfg.stats_file) < 0) ||
        (cfg.port_file && out_file_check("--port-file", cfg.port_file) < 0)) {
        code = 2;
        goto out;
    }
    if (server_listen(&s, &code) < 0 || server_announce(&s) < 0) goto out;
    /* The stall windows count from here, before any worker starts: all are in phase. */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    cfg.start_ns = (uint64_t)start.tv_sec * 1000000000u + (uint64_t)start.tv_nsec;
    code = server_run(&s, &stop_signals);
    if (cfg.stats_file && server_write_stats(&s) < 0) code = 1;
out:
    for (int i = 0; i < s.nworkers; i++) serve_worker_destroy(s.workers[i]);
    serve_reply_fini();
    /* A second SIGTERM (or ^C) during the stop is pending: unblocking it as it is would
     * kill the process on the way out and lose the exit code. */
    struct timespec no_wait = { 0 };
    while (sigtimedwait(&stop_signals, NULL, &no_wait) > 0) continue;
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return code;
}
