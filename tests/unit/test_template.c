/* Templates: compiling placeholders (good and bad), rendering each kind, escaping,
 * bounded writes and the sizing bound. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "feeder.h"
#include "template.h"

/* Two variables, "token" (slot 0) and "id" (slot 1); one feeder "acc" with columns
 * name, password. */
static int names_var(const void *ctx, const char *name, size_t len)
{
    (void)ctx;
    if (len == 5 && !memcmp(name, "token", 5)) return 0;
    if (len == 2 && !memcmp(name, "id", 2)) return 1;
    return -1;
}

static int names_feed(const void *ctx, const char *feeder, size_t flen, const char *column, size_t clen,
                      uint32_t *feeder_out, uint32_t *column_out, char *err, size_t errlen)
{
    (void)ctx;
    if (flen != 3 || memcmp(feeder, "acc", 3)) {
        snprintf(err, errlen, "no data '%.*s'", (int)flen, feeder);
        return -1;
    }
    *feeder_out = 0;
    if (clen == 4 && !memcmp(column, "name", 4)) *column_out = 0;
    else if (clen == 8 && !memcmp(column, "password", 8)) *column_out = 1;
    else {
        snprintf(err, errlen, "data acc has no column '%.*s' (columns: name, password)", (int)clen, column);
        return -1;
    }
    return 0;
}

static const struct tpl_names NAMES = {NULL, names_var, names_feed};

/* The world a render sees: token = "abc", id = "42", the feeder row 1 = (bob, "p\"w"). */
static char vars[2 * 16];
static uint32_t var_len[2];
static uint32_t feed_row[1] = {1};
static struct feeder acc;
static const struct feeder *feeders[1] = {&acc};
static const char *cells[4] = {"alice", "secret", "bob", "p\"w\n"};
static uint32_t cell_len[4] = {5, 6, 3, 4};
static uint64_t seq, rng = 88172645463325252ULL;

static struct tpl_env make_env(void)
{
    memset(vars, 0, sizeof(vars));
    memcpy(vars, "abc", 3);
    memcpy(vars + 16, "42", 2);
    var_len[0] = 3;
    var_len[1] = 2;
    acc.ncols = 2;
    acc.nrows = 2;
    acc.cells = cells;
    acc.cell_len = cell_len;
    acc.max_cell = 6;
    seq = 0;
    return (struct tpl_env){vars, var_len, 16, feed_row, feeders, 77, 3, &seq, &rng};
}

static int compile(struct tpl *t, const char *text, enum tpl_escape esc, char *err)
{
    tpl_init(t);
    err[0] = '\0';
    return tpl_append(t, text, strlen(text), esc, &NAMES, err, 256);
}

/* Renders into a fresh buffer and NUL-terminates it. */
static const char *render(const struct tpl *t, const struct tpl_env *env)
{
    static char out[512];
    size_t n = tpl_render(t, env, out, sizeof(out) - 1);
    out[n < sizeof(out) - 1 ? n : sizeof(out) - 1] = '\0';
    return out;
}

static void literals_merge_into_one_segment(void)
{
    struct tpl t;
    char err[256];
    CHECK(compile(&t, "GET /a", TPL_RAW, err) == 0);
    CHECK(tpl_append_literal(&t, " HTTP/1.1", 9) == 0);
    CHECK(tpl_append(&t, "\r\nX: $y $${z} $", 15, TPL_RAW, NULL, err, sizeof(err)) == 0);
    CHECK_EQ_U(t.nsegs, 1);
    CHECK(!t.dynamic);
    struct tpl_env env = make_env();
    CHECK(!strcmp(render(&t, &env), "GET /a HTTP/1.1\r\nX: $y ${z} $"));
    CHECK_EQ_U(tpl_max_len(&t, &env), strlen("GET /a HTTP/1.1\r\nX: $y ${z} $"));
    tpl_free(&t);
    CHECK(t.segs == NULL && t.lit == NULL && t.nsegs == 0);
    tpl_free(&t);  /* twice is harmless */
}

static void renders_variables_and_feeders(void)
{
    struct tpl t;
    char err[256];
    CHECK(compile(&t, "/items/${id}?t=${token}&u=${acc.name}&p=${acc.password}", TPL_RAW, err) == 0);
    CHECK(t.dynamic);
    CHECK_EQ_U(t.nsegs, 8);
    CHECK(t.segs[1].kind == TPL_VAR && t.segs[1].index == 1);
    CHECK(t.segs[5].kind == TPL_FEED && t.segs[5].index == 0 && t.segs[5].column == 0);
    CHECK(t.segs[7].kind == TPL_FEED && t.segs[7].column == 1);
    struct tpl_env env = make_env();
    CHECK(!strcmp(render(&t, &env), "/items/42?t=abc&u=bob&p=p\"w\n"));
    feed_row[0] = 0;
    var_len[1] = 0;  /* an empty variable renders nothing */
    CHECK(!strcmp(render(&t, &env), "/items/?t=abc&u=alice&p=secret"));
    feed_row[0] = 1;
    /* literals + 2 variables of 16 + 2 cells of at most 6 */
    CHECK_EQ_U(tpl_max_len(&t, &env), strlen("/items/?t=&u=&p=") + 2 * 16 + 2 * 6);
    tpl_free(&t);
}

static void json_escaping_applies_to_values_only(void)
{
    struct tpl t;
    char err[256];
    CHECK(compile(&t, "{\"p\": \"${acc.password}\", \"t\": \"${token}\"}", TPL_JSON, err) == 0);
    struct tpl_env env = make_env();
    memcpy(vars, "a\\b\x01", 4);
    var_len[0] = 4;
    CHECK(!strcmp(render(&t, &env), "{\"p\": \"p\\\"w\\n\", \"t\": \"a\\\\b\\u0001\"}"));
    /* each value byte may grow to 6 (\u00XX) */
    CHECK_EQ_U(tpl_max_len(&t, &env), strlen("{\"p\": \"\", \"t\": \"\"}") + 6 * 6 + 6 * 16);
    tpl_free(&t);

    /* the same text raw is not escaped */
    CHECK(compile(&t, "${acc.password}", TPL_RAW, err) == 0);
    CHECK(!strcmp(render(&t, &env), "p\"w\n"));
    tpl_free(&t);
}

static void environment_is_read_at_compile_time(void)
{
    struct tpl t;
    char err[256];
    setenv("BARRAGE_TPL_TEST", "x\"y", 1);
    CHECK(compile(&t, "a ${env.BARRAGE_TPL_TEST} b", TPL_RAW, err) == 0);
    setenv("BARRAGE_TPL_TEST", "changed", 1);
    CHECK(!t.dynamic);
    CHECK_EQ_U(t.nsegs, 1);
    struct tpl_env env = make_env();
    CHECK(!strcmp(render(&t, &env), "a x\"y b"));
    tpl_free(&t);
    setenv("BARRAGE_TPL_TEST", "x\"y", 1);
    CHECK(compile(&t, "${env.BARRAGE_TPL_TEST}", TPL_JSON, err) == 0);
    CHECK(!strcmp(render(&t, &env), "x\\\"y"));
    tpl_free(&t);
    /* needs no names at all */
    tpl_init(&t);
    CHECK(tpl_append(&t, "${env.BARRAGE_TPL_TEST}", 23, TPL_RAW, NULL, err, sizeof(err)) == 0);
    tpl_free(&t);
    unsetenv("BARRAGE_TPL_TEST");
}

static void builtins_render(void)
{
    struct tpl t;
    char err[256];
    CHECK(compile(&t, "${seq},${seq},${user_id},${worker},${rand(5,5)},${rand(-3,-3)}", TPL_RAW, err) == 0);
    struct tpl_env env = make_env();
    CHECK(!strcmp(render(&t, &env), "0,1,77,3,5,-3"));
    CHECK_EQ_U(seq, 2);
    CHECK_EQ_U(tpl_max_len(&t, &env), 5 + 20 + 20 + 20 + 10 + 1 + 2);
    tpl_free(&t);

    CHECK(compile(&t, "${rand(1,6)}", TPL_RAW, err) == 0);
    int seen[7] = {0};
    for (int i = 0; i < 6000; i++) {
        long v = strtol(render(&t, &env), NULL, 10);
        CHECK(v >= 1 && v <= 6);
        if (v >= 1 && v <= 6) seen[v]++;
    }
    for (int v = 1; v <= 6; v++) CHECK(seen[v] > 800 && seen[v] < 1200);
    tpl_free(&t);

    /* the whole 64-bit range and spaces inside */
    CHECK(compile(&t, "${rand( -9223372036854775808 , 9223372036854775807 )}", TPL_RAW, err) == 0);
    CHECK(t.segs[0].a == INT64_MIN && t.segs[0].b == INT64_MAX);
    CHECK(strlen(render(&t, &env)) >= 1);
    CHECK_EQ_U(tpl_max_len(&t, &env), 20);
    tpl_free(&t);
}

static void uuid_is_version_4(void)
{
    struct tpl t;
    char err[256];
    CHECK(compile(&t, "${uuid}", TPL_RAW, err) == 0);
    struct tpl_env env = make_env();
    char prev[37] = "";
    for (int k = 0; k < 100; k++) {
        const char *u = render(&t, &env);
        CHECK_EQ_U(strlen(u), 36);
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23) CHECK(u[i] == '-');
            else CHECK((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f'));
        }
        CHECK(u[14] == '4');
        CHECK(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
        CHECK(strcmp(u, prev) != 0);
        memcpy(prev, u, 37);
    }
    CHECK_EQ_U(tpl_max_len(&t, &env), 36);
    tpl_free(&t);
}

static void render_never_writes_past_cap(void)
{
    struct tpl t;
    char err[256];
    CHECK(compile(&t, "head ${token} ${uuid} ${acc.password} tail", TPL_JSON, err) == 0);
    struct tpl_env env = make_env();
    char full[256];
    uint64_t r0 = rng;
    size_t n = tpl_render(&t, &env, full, sizeof(full));
    CHECK(n < sizeof(full));
    for (size_t cap = 0; cap <= n; cap++) {
        char buf[256];
        memset(buf, '#', sizeof(buf));
        rng = r0;  /* the same uuid each time */
        seq = 0;
        CHECK_EQ_U(tpl_render(&t, &env, buf, cap), n);
        CHECK(!memcmp(buf, full, cap));
        for (size_t i = cap; i < sizeof(buf); i++) CHECK(buf[i] == '#');
    }
    CHECK(n <= tpl_max_len(&t, &env));
    tpl_free(&t);
}

static void rejects_bad_placeholders_with_column(void)
{
    static const struct {
        const char *in, *err;
    } cases[] = {
        {"/x/${tokn}", "${tokn} at column 4: unknown variable 'tokn'"},
        {"ab${}", "${} at column 3: empty placeholder"},
        {"${token", "${token at column 1: no closing }"},
        {"${rand(5,1)}", "${rand(5,1)} at column 1: rand(a,b) needs a <= b"},
        {"${rand(1)}", "${rand(1)} at column 1: expected rand(a,b) with integers a <= b"},
        {"${rand(a,b)}", "${rand(a,b)} at column 1: expected rand(a,b) with integers a <= b"},
        {"${rand(1,2}", "${rand(1,2} at column 1: expected rand(a,b) with integers a <= b"},
        {"${rand(1,2)x}", "${rand(1,2)x} at column 1: expected rand(a,b) with integers a <= b"},
        {"${rand(1.5,2)}", "${rand(1.5,2)} at column 1: expected rand(a,b) with integers a <= b"},
        {"${rand(1,99999999999999999999)}",
         "${rand(1,99999999999999999999)} at column 1: expected rand(a,b) with integers a <= b"},
        {"${now()}", "${now()} at column 1: unknown function 'now' (there is rand(a,b))"},
        {"x ${env.BARRAGE_SURELY_UNSET_VAR}",
         "${env.BARRAGE_SURELY_UNSET_VAR} at column 3: environment variable BARRAGE_SURELY_UNSET_VAR is not set"},
        {"${env.}", "${env.} at column 1: expected ${env.NAME}"},
        {"${acc.nmae}", "${acc.nmae} at column 1: data acc has no column 'nmae' (columns: name, password)"},
        {"${users.name}", "${users.name} at column 1: no data 'users'"},
        {"${acc.}", "${acc.} at column 1: expected ${data.column}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tpl t;
        char err[256];
        CHECK(compile(&t, cases[i].in, TPL_RAW, err) == -1);
        if (strcmp(err, cases[i].err)) printf("  '%s': got '%s'\n", cases[i].in, err);
        CHECK(!strcmp(err, cases[i].err));
        tpl_free(&t);
    }
}

static void no_names_means_no_variables(void)
{
    struct tpl t;
    char err[256];
    tpl_init(&t);
    CHECK(tpl_append(&t, "${token}", 8, TPL_RAW, NULL, err, sizeof(err)) == -1);
    CHECK(!strcmp(err, "${token} at column 1: no variables can be used here"));
    CHECK(tpl_append(&t, "${acc.name}", 11, TPL_RAW, NULL, err, sizeof(err)) == -1);
    CHECK(!strcmp(err, "${acc.name} at column 1: no data columns can be used here"));
    CHECK(tpl_append(&t, "${uuid}", 7, TPL_RAW, NULL, err, sizeof(err)) == 0);
    tpl_free(&t);
}

static void a_failed_append_leaves_the_template_as_it_was(void)
{
    struct tpl t;
    char err[256];
    CHECK(compile(&t, "GET /", TPL_RAW, err) == 0);
    CHECK(tpl_append(&t, "more ${seq} and ${bad}", 22, TPL_RAW, &NAMES, err, sizeof(err)) == -1);
    CHECK(!strcmp(err, "${bad} at column 17: unknown variable 'bad'"));
    CHECK_EQ_U(t.nsegs, 1);
    CHECK(!t.dynamic);
    CHECK(tpl_append(&t, "x", 1, TPL_RAW, &NAMES, err, sizeof(err)) == 0);
    struct tpl_env env = make_env();
    CHECK(!strcmp(render(&t, &env), "GET /x"));
    /* a tiny error buffer is still terminated */
    char tiny[5];
    CHECK(tpl_append(&t, "${bad}", 6, TPL_RAW, &NAMES, tiny, sizeof(tiny)) == -1);
    CHECK(!strcmp(tiny, "${ba"));
    tpl_free(&t);
}

int main(void)
{
    RUN(literals_merge_into_one_segment);
    RUN(renders_variables_and_feeders);
    RUN(json_escaping_applies_to_values_only);
    RUN(environment_is_read_at_compile_time);
    RUN(builtins_render);
    RUN(uuid_is_version_4);
    RUN(render_never_writes_past_cap);
    RUN(rejects_bad_placeholders_with_column);
    RUN(no_names_means_no_variables);
    RUN(a_failed_append_leaves_the_template_as_it_was);
    CHECK_EXIT();
}
