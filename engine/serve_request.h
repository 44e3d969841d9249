/* Request parsing for `barrage serve`: one request head (request line + headers) and the
 * route its target names.
 *
 * Pure functions: no allocation, no I/O, no global state. The parser is restartable the
 * simple way: it is handed all unparsed bytes each time and a caller-kept value
 * (`scanned`) says where the search for the end of the head resumes, so feeding a head one
 * byte at a time, empty lines before it included, costs linear, not quadratic, time.
 */
#ifndef BARRAGE_SERVE_REQUEST_H
#define BARRAGE_SERVE_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SERVE_MAX_HEADER_BYTES (64 * 1024)   /* request line + headers; more gets 431 */

enum serve_route {
    SERVE_ROUTE_DEFAULT,    /* "/" and any unknown path */
    SERVE_ROUTE_BYTES,      /* /bytes/N: arg = N */
    SERVE_ROUTE_CHUNKED,    /* /chunked/N: arg = N */
    SERVE_ROUTE_DELAY,      /* /delay/MS: arg = MS */
    SERVE_ROUTE_STATUS,     /* /status/CODE: arg = CODE */
    SERVE_ROUTE_CLOSE,      /* /close */
    SERVE_ROUTE_RESET,      /* /reset */
    SERVE_ROUTE_TRUNCATE,   /* /truncate */
    SERVE_ROUTE_GARBAGE,    /* /garbage */
    SERVE_ROUTE_HANG,       /* /hang */
    SERVE_ROUTE_ECHO,       /* /echo */
    SERVE_ROUTE_BAD_ARG,    /* a known route with a malformed or out-of-range number: 400 */
    /* The --api routes (serve_api.h); without --api they answer as SERVE_ROUTE_DEFAULT. */
    SERVE_ROUTE_HEALTH,     /* /health */
    SERVE_ROUTE_API_LOGIN,  /* /api/login */
    SERVE_ROUTE_API_ITEMS,  /* /api/items: arg = its ?page= (1 when absent, 0 when malformed) */
    SERVE_ROUTE_API_ITEM,   /* /api/items/ID: the ID at id_off, id_len */
    SERVE_ROUTE_API_OTHER,  /* any other path under /api/ */
};

enum serve_method { SERVE_METHOD_OTHER, SERVE_METHOD_GET, SERVE_METHOD_HEAD, SERVE_METHOD_POST };

/* Offsets (id_off, auth_off) count from the first byte handed to serve_request_parse(), or
 * from the target's first byte after serve_route_parse() alone; they are meaningful only
 * while those bytes are. A length of 0: none. */
struct serve_request {
    uint64_t content_length;   /* request body bytes (0 when absent) */
    uint64_t route_arg;        /* see enum serve_route */
    uint32_t id_off, id_len;   /* SERVE_ROUTE_API_ITEM: the item ID in the path */
    uint32_t auth_off, auth_len;   /* the token of "Authorization: Bearer TOKEN" */
    uint8_t route;             /* enum serve_route */
    uint8_t method;            /* enum serve_method */
    uint8_t head;              /* method HEAD: the response has no body */
    uint8_t minor;             /* HTTP/1.minor */
    uint8_t keep_alive;        /* the client allows another request on this connection */
    uint8_t transfer_encoding; /* Transfer-Encoding present: a body we do not frame */
    uint8_t expect_continue;   /* Expect: 100-continue */
};

/* serve_request_parse() results other than a byte count */
#define SERVE_REQ_INCOMPLETE 0
#define SERVE_REQ_BAD        (-1)   /* malformed: answer 400 and close */
#define SERVE_REQ_TOO_LARGE  (-2)   /* head over SERVE_MAX_HEADER_BYTES: answer 431 and close */

/* Parses the head at the start of buf[0, len). Returns the bytes it spans (> 0; the body, if
 * any, follows), SERVE_REQ_INCOMPLETE when more bytes are needed, or a negative
 * SERVE_REQ_* error. *scanned: 0 for a new request; the parser updates it and wants it back
 * unchanged, with the same bytes at the front of buf, on the next call. Empty lines before
 * a request line are skipped (and counted in the result). *req is valid only on success. */
ssize_t serve_request_parse(const char *buf, size_t len, size_t *scanned,
                            struct serve_request *req);

/* Sets req->route, route_arg, id_off and id_len from a request target (origin or absolute
 * form); the query string and fragment are ignored but for /api/items's ?page=N. */
void serve_route_parse(const char *target, size_t len, struct serve_request *req);

#endif
