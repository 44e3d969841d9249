/* Captures and checks: viewing responses (chunked, LF-only, incomplete), header lookup,
 * JSON paths, compiling capture specs, running checks and captures with their exact
 * failure reasons, and no allocation per response once the arena has grown. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "extract.h"

#include "count_malloc.h"

/* A response in a buffer of its own, a byte after it that is not part of it. */
static char raw[1 << 20];
static struct resp_view view(const char *text, int *rc)
{
    size_t len = strlen(text);
    memcpy(raw, text, len);
    raw[len] = 'X';
    struct resp_view v;
    *rc = resp_view_parse(&v, raw, len);
    return v;
}

static bool body_is(const struct resp_view *v, const char *s)
{
    return v->body_len == strlen(s) && !memcmp(v->body, s, v->body_len);
}

static void views_plain_lf_and_chunked_responses(void)
{
    int rc;
    struct resp_view v = view("HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", &rc);
    CHECK(rc == 0);
    CHECK_EQ_U(v.status, 201);
    CHECK(body_is(&v, "hello"));
    CHECK(v.head_len == strlen("Content-Type: text/plain\r\nContent-Length: 5\r\n"));

    v = view("HTTP/1.0 404\nServer: x\n\nnot here", &rc);
    CHECK(rc == 0 && v.status == 404 && body_is(&v, "not here"));

    /* extensions, upper-case hex, trailers: all but the data dropped */
    v = view("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
             "5;name=val\r\nhello\r\nA\r\n, world!!!\r\n0\r\nTrailer: x\r\n\r\n", &rc);
    CHECK(rc == 0 && body_is(&v, "hello, world!!!"));

    v = view("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n", &rc);
    CHECK(rc == 0 && body_is(&v, "abc"));

    /* no body at all */
    v = view("HTTP/1.1 204 No Content\r\n\r\n", &rc);
    CHECK(rc == 0 && v.status == 204 && v.body_len == 0 && v.head_len == 0);

    static const char *bad[] = {
        "",
        "HTTP/1.1 200 OK\r\nA: b\r\n",                                  /* no empty line */
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",   /* short chunk */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",    /* no size */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        view(bad[i], &rc);
        if (rc != -1) printf("  accepted '%s'\n", bad[i]);
        CHECK(rc == -1);
    }
}

/* The worker keeps the bytes its parser (http_parse) read as one response: the view frames
 * them the same way (found by fuzz_extract). */
static void views_responses_as_the_worker_framed_them(void)
{
    int rc;
    /* an interim 1xx is kept with the final response: it is skipped */
    struct resp_view v = view("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                              "HTTP/1.1 200 OK\r\nX-Id: final\r\nContent-Length: 2\r\n\r\nok", &rc);
    CHECK(rc == 0 && v.status == 200 && body_is(&v, "ok"));
    size_t n;
    const char *h = resp_header(&v, "X-Id", &n);
    CHECK(h && n == 5 && !memcmp(h, "final", 5));
    view("HTTP/1.1 100 Continue\r\n\r\n", &rc);
    CHECK(rc == -1);  /* no final response */

    /* chunked, but no body at all: the response to HEAD (or a 204, a 304) */
    v = view("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: x\r\n\r\n", &rc);
    CHECK(rc == 0 && v.status == 200 && v.body_len == 0);

    /* a chunk size may have leading zeros */
    v = view("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000005\r\nhello\r\n0\r\n\r\n", &rc);
    CHECK(rc == 0 && body_is(&v, "hello"));
    view("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n", &rc);
    CHECK(rc == -1);

    /* codings as http_parse reads them: OWS around each, the last one of the last header */
    v = view("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\tchunked ,\r\n\r\n2\r\nab\r\n0\r\n\r\n", &rc);
    CHECK(rc == 0 && body_is(&v, "ab"));
    v = view("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip chunked\r\n\r\n2\r\nab\r\n", &rc);
    CHECK(rc == 0 && body_is(&v, "2\r\nab\r\n"));  /* not a coding list: the body ran to the close */
    v = view("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n2\r\nab\r\n", &rc);
    CHECK(rc == 0 && body_is(&v, "2\r\nab\r\n"));
    /* Transfer-Encoding overrides Content-Length */
    v = view("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nabcd", &rc);
    CHECK(rc == 0 && body_is(&v, "abcd"));
}

static void finds_headers_case_insensitively(void)
{
    int rc;
    struct resp_view v = view("HTTP/1.1 200 OK\r\nX-Id:   abc \t\r\nx-id: second\r\nEmpty:\r\nETag: \"v1\"\r\n\r\n", &rc);
    CHECK(rc == 0);
    size_t n;
    const char *h = resp_header(&v, "x-ID", &n);
    CHECK(h && n == 3 && !memcmp(h, "abc", 3));
    h = resp_header(&v, "etag", &n);
    CHECK(h && n == 4 && !memcmp(h, "\"v1\"", 4));
    h = resp_header(&v, "Empty", &n);
    CHECK(h && n == 0);
    CHECK(resp_header(&v, "X-I", &n) == NULL);
    CHECK(resp_header(&v, "Missing", &n) == NULL);
}

static void compiles_json_paths(void)
{
    struct json_path_part *p;
    unsigned n;
    char err[200];
    CHECK(json_path_compile("a.b[0].c", &p, &n, err, sizeof(err)) == 0);
    CHECK_EQ_U(n, 4);
    if (n == 4) {
        CHECK(!strcmp(p[0].key, "a") && !strcmp(p[1].key, "b") && !p[2].key && p[2].index == 0 &&
              !strcmp(p[3].key, "c"));
    }
    for (unsigned i = 0; i < n; i++) free(p[i].key);
    free(p);

    CHECK(json_path_compile("[3][12]", &p, &n, err, sizeof(err)) == 0);
    CHECK(n == 2 && !p[0].key && p[0].index == 3 && p[1].index == 12);
    free(p);

    CHECK(json_path_compile("we-ird key!]/x", &p, &n, err, sizeof(err)) == 0);
    CHECK(n == 1 && !strcmp(p[0].key, "we-ird key!]/x"));
    free(p[0].key);
    free(p);

    static const struct {
        const char *in, *err;
    } bad[] = {
        {"", "json path is empty"},
        {"a..b", "json path 'a..b': empty key at character 3"},
        {"a.", "json path 'a.': empty key at character 3"},
        {".a", "json path '.a': empty key at character 1"},
        {"a[x]", "json path 'a[x]': expected [N] with N a number from 0 at character 2"},
        {"a[-1]", "json path 'a[-1]': expected [N] with N a number from 0 at character 2"},
        {"a[1", "json path 'a[1': expected [N] with N a number from 0 at character 2"},
        {"[0]b", "json path '[0]b': expected . or [ at character 4"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(json_path_compile(bad[i].in, &p, &n, err, sizeof(err)) == -1);
        if (strcmp(err, bad[i].err)) printf("  '%s': got '%s'\n", bad[i].in, err);
        CHECK(!strcmp(err, bad[i].err));
        CHECK(p == NULL && n == 0);
    }
}

static void compiles_capture_specs(void)
{
    struct capture c;
    char err[200];
    CHECK(capture_compile(&c, "token", 3, "json.data.items[1].id", err, sizeof(err)) == 0);
    CHECK(c.kind == CAP_JSON && c.var == 3 && c.npath == 4 && !strcmp(c.spec, "json.data.items[1].id") &&
          !strcmp(c.var_name, "token"));
    struct extract x = {.caps = &c, .ncaps = 1};
    struct capture *heap = malloc(sizeof(*heap) * 3);
    CHECK(capture_compile(&heap[0], "etag", 0, "header.ETag", err, sizeof(err)) == 0);
    CHECK(heap[0].kind == CAP_HEADER && !strcmp(heap[0].header, "ETag"));
    CHECK(capture_compile(&heap[1], "n", 1, "regex:id=([0-9]+)", err, sizeof(err)) == 0);
    CHECK(heap[1].kind == CAP_REGEX && heap[1].re && regex_groups(heap[1].re) == 1);
    CHECK(capture_compile(&heap[2], "all", 2, "body", err, sizeof(err)) == 0);
    CHECK(heap[2].kind == CAP_BODY);
    x.caps = heap;
    x.ncaps = 3;
    extract_free(&x);  /* frees every part (ASan would see a leak otherwise) */
    CHECK(x.caps == NULL && x.ncaps == 0);
    x.caps = &c;
    x.ncaps = 1;
    for (unsigned i = 0; i < c.npath; i++) free(c.path[i].key);
    free(c.path);
    free(c.var_name);
    free(c.spec);

    static const struct {
        const char *spec, *err;
    } bad[] = {
        {"json.", "capture token: 'json.' needs a path, such as json.token or json.items[0].id"},
        {"json", "capture token: 'json.' needs a path, such as json.token or json.items[0].id"},
        {"json.a..b", "capture token: json path 'a..b': empty key at character 3"},
        {"header.", "capture token: 'header.' needs a header name, such as header.ETag"},
        {"header.X Y", "capture token: 'X Y' is not a header name"},
        {"regex:", "capture token: 'regex:' needs a pattern"},
        {"regex:a(b", "capture token: bad regex at 2: unmatched ("},
        {"regex:[0-9]{2,1}", "capture token: bad regex at 6: bad repeat {2,1}"},
        {"cookie.", "capture token: 'cookie.' needs a cookie name, such as cookie.session"},
        {"cookie.a=b", "capture token: 'a=b' is not a cookie name"},
        {"cookie.a;b", "capture token: 'a;b' is not a cookie name"},
        {"jsn.token", "capture token: unknown capture 'jsn.token' (expected json.PATH, header.NAME, cookie.NAME, regex:RE or body)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(capture_compile(&c, "token", 0, bad[i].spec, err, sizeof(err)) == -1);
        size_t cmp = strlen(bad[i].err);
        if (bad[i].err[cmp - 1] == '*') cmp--;
        if (strncmp(err, bad[i].err, cmp) || (cmp == strlen(bad[i].err) && strlen(err) != cmp))
            printf("  '%s': got '%s'\n", bad[i].spec, err);
        CHECK(!strncmp(err, bad[i].err, cmp));
        CHECK(c.var_name == NULL && c.spec == NULL && c.path == NULL && !c.re);
    }
}

/* ---- running ---- */

#define VAR_CAP 32
static char vars[8 * VAR_CAP];
static uint32_t var_len[8];
static uint64_t seq, rng = 12345;

static const char *var(unsigned i)
{
    static char out[VAR_CAP + 1];
    memcpy(out, vars + i * VAR_CAP, var_len[i]);
    out[var_len[i]] = '\0';
    return out;
}

static struct tpl_env env(void) { return (struct tpl_env){vars, var_len, VAR_CAP, NULL, NULL, 1, 0, &seq, &rng}; }

static void add_capture(struct extract *x, const char *name, uint32_t slot, const char *spec)
{
    char err[200];
    x->caps = realloc(x->caps, (x->ncaps + 1) * sizeof(*x->caps));
    if (capture_compile(&x->caps[x->ncaps], name, slot, spec, err, sizeof(err))) {
        printf("  %s\n", err);
        return;
    }
    x->ncaps++;
}

/* ${v0} in expected values is variable slot 0 */
static int names_var(const void *ctx, const char *name, size_t len)
{
    (void)ctx;
    return len == 2 && !memcmp(name, "v0", 2) ? 0 : -1;
}
static const struct tpl_names NAMES = {NULL, names_var, NULL};

static void add_check(struct extract *x, enum check_kind kind, const char *name, const char *value)
{
    char err[200];
    x->checks = realloc(x->checks, (x->nchecks + 1) * sizeof(*x->checks));
    struct check *k = &x->checks[x->nchecks++];
    memset(k, 0, sizeof(*k));
    k->kind = kind;
    k->name = strdup(name);
    tpl_init(&k->value);
    if (kind == CHK_JSON_EQUALS && json_path_compile(name + 5, &k->path, &k->npath, err, sizeof(err)))
        printf("  %s\n", err);
    if (value) {
        k->value_text = strdup(value);
        if (tpl_append(&k->value, value, strlen(value), TPL_RAW, &NAMES, err, sizeof(err))) printf("  %s\n", err);
    }
}

static const char *API =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"abc\"\r\nTransfer-Encoding: chunked\r\n\r\n"
    "10\r\n{\"access_token\":\r\n"
    "6e\r\n \"tok\\\"en\\u00e9\", \"n\": 42, \"r\": 0.1, \"big\": 1e300, \"ok\": true, \"nil\": null, "
    "\"items\": [{\"id\": 7}, {\"id\": \"x\"}]}\r\n0\r\n\r\n";

static int run(const struct extract *x, const char *resp, char *why)
{
    int rc;
    struct resp_view v = view(resp, &rc);
    if (rc) return -2;
    struct tpl_env e = env();
    static char scratch[1 << 20];  /* 64 bytes, or what the regexes need */
    size_t cap = extract_scratch_need(x) > 64 ? extract_scratch_need(x) : 64;
    return extract_run(x, &v, &e, vars, var_len, VAR_CAP, scratch, cap, why);
}

static void captures_each_kind(void)
{
    struct extract x = {0};
    add_capture(&x, "token", 0, "json.access_token");
    add_capture(&x, "n", 1, "json.n");
    add_capture(&x, "r", 2, "json.r");
    add_capture(&x, "ok", 3, "json.ok");
    add_capture(&x, "nil", 4, "json.nil");
    add_capture(&x, "first", 5, "json.items[0]");
    add_capture(&x, "etag", 6, "header.etag");
    add_capture(&x, "big", 7, "json.big");
    CHECK_EQ_U(x.ncaps, 8);
    char why[EXTRACT_WHY_LEN];
    memset(var_len, 0, sizeof(var_len));
    CHECK(run(&x, API, why) == 0);
    CHECK(!strcmp(var(0), "tok\"en\xc3\xa9"));
    CHECK(!strcmp(var(1), "42"));
    CHECK(!strcmp(var(2), "0.1"));
    CHECK(!strcmp(var(3), "true"));
    CHECK(!strcmp(var(4), "null"));
    CHECK(!strcmp(var(5), "{\"id\":7}"));
    CHECK(!strcmp(var(6), "\"abc\""));
    CHECK(!strcmp(var(7), "1e+300"));
    extract_free(&x);

    add_capture(&x, "id", 0, "json.items[1].id");
    add_capture(&x, "all", 1, "json.items");
    add_capture(&x, "whole", 2, "body");
    add_capture(&x, "grp", 3, "regex:id=([0-9]+)");
    add_capture(&x, "match", 4, "regex:[a-z]+=[0-9]");
    var_len[0] = 0;
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"items\": [1, 2.5, \"x\"]}", why) == -1);
    CHECK(!strcmp(why, "capture id: json.items[1].id not found"));  /* 2.5 has no id */
    CHECK_EQ_U(var_len[0], 0);
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n[\"no\"]", why) == -1);
    CHECK(!strcmp(why, "capture id: json.items[1].id not found"));
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"items\": [1, 2.5, \"x\"]} id=99", why) == -1);
    CHECK(!strncmp(why, "capture id: body is not JSON (", 30));  /* the whole body must be JSON */
    extract_free(&x);

    add_capture(&x, "id", 0, "json.items[1].id");
    /* valid JSON jansson takes only when told: \u0000 in a string; an integer past 64 bits
     * it cannot hold, read as its digits (the rest of the body stays usable) */
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"items\": [0, {\"id\": 7}], \"s\": \"a\\u0000b\"}", why) == 0);
    CHECK(!strcmp(var(0), "7"));
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"items\": [0, {\"id\": 7}], \"x\": 18446744073709551615}", why) == 0);
    CHECK(!strcmp(var(0), "7"));
    extract_free(&x);
    add_capture(&x, "big", 0, "json.items[1].big");
    add_capture(&x, "neg", 1, "json.items[2]");
    add_capture(&x, "fits", 2, "json.items[3]");
    add_capture(&x, "real", 3, "json.items[4]");
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"s\": \"\\\" 99999999999999999999\", \"items\": [0, {\"big\": "
                  "123456789012345678901234567890}, -9223372036854775809, -9223372036854775808, 1.5]}", why) == 0);
    CHECK(!strcmp(var(0), "123456789012345678901234567890") && !strcmp(var(1), "-9223372036854775809"));
    CHECK(!strcmp(var(2), "-9223372036854775808") && !strcmp(var(3), "1.5"));
    /* a fraction's or an exponent's digits are not an integer of their own */
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"items\": [0, {\"big\": 123456789012345678901234567890}, "
                  "0.1234567890123456789012, 1e-10000000000000000000, 2.5E+12345678901234567890123]}", why) == -1);
    CHECK(!strcmp(why, "capture big: body is not JSON (real number overflow)"));  /* the last one alone */
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"items\": [0, {\"big\": 123456789012345678901234567890}, "
                  "0.1234567890123456789012, 1e-10000000000000000000, 3]}", why) == 0);
    CHECK(!strcmp(var(0), "123456789012345678901234567890") && !strcmp(var(2), "0.0") && !strcmp(var(3), "3"));
    /* a leading zero is still not JSON */
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n[0, 099999999999999999999, 99999999999999999999]", why) == -1);
    CHECK(!strncmp(why, "capture big: body is not JSON (", 31));
    extract_free(&x);

    add_capture(&x, "grp", 3, "regex:id=([0-9]+)");
    add_capture(&x, "match", 4, "regex:[a-z]+=[0-9]");
    add_capture(&x, "whole", 2, "body");
    add_capture(&x, "all", 1, "json.items");
    CHECK(run(&x, "HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n{\"items\":[1,2.5]} id=99", why) == -1);
    CHECK(!strcmp(why, "capture grp: regex:id=([0-9]+) not found"));  /* the body is 18 bytes */
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\nid=99 x={\"items\":[1, 2.5, \"x\"]}", why) == -1);
    CHECK(!strcmp(var(3), "99") && !strcmp(var(4), "id=9"));
    CHECK(!strcmp(var(2), "id=99 x={\"items\":[1, 2.5, \"x\"]}"));
    CHECK(!strncmp(why, "capture all: body is not JSON (", 31));
    extract_free(&x);

    /* group 1 taking no part is not found; the whole match without a group */
    add_capture(&x, "grp", 3, "regex:id=([0-9]+)|none");
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\nnone id=1", why) == -1);
    CHECK(!strcmp(why, "capture grp: regex:id=([0-9]+)|none not found"));
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\nid=17 none", why) == 0);
    CHECK(!strcmp(var(3), "17"));
    extract_free(&x);
    add_capture(&x, "lazy", 3, "regex:<b>.*?</b>");
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n<b>1</b><b>2</b>", why) == 0);
    CHECK(!strcmp(var(3), "<b>1</b>"));
    /* with less scratch than the regex needs: a reason, not a crash */
    struct resp_view v;
    char resp[] = "HTTP/1.1 200 OK\r\n\r\n<b>1</b>";
    CHECK(resp_view_parse(&v, resp, strlen(resp)) == 0);
    struct tpl_env e = env();
    char small[64];
    CHECK(extract_scratch_need(&x) > sizeof(small));
    CHECK(extract_run(&x, &v, &e, vars, var_len, VAR_CAP, small, sizeof(small), why) == -1);
    CHECK(!strncmp(why, "capture lazy: the regex needs ", 30));
    extract_free(&x);
    CHECK_EQ_U(extract_scratch_need(&x), 0);

    add_capture(&x, "all", 1, "json.items");
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"items\" : [ 1, 2.5, \"x\", {}, [] ] }", why) == 0);
    CHECK(!strcmp(var(1), "[1,2.5,\"x\",{},[]]"));
    extract_free(&x);
}

static void a_value_over_the_slot_fails(void)
{
    struct extract x = {0};
    add_capture(&x, "token", 0, "json.t");
    add_capture(&x, "obj", 1, "json.o");
    add_capture(&x, "h", 2, "header.X");
    char why[EXTRACT_WHY_LEN];
    const char *fits = "HTTP/1.1 200 OK\r\nX: 12345678901234567890123456789012\r\n\r\n"
                       "{\"t\": \"12345678901234567890123456789012\", \"o\": {\"a\": \"123456789012345678901234\"}}";
    CHECK(run(&x, fits, why) == 0);  /* exactly 32 bytes each */
    CHECK_EQ_U(var_len[0], 32);
    CHECK_EQ_U(var_len[1], 32);
    CHECK_EQ_U(var_len[2], 32);
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"t\": \"123456789012345678901234567890123\"}", why) == -1);
    CHECK(!strcmp(why, "capture token: 33 bytes, over the 32 a variable holds"));
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"t\": \"\", \"o\": {\"a\": \"1234567890123456789012345\"}}", why) == -1);
    CHECK(!strcmp(why, "capture obj: 33 bytes, over the 32 a variable holds"));
    CHECK_EQ_U(var_len[0], 0);
    CHECK_EQ_U(var_len[1], 0);  /* the JSON text overwrote what fit of the old value: emptied, not half of each */
    extract_free(&x);
}

/* A captured value goes into later request heads: a line break in it fails the capture
 * (a body capture may hold one). */
static void a_value_with_a_line_break_fails(void)
{
    struct extract x = {0};
    add_capture(&x, "token", 0, "json.t");
    char why[EXTRACT_WHY_LEN];
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"t\": \"ab\\r\\nX-Evil: 1\"}", why) == -1);
    CHECK(!strcmp(why, "capture token: json.t has a line break"));
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"t\": \"a\\nb\"}", why) == -1);
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{\"t\": \"ab\"}", why) == 0);
    extract_free(&x);
    struct extract y = {0};
    add_capture(&y, "all", 0, "body");
    CHECK(run(&y, "HTTP/1.1 200 OK\r\n\r\nline 1\nline 2", why) == 0);
    CHECK_EQ_U(var_len[0], 13);
    extract_free(&y);
}

static void checks_run_first_with_their_reasons(void)
{
    struct extract x = {0};
    add_check(&x, CHK_HEADER_PRESENT, "ETag", NULL);
    add_check(&x, CHK_HEADER_EQUALS, "Content-Type", "application/json");
    add_check(&x, CHK_BODY_CONTAINS, "body", "${v0}");
    add_check(&x, CHK_JSON_EQUALS, "json.n", "42");
    add_check(&x, CHK_JSON_EQUALS, "json.access_token", "tok\"en\xc3\xa9");
    add_check(&x, CHK_JSON_EQUALS, "json.items[0]", "{\"id\":7}");
    add_check(&x, CHK_JSON_EQUALS, "json.ok", "true");
    add_capture(&x, "v1", 1, "json.n");
    char why[EXTRACT_WHY_LEN];
    memcpy(vars, "\"ok\": true", 10);
    var_len[0] = 10;
    var_len[1] = 0;
    CHECK(run(&x, API, why) == 0);
    CHECK(!strcmp(var(1), "42"));

    /* each check failing in turn; the capture is then not made */
    var_len[1] = 0;
    memcpy(vars, "\"ok\": false", 11);
    var_len[0] = 11;
    CHECK(run(&x, API, why) == -1);
    CHECK(!strcmp(why, "body does not contain ${v0}"));
    CHECK_EQ_U(var_len[1], 0);
    var_len[0] = 0;  /* an empty expected value is in every body */

    const char *no_etag = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}";
    CHECK(run(&x, no_etag, why) == -1);
    CHECK(!strcmp(why, "header ETag missing"));
    CHECK(run(&x, "HTTP/1.1 200 OK\r\nETag: 1\r\nContent-Type: text/html\r\n\r\n{}", why) == -1);
    CHECK(!strcmp(why, "header Content-Type is not \"application/json\""));
    CHECK(run(&x, "HTTP/1.1 200 OK\r\nETag: 1\r\nContent-Type: application/json\r\n\r\nnope", why) == -1);
    CHECK(!strncmp(why, "json.n: body is not JSON (", 26));
    CHECK(run(&x, "HTTP/1.1 200 OK\r\nETag: 1\r\nContent-Type: application/json\r\n\r\n{\"x\":1}", why) == -1);
    CHECK(!strcmp(why, "json.n not found"));
    CHECK(run(&x, "HTTP/1.1 200 OK\r\nETag: 1\r\nContent-Type: application/json\r\n\r\n{\"n\":\"42\"}", why) == -1);
    CHECK(!strcmp(why, "json.access_token not found"));  /* "42" the string equals 42 as text */
    CHECK(run(&x, "HTTP/1.1 200 OK\r\nETag: 1\r\nContent-Type: application/json\r\n\r\n{\"n\":43}", why) == -1);
    CHECK(!strcmp(why, "json.n is not \"42\""));
    CHECK(run(&x,
              "HTTP/1.1 200 OK\r\nETag: 1\r\nContent-Type: application/json\r\n\r\n"
              "{\"n\":42,\"access_token\":\"tok\\\"en\\u00e9\",\"items\":[{\"id\": 8}]}",
              why) == -1);
    CHECK(!strcmp(why, "json.items[0] is not \"{\"id\":7}\""));
    CHECK_EQ_U(var_len[1], 0);
    extract_free(&x);

    /* an expected value longer than the scratch */
    add_check(&x, CHK_BODY_CONTAINS, "body", "0123456789012345678901234567890123456789012345678901234567890123456789");
    CHECK(run(&x, API, why) == -1);
    CHECK(!strcmp(why, "0123456789012345678901234567890123456789012345678901234567890123456789: expected value over 64 bytes"));
    extract_free(&x);
}

static void reasons_stay_bounded(void)
{
    struct extract x = {0};
    char spec[400] = "json.";
    memset(spec + 5, 'k', 300);
    add_capture(&x, "v", 0, spec);
    char why[EXTRACT_WHY_LEN + 8];
    memset(why, '#', sizeof(why));
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n\r\n{}", why) == -1);
    CHECK_EQ_U(strlen(why), EXTRACT_WHY_LEN - 1);
    CHECK(why[EXTRACT_WHY_LEN] == '#');
    extract_free(&x);
}

static void no_allocation_per_response_once_grown(void)
{
    struct extract x = {0};
    add_capture(&x, "token", 0, "json.access_token");
    add_capture(&x, "first", 1, "json.items[0]");
    add_capture(&x, "etag", 2, "header.ETag");
    add_capture(&x, "n", 3, "regex:\"n\": ([0-9]+)[^0-9]");
    add_check(&x, CHK_JSON_EQUALS, "json.n", "42");
    char why[EXTRACT_WHY_LEN];
    CHECK(run(&x, API, why) == 0);
    CHECK(extract_arena_size() >= 4096);

    /* a big body grows the arena once; then neither it nor the small one allocates */
    static char big[1 << 19];
    size_t n = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nETag: 1\r\n\r\n{\"access_token\": \"t\", \"items\": [0");
    for (int i = 1; i < 20000; i++) n += (size_t)sprintf(big + n, ",{\"k%d\": [%d, \"s\"]}", i % 50, i);
    strcpy(big + n, "], \"n\": 42}");
#if COUNT_MALLOC
    unsigned long first = mallocs;
#endif
    CHECK(run(&x, big, why) == 0);
#if COUNT_MALLOC
    CHECK(mallocs > first);  /* growing is counted: the count below means something */
#endif
    if (why[0]) printf("  big: %s\n", why);
    size_t grown = extract_arena_size();
    CHECK(run(&x, big, why) == 0);
    CHECK(grown > 64 * 1024);
#if COUNT_MALLOC
    unsigned long before = mallocs;
    for (int i = 0; i < 50; i++) {
        CHECK(run(&x, API, why) == 0);
        CHECK(run(&x, big, why) == 0);
    }
    if (mallocs != before) printf("  %lu allocations in 100 responses\n", mallocs - before);
    CHECK_EQ_U(mallocs, before);
#endif
    CHECK_EQ_U(extract_arena_size(), grown);
    CHECK(!strcmp(var(0), "t") && !strcmp(var(1), "0") && !strcmp(var(3), "42"));
    extract_free(&x);
    extract_thread_exit();
    CHECK_EQ_U(extract_arena_size(), 0);
}

/* RFC 6265 5.2: name=value up to the first ';', trimmed; the last Set-Cookie of a name
 * wins; other names, a pair without '=', and attributes are not it. */
static void captures_cookies(void)
{
    struct extract x = {0};
    add_capture(&x, "sid", 0, "cookie.sid");
    add_capture(&x, "theme", 1, "cookie.theme");
    add_capture(&x, "gone", 2, "cookie.gone");
    char why[EXTRACT_WHY_LEN];
    memset(var_len, 0, sizeof(var_len));
    CHECK(run(&x, "HTTP/1.1 200 OK\r\n"
                  "Set-Cookie: sidx=no; Path=/\r\n"
                  "set-cookie:sid=abc123; Path=/; HttpOnly; sid=attr\r\n"
                  "Set-Cookie: sid\r\n"
                  "X-Set-Cookie: theme=no\r\n"
                  "Set-Cookie:  theme = \"dark blue\" ;Secure\r\n"
                  "Set-Cookie: gone=old\r\n"
                  "Set-Cookie: gone=; Max-Age=0\r\n"
                  "Content-Length: 0\r\n\r\n", why) == 0);
    CHECK(!strcmp(var(0), "abc123"));
    CHECK(!strcmp(var(1), "\"dark blue\""));
    CHECK_EQ_U(var_len[2], 0);  /* the last one says it is gone: empty */
    CHECK(run(&x, "HTTP/1.1 200 OK\r\nSet-Cookie: theme=x\r\nSet-Cookie: SID=up\r\n\r\n", why) == -1);
    CHECK(!strcmp(why, "capture sid: cookie.sid not set"));  /* names are case-sensitive */
    CHECK(!strcmp(var(0), "abc123"));  /* kept */
    extract_free(&x);
}

int main(void)
{
    extract_global_init();
    RUN(views_plain_lf_and_chunked_responses);
    RUN(views_responses_as_the_worker_framed_them);
    RUN(finds_headers_case_insensitively);
    RUN(compiles_json_paths);
    RUN(compiles_capture_specs);
    RUN(captures_each_kind);
    RUN(captures_cookies);
    RUN(a_value_over_the_slot_fails);
    RUN(a_value_with_a_line_break_fails);
    RUN(checks_run_first_with_their_reasons);
    RUN(reasons_stay_bounded);
    RUN(no_allocation_per_response_once_grown);
    CHECK_EXIT();
}
