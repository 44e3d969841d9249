/* serve_request_parse() and serve_route_parse(): the request side of `barrage serve`.
 * Inputs sit right before an unreadable guard page, so any read past the end crashes, and
 * are fed in every split, one byte at a time included. */
#include "check.h"
#include "serve_api.h"
#include "serve_request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static char *guard_area;   /* GUARD_BYTES readable, then one PROT_NONE page */
#define GUARD_BYTES (128 * 1024)

static void guard_setup(void)
{
    long page = sysconf(_SC_PAGESIZE);
    guard_area = mmap(NULL, GUARD_BYTES + (size_t)page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guard_area == MAP_FAILED) abort();
    mprotect(guard_area + GUARD_BYTES, (size_t)page, PROT_NONE);
}

/* A copy of s[0, n) that ends exactly at the guard page. */
static const char *guarded(const char *s, size_t n)
{
    char *p = guard_area + GUARD_BYTES - n;
    memmove(p, s, n);
    return p;
}

static ssize_t parse_whole(const char *s, size_t n, struct serve_request *req)
{
    size_t scanned = 0;
    return serve_request_parse(guarded(s, n), n, &scanned, req);
}

static ssize_t parse_str(const char *s, struct serve_request *req)
{
    return parse_whole(s, strlen(s), req);
}

/* Feeds s one byte more each call, keeping `scanned` as a connection would; the result
 * must be INCOMPLETE until the head is whole, then the same as parsing it at once. */
static void check_bytewise(const char *s)
{
    size_t n = strlen(s);
    struct serve_request whole, part;
    ssize_t expect = parse_whole(s, n, &whole);
    size_t scanned = 0;
    ssize_t got = SERVE_REQ_INCOMPLETE;
    size_t i;
    for (i = 1; i <= n; i++) {
        got = serve_request_parse(guarded(s, i), i, &scanned, &part);
        if (got != SERVE_REQ_INCOMPLETE) break;
    }
    CHECK(got == expect);
    if (expect > 0) {
        CHECK_EQ_U(i, (size_t)expect);
        CHECK(memcmp(&whole, &part, sizeof(whole)) == 0);
    }
}

static void simple_get(void)
{
    struct serve_request r;
    const char *s = "GET /bytes/42?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK_EQ_U(parse_str(s, &r), strlen(s));
    CHECK_EQ_U(r.route, SERVE_ROUTE_BYTES);
    CHECK_EQ_U(r.route_arg, 42);
    CHECK_EQ_U(r.minor, 1);
    CHECK(r.keep_alive && !r.head && !r.content_length && !r.transfer_encoding);
    check_bytewise(s);
}

static void pipelined_heads(void)
{
    struct serve_request r;
    const char *s = "GET / HTTP/1.1\r\n\r\nHEAD /echo HTTP/1.1\r\n\r\n";
    ssize_t n = parse_str(s, &r);
    CHECK_EQ_U(n, 18);
    size_t scanned = 0;
    CHECK_EQ_U(serve_request_parse(s + n, strlen(s) - (size_t)n, &scanned, &r), 23);
    CHECK(r.head && r.route == SERVE_ROUTE_ECHO);
}

static void incomplete_and_splits(void)
{
    struct serve_request r;
    CHECK_EQ_U(parse_str("", &r), SERVE_REQ_INCOMPLETE);
    CHECK_EQ_U(parse_str("GET / HTTP/1.1\r\n", &r), SERVE_REQ_INCOMPLETE);
    CHECK_EQ_U(parse_str("GET / HTTP/1.1\r\n\r", &r), SERVE_REQ_INCOMPLETE);
    CHECK_EQ_U(parse_str("\r\n\r\n", &r), SERVE_REQ_INCOMPLETE);
    check_bytewise("POST /echo HTTP/1.1\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n");
    check_bytewise("GET / HTTP/1.1\nHost: x\n\n");
    check_bytewise("\r\n\r\nGET /close HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    check_bytewise("GET / HTTP/1.1\r\nBad header\r\n\r\n");
}

static void leading_empty_lines(void)
{
    struct serve_request r;
    CHECK_EQ_U(parse_str("\r\n\nGET /hang HTTP/1.1\r\n\r\n", &r), 25);
    CHECK_EQ_U(r.route, SERVE_ROUTE_HANG);
}

/* A first byte no method starts with (a TLS ClientHello's): refused at once, so the client
 * gets a 400 rather than silence until its timeout; a method's first byte waits for more. */
static void not_a_request_line_at_once(void)
{
    struct serve_request r;
    CHECK_EQ_U(parse_str("\x16\x03\x01\x02\x00\x01", &r), (uint64_t)SERVE_REQ_BAD);
    CHECK_EQ_U(parse_str("\r\n\x16", &r), (uint64_t)SERVE_REQ_BAD);
    CHECK_EQ_U(parse_str(" GET / HTTP/1.1\r\n", &r), (uint64_t)SERVE_REQ_BAD);
    CHECK_EQ_U(parse_str("G", &r), SERVE_REQ_INCOMPLETE);
    CHECK_EQ_U(parse_str("\r\nPRI * HTTP/2.0\r\n", &r), SERVE_REQ_INCOMPLETE);
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Empty lines before a request line, fed a byte at a time as a connection may get them, are
 * not looked at again on every call: 64 KiB of them once took over a second. */
static void leading_empty_lines_bytewise_linear(void)
{
    static const char req[] = "GET /hang HTTP/1.1\r\n\r\n";
    size_t n = SERVE_MAX_HEADER_BYTES, k = n - (sizeof(req) - 1);
    char *s = malloc(n);
    for (size_t i = 0; i < k; i++) s[i] = i % 2 ? '\n' : '\r';
    memcpy(s + k, req, sizeof(req) - 1);
    struct serve_request r;
    size_t scanned = 0, i;
    ssize_t got = SERVE_REQ_INCOMPLETE;
    double t0 = seconds();
    for (i = 1; i <= n && got == SERVE_REQ_INCOMPLETE; i++) got = serve_request_parse(s, i, &scanned, &r);
    double took = seconds() - t0;
    CHECK_EQ_U(got, n);
    CHECK_EQ_U(i - 1, n);
    CHECK_EQ_U(r.route, SERVE_ROUTE_HANG);
    if (took > 0.5) printf("  %zu bytes a byte at a time: %.2f s\n", n, took);
    CHECK(took < 0.5);  /* about a millisecond; the quadratic scan took 1.3 s at -O2 */
    /* empty lines alone: INCOMPLETE up to the limit, then TOO_LARGE */
    char *e = malloc(n + 1);
    memset(e, '\n', n + 1);
    scanned = 0;
    got = SERVE_REQ_INCOMPLETE;
    for (i = 1; i <= n + 1 && got == SERVE_REQ_INCOMPLETE; i++) got = serve_request_parse(e, i, &scanned, &r);
    CHECK_EQ_U(got, (uint64_t)SERVE_REQ_TOO_LARGE);
    CHECK_EQ_U(i - 1, n + 1);
    free(e);
    free(s);
}

static void body_headers(void)
{
    struct serve_request r;
    CHECK(parse_str("POST / HTTP/1.1\r\ncontent-LENGTH:  123 \r\n\r\n", &r) > 0);
    CHECK_EQ_U(r.content_length, 123);
    CHECK(parse_str("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &r) > 0);
    CHECK_EQ_U(parse_str("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &r),
               (uint64_t)SERVE_REQ_BAD);
    CHECK_EQ_U(parse_str("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &r), (uint64_t)SERVE_REQ_BAD);
    CHECK_EQ_U(parse_str("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", &r), (uint64_t)SERVE_REQ_BAD);
    CHECK_EQ_U(parse_str("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", &r), (uint64_t)SERVE_REQ_BAD);
    CHECK_EQ_U(parse_str("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", &r),
               (uint64_t)SERVE_REQ_BAD);
    CHECK(parse_str("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r) > 0);
    CHECK(r.transfer_encoding);
    CHECK_EQ_U(r.chunked, SERVE_TE_CHUNKED);
    CHECK(parse_str("POST / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n", &r) > 0);
    CHECK(r.expect_continue);
}

/* How the Transfer-Encoding list ends: the body is read only when it is chunked alone. */
static void transfer_codings(void)
{
    static const struct { const char *headers; unsigned chunked; } cases[] = {
        { "Transfer-Encoding: Chunked\r\n", SERVE_TE_CHUNKED },
        { "Transfer-Encoding: ,  chunked ,\r\n", SERVE_TE_CHUNKED },
        { "Transfer-Encoding: gzip, chunked\r\n", SERVE_TE_CHUNKED_AFTER },
        { "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", SERVE_TE_CHUNKED_AFTER },
        { "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", SERVE_TE_CHUNKED_AFTER },
        { "Transfer-Encoding: chunked, gzip\r\n", SERVE_TE_NOT_CHUNKED },
        { "Transfer-Encoding: chunked;q=1\r\n", SERVE_TE_NOT_CHUNKED },
        { "Transfer-Encoding: chunkedx\r\n", SERVE_TE_NOT_CHUNKED },
        { "Transfer-Encoding: \r\n", SERVE_TE_NOT_CHUNKED },
        { "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", SERVE_TE_NOT_CHUNKED },
        { "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", SERVE_TE_NOT_CHUNKED },
    };
    char buf[256];
    struct serve_request r;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(buf, sizeof(buf), "POST /echo HTTP/1.1\r\n%s\r\n", cases[i].headers);
        CHECK(parse_str(buf, &r) > 0);
        CHECK(r.transfer_encoding);
        if (r.chunked != cases[i].chunked) printf("  %s: %u\n", cases[i].headers, r.chunked);
        CHECK_EQ_U(r.chunked, cases[i].chunked);
    }
    CHECK(parse_str("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", &r) > 0);
    CHECK(!r.transfer_encoding && r.chunked == SERVE_TE_NOT_CHUNKED);
}

/* Decodes the chunked body at the start of s, handing it over n bytes at a time (0: all at
 * once), as a connection would. Returns the bytes the body spans, or -1 when malformed, or
 * 0 when it has not ended; its data into out (*out_len bytes). */
static ssize_t dechunk(const char *s, size_t len, size_t step, char *out, size_t *out_len)
{
    struct serve_chunked ch;
    serve_chunked_start(&ch);
    size_t at = 0, have = 0;
    *out_len = 0;
    while (ch.state) {
        if (at == have) {
            if (have == len) return 0;
            have = step && len - have > step ? have + step : len;
        }
        size_t off, dlen;
        ssize_t used = serve_chunked_parse(&ch, guarded(s + at, have - at), have - at, &off, &dlen);
        if (used < 0) return -1;
        if (used == 0 || (size_t)used > have - at || off + dlen > (size_t)used) return -2;
        memcpy(out + *out_len, s + at + off, dlen);
        *out_len += dlen;
        at += (size_t)used;
    }
    return (ssize_t)at;
}

static void chunked_bodies(void)
{
    static const struct { const char *body; ssize_t spans; const char *data; } cases[] = {
        { "0\r\n\r\n", 5, "" },
        { "5\r\nhello\r\n0\r\n\r\nGET", 15, "hello" },
        { "5;a=b;c\r\nhello\r\n6 ; x=\"y\"\r\n world\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n", 0, "hello world" },
        { "00A\nabcdefghij\n0\n\n", 0, "abcdefghij" },
        { "1\r\n\r\r\n0\r\n\r\n", 0, "\r" },
        { "3\r\nabcX\r\n", -1, NULL },         /* no CRLF after the data */
        { "x\r\n", -1, NULL },                  /* no size */
        { ";a\r\n", -1, NULL },
        { "3 x\rz\n", -1, NULL },               /* a CR not before its LF */
        { "0\r\nX: 1\rz\r\n\r\n", -1, NULL },
        { "0\r\n\rz", -1, NULL },
        { "10000000001\r\n", -1, NULL },        /* over SERVE_MAX_BODY */
        { "ffffffffffffffffff\r\n", -1, NULL },
        { "5\r\nhel", 0, NULL },                /* not ended yet */
    };
    char out[64];
    size_t out_len;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *b = cases[i].body;
        size_t len = strlen(b);
        ssize_t want = cases[i].spans;
        if (want == 0 && cases[i].data) want = (ssize_t)len;
        for (size_t step = 0; step <= 3; step++) {   /* all at once, then in 1, 2, 3 bytes */
            ssize_t got = dechunk(b, len, step, out, &out_len);
            if (got != want) printf("  case %zu, step %zu: %zd, expected %zd\n", i, step, got, want);
            CHECK(got == want);
            if (got > 0) CHECK(out_len == strlen(cases[i].data) && !memcmp(out, cases[i].data, out_len));
        }
    }
    /* a long extension or trailer line is refused, not skipped without end */
    size_t n = SERVE_MAX_HEADER_BYTES + 16;
    char *big = malloc(n + 8), *dummy = malloc(n);
    memset(big, 'x', n + 8);
    memcpy(big, "1;", 2);
    CHECK_EQ_U(dechunk(big, n, 4096, dummy, &out_len), (uint64_t)-1);
    memcpy(big, "0\r\nX:", 5);
    CHECK_EQ_U(dechunk(big, n, 0, dummy, &out_len), (uint64_t)-1);
    free(big);
    free(dummy);
}

static void connection_semantics(void)
{
    struct serve_request r;
    CHECK(parse_str("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &r) > 0 && !r.keep_alive);
    CHECK(parse_str("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n", &r) > 0 && !r.keep_alive);
    CHECK(parse_str("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", &r) > 0 && r.keep_alive);
    CHECK(parse_str("GET / HTTP/1.0\r\n\r\n", &r) > 0 && !r.keep_alive && r.minor == 0);
    CHECK(parse_str("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r) > 0 && r.keep_alive);
}

static void malformed(void)
{
    static const char *const bad[] = {
        "GET / HTTP/1.1 \r\n\r\n",
        "GET /  HTTP/1.1\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "GET / http/1.1\r\n\r\n",
        "GET /\r\n\r\n",
        " GET / HTTP/1.1\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET / HTTP/1.1\r\n: x\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
        "GET /\x01 HTTP/1.1\r\n\r\n",
        "this is not http\r\n\r\n",
    };
    struct serve_request r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_str(bad[i], &r) != SERVE_REQ_BAD) {
            printf("  accepted: %s\n", bad[i]);
            CHECK(0);
        }
    }
}

static void too_large(void)
{
    struct serve_request r;
    size_t n = SERVE_MAX_HEADER_BYTES + 100;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    memcpy(s, "GET / HTTP/1.1\r\nX: ", 19);
    CHECK_EQ_U(parse_whole(s, n, &r), (uint64_t)SERVE_REQ_TOO_LARGE);
    memcpy(s + n - 4, "\r\n\r\n", 4);
    CHECK_EQ_U(parse_whole(s, n, &r), (uint64_t)SERVE_REQ_TOO_LARGE);
    size_t fits = SERVE_MAX_HEADER_BYTES;
    memcpy(s + fits - 4, "\r\n\r\n", 4);
    CHECK_EQ_U(parse_whole(s, fits, &r), fits);
    memset(s, '\n', n);                 /* empty lines count too */
    CHECK_EQ_U(parse_whole(s, n, &r), (uint64_t)SERVE_REQ_TOO_LARGE);
    free(s);
}

static void routes(void)
{
    static const struct { const char *target; enum serve_route route; uint64_t arg; } cases[] = {
        { "/", SERVE_ROUTE_DEFAULT, 0 },
        { "*", SERVE_ROUTE_DEFAULT, 0 },
        { "/nothing/here", SERVE_ROUTE_DEFAULT, 0 },
        { "/bytes/0", SERVE_ROUTE_BYTES, 0 },
        { "/bytes/67108864", SERVE_ROUTE_BYTES, 67108864 },
        { "/bytes/12?size=1#x", SERVE_ROUTE_BYTES, 12 },
        { "/bytes/", SERVE_ROUTE_BAD_ARG, 0 },
        { "/bytes/1x", SERVE_ROUTE_BAD_ARG, 0 },
        { "/bytes/99999999999999999999999", SERVE_ROUTE_BAD_ARG, 0 },
        { "/bytesx/1", SERVE_ROUTE_DEFAULT, 0 },
        { "/chunked/7", SERVE_ROUTE_CHUNKED, 7 },
        { "/delay/250", SERVE_ROUTE_DELAY, 250 },
        { "/delay/3600001", SERVE_ROUTE_BAD_ARG, 0 },
        { "/status/100", SERVE_ROUTE_STATUS, 100 },
        { "/status/599", SERVE_ROUTE_STATUS, 599 },
        { "/status/600", SERVE_ROUTE_BAD_ARG, 0 },
        { "/status/99", SERVE_ROUTE_BAD_ARG, 0 },
        { "/close", SERVE_ROUTE_CLOSE, 0 },
        { "/close?now", SERVE_ROUTE_CLOSE, 0 },
        { "/closed", SERVE_ROUTE_DEFAULT, 0 },
        { "/Close", SERVE_ROUTE_DEFAULT, 0 },
        { "/reset", SERVE_ROUTE_RESET, 0 },
        { "/truncate", SERVE_ROUTE_TRUNCATE, 0 },
        { "/garbage", SERVE_ROUTE_GARBAGE, 0 },
        { "/hang", SERVE_ROUTE_HANG, 0 },
        { "/echo", SERVE_ROUTE_ECHO, 0 },
        { "http://example.com:80/bytes/5?q", SERVE_ROUTE_BYTES, 5 },
        { "http://example.com", SERVE_ROUTE_DEFAULT, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct serve_request r = { .route = 255 };
        size_t n = strlen(cases[i].target);
        serve_route_parse(guarded(cases[i].target, n), n, &r);
        if (r.route != cases[i].route || r.route_arg != cases[i].arg) {
            printf("  %s: route %u arg %llu\n", cases[i].target, r.route,
                   (unsigned long long)r.route_arg);
            CHECK(0);
        }
    }
}

static void api_routes(void)
{
    static const struct { const char *target; enum serve_route route; uint64_t arg; } cases[] = {
        { "/health", SERVE_ROUTE_HEALTH, 0 },
        { "/health/", SERVE_ROUTE_DEFAULT, 0 },
        { "/healthz", SERVE_ROUTE_DEFAULT, 0 },
        { "/api/login", SERVE_ROUTE_API_LOGIN, 0 },
        { "/api/login?x=1", SERVE_ROUTE_API_LOGIN, 0 },
        { "/api/items", SERVE_ROUTE_API_ITEMS, 1 },
        { "/api/items?page=7", SERVE_ROUTE_API_ITEMS, 7 },
        { "/api/items?a=b&page=1000000#f", SERVE_ROUTE_API_ITEMS, 1000000 },
        { "/api/items?page=2&page=3", SERVE_ROUTE_API_ITEMS, 3 },
        { "/api/items?page=0", SERVE_ROUTE_API_ITEMS, 0 },
        { "/api/items?page=", SERVE_ROUTE_API_ITEMS, 0 },
        { "/api/items?page=1000001", SERVE_ROUTE_API_ITEMS, 0 },
        { "/api/items?pages=2", SERVE_ROUTE_API_ITEMS, 1 },
        { "/api/items#page=2", SERVE_ROUTE_API_ITEMS, 1 },
        { "/api/items/", SERVE_ROUTE_API_OTHER, 0 },
        { "/api/items/a/b", SERVE_ROUTE_API_OTHER, 0 },
        { "/api/itemsx", SERVE_ROUTE_API_OTHER, 0 },
        { "/api", SERVE_ROUTE_API_OTHER, 0 },
        { "/api/", SERVE_ROUTE_API_OTHER, 0 },
        { "/apix", SERVE_ROUTE_DEFAULT, 0 },
        { "http://h:1/api/login", SERVE_ROUTE_API_LOGIN, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct serve_request r = { .route = 255 };
        size_t n = strlen(cases[i].target);
        serve_route_parse(guarded(cases[i].target, n), n, &r);
        if (r.route != cases[i].route || r.route_arg != cases[i].arg || r.id_len) {
            printf("  %s: route %u arg %llu\n", cases[i].target, r.route,
                   (unsigned long long)r.route_arg);
            CHECK(0);
        }
    }
    struct serve_request r;
    const char *t = "http://h/api/items/Ab-_9?page=2";
    serve_route_parse(t, strlen(t), &r);
    CHECK_EQ_U(r.route, SERVE_ROUTE_API_ITEM);
    CHECK(r.id_len == 5 && memcmp(t + r.id_off, "Ab-_9", 5) == 0);
}

static void api_heads(void)
{
    struct serve_request r;
    const char *s = "\r\nPOST /api/items/XYZ HTTP/1.1\r\nauthorization:  bearer  tok-1 \r\n"
                    "Content-Length: 2\r\n\r\n{}";
    size_t len = strlen(s);
    CHECK_EQ_U(parse_str(s, &r), len - 2);
    CHECK(r.method == SERVE_METHOD_POST && !r.head && r.content_length == 2);
    CHECK(r.route == SERVE_ROUTE_API_ITEM && r.id_len == 3 && memcmp(s + r.id_off, "XYZ", 3) == 0);
    CHECK(r.auth_len == 5 && memcmp(s + r.auth_off, "tok-1", 5) == 0);
    check_bytewise(s);
    CHECK(parse_str("GET /api/items HTTP/1.1\r\nAuthorization: Basic abc\r\n\r\n", &r) > 0);
    CHECK(r.method == SERVE_METHOD_GET && r.auth_len == 0);
    CHECK(parse_str("GET / HTTP/1.1\r\nAuthorization: Bearer\r\n\r\n", &r) > 0 && !r.auth_len);
    CHECK(parse_str("HEAD / HTTP/1.1\r\n\r\n", &r) > 0 && r.head && r.method == SERVE_METHOD_HEAD);
    CHECK(parse_str("DELETE / HTTP/1.1\r\n\r\n", &r) > 0 && r.method == SERVE_METHOD_OTHER);
    CHECK(parse_str("GETX / HTTP/1.1\r\n\r\n", &r) > 0 && r.method == SERVE_METHOD_OTHER);
}

static void api_tokens(void)
{
    serve_api_init();
    char a[SERVE_API_TOKEN_LEN], a2[SERVE_API_TOKEN_LEN], b[SERVE_API_TOKEN_LEN];
    serve_api_token("alice", 5, a);
    serve_api_token("alice", 5, a2);
    serve_api_token("alicf", 5, b);
    CHECK(memcmp(a, a2, sizeof(a)) == 0 && memcmp(a, b, sizeof(a)) != 0);
    CHECK(memcmp(a, "tok-", 4) == 0);
    uint64_t ua, ub;
    CHECK(serve_api_token_check(guarded(a, sizeof(a)), sizeof(a), &ua));
    CHECK(serve_api_token_check(b, sizeof(b), &ub) && ua != ub);
    CHECK(!serve_api_token_check(a, sizeof(a) - 1, &ua));
    for (size_t i = 0; i < sizeof(a); i++) {   /* any one character changed: refused */
        char t[SERVE_API_TOKEN_LEN];
        memcpy(t, a, sizeof(t));
        t[i] = t[i] == '0' ? '1' : '0';
        if (serve_api_token_check(t, sizeof(t), &ub)) {
            printf("  accepted with character %zu changed\n", i);
            CHECK(0);
        }
    }
}

/* Random damage to valid heads: never a crash or an out-of-bounds read, and feeding in
 * pieces always agrees with parsing at once. */
static void mutations(void)
{
    static const char *const seeds[] = {
        "GET /bytes/10 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
        "POST /echo HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
        "\r\nHEAD /status/204 HTTP/1.1\nTransfer-Encoding: chunked\n\n",
        "POST /api/items/a HTTP/1.1\r\nAuthorization: Bearer t\r\nContent-Length: 2\r\n\r\n{}",
    };
    static const char alphabet[] = "\r\n :\t/aZ09-?";
    uint64_t rng = 88172645463325252ull;
    char buf[256];
    for (int round = 0; round < 20000; round++) {
        const char *seed = seeds[round % (sizeof(seeds) / sizeof(seeds[0]))];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        for (int k = 0; k < 3; k++) {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
            buf[rng % n] = alphabet[(rng >> 32) % (sizeof(alphabet) - 1)];
        }
        buf[n] = 0;
        if (strlen(buf) != n) continue;
        check_bytewise(buf);
    }
}

int main(void)
{
    guard_setup();
    RUN(simple_get);
    RUN(pipelined_heads);
    RUN(incomplete_and_splits);
    RUN(leading_empty_lines);
    RUN(not_a_request_line_at_once);
    RUN(leading_empty_lines_bytewise_linear);
    RUN(body_headers);
    RUN(transfer_codings);
    RUN(chunked_bodies);
    RUN(connection_semantics);
    RUN(malformed);
    RUN(too_large);
    RUN(routes);
    RUN(api_routes);
    RUN(api_heads);
    RUN(api_tokens);
    RUN(mutations);
    CHECK_EXIT();
}
