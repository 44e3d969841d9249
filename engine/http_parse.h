/* HTTP/1.1 response parser: zero-copy, restartable across any split of bytes.
 *
 * The parser never buffers input and never allocates: all of its state lives in
 * the caller-owned struct http_resp, so a response may arrive in any number of
 * pieces (one byte at a time included) and the caller may recycle each receive
 * buffer as soon as http_resp_feed() returns.
 *
 * Usage, per connection:
 *     http_resp_start(&p, no_body);          // before each response
 *     n = http_resp_feed(&p, buf, len);      // repeat as bytes arrive
 *       n <  0: parse error (p.error says which); the connection is unusable
 *       n >= 0: bytes consumed; if p.state == HTTP_DONE one response ended after
 *               those n bytes and the rest of buf belongs to the next response;
 *               otherwise n == len
 *     at EOF:   http_resp_eof(&p)            // ends a body delimited by the close
 *
 * Interim 1xx responses (except 101) are skipped inside the parser: the caller
 * sees only the final response. What it understands: status line, Content-Length,
 * Transfer-Encoding: chunked (with extensions and trailers), Connection: close /
 * keep-alive (HTTP/1.0 defaults to close), bodies delimited by the connection's
 * close, and responses that never have a body (HEAD, 1xx, 204, 304).
 *
 * Strict where a lenient reading could frame a message differently (RFC 9112): a
 * Content-Length that is not 1*DIGIT, overflows 64 bits, or differs from an earlier one;
 * a chunk size that is not hex or overflows; a header line with no ':', an empty name,
 * whitespace before the ':' or at the start of a line (obs-fold); a Transfer-Encoding
 * with no coding; a status line that is not "HTTP/1.x NNN". Transfer-Encoding overrides
 * Content-Length; unless chunked is its last coding, the body runs to the close. A bare
 * LF ends a line as CRLF does. Results do not depend on how the input was split.
 */
#ifndef BARRAGE_HTTP_PARSE_H
#define BARRAGE_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP_MAX_HEADERS      100          /* header lines per response (trailers included) */
#define HTTP_MAX_HEADER_BYTES (64 * 1024)  /* status line + headers, or trailers */

enum http_state {
    HTTP_STATUS_LINE,     /* matching "HTTP/1.x NNN" */
    HTTP_STATUS_REST,     /* reason phrase up to LF */
    HTTP_LINE_START,      /* first byte of a header line, or the empty line */
    HTTP_HEADER_CR,       /* saw CR of the empty line, want LF */
    HTTP_NAME,            /* header name */
    HTTP_VALUE,           /* header value up to LF */
    HTTP_BODY_LENGTH,     /* counting down `remaining` body bytes */
    HTTP_BODY_EOF,        /* body runs to the connection's close */
    HTTP_CHUNK_SIZE,      /* hex digits */
    HTTP_CHUNK_EXT,       /* chunk extension up to LF */
    HTTP_CHUNK_DATA,      /* `remaining` bytes of chunk data */
    HTTP_CHUNK_DATA_CR,   /* CR after chunk data */
    HTTP_CHUNK_DATA_LF,   /* LF after chunk data */
    HTTP_TRAILER_START,   /* like HTTP_LINE_START, for trailers */
    HTTP_TRAILER_LINE,    /* a trailer line up to LF */
    HTTP_TRAILER_CR,      /* CR of the final empty line, want LF */
    HTTP_DONE,            /* one response complete */
    HTTP_ERROR,
};

enum http_error {
    HTTP_OK = 0,
    HTTP_E_STATUS,        /* malformed status line */
    HTTP_E_HEADER,        /* malformed header line */
    HTTP_E_TOO_LARGE,     /* more than HTTP_MAX_HEADER_BYTES */
    HTTP_E_TOO_MANY,      /* more than HTTP_MAX_HEADERS */
    HTTP_E_LENGTH,        /* bad or conflicting Content-Length */
    HTTP_E_CHUNK,         /* malformed chunk framing */
    HTTP_E_TRUNCATED,     /* EOF in the middle of a response */
    HTTP_E_UPGRADE,       /* 101 Switching Protocols: not HTTP/1.1 any more */
};

/* Which header is being read; also tracks a token match in values. */
enum http_header_kind { HDR_OTHER, HDR_CONTENT_LENGTH, HDR_TRANSFER_ENCODING, HDR_CONNECTION };

struct http_resp {
    uint8_t state;            /* enum http_state */
    uint8_t error;            /* enum http_error, when state == HTTP_ERROR */
    uint8_t no_body;          /* the request was HEAD */
    uint8_t minor;            /* HTTP/1.minor */
    uint8_t header;           /* enum http_header_kind of the current header line */
    uint8_t match;            /* progress in a status line, name or token (see http_parse.c) */
    uint8_t candidates;       /* header names still matching, or what a value said so far */
    uint8_t flags;            /* HTTP_F_* */
    uint8_t set_cookie;       /* the final response's head has a Set-Cookie header */
    uint16_t status;
    uint16_t nheaders;
    uint32_t header_bytes;
    uint64_t remaining;       /* body or chunk bytes still to come */
    uint64_t content_length;  /* valid when flags & HTTP_F_LENGTH */
    uint64_t body_bytes;      /* body bytes seen (decoded payload for chunked) */
};

#define HTTP_F_LENGTH     0x01  /* Content-Length present */
#define HTTP_F_CHUNKED    0x02  /* Transfer-Encoding ends in chunked */
#define HTTP_F_CLOSE      0x04  /* the server will close after this response */
#define HTTP_F_KEEPALIVE  0x08  /* Connection: keep-alive seen (matters for HTTP/1.0) */
#define HTTP_F_TE         0x10  /* Transfer-Encoding present (it overrides Content-Length;
                                   without chunked last, the body runs to the close) */
#define HTTP_F_DIGITS     0x20  /* internal: Content-Length digits seen */
#define HTTP_F_CHUNK_DIG  0x40  /* internal: chunk-size digits seen */
#define HTTP_F_INTERIM    0x80  /* internal: a 1xx was skipped; the final response is due */

/* Prepares p for the next response on a connection. no_body: the request was HEAD. */
void http_resp_start(struct http_resp *p, bool no_body);

/* Consumes bytes of one response; stops right after it ends. See the top of this file. */
ssize_t http_resp_feed(struct http_resp *p, const char *buf, size_t len);

/* The connection reached EOF. Returns 1 when that ended the current response (body
 * delimited by close; state becomes HTTP_DONE), 0 when no response was in progress
 * (nothing of it read, see http_resp_started(), or state already HTTP_DONE), -1 when it
 * cut a response short (state becomes HTTP_ERROR, error HTTP_E_TRUNCATED) or the
 * parser had already failed (error unchanged). */
int http_resp_eof(struct http_resp *p);

/* True once any byte of the current response (or of a 1xx before it) has been consumed. */
static inline bool http_resp_started(const struct http_resp *p)
{
    return p->state != HTTP_STATUS_LINE || p->match != 0 || (p->flags & HTTP_F_INTERIM);
}

const char *http_error_str(enum http_error e);

#endif
