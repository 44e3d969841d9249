/* libFuzzer target for the parsers of the command line's values (plan.h): url_parse,
 * parse_duration, parse_count, parse_status_list, parse_rate and parse_mb_per_min.
 *
 * The first input byte picks the parser; the rest, copied to a heap block with a NUL right
 * after it (so that ASan sees any read past the end), is the value. Each parser is checked
 * against a reference written here from its documented syntax, or the target aborts:
 * - url_parse: a success has scheme "http" or "https" (tls with https), a non-empty host of
 *   [A-Za-z0-9.-_:%] (':' only in an IPv6 literal), a port 1..65535, a path that starts
 *   with '/' and holds no space, control character or '#'; the URL written back from these
 *   parts, with and without the port, parses to the same parts. A failure leaves one
 *   NUL-terminated line starting "URL '", and a 9-byte buffer gets the same call's first 8
 *   bytes. With "u:SeCrEt@" put in as userinfo, no message shows the password;
 * - parse_duration: the grammar (numbers with ms, us, s, m, h; a bare number only alone)
 *   is the reference's, the value is within rounding of a long double sum, never past
 *   1.8e19 ns, and writing it back as "S.NNNNNNNNNs" parses to the same value;
 * - parse_count: digits with an optional k/K/m/M, exactly as an unsigned __int128 reading,
 *   refused past UINT64_MAX;
 * - parse_status_list: "LO[-HI],..." with 100 <= LO <= HI <= 599 gives exactly the
 *   reference's set and sets nothing below 100; a failure leaves ok[] as it was;
 * - parse_rate: a plain decimal (no sign, hex, inf or nan) with an optional k/K/M, finite,
 *   in (0, 1e9]; parse_mb_per_min: a plain decimal with KB/MB/GB and /min or /h, finite
 *   and positive. Neither takes trailing bytes.
 *
 * Build: make build/fuzz/fuzz_cli_values
 */
#include "plan.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *why, const char *in, const char *detail)
{
    fprintf(stderr, "fuzz_cli_values: %s: input '%s' (%s)\n", why, in, detail ? detail : "");
    abort();
}

/* ---- url_parse ---- */

#define ERRLEN 512

static void check_error(const char *in, const char *err, int rc_small, const char *small)
{
    if (!memchr(err, 0, ERRLEN)) die("error not NUL-terminated", in, NULL);
    if (strncmp(err, "URL '", 5)) die("error does not start with \"URL '\"", in, err);
    if (strpbrk(err, "\n\r")) die("error is not one line", in, err);
    if (rc_small != -1) die("a 9-byte error buffer changes the result", in, err);
    if (!memchr(small, 0, 9) || strncmp(small, err, 8) || strlen(small) != 8)
        die("9-byte error is not the first 8 bytes", in, small);
}

static void check_url(const char *in, const struct url *u)
{
    if (strcmp(u->scheme, u->tls ? "https" : "http")) die("scheme", in, u->scheme);
    if (!memchr(u->host, 0, sizeof(u->host)) || !u->host[0]) die("host empty or unterminated", in, NULL);
    for (const char *c = u->host; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr(".-_:%", *c)) die("bad host character", in, u->host);
    if (!!strchr(u->host, ':') != u->ipv6_literal) die("':' in the host without brackets, or none in them", in, u->host);
    if (u->port == 0) die("port 0", in, NULL);
    if (!memchr(u->path, 0, sizeof(u->path)) || u->path[0] != '/') die("path", in, NULL);
    for (const char *c = u->path; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 127 || *c == '#') die("bad path character", in, u->path);
}

static bool same_url(const struct url *a, const struct url *b)
{
    return !strcmp(a->scheme, b->scheme) && a->tls == b->tls && !strcmp(a->host, b->host) && a->port == b->port &&
           !strcmp(a->path, b->path) && a->ipv6_literal == b->ipv6_literal;
}

static void fuzz_url(const char *in)
{
    static struct url u, again;
    char *err = malloc(ERRLEN), *small = malloc(9), *err2 = malloc(ERRLEN);
    memset(err, 'x', ERRLEN);
    memset(small, 'x', 9);
    int rc = url_parse(in, &u, err, ERRLEN);
    int rc_small = url_parse(in, &again, small, 9);
    if (rc == 0) {
        if (rc_small != 0 || !same_url(&u, &again)) die("the error buffer's size changes the result", in, NULL);
        check_url(in, &u);
        size_t cap = strlen(u.host) + strlen(u.path) + 32;
        char *text = malloc(cap);
        const char *lb = u.ipv6_literal ? "[" : "", *rb = u.ipv6_literal ? "]" : "";
        snprintf(text, cap, "%s://%s%s%s:%u%s", u.scheme, lb, u.host, rb, u.port, u.path);
        if (url_parse(text, &again, err2, ERRLEN) || !same_url(&u, &again)) die("written back, parses differently", in, text);
        if (u.port == (u.tls ? 443 : 80)) {
            snprintf(text, cap, "%s://%s%s%s%s", u.scheme, lb, u.host, rb, u.path);
            if (url_parse(text, &again, err2, ERRLEN) || !same_url(&u, &again))
                die("written back without the port, parses differently", in, text);
        }
        free(text);
    } else {
        if (rc != -1) die("url_parse returned neither 0 nor -1", in, NULL);
        check_error(in, err, rc_small, small);
    }

    /* The same with a password (after the scheme, or first where there is none): no
     * message may show it. */
    const char *sep = strstr(in, "://");
    if ((!sep || !memchr(in, '?', (size_t)(sep - in))) && !strcasestr(in, "secret")) {
        size_t cap = strlen(in) + 16, at = sep ? (size_t)(sep + 3 - in) : 0;
        char *text = malloc(cap);
        snprintf(text, cap, "%.*su:SeCrEt@%s", (int)at, in, in + at);
        if (url_parse(text, &again, err2, ERRLEN)) {
            if (strcasestr(err2, "secret")) die("an error shows the password", text, err2);
            check_error(text, err2, url_parse(text, &again, small, 9), small);
        } else if (strcasestr(again.host, "secret") || strcasestr(again.path, "secret")) {
            die("the password is in the host or path", text, again.host);
        }
        free(text);
    }
    free(err);
    free(small);
    free(err2);
}

/* ---- parse_duration ---- */

/* shape_parse_duration's grammar with long double values: 1 valid, 0 invalid, -1 not sure
 * (a number strtod reads with ERANGE). *terms counts the numbers. */
static int ref_duration(const char *s, long double *sec, int *terms)
{
    long double total = 0;
    *terms = 0;
    while (*s) {
        const char *q = s;
        int digits = 0;
        while (isdigit((unsigned char)*q)) q++, digits++;
        if (*q == '.')
            for (q++; isdigit((unsigned char)*q); q++) digits++;
        if (!digits) return 0;
        if ((*q == 'e' || *q == 'E')) {
            const char *e = q + 1;
            if (*e == '+' || *e == '-') e++;
            if (isdigit((unsigned char)*e)) {
                while (isdigit((unsigned char)*e)) e++;
                q = e;
            }
        }
        if (q - s >= 64) return 0;
        char buf[64];
        memcpy(buf, s, (size_t)(q - s));
        buf[q - s] = 0;
        errno = 0;
        double d = strtod(buf, NULL);
        if (errno == ERANGE && d != 0) return -1;  /* subnormal or past DBL_MAX */
        long double v = strtold(buf, NULL);
        if (!strncmp(q, "ms", 2)) v /= 1000, q += 2;
        else if (!strncmp(q, "us", 2)) v /= 1000000, q += 2;
        else if (*q == 's') q++;
        else if (*q == 'm') v *= 60, q++;
        else if (*q == 'h') v *= 3600, q++;
        else if (!(*terms == 0 && !*q)) return 0;
        total += v;
        ++*terms;
        s = q;
    }
    *sec = total;
    return *terms > 0;
}

static void fuzz_duration(const char *in)
{
    uint64_t ns = 12345;
    int rc = parse_duration(in, &ns), terms;
    long double sec;
    int ref = ref_duration(in, &sec, &terms);
    if (rc != 0 && rc != -1) die("neither 0 nor -1", in, NULL);
    if (rc == -1 && ns != 12345) die("a failure wrote *ns", in, NULL);
    if (ref == -1) return;
    long double want = sec * 1e9L, tol = want * (terms + 4) * 2.3e-16L + 1;
    char got[64];
    snprintf(got, sizeof(got), "%llu ns, reference %.3Lf", (unsigned long long)ns, want);
    if (rc == 0) {
        if (!ref) die("accepts what the grammar does not", in, got);
        if (want > 1.8e19L * (1 + 1e-12L)) die("accepts past 1.8e19 ns", in, got);
        if (fabsl((long double)ns - want) > tol) die("wrong value", in, got);
        char back[64];
        uint64_t ns2;
        snprintf(back, sizeof(back), "%llu.%09llus", (unsigned long long)(ns / 1000000000u),
                 (unsigned long long)(ns % 1000000000u));
        if (parse_duration(back, &ns2)) {
            if (ns < 17999999999000000000ull) die("written back, does not parse", in, back);
        } else if (fabsl((long double)ns2 - (long double)ns) > ns * 4e-15L + 1) {
            die("written back, parses to another value", in, back);
        }
    } else if (ref && want < 1.8e19L * (1 - 1e-12L)) {
        die("refuses a valid duration", in, got);
    }
}

/* ---- parse_count ---- */

static void fuzz_count(const char *in)
{
    uint64_t v = 777;
    int rc = parse_count(in, &v);
    unsigned __int128 ref = 0;
    const char *c = in;
    bool ok = isdigit((unsigned char)*c);
    for (; isdigit((unsigned char)*c); c++)
        if ((ref = ref * 10 + (unsigned)(*c - '0')) > UINT64_MAX) ok = false;
    if (*c == 'k' || *c == 'K') ref *= 1000, c++;
    else if (*c == 'm' || *c == 'M') ref *= 1000000, c++;
    if (*c || ref > UINT64_MAX) ok = false;
    if (rc != (ok ? 0 : -1)) die(ok ? "refuses a valid count" : "accepts an invalid count", in, NULL);
    if (ok && v != (uint64_t)ref) die("wrong count", in, NULL);
    if (!ok && v != 777) die("a failure wrote *out", in, NULL);
}

/* ---- parse_status_list ---- */

/* Digits at *c as a number, saturated at 1e9. */
static long digits(const char **c)
{
    long v = 0;
    for (; isdigit((unsigned char)**c); ++*c) v = v > 100000000 ? 1000000000 : v * 10 + (**c - '0');
    return v;
}

static void fuzz_status(const char *in)
{
    bool ok[600], want[600] = {false};
    memset(ok, 0, sizeof(ok));
    for (int i = 0; i < 600; i += 7) ok[i] = true;  /* a pattern a failure must leave */
    bool before[600];
    memcpy(before, ok, sizeof(ok));
    int rc = parse_status_list(in, ok);

    bool valid = true;
    const char *c = in;
    for (;;) {
        if (!isdigit((unsigned char)*c)) {
            valid = false;
            break;
        }
        long lo = digits(&c), hi = lo;
        if (*c == '-') {
            c++;
            if (!isdigit((unsigned char)*c)) {
                valid = false;
                break;
            }
            hi = digits(&c);
        }
        if (lo < 100 || hi > 599 || lo > hi) {
            valid = false;
            break;
        }
        for (long v = lo; v <= hi; v++) want[v] = true;
        if (!*c) break;
        if (*c++ != ',') {
            valid = false;
            break;
        }
    }
    if (rc != (valid ? 0 : -1)) die(valid ? "refuses a valid list" : "accepts an invalid list", in, NULL);
    if (!valid && memcmp(ok, before, sizeof(ok))) die("a failure changed ok[]", in, NULL);
    if (valid) {
        for (int i = 0; i < 100; i++)
            if (ok[i]) die("a code below 100 is set", in, NULL);
        if (memcmp(ok, want, sizeof(ok))) die("wrong set of codes", in, NULL);
    }
}

/* ---- parse_rate, parse_mb_per_min ---- */

/* A plain decimal at s: digits with an optional fraction (at least one digit) and an
 * optional exponent. Returns its end, or NULL; *v is its value, *unsure set when strtod
 * reads it with ERANGE (both answers are fine then). */
static const char *ref_decimal(const char *s, long double *v, bool *unsure)
{
    const char *q = s;
    int n = 0;
    while (isdigit((unsigned char)*q)) q++, n++;
    if (*q == '.')
        for (q++; isdigit((unsigned char)*q); q++) n++;
    if (!n) return NULL;
    if (*q == 'e' || *q == 'E') {
        const char *e = q + 1;
        if (*e == '+' || *e == '-') e++;
        if (isdigit((unsigned char)*e)) {
            while (isdigit((unsigned char)*e)) e++;
            q = e;
        }
    }
    char *buf = strndup(s, (size_t)(q - s));
    errno = 0;
    double d = strtod(buf, NULL);
    *unsure = errno == ERANGE || !isfinite(d);
    *v = strtold(buf, NULL);
    free(buf);
    return q;
}

/* The verdict on a parser of positive decimal values against its reference: rc and *out
 * (r, -7 before the call) against the reference's value v, validity and doubt (unsure: v
 * sits on a rounding or range edge, where either answer is right); max: the most accepted. */
static void check_value(const char *in, int rc, double r, long double v, bool valid, bool unsure, double max)
{
    char got[64];
    snprintf(got, sizeof(got), "%.17g, reference %.17Lg", r, v);
    if (rc == 0) {
        if (!isfinite(r) || r <= 0 || r > max) die("value not finite, positive and at most the maximum", in, got);
        if (!valid && !unsure) die("accepts an invalid value", in, got);
        if (fabsl(r - v) > v * 1e-15L) die("wrong value", in, got);
    } else {
        if (rc != -1) die("neither 0 nor -1", in, NULL);
        if (r != -7) die("a failure wrote *out", in, NULL);
        if (valid && !unsure) die("refuses a valid value", in, got);
    }
}

static void fuzz_rate(const char *in)
{
    double r = -7;
    int rc = parse_rate(in, &r);
    long double v = 0;
    bool unsure = false;
    const char *q = ref_decimal(in, &v, &unsure);
    bool valid = q != NULL;
    if (valid) {
        if (*q == 'k' || *q == 'K') v *= 1000, q++;
        else if (*q == 'M') v *= 1000000, q++;
        valid = !*q && v > 0 && v <= 1e9L;
        if (valid && v > 1e9L * (1 - 1e-15L)) unsure = true;
    }
    check_value(in, rc, r, v, valid, unsure, 1e9);
}

static void fuzz_mb_per_min(const char *in)
{
    double r = -7;
    int rc = parse_mb_per_min(in, &r);
    long double v = 0;
    bool unsure = false;
    const char *q = ref_decimal(in, &v, &unsure);
    bool valid = q != NULL && v > 0;
    if (valid) {
        if (!strncmp(q, "KB", 2)) v /= 1000, q += 2;
        else if (!strncmp(q, "MB", 2)) q += 2;
        else if (!strncmp(q, "GB", 2)) v *= 1000, q += 2;
        if (!strcmp(q, "/h")) v /= 60;
        else if (*q && strcmp(q, "/min")) valid = false;
        if (valid && !(v < 1e308L)) valid = false;  /* past what a double holds */
        if (v > 1e307L) unsure = true;
    }
    check_value(in, rc, r, v, valid, unsure, DBL_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    switch (data[0] % 6) {
    case 0: fuzz_url(text); break;
    case 1: fuzz_duration(text); break;
    case 2: fuzz_count(text); break;
    case 3: fuzz_status(text); break;
    case 4: fuzz_rate(text); break;
    case 5: fuzz_mb_per_min(text); break;
    }
    free(text);
    return 0;
}
