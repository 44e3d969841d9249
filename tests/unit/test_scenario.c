/* The scenario loader: the issue's example compiled in full, request heads and JSON bodies
 * rendered byte for byte, every kind of error with its FILE:LINE:COL, task selection by
 * tags and user, timeouts, and the split of users over classes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "plan.h"
#include "scenario.h"

static char tmpdir[64];

static int parse_opt(struct scenario *s, const char *yaml, const struct scenario_options *opt, char *err, size_t errlen)
{
    return scenario_parse(s, yaml, strlen(yaml), "t.yaml", tmpdir, opt, err, errlen);
}

/* Parses text that must load. */
static int load(struct scenario *s, const char *yaml, const struct scenario_options *opt)
{
    char err[512] = "";
    int rc = parse_opt(s, yaml, opt, err, sizeof(err));
    if (rc) printf("  unexpected error: %s\n", err);
    return rc;
}

/* Parses text that must fail with a message starting `prefix` and containing `part`. */
static bool fails(const char *yaml, const struct scenario_options *opt, const char *prefix, const char *part)
{
    struct scenario s;
    char err[512] = "";
    if (parse_opt(&s, yaml, opt, err, sizeof(err)) == 0) {
        printf("  loaded, expected an error with '%s'\n", part);
        scenario_free(&s);
        return false;
    }
    if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, part) || strchr(err, '\n')) {
        printf("  error '%s', expected '%s...%s'\n", err, prefix, part);
        return false;
    }
    /* a failed load leaves nothing behind */
    return s.classes == NULL && s.nclasses == 0 && s.vars == NULL && s.target == NULL;
}

/* Renders t with variables vals[i] in slot i. */
static const char *render(const struct tpl *t, const char *const *vals, unsigned nvals, const struct feeder *f)
{
    static char out[4096];
    static char vars[8 * 256];
    uint32_t var_len[8] = {0};
    for (unsigned i = 0; i < nvals; i++) {
        var_len[i] = (uint32_t)strlen(vals[i]);
        memcpy(vars + i * 256, vals[i], var_len[i]);
    }
    uint64_t seq = 0, rng = 88172645463325252ULL;
    uint32_t row = 0;
    const struct feeder *feeders[1] = {f};
    struct tpl_env env = {vars, var_len, 256, &row, feeders, 7, 0, &seq, &rng};
    size_t n = tpl_render(t, &env, out, sizeof(out) - 1);
    out[n < sizeof(out) - 1 ? n : sizeof(out) - 1] = '\0';
    return out;
}

static bool status_ok(const struct scn_step *st, unsigned s) { return st->status_ok[s / 64] >> (s % 64) & 1; }

static const char EXAMPLE[] =
    "target: http://127.0.0.1:8080\n"
    "defaults:\n"
    "  headers: { Accept: application/json }\n"
    "  timeout: 5s\n"
    "data:\n"
    "  accounts: { csv: users.csv }            # each user takes the next row\n"
    "users:\n"
    "  - name: shopper\n"
    "    weight: 10\n"
    "    think: 1s..3s\n"
    "    tags: [read, write]\n"
    "    on_start:\n"
    "      - post: /api/login\n"
    "        json: { user: \"${accounts.name}\", password: \"${accounts.password}\" }\n"
    "        capture: { token: json.access_token }\n"
    "        expect: { status: 200 }\n"
    "    tasks:\n"
    "      - weight: 3\n"
    "        get: /api/items?page=${rand(1,50)}\n"
    "        name: list items\n"
    "      - weight: 1\n"
    "        sequence:\n"
    "          - post: /api/items\n"
    "            headers: { Authorization: \"Bearer ${token}\" }\n"
    "            json: { title: \"item ${uuid}\" }\n"
    "            capture: { id: json.id, etag: header.ETag }\n"
    "            expect: { status: [200, 201] }\n"
    "          - get: /api/items/${id}\n"
    "            expect: { status: 200, body_contains: \"${id}\" }\n"
    "  - name: prober\n"
    "    weight: 1\n"
    "    think: 0\n"
    "    tasks:\n"
    "      - get: /health\n";

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void loads_the_issue_example(void)
{
    struct scenario s;
    if (load(&s, EXAMPLE, NULL)) { CHECK(0); return; }
    CHECK(!strcmp(s.target, "http://127.0.0.1:8080"));
    CHECK(!strcmp(s.file, "t.yaml"));
    CHECK_EQ_U(s.nclasses, 2);
    CHECK_EQ_U(s.nfeeders, 1);
    CHECK(!strcmp(s.feeders[0].name, "accounts") && s.feeders[0].nrows == 2 && s.feeders[0].order == FEED_SEQUENTIAL);
    CHECK_EQ_U(s.nvars, 3);  /* by first appearance: token, id, etag */
    CHECK(!strcmp(s.vars[0], "token") && !strcmp(s.vars[1], "id") && !strcmp(s.vars[2], "etag"));
    CHECK_EQ_U(s.var_bytes, SCN_VAR_BYTES);
    CHECK_EQ_U(s.timeout_ns, 5000000000ULL);
    CHECK(s.has_think && !s.static_only);

    const struct scn_class *c = &s.classes[0];
    CHECK(!strcmp(c->name, "shopper") && c->weight == 10);
    CHECK(c->think == THINK_UNIFORM && c->think_min_ns == 1000000000ULL && c->think_max_ns == 3000000000ULL);
    CHECK(c->ntags == 2 && !strcmp(c->tags[0], "read") && !strcmp(c->tags[1], "write"));
    CHECK(c->on_failure == ONFAIL_CONTINUE);
    CHECK_EQ_U(c->non_start, 1);
    CHECK_EQ_U(c->ntasks, 2);
    CHECK_EQ_U(c->total_weight, 4);
    CHECK(c->tasks[0].weight == 3 && c->tasks[0].nsteps == 1 && c->tasks[1].weight == 1 && c->tasks[1].nsteps == 2);

    const struct scn_step *login = &c->on_start[0];
    CHECK(!strcmp(login->name, "POST /api/login"));
    CHECK(login->has_body && !login->head_method && login->timeout_ns == 5000000000ULL);
    CHECK(!strcmp(login->status_text, "200") && status_ok(login, 200) && !status_ok(login, 201) && !status_ok(login, 302));
    CHECK(login->extract.ncaps == 1 && login->extract.caps[0].var == 0 && login->extract.caps[0].kind == CAP_JSON);
    CHECK(login->extract.needs_body && login->extract.needs_json);
    CHECK(!strcmp(render(&login->head, NULL, 0, &s.feeders[0]),
                  "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: barrage/" BARRAGE_VERSION
                  "\r\nAccept: application/json\r\nContent-Type: application/json\r\n"));
    CHECK(!strcmp(render(&login->body, NULL, 0, &s.feeders[0]), "{\"user\":\"ann\",\"password\":\"s\\\"1\"}"));

    const struct scn_step *list = &c->tasks[0].steps[0];
    CHECK(!strcmp(list->name, "list items") && !strcmp(c->tasks[0].name, "list items"));
    CHECK(!list->has_body && list->head.dynamic);
    CHECK(!strcmp(list->status_text, "100-399") && status_ok(list, 100) && status_ok(list, 399) && !status_ok(list, 400));
    CHECK(!list->extract.needs_body);
    const char *head = render(&list->head, NULL, 0, NULL);
    int page = 0;
    CHECK(sscanf(head, "GET /api/items?page=%d HTTP/1.1\r\n", &page) == 1 && page >= 1 && page <= 50);

    const struct scn_step *create = &c->tasks[1].steps[0], *read = &c->tasks[1].steps[1];
    const char *vals[] = {"tok", "17", ""};
    CHECK(strstr(render(&create->head, vals, 3, NULL), "\r\nAuthorization: Bearer tok\r\n"));
    CHECK(!strncmp(render(&create->body, vals, 3, NULL), "{\"title\":\"item ", 15));
    CHECK(status_ok(create, 200) && status_ok(create, 201) && !status_ok(create, 202));
    CHECK(!strcmp(create->status_text, "200, 201"));
    CHECK(create->extract.ncaps == 2 && create->extract.caps[0].var == 1 && create->extract.caps[1].var == 2);
    CHECK(create->extract.caps[1].kind == CAP_HEADER);
    CHECK(!strcmp(read->name, "GET /api/items/${id}"));
    CHECK(!strncmp(render(&read->head, vals, 3, NULL), "GET /api/items/17 HTTP/1.1\r\n", 28));
    CHECK(read->extract.nchecks == 1 && read->extract.checks[0].kind == CHK_BODY_CONTAINS);
    CHECK(!strcmp(render(&read->extract.checks[0].value, vals, 3, NULL), "17"));

    const struct scn_class *p = &s.classes[1];
    CHECK(!strcmp(p->name, "prober") && p->think == THINK_NONE && p->non_start == 0 && p->ntasks == 1);
    CHECK(!strcmp(p->tasks[0].steps[0].name, "GET /health"));

    /* one statistic per distinct name, in order of first appearance */
    CHECK_EQ_U(s.nstats, 5);
    CHECK(!strcmp(s.stat_names[0], "POST /api/login") && login->stat == 0);
    CHECK(!strcmp(s.stat_names[1], "list items") && list->stat == 1);
    CHECK(create->stat == 2 && read->stat == 3 && p->tasks[0].steps[0].stat == 4);
    scenario_free(&s);
    CHECK(s.classes == NULL && s.nclasses == 0);
}

static void head_matches_the_quick_mode(void)
{
    struct scenario s;
    /* default port: no port in Host; a base path is prefixed; step headers override the
     * defaults by name in any case, in the defaults' place; Host and User-Agent replace ours */
    if (load(&s,
             "target: https://example.com/v1/\n"
             "defaults: { headers: { X-A: one, x-b: two } }\n"
             "users:\n"
             "  - name: u\n"
             "    tasks:\n"
             "      - get: /x?q=1\n"
             "        headers: { X-B: three, X-C: 4 }\n"
             "      - head: /h\n"
             "        headers: { host: other.example, user-agent: me }\n"
             "      - delete: /d\n"
             "        body: 'raw ${seq}'\n",
             NULL))
        { CHECK(0); return; }
    CHECK(!strcmp(s.target, "https://example.com"));
    const struct scn_step *a = &s.classes[0].tasks[0].steps[0], *h = &s.classes[0].tasks[1].steps[0],
                          *d = &s.classes[0].tasks[2].steps[0];
    CHECK(!strcmp(render(&a->head, NULL, 0, NULL), "GET /v1/x?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: barrage/" BARRAGE_VERSION
                                                   "\r\nX-A: one\r\nX-B: three\r\nX-C: 4\r\n"));
    CHECK(!a->head.dynamic && !a->has_body && !strcmp(a->name, "GET /x?q=1"));
    CHECK(!strcmp(render(&h->head, NULL, 0, NULL),
                  "HEAD /v1/h HTTP/1.1\r\nX-A: one\r\nx-b: two\r\nhost: other.example\r\nuser-agent: me\r\n"));
    CHECK(h->head_method && !h->has_body);
    CHECK(d->has_body && !strcmp(render(&d->body, NULL, 0, NULL), "raw 0"));
    CHECK(!strstr(render(&d->head, NULL, 0, NULL), "Content-Type"));
    scenario_free(&s);

    /* a non-default port is in Host, IPv6 in brackets; POST without a body still has one */
    if (load(&s, "target: http://[::1]:8081\nusers: [{name: u, tasks: [{post: /p}]}]\n", NULL)) { CHECK(0); return; }
    CHECK(!strcmp(s.target, "http://[::1]:8081"));
    const struct scn_step *p = &s.classes[0].tasks[0].steps[0];
    CHECK(!strcmp(render(&p->head, NULL, 0, NULL), "POST /p HTTP/1.1\r\nHost: [::1]:8081\r\nUser-Agent: barrage/" BARRAGE_VERSION "\r\n"));
    CHECK(p->has_body && p->body.nsegs == 0);
    CHECK(s.static_only && !s.has_think);
    scenario_free(&s);

    /* an IPv6 zone stays in the target, to connect through it, and out of Host */
    if (load(&s, "target: http://[fe80::1%25eth0]:8081\nusers: [{name: u, tasks: [{get: /p}]}]\n", NULL)) { CHECK(0); return; }
    CHECK(!strcmp(s.target, "http://[fe80::1%25eth0]:8081"));
    CHECK(strstr(render(&s.classes[0].tasks[0].steps[0].head, NULL, 0, NULL), "\r\nHost: [fe80::1]:8081\r\n") != NULL);
    scenario_free(&s);
}

static void json_bodies(void)
{
    struct scenario s;
    if (load(&s,
             "target: http://h\n"
             "users:\n"
             "  - name: u\n"
             "    tasks:\n"
             "      - post: /j\n"
             "        capture: { n: body, s: body }\n"
             "        headers: { content-type: application/vnd+json }\n"
             "        json:\n"
             "          int: 12\n"
             "          neg: -1.5e3\n"
             "          t: true\n"
             "          f: False\n"
             "          nul: ~\n"
             "          empty:\n"
             "          quoted: \"12\"\n"
             "          hex: 0x1F\n"
             "          raw: ${n}\n"
             "          word: ${s}\n"
             "          str: \"a \\\"q\\\" ${s}\"\n"
             "          esc: \"tab\\tnl\\n\"\n"
             "          two: ${n}${n}\n"
             "          \"k\\\"ey\": [1, [], {}, {a: 'x'}]\n"
             "          lit: '$${n}'\n",
             NULL))
        { CHECK(0); return; }
    const struct scn_step *st = &s.classes[0].tasks[0].steps[0];
    const char *vals[] = {"5", "say \"hi\"\n"};
    const char *body = render(&st->body, vals, 2, NULL);
    const char *want = "{\"int\":12,\"neg\":-1.5e3,\"t\":true,\"f\":false,\"nul\":null,\"empty\":null,\"quoted\":\"12\","
                       "\"hex\":\"0x1F\",\"raw\":5,\"word\":\"say \\\"hi\\\"\\n\",\"str\":\"a \\\"q\\\" say \\\"hi\\\"\\n\",\"esc\":\"tab\\tnl\\n\","
                       "\"two\":\"55\",\"k\\\"ey\":[1,[],{},{\"a\":\"x\"}],\"lit\":\"${n}\"}";
    if (strcmp(body, want)) printf("  body %s\n  want %s\n", body, want);
    CHECK(!strcmp(body, want));
    /* ${n} not captured yet: the bare value is null, so the body stays JSON */
    const char *unset[] = {"", "x"};
    CHECK(strstr(render(&st->body, unset, 2, NULL), "\"raw\":null,"));
    /* a bare value that is not a JSON number, word, object or array goes as a string, so
     * the body stays JSON (a CSV column of names, a token) */
    const char *words[][2] = {{"alice", "\"raw\":\"alice\","}, {"-0.5e+3", "\"raw\":-0.5e+3,"},
                              {"{\"a\":[1]}", "\"raw\":{\"a\":[1]},"}, {"[]", "\"raw\":[],"},
                              {"false", "\"raw\":false,"}, {"012", "\"raw\":\"012\","},
                              {"1.", "\"raw\":\"1.\","}, {"True", "\"raw\":\"True\","},
                              /* brackets that hold no JSON: a string, not broken JSON */
                              {"[WIP] fix", "\"raw\":\"[WIP] fix\","}, {"{name}", "\"raw\":\"{name}\","},
                              {"[1,2", "\"raw\":\"[1,2\","},
                              /* a JSON string keeps its quotes, its escapes undecoded (it lost them) */
                              {"\"Bob\"", "\"raw\":\"\\\"Bob\\\"\","},
                              {" \"a\\u0041\"", "\"raw\":\" \\\"a\\\\u0041\\\"\","}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        const char *v[] = {words[i][0], "x"};
        const char *b = render(&st->body, v, 2, NULL);
        if (!strstr(b, words[i][1])) printf("  %s: body %s\n", words[i][0], b);
        CHECK(strstr(b, words[i][1]));
    }
    /* the given Content-Type is kept, none added */
    const char *head = render(&st->head, vals, 2, NULL);
    CHECK(strstr(head, "content-type: application/vnd+json\r\n") && !strstr(head, "Content-Type"));
    scenario_free(&s);

    /* a bare ${uuid} is a string too; the numbers ${rand} and ${seq} stay bare */
    if (load(&s, "target: http://h\nusers:\n  - name: u\n    tasks:\n      - post: /j\n        json:\n"
                 "          id: ${uuid}\n          r: ${rand(7,7)}\n          s: ${seq}\n",
             NULL))
        { CHECK(0); return; }
    body = render(&s.classes[0].tasks[0].steps[0].body, NULL, 0, NULL);
    CHECK(strlen(body) == strlen("{\"id\":\"\",\"r\":7,\"s\":0}") + 36 && !strncmp(body, "{\"id\":\"", 7) &&
          body[43] == '"' && !strcmp(body + 44, ",\"r\":7,\"s\":0}"));
    scenario_free(&s);

    /* a top-level string and list */
    if (load(&s, "target: http://h\nusers: [{name: u, tasks: [{put: /a, json: \"x\"}, {put: /b, json: [1, \"2\"]}]}]\n",
             NULL))
        { CHECK(0); return; }
    CHECK(!strcmp(render(&s.classes[0].tasks[0].steps[0].body, NULL, 0, NULL), "\"x\""));
    CHECK(!strcmp(render(&s.classes[0].tasks[1].steps[0].body, NULL, 0, NULL), "[1,\"2\"]"));
    CHECK(strstr(render(&s.classes[0].tasks[1].steps[0].head, NULL, 0, NULL), "Content-Type: application/json\r\n"));
    scenario_free(&s);
}

static void checks_compile(void)
{
    struct scenario s;
    if (load(&s,
             "target: http://h\n"
             "users:\n"
             "  - name: u\n"
             "    on_failure: restart\n"
             "    pace: 2s\n"
             "    on_start: [{get: /s, capture: { v: body }}]\n"  /* ${v} below checks this too */
             "    tasks:\n"
             "      - get: /c\n"
             "        timeout: 250ms\n"
             "        capture: { v: 'regex:id=([0-9]+)' }\n"
             "        expect:\n"
             "          status: \"200-204,404\"\n"
             "          headers: { ETag: True, X-V: \"${v}\", X-T: 'true' }\n"
             "          body_contains: [ok, \"${v}\"]\n"
             "          json: { state: open, \"items[0].n\": 3, done: TRUE, gone: ~, none: , q: 'False' }\n",
             NULL))
        { CHECK(0); return; }
    const struct scn_class *c = &s.classes[0];
    CHECK(c->on_failure == ONFAIL_RESTART && c->think == THINK_PACE && c->think_min_ns == 2000000000ULL);
    const struct scn_step *st = &c->tasks[0].steps[0];
    CHECK_EQ_U(st->timeout_ns, 250000000ULL);
    CHECK(!strcmp(st->status_text, "200-204,404"));
    CHECK(status_ok(st, 200) && status_ok(st, 204) && !status_ok(st, 205) && status_ok(st, 404) && !status_ok(st, 302));
    const struct extract *x = &st->extract;
    CHECK(x->ncaps == 1 && x->caps[0].kind == CAP_REGEX);
    CHECK_EQ_U(x->nchecks, 11);
    if (x->nchecks != 11) { scenario_free(&s); return; }
    CHECK(x->checks[0].kind == CHK_HEADER_PRESENT && !strcmp(x->checks[0].name, "ETag"));
    CHECK(x->checks[1].kind == CHK_HEADER_EQUALS && !strcmp(x->checks[1].value_text, "${v}"));
    const char *vals[] = {"9"};
    CHECK(!strcmp(render(&x->checks[1].value, vals, 1, NULL), "9"));
    CHECK(x->checks[2].kind == CHK_HEADER_EQUALS && !strcmp(x->checks[2].value_text, "true"));
    CHECK(x->checks[3].kind == CHK_BODY_CONTAINS && x->checks[4].kind == CHK_BODY_CONTAINS);
    CHECK(x->checks[5].kind == CHK_JSON_EQUALS && !strcmp(x->checks[5].name, "json.state") && x->checks[5].npath == 1);
    CHECK(x->checks[6].kind == CHK_JSON_EQUALS && x->checks[6].npath == 3 && !strcmp(x->checks[6].value_text, "3"));
    /* YAML's spellings of true and null are the JSON words the field is compared with; a
     * quoted 'False' stays the text it is */
    const char *words[] = {"true", "null", "null", "False"};
    for (int i = 0; i < 4; i++) {
        CHECK(!strcmp(x->checks[7 + i].value_text, words[i]));
        CHECK(!strcmp(render(&x->checks[7 + i].value, vals, 1, NULL), words[i]));
    }
    CHECK(x->needs_body && x->needs_json);
    CHECK(s.has_think && !s.static_only);
    scenario_free(&s);
}

static void reports_errors_with_position(void)
{
    const char *top = "target: http://h\nusers:\n  - name: u\n    tasks:\n";
    char y[2048];
#define STEP(text) (snprintf(y, sizeof(y), "%s%s", top, text), y)
    CHECK(fails(STEP("      - get: /a\n        hedaers: {}\n"), NULL, "t.yaml:6:9: ",
                "unknown key 'hedaers' in a step (expected: get, post"));
    CHECK(fails("target: http://h\nuser: []\n", NULL, "t.yaml:2:1: ", "unknown key 'user' at the top (expected: target, defaults, data, users)"));
    CHECK(fails("target: http://h\ndefaults: { timout: 1s }\nusers: []\n", NULL, "t.yaml:2:13: ", "unknown key 'timout' in defaults"));
    CHECK(fails(STEP("      - get: /a\n        expect: { statu: 200 }\n"), NULL, "t.yaml:6:19: ", "unknown key 'statu' in expect"));
    CHECK(fails("target: http://h\nusers:\n  - name: u\n    task: []\n", NULL, "t.yaml:4:5: ", "unknown key 'task' in a user class"));
    CHECK(fails("target: http://h\nusers:\n  - name: u\n    get: /x\n", NULL, "t.yaml:4:5: ", "belongs in a task"));
    CHECK(fails(STEP("      - sequence: [{get: /a}]\n        wait: 1\n"), NULL, "t.yaml:6:9: ", "unknown key 'wait' in a task"));
    CHECK(fails(STEP("      - sequence: [{get: /a}]\n        get: /b\n"), NULL, "t.yaml:6:9: ", "not both"));
    /* an unknown variable: at the placeholder's column, naming the variables there are */
    CHECK(fails(STEP("      - get: /a/${tokn}\n        capture: { token: body }\n"), NULL, "t.yaml:5:17: ",
                "unknown variable 'tokn' (variables: token;"));
    CHECK(fails(STEP("      - get: /a\n        headers: { A: \"x ${nope}\" }\n"), NULL, "t.yaml:6:26: ", "unknown variable 'nope'"));
    CHECK(fails(STEP("      - get: /a\n        json: { a: [\"${zz}\"] }\n"), NULL, "t.yaml:6:22: ", "${zz}: unknown variable"));
    CHECK(fails(STEP("      - get: /${accounts.x}\n"), NULL, "t.yaml:5:15: ", "no data named 'accounts'"));
    CHECK(fails(STEP("      - get: /${rand(5,1)}\n"), NULL, "t.yaml:5:15: ", "a <= b"));
    /* a check on what only its own step captures: checks run first, so it sees the previous value */
    CHECK(fails(STEP("      - get: /a\n        capture: { id: json.id }\n        expect: { body_contains: \"x${id}\" }\n"),
                NULL, "t.yaml:7:19: ",
                "expect: ${id} is captured by this step only, after its checks run: the check would see the "
                "previous response's value; check it in a later step"));
    CHECK(fails(STEP("      - get: /a\n        capture: { id: json.id }\n        expect: { json: { id: \"${id}\" } }\n"),
                NULL, "t.yaml:7:19: ", "${id} is captured by this step only"));
    {   /* captured by another step too (a login, a previous task): the check is about that value */
        struct scenario two;
        CHECK(load(&two, "target: http://h\nusers:\n  - name: u\n    on_start: [{get: /l, capture: {id: json.id}}]\n"
                         "    tasks:\n      - get: /a\n        capture: { id: json.id }\n"
                         "        expect: { body_contains: \"${id}\" }\n      - get: /b\n        expect: { body_contains: \"${id}\" }\n",
                   NULL) == 0);
        scenario_free(&two);
    }
    CHECK(fails(STEP("      - get: /${x\n"), NULL, "t.yaml:5:15: ", "no closing }"));
    /* types */
    CHECK(fails("target: http://h\nusers: { name: u }\n", NULL, "t.yaml:2:10: ", "users: expected a non-empty list of user classes, got a mapping"));
    CHECK(fails("target: http://h\nusers: []\n", NULL, "t.yaml:2:1: ", "got an empty list"));
    CHECK(fails(STEP("      - get: [/a]\n"), NULL, "t.yaml:5:15: ", "GET: expected a string, got a list"));
    CHECK(fails(STEP("      - get: /a\n        headers: [A]\n"), NULL, "t.yaml:6:19: ", "headers: expected a mapping"));
    CHECK(fails(STEP("      - get: /a\n        body: { a: 1 }\n"), NULL, "t.yaml:6:17: ", "body: expected a string, got a mapping"));
    CHECK(fails(STEP("      - get: /a\n        expect: { status: [200, x] }\n"), NULL, "t.yaml:6:33: ", "'x' is not a status"));
    CHECK(fails(STEP("      - get: /a\n        expect: { status: 700 }\n"), NULL, "t.yaml:6:27: ", "'700' is not a status"));
    CHECK(fails(STEP("      - get: /a\n        expect: { headers: { A: false } }\n"), NULL, "t.yaml:6:33: ", "false is not supported"));
    CHECK(fails(STEP("      - get: /a\n        expect: { headers: { A: ~ } }\n"), NULL, "t.yaml:6:33: ",
                "expect header A: null is not supported (true: present, or a value to equal; \"\" for an empty one)"));
    /* a header name no response can have: the check could only fail */
    CHECK(fails(STEP("      - get: /a\n        expect: { headers: { \"A B\": x } }\n"), NULL, "t.yaml:6:31: ",
                "expect header name 'A B': invalid character"));
    CHECK(fails(STEP("      - get: /a\n        expect: { headers: { \"ETag:\": true } }\n"), NULL, "t.yaml:6:31: ",
                "expect header name 'ETag:': invalid character"));
    CHECK(fails(STEP("      - get: /a\n        capture: { x: jsn.a }\n"), NULL, "t.yaml:6:23: ", "unknown capture 'jsn.a'"));
    CHECK(fails(STEP("      - get: /a\n        capture: { uuid: body }\n"), NULL, "t.yaml:6:20: ", "is a built-in"));
    CHECK(fails(STEP("      - get: /a\n        timeout: soon\n"), NULL, "t.yaml:6:18: ", "not a duration"));
    /* an empty value is at its key (it was at the mapping's last key: the wrong line) */
    CHECK(fails(STEP("      - get: /a\n        timeout:\n        name: x\n"), NULL, "t.yaml:6:9: ", "timeout: '' is not a duration"));
    CHECK(fails(STEP("      - get:\n        name: x\n"), NULL, "t.yaml:5:9: ", "must start with '/'"));
    CHECK(fails("target: http://h\nusers:\n  - name: u\n    think:\n    tasks: [{get: /}]\n", NULL, "t.yaml:4:5: ",
                "think: '' is not a duration"));
    CHECK(fails("target: http://h\nusers:\n  - name:\n    tasks: [{get: /}]\n", NULL, "t.yaml:3:5: ", "name: expected 1 to"));
    CHECK(fails("target:\nusers: [{name: u, tasks: [{get: /}]}]\n", NULL, "t.yaml:1:1: ", "target: URL ''"));
    CHECK(fails("target: http://h\ndefaults:\nusers: []\n", NULL, "t.yaml:2:1: ", "defaults: expected a mapping"));
    /* an empty list too */
    CHECK(fails("target: http://h\nusers:\n  - name: u\n    tasks: []\n    think: 1s\n", NULL, "t.yaml:4:5: ",
                "tasks: expected a non-empty list, got an empty list"));
    CHECK(fails("target: http://h\nusers:\n  - name: u\n    on_start: []\n    tasks: [{get: /}]\n", NULL, "t.yaml:4:5: ",
                "on_start: expected a non-empty list of steps"));
    CHECK(fails("target: http://h\nusers: []\ndata: {}\n", NULL, "t.yaml:2:1: ", "got an empty list"));
    CHECK(fails(STEP("      - get: /a\n        weight: 0\n"), NULL, "t.yaml:6:17: ", "weight: '0' is not a whole number"));
    CHECK(fails(STEP("      - get: /a\n        post: /b\n"), NULL, "t.yaml:6:9: ", "a step has one method"));
    CHECK(fails(STEP("      - name: x\n"), NULL, "t.yaml:5:9: ", "a step needs one of get, post"));
    CHECK(fails(STEP("      - get: a\n"), NULL, "t.yaml:5:14: ", "must start with '/'"));
    CHECK(fails(STEP("      - get: /a b\n"), NULL, "t.yaml:5:16: ", "percent-encode"));
    CHECK(fails(STEP("      - get: /a\n        json: 1\n        body: x\n"), NULL, "t.yaml:7:15: ", "not both"));
    CHECK(fails(STEP("      - get: /a\n        headers: { \"A\\nB\": x }\n"), NULL, "t.yaml:6:21: ", "invalid character"));
    CHECK(fails(STEP("      - get: /a\n        headers: { A: \"x\\r\\ny\" }\n"), NULL, "t.yaml:6:25: ", "control character"));
    CHECK(fails(STEP("      - get: /a\n        headers: { content-length: 5 }\n"), NULL, "t.yaml:6:20: ", "Content-Length"));
    CHECK(fails(STEP("      - get: /a\n    think: 1s\n    pace: 1s\n"), NULL, "t.yaml:7:11: ", "not both"));
    CHECK(fails(STEP("      - get: /a\n    think: 3s..1s\n"), NULL, "t.yaml:6:12: ", "the first is above the second"));
    /* three dots: not 1s..0.3s ("the first is above the second"), nor 0..0.5s */
    CHECK(fails(STEP("      - get: /a\n    think: 1s...3s\n"), NULL, "t.yaml:6:12: ", "think: '1s...3s' is not a range"));
    CHECK(fails(STEP("      - get: /a\n    think: 0...5s\n"), NULL, "t.yaml:6:12: ", "think: '0...5s' is not a range"));
    CHECK(fails(STEP("      - get: /a\n    on_failure: retry\n"), NULL, "t.yaml:6:17: ", "continue, restart or stop"));
    CHECK(fails(STEP("      - get: /a\n    weight: -1\n"), NULL, "t.yaml:6:13: ", "not a number above 0"));
    CHECK(fails(STEP("      - get: /a\n  - name: u\n    tasks: [{get: /b}]\n"), NULL, "t.yaml:6:11: ",
                "duplicate class name 'u' (first at line 3)"));
    CHECK(fails("target: http://h\nusers:\n  - weight: 1\n    tasks: [{get: /b}]\n", NULL, "t.yaml:3:5: ", "needs a name"));
    CHECK(fails("target: http://h\nusers:\n  - name: u\n", NULL, "t.yaml:3:5: ", "needs tasks:"));
    /* the file itself */
    CHECK(fails("users: [{name: u, tasks: [{get: /}]}]\n", NULL, "t.yaml: ", "no target:"));
    CHECK(fails("target: ftp://h\n", NULL, "t.yaml:1:9: ", "unsupported scheme"));
    CHECK(fails("target: http://h/api?x=1\nusers: []\n", NULL, "t.yaml:1:9: ", "no query"));
    CHECK(fails("target: http://h\nusers: [\n", NULL, "t.yaml:3:1: ", "flow sequence without a closing bracket"));
    CHECK(fails("target: http://h\ntarget: http://i\n", NULL, "t.yaml:2:1: ", "duplicate key"));
    CHECK(fails("target: http://h\nx: ab\xe9\n", NULL, "t.yaml:2:6: ", "not UTF-8 (byte 0xe9)"));
    CHECK(fails("%\x8a", NULL, "t.yaml:1:2: ", "not UTF-8"));  /* libfyaml 0.7 loops on it */
    CHECK(fails("x: \xed\xa0\x80\n", NULL, "t.yaml:1:4: ", "not UTF-8"));  /* a surrogate */
    CHECK(fails("", NULL, "t.yaml: ", "empty"));
    /* a second document would be dropped: refused where it starts */
    CHECK(fails("target: http://h\nusers: []\n---\ntarget: http://x\n", NULL, "t.yaml:4:1: ", "a second YAML document"));
    CHECK(fails("target: http://h\nusers: []\n--- {target: http://x}\n", NULL, "t.yaml:3:5: ", "a second YAML document"));
    {   /* markers around the one document, and comments after it, are fine */
        struct scenario one;
        CHECK(load(&one, "%YAML 1.2\n---\ntarget: http://h\nusers: [{name: u, tasks: [{get: /}]}]\n...\n# end\n", NULL) == 0);
        scenario_free(&one);
    }
    CHECK(fails("# only a comment\n", NULL, "t.yaml: ", "empty"));
    CHECK(fails("- a\n", NULL, "t.yaml:1:3: ", "expected a mapping with target:"));
    CHECK(fails("target: &t http://h\nusers: *t\n", NULL, "t.yaml:2:9: ", "aliases"));
    CHECK(fails("target: http://h\n? [a]\n: 1\n", NULL, "t.yaml:2:4: ", "a key must be a string"));
    CHECK(fails(STEP("      - get: /a\n        timeout: 1s\n        timeout: 2s\n"), NULL, "t.yaml:7:9: ", "duplicate key"));
    /* data */
    CHECK(fails("target: http://h\ndata: { d: { csv: missing.csv } }\nusers: []\n", NULL, "t.yaml:2:19: ",
                "data d: cannot open"));
    CHECK(fails("target: http://h\ndata: { d: { csv: users.csv, order: shuffled } }\nusers: []\n", NULL, "t.yaml:2:37: ",
                "sequential or random"));
    CHECK(fails("target: http://h\ndata: { seq: { csv: users.csv } }\nusers: []\n", NULL, "t.yaml:2:9: ", "data name 'seq'"));
    CHECK(fails("target: http://h\ndata: { d: { csv: users.csv } }\nusers: [{name: u, tasks: [{get: '/${d.nope}'}]}]\n", NULL,
                "t.yaml:3:35: ", "data d has no column 'nope' (columns: name, password)"));
    CHECK(fails("target: http://h\ndata: { d: { csv: users.csv } }\nusers: [{name: u, tasks: [{get: /, capture: {d: body}}]}]\n",
                NULL, "t.yaml:3:46: ", "capture name 'd' is the name of data"));
    /* limits */
    CHECK(fails("target: http://h\ndefaults: { var_bytes: 8 }\nusers: []\n", NULL, "t.yaml:2:24: ", "from 16 to 65536"));
    CHECK(fails("target: http://h\ndefaults: { cookies: 'no' }\nusers: []\n", NULL, "t.yaml:2:23: ",
                "cookies: expected true or false, got a string"));
#undef STEP
}

static void error_messages_fit_any_buffer(void)
{
    struct scenario s;
    char tiny[8];
    memset(tiny, 'x', sizeof(tiny));
    CHECK(scenario_parse(&s, "x: 1\n", 5, "t.yaml", NULL, NULL, tiny, sizeof(tiny)) == -1);
    CHECK(!strcmp(tiny, "t.yaml:"));
    CHECK(scenario_parse(&s, "x: 1\n", 5, "t.yaml", NULL, NULL, NULL, 0) == -1);
}

static void limits(void)
{
    /* more variables than a scenario holds */
    char *y = malloc(1 << 16);
    int n = sprintf(y, "target: http://h\nusers: [{name: u, tasks: [{get: /, capture: {");
    for (int i = 0; i <= SCN_MAX_VARS; i++) n += sprintf(y + n, "%sv%d: body", i ? ", " : "", i);
    sprintf(y + n, "}}]}]\n");
    CHECK(fails(y, NULL, "t.yaml:2:", "more than 64 capture names"));
    /* more steps than a scenario holds */
    n = sprintf(y, "target: http://h\nusers: [{name: u, tasks: [");
    for (int i = 0; i <= SCN_MAX_STEPS; i++) n += sprintf(y + n, "%s{get: /}", i ? "," : "");
    sprintf(y + n, "]}]\n");
    CHECK(fails(y, NULL, "t.yaml:2:", "more than 1024 tasks"));
    n = sprintf(y, "target: http://h\nusers: [{name: u, tasks: [{sequence: [");
    for (int i = 0; i < 600; i++) n += sprintf(y + n, "%s{get: /}", i ? "," : "");
    n += sprintf(y + n, "]}, {sequence: [");
    for (int i = 0; i < 600; i++) n += sprintf(y + n, "%s{get: /}", i ? "," : "");
    sprintf(y + n, "]}]}]\n");
    CHECK(fails(y, NULL, "t.yaml:2:", "more than 1024 steps"));
    /* deep nesting */
    n = sprintf(y, "target: http://h\nusers: [{name: u, tasks: [{post: /, json: ");
    for (int i = 0; i < 200; i++) y[n++] = '[';
    for (int i = 0; i < 200; i++) y[n++] = ']';
    sprintf(y + n, "}]}]\n");
    CHECK(fails(y, NULL, "t.yaml:2:", "depth"));
    free(y);
    /* a file over 1 MiB */
    size_t big = (1u << 20) + 1;
    char *b = malloc(big + 1);
    memset(b, '#', big);
    b[big] = '\0';
    struct scenario s;
    char err[256];
    CHECK(scenario_parse(&s, b, big, "big.yaml", NULL, NULL, err, sizeof(err)) == -1 && strstr(err, "big.yaml: larger than"));
    free(b);
}

static const char SELECT[] = "target: http://h\n"
                             "users:\n"
                             "  - name: reader\n"
                             "    tags: [read]\n"
                             "    tasks:\n"
                             "      - get: /r\n"
                             "      - get: /slow\n"
                             "        tags: [slow]\n"
                             "  - name: writer\n"
                             "    weight: 2.5\n"
                             "    tasks:\n"
                             "      - post: /w\n"
                             "        tags: [write]\n"
                             "      - name: both\n"
                             "        weight: 2\n"
                             "        tags: [write, slow]\n"
                             "        sequence: [{get: /a}, {get: /b, name: b}, {get: /c, name: b}]\n";

static void selects_tasks_and_users(void)
{
    struct scenario s;
    if (load(&s, SELECT, NULL)) { CHECK(0); return; }
    CHECK(s.nclasses == 2 && s.classes[0].ntasks == 2 && s.classes[1].ntasks == 2 && s.classes[1].weight == 2.5);
    CHECK(!strcmp(s.classes[1].tasks[1].name, "both") && s.classes[1].total_weight == 3);
    /* two steps named b share one statistic */
    const struct scn_task *both = &s.classes[1].tasks[1];
    CHECK(both->steps[1].stat == both->steps[2].stat && both->steps[0].stat != both->steps[1].stat);
    CHECK_EQ_U(s.nstats, 5);
    scenario_free(&s);

    const char *slow[] = {"slow"}, *write[] = {"write"}, *read[] = {"read"}, *none[] = {"none"};
    struct scenario_options o = {.tags = slow, .ntags = 1};
    if (load(&s, SELECT, &o)) { CHECK(0); return; }
    CHECK(s.nclasses == 2 && s.classes[0].ntasks == 1 && !strcmp(s.classes[0].tasks[0].steps[0].name, "GET /slow"));
    CHECK(s.classes[1].ntasks == 1 && !strcmp(s.classes[1].tasks[0].name, "both") && s.classes[1].total_weight == 2);
    CHECK(s.nstats == 3 && !strcmp(s.stat_names[0], "GET /slow"));
    scenario_free(&s);

    /* a class tag counts for each of its tasks; a class left without tasks is dropped */
    o = (struct scenario_options){.tags = read, .ntags = 1};
    if (load(&s, SELECT, &o)) { CHECK(0); return; }
    CHECK(s.nclasses == 1 && !strcmp(s.classes[0].name, "reader") && s.classes[0].ntasks == 2);
    scenario_free(&s);

    o = (struct scenario_options){.exclude_tags = write, .nexclude = 1};
    if (load(&s, SELECT, &o)) { CHECK(0); return; }
    CHECK(s.nclasses == 1 && !strcmp(s.classes[0].name, "reader"));
    CHECK(s.static_only == false);
    scenario_free(&s);

    o = (struct scenario_options){.tags = read, .ntags = 1, .exclude_tags = slow, .nexclude = 1};
    if (load(&s, SELECT, &o)) { CHECK(0); return; }
    CHECK(s.nclasses == 1 && s.classes[0].ntasks == 1 && !strcmp(s.classes[0].tasks[0].steps[0].name, "GET /r"));
    CHECK(s.static_only);  /* one class, one task, one plain step */
    scenario_free(&s);

    o = (struct scenario_options){.user = "writer"};
    if (load(&s, SELECT, &o)) { CHECK(0); return; }
    CHECK(s.nclasses == 1 && !strcmp(s.classes[0].name, "writer"));
    scenario_free(&s);

    o = (struct scenario_options){.tags = none, .ntags = 1};
    CHECK(fails(SELECT, &o, "t.yaml: ", "no task left after --tags/--exclude-tags"));
    o = (struct scenario_options){.user = "reader", .tags = write, .ntags = 1};
    CHECK(fails(SELECT, &o, "t.yaml: ", "no task left"));
    o = (struct scenario_options){.user = "admin"};
    CHECK(fails(SELECT, &o, "t.yaml: ", "--user admin: no such user class (classes: reader, writer)"));
    /* selection does not hide errors in the tasks it drops */
    o = (struct scenario_options){.tags = read, .ntags = 1};
    CHECK(fails("target: http://h\nusers:\n  - {name: a, tags: [read], tasks: [{get: /}]}\n  - {name: b, tasks: [{get: x}]}\n",
                &o, "t.yaml:4:", "must start with '/'"));
}

static void timeouts_and_targets(void)
{
    const char *y = "target: http://h:81/base\n"
                    "defaults: { timeout: 3s }\n"
                    "users: [{name: u, think: 2s, tasks: [{get: /a}, {get: /b, timeout: 1s}]}]\n";
    struct scenario s;
    if (load(&s, y, NULL)) { CHECK(0); return; }
    CHECK(s.timeout_ns == 3000000000ULL && s.classes[0].tasks[0].steps[0].timeout_ns == 3000000000ULL);
    CHECK(s.classes[0].tasks[1].steps[0].timeout_ns == 1000000000ULL);
    CHECK(s.classes[0].think == THINK_CONST && s.classes[0].think_min_ns == 2000000000ULL);
    CHECK(!strncmp(render(&s.classes[0].tasks[0].steps[0].head, NULL, 0, NULL), "GET /base/a HTTP/1.1\r\nHost: h:81\r\n", 34));
    scenario_free(&s);

    /* --timeout beats defaults: but not a step's own; a URL on the command line replaces target: */
    struct scenario_options o = {.timeout_ns = 7000000, .target = "http://other:9000"};
    if (load(&s, y, &o)) { CHECK(0); return; }
    CHECK(s.timeout_ns == 7000000 && s.classes[0].tasks[0].steps[0].timeout_ns == 7000000);
    CHECK(s.classes[0].tasks[1].steps[0].timeout_ns == 1000000000ULL);
    CHECK(!strcmp(s.target, "http://other:9000"));
    CHECK(!strncmp(render(&s.classes[0].tasks[0].steps[0].head, NULL, 0, NULL), "GET /a HTTP/1.1\r\nHost: other:9000\r\n", 35));
    scenario_free(&s);

    /* no timeout anywhere: 10s; var_bytes; a target may be left to the command line */
    o = (struct scenario_options){.target = "http://x"};
    if (load(&s, "defaults: {var_bytes: 1024}\nusers: [{name: u, think: '0', tasks: [{get: /}]}]\n", &o)) { CHECK(0); return; }
    CHECK(s.timeout_ns == 10000000000ULL && s.var_bytes == 1024 && s.classes[0].think == THINK_NONE);
    CHECK(s.cookies && !s.https && !strcmp(s.host, "x"));  /* users keep cookies unless told */
    CHECK(!s.classes[0].tasks[0].steps[0].own_cookie);
    scenario_free(&s);
    o = (struct scenario_options){.target = "https://[::1]:8443"};
    if (load(&s, "defaults: {cookies: false, headers: {cookie: a=1}}\nusers: [{name: u, tasks: [{get: /}]}]\n", &o)) {
        CHECK(0);
        return;
    }
    CHECK(!s.cookies && s.https && !strcmp(s.host, "::1") && s.classes[0].tasks[0].steps[0].own_cookie);
    scenario_free(&s);
}

static void loads_files_relative_to_their_directory(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/s.yaml", tmpdir);
    write_file("s.yaml", "target: http://h\ndata: { acc: { csv: users.csv, order: random } }\n"
                         "users: [{name: u, tasks: [{get: '/${acc.name}'}]}]\n");
    struct scenario s;
    char err[512] = "";
    int rc = scenario_load(&s, path, NULL, err, sizeof(err));
    if (rc) printf("  %s\n", err);
    CHECK(rc == 0);
    if (rc) return;
    CHECK(!strcmp(s.file, path) && s.nfeeders == 1 && s.feeders[0].order == FEED_RANDOM);
    CHECK(!strncmp(render(&s.classes[0].tasks[0].steps[0].head, NULL, 0, &s.feeders[0]), "GET /ann HTTP/1.1", 17));
    scenario_free(&s);

    snprintf(path, sizeof(path), "%s/none.yaml", tmpdir);
    CHECK(scenario_load(&s, path, NULL, err, sizeof(err)) == -1 && strstr(err, "none.yaml: cannot open") &&
          strstr(err, "No such file"));
    CHECK(scenario_load(&s, tmpdir, NULL, err, sizeof(err)) == -1 && strstr(err, "not a regular file"));
}

static void splits_users_by_weight(void)
{
    struct scenario s;
    if (load(&s,
             "target: http://h\nusers:\n  - {name: a, weight: 10, tasks: [{get: /}]}\n"
             "  - {name: b, weight: 1, tasks: [{get: /}]}\n  - {name: c, weight: 2.5, tasks: [{get: /}]}\n",
             NULL))
        { CHECK(0); return; }
    enum { N = 1000 };
    uint32_t cls[N];
    scenario_assign_classes(&s, N, cls);
    double total = 13.5;
    uint64_t count[3] = {0};
    bool within_one = true;
    for (unsigned j = 0; j < N; j++) {
        if (cls[j] > 2) { CHECK(0); return; }
        count[cls[j]]++;
        for (unsigned k = 0; k < 3; k++)
            if (fabs((double)count[k] - (j + 1) * s.classes[k].weight / total) >= 1.0) within_one = false;
    }
    CHECK(within_one);
    CHECK(cls[0] == 0);
    /* 27 users: exactly 20, 2, 5 */
    scenario_assign_classes(&s, 27, cls);
    unsigned c27[3] = {0};
    for (unsigned j = 0; j < 27; j++) c27[cls[j]]++;
    CHECK(c27[0] == 20 && c27[1] == 2 && c27[2] == 5);
    scenario_free(&s);
}

/* Values known at load time that would break the request line or a header (or inject
 * one): refused where the placeholder is, like literal text. Bodies take anything. */
static void values_that_would_break_the_request(void)
{
    setenv("BARRAGE_T_CRLF", "t\r\nEvil: 1", 1);
    setenv("BARRAGE_T_SPACE", "a b", 1);
    setenv("BARRAGE_T_TAB", "a\tb", 1);
#define U1(step) "target: http://h\ndata: { d: { csv: bad.csv } }\nusers: [{name: u, tasks: [" step "]}]\n"
    CHECK(fails(U1("{get: /, headers: {X-T: '${env.BARRAGE_T_CRLF}'}}"), NULL, "t.yaml:3:", "cannot go in a header"));
    CHECK(fails(U1("{get: '/p/${env.BARRAGE_T_SPACE}'}"), NULL, "t.yaml:3:", "cannot go in the path"));
    CHECK(fails(U1("{get: '/p/${d.name}'}"), NULL, "t.yaml:3:", "row 2 of the data has a space"));
    CHECK(fails(U1("{get: /, headers: {X-Pw: '${d.pw}'}}"), NULL, "t.yaml:3:", "row 2 of the data has a control character"));
    CHECK(fails(U1("{get: '/$${a b}'}"), NULL, "t.yaml:3:", "a space or control character in the path"));
    struct scenario sc;
    CHECK(load(&sc, U1("{get: /, headers: {X-T: '${env.BARRAGE_T_TAB}'}}"), NULL) == 0);  /* a tab is fine there */
    scenario_free(&sc);
    CHECK(load(&sc, U1("{post: /, body: '${d.pw} ${env.BARRAGE_T_CRLF}'}"), NULL) == 0);
    scenario_free(&sc);
#undef U1
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_scenario.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    write_file("users.csv", "name,password\nann,\"s\"\"1\"\nbob,pw2\n");
    write_file("bad.csv", "name,pw\nann,ok\n\"a b\",\"x\r\nInjected: yes\"\n");
    RUN(values_that_would_break_the_request);
    RUN(loads_the_issue_example);
    RUN(head_matches_the_quick_mode);
    RUN(json_bodies);
    RUN(checks_compile);
    RUN(reports_errors_with_position);
    RUN(error_messages_fit_any_buffer);
    RUN(limits);
    RUN(selects_tasks_and_users);
    RUN(timeouts_and_targets);
    RUN(loads_files_relative_to_their_directory);
    RUN(splits_users_by_weight);
    char path[128];
    snprintf(path, sizeof(path), "%s/users.csv", tmpdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/s.yaml", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    CHECK_EXIT();
}
