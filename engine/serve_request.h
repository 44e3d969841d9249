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
    uint8_t transfer_encoding; /* Transfer-Encoding present: the body is framed by it */
    uint8_t chunked;           /* with it, enum serve_te_chunked */
    uint8_t expect_continue;   /* Expect: 100-continue */
};

/* How a request's Transfer-Encoding list (all its lines) ends. */
enum serve_te_chunked {
    SERVE_TE_NOT_CHUNKED,   /* none, a last coding other than chunked (no way to find the body's
                             * end), or a Content-Length too (RFC 9112 6.3: request smuggling?) */
    SERVE_TE_CHUNKED,       /* "chunked" alone: serve_chunked_parse() reads the body */
    SERVE_TE_CHUNKED_AFTER, /* chunked last, after other codings (gzip, ...): not decoded */
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

/* A chunked request body (RFC 9112 7.1) being read: its decoder's state between calls.
 * serve_chunked_start() begins one; state is 0 again once the body has ended. Like the
 * head parser it takes the bytes as they come, one at a time included, and keeps none. */
struct serve_chunked {
    uint8_t state;   /* 0: no chunked body in progress; else where in the framing we are */
    uint64_t size;   /* the chunk-size being read, then the chunk's data bytes still to come */
    uint32_t line;   /* bytes of the chunk extension or trailer line being skipped */
};

void serve_chunked_start(struct serve_chunked *ch);

/* Reads the body's framing from p[0, n), n > 0. Stops after a run of chunk data, at the end
 * of the body (the empty line after the last chunk and any trailer fields; what follows is
 * not used), or at the end of p. Returns the bytes used (> 0), with the chunk data among
 * them at p + *data_off, *data_len bytes (0: none); or SERVE_REQ_BAD when the framing is
 * malformed (a size that is no hex number or exceeds SERVE_MAX_BODY, no CRLF after the data,
 * an extension or trailer line over SERVE_MAX_HEADER_BYTES). */
ssize_t serve_chunked_parse(struct serve_chunked *ch, const char *p, size_t n, size_t *data_off,
                            size_t *data_len);

#endif
