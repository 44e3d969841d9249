/* The capture regex engine: a table of patterns and subjects with the expected match and
 * group 1 spans (leftmost-first), compile errors with their positions, pathological
 * patterns in linear time, no allocation while matching, and a differential test against
 * glibc's regexec (which match, and where it starts) on random small patterns. */
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "regex_vm.h"

#include "count_malloc.h"

static char scratch[1 << 20];

/* Matches pat against subj (len bytes); returns 1/0, or -1 if it did not compile. */
static int match(const char *pat, const char *subj, size_t len, struct regex_span *m)
{
    char err[160];
    struct regex *re = regex_compile(pat, err, sizeof(err));
    if (!re) {
        printf("  '%s' did not compile: %s\n", pat, err);
        return -1;
    }
    int rc = regex_match(re, subj, len, scratch, sizeof(scratch), m);
    regex_destroy(re);
    return rc;
}

#define NO (-1)

static void matches_the_table(void)
{
    static const struct {
        const char *pat, *subj;
        int start, end;   /* NO: no match */
        int gs, ge;       /* group 1, NO: none */
    } cases[] = {
        /* what captures are written for */
        {"\"token\":\"([^\"]+)\"", "{\"a\":1,\"token\":\"abc.def\",\"b\":\"x\"}", 7, 24, 16, 23},
        {"order=([0-9]+)", "id=1&order=4711&x=2", 5, 15, 11, 15},
        {"<title>(.*)</title>", "<html><title>Hi there</title></html>", 6, 29, 13, 21},
        {"<title>(.*)</title>", "<title>a</title><title>b</title>", 0, 32, 7, 24},   /* greedy: the last */
        {"<title>(.*?)</title>", "<title>a</title><title>b</title>", 0, 16, 7, 8},   /* lazy: the first */
        {"<title>(.*)</title>", "<title>multi\nline</title>", 0, 25, 7, 17},        /* . takes newlines */
        {"\"id\":\\s*(\\d+)", "{\"id\":  42}", 1, 10, 8, 10},
        {"csrf\" value=\"(\\w+)\"", "<input name=\"csrf\" value=\"a_B9\">", 13, 31, 26, 30},
        {"\\{\"id\":([0-9]+)\\}", "[{\"id\":7}]", 1, 9, 7, 8},
        {"{\"id\":([0-9]+)}", "[{\"id\":7}]", 1, 9, 7, 8},              /* { not a bound: literal */
        {"https?://([^/]+)/", "see http://ex.com/a", 4, 18, 11, 17},
        /* literals, ., no group: the whole match */
        {"abc", "xxabcxx", 2, 5, NO, NO},
        {"a.c", "abc", 0, 3, NO, NO},
        {"a.c", "ac", NO, NO, NO, NO},
        {"a\\.c", "abc a.c", 4, 7, NO, NO},
        {"a\\\\b", "a\\b", 0, 3, NO, NO},
        {"\\/\\\"", "x/\"", 1, 3, NO, NO},
        {"x", "", NO, NO, NO, NO},
        /* anchors */
        {"^ab", "abab", 0, 2, NO, NO},
        {"^ab", "xab", NO, NO, NO, NO},
        {"ab$", "abab", 2, 4, NO, NO},
        {"ab$", "ab\n", NO, NO, NO, NO},                            /* no newline before $ */
        {"^$", "", 0, 0, NO, NO},
        {"^$", "a", NO, NO, NO, NO},
        {"a|^b", "cb", NO, NO, NO, NO},
        {"(^a|b)+", "aab", 0, 1, 0, 1},
        {"x^", "x", NO, NO, NO, NO},
        /* alternation: leftmost first, then the first alternative that matches */
        {"cat|dog", "hotdog cat", 3, 6, NO, NO},
        {"a|ab", "ab", 0, 1, NO, NO},
        {"ab|a", "ab", 0, 2, NO, NO},
        {"(a|ab)(c|bcd)", "abcd", 0, 4, 0, 1},
        {"x(a|b|c)y", "xcy", 0, 3, 1, 2},
        {"a|", "b", 0, 0, NO, NO},
        {"|a", "a", 0, 0, NO, NO},
        /* groups */
        {"((a)(b))", "ab", 0, 2, 0, 2},
        {"(?:a(b))", "ab", 0, 2, 1, 2},
        {"(?:x)(y)", "xy", 0, 2, 1, 2},
        {"(a)|b", "b", 0, 1, NO, NO},                                 /* group 1 took no part */
        {"(a)*", "aaa", 0, 3, 2, 3},                                  /* the last iteration */
        {"(a*)*", "b", 0, 0, 0, 0},
        {"()", "x", 0, 0, 0, 0},
        {"(((((x)))))", "yx", 1, 2, 1, 2},
        /* repeats */
        {"a*", "baaa", 0, 0, NO, NO},                                 /* empty at 0 comes first */
        {"a+", "baaa", 1, 4, NO, NO},
        {"a+?", "baaa", 1, 2, NO, NO},
        {"ba*?", "baaa", 0, 1, NO, NO},
        {"ba??", "baaa", 0, 1, NO, NO},
        {"ba?", "baaa", 0, 2, NO, NO},
        {"a{3}", "aa aaaa", 3, 6, NO, NO},
        {"a{2,}", "a aaaaa", 2, 7, NO, NO},
        {"a{2,3}", "aaaaa", 0, 3, NO, NO},
        {"a{2,3}?", "aaaaa", 0, 2, NO, NO},
        {"a{0}b", "ab", 1, 2, NO, NO},
        {"(ab){2}", "abababx", 0, 4, 2, 4},
        {"x(ab){1,2}y", "xababy xaby", 0, 6, 3, 5},
        {"[0-9]{4}-[0-9]{2}", "on 2024-05-01", 3, 10, NO, NO},
        {"a{,2}", "a{,2}", 0, 5, NO, NO},                             /* not a bound: literal */
        {"a{2", "a{2", 0, 3, NO, NO},
        {"(a+)(a+)", "aaaa", 0, 4, 0, 3},
        {"(a+?)(a+)", "aaaa", 0, 4, 0, 1},
        /* classes */
        {"[a-c]+", "xxbcaz", 2, 5, NO, NO},
        {"[^\"]+", "\"abc\"", 1, 4, NO, NO},
        {"[]a]+", "x]a]", 1, 4, NO, NO},
        {"[^]a]", "]ab", 2, 3, NO, NO},
        {"[a-]+", "x-a-", 1, 4, NO, NO},
        {"[-a]+", "x-a-", 1, 4, NO, NO},
        {"[[:digit:]]+", "ab12c", 2, 4, NO, NO},
        {"[[:alpha:]_]+", "12ab_c3", 2, 6, NO, NO},
        {"[[:space:]]", "a\tb", 1, 2, NO, NO},
        {"[[:xdigit:]]+", "xyzBEEFg", 3, 7, NO, NO},
        {"[\\d.]+", "v1.25;", 1, 5, NO, NO},
        {"[\\]]", "a]", 1, 2, NO, NO},
        {"\\d+", "ab123", 2, 5, NO, NO},
        {"\\D+", "12ab3", 2, 4, NO, NO},
        {"\\w+", "  a_1 ", 2, 5, NO, NO},
        {"\\W+", "ab, cd", 2, 4, NO, NO},
        {"\\s+", "a \t\r\nb", 1, 5, NO, NO},
        {"\\S+", "  ab  ", 2, 4, NO, NO},
        {"a\\tb", "a\tb", 0, 3, NO, NO},
        {"[^a]", "\n", 0, 1, NO, NO},
        /* empty matches */
        {"", "abc", 0, 0, NO, NO},
        {"x*", "", 0, 0, NO, NO},
        {"$", "abc", 3, 3, NO, NO},
        {"(x?)$", "ab", 2, 2, 2, 2},
        /* bytes beyond ASCII are literals */
        {"caf\xc3\xa9=(\\d)", "caf\xc3\xa9=7", 0, 7, 6, 7},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct regex_span m = {0};
        int rc = match(cases[i].pat, cases[i].subj, strlen(cases[i].subj), &m);
        bool ok;
        if (cases[i].start == NO) ok = rc == 0;
        else
            ok = rc == 1 && m.start == (size_t)cases[i].start && m.end == (size_t)cases[i].end &&
                 (cases[i].gs == NO ? m.g1_start == REGEX_NONE && m.g1_end == REGEX_NONE
                                    : m.g1_start == (size_t)cases[i].gs && m.g1_end == (size_t)cases[i].ge);
        if (!ok)
            printf("  /%s/ on '%s': rc %d, [%zd, %zd) group [%zd, %zd); expected [%d, %d) group [%d, %d)\n",
                   cases[i].pat, cases[i].subj, rc, (ssize_t)m.start, (ssize_t)m.end, (ssize_t)m.g1_start,
                   (ssize_t)m.g1_end, cases[i].start, cases[i].end, cases[i].gs, cases[i].ge);
        CHECK(ok);
    }
}

static void counts_groups_and_bounds_the_subject(void)
{
    char err[160];
    struct regex *re = regex_compile("(a)(?:b)((c)|d)", err, sizeof(err));
    CHECK(re && regex_groups(re) == 3);
    regex_destroy(re);
    re = regex_compile("a[0-9]", err, sizeof(err));
    CHECK(re && regex_groups(re) == 0);
    /* the subject is len bytes: no NUL needed, nothing read past it */
    struct regex_span m;
    CHECK(regex_match(re, "a1", 1, scratch, sizeof(scratch), &m) == 0);
    CHECK(regex_match(re, "xa1", 3, scratch, sizeof(scratch), &m) == 1 && m.start == 1 && m.end == 3);
    /* too little scratch: -1, at any alignment otherwise */
    CHECK(regex_match(re, "a1", 2, scratch, regex_scratch_size(re) - 1, &m) == -1);
    CHECK(regex_match(re, "a1", 2, scratch + 3, regex_scratch_size(re), &m) == 1);
    regex_destroy(re);
    regex_destroy(NULL);
}

static void compile_errors_say_where(void)
{
    static const struct {
        const char *pat, *err;
    } bad[] = {
        {"a(b", "bad regex at 2: unmatched ("},
        {"ab)", "bad regex at 3: unmatched )"},
        {"x[abc", "bad regex at 2: unmatched ["},
        {"[^]", "bad regex at 1: unmatched ["},
        {"*a", "bad regex at 1: nothing to repeat before *"},
        {"a|+", "bad regex at 3: nothing to repeat before +"},
        {"(?a)", "bad regex at 2: (? is only supported as (?:"},
        {"{2}", "bad regex at 1: nothing to repeat before {"},
        {"^*", "bad regex at 2: nothing to repeat before *"},
        {"a**", "bad regex at 3: a repeat cannot follow a repeat"},
        {"a{2}{3}", "bad regex at 5: a repeat cannot follow a repeat"},
        {"a{3,2}", "bad regex at 2: bad repeat {3,2}"},
        {"a{1001}", "bad regex at 2: repeat count over 1000"},
        {"a{99999999}", "bad regex at 2: repeat count over 1000"},
        {"[z-a]", "bad regex at 2: bad range z-a"},
        {"[a-\\d]", "bad regex at 2: bad range: a class cannot end a range"},
        {"[[:alfa:]]", "bad regex at 2: unknown class [:alfa:]"},
        {"a\\q", "bad regex at 2: unknown escape \\q"},
        {"(a)\\1", "bad regex at 4: unknown escape \\1"},
        {"ab\\", "bad regex at 3: trailing \\"},
        {"x(?:[a-z0-9]{1000}){10}", "bad regex at 20: pattern too large: over 4096 instructions once repeats are expanded"},
        {"((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
         , "bad regex at 101: over 100 nested groups"},
        {"(?:(?:(?:){1000}){1000}){1000}", "bad regex at 25: pattern too large: over 65536 steps once repeats are expanded"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[160] = "";
        struct regex *re = regex_compile(bad[i].pat, err, sizeof(err));
        if (re || strcmp(err, bad[i].err)) printf("  '%s': got '%s'\n", bad[i].pat, re ? "(compiled)" : err);
        CHECK(!re && !strcmp(err, bad[i].err));
        regex_destroy(re);
    }
    /* what does compile, at the edges */
    const char *good[] = {"a{1000}", "[a-z0-9]{1,100}", "(?:)", "a{0,0}", "[\\[\\]\\-]", "\\{\\}", "a{", "}"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char err[160];
        struct regex *re = regex_compile(good[i], err, sizeof(err));
        if (!re) printf("  '%s': %s\n", good[i], err);
        CHECK(re != NULL);
        regex_destroy(re);
    }
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* What makes a backtracking matcher take exponential time takes this one linear time. */
static void pathological_patterns_run_in_linear_time(void)
{
    static char subj[100 * 1024];
    memset(subj, 'a', sizeof(subj));
    const char *pats[] = {"(a*)*b", "(a|a)*c", "(a+)+$x", "(a|aa)*b", "(.*)*x", "a*a*a*a*a*a*a*a*a*a*b",
                          "(?:a?){30}a{30}b"};
    for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
        struct regex_span m;
        double t0 = seconds();
        int rc = match(pats[i], subj, sizeof(subj), &m);
        double took = seconds() - t0;
        if (rc != 0 || took > 2.0) printf("  /%s/ on 100 KB of a: rc %d in %.2f s\n", pats[i], rc, took);
        CHECK(rc == 0);
        CHECK(took < 2.0);
    }
    /* and a match at the very end is found */
    subj[sizeof(subj) - 1] = 'b';
    struct regex_span m;
    CHECK(match("(a*)*b", subj, sizeof(subj), &m) == 1 && m.start == 0 && m.end == sizeof(subj));
    CHECK(match("(a|a)*b$", subj, sizeof(subj), &m) == 1 && m.start == 0 && m.g1_start == sizeof(subj) - 2);
}

/* Linear is not cheap: a pattern of 1000+ instructions over a big body is seconds of one
 * core (`.{1000}[0-9]` over 1 MB once froze a worker for 30 s). Past REGEX_MAX_STEPS the
 * match gives up, wherever the match would have been; the same pattern on a short subject,
 * and ordinary patterns on a 1 MiB body, still match. */
static void costly_matches_give_up(void)
{
    static char subj[64 * 1024];  /* about 2000 steps a byte: 8 times the budget */
    memset(subj, 'a', sizeof(subj));
    const char *pats[] = {".{1000}[0-9]", "[a-z]{1000}b", "(?:a|a){1000}b", "(a?){1000}x", "[^b]{1000}b"};
    for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
        struct regex_span m;
        int rc = match(pats[i], subj, sizeof(subj), &m);
        if (rc != REGEX_OVER_BUDGET) printf("  /%s/ on 64 KB of a: rc %d\n", pats[i], rc);
        CHECK(rc == REGEX_OVER_BUDGET);
    }
    struct regex_span m = {0};
    subj[sizeof(subj) - 1] = 'b';  /* a match at the end: still over */
    CHECK(match("[a-z]{1000}b", subj, sizeof(subj), &m) == REGEX_OVER_BUDGET);
    /* a short subject: some 8 M steps, inside */
    CHECK(match("[a-z]{1000}b", subj + sizeof(subj) - 4096, 4096, &m) == 1 && m.start == 4096 - 1001 && m.end == 4096);
    CHECK(match(".{1000}[0-9]", subj, 4096, &m) == 0);

    /* ordinary captures over 1 MiB, the most a step keeps */
    static char body[1 << 20];
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"data\":[");
    for (unsigned i = 0; n + 100 < sizeof(body); i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "{\"id\":%u,\"name\":\"user%u\",\"email\":\"u%u@ex.com\"},", i, i, i);
    size_t tok = n + 13;  /* after {}],"token":" */
    n += (size_t)snprintf(body + n, sizeof(body) - n, "{}],\"token\":\"abc.def\"}");
    CHECK(n > 1000000 && n < sizeof(body));
    CHECK(match("\"token\":\"([^\"]+)\"", body, n, &m) == 1 && m.g1_start == tok && m.g1_end == tok + 7);
    CHECK(match("\"data\":(.*)\\}", body, n, &m) == 1 && m.start == 1 && m.g1_start == 8 && m.g1_end == n - 1);
    CHECK(match("\"data\":(.*?),\"token\"", body, n, &m) == 1 && m.g1_end == tok - 10);
    CHECK(match("\"id\":(\\d+),\"name\":\"user9999\"", body, n, &m) == 1 && m.g1_end - m.g1_start == 4);
    CHECK(match("[0-9a-f]{32}", body, n, &m) == 0);
    n = 0;
    n += (size_t)snprintf(body, sizeof(body), "<html><head><title>T</title></head><body>");
    while (n + 60 < sizeof(body)) n += (size_t)snprintf(body + n, sizeof(body) - n, "<div class=\"row\">hello %zu</div>\n", n);
    n += (size_t)snprintf(body + n, sizeof(body) - n, "</body></html>");
    CHECK(n > 1000000 && n < sizeof(body));
    CHECK(match("<body>(.*)</body>", body, n, &m) == 1 && m.g1_start == 41 && m.g1_end == n - 14);
    CHECK(match("<body>(.*?)</body>", body, n, &m) == 1 && m.g1_end == n - 14);
}

static void matching_allocates_nothing(void)
{
#if COUNT_MALLOC
    char err[160];
    const char *pats[] = {"\"token\":\"([^\"]+)\"", "<title>(.*)</title>", "(a|b)*c{2,5}", "x"};
    static char body[64 * 1024];
    for (size_t i = 0; i < sizeof(body); i++) body[i] = "ab\"<>c"[i % 6];
    for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
        struct regex *re = regex_compile(pats[i], err, sizeof(err));
        CHECK(re != NULL);
        if (!re) continue;
        struct regex_span m;
        unsigned long before = mallocs;
        for (int k = 0; k < 20; k++) regex_match(re, body, sizeof(body) - (size_t)k * 100, scratch, sizeof(scratch), &m);
        if (mallocs != before) printf("  /%s/: %lu allocations in 20 matches\n", pats[i], mallocs - before);
        CHECK_EQ_U(mallocs, before);
        regex_destroy(re);
    }
#endif
}

/* ---- against glibc ---- */

static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) % n;
}

/* A random pattern over a, b, c: the syntax both engines read the same way. */
static void gen(char *out, size_t *n, size_t cap, int depth)
{
    int parts = 1 + (int)rnd(3);
    for (int i = 0; i < parts && *n + 12 < cap; i++) {
        unsigned k = rnd(depth > 2 ? 6 : 9);
        if (k < 3) out[(*n)++] = "abc"[k];
        else if (k == 3) out[(*n)++] = '.';
        else if (k == 4) {
            const char *c = rnd(2) ? "[ab]" : "[^a]";
            memcpy(out + *n, c, 4);
            *n += 4;
        } else if (k == 5) out[(*n)++] = "^$"[rnd(2)];
        else {
            out[(*n)++] = '(';
            gen(out, n, cap, depth + 1);
            if (rnd(2)) {
                out[(*n)++] = '|';
                gen(out, n, cap, depth + 1);
            }
            out[(*n)++] = ')';
        }
        if (out[*n - 1] != '^' && out[*n - 1] != '$' && rnd(3) == 0) {
            static const char *q[] = {"*", "+", "?", "{2}", "{1,2}", "{0,}"};
            const char *s = q[rnd(6)];
            memcpy(out + *n, s, strlen(s));
            *n += strlen(s);
        }
    }
    out[*n] = '\0';
}

static void agrees_with_glibc_on_random_patterns(void)
{
    int compared = 0, matched = 0, disagreed = 0;
    for (int i = 0; i < 600; i++) {
        char pat[256];
        size_t n = 0;
        gen(pat, &n, sizeof(pat) - 16, 0);
        regex_t g;
        if (regcomp(&g, pat, REG_EXTENDED)) continue;
        char err[160];
        struct regex *re = regex_compile(pat, err, sizeof(err));
        if (!re) {
            printf("  '%s': glibc compiles it, we say %s\n", pat, err);
            CHECK(0);
            regfree(&g);
            continue;
        }
        for (int s = 0; s < 8; s++) {
            char subj[24];
            size_t len = rnd(sizeof(subj) - 1);
            for (size_t k = 0; k < len; k++) subj[k] = "abcd"[rnd(4)];
            subj[len] = '\0';
            regmatch_t gm[1];
            int grc = regexec(&g, subj, 1, gm, 0) == 0;
            struct regex_span m;
            int rc = regex_match(re, subj, len, scratch, sizeof(scratch), &m);
            compared++;
            matched += grc;
            /* leftmost: the same start; the end may differ (POSIX takes the longest) */
            if (rc != grc || (rc && m.start != (size_t)gm[0].rm_so)) {
                if (disagreed++ < 5)
                    printf("  /%s/ on '%s': glibc %d at %d, we %d at %zd\n", pat, subj, grc, grc ? (int)gm[0].rm_so : -1,
                           rc, rc ? (ssize_t)m.start : (ssize_t)-1);
                CHECK(0);
            }
            /* an end POSIX finds is never past the leftmost-first one by being shorter */
        }
        regfree(&g);
        regex_destroy(re);
    }
    printf("  %d subjects compared (%d matched)\n", compared, matched);
    CHECK(compared > 2000 && matched > compared / 5);
}

int main(void)
{
    RUN(matches_the_table);
    RUN(counts_groups_and_bounds_the_subject);
    RUN(compile_errors_say_where);
    RUN(pathological_patterns_run_in_linear_time);
    RUN(costly_matches_give_up);
    RUN(matching_allocates_nothing);
    RUN(agrees_with_glibc_on_random_patterns);
    CHECK_EXIT();
}
