/* The scenario loader's located messages and YAML node helpers (see scenario_load.c): an
 * error is one line, "FILE:LINE:COL: message", at a node or, for an empty value or
 * collection, at its key (else at the last key looked at); the helpers are how every part
 * of the loader reads the document (a node's type, a scalar's text, the pairs of a
 * mapping, unknown keys, durations).
 */
#include "scenario_load_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* ---- messages ---- */

/* Where a node with no place of its own is (an empty value, "timeout:" and nothing; an
 * empty collection): at the key it is the value of, or for an item of a list, at the
 * list's key. */
static struct loc key_loc(struct fy_node *n, int depth)
{
    struct loc none = {-1, -1};
    for (struct fy_node *p; depth <= MAX_DEPTH && (p = fy_node_get_parent(n)); n = p, depth++) {
        if (!is_map(p)) continue;
        void *it = NULL;
        struct fy_node_pair *pair;
        while ((pair = fy_node_mapping_iterate(p, &it)))
            if (fy_node_pair_value(pair) == n) return node_loc(fy_node_pair_key(pair), depth + 1);
        return none;
    }
    return none;
}

struct loc node_loc(struct fy_node *n, int depth)
{
    struct loc none = {-1, -1};
    if (!n || depth > MAX_DEPTH) return none;
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR: {
        struct fy_token *t = fy_node_get_scalar_token(n);
        const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
        return m ? (struct loc){m->line, m->column} : key_loc(n, depth);
    }
    case FYNT_MAPPING: {
        void *it = NULL;
        struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
        return p ? node_loc(fy_node_pair_key(p), depth + 1) : key_loc(n, depth);
    }
    case FYNT_SEQUENCE: {
        void *it = NULL;
        struct fy_node *item = fy_node_sequence_iterate(n, &it);
        return item ? node_loc(item, depth + 1) : key_loc(n, depth);
    }
    }
    return none;
}

/* Control bytes (a quoted key may hold a newline) become '?': the message stays one line. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = '?';
}

static int vfail_loc(struct ld *l, struct loc at, const char *fmt, va_list ap)
{
    if (!l->err || !l->errlen) return -1;
    int n = at.line >= 0 ? snprintf(l->err, l->errlen, "%s:%d:%d: ", l->where, at.line + 1, at.col + 1)
                         : snprintf(l->err, l->errlen, "%s: ", l->where);
    if (n >= 0 && (size_t)n < l->errlen) vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
    one_line(l->err);
    return -1;
}

int __attribute__((format(printf, 3, 4))) fail_loc(struct ld *l, struct loc at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_loc(l, at, fmt, ap);
    va_end(ap);
    return -1;
}

/* An error at node n (or, for an empty value or collection, at its key). */
int __attribute__((format(printf, 3, 4))) fail(struct ld *l, struct fy_node *n, const char *fmt, ...)
{
    struct loc at = node_loc(n, 0);
    if (at.line < 0) at = l->near;
    va_list ap;
    va_start(ap, fmt);
    vfail_loc(l, at, fmt, ap);
    va_end(ap);
    return -1;
}

int __attribute__((format(printf, 2, 3))) fail_here(struct ld *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_loc(l, (struct loc){-1, -1}, fmt, ap);
    va_end(ap);
    return -1;
}

const char *kind_name(struct fy_node *n)
{
    if (!n) return "nothing";
    switch (fy_node_get_type(n)) {
    case FYNT_MAPPING: return "a mapping";
    case FYNT_SEQUENCE: return "a list";
    case FYNT_SCALAR: return "a scalar";
    }
    return "something else";
}

/* ---- node helpers ---- */

bool is_map(struct fy_node *n) { return n && fy_node_get_type(n) == FYNT_MAPPING; }
bool is_seq(struct fy_node *n) { return n && fy_node_get_type(n) == FYNT_SEQUENCE; }
bool is_scalar(struct fy_node *n) { return n && fy_node_get_type(n) == FYNT_SCALAR; }

/* A plain (unquoted) scalar: null, true, 12 are typed; "12" is a string. */
bool is_plain(struct fy_node *n) { return is_scalar(n) && fy_node_get_style(n) == FYNS_PLAIN; }

const char *scalar(struct fy_node *n, size_t *len)
{
    const char *s = fy_node_get_scalar(n, len);
    if (!s) {
        *len = 0;
        return "";
    }
    return s;
}

bool key_is(const char *k, size_t klen, const char *name) { return strlen(name) == klen && !memcmp(k, name, klen); }

/* The text of a scalar node, or an error naming `what` and what was expected. */
int get_text(struct ld *l, struct fy_node *n, const char *what, const char **s, size_t *len)
{
    if (!is_scalar(n)) return fail(l, n, "%s: expected a string, got %s", what, kind_name(n));
    *s = scalar(n, len);
    return 0;
}

/* The text as a NUL-terminated copy in buf (cut to size-1 bytes: for short values). */
int get_short(struct ld *l, struct fy_node *n, const char *what, char *buf, size_t size)
{
    const char *s;
    size_t len;
    if (get_text(l, n, what, &s, &len)) return -1;
    if (len >= size || memchr(s, '\0', len)) return fail(l, n, "%s: '%.40s' is not a valid value", what, s);
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

char *dup_text(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

int oom(struct ld *l) { return fail_here(l, "out of memory"); }

/* Iterates the pairs of a mapping: `k`/`klen` the key text, `v` the value; updates l->near. */
bool next_pair(struct ld *l, struct fy_node *map, void **it, const char **k, size_t *klen, struct fy_node **kn,
                      struct fy_node **v)
{
    struct fy_node_pair *p = fy_node_mapping_iterate(map, it);
    if (!p) return false;
    *kn = fy_node_pair_key(p);
    *v = fy_node_pair_value(p);
    *k = scalar(*kn, klen);
    struct loc at = node_loc(*kn, 0);
    if (at.line >= 0) l->near = at;
    return true;
}

int unknown_key(struct ld *l, struct fy_node *kn, const char *k, size_t klen, const char *in, const char *expected)
{
    int shown = klen > 60 ? 60 : (int)klen;
    return fail(l, kn, "unknown key '%.*s' %s (expected: %s)", shown, k, in, expected);
}

int parse_dur_node(struct ld *l, struct fy_node *n, const char *what, uint64_t *ns, bool allow_zero)
{
    char buf[64];
    if (get_short(l, n, what, buf, sizeof(buf))) return -1;
    if (parse_duration(buf, ns) || (!allow_zero && *ns < 1000000))
        return fail(l, n, "%s: '%s' is not a duration (like 500ms, 5s, 1m%s)", what, buf,
                    allow_zero ? ", or 0" : "; at least 1ms");
    return 0;
}

struct fy_node *map_get(struct fy_node *map, const char *key)
{
    if (!is_map(map)) return NULL;
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it))) {
        size_t len;
        const char *k = scalar(fy_node_pair_key(p), &len);
        if (key_is(k, len, key)) return fy_node_pair_value(p);
    }
    return NULL;
}
