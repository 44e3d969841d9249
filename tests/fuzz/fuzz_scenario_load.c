/* libFuzzer target for the scenario loader (scenario_parse: YAML in, compiled scenario out).
 *
 * The input is copied to a heap block of exactly its size (so that ASan sees any read past
 * the end) and parsed with a full error buffer, then again with an 11-byte one. Checks:
 * - both parses agree; a failure returns -1, leaves the scenario zeroed and a one-line
 *   message "fuzz.yaml:LINE:COL: ..." or "fuzz.yaml: ..." (the short one cut, terminated);
 * - a success has 1+ classes, each with a weight > 0, 1+ tasks whose weights add up to
 *   total_weight, 1+ steps each; every step's statistic names it; every capture writes a
 *   slot below nvars <= SCN_MAX_VARS; think and pace fields agree;
 * - every head renders as "METHOD /... HTTP/1.1\r\n...\r\n" within tpl_max_len, and every
 *   body and check value renders within its bound;
 * - the users split over the classes within one of their weights;
 * - scenario_free releases everything (libFuzzer's leak check).
 * A users.csv (columns name, password) is in the data directory, so feeders load.
 *
 * Build: make fuzzers (links every engine source, libfyaml and jansson)
 */
#include "scenario.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

/* libfyaml 0.7.12 leaks 512 bytes when it unescapes some single-quoted scalars with many
 * '' in them (e.g. `- '''''''''#'''`, seeds/libfyaml_quote_leak): its bug, not ours. Only
 * blocks that libfyaml allocated are ignored; a leak of the loader's is still reported. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfyaml.so\n"; }

static void die(const char *why, const char *detail)
{
    fprintf(stderr, "fuzz_scenario_load: %s (%s)\n", why, detail ? detail : "");
    abort();
}

static void remove_dir(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/users.csv", dir);
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof(dir), "/tmp/fuzz_scenario_load.XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp", dir);
    char path[128];
    snprintf(path, sizeof(path), "%s/users.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write", path);
    fputs("name,password\nann,\"s\"\"1\"\nbob,pw2\n", f);
    fclose(f);
    atexit(remove_dir);
    return 0;
}

static bool zeroed(const struct scenario *s)
{
    static const struct scenario zero;
    return !memcmp(s, &zero, sizeof(zero));
}

static void check_error(const char *err, const char *tiny)
{
    static const char where[] = "fuzz.yaml:";
    if (strncmp(err, where, sizeof(where) - 1) && strncmp(err, "fuzz.yaml: ", 11)) die("message without its file", err);
    if (strchr(err, '\n') || strchr(err, '\r')) die("message over two lines", err);
    const char *p = err + sizeof(where) - 1;
    if (*p != ' ') {  /* LINE:COL: */
        char *end;
        long line = strtol(p, &end, 10);
        if (end == p || line < 1 || *end != ':') die("bad line", err);
        p = end + 1;
        long col = strtol(p, &end, 10);
        if (end == p || col < 1 || end[0] != ':' || end[1] != ' ') die("bad column", err);
    }
    if (strlen(tiny) != 10 || strncmp(tiny, err, 10)) die("short message not cut to the buffer", tiny);
}

static void check_tpl(const struct tpl *t, const struct tpl_env *env, char *buf, size_t cap, const char *what)
{
    size_t max = tpl_max_len(t, env);
    size_t n = tpl_render(t, env, buf, cap);
    if (n > max) die("rendering above tpl_max_len", what);
}

static void check_step(const struct scenario *s, const struct scn_step *st, const struct tpl_env *env, char *buf,
                       size_t cap)
{
    if (!st->name || !st->status_text || st->stat >= s->nstats) die("step without name or stat", st->name);
    if (strcmp(s->stat_names[st->stat], st->name)) die("stat names another step", st->name);
    if (!st->timeout_ns) die("no timeout", st->name);
    size_t max = tpl_max_len(&st->head, env);
    size_t n = tpl_render(&st->head, env, buf, cap);
    if (n > max) die("head above tpl_max_len", st->name);
    if (n <= cap) {
        const char *sp = memchr(buf, ' ', n);
        if (!sp || sp[1] != '/' || n < 2 || memcmp(buf + n - 2, "\r\n", 2) || !memmem(buf, n, " HTTP/1.1\r\n", 11))
            die("malformed head", st->name);
        if (st->head_method != !memcmp(buf, "HEAD ", 5)) die("head_method wrong", st->name);
    }
    check_tpl(&st->body, env, buf, cap, st->name);
    const struct extract *x = &st->extract;
    for (unsigned i = 0; i < x->ncaps; i++)
        if (x->caps[i].var >= s->nvars || strcmp(x->caps[i].var_name, s->vars[x->caps[i].var]))
            die("capture into a wrong slot", st->name);
    for (unsigned i = 0; i < x->nchecks; i++) check_tpl(&x->checks[i].value, env, buf, cap, st->name);
    if (x->needs_body != (x->ncaps || x->nchecks)) die("needs_body wrong", st->name);
    bool any = false;
    for (unsigned i = 0; i < 10; i++) any |= st->status_ok[i] != 0;
    if (!any) die("no status passes", st->name);
}

static void check_scenario(const struct scenario *s)
{
    if (!s->nclasses || !s->target || !s->file || s->nvars > SCN_MAX_VARS || !s->nstats) die("bad totals", s->target);
    if (s->var_bytes < 16 || s->var_bytes > 65536 || !s->timeout_ns) die("bad defaults", NULL);

    /* a render environment: every variable full, every feeder on its last row */
    static char vars[SCN_MAX_VARS * 256];
    uint32_t var_len[SCN_MAX_VARS], cap = s->var_bytes < 256 ? s->var_bytes : 256;
    for (uint32_t i = 0; i < s->nvars; i++) var_len[i] = cap;
    memset(vars, '"', sizeof(vars));
    uint32_t rows[64] = {0};
    const struct feeder *feeders[64];
    if (s->nfeeders > 64) die("too many feeders", NULL);
    for (uint32_t i = 0; i < s->nfeeders; i++) feeders[i] = &s->feeders[i], rows[i] = s->feeders[i].nrows - 1;
    uint64_t seq = 0, rng = 1;
    struct tpl_env env = {vars, var_len, cap, rows, feeders, 3, 1, &seq, &rng};
    static char buf[1 << 16];

    bool think = false;
    for (uint32_t i = 0; i < s->nclasses; i++) {
        const struct scn_class *c = &s->classes[i];
        if (!c->name || !(c->weight > 0) || !isfinite(c->weight) || !c->ntasks) die("bad class", c->name);
        if (c->think_min_ns > c->think_max_ns || (c->think == THINK_NONE) != (c->think_max_ns == 0))
            die("think fields disagree", c->name);
        think |= c->think != THINK_NONE;
        uint64_t total = 0;
        for (uint32_t t = 0; t < c->ntasks; t++) {
            if (!c->tasks[t].weight || !c->tasks[t].nsteps) die("empty task", c->name);
            total += c->tasks[t].weight;
            for (uint32_t j = 0; j < c->tasks[t].nsteps; j++) check_step(s, &c->tasks[t].steps[j], &env, buf, sizeof(buf));
        }
        if (total != c->total_weight) die("total_weight", c->name);
        for (uint32_t j = 0; j < c->non_start; j++) check_step(s, &c->on_start[j], &env, buf, sizeof(buf));
    }
    if (think != s->has_think) die("has_think", NULL);
    if (s->static_only && (s->nclasses != 1 || s->classes[0].ntasks != 1 || s->classes[0].tasks[0].nsteps != 1 ||
                           s->classes[0].tasks[0].steps[0].head.dynamic || s->nvars))
        die("static_only but not static", NULL);

    enum { USERS = 64 };
    uint32_t cls[USERS];
    uint64_t count[USERS] = {0};
    double wsum = 0;
    for (uint32_t k = 0; k < s->nclasses; k++) wsum += s->classes[k].weight;
    scenario_assign_classes(s, USERS, cls);
    for (uint32_t j = 0; j < USERS; j++) {
        if (cls[j] >= s->nclasses) die("class out of range", NULL);
        if (cls[j] < USERS) count[cls[j]]++;
    }
    for (uint32_t k = 0; k < s->nclasses && k < USERS; k++)
        if (fabs((double)count[k] - USERS * s->classes[k].weight / wsum) > 1.0 + 1e-9) die("split off by more than one", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384) return 0;
    char *text = malloc(size ? size : 1);
    if (size) memcpy(text, data, size);

    struct scenario s, again;
    char err[512], tiny[11];
    int rc = scenario_parse(&s, text, size, "fuzz.yaml", dir, NULL, err, sizeof(err));
    int rc2 = scenario_parse(&again, text, size, "fuzz.yaml", dir, NULL, tiny, sizeof(tiny));
    if (rc != rc2) die("result depends on the error buffer", err);
    if (rc2 == 0) scenario_free(&again);
    if (rc != 0) {
        if (rc != -1 || !zeroed(&s) || !zeroed(&again)) die("failure without -1 and a zeroed scenario", err);
        check_error(err, tiny);
    } else {
        check_scenario(&s);
        scenario_free(&s);
        if (!zeroed(&s)) die("scenario_free left something", NULL);
    }
    free(text);
    return 0;
}
