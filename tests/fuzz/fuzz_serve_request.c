/* libFuzzer target for the request side of `barrage serve` (engine/serve_request.c):
 * serve_request_parse() and serve_route_parse(), whose input comes from any client.
 *
 * Input: byte 0 = control (bits 0-1: how to split; bit 2: repeat the input past
 * SERVE_MAX_HEADER_BYTES), byte 1 = a split parameter, the rest = bytes from a client.
 * The bytes lie in a heap block of exactly their size and are consumed as serve_conn.c
 * does (pipelined requests, each head followed by its Content-Length body bytes; an error
 * ends the connection, and so does a Transfer-Encoding here: its body is not modelled) three ways: whole, a byte at a time, and in the
 * chosen pieces, the last two handing the parser's `scanned` hint back as a connection
 * does. The bytes not yet "received" are poisoned, so ASan sees a read past those given.
 * Checks:
 * - the three ways give the same results (head length or error, every field of struct
 *   serve_request) at the same offsets, and end in the same state; `scanned` stays within
 *   the bytes given;
 * - every result is the reference's: BAD at once when the first byte after any leading
 *   empty lines cannot start a method; else the head ends at the first empty line (CRLF or LF)
 *   after the leading ones; INCOMPLETE only while there is none and the bytes fit in
 *   SERVE_MAX_HEADER_BYTES, TOO_LARGE when they or the head do not; a head is accepted
 *   exactly when a plain re-reading of the grammar the parser promises accepts it, with the
 *   method, version, target, Content-Length, Transfer-Encoding, Expect, keep-alive and
 *   bearer token (inside the head, on an Authorization line) that reading finds;
 * - a decided result stays the same when more bytes follow, and each shorter prefix of an
 *   accepted head, parsed from scratch, is INCOMPLETE;
 * - routes: the route of the target alone (in its own exact block) is the request's;
 *   route_arg is within the server's limits (SERVE_MAX_BODY, SERVE_MAX_DELAY_MS,
 *   100..599, page 0..1000000), written in the target after its route's prefix, and 0 on
 *   routes without one; an item ID lies in the target right after "/api/items/" and holds
 *   no '/', '?' or '#'; appending "?x#y" to a target without '?' or '#', or putting
 *   "http://h" before an origin-form one, changes nothing (but the ID's offset). The raw
 *   bytes are parsed as a target too.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iengine tests/fuzz/fuzz_serve_request.c engine/serve_request.c
 */
#include "serve_config.h"
#include "serve_request.h"
#include "fuzz_pieces.h"

#include <sanitizer/asan_interface.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void die(const char *why)
{
    fprintf(stderr, "fuzz_serve_request: %s\n", why);
    abort();
}

static char *copy(const char *s, size_t n, const char *tail, size_t tn)
{
    char *b = malloc(n + tn ? n + tn : 1);
    if (!b) die("out of memory");
    memcpy(b, s, n);
    if (tn) memcpy(b + n, tail, tn);
    return b;
}

/* ---- routes ---- */

static void route_of(const char *t, size_t n, struct serve_request *out)
{
    char *b = copy(t, n, NULL, 0);
    memset(out, 0xa5, sizeof(*out));   /* every route field must be set */
    serve_route_parse(b, n, out);
    free(b);
}

/* a's route fields equal b's, b's item ID shift bytes further on */
static bool same_route(const struct serve_request *a, const struct serve_request *b, size_t shift)
{
    return a->route == b->route && a->route_arg == b->route_arg && a->id_len == b->id_len &&
           (a->id_len ? (size_t)a->id_off + shift == b->id_off : b->id_off == 0);
}

static void check_route_fields(const char *t, size_t n, const struct serve_request *r)
{
    static const char *const prefix[] = {
        [SERVE_ROUTE_BYTES] = "/bytes/", [SERVE_ROUTE_CHUNKED] = "/chunked/",
        [SERVE_ROUTE_DELAY] = "/delay/", [SERVE_ROUTE_STATUS] = "/status/",
    };
    uint64_t a = r->route_arg;
    switch (r->route) {
    case SERVE_ROUTE_BYTES:
    case SERVE_ROUTE_CHUNKED:
        if (a > SERVE_MAX_BODY) die("body size over SERVE_MAX_BODY");
        break;
    case SERVE_ROUTE_DELAY:
        if (a > SERVE_MAX_DELAY_MS) die("delay over SERVE_MAX_DELAY_MS");
        break;
    case SERVE_ROUTE_STATUS:
        if (a < 100 || a > 599) die("status outside 100..599");
        break;
    case SERVE_ROUTE_API_ITEMS:
        if (a > 1000000) die("page over 1000000");
        break;
    default:
        if (r->route > SERVE_ROUTE_API_OTHER) die("route out of range");
        if (a) die("route_arg on a route without one");
    }
    if (r->route >= SERVE_ROUTE_BYTES && r->route <= SERVE_ROUTE_STATUS) {
        /* somewhere in the target: the prefix, maybe zeros, the number, no further digit */
        const char *pre = prefix[r->route];
        size_t plen = strlen(pre);
        char num[24];
        size_t dn = (size_t)snprintf(num, sizeof(num), "%llu", (unsigned long long)a);
        bool found = false;
        for (size_t i = 0; !found && i + plen <= n; i++) {
            if (memcmp(t + i, pre, plen)) continue;
            size_t d = i + plen;
            while (d + 1 < n && t[d] == '0' && t[d + 1] >= '0' && t[d + 1] <= '9') d++;
            found = n - d >= dn && !memcmp(t + d, num, dn) &&
                    (d + dn == n || t[d + dn] < '0' || t[d + dn] > '9');
        }
        if (!found) die("route_arg is not the number after its route's prefix");
    }
    if (r->route == SERVE_ROUTE_API_ITEM) {
        if (!r->id_len || r->id_off < 11 || r->id_off > n || r->id_len > n - r->id_off)
            die("item ID outside the target");
        if (memcmp(t + r->id_off - 11, "/api/items/", 11)) die("item ID not after /api/items/");
        for (size_t i = r->id_off; i < (size_t)r->id_off + r->id_len; i++)
            if (t[i] == '/' || t[i] == '?' || t[i] == '#') die("item ID holds '/', '?' or '#'");
    } else if (r->id_off || r->id_len) {
        die("item ID on another route");
    }
}

/* Parses the target t[0, n) into *got and checks it, and that a query or a scheme and
 * host added change nothing. */
static void check_route(const char *t, size_t n, struct serve_request *got)
{
    route_of(t, n, got);
    check_route_fields(t, n, got);
    struct serve_request other;
    if (!memchr(t, '?', n) && !memchr(t, '#', n)) {
        char *s = copy(t, n, "?x#y", 4);
        route_of(s, n + 4, &other);
        check_route_fields(s, n + 4, &other);
        free(s);
        if (!same_route(got, &other, 0)) die("a query changed the route");
    }
    if (n && t[0] == '/') {
        char *s = malloc(n + 8);
        memcpy(s, "http://h", 8);
        memcpy(s + 8, t, n);
        route_of(s, n + 8, &other);
        check_route_fields(s, n + 8, &other);
        free(s);
        if (!same_route(got, &other, 8)) die("the absolute form changed the route");
    }
}

/* ---- the reference reading of a head ---- */

struct ref {
    bool ok;
    uint8_t method, minor, te, expect, keep;
    uint64_t cl;
    size_t target, target_len;   /* offsets from the first byte handed to the parser */
    size_t auth_off, auth_len;
};

static bool tok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool ieq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static bool sp(char c)
{
    return c == ' ' || c == '\t';
}

static size_t leading_empty(const char *b, size_t n)
{
    size_t i = 0;
    while (i < n && (b[i] == '\r' || b[i] == '\n')) i++;
    return i;
}

/* Just past the first empty line after the leading ones, or 0. */
static size_t ref_head_end(const char *b, size_t n)
{
    for (size_t i = leading_empty(b, n); i < n; i++) {
        if (b[i] != '\n') continue;
        if (i + 1 < n && b[i + 1] == '\n') return i + 2;
        if (i + 2 < n && b[i + 1] == '\r' && b[i + 2] == '\n') return i + 3;
    }
    return 0;
}

/* The line at *p in b[0, end) (which ends with LF): [*s, *e) without its CRLF or LF.
 * False when it holds a CR otherwise. */
static bool ref_line(const char *b, size_t end, size_t *p, size_t *s, size_t *e)
{
    const char *nl = memchr(b + *p, '\n', end - *p);
    if (!nl) die("reference: a line without LF");
    *s = *p;
    *e = (size_t)(nl - b);
    *p = *e + 1;
    if (*e > *s && b[*e - 1] == '\r') (*e)--;
    return !memchr(b + *s, '\r', *e - *s);
}

static void ref_parse(const char *b, size_t end, struct ref *f)
{
    memset(f, 0, sizeof(*f));
    size_t p = leading_empty(b, end), s, e;
    if (!ref_line(b, end, &p, &s, &e)) return;
    size_t m = s;
    while (m < e && tok((unsigned char)b[m])) m++;
    if (m == s || m == e || b[m] != ' ') return;
    f->method = m - s == 3 && !memcmp(b + s, "GET", 3)    ? SERVE_METHOD_GET
                : m - s == 4 && !memcmp(b + s, "HEAD", 4) ? SERVE_METHOD_HEAD
                : m - s == 4 && !memcmp(b + s, "POST", 4) ? SERVE_METHOD_POST
                                                          : SERVE_METHOD_OTHER;
    size_t t = m + 1, te = t;
    while (te < e && (unsigned char)b[te] > ' ' && b[te] != 0x7f) te++;
    if (te == t || te == e || b[te] != ' ') return;
    f->target = t;
    f->target_len = te - t;
    size_t v = te + 1;
    if (e - v != 8 || memcmp(b + v, "HTTP/1.", 7) || b[v + 7] < '0' || b[v + 7] > '9') return;
    f->minor = (uint8_t)(b[v + 7] - '0');

    bool close = false, keep = false, have_cl = false;
    for (;;) {
        if (!ref_line(b, end, &p, &s, &e)) return;
        if (s == e) break;
        size_t c = s;
        while (c < e && tok((unsigned char)b[c])) c++;
        if (c == s || c == e || b[c] != ':') return;
        const char *name = b + s;
        size_t nl = c - s, vs = c + 1, ve = e;
        while (vs < ve && sp(b[vs])) vs++;
        while (ve > vs && sp(b[ve - 1])) ve--;
        if (ieq(name, nl, "content-length")) {
            if (ve == vs || ve - vs > 20) return;
            uint64_t n = 0;
            for (size_t i = vs; i < ve; i++) {
                if (b[i] < '0' || b[i] > '9') return;
                n = n * 10 + (uint64_t)(b[i] - '0');
                if (n > SERVE_MAX_BODY) return;
            }
            if (have_cl && n != f->cl) return;
            f->cl = n;
            have_cl = true;
        } else if (ieq(name, nl, "transfer-encoding")) {
            f->te = 1;
        } else if (ieq(name, nl, "connection")) {
            for (size_t i = vs; i < ve;) {   /* comma-separated, each trimmed */
                size_t j = i;
                while (j < ve && b[j] != ',') j++;
                size_t a = i, z = j;
                while (a < z && sp(b[a])) a++;
                while (z > a && sp(b[z - 1])) z--;
                if (ieq(b + a, z - a, "close")) close = true;
                if (ieq(b + a, z - a, "keep-alive")) keep = true;
                i = j + 1;
            }
        } else if (ieq(name, nl, "expect")) {
            f->expect = ieq(b + vs, ve - vs, "100-continue");
        } else if (ieq(name, nl, "authorization")) {
            if (ve - vs >= 7 && !strncasecmp(b + vs, "bearer", 6) && sp(b[vs + 6])) {
                size_t a = vs + 7;
                while (a < ve && sp(b[a])) a++;
                f->auth_off = a;
                f->auth_len = ve - a;
            }
        }
    }
    f->keep = f->minor >= 1 ? !close : keep && !close;
    if (f->minor == 0) f->expect = 0;
    f->ok = true;
}

/* Checks serve_request_parse()'s answer r, q on b[0, n) against the reference. */
static void check_result(const char *b, size_t n, ssize_t r, const struct serve_request *q)
{
    size_t first = leading_empty(b, n);
    if (first < n && !tok((unsigned char)b[first])) {  /* no method starts so: refused at once */
        if (r != SERVE_REQ_BAD) die("a request line's first byte no method has, not BAD at once");
        return;
    }
    size_t end = ref_head_end(b, n);
    if (!end) {
        if (r != (n > SERVE_MAX_HEADER_BYTES ? SERVE_REQ_TOO_LARGE : SERVE_REQ_INCOMPLETE))
            die("no head end: neither INCOMPLETE nor TOO_LARGE as the length says");
        return;
    }
    if (end > SERVE_MAX_HEADER_BYTES) {
        if (r != SERVE_REQ_TOO_LARGE) die("a head over the limit not TOO_LARGE");
        return;
    }
    struct ref f;
    ref_parse(b, end, &f);
    if (!f.ok) {
        if (r != SERVE_REQ_BAD) die("a head the reference rejects not BAD");
        return;
    }
    if (r != (ssize_t)end) die("head length is not the reference's");
    if (q->method != f.method || q->head != (f.method == SERVE_METHOD_HEAD)) die("method differs");
    if (q->minor != f.minor) die("HTTP minor version differs");
    if (q->content_length != f.cl) die("Content-Length differs");
    if (q->transfer_encoding != f.te) die("Transfer-Encoding differs");
    if (q->expect_continue != f.expect) die("Expect: 100-continue differs");
    if (q->keep_alive != f.keep) die("keep-alive differs");
    if (q->auth_len != f.auth_len || (f.auth_len && q->auth_off != f.auth_off))
        die("bearer token differs");
    if (q->auth_len) {   /* inside the head, on an Authorization line */
        if ((size_t)q->auth_off + q->auth_len > end) die("bearer token outside the head");
        size_t ls = q->auth_off;
        while (ls > 0 && b[ls - 1] != '\n') ls--;
        if (strncasecmp(b + ls, "authorization:", 14)) die("bearer token not on an Authorization line");
    }
    struct serve_request route;
    check_route(b + f.target, f.target_len, &route);
    if (!same_route(&route, q, f.target)) die("route differs from the target's alone");
}

/* ---- consuming a connection's bytes ---- */

#define PREFIX_CHECKS 8   /* requests per input given the prefix and extension checks */

struct rec {
    ssize_t r;
    size_t at;
    struct serve_request q;
};

enum { END_CLEAN, END_HEAD, END_BODY, END_ERROR, END_TE };

static struct rec *want;
static size_t nwant, capwant;

static bool same_req(const struct serve_request *a, const struct serve_request *b)
{
    return a->content_length == b->content_length && a->route_arg == b->route_arg && a->id_off == b->id_off &&
           a->id_len == b->id_len && a->auth_off == b->auth_off && a->auth_len == b->auth_len &&
           a->route == b->route && a->method == b->method && a->head == b->head && a->minor == b->minor &&
           a->keep_alive == b->keep_alive && a->transfer_encoding == b->transfer_encoding &&
           a->expect_continue == b->expect_continue;
}

static ssize_t parse_fresh(const char *s, size_t n, const char *tail, size_t tn, struct serve_request *q)
{
    char *b = copy(s, n, tail, tn);
    size_t scanned = 0;
    ssize_t r = serve_request_parse(b, n + tn, &scanned, q);
    free(b);
    return r;
}

/* Whole pass only: a decided result stands when bytes follow; shorter heads are INCOMPLETE. */
static void check_prefixes(const char *b, size_t n, ssize_t r, const struct serve_request *q, uint32_t param)
{
    static const char more[] = "GET / HTTP/1.1\r\n\r\n";
    struct serve_request x;
    if (parse_fresh(b, n, more, sizeof(more) - 1, &x) != r || (r > 0 && !same_req(q, &x)))
        die("a decided result changed when bytes followed");
    if (r <= 0) return;
    if (parse_fresh(b, (size_t)r - 1, NULL, 0, &x) != SERVE_REQ_INCOMPLETE) die("a head less its last byte not INCOMPLETE");
    if (parse_fresh(b, param % (size_t)r, NULL, 0, &x) != SERVE_REQ_INCOMPLETE) die("a prefix of a head not INCOMPLETE");
}

static void result(bool whole, size_t *k, ssize_t r, size_t at, const struct serve_request *q, const char *b,
                   size_t len, uint32_t param)
{
    if (whole) {
        check_result(b + at, len - at, r, q);
        if (*k < PREFIX_CHECKS) check_prefixes(b + at, len - at, r, q, param);
        if (nwant == capwant) {
            capwant = capwant ? 2 * capwant : 64;
            want = realloc(want, capwant * sizeof(*want));
            if (!want) die("out of memory");
        }
        want[nwant++] = (struct rec){r, at, *q};
    } else {
        if (*k >= nwant) die("more results than with the whole input");
        const struct rec *w = &want[*k];
        if (w->r != r || w->at != at || (r > 0 && !same_req(&w->q, q))) {
            fprintf(stderr, "result %zu: %zd at %zu vs %zd at %zu whole\n", *k, r, at, w->r, w->at);
            die("feeds disagree");
        }
    }
    (*k)++;
}

/* Consumes b[0, len) as a connection does, the bytes arriving in pieces of next()'s sizes.
 * whole: the pass that records the results (and checks them), else they are compared. */
static int consume(char *b, size_t len, size_t (*next)(uint32_t *), uint32_t seed, bool whole, uint32_t param)
{
    ASAN_POISON_MEMORY_REGION(b, len);
    size_t avail = 0, at = 0, scanned = 0, k = 0;
    if (whole) nwant = 0;
    int end = END_CLEAN;
    while (avail < len && end == END_CLEAN) {
        size_t n = next(&seed);
        if (n > len - avail) n = len - avail;
        ASAN_UNPOISON_MEMORY_REGION(b + avail, n);
        avail += n;
        while (at < avail) {
            struct serve_request q;
            memset(&q, 0xa5, sizeof(q));
            ssize_t r = serve_request_parse(b + at, avail - at, &scanned, &q);
            if (r == SERVE_REQ_INCOMPLETE) {
                /* less the top bit, which flags empty lines only */
                if ((scanned & (SIZE_MAX >> 1)) > avail - at) die("scanned past the bytes given");
                break;
            }
            if (r > 0 && (size_t)r > avail - at) die("head longer than the bytes given");
            result(whole, &k, r, at, &q, b, len, param);
            if (r < 0) {
                end = END_ERROR;
                break;
            }
            if (q.transfer_encoding) {   /* serve_conn.c answers 400 and closes */
                end = END_TE;
                break;
            }
            if (q.content_length > len - at - (size_t)r) {
                end = END_BODY;
                break;
            }
            at += (size_t)r + (size_t)q.content_length;
        }
    }
    if (end == END_CLEAN && at < len) {
        struct serve_request q;
        if (whole) check_result(b + at, len - at, SERVE_REQ_INCOMPLETE, &q);
        end = END_HEAD;
    }
    ASAN_UNPOISON_MEMORY_REGION(b, len);
    if (!whole && k != nwant) die("fewer results than with the whole input");
    return end;
}

/* Control bit 2: fuzz_amplify past SERVE_MAX_HEADER_BYTES, so that the limit is reached (by
 * headers, or by empty lines when the first line is one). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 65536) return 0;
    unsigned mode = data[0] & 3;
    uint32_t param = data[1];
    bool big = data[0] & 4;
    data += 2;
    size -= 2;

    struct serve_request route;
    check_route((const char *)data, size, &route);

    char *b = big && size ? (char *)fuzz_amplify(data, &size, SERVE_MAX_HEADER_BYTES) : NULL;
    if (!b) b = copy((const char *)data, size, NULL, 0);
    int whole = consume(b, size, piece_all, 0, true, param);
    if (consume(b, size, piece_one, 0, false, param) != whole) die("byte at a time ends otherwise");
    int chosen;
    switch (mode) {
    case 0: chosen = consume(b, size, piece_fixed, param + 1, false, param); break;
    case 1: chosen = consume(b, size, piece_random, param * 2654435761u + 1, false, param); break;
    case 2: chosen = consume(b, size, piece_two, param ? param : 1, false, param); break;
    default: chosen = consume(b, size, piece_two, size > param ? (uint32_t)(size - param) : 1, false, param); break;
    }
    if (chosen != whole) die("chosen split ends otherwise");
    free(b);
    return 0;
}
