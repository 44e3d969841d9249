/* Request-head and route parsing for `barrage serve`. See serve_request.h. */
#ifndef _GNU_SOURCE   /* the Makefile defines it; memmem needs it */
#define _GNU_SOURCE
#endif
#include "serve_request.h"
#include "serve_config.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 token characters: method and header names. */
static const bool tchar[256] = {
    ['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true,
    ['!'] = true, ['#'] = true, ['$'] = true, ['%'] = true, ['&'] = true, ['\''] = true,
    ['*'] = true, ['+'] = true, ['-'] = true, ['.'] = true, ['^'] = true, ['_'] = true,
    ['`'] = true, ['|'] = true, ['~'] = true,
};

static bool is_tchar(unsigned char c)
{
    return tchar[c];
}

/* Finds the empty line that ends the head, searching from `from`. Returns the offset just
 * past it, or 0 when it is not there yet; then *scanned is where the next search resumes
 * (no head can end before it). Lines end in CRLF or a bare LF. */
static size_t find_head_end(const char *buf, size_t len, size_t from, size_t *scanned)
{
    size_t i = from;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (!nl) break;
        size_t j = (size_t)(nl - buf) + 1;           /* start of the next line */
        if (j < len && buf[j] == '\n') return j + 1;
        if (j + 1 < len && buf[j] == '\r' && buf[j + 1] == '\n') return j + 2;
        if (j == len || (j + 1 == len && buf[j] == '\r')) {
            *scanned = j - 1;                        /* look at this LF again with more bytes */
            return 0;
        }
        i = j;
    }
    *scanned = len;
    return 0;
}

/* Splits off the line at *p (the head always ends in LF, so there is one). Returns the
 * line's end, before CRLF or LF, and moves *p past it; NULL when the line holds a bare CR. */
static const char *take_line(const char **p, const char *end)
{
    const char *s = *p;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl;
    if (e > s && e[-1] == '\r') e--;
    if (memchr(s, '\r', (size_t)(e - s))) return NULL;
    *p = nl + 1;
    return e;
}

/* Decimal digits only, nothing else; false when empty or above max. */
static bool parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool name_is(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* The next element of a comma-separated list in [*v, e), its blanks trimmed: [*t, *te),
 * never empty (",," and blanks between commas are skipped). Returns false past the last. */
static bool list_next(const char **v, const char *e, const char **t, const char **te)
{
    while (*v < e && (**v == ',' || **v == ' ' || **v == '\t')) (*v)++;
    if (*v >= e) return false;
    *t = *v;
    while (*v < e && **v != ',') (*v)++;
    *te = *v;
    while (*te > *t && ((*te)[-1] == ' ' || (*te)[-1] == '\t')) (*te)--;
    return true;
}

/* Connection: a comma-separated token list. */
static void parse_connection(const char *v, const char *e, bool *close, bool *keep_alive)
{
    for (const char *t, *te; list_next(&v, e, &t, &te);) {
        if (name_is(t, (size_t)(te - t), "close")) *close = true;
        else if (name_is(t, (size_t)(te - t), "keep-alive")) *keep_alive = true;
    }
}

/* Transfer-Encoding: a comma-separated list of codings, continued by each line of it;
 * *codings counts them, *last_chunked tells whether the last one is "chunked" (which takes
 * no parameters: "chunked;x=y" is another coding). */
static void parse_transfer_encoding(const char *v, const char *e, unsigned *codings, bool *last_chunked)
{
    for (const char *t, *te; list_next(&v, e, &t, &te);) {
        (*codings)++;
        *last_chunked = name_is(t, (size_t)(te - t), "chunked");
    }
}

/* "Authorization: Bearer TOKEN": where TOKEN lies in [v, e), relative to base. */
static void parse_authorization(const char *v, const char *e, const char *base,
                                struct serve_request *req)
{
    if (e - v < 7 || strncasecmp(v, "bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t')) return;
    v += 7;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    req->auth_off = (uint32_t)(v - base);
    req->auth_len = (uint32_t)(e - v);
}

static uint8_t method_of(const char *m, size_t n)
{
    if (n == 3 && memcmp(m, "GET", 3) == 0) return SERVE_METHOD_GET;
    if (n == 4 && memcmp(m, "HEAD", 4) == 0) return SERVE_METHOD_HEAD;
    if (n == 4 && memcmp(m, "POST", 4) == 0) return SERVE_METHOD_POST;
    return SERVE_METHOD_OTHER;
}

/* Request line and headers in [p, end), which ends with the empty line; base: the first
 * byte handed to serve_request_parse(), which offsets count from. 0 or -1. */
static int parse_head(const char *base, const char *p, const char *end,
                      struct serve_request *req)
{
    memset(req, 0, sizeof(*req));

    const char *s = p;
    const char *e = take_line(&p, end);
    if (!e) return -1;
    const char *method = s;
    while (s < e && is_tchar((unsigned char)*s)) s++;
    if (s == method || s == e || *s != ' ') return -1;
    req->method = method_of(method, (size_t)(s - method));
    req->head = req->method == SERVE_METHOD_HEAD;
    const char *target = ++s;
    while (s < e && (unsigned char)*s > ' ' && *s != 0x7f) s++;
    if (s == target || s == e || *s != ' ') return -1;
    serve_route_parse(target, (size_t)(s - target), req);
    if (req->id_len) req->id_off += (uint32_t)(target - base);
    s++;
    if (e - s != 8 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9') return -1;
    req->minor = (uint8_t)(s[7] - '0');

    bool conn_close = false, conn_keep = false, have_length = false, last_chunked = false;
    unsigned codings = 0;
    for (;;) {
        const char *name = p;
        const char *le = take_line(&p, end);
        if (!le) return -1;
        if (le == name) break;                       /* the empty line */
        const char *c = name;
        while (c < le && is_tchar((unsigned char)*c)) c++;
        if (c == name || c == le || *c != ':') return -1;   /* also rejects obs-fold */
        size_t nlen = (size_t)(c - name);
        const char *v = c + 1, *ve = le;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;

        if (name_is(name, nlen, "content-length")) {
            uint64_t n;
            if (!parse_decimal(v, (size_t)(ve - v), SERVE_MAX_BODY, &n)) return -1;
            if (have_length && n != req->content_length) return -1;
            req->content_length = n;
            have_length = true;
        } else if (name_is(name, nlen, "transfer-encoding")) {
            req->transfer_encoding = 1;
            parse_transfer_encoding(v, ve, &codings, &last_chunked);
        } else if (name_is(name, nlen, "connection")) {
            parse_connection(v, ve, &conn_close, &conn_keep);
        } else if (name_is(name, nlen, "expect")) {
            req->expect_continue = name_is(v, (size_t)(ve - v), "100-continue");
        } else if (name_is(name, nlen, "authorization")) {
            parse_authorization(v, ve, base, req);
        }
    }
    if (last_chunked && !have_length)
        req->chunked = codings == 1 ? SERVE_TE_CHUNKED : SERVE_TE_CHUNKED_AFTER;
    /* HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 only when asked. */
    req->keep_alive = req->minor >= 1 ? !conn_close : conn_keep && !conn_close;
    if (req->minor == 0) req->expect_continue = 0;  /* HTTP/1.0: ignored (RFC 9110 10.1.1) */
    return 0;
}

/* *scanned before a request line has begun: the empty-line bytes seen, with this bit. Once
 * it has, *scanned lies past its first byte, and the empty lines are not looked at again
 * until the head is whole (else feeding them a byte at a time would take quadratic time). */
#define SCANNED_EMPTY_LINES ((size_t)1 << (sizeof(size_t) * 8 - 1))

ssize_t serve_request_parse(const char *buf, size_t len, size_t *scanned,
                            struct serve_request *req)
{
    /* Leading empty lines count against the limit too, so what a caller must keep while
     * waiting for a head never exceeds SERVE_MAX_HEADER_BYTES. */
    size_t from = *scanned;
    if (!from || (from & SCANNED_EMPTY_LINES)) {
        from &= ~SCANNED_EMPTY_LINES;
        while (from < len && (buf[from] == '\r' || buf[from] == '\n')) from++;
        if (from == len) {
            *scanned = len | SCANNED_EMPTY_LINES;
            return len > SERVE_MAX_HEADER_BYTES ? SERVE_REQ_TOO_LARGE : SERVE_REQ_INCOMPLETE;
        }
        /* A request line starts with its method: a first byte no method has (a TLS
         * ClientHello's 0x16) is refused at once, not after a head that never ends. Every
         * way of cutting the bytes sees this byte here, with the flag still set. */
        if (!is_tchar((unsigned char)buf[from])) return SERVE_REQ_BAD;
    }
    size_t end = find_head_end(buf, len, from, scanned);
    if (!end) return len > SERVE_MAX_HEADER_BYTES ? SERVE_REQ_TOO_LARGE : SERVE_REQ_INCOMPLETE;
    if (end > SERVE_MAX_HEADER_BYTES) return SERVE_REQ_TOO_LARGE;
    *scanned = 0;
    size_t skip = 0;   /* the request line is in buf[0, end): this stops before end */
    while (buf[skip] == '\r' || buf[skip] == '\n') skip++;
    if (parse_head(buf, buf + skip, buf + end, req) < 0) return SERVE_REQ_BAD;
    return (ssize_t)end;
}

/* "/name/NUMBER" routes: true when path starts with prefix; then sets the route, or
 * SERVE_ROUTE_BAD_ARG when the rest is not a number in [lo, hi]. */
static bool numbered(const char *path, size_t n, const char *prefix, enum serve_route route,
                     uint64_t lo, uint64_t hi, struct serve_request *req)
{
    size_t plen = strlen(prefix);
    if (n < plen || memcmp(path, prefix, plen) != 0) return false;
    uint64_t v;
    if (parse_decimal(path + plen, n - plen, hi, &v) && v >= lo) {
        req->route = (uint8_t)route;
        req->route_arg = v;
    } else {
        req->route = SERVE_ROUTE_BAD_ARG;
    }
    return true;
}

/* The page of "/api/items?...": the last page=N in the query q[0, n) (N in 1..1000000);
 * 1 when there is none, 0 when one is malformed. */
static uint64_t query_page(const char *q, size_t n)
{
    uint64_t page = 1;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && q[j] != '&') j++;
        if (j - i >= 5 && memcmp(q + i, "page=", 5) == 0 &&
            (!parse_decimal(q + i + 5, j - i - 5, 1000000, &page) || page == 0))
            return 0;
        i = j + 1;
    }
    return page;
}

/* The --api paths, which start with "/api/" or are "/health". */
static void api_route(const char *path, size_t n, const char *query, size_t qlen,
                      struct serve_request *req)
{
    static const char items[] = "/api/items";
    const size_t ilen = sizeof(items) - 1;
    req->route = SERVE_ROUTE_API_OTHER;
    if (n == 7 && memcmp(path, "/health", 7) == 0) {
        req->route = SERVE_ROUTE_HEALTH;
    } else if (n == 10 && memcmp(path, "/api/login", 10) == 0) {
        req->route = SERVE_ROUTE_API_LOGIN;
    } else if (n == ilen && memcmp(path, items, ilen) == 0) {
        req->route = SERVE_ROUTE_API_ITEMS;
        req->route_arg = query_page(query, qlen);
    } else if (n > ilen + 1 && memcmp(path, items, ilen) == 0 && path[ilen] == '/' &&
               !memchr(path + ilen + 1, '/', n - ilen - 1)) {
        req->route = SERVE_ROUTE_API_ITEM;
        req->id_off = (uint32_t)(ilen + 1);   /* from path; the caller makes it from target */
        req->id_len = (uint32_t)(n - ilen - 1);
    }
}

void serve_route_parse(const char *target, size_t len, struct serve_request *req)
{
    static const struct { const char *path; enum serve_route route; } exact[] = {
        { "/close", SERVE_ROUTE_CLOSE },       { "/reset", SERVE_ROUTE_RESET },
        { "/truncate", SERVE_ROUTE_TRUNCATE }, { "/garbage", SERVE_ROUTE_GARBAGE },
        { "/hang", SERVE_ROUTE_HANG },         { "/echo", SERVE_ROUTE_ECHO },
    };
    const char *path = target;
    size_t n = len;

    /* absolute form, "http://host:port/path": keep the path */
    const char *scheme_end = n && path[0] != '/' ? memmem(path, n, "://", 3) : NULL;
    if (scheme_end) {
        const char *auth = scheme_end + 3;
        const char *slash = memchr(auth, '/', (size_t)(path + n - auth));
        n = slash ? (size_t)(path + n - slash) : 0;
        path = slash;
    }
    const char *query = NULL;
    size_t qlen = 0;
    for (size_t i = 0; i < n; i++) {
        if (path[i] == '?' || path[i] == '#') {
            if (path[i] == '?') {
                query = path + i + 1;
                const char *hash = memchr(query, '#', n - i - 1);
                qlen = hash ? (size_t)(hash - query) : n - i - 1;
            }
            n = i;
            break;
        }
    }

    req->route = SERVE_ROUTE_DEFAULT;
    req->route_arg = 0;
    req->id_off = req->id_len = 0;
    if (n < 2) return;
    if ((n >= 5 && memcmp(path, "/api/", 5) == 0) || (n == 4 && memcmp(path, "/api", 4) == 0) ||
        (n == 7 && memcmp(path, "/health", 7) == 0)) {
        api_route(path, n, query, qlen, req);
        if (req->id_len) req->id_off += (uint32_t)(path - target);
        return;
    }
    if (numbered(path, n, "/bytes/", SERVE_ROUTE_BYTES, 0, SERVE_MAX_BODY, req)) return;
    if (numbered(path, n, "/chunked/", SERVE_ROUTE_CHUNKED, 0, SERVE_MAX_BODY, req)) return;
    if (numbered(path, n, "/delay/", SERVE_ROUTE_DELAY, 0, SERVE_MAX_DELAY_MS, req)) return;
    if (numbered(path, n, "/status/", SERVE_ROUTE_STATUS, 100, 599, req)) return;
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        if (strlen(exact[i].path) == n && memcmp(path, exact[i].path, n) == 0) {
            req->route = (uint8_t)exact[i].route;
            return;
        }
    }
}

/* --- chunked request bodies ------------------------------------------------------------ */

/* Where serve_chunked_parse() stands: each state names the byte it waits for. */
enum chunked_state {
    CH_NONE,          /* no chunked body in progress */
    CH_SIZE,          /* the first hex digit of a chunk-size */
    CH_SIZE_MORE,     /* more digits, or what ends them (";", BWS, CR, LF) */
    CH_EXT,           /* a chunk extension, skipped to the line's end */
    CH_SIZE_LF,       /* the LF after the size line's CR */
    CH_DATA,          /* chunk data: ch->size bytes still to come */
    CH_DATA_CR,       /* the CRLF (or bare LF) after the data */
    CH_DATA_LF,
    CH_TRAILER,       /* the start of a trailer line, or the empty line that ends the body */
    CH_TRAILER_LINE,  /* a trailer field, skipped to the line's end */
    CH_TRAILER_LF,    /* the LF after a trailer line's CR */
    CH_END_LF,        /* the LF after the final empty line's CR */
};

void serve_chunked_start(struct serve_chunked *ch)
{
    *ch = (struct serve_chunked){ .state = CH_SIZE };
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

ssize_t serve_chunked_parse(struct serve_chunked *ch, const char *p, size_t n, size_t *data_off,
                            size_t *data_len)
{
    size_t i = 0;
    *data_off = *data_len = 0;
    while (i < n && ch->state != CH_NONE) {
        if (ch->state == CH_DATA) {   /* a run of data ends this call */
            size_t take = ch->size < n - i ? (size_t)ch->size : n - i;
            *data_off = i;
            *data_len = take;
            ch->size -= take;
            if (!ch->size) ch->state = CH_DATA_CR;
            return (ssize_t)(i + take);
        }
        char c = p[i++];
        int d;
        switch ((enum chunked_state)ch->state) {
        case CH_SIZE:
        case CH_SIZE_MORE:
            if ((d = hex_digit(c)) >= 0) {
                if (ch->size > (SERVE_MAX_BODY - (uint64_t)d) / 16) return SERVE_REQ_BAD;
                ch->size = ch->size * 16 + (uint64_t)d;
                ch->state = CH_SIZE_MORE;
            } else if (ch->state == CH_SIZE) {
                return SERVE_REQ_BAD;
            } else if (c == ';' || c == ' ' || c == '\t') {
                ch->state = CH_EXT;
                ch->line = 0;
            } else if (c == '\r') {
                ch->state = CH_SIZE_LF;
            } else if (c == '\n') {
                ch->state = ch->size ? CH_DATA : CH_TRAILER;
            } else {
                return SERVE_REQ_BAD;
            }
            break;
        case CH_EXT:
            if (c == '\r') ch->state = CH_SIZE_LF;
            else if (c == '\n') ch->state = ch->size ? CH_DATA : CH_TRAILER;
            else if (++ch->line > SERVE_MAX_HEADER_BYTES) return SERVE_REQ_BAD;
            break;
        case CH_SIZE_LF:
            if (c != '\n') return SERVE_REQ_BAD;
            ch->state = ch->size ? CH_DATA : CH_TRAILER;
            break;
        case CH_DATA_CR:
            if (c == '\r') ch->state = CH_DATA_LF;
            else if (c == '\n') ch->state = CH_SIZE, ch->size = 0;
            else return SERVE_REQ_BAD;
            break;
        case CH_DATA_LF:
            if (c != '\n') return SERVE_REQ_BAD;
            ch->state = CH_SIZE;
            ch->size = 0;
            break;
        case CH_TRAILER:
            ch->line = 0;
            if (c == '\r') ch->state = CH_END_LF;
            else if (c == '\n') ch->state = CH_NONE;
            else ch->state = CH_TRAILER_LINE;
            break;
        case CH_TRAILER_LINE:
            if (c == '\r') ch->state = CH_TRAILER_LF;
            else if (c == '\n') ch->state = CH_TRAILER;
            else if (++ch->line > SERVE_MAX_HEADER_BYTES) return SERVE_REQ_BAD;
            break;
        case CH_TRAILER_LF:
        case CH_END_LF:
            if (c != '\n') return SERVE_REQ_BAD;
            ch->state = ch->state == CH_END_LF ? CH_NONE : CH_TRAILER;
            break;
        case CH_NONE:
        case CH_DATA:
            break;   /* handled above */
        }
    }
    return (ssize_t)i;
}
