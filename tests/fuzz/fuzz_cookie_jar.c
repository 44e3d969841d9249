/* libFuzzer target for the cookie jar (cookie_jar.h), whose input is the Set-Cookie headers
 * of whatever the server under test sent.
 *
 * Input: byte 0 = control (bit 0: https; bit 1: the target is an address, 127.0.0.1, else
 * shop.example.com; bits 2-3: which request path), the rest = response heads separated by
 * a NUL byte, each taken into one jar in turn, at a clock that moves 1 s per head. After
 * each head the Cookie header for each of four paths is rendered, whole and into a buffer
 * one byte short. Checks:
 * - the jar's bounds: at most JAR_MAX cookies, each within JAR_COOKIE_MAX (and its path
 *   within JAR_PATH_MAX and starting with '/'), its bytes inside the jar's buffer;
 * - a rendered header is "Cookie: " + "name=value" pairs joined by "; " + CRLF, with no CR,
 *   LF, NUL or other control character but tab, and each pair is a cookie of the jar
 *   (secure ones over https only); rendering into a buffer too small returns the same
 *   length and writes nothing past it;
 * - jar_parse_date on every piece of the input: INT64_MIN, or a time from 1601 on whose
 *   IMF-fixdate text (gmtime_r, strftime) parses back to the same value.
 *
 * Build: make build/fuzz/fuzz_cookie_jar (FUZZ_LIB_fuzz_cookie_jar in the Makefile)
 */
#include "cookie_jar.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(const char *why)
{
    fprintf(stderr, "fuzz_cookie_jar: %s\n", why);
    abort();
}

static const char *PATHS[4] = {"/", "/a/b/c", "/shop", "/a"};

static void check_jar(const struct cookie_jar *j)
{
    if (j->n > JAR_MAX || j->n > j->ncap || j->len > j->cap) die("jar over its bounds");
    for (uint32_t k = 0; k < j->n; k++) {
        const struct jar_cookie *c = &j->c[k];
        if ((size_t)c->off + c->name_len + c->value_len + c->path_len > j->len) die("cookie outside the buffer");
        if (!c->name_len || c->name_len + c->value_len > JAR_COOKIE_MAX) die("cookie over its size");
        if (!c->path_len || c->path_len > JAR_PATH_MAX || j->buf[c->off + c->name_len + c->value_len] != '/')
            die("bad cookie path");
    }
}

static bool is_pair_of(const struct cookie_jar *j, const char *p, size_t n, bool https)
{
    for (uint32_t k = 0; k < j->n; k++) {
        const struct jar_cookie *c = &j->c[k];
        if ((c->secure && !https) || n != (size_t)c->name_len + 1 + c->value_len) continue;
        if (!memcmp(p, j->buf + c->off, c->name_len) && p[c->name_len] == '=' &&
            !memcmp(p + c->name_len + 1, j->buf + c->off + c->name_len, c->value_len))
            return true;
    }
    return false;
}

static void check_render(struct cookie_jar *j, bool https, const char *path, uint64_t now)
{
    size_t plen = strlen(path);
    size_t n = jar_render(j, https, path, plen, now, NULL, 0);
    if (!n) return;
    char *buf = malloc(n);
    if (jar_render(j, https, path, plen, now, buf, n) != n) die("the length changed between renders");
    if (n < 12 || memcmp(buf, "Cookie: ", 8) || memcmp(buf + n - 2, "\r\n", 2)) die("not a Cookie header line");
    for (size_t i = 0; i < n - 2; i++) {
        unsigned char b = (unsigned char)buf[i];
        if ((b < 0x20 && b != '\t') || b == 0x7f) die("control character in the header");
    }
    /* the pairs: split on "; " can be ambiguous (a value may hold "; "), so walk the jar's
     * own pairs greedily from the left */
    size_t at = 8;
    while (at < n - 2) {
        size_t e = at;
        bool found = false;
        while (e <= n - 2 && !found) {
            if ((e == n - 2 || (buf[e] == ';' && buf[e + 1] == ' ')) && is_pair_of(j, buf + at, e - at, https))
                found = true;
            else
                e++;
        }
        if (!found) die("a pair that is not a cookie of the jar");
        at = e == n - 2 ? e : e + 2;
    }
    /* one byte short: the same length, nothing past the buffer (ASan) */
    char *small = malloc(n - 1);
    if (jar_render(j, https, path, plen, now, small, n - 1) != n) die("a short buffer changed the length");
    free(small);
    free(buf);
}

static void check_date(const char *s, size_t n)
{
    int64_t t = jar_parse_date(s, n);
    if (t == INT64_MIN) return;
    if (t < -11644473600LL) die("a date before 1601");
    time_t tt = (time_t)t;
    struct tm tm;
    char text[64];
    if (!gmtime_r(&tt, &tm)) die("gmtime_r");
    size_t k = strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (jar_parse_date(text, k) != t) die("a date does not read back");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t ctl = data[0];
    bool https = ctl & 1;
    struct jar_origin o = ctl & 2 ? (struct jar_origin){"127.0.0.1", 9, https}
                                  : (struct jar_origin){"shop.example.com", 16, https};
    const char *req_path = PATHS[(ctl >> 2) & 3];
    struct cookie_jar j = {0};
    const uint8_t *p = data + 1, *end = data + size;
    uint64_t now = 1000000000ull;
    while (p < end) {
        const uint8_t *z = memchr(p, 0, (size_t)(end - p));
        size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
        char *head = malloc(n ? n : 1);  /* exactly its size, for ASan */
        memcpy(head, p, n);
        if (jar_take(&j, &o, req_path, strlen(req_path), head, n, now, 1700000000) != 0) die("jar_take failed");
        check_jar(&j);
        check_date(head, n);
        free(head);
        for (int i = 0; i < 4; i++) check_render(&j, https, PATHS[i], now);
        check_jar(&j);
        now += 1000000000ull;
        p += n + (z != NULL);
    }
    jar_free(&j);
    return 0;
}
