/* Response parser tests. Every sample is fed whole, in every 2-way split, in every 3-way
 * split (short samples), and a byte at a time; each piece is copied so that its last byte
 * sits right before a PROT_NONE page (an over-read faults), and is overwritten after the
 * call (the parser must not keep pointers into it). All feeds must give the same results. */
#include "check.h"
#include "http_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PUBLIC_FLAGS (HTTP_F_LENGTH | HTTP_F_CHUNKED | HTTP_F_CLOSE | HTTP_F_KEEPALIVE | HTTP_F_TE)
#define L  HTTP_F_LENGTH
#define CH (HTTP_F_CHUNKED | HTTP_F_TE)
#define CL HTTP_F_CLOSE
#define KA HTTP_F_KEEPALIVE
#define TE HTTP_F_TE

/* ---- guard page ---- */

static char *guard_end;  /* first byte of the PROT_NONE page */
static size_t guard_room;

static void guard_init(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    guard_room = 1 << 20;
    char *m = mmap(NULL, guard_room + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + guard_room, page, PROT_NONE) != 0) {
        perror("guard page");
        exit(1);
    }
    guard_end = m + guard_room;
}

/* ---- feeding ---- */

struct result {
    unsigned status;
    uint64_t body;
    unsigned flags;
    unsigned error;  /* 0, or the enum http_error that ended the run */
    size_t end;      /* offset just past the response (0 for an error) */
};

#define MAX_RESULTS 16
struct run {
    struct result r[MAX_RESULTS];
    size_t n;
    int started_at_end;  /* without eof: a response was in progress after the last byte */
    int bad_return;      /* feed returned short of the piece without HTTP_DONE */
};

static void record(struct run *run, const struct http_resp *p, unsigned error, size_t end)
{
    if (run->n == MAX_RESULTS) return;
    run->r[run->n++] = (struct result){p->status, p->body_bytes, p->flags & PUBLIC_FLAGS, error, error ? 0 : end};
}

/* Feeds data[0..len) in the pieces that cuts[] (ascending, inside (0, len)) marks,
 * restarting after each response; at the end calls http_resp_eof if eof. */
static void feed_cuts(const char *data, size_t len, const size_t *cuts, size_t ncuts, bool no_body, bool eof,
                      struct run *run)
{
    struct http_resp p;
    memset(run, 0, sizeof *run);
    http_resp_start(&p, no_body);
    for (size_t k = 0; k <= ncuts; k++) {
        size_t a = k ? cuts[k - 1] : 0, b = k < ncuts ? cuts[k] : len, n = b - a;
        if (n > guard_room) abort();
        char *piece = guard_end - n;
        memcpy(piece, data + a, n);
        for (size_t i = 0; i < n;) {
            ssize_t got = http_resp_feed(&p, piece + i, n - i);
            if (got < 0) {
                record(run, &p, p.error ? p.error : 255, 0);
                return;
            }
            i += (size_t)got;
            if (p.state == HTTP_DONE) {
                record(run, &p, 0, a + i);
                http_resp_start(&p, no_body);
            } else if (i != n) {
                run->bad_return = 1;
                return;
            }
        }
        memset(piece, 0xA5, n);  /* the buffer goes back to the kernel */
    }
    if (eof) {
        int r = http_resp_eof(&p);
        if (r == 1) record(run, &p, 0, len);
        if (r < 0) record(run, &p, p.error, 0);
    } else {
        run->started_at_end = http_resp_started(&p);
    }
}

#define ALL SIZE_MAX  /* as an expected end: the end of the input */

static int same_run(const struct run *a, const struct result *want, size_t nwant, size_t len)
{
    if (a->bad_return || a->started_at_end || a->n != nwant) return 0;
    for (size_t i = 0; i < nwant; i++) {
        const struct result *x = &a->r[i], *y = &want[i];
        if (x->status != y->status || x->body != y->body || x->flags != y->flags || x->error != y->error ||
            x->end != (y->end == ALL ? len : y->end))
            return 0;
    }
    return 1;
}

static void show(const char *what, const struct run *run)
{
    printf("    %s: %zu results%s%s\n", what, run->n, run->bad_return ? ", short return" : "",
           run->started_at_end ? ", unfinished response at end" : "");
    for (size_t i = 0; i < run->n; i++)
        printf("      status %u body %llu flags %#x error %u end %zu\n", run->r[i].status,
               (unsigned long long)run->r[i].body, run->r[i].flags, run->r[i].error, run->r[i].end);
}

static unsigned long feeds;  /* runs done, to show the splits really ran */

static int check_one(const char *data, size_t len, const size_t *cuts, size_t ncuts, bool no_body, bool eof,
                     const struct result *want, size_t nwant)
{
    struct run run;
    feeds++;
    feed_cuts(data, len, cuts, ncuts, no_body, eof, &run);
    if (same_run(&run, want, nwant, len)) return 1;
    if (!check_case_failed) {
        printf("  mismatch feeding %zu bytes in %zu pieces, cuts:", len, ncuts + 1);
        for (size_t i = 0; i < ncuts && i < 40; i++) printf(" %zu", cuts[i]);
        printf("\n");
        struct run w = {.n = nwant};
        memcpy(w.r, want, nwant * sizeof *want);
        show("expected", &w);
        show("got", &run);
    }
    CHECK(!"results differ from the expected ones");
    return 0;
}

/* Whole, every 2-way split, every 3-way split when len <= max3, and byte at a time. */
static void expect_splits(const char *data, size_t len, bool no_body, bool eof, const struct result *want,
                          size_t nwant, size_t max3)
{
    size_t cuts[2];
    if (!check_one(data, len, NULL, 0, no_body, eof, want, nwant)) return;
    for (size_t i = 1; i < len; i++) {
        cuts[0] = i;
        if (!check_one(data, len, cuts, 1, no_body, eof, want, nwant)) return;
    }
    if (len <= max3)
        for (size_t i = 1; i < len; i++)
            for (size_t j = i + 1; j < len; j++) {
                cuts[0] = i;
                cuts[1] = j;
                if (!check_one(data, len, cuts, 2, no_body, eof, want, nwant)) return;
            }
    size_t *all = malloc(len * sizeof *all);
    for (size_t i = 1; i < len; i++) all[i - 1] = i;
    check_one(data, len, all, len ? len - 1 : 0, no_body, eof, want, nwant);
    free(all);
}

#define MAX3 200
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define EXPECT(str, no_body, eof, ...)                                                    \
    do {                                                                                  \
        static const struct result want_[] = {__VA_ARGS__};                               \
        expect_splits(str, sizeof(str) - 1, no_body, eof, want_, N(want_), MAX3);         \
    } while (0)
/* A complete response, and one that ended in an error. */
#define OK(status, body, flags, end) {status, body, flags, 0, end}
#define ERR(status, body, flags, error) {status, body, flags, error, 0}

/* ---- samples ---- */

#define NGINX_HEAD                                   \
    "HTTP/1.1 200 OK\r\n"                            \
    "Server: nginx/1.24.0\r\n"                       \
    "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"        \
    "Content-Type: text/html\r\n"                    \
    "Content-Length: 612\r\n"                        \
    "Last-Modified: Tue, 11 Apr 2023 01:45:34 GMT\r\n" \
    "Connection: keep-alive\r\n"                     \
    "ETag: \"6434bbbe-264\"\r\n"                     \
    "Accept-Ranges: bytes\r\n"                       \
    "\r\n"

static char nginx[sizeof(NGINX_HEAD) - 1 + 612];

static void test_nginx(void)
{
    memcpy(nginx, NGINX_HEAD, sizeof(NGINX_HEAD) - 1);
    for (size_t i = 0; i < 612; i++) nginx[sizeof(NGINX_HEAD) - 1 + i] = (char)("<html>\r\n:"[i % 9]);
    static const struct result want[] = {OK(200, 612, L | KA, sizeof nginx)};
    expect_splits(nginx, sizeof nginx, false, false, want, 1, 0);
    expect_splits(nginx, sizeof nginx, false, true, want, 1, 0);
    /* the head alone, as the answer to HEAD */
    static const struct result head[] = {OK(200, 0, L | KA, sizeof(NGINX_HEAD) - 1)};
    expect_splits(nginx, sizeof(NGINX_HEAD) - 1, true, false, head, 1, 0);
}

static void test_short_content_length(void)
{
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, false, OK(200, 5, L, ALL));
    EXPECT("HTTP/1.1 404 Not Found\r\nContent-Length:3\r\nX: y\r\n\r\nabc", false, true, OK(404, 3, L, ALL));
    /* no reason phrase, with and without the SP before it; OWS around the value */
    EXPECT("HTTP/1.1 200\r\ncontent-length: \t 2 \t\r\n\r\nok", false, false, OK(200, 2, L, ALL));
    EXPECT("HTTP/1.1 201 \r\nContent-Length: 1\r\n\r\nx", false, false, OK(201, 1, L, ALL));
    /* the same Content-Length twice is fine */
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", false, false,
           OK(200, 2, L, ALL));
}

static void test_content_length_zero(void)
{
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, false, OK(200, 0, L, ALL));
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 000\r\n\r\n", false, true, OK(200, 0, L, ALL));
}

static void test_content_length_large(void)
{
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n", false, true,
           ERR(200, 0, L, HTTP_E_TRUNCATED));
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", false, true,
           ERR(200, 0, 0, HTTP_E_LENGTH));
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false, true,
           ERR(200, 0, 0, HTTP_E_LENGTH));

    /* 10 MB of body through 1 MiB buffers, then the next response */
    static char big[1 << 20];
    struct http_resp p;
    http_resp_start(&p, false);
    const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n";
    CHECK_EQ_U(http_resp_feed(&p, h, strlen(h)), strlen(h));
    CHECK_EQ_U(p.state, HTTP_BODY_LENGTH);
    CHECK_EQ_U(p.content_length, 10000000);
    uint64_t left = 10000000;
    while (left > sizeof big) {
        CHECK_EQ_U(http_resp_feed(&p, big, sizeof big), sizeof big);
        left -= sizeof big;
    }
    CHECK_EQ_U(p.remaining, left);
    CHECK_EQ_U(http_resp_feed(&p, big, sizeof big), left);
    CHECK_EQ_U(p.state, HTTP_DONE);
    CHECK_EQ_U(p.body_bytes, 10000000);
    CHECK_EQ_U(http_resp_feed(&p, big, sizeof big), 0);  /* done stays done */
}

static void test_chunked(void)
{
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\n"
           "1a;name=value;x=\"q;\\\"\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
           "A ; ext\r\n0123456789\r\n"
           "000\r\nX-Checksum: 1234\r\nY:\r\n\r\n",
           false, false, OK(200, 41, CH, ALL));
    /* upper-case hex, no trailers, then a pipelined response; one byte too many */
#define UPPER "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nF\r\n0123456789abcde\r\n0\r\n\r\n"
    EXPECT(UPPER "HTTP/1.1 204 No Content\r\n\r\n", false, false, OK(200, 15, CH, sizeof(UPPER) - 1),
           OK(204, 0, 0, ALL));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nF\r\n0123456789abcdef\r\n0\r\n\r\n", false,
           false, ERR(200, 15, CH, HTTP_E_CHUNK));
    /* chunked last wins over Content-Length, before or after it */
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
           "2\r\nhi\r\n0\r\n\r\n",
           false, false, OK(200, 2, L | CH, ALL));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n"
           "2\r\nhi\r\n0\r\n\r\n",
           false, false, OK(200, 2, L | CH, ALL));
    /* chunked not last: the body runs to the close */
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 3\r\n\r\nabcdef", false, true,
           OK(200, 6, L | TE | CL, ALL));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\nab", false, true,
           OK(200, 2, TE | CL, ALL));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedx\r\n\r\nab", false, true, OK(200, 2, TE | CL, ALL));
    /* an empty chunked body, and a lone LF after chunk data */
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false, false, OK(200, 0, CH, ALL));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\n0\r\n\r\n", false, false,
           OK(200, 1, CH, ALL));
}

static void test_head(void)
{
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 612\r\n\r\n", true, false, OK(200, 0, L, ALL));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, false, OK(200, 0, CH, ALL));
    /* without Content-Length it still has no body, and no close either */
    EXPECT("HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", true, true, OK(200, 0, 0, 19), OK(200, 0, 0, ALL));
}

static void test_interim(void)
{
    EXPECT("HTTP/1.1 100 Continue\r\n\r\n"
           "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nContent-Length: 7\r\n"
           "Connection: close\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
           false, false, OK(200, 2, L, ALL));
    /* EOF after a 1xx: the final response never came */
    EXPECT("HTTP/1.1 100 Continue\r\n\r\n", false, true, ERR(0, 0, 0, HTTP_E_TRUNCATED));
    EXPECT("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00",
           false, false, ERR(101, 0, 0, HTTP_E_UPGRADE));

    struct http_resp p;
    http_resp_start(&p, false);
    CHECK(!http_resp_started(&p));
    CHECK_EQ_U(http_resp_feed(&p, "HTTP/1.1 100 Continue\r\n\r\n", 25), 25);
    CHECK_EQ_U(p.state, HTTP_STATUS_LINE);
    CHECK(http_resp_started(&p));
    CHECK_EQ_U(http_resp_eof(&p), -1);
    CHECK_EQ_U(p.error, HTTP_E_TRUNCATED);
}

static void test_no_body_statuses(void)
{
#define R204 "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
#define R304 "HTTP/1.1 304 Not Modified\r\nContent-Length: 612\r\nTransfer-Encoding: chunked\r\n\r\n"
    EXPECT(R204 R304 "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", false, false,
           OK(204, 0, L, sizeof(R204) - 1), OK(304, 0, L | CH, sizeof(R204 R304) - 1), OK(200, 1, L, ALL));
}

static void test_http10(void)
{
    EXPECT("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc", false, false, OK(200, 3, L | CL, ALL));
    EXPECT("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\nabc", false, false,
           OK(200, 3, L | KA, ALL));
    EXPECT("HTTP/1.0 200 OK\r\n\r\nabc", false, true, OK(200, 3, CL, ALL));
    /* keep-alive without a length still ends at the close */
    EXPECT("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nabc", false, true, OK(200, 3, KA | CL, ALL));
    /* HTTP/1.0 with Transfer-Encoding: parsed, but the connection closes */
    EXPECT("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
           false, false, OK(200, 1, KA | CH | CL, ALL));
}

static void test_connection_tokens(void)
{
    EXPECT("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", false, false,
           OK(200, 0, L | KA | CL, ALL));
    EXPECT("HTTP/1.1 200 OK\r\nConnection: Upgrade,CLOSE ,\r\nContent-Length: 0\r\n\r\n", false, false,
           OK(200, 0, L | CL, ALL));
    EXPECT("HTTP/1.1 200 OK\r\nConnection: , ,\tclose\t,\r\nContent-Length: 0\r\n\r\n", false, false,
           OK(200, 0, L | CL, ALL));
    /* near misses */
    EXPECT("HTTP/1.1 200 OK\r\nConnection: closed, clos, cl ose, keep-alivee, keep\r\nContent-Length: 0\r\n\r\n",
           false, false, OK(200, 0, L, ALL));
    EXPECT("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nconnection: CLOSE\r\nContent-Length: 0\r\n\r\n", false,
           false, OK(200, 0, L | KA | CL, ALL));
    EXPECT("HTTP/1.1 200 OK\r\nConnection:\r\nProxy-Connection: close\r\nContent-Length: 0\r\n\r\n", false, false,
           OK(200, 0, L, ALL));
}

static void test_eof_body(void)
{
    EXPECT("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody runs to the close", false, true, OK(200, 22, CL, ALL));
    EXPECT("HTTP/1.1 200 OK\r\n\r\n", false, true, OK(200, 0, CL, ALL));
    /* an EOF body swallows what looks like the next response */
    EXPECT("HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", false, true, OK(200, 19, CL, ALL));
}

static void test_pipelined(void)
{
#define P1 "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
#define P2 "HTTP/1.1 204 No Content\r\n\r\n"
#define P3 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
#define P4 "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
#define P5 "HTTP/1.0 200 OK\r\n\r\nrest"
    EXPECT(P1 P2 P3 P4 P5, false, true, OK(200, 5, L, sizeof(P1) - 1), OK(204, 0, 0, sizeof(P1 P2) - 1),
           OK(200, 3, CH, sizeof(P1 P2 P3) - 1), OK(304, 0, 0, sizeof(P1 P2 P3 P4) - 1), OK(200, 4, CL, ALL));
    /* without EOF, the last one is left in progress */
    struct run run;
    const char *all = P1 P2 P3 P4;
    feed_cuts(all, strlen(all), NULL, 0, false, false, &run);
    CHECK_EQ_U(run.n, 4);
    CHECK_EQ_U(run.r[3].end, strlen(all));
    CHECK(!run.started_at_end);
}

static void test_mixed_case_names(void)
{
    EXPECT("HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: 1\r\nCONNECTION: CLOSE\r\n\r\nx", false, false,
           OK(200, 1, L | CL, ALL));
    EXPECT("HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: CHUNKED\r\n\r\n1\r\nx\r\n0\r\n\r\n", false, false,
           OK(200, 1, CH, ALL));
    /* names that only look alike are other headers: these bodies run to the close */
    EXPECT("HTTP/1.1 200 OK\r\nContent-Lengthy: 1\r\nContent-Lengt: 1\r\nX-Content-Length: 1\r\n"
           "Content\rLength: 1\r\nContent_Length: 1\r\nContent-Length\r: 1\r\nTransfer-Encodin: chunked\r\n"
           "Transfer\rEncoding: chunked\r\nConnectio: close\r\nConnection\r: close\r\n\r\nab",
           false, true, OK(200, 2, CL, ALL));
}

static void test_lf_only(void)
{
    EXPECT("HTTP/1.1 200 OK\nContent-Length: 2\nConnection: close\n\nok", false, false, OK(200, 2, L | CL, ALL));
    EXPECT("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2;x\nok\n0\nT: 1\n\n", false, false,
           OK(200, 2, CH, ALL));
    EXPECT("HTTP/1.1 200\nContent-Length: 0\n\n", false, false, OK(200, 0, L, ALL));
}

/* EOF in every state: each prefix of a few responses ends in HTTP_E_TRUNCATED. */
static void test_truncated_everywhere(void)
{
    static const char *const samples[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    };
    unsigned seen = 0;
    for (size_t k = 0; k < N(samples); k++) {
        size_t len = strlen(samples[k]);
        for (size_t cut = 1; cut < len; cut++) {
            struct http_resp p;
            http_resp_start(&p, false);
            char *piece = guard_end - cut;
            memcpy(piece, samples[k], cut);
            CHECK_EQ_U(http_resp_feed(&p, piece, cut), cut);
            seen |= 1u << p.state;
            CHECK(http_resp_started(&p));
            CHECK_EQ_U(http_resp_eof(&p), -1);
            CHECK_EQ_U(p.state, HTTP_ERROR);
            CHECK_EQ_U(p.error, HTTP_E_TRUNCATED);
            CHECK_EQ_U(http_resp_feed(&p, "x", 1), -1);  /* stays failed */
        }
    }
    for (unsigned st = HTTP_STATUS_LINE; st < HTTP_DONE; st++)
        if (st != HTTP_BODY_EOF && !(seen & 1u << st)) {
            printf("  state %u never reached by a truncation\n", st);
            CHECK(0);
        }
    /* the states around EOF itself */
    struct http_resp p;
    http_resp_start(&p, false);
    CHECK_EQ_U(http_resp_eof(&p), 0);  /* nothing read: an idle close */
    CHECK_EQ_U(p.state, HTTP_STATUS_LINE);
    CHECK_EQ_U(http_resp_feed(&p, "HTTP/1.1 200 OK\r\n\r\nab", 21), 21);
    CHECK_EQ_U(p.state, HTTP_BODY_EOF);
    CHECK_EQ_U(http_resp_eof(&p), 1);
    CHECK_EQ_U(p.state, HTTP_DONE);
    CHECK_EQ_U(p.body_bytes, 2);
    CHECK(p.flags & HTTP_F_CLOSE);
    CHECK_EQ_U(http_resp_eof(&p), 0);
}

static void test_errors(void)
{
    /* HTTP_E_STATUS */
    EXPECT("HTTP/2 200 OK\r\n\r\n", false, true, ERR(0, 0, 0, HTTP_E_STATUS));
    EXPECT("http/1.1 200 OK\r\n\r\n", false, true, ERR(0, 0, 0, HTTP_E_STATUS));
    EXPECT("HTTP/1.1 20 OK\r\n\r\n", false, true, ERR(0, 0, 0, HTTP_E_STATUS));
    EXPECT("HTTP/1.1 099 OK\r\n\r\n", false, true, ERR(0, 0, 0, HTTP_E_STATUS));
    EXPECT("HTTP/1.1 2000 OK\r\n\r\n", false, true, ERR(0, 0, 0, HTTP_E_STATUS));
    EXPECT("HTTP/1.1  200 OK\r\n\r\n", false, true, ERR(0, 0, 0, HTTP_E_STATUS));
    EXPECT("HTTP/1.x 200 OK\r\n\r\n", false, true, ERR(0, 0, 0, HTTP_E_STATUS));
    EXPECT("\r\nHTTP/1.1 200 OK\r\n\r\n", false, true, ERR(0, 0, 0, HTTP_E_STATUS));
    /* HTTP_E_HEADER */
    EXPECT("HTTP/1.1 200 OK\r\nServer x\r\n\r\n", false, true, ERR(200, 0, 0, HTTP_E_HEADER));
    EXPECT("HTTP/1.1 200 OK\r\nBad\r\nX: y\r\n\r\nbody after the head", false, true, ERR(200, 0, 0, HTTP_E_HEADER));
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello", false, true, ERR(200, 0, 0, HTTP_E_HEADER));
    EXPECT("HTTP/1.1 200 OK\r\nX\t: 5\r\n\r\n", false, true, ERR(200, 0, 0, HTTP_E_HEADER));
    EXPECT("HTTP/1.1 200 OK\r\nX: a\r\n  folded\r\n\r\n", false, true, ERR(200, 0, 0, HTTP_E_HEADER));
    EXPECT("HTTP/1.1 200 OK\r\n Content-Length: 1\r\n\r\n", false, true, ERR(200, 0, 0, HTTP_E_HEADER));
    EXPECT("HTTP/1.1 200 OK\r\n: empty\r\n\r\n", false, true, ERR(200, 0, 0, HTTP_E_HEADER));
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\rX\r\n\r\n", false, true, ERR(200, 0, L, HTTP_E_HEADER));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: , \r\n\r\n", false, true, ERR(200, 0, 0, HTTP_E_HEADER));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n", false, true,
           ERR(200, 0, CH, HTTP_E_HEADER));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\rX", false, true,
           ERR(200, 0, CH, HTTP_E_HEADER));
    /* HTTP_E_LENGTH */
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", false, true,
           ERR(200, 0, L, HTTP_E_LENGTH));
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", false, true, ERR(200, 0, 0, HTTP_E_LENGTH));
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5 5\r\n\r\nhello", false, true, ERR(200, 0, 0, HTTP_E_LENGTH));
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", false, true, ERR(200, 0, 0, HTTP_E_LENGTH));
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello", false, true, ERR(200, 0, 0, HTTP_E_LENGTH));
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", false, true, ERR(200, 0, 0, HTTP_E_LENGTH));
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, true, ERR(200, 0, 0, HTTP_E_LENGTH));
    /* HTTP_E_CHUNK */
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nx\r\n", false, true, ERR(200, 0, CH, HTTP_E_CHUNK));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", false, true, ERR(200, 0, CH, HTTP_E_CHUNK));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n", false, true, ERR(200, 0, CH, HTTP_E_CHUNK));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", false, true,
           ERR(200, 2, CH, HTTP_E_CHUNK));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\rc", false, true,
           ERR(200, 2, CH, HTTP_E_CHUNK));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2x\r\nab\r\n", false, true,
           ERR(200, 0, CH, HTTP_E_CHUNK));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", false, true,
           ERR(200, 0, CH, HTTP_E_CHUNK));
    EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n000ffffffffffffffff\r\n", false, true,
           ERR(200, 0, CH, HTTP_E_TRUNCATED));
    /* HTTP_E_TRUNCATED */
    EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell", false, true, ERR(200, 4, L, HTTP_E_TRUNCATED));
    EXPECT("H", false, true, ERR(0, 0, 0, HTTP_E_TRUNCATED));
    /* HTTP_E_UPGRADE */
    EXPECT("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", false, false,
           ERR(101, 0, 0, HTTP_E_UPGRADE));

    /* every error has its own words */
    for (int e = HTTP_OK; e <= HTTP_E_UPGRADE; e++) {
        const char *s = http_error_str((enum http_error)e);
        CHECK(s && *s);
        for (int f = HTTP_OK; f < e; f++) CHECK(strcmp(s, http_error_str((enum http_error)f)) != 0);
    }
    CHECK(strcmp(http_error_str(HTTP_E_LENGTH), "bad or conflicting Content-Length") == 0);
    /* the limits are named, so that a big head is not mistaken for a broken one */
    CHECK(strstr(http_error_str(HTTP_E_TOO_LARGE), "64 KiB") != NULL);
    CHECK(strstr(http_error_str(HTTP_E_TOO_MANY), "100 header fields") != NULL);
}

/* A response with `nheaders` "X-N: v" lines and one filler line that brings the head to
 * exactly head_bytes bytes; `trailer` moves all of them into the trailers of a chunked body. */
static size_t build_big(char *out, unsigned nheaders, size_t head_bytes, bool trailer)
{
    size_t n = 0;
    n += (size_t)sprintf(out + n, trailer ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                                          : "HTTP/1.1 200 OK\r\n");
    size_t start = trailer ? n : 0;
    for (unsigned i = 0; i + 1 < nheaders; i++) n += (size_t)sprintf(out + n, "X-%u: v\r\n", i);
    size_t fill = head_bytes - (n - start) - 2 - 5;  /* "F: " ... "\r\n", then the empty line */
    n += (size_t)sprintf(out + n, "F: ");
    memset(out + n, 'f', fill);
    n += fill;
    n += (size_t)sprintf(out + n, "\r\n\r\n");
    if (!trailer) n += (size_t)sprintf(out + n, "abc");
    return n;
}

static void check_big(const char *data, size_t len, bool trailer, unsigned error)
{
    struct result want = {200, trailer || error ? 0 : 3, trailer ? CH : error ? 0 : CL, error, error ? 0 : len};
    size_t *cuts = malloc(len * sizeof *cuts);
    check_one(data, len, NULL, 0, false, true, &want, 1);
    for (size_t i = 1; i < len; i++) cuts[i - 1] = i;  /* byte at a time */
    check_one(data, len, cuts, len - 1, false, true, &want, 1);
    for (size_t step = 1000; step < 70000; step += 7919) {  /* a spread of piece sizes */
        size_t k = 0;
        for (size_t at = step; at < len; at += step) cuts[k++] = at;
        check_one(data, len, cuts, k, false, true, &want, 1);
    }
    for (size_t d = 0; d < 3; d++) {  /* cuts right around the limit */
        cuts[0] = HTTP_MAX_HEADER_BYTES - 1 + d;
        if (cuts[0] < len) check_one(data, len, cuts, 1, false, true, &want, 1);
    }
    free(cuts);
}

static void test_header_limits(void)
{
    static char big[3 * HTTP_MAX_HEADER_BYTES];
    size_t n;
    n = build_big(big, HTTP_MAX_HEADERS, HTTP_MAX_HEADER_BYTES, false);
    check_big(big, n, false, 0);
    n = build_big(big, HTTP_MAX_HEADERS, HTTP_MAX_HEADER_BYTES + 1, false);
    check_big(big, n, false, HTTP_E_TOO_LARGE);
    n = build_big(big, HTTP_MAX_HEADERS + 1, 4000, false);
    check_big(big, n, false, HTTP_E_TOO_MANY);
    /* trailers have their own byte limit; the count includes them */
    n = build_big(big, HTTP_MAX_HEADERS - 1, HTTP_MAX_HEADER_BYTES, true);
    check_big(big, n, true, 0);
    n = build_big(big, 10, HTTP_MAX_HEADER_BYTES + 1, true);
    check_big(big, n, true, HTTP_E_TOO_LARGE);
    n = build_big(big, HTTP_MAX_HEADERS, 4000, true);
    check_big(big, n, true, HTTP_E_TOO_MANY);
    /* a line with no end is cut off at the limit */
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(big + 20, 'x', sizeof big - 20);
    struct result want = ERR(200, 0, 0, HTTP_E_TOO_LARGE);
    check_one(big, sizeof big, NULL, 0, false, true, &want, 1);
    size_t cuts[] = {10, 30000, 65535, 65536, 65537, 100000};
    check_one(big, sizeof big, cuts, N(cuts), false, true, &want, 1);
}

/* The struct's state after a typical response, field by field. */
static void test_fields(void)
{
    struct http_resp p;
    http_resp_start(&p, false);
    const char *r = "HTTP/1.0 503 Busy\r\nContent-Length: 7\r\nConnection: keep-alive\r\n\r\n1234567HTTP";
    size_t len = strlen(r);
    CHECK_EQ_U(http_resp_feed(&p, r, len), len - 4);
    CHECK_EQ_U(p.state, HTTP_DONE);
    CHECK_EQ_U(p.status, 503);
    CHECK_EQ_U(p.minor, 0);
    CHECK_EQ_U(p.content_length, 7);
    CHECK_EQ_U(p.body_bytes, 7);
    CHECK_EQ_U(p.nheaders, 2);
    CHECK_EQ_U(p.flags & PUBLIC_FLAGS, L | KA);
    CHECK_EQ_U(http_resp_feed(&p, "x", 1), 0);
    CHECK_EQ_U(http_resp_feed(&p, "", 0), 0);
    http_resp_start(&p, false);
    CHECK_EQ_U(http_resp_feed(&p, "", 0), 0);
    CHECK(!http_resp_started(&p));
    CHECK_EQ_U(http_resp_feed(&p, "HTTP", 4), 4);
    CHECK(http_resp_started(&p));
    CHECK_EQ_U(p.match, 4);
    CHECK_EQ_U(http_resp_feed(&p, "/1.1 2", 6), 6);
    CHECK_EQ_U(http_resp_feed(&p, "00 OK\r\nContent-Le", 17), 17);
    CHECK_EQ_U(p.state, HTTP_NAME);
    CHECK_EQ_U(http_resp_feed(&p, "ngth: 12", 8), 8);
    CHECK_EQ_U(p.state, HTTP_VALUE);
    CHECK_EQ_U(p.header, HDR_CONTENT_LENGTH);
    CHECK_EQ_U(http_resp_feed(&p, "3\r\n\r\n", 5), 5);
    CHECK_EQ_U(p.state, HTTP_BODY_LENGTH);
    CHECK_EQ_U(p.status, 200);
    CHECK_EQ_U(p.minor, 1);
    CHECK_EQ_U(p.remaining, 123);
    CHECK_EQ_U(p.flags & PUBLIC_FLAGS, L);
}

/* set_cookie: the final response's head has a header named Set-Cookie (any case), at every
 * split of the response (the whole-line path and the byte-by-byte one); no other name, and
 * no interim 1xx's, sets it. */
static void test_set_cookie_noted(void)
{
    static const struct {
        const char *head;
        bool set;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Length: 2\r\n\r\nok", true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nsET-cOOKIE:a\r\n\r\nok", true},
        {"HTTP/1.1 103 Early\r\nSet-Cookie: e=1\r\n\r\nHTTP/1.1 204 No\r\n\r\n", false},  /* not an interim's */
        {"HTTP/1.1 103 Early\r\n\r\nHTTP/1.1 204 No\r\nSet-Cookie: f=1\r\n\r\n", true},
        {"HTTP/1.1 200 OK\r\nSet-Cookies: a=1\r\nX-Set-Cookie: a\r\nSet-Cooki: a\r\nContent-Length: 0\r\n\r\n", false},
        {"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: 5\r\nContent-Length: 0\r\n\r\n", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *r = cases[i].head;
        size_t len = strlen(r);
        for (size_t cut = 0; cut <= len; cut++) {
            struct http_resp p;
            http_resp_start(&p, false);
            ssize_t a = http_resp_feed(&p, r, cut);
            CHECK(a == (ssize_t)cut);
            ssize_t b = http_resp_feed(&p, r + cut, len - cut);
            CHECK(b == (ssize_t)(len - cut) && p.state == HTTP_DONE);
            if (p.set_cookie != cases[i].set) printf("  case %zu, cut %zu\n", i, cut);
            CHECK_EQ_U(p.set_cookie, cases[i].set);
        }
        struct http_resp p;  /* a byte at a time */
        http_resp_start(&p, false);
        for (size_t k = 0; k < len; k++) CHECK(http_resp_feed(&p, r + k, 1) == 1);
        CHECK_EQ_U(p.set_cookie, cases[i].set);
    }
}

int main(void)
{
    guard_init();
    RUN(test_nginx);
    RUN(test_short_content_length);
    RUN(test_content_length_zero);
    RUN(test_content_length_large);
    RUN(test_chunked);
    RUN(test_head);
    RUN(test_interim);
    RUN(test_no_body_statuses);
    RUN(test_http10);
    RUN(test_connection_tokens);
    RUN(test_eof_body);
    RUN(test_pipelined);
    RUN(test_mixed_case_names);
    RUN(test_lf_only);
    RUN(test_truncated_everywhere);
    RUN(test_errors);
    RUN(test_header_limits);
    RUN(test_fields);
    RUN(test_set_cookie_noted);
    printf("# %lu feeds of whole inputs\n", feeds);
    CHECK_EXIT();
}
