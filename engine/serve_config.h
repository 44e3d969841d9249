/* Settings of `barrage serve`: filled once by serve.c from the flags, read-only afterwards
 * (every worker thread reads the same struct without locking). */
#ifndef BARRAGE_SERVE_CONFIG_H
#define BARRAGE_SERVE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define SERVE_MAX_BODY     (1ull << 40)  /* largest body of /bytes, /chunked, --body-size */
#define SERVE_MAX_DELAY_MS 3600000u      /* one hour: /delay and --delay */
#define SERVE_MAX_THREADS  256
#define SERVE_MAX_DURATION (3600ull * 1000000000)   /* --stall, --stall-every, --slot: one hour */

struct serve_config {
    const char *host;          /* numeric address or name to bind */
    const char *port_file;     /* NULL: none */
    const char *stats_file;    /* NULL: none */
    uint64_t body_size;        /* body bytes of the default response */
    uint32_t delay_ms;         /* applied to every response; 0: none */
    uint32_t close_after;      /* close after this many responses on a connection; 0: never */
    uint32_t drop_after;       /* likewise, but without Connection: close (a keep-alive race) */
    uint32_t idle_close_ms;    /* close keep-alive connections idle this long; 0: never */
    uint64_t stall_ns;         /* --stall: freeze this long every stall_every_ns; 0: never */
    uint64_t stall_every_ns;
    uint64_t start_ns;         /* monotonic ns the stall windows count from (set before the
                                * worker threads start, the same for all of them) */
    uint32_t capacity;         /* --capacity: concurrent request slots; 0: unlimited */
    uint64_t slot_ns;          /* --slot: how long a request holds its slot */
    uint16_t port;             /* 0: ephemeral */
    uint16_t threads;
    bool chunked;              /* default responses use chunked encoding */
    bool api;                  /* --api: the stateful JSON API routes (serve_api.h) */
    bool quiet;                /* nothing on stdout, no warnings */
};

#endif
