/* secrets.c: which names carry secrets, and how headers and URLs are masked. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "secrets.h"

#define CHECK_STR(got, want)                                                        \
    do {                                                                            \
        const char *g_ = (got);                                                     \
        if (strcmp(g_, want)) printf("  got '%s', expected '%s'\n", g_, want);     \
        CHECK(!strcmp(g_, want));                                                   \
    } while (0)

static int is_secret(const char *n)
{
    return secret_name(n, strlen(n));
}

static void test_names(void)
{
    static const char *const yes[] = {"Authorization", "proxy-authorization", "Cookie", "Set-Cookie", "X-Api-Key",
                                      "api_key", "apikey", "key", "access_token", "X-Auth-Token", "client_secret",
                                      "password", "pwd", "sig", "X-Amz-Security-Token", "sessionid", "PHPSESSID",
                                      "aws_access_key_id", "jwt"};
    static const char *const no[] = {"Content-Type", "Accept", "page", "limit", "User-Agent", "q", "sort",
                                     "monkey", "id", "X-Request-Id"};
    int bad = 0;
    for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
        if (!is_secret(yes[i])) printf("  %s should be secret\n", yes[i]), bad++;
    for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
        if (is_secret(no[i])) printf("  %s should not be secret\n", no[i]), bad++;
    CHECK(bad == 0);
}

static void test_headers(void)
{
    char out[64];
    secret_mask_header("Authorization", 13, "Bearer abc.def.ghi", out, sizeof(out));
    CHECK_STR(out, "Bearer ****");
    secret_mask_header("authorization", 13, "Basic dXNlcjpwYXNz", out, sizeof(out));
    CHECK_STR(out, "Basic ****");
    secret_mask_header("Authorization", 13, "opaque-token", out, sizeof(out));
    CHECK_STR(out, "****");
    secret_mask_header("X-Api-Key", 9, "k-123", out, sizeof(out));
    CHECK_STR(out, "****");
    secret_mask_header("Cookie", 6, "sid=1; theme=dark", out, sizeof(out));
    CHECK_STR(out, "****");
    secret_mask_header("Accept", 6, "application/json", out, sizeof(out));
    CHECK_STR(out, "application/json");
}

static void test_urls(void)
{
    char out[256];
    CHECK_STR(secret_mask_url("http://127.0.0.1:8080/", out, sizeof(out)), "http://127.0.0.1:8080/");
    CHECK_STR(secret_mask_url("http://user:pw@127.0.0.1/x", out, sizeof(out)), "http://****@127.0.0.1/x");
    CHECK_STR(secret_mask_url("https://h/p?api_key=S3CRET&page=2&token=t#frag", out, sizeof(out)),
              "https://h/p?api_key=****&page=2&token=****#frag");
    CHECK_STR(secret_mask_url("/items?limit=5&access_token=abc", out, sizeof(out)), "/items?limit=5&access_token=****");
    CHECK_STR(secret_mask_url("/items?flag&key=", out, sizeof(out)), "/items?flag&key=****");
    CHECK_STR(secret_mask_url("/p?a=1&&b=2", out, sizeof(out)), "/p?a=1&&b=2");
    /* a name as the server decodes it, ';' between pairs, parameters in the path */
    CHECK_STR(secret_mask_url("/p?api%5Fkey=S&%74oken=T&a%3Db=c", out, sizeof(out)), "/p?api%5Fkey=****&%74oken=****&a%3Db=c");
    /* a secret's value runs to the next '&' (or '/' in the path): a server that does not
     * split on ';' reads "abc;def" as one value */
    CHECK_STR(secret_mask_url("/p?a=1;token=T;b=2", out, sizeof(out)), "/p?a=1;token=****");
    CHECK_STR(secret_mask_url("http://h/p?token=abc;def&x=1", out, sizeof(out)), "http://h/p?token=****&x=1");
    CHECK_STR(secret_mask_url("http://h/app;jsessionid=ABC/x;v=1?q=1#f", out, sizeof(out)),
              "http://h/app;jsessionid=****/x;v=1?q=1#f");
    CHECK_STR(secret_mask_url("/a;sid=1;b=2?c=3", out, sizeof(out)), "/a;sid=****?c=3");
    CHECK_STR(secret_mask_url("/p?x=%", out, sizeof(out)), "/p?x=%");
    CHECK_STR(secret_mask_url("/p#?token=t", out, sizeof(out)), "/p#?token=t");
    /* cut to fit, still terminated, and the secret is not half shown */
    char small[20];
    secret_mask_url("http://h/p?token=ABCDEFGHIJ", small, sizeof(small));
    CHECK(strlen(small) == sizeof(small) - 1);
    CHECK(!strstr(small, "ABC"));
    /* what reports print */
    char *r = url_for_reports("http://u:p@127.0.0.1:1/x?password=hunter2&a=b");
    CHECK_STR(r, "http://****@127.0.0.1:1/x?password=****&a=b");
    free(r);
}

static void test_errors_do_not_echo(void)
{
    struct url u;
    char err[PLAN_ERR_LEN];
    CHECK(url_parse("http://user:hunter2@127.0.0.1:99999/?token=abc", &u, err, sizeof(err)) == -1);
    CHECK(!strstr(err, "hunter2") && !strstr(err, "abc"));
    CHECK(strstr(err, "invalid port") != NULL);
}

int main(void)
{
    RUN(test_names);
    RUN(test_headers);
    RUN(test_urls);
    RUN(test_errors_do_not_echo);
    CHECK_EXIT();
}
