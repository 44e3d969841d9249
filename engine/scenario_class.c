/* A user class of a scenario compiled (see scenario_load.c): its name, weight, think time
 * or pace, on_failure and tags, its on_start steps and its weighted tasks (a step, or a
 * sequence of steps), each task kept or dropped by --tags/--exclude-tags; and freeing a
 * class with everything in it.
 */
#include "scenario_load_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

#define MAX_TASK_WEIGHT 1000000

#define CLASS_KEYS "name, weight, think, pace, tags, on_start, tasks, on_failure"
#define TASK_KEYS "weight, name, tags, sequence"

static void step_free(struct scn_step *st)
{
    free(st->name);
    tpl_free(&st->head);
    tpl_free(&st->body);
    free(st->status_text);
    extract_free(&st->extract);
    memset(st, 0, sizeof(*st));
}

static void task_free(struct scn_task *t)
{
    for (uint32_t i = 0; i < t->nsteps; i++) step_free(&t->steps[i]);
    free(t->steps);
    free(t->name);
    memset(t, 0, sizeof(*t));
}

void class_free(struct scn_class *c)
{
    free(c->name);
    for (uint32_t i = 0; i < c->ntags; i++) free(c->tags[i]);
    free(c->tags);
    for (uint32_t i = 0; i < c->non_start; i++) step_free(&c->on_start[i]);
    free(c->on_start);
    for (uint32_t i = 0; i < c->ntasks; i++) task_free(&c->tasks[i]);
    free(c->tasks);
    memset(c, 0, sizeof(*c));
}

/* Steps of a list into *out (allocated). */
static int compile_steps(struct ld *l, struct fy_node *seq, const char *what, struct scn_step **out, uint32_t *n)
{
    if (!is_seq(seq) || !fy_node_sequence_item_count(seq))
        return fail(l, seq, "%s: expected a non-empty list of steps, got %s", what,
                    is_seq(seq) ? "an empty list" : kind_name(seq));
    int count = fy_node_sequence_item_count(seq);
    if (count > SCN_MAX_STEPS) return fail(l, seq, "more than %d steps", SCN_MAX_STEPS);
    *out = calloc((size_t)count, sizeof(**out));
    if (!*out) return oom(l);
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(seq, &it))) {
        int rc = compile_step(l, item, &(*out)[*n], false);
        (*n)++;  /* a failed step is freed with the others */
        if (rc) return -1;
    }
    return 0;
}

/* Tags: a list of strings (or one string). Pointers into the document. */
static int get_tags(struct ld *l, struct fy_node *n, const char **tags, size_t *lens, uint32_t *ntags, uint32_t max)
{
    struct fy_node *item = n;
    void *it = NULL;
    if (is_seq(n)) item = fy_node_sequence_iterate(n, &it);
    else if (!is_scalar(n)) return fail(l, n, "tags: expected a list of names, got %s", kind_name(n));
    while (item) {
        const char *s;
        size_t len;
        if (get_text(l, item, "tags", &s, &len)) return -1;
        if (!len || memchr(s, ',', len)) return fail(l, item, "tags: '%.*s' is not a tag (non-empty, no comma)",
                                                     (int)(len > 60 ? 60 : len), s);
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)s[i] < 0x20) return fail(l, item, "tags: a control character");
        if (*ntags == max) return fail(l, item, "more than %u tags", max);
        tags[*ntags] = s;
        lens[(*ntags)++] = len;
        item = is_seq(n) ? fy_node_sequence_iterate(n, &it) : NULL;
    }
    return 0;
}

static bool tag_listed(const char *tag, size_t len, const char *const *list, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (list[i] && key_is(tag, len, list[i])) return true;
    return false;
}

#define MAX_TAGS 64

/* A task: a step with weight/tags, or { weight, name, tags, sequence }. *keep: the
 * --tags/--exclude-tags selection keeps it. */
static int compile_task(struct ld *l, struct fy_node *item, const struct scn_class *c, struct scn_task *t, bool *keep)
{
    memset(t, 0, sizeof(*t));
    t->weight = 1;
    if (!is_map(item)) return fail(l, item, "a task: expected a mapping (a step, or sequence:), got %s", kind_name(item));
    struct fy_node *seq = map_get(item, "sequence"), *weight = NULL, *tags = NULL, *name = NULL;
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    while (next_pair(l, item, &it, &k, &klen, &kn, &v)) {
        if (key_is(k, klen, "weight")) weight = v;
        else if (key_is(k, klen, "tags")) tags = v;
        else if (key_is(k, klen, "name")) name = v;
        else if (seq && !key_is(k, klen, "sequence")) {
            unsigned m;
            if (is_method_key(k, klen, &m))
                return fail(l, kn, "a task has sequence: or a method (%.*s:), not both", (int)klen, k);
            return unknown_key(l, kn, k, klen, "in a task", TASK_KEYS);
        }
    }
    if (weight) {
        char buf[32];
        if (get_short(l, weight, "weight", buf, sizeof(buf))) return -1;
        char *end;
        long w = strtol(buf, &end, 10);
        if (!isdigit((unsigned char)buf[0]) || *end || w < 1 || w > MAX_TASK_WEIGHT)
            return fail(l, weight, "weight: '%s' is not a whole number from 1 to %d", buf, MAX_TASK_WEIGHT);
        t->weight = (uint32_t)w;
    }
    const char *tag[MAX_TAGS];
    size_t tlen[MAX_TAGS];
    uint32_t ntag = 0;
    if (tags && get_tags(l, tags, tag, tlen, &ntag, MAX_TAGS)) return -1;

    if (seq) {
        if (name) {
            const char *n;
            size_t nl;
            if (get_text(l, name, "name", &n, &nl)) return -1;
            if (!(t->name = dup_text(n, nl))) return oom(l);
        }
        if (compile_steps(l, seq, "sequence", &t->steps, &t->nsteps)) return -1;
    } else {
        t->steps = calloc(1, sizeof(*t->steps));
        if (!t->steps) return oom(l);
        t->nsteps = 1;
        if (compile_step(l, item, &t->steps[0], true)) return -1;
        if (!(t->name = strdup(t->steps[0].name))) return oom(l);
    }

    const struct scenario_options *o = l->opt;
    bool any = false, excluded = false;
    for (uint32_t i = 0; i < ntag; i++) {
        any |= tag_listed(tag[i], tlen[i], o->tags, o->ntags);
        excluded |= tag_listed(tag[i], tlen[i], o->exclude_tags, o->nexclude);
    }
    for (uint32_t i = 0; i < c->ntags; i++) {
        any |= tag_listed(c->tags[i], strlen(c->tags[i]), o->tags, o->ntags);
        excluded |= tag_listed(c->tags[i], strlen(c->tags[i]), o->exclude_tags, o->nexclude);
    }
    *keep = (!o->ntags || any) && !excluded;
    return 0;
}

static int parse_think(struct ld *l, struct fy_node *n, struct scn_class *c)
{
    char buf[80];
    if (get_short(l, n, "think", buf, sizeof(buf))) return -1;
    char *dots = strstr(buf, "..");
    if (!dots) {
        if (parse_duration(buf, &c->think_min_ns))
            return fail(l, n, "think: '%s' is not a duration (0, 2s, or a range 1s..3s)", buf);
        c->think_max_ns = c->think_min_ns;
        c->think = c->think_min_ns ? THINK_CONST : THINK_NONE;
        return 0;
    }
    *dots = '\0';
    /* "1s...3s" is not 1s..0.3s */
    if (dots[2] == '.' || parse_duration(buf, &c->think_min_ns) || parse_duration(dots + 2, &c->think_max_ns))
        return fail(l, n, "think: '%s..%s' is not a range of durations like 1s..3s", buf, dots + 2);
    if (c->think_min_ns > c->think_max_ns) return fail(l, n, "think: %s..%s: the first is above the second", buf, dots + 2);
    c->think = c->think_min_ns == c->think_max_ns ? (c->think_min_ns ? THINK_CONST : THINK_NONE) : THINK_UNIFORM;
    return 0;
}

/* A class; *keep: --user and the tag selection leave it some task. */
int compile_class(struct ld *l, struct fy_node *map, struct scn_class *c, bool *keep)
{
    memset(c, 0, sizeof(*c));
    c->weight = 1;
    if (!is_map(map)) return fail(l, map, "a user class: expected a mapping (%s), got %s", CLASS_KEYS, kind_name(map));
    struct fy_node *name = NULL, *weight = NULL, *think = NULL, *pace = NULL, *tags = NULL, *on_start = NULL,
                   *tasks = NULL, *on_failure = NULL;
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    while (next_pair(l, map, &it, &k, &klen, &kn, &v)) {
        if (key_is(k, klen, "name")) name = v;
        else if (key_is(k, klen, "weight")) weight = v;
        else if (key_is(k, klen, "think")) think = v;
        else if (key_is(k, klen, "pace")) pace = v;
        else if (key_is(k, klen, "tags")) tags = v;
        else if (key_is(k, klen, "on_start")) on_start = v;
        else if (key_is(k, klen, "tasks")) tasks = v;
        else if (key_is(k, klen, "on_failure")) on_failure = v;
        else {
            unsigned m;
            if (is_method_key(k, klen, &m) || key_is(k, klen, "sequence"))
                return fail(l, kn, "'%.*s' belongs in a task: put it under tasks:", (int)klen, k);
            return unknown_key(l, kn, k, klen, "in a user class", CLASS_KEYS);
        }
    }
    if (!name) return fail(l, map, "a user class needs a name:");
    const char *n;
    size_t nl;
    if (get_text(l, name, "name", &n, &nl)) return -1;
    if (!nl || nl > 200) return fail(l, name, "name: expected 1 to 200 characters");
    for (size_t i = 0; i < nl; i++)
        if ((unsigned char)n[i] < 0x20 || n[i] == ',') return fail(l, name, "name: a control character or comma");
    for (uint32_t i = 0; i < l->nclass_names; i++)
        if (key_is(n, nl, l->class_names[i]))
            return fail(l, name, "duplicate class name '%s' (first at line %d)", l->class_names[i], l->class_locs[i].line + 1);
    if (!(c->name = dup_text(n, nl))) return oom(l);
    char **cn = realloc(l->class_names, (l->nclass_names + 1) * sizeof(*cn));
    if (cn) l->class_names = cn;
    struct loc *cl = realloc(l->class_locs, (l->nclass_names + 1) * sizeof(*cl));
    if (cl) l->class_locs = cl;
    if (!cn || !cl || !(l->class_names[l->nclass_names] = strdup(c->name))) return oom(l);
    l->class_locs[l->nclass_names++] = node_loc(name, 0);

    if (weight) {
        char buf[64];
        if (get_short(l, weight, "weight", buf, sizeof(buf))) return -1;
        char *end;
        errno = 0;
        double w = strtod(buf, &end);
        if (errno || end == buf || *end || isspace((unsigned char)buf[0]) || !isfinite(w) || w <= 0 || w > 1e9)
            return fail(l, weight, "weight: '%s' is not a number above 0 (and at most 1e9)", buf);
        c->weight = w;
    }
    if (think && pace) return fail(l, pace, "pace: a class has think: or pace:, not both");
    if (think && parse_think(l, think, c)) return -1;
    if (pace) {
        if (parse_dur_node(l, pace, "pace", &c->think_min_ns, false)) return -1;
        c->think_max_ns = c->think_min_ns;
        c->think = THINK_PACE;
    }
    if (on_failure) {
        char buf[16];
        if (get_short(l, on_failure, "on_failure", buf, sizeof(buf))) return -1;
        if (!strcmp(buf, "continue")) c->on_failure = ONFAIL_CONTINUE;
        else if (!strcmp(buf, "restart")) c->on_failure = ONFAIL_RESTART;
        else if (!strcmp(buf, "stop")) c->on_failure = ONFAIL_STOP;
        else return fail(l, on_failure, "on_failure: expected continue, restart or stop, not '%s'", buf);
    }
    if (tags) {
        const char *tag[MAX_TAGS];
        size_t tlen[MAX_TAGS];
        uint32_t nt = 0;
        if (get_tags(l, tags, tag, tlen, &nt, MAX_TAGS)) return -1;
        if (!(c->tags = calloc(nt ? nt : 1, sizeof(char *)))) return oom(l);
        for (; c->ntags < nt; c->ntags++)
            if (!(c->tags[c->ntags] = dup_text(tag[c->ntags], tlen[c->ntags]))) return oom(l);
    }
    if (on_start && compile_steps(l, on_start, "on_start", &c->on_start, &c->non_start)) return -1;

    if (!tasks) return fail(l, map, "user class '%s' needs tasks:", c->name);
    if (!is_seq(tasks) || !fy_node_sequence_item_count(tasks))
        return fail(l, tasks, "tasks: expected a non-empty list, got %s", is_seq(tasks) ? "an empty list" : kind_name(tasks));
    int count = fy_node_sequence_item_count(tasks);
    if (count > SCN_MAX_STEPS) return fail(l, tasks, "more than %d tasks", SCN_MAX_STEPS);
    if (!(c->tasks = calloc((size_t)count, sizeof(*c->tasks)))) return oom(l);
    void *tit = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(tasks, &tit))) {
        bool keep_task = false;
        struct scn_task *t = &c->tasks[c->ntasks];
        int rc = compile_task(l, item, c, t, &keep_task);
        if (rc || !keep_task) {
            task_free(t);
            if (rc) return -1;
            continue;
        }
        c->total_weight += t->weight;
        c->ntasks++;
    }
    *keep = c->ntasks > 0 && (!l->opt->user || !strcmp(l->opt->user, c->name));
    return 0;
}
