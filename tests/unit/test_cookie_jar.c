/* Cookie jar (cookie_jar.h): RFC 6265 dates, Set-Cookie attributes, the Cookie header. */
#include "check.h"
#include "cookie_jar.h"

#include <stdint.h>
#include <string.h>

#define SEC 1000000000ull

static const struct jar_origin HTTP = {"shop.example.com", 16, false};
static const struct jar_origin HTTPS = {"shop.example.com", 16, true};
static const struct jar_origin IP = {"127.0.0.1", 9, false};
static const int64_t REAL = 1700000000;  /* 2023-11-14 22:13:20 UTC */

static char line[8192];

/* The Cookie header a request for path gets at now ("" when none). */
static const char *cookies(struct cookie_jar *j, bool https, const char *path, uint64_t now)
{
    size_t n = jar_render(j, https, path, strlen(path), now, line, sizeof(line) - 1);
    if (n > sizeof(line) - 1) return "(too long)";
    line[n] = 0;
    return line;
}

static void take(struct cookie_jar *j, const struct jar_origin *o, const char *path, const char *head, uint64_t now)
{
    CHECK(jar_take(j, o, path, strlen(path), head, strlen(head), now, REAL) == 0);
}

static void parses_cookie_dates(void)
{
    CHECK(jar_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", 29) == 784111777);
    const char *same[] = {"Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "6 nov 1994 8:49:37",
                          "08:49:37 1994 NOVEMBER 06", "Sun, 06 Nov 1994 08:49:37 GMT+0000 (garbage)"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        if (jar_parse_date(same[i], strlen(same[i])) != 784111777) printf("  '%s'\n", same[i]);
        CHECK(jar_parse_date(same[i], strlen(same[i])) == 784111777);
    }
    CHECK(jar_parse_date("Thu, 01 Jan 1970 00:00:00 GMT", 29) == 0);
    CHECK(jar_parse_date("Tue, 29 Feb 2000 23:59:59 GMT", 29) == 951868799);
    CHECK(jar_parse_date("Wed, 09 Jun 2021 10:18:14 GMT", 29) == 1623233894);
    CHECK(jar_parse_date("01 Jan 69 00:00:00", 18) == 3124224000);  /* 69 is 2069 */
    const char *bad[] = {"", "Sun, 06 Nov 1994", "06 Nov 1994 24:00:00", "30 Feb 2020 00:00:00",
                         "29 Feb 2100 00:00:00", "06 Nox 1994 08:49:37", "06 Nov 1600 08:49:37",
                         "123 Nov 1994 08:49:37", "06 Nov 1994 08:49:371"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (jar_parse_date(bad[i], strlen(bad[i])) != INT64_MIN) printf("  '%s'\n", bad[i]);
        CHECK(jar_parse_date(bad[i], strlen(bad[i])) == INT64_MIN);
    }
}

static void keeps_replaces_and_orders(void)
{
    struct cookie_jar j = {0};
    CHECK(!strcmp(cookies(&j, false, "/", 0), ""));
    take(&j, &HTTP, "/login",
         "Content-Type: text/html\r\n"
         "Set-Cookie: sid=abc; Path=/; HttpOnly\r\n"
         "set-cookie:theme = dark \r\n"
         "Set-Cookie: novalue\r\n"       /* no '=': ignored */
         "Set-Cookie: =x\r\n"            /* no name: ignored */
         "Set-Cookie: bad=a\x01z\r\n"    /* a control character: ignored */
         "X-Set-Cookie: x=1\r\n",
         0);
    CHECK_EQ_U(j.n, 2);
    CHECK(!strcmp(cookies(&j, false, "/", 0), "Cookie: sid=abc; theme=dark\r\n"));
    /* a replacement keeps its place (its age); a longer path goes first */
    take(&j, &HTTP, "/", "Set-Cookie: sid=new; Path=/\r\nSet-Cookie: cart=3; Path=/shop\r\n", 0);
    CHECK(!strcmp(cookies(&j, false, "/shop/item", 0), "Cookie: cart=3; sid=new; theme=dark\r\n"));
    CHECK(!strcmp(cookies(&j, false, "/shopping", 0), "Cookie: sid=new; theme=dark\r\n"));  /* not a path-match */
    CHECK(!strcmp(cookies(&j, false, "/shop", 0), "Cookie: cart=3; sid=new; theme=dark\r\n"));
    /* the same name on another path is another cookie */
    take(&j, &HTTP, "/", "Set-Cookie: sid=deep; Path=/shop\r\n", 0);
    CHECK(!strcmp(cookies(&j, false, "/shop/", 0), "Cookie: cart=3; sid=deep; sid=new; theme=dark\r\n"));
    jar_clear(&j);
    CHECK(!strcmp(cookies(&j, false, "/", 0), ""));
    jar_free(&j);
}

static void default_path_is_the_request_directory(void)
{
    struct cookie_jar j = {0};
    take(&j, &HTTP, "/a/b/c?x=1", "Set-Cookie: d=1\r\nSet-Cookie: p=2; Path=nope\r\n", 0);
    CHECK(!strcmp(cookies(&j, false, "/a/b", 0), "Cookie: d=1; p=2\r\n"));
    CHECK(!strcmp(cookies(&j, false, "/a/b/zz", 0), "Cookie: d=1; p=2\r\n"));
    CHECK(!strcmp(cookies(&j, false, "/a", 0), ""));
    jar_clear(&j);
    take(&j, &HTTP, "/top", "Set-Cookie: t=1\r\n", 0);  /* one '/': "/" */
    CHECK(!strcmp(cookies(&j, false, "/elsewhere", 0), "Cookie: t=1\r\n"));
    jar_free(&j);
}

static void expiry_and_deletion(void)
{
    struct cookie_jar j = {0};
    take(&j, &HTTP, "/",
         "Set-Cookie: short=1; Max-Age=10\r\n"
         "Set-Cookie: both=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=100\r\n"  /* Max-Age wins */
         "Set-Cookie: later=1; Expires=Wed, 15 Nov 2023 22:13:20 GMT\r\n"             /* REAL + 1 day */
         "Set-Cookie: past=1; Expires=Wed, 09 Jun 2021 10:18:14 GMT\r\n"
         "Set-Cookie: junk=1; Max-Age=1x; Expires=not a date\r\n",                    /* both ignored */
         5 * SEC);
    CHECK(!strcmp(cookies(&j, false, "/", 5 * SEC), "Cookie: short=1; both=1; later=1; junk=1\r\n"));
    CHECK(!strcmp(cookies(&j, false, "/", 15 * SEC), "Cookie: both=1; later=1; junk=1\r\n"));
    CHECK_EQ_U(j.n, 3);  /* dropped once expired */
    CHECK(!strcmp(cookies(&j, false, "/", 105 * SEC), "Cookie: later=1; junk=1\r\n"));
    CHECK(!strcmp(cookies(&j, false, "/", 86405 * SEC), "Cookie: junk=1\r\n"));
    take(&j, &HTTP, "/", "Set-Cookie: junk=; Max-Age=0\r\n", 0);
    CHECK(!strcmp(cookies(&j, false, "/", 0), ""));
    take(&j, &HTTP, "/", "Set-Cookie: a=1\r\nSet-Cookie: a=2; Max-Age=-5\r\n", 0);
    CHECK_EQ_U(j.n, 0);
    jar_free(&j);
}

static void secure_and_domain(void)
{
    struct cookie_jar j = {0};
    take(&j, &HTTPS, "/",
         "Set-Cookie: s=1; Secure\r\n"
         "Set-Cookie: parent=1; Domain=.Example.COM\r\n"
         "Set-Cookie: exact=1; Domain=shop.example.com\r\n"
         "Set-Cookie: other=1; Domain=evil.com\r\n"
         "Set-Cookie: sub=1; Domain=a.shop.example.com\r\n"
         "Set-Cookie: suffix=1; Domain=p.example.com\r\n",
         0);
    CHECK(!strcmp(cookies(&j, true, "/", 0), "Cookie: s=1; parent=1; exact=1\r\n"));
    CHECK(!strcmp(cookies(&j, false, "/", 0), "Cookie: parent=1; exact=1\r\n"));
    jar_free(&j);
    /* an address has no parent domain */
    take(&j, &IP, "/", "Set-Cookie: a=1; Domain=0.0.1\r\nSet-Cookie: b=1; Domain=127.0.0.1\r\n", 0);
    CHECK(!strcmp(cookies(&j, false, "/", 0), "Cookie: b=1\r\n"));
    jar_free(&j);
}

static void bounded(void)
{
    struct cookie_jar j = {0};
    char head[8192];
    for (int i = 0; i < JAR_MAX + 5; i++) {
        snprintf(head, sizeof(head), "Set-Cookie: c%d=%d\r\n", i, i);
        take(&j, &HTTP, "/", head, 0);
    }
    CHECK_EQ_U(j.n, JAR_MAX);
    const char *h = cookies(&j, false, "/", 0);
    CHECK(!strncmp(h, "Cookie: c5=5; c6=6;", 19));  /* the five oldest went */
    /* a cookie over JAR_COOKIE_MAX bytes is ignored; one at the limit is kept */
    jar_clear(&j);
    memcpy(head, "Set-Cookie: big=", 16);
    memset(head + 16, 'v', JAR_COOKIE_MAX - 2);
    strcpy(head + 16 + JAR_COOKIE_MAX - 2, "\r\n");
    take(&j, &HTTP, "/", head, 0);
    CHECK_EQ_U(j.n, 0);
    strcpy(head + 16 + JAR_COOKIE_MAX - 3, "\r\n");
    take(&j, &HTTP, "/", head, 0);
    CHECK_EQ_U(j.n, 1);
    /* a header that does not fit says how much it needs, and writes nothing usable */
    char small[64];
    size_t need = jar_render(&j, false, "/", 1, 0, small, sizeof(small));
    CHECK_EQ_U(need, 8 + 3 + 1 + JAR_COOKIE_MAX - 3 + 2);
    jar_free(&j);
}

static void request_paths(void)
{
    size_t n;
    const char *p = jar_request_path("GET /a/b?q=1 HTTP/1.1\r\n", 23, &n);
    CHECK(p && n == 4 && !memcmp(p, "/a/b", 4));
    p = jar_request_path("POST / HTTP/1.1\r\n", 17, &n);
    CHECK(p && n == 1 && *p == '/');
    CHECK(jar_request_path("GET", 3, &n) == NULL);
}

int main(void)
{
    RUN(parses_cookie_dates);
    RUN(keeps_replaces_and_orders);
    RUN(default_path_is_the_request_directory);
    RUN(expiry_and_deletion);
    RUN(secure_and_domain);
    RUN(bounded);
    RUN(request_paths);
    CHECK_EXIT();
}
