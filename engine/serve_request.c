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

/* Connection: a comma-separated token list. */
static void parse_connection(const char *v, const char *e, bool *close, bool *keep_alive)
{
    while (v < e) {
        while (v < e && (*v == ',' || *v == ' ' || *v == '\t')) v++;
        const char *t = v;
        while (v < e && *v != ',') v++;
        const char *te = v;
        while (te > t && (te[-1] == ' ' || te[-1] == '\t')) te--;
        if (name_is(t, (size_t)(te - t), "close")) *close = true;
        else if (name_is(t, (size_t)(te - t), "keep-alive")) *keep_alive = true;
    }
}

/* Request line and headers in [p, end), which ends with the empty line. 0 or -1. */
static int parse_head(const char *p, const char *end, struct serve_request *req)
{
    memset(req, 0, sizeof(*req));

    const char *s = p;
    const char *e = take_line(&p, end);
    if (!e) return -1;
    const char *method = s;
    while (s < e && is_tchar((unsigned char)*s)) s++;
    if (s == method || s == e || *s != ' ') return -1;
    req->head = s - method == 4 && memcmp(method, "HEAD", 4) == 0;
    const char *target = ++s;
    while (s < e && (unsigned char)*s > ' ' && *s != 0x7f) s++;
    if (s == target || s == e || *s != ' ') return -1;
    serve_route_parse(target, (size_t)(s - target), req);
    s++;
    if (e - s != 8 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9') return -1;
    req->minor = (uint8_t)(s[7] - '0');

    bool conn_close = false, conn_keep = false, have_length = false;
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
        } else if (name_is(name, nlen, "connection")) {
            parse_connection(v, ve, &conn_close, &conn_keep);
        } else if (name_is(name, nlen, "expect")) {
            req->expect_continue = name_is(v, (size_t)(ve - v), "100-continue");
        }
    }
    /* HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 only when asked. */
    req->keep_alive = req->minor >= 1 ? !conn_close : conn_keep && !conn_close;
    return 0;
}

ssize_t serve_request_parse(const char *buf, size_t len, size_t *scanned,
                            struct serve_request *req)
{
    size_t skip = 0;
    while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n')) skip++;
    size_t from = *scanned > skip ? *scanned : skip;
    size_t end = find_head_end(buf, len, from, scanned);
    /* Leading empty lines count against the limit too, so what a caller must keep while
     * waiting for a head never exceeds SERVE_MAX_HEADER_BYTES. */
    if (!end) return len > SERVE_MAX_HEADER_BYTES ? SERVE_REQ_TOO_LARGE : SERVE_REQ_INCOMPLETE;
    if (end > SERVE_MAX_HEADER_BYTES) return SERVE_REQ_TOO_LARGE;
    *scanned = 0;
    if (parse_head(buf + skip, buf + end, req) < 0) return SERVE_REQ_BAD;
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
    for (size_t i = 0; i < n; i++) {
        if (path[i] == '?' || path[i] == '#') { n = i; break; }
    }

    req->route = SERVE_ROUTE_DEFAULT;
    req->route_arg = 0;
    if (n < 2) return;
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
