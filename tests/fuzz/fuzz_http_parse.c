/* libFuzzer target for the response parser.
 *
 * Input: byte 0 = control (bit 0: the request was HEAD; bits 1-3: how to split; bit 4:
 * repeat the input past the header limit), byte 1 = a split parameter, the rest = bytes
 * from the server. The bytes are parsed three ways:
 * in the chosen pieces, whole, and a byte at a time, restarting after every HTTP_DONE
 * and calling http_resp_eof() at the end. Every piece is copied into its own heap block
 * so that ASan sees an over-read. The three sequences of (status, body_bytes, flags,
 * error, end offset) must be equal: any difference means the parser depends on where
 * the input was cut.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iengine tests/fuzz/fuzz_http_parse.c engine/http_parse.c
 */
#include "http_parse.h"
#include "fuzz_pieces.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUBLIC_FLAGS (HTTP_F_LENGTH | HTTP_F_CHUNKED | HTTP_F_CLOSE | HTTP_F_KEEPALIVE | HTTP_F_TE)
#define MAX_RESULTS 64

struct result {
    unsigned status, flags, error;
    uint64_t body;
    size_t end;
};

struct run {
    struct result r[MAX_RESULTS];
    size_t n;
};

static void die(const char *why)
{
    fprintf(stderr, "fuzz_http_parse: %s\n", why);
    abort();
}

static void record(struct run *run, const struct http_resp *p, unsigned error, size_t end)
{
    if (run->n == MAX_RESULTS) return;
    run->r[run->n++] = (struct result){p->status, p->flags & PUBLIC_FLAGS, error, p->body_bytes, end};
}

/* Checks that hold for every finished response. */
static void check_done(const struct http_resp *p)
{
    if (p->status < 200 || p->status > 999) die("final status out of range");
    if (p->remaining) die("done with bytes remaining");
    bool bodiless = p->no_body || p->status == 204 || p->status == 304;
    if (bodiless && p->body_bytes) die("body on a response that has none");
    if (!bodiless && !(p->flags & HTTP_F_TE) && (p->flags & HTTP_F_LENGTH) && p->body_bytes != p->content_length)
        die("body_bytes differs from Content-Length");
}

/* Parses data[0..len) in pieces; next_piece(state) gives each piece's size (>= 1). */
static void parse(const uint8_t *data, size_t len, bool no_body, size_t (*next_piece)(uint32_t *), uint32_t seed,
                  struct run *run)
{
    static char *one;  /* 1-byte pieces reuse one block */
    if (!one) one = malloc(1);
    struct http_resp p;
    http_resp_start(&p, no_body);
    run->n = 0;
    for (size_t at = 0; at < len;) {
        size_t n = next_piece(&seed);
        if (n > len - at) n = len - at;
        /* an exact-size block, so that ASan sees a read past the piece */
        char *piece = n == 1 ? one : malloc(n);
        memcpy(piece, data + at, n);
        size_t i = 0;
        while (i < n) {
            bool started = http_resp_started(&p);
            ssize_t got = http_resp_feed(&p, piece + i, n - i);
            if (got < 0) {
                if (p.state != HTTP_ERROR || p.error == HTTP_OK) die("-1 without an error");
                if (http_resp_feed(&p, piece, n) != -1) die("feed after an error did not fail");
                record(run, &p, p.error, 0);
                if (piece != one) free(piece);
                return;
            }
            if ((size_t)got > n - i) die("consumed more than given");
            i += (size_t)got;
            if (p.state == HTTP_DONE) {
                if (!got && !started) die("done without reading anything");
                check_done(&p);
                record(run, &p, 0, at + i);
                http_resp_start(&p, no_body);
            } else if (i != n) {
                die("stopped short without finishing a response");
            } else if (!http_resp_started(&p)) {
                die("consumed bytes but not started");
            }
        }
        memset(piece, 0xA5, n);  /* the buffer goes back to the kernel */
        if (piece != one) free(piece);
        at += n;
    }
    int r = http_resp_eof(&p);
    if (r == 1) {
        if (!(p.flags & HTTP_F_CLOSE)) die("EOF body without HTTP_F_CLOSE");
        record(run, &p, 0, len);
    } else if (r < 0) {
        if (p.error != HTTP_E_TRUNCATED) die("EOF error is not HTTP_E_TRUNCATED");
        record(run, &p, p.error, 0);
    }
}

static void compare(const struct run *a, const struct run *b, const char *what)
{
    if (a->n != b->n) {
        fprintf(stderr, "%s: %zu results vs %zu\n", what, a->n, b->n);
        die("feeds disagree");
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct result *x = &a->r[i], *y = &b->r[i];
        if (x->status != y->status || x->flags != y->flags || x->error != y->error || x->body != y->body ||
            x->end != y->end) {
            fprintf(stderr, "%s: result %zu: status %u/%u flags %#x/%#x error %u/%u body %llu/%llu end %zu/%zu\n",
                    what, i, x->status, y->status, x->flags, y->flags, x->error, y->error,
                    (unsigned long long)x->body, (unsigned long long)y->body, x->end, y->end);
            die("feeds disagree");
        }
    }
}

/* Control bit 4: fuzz_amplify past HTTP_MAX_HEADER_BYTES, so that the header limits are
 * reached too. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    bool no_body = data[0] & 1;
    unsigned mode = (data[0] >> 1) & 7;
    uint32_t param = data[1];
    uint8_t *big = NULL;
    data += 2;
    size -= 2;
    if ((data[-2] & 0x10) && size && (big = fuzz_amplify(data, &size, HTTP_MAX_HEADER_BYTES))) data = big;

    static struct run whole, bytes, chosen;
    parse(data, size, no_body, piece_all, 0, &whole);
    parse(data, size, no_body, piece_one, 0, &bytes);
    compare(&whole, &bytes, "whole vs byte-at-a-time");
    switch (mode) {
    case 0: case 1: parse(data, size, no_body, piece_fixed, param + 1, &chosen); break;
    case 2: case 3: parse(data, size, no_body, piece_random, param * 2654435761u + 1, &chosen); break;
    case 4: case 5: parse(data, size, no_body, piece_two, param ? param : 1, &chosen); break;
    default: parse(data, size, no_body, piece_two, size > param ? (uint32_t)(size - param) : 1, &chosen); break;
    }
    compare(&whole, &chosen, "whole vs chosen split");
    free(big);
    return 0;
}
