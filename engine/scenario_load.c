/* The scenario loader: a YAML file (libfyaml's document API) compiled into struct scenario
 * (scenario.h). The format is documented in docs/SCENARIOS.md.
 *
 * Two passes over the document: the first collects the variables (every capture name, by
 * first appearance) so that a template may use a variable captured later in the file; the
 * second compiles everything, reporting the first error as "FILE:LINE:COL: message".
 * libfyaml's own diagnostics are collected, never printed.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plan.h"
#include "secrets.h"

#define MAX_FILE_BYTES (1u << 20)      /* a scenario file */
#define MAX_CSV_BYTES (256u << 20)     /* a data file */
#define MAX_DEPTH 48                   /* nesting of the YAML document */
#define MAX_HEADERS 64                 /* header lines of a step, defaults included */
#define MAX_TASK_WEIGHT 1000000
#define DEFAULT_TIMEOUT_NS 10000000000ULL

static const char *const method_keys[] = {"get", "post", "put", "patch", "delete", "head", "options"};
#define NMETHODS (sizeof(method_keys) / sizeof(method_keys[0]))
static const char *const builtin_names[] = {"uuid", "rand", "seq", "user_id", "worker", "env"};

#define TOP_KEYS "target, defaults, data, users"
#define DEFAULTS_KEYS "headers, timeout, var_bytes"
#define DATA_KEYS "csv, order"
#define CLASS_KEYS "name, weight, think, pace, tags, on_start, tasks, on_failure"
#define TASK_KEYS "weight, name, tags, sequence"
#define STEP_KEYS "get, post, put, patch, delete, head, options, name, headers, json, body, capture, expect, timeout"
#define EXPECT_KEYS "status, headers, body_contains, json"

struct loc {
    int line, col;  /* 0-based; line < 0: unknown */
};

struct hdr {
    const char *name;      /* into the document */
    size_t nlen;
    struct fy_node *value;
};

struct ld {
    struct scenario *s;
    const struct scenario_options *opt;
    const char *where, *dir;
    char *err;
    size_t errlen;
    struct loc near;          /* the last key looked at: where an empty collection is */
    char base[4096];          /* the target's path without a trailing '/' ("" for "/") */
    char host[300];           /* the Host header value */
    struct hdr dhdr[MAX_HEADERS];
    unsigned ndhdr;
    uint64_t default_timeout;
    uint32_t nsteps;          /* compiled, before selection */
    char **class_names;       /* every class, for duplicates and --user */
    struct loc *class_locs;
    uint32_t nclass_names;
    struct scn_step *step;    /* the step being compiled: its head notes the variables it uses */
};

/* ---- messages ---- */

static struct loc node_loc(struct fy_node *n, int depth)
{
    struct loc none = {-1, -1};
    if (!n || depth > MAX_DEPTH) return none;
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR: {
        struct fy_token *t = fy_node_get_scalar_token(n);
        const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
        return m ? (struct loc){m->line, m->column} : none;
    }
    case FYNT_MAPPING: {
        void *it = NULL;
        struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
        return p ? node_loc(fy_node_pair_key(p), depth + 1) : none;
    }
    case FYNT_SEQUENCE: {
        void *it = NULL;
        struct fy_node *item = fy_node_sequence_iterate(n, &it);
        return item ? node_loc(item, depth + 1) : none;
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

static int __attribute__((format(printf, 3, 4))) fail_loc(struct ld *l, struct loc at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_loc(l, at, fmt, ap);
    va_end(ap);
    return -1;
}

/* An error at node n (or, for an empty collection, at the key before it). */
static int __attribute__((format(printf, 3, 4))) fail(struct ld *l, struct fy_node *n, const char *fmt, ...)
{
    struct loc at = node_loc(n, 0);
    if (at.line < 0) at = l->near;
    va_list ap;
    va_start(ap, fmt);
    vfail_loc(l, at, fmt, ap);
    va_end(ap);
    return -1;
}

static int __attribute__((format(printf, 2, 3))) fail_here(struct ld *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_loc(l, (struct loc){-1, -1}, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *kind_name(struct fy_node *n)
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

static bool is_map(struct fy_node *n) { return n && fy_node_get_type(n) == FYNT_MAPPING; }
static bool is_seq(struct fy_node *n) { return n && fy_node_get_type(n) == FYNT_SEQUENCE; }
static bool is_scalar(struct fy_node *n) { return n && fy_node_get_type(n) == FYNT_SCALAR; }

/* A plain (unquoted) scalar: null, true, 12 are typed; "12" is a string. */
static bool is_plain(struct fy_node *n) { return is_scalar(n) && fy_node_get_style(n) == FYNS_PLAIN; }

static const char *scalar(struct fy_node *n, size_t *len)
{
    const char *s = fy_node_get_scalar(n, len);
    if (!s) {
        *len = 0;
        return "";
    }
    return s;
}

static bool key_is(const char *k, size_t klen, const char *name) { return strlen(name) == klen && !memcmp(k, name, klen); }

/* The text of a scalar node, or an error naming `what` and what was expected. */
static int get_text(struct ld *l, struct fy_node *n, const char *what, const char **s, size_t *len)
{
    if (!is_scalar(n)) return fail(l, n, "%s: expected a string, got %s", what, kind_name(n));
    *s = scalar(n, len);
    return 0;
}

/* The text as a NUL-terminated copy in buf (cut to size-1 bytes: for short values). */
static int get_short(struct ld *l, struct fy_node *n, const char *what, char *buf, size_t size)
{
    const char *s;
    size_t len;
    if (get_text(l, n, what, &s, &len)) return -1;
    if (len >= size || memchr(s, '\0', len)) return fail(l, n, "%s: '%.40s' is not a valid value", what, s);
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

static char *dup_text(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static int oom(struct ld *l) { return fail_here(l, "out of memory"); }

/* libfyaml builds the first document of a stream and ignores the rest: a second one (after
 * a "---" or "..." line at column 0, which is always a document marker in a file whose
 * root is a mapping) would be dropped without a word. */
static int check_one_document(struct ld *l, const char *text, size_t len)
{
    bool content = false, ended = false;
    int line = 0;
    for (size_t i = 0; i < len; line++) {
        size_t e = i;
        while (e < len && text[e] != '\n') e++;
        const char *t = text + i;
        size_t n = e - i;
        bool marker = n >= 3 && (!memcmp(t, "---", 3) || !memcmp(t, "...", 3)) &&
                      (n == 3 || t[3] == ' ' || t[3] == '\t' || t[3] == '\r');
        size_t k = marker ? 3 : 0;  /* what follows a "--- " is the document's content */
        while (k < n && (t[k] == ' ' || t[k] == '\t' || t[k] == '\r')) k++;
        bool has = k < n && t[k] != '#' && !(k == 0 && t[0] == '%');
        if (marker && content) ended = true;
        if (has && ended) return fail_loc(l, (struct loc){line, (int)k}, "a second YAML document: a scenario file holds one");
        if (has) content = true;
        i = e + 1;
    }
    return 0;
}

/* Before anything is read: no aliases (they could make a small file huge), no keys other
 * than strings, no NUL bytes in a string, bounded nesting. */
static int check_tree(struct ld *l, struct fy_node *n, int depth)
{
    if (!n) return 0;
    if (depth > MAX_DEPTH) return fail(l, n, "nested more than %d levels deep", MAX_DEPTH);
    if (fy_node_get_type(n) == FYNT_SCALAR) {
        if (fy_node_get_style(n) == FYNS_ALIAS) return fail(l, n, "aliases (*name) are not supported");
        size_t len;
        const char *s = scalar(n, &len);
        if (memchr(s, '\0', len)) return fail(l, n, "a string holds a NUL byte");
        return 0;
    }
    if (fy_node_get_type(n) == FYNT_SEQUENCE) {
        void *it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(n, &it)))
            if (check_tree(l, item, depth + 1)) return -1;
        return 0;
    }
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(n, &it))) {
        struct fy_node *k = fy_node_pair_key(p);
        if (!is_scalar(k) || fy_node_get_style(k) == FYNS_ALIAS)
            return fail(l, k ? k : n, "a key must be a string, not %s", kind_name(k));
        if (check_tree(l, k, depth + 1) || check_tree(l, fy_node_pair_value(p), depth + 1)) return -1;
    }
    return 0;
}

/* Iterates the pairs of a mapping: `k`/`klen` the key text, `v` the value; updates l->near. */
static bool next_pair(struct ld *l, struct fy_node *map, void **it, const char **k, size_t *klen, struct fy_node **kn,
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

static int unknown_key(struct ld *l, struct fy_node *kn, const char *k, size_t klen, const char *in, const char *expected)
{
    int shown = klen > 60 ? 60 : (int)klen;
    return fail(l, kn, "unknown key '%.*s' %s (expected: %s)", shown, k, in, expected);
}

static bool is_ident(const char *s, size_t len)
{
    if (len == 0 || len > 64 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (size_t i = 1; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_') return false;
    return true;
}

static int parse_dur_node(struct ld *l, struct fy_node *n, const char *what, uint64_t *ns, bool allow_zero)
{
    char buf[64];
    if (get_short(l, n, what, buf, sizeof(buf))) return -1;
    if (parse_duration(buf, ns) || (!allow_zero && *ns < 1000000))
        return fail(l, n, "%s: '%s' is not a duration (like 500ms, 5s, 1m%s)", what, buf,
                    allow_zero ? ", or 0" : "; at least 1ms");
    return 0;
}

/* ---- reading files ---- */

/* Reads a regular file of at most max bytes into a NUL-terminated buffer. */
static int read_file(const char *path, size_t max, char **data, size_t *len, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return snprintf(why, whylen, "cannot open '%s': %s", path, strerror(errno)), -1;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return snprintf(why, whylen, "'%s' is not a regular file", path), -1;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return snprintf(why, whylen, "'%s' is larger than %zu bytes", path, max), -1;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return snprintf(why, whylen, "out of memory"), -1;
    }
    for (;;) {
        if (n == cap - 1) break;
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return snprintf(why, whylen, "cannot read '%s': %s", path, strerror(e)), -1;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/* ---- templates ---- */

static int names_var(const void *ctx, const char *name, size_t len)
{
    const struct ld *l = ctx;
    for (uint32_t i = 0; i < l->s->nvars; i++)
        if (key_is(name, len, l->s->vars[i])) return (int)i;
    return -1;
}

static int names_feed(const void *ctx, const char *feeder, size_t flen, const char *column, size_t clen,
                      uint32_t *feeder_out, uint32_t *column_out, char *err, size_t errlen)
{
    const struct ld *l = ctx;
    const struct scenario *s = l->s;
    for (uint32_t i = 0; i < s->nfeeders; i++) {
        const struct feeder *f = &s->feeders[i];
        if (!key_is(feeder, flen, f->name)) continue;
        int c = feeder_column(f, column, clen);
        if (c >= 0) {
            *feeder_out = i;
            *column_out = (uint32_t)c;
            return 0;
        }
        int n = snprintf(err, errlen, "data %s has no column '%.*s' (columns:", f->name, (int)(clen > 40 ? 40 : clen), column);
        for (uint32_t k = 0; k < f->ncols && n >= 0 && (size_t)n < errlen; k++)
            n += snprintf(err + n, errlen - (size_t)n, "%s %s", k ? "," : "", f->columns[k]);
        if (n >= 0 && (size_t)n < errlen) snprintf(err + n, errlen - (size_t)n, ")");
        return -1;
    }
    int n = snprintf(err, errlen, "no data named '%.*s' (data:", (int)(flen > 40 ? 40 : flen), feeder);
    for (uint32_t k = 0; k < s->nfeeders && n >= 0 && (size_t)n < errlen; k++)
        n += snprintf(err + n, errlen - (size_t)n, "%s %s", k ? "," : "", s->feeders[k].name);
    if (n >= 0 && (size_t)n < errlen) snprintf(err + n, errlen - (size_t)n, "%s)", s->nfeeders ? "" : " none");
    return -1;
}

/* Where byte `off` of a scalar's text is in the file: exact for one-line scalars. */
static struct loc text_loc(struct fy_node *n, const char *text, size_t off)
{
    struct loc at = node_loc(n, 0);
    enum fy_node_style st = fy_node_get_style(n);
    if (at.line >= 0 && (st == FYNS_PLAIN || st == FYNS_SINGLE_QUOTED || st == FYNS_DOUBLE_QUOTED) &&
        !memchr(text, '\n', off))
        at.col += (int)off;
    return at;
}

/* Appends s, escaped for the inside of a JSON string, as a literal. */
static int append_json_literal(struct tpl *t, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        size_t n = 6;
        if (c == '"' || c == '\\') esc[1] = (char)c, n = 2;
        else if (c == '\n') esc[1] = 'n', n = 2;
        else if (c == '\r') esc[1] = 'r', n = 2;
        else if (c == '\t') esc[1] = 't', n = 2;
        if (tpl_append_literal(t, s + from, i - from) || tpl_append_literal(t, esc, n)) return -1;
        from = i + 1;
    }
    return tpl_append_literal(t, s + from, len - from);
}

enum head_part { IN_BODY, IN_HEADER, IN_PATH };

static bool bad_in_head(const char *v, size_t len, enum head_part part)
{
    for (size_t i = 0; i < len; i++)
        if (tpl_head_byte_bad((unsigned char)v[i], part == IN_PATH)) return true;
    return false;
}

/* The values known now that a placeholder put into the request line or a header (an
 * environment variable's, every row of a data column) are checked as literal text is:
 * the request would otherwise go out broken, or with a header injected. Variables are
 * only noted here (the step's path_vars, header_vars): each capture into one checks its
 * values when it captures. */
static int check_head_values(struct ld *l, struct fy_node *n, const char *text, size_t at, size_t phlen,
                             const struct tpl *t, size_t lit_before, uint32_t seg_before, enum head_part part)
{
    const char *what = part == IN_PATH ? "a space or control character, which cannot go in the path (percent-encode it)"
                                       : "a control character (CR, LF, ...), which cannot go in a header";
    for (uint32_t k = seg_before; k < t->nsegs; k++) {
        const struct tpl_seg *seg = &t->segs[k];
        if (seg->kind == TPL_VAR && l->step) *(part == IN_PATH ? &l->step->path_vars : &l->step->header_vars) |= 1ull << seg->index;
        if (seg->kind != TPL_FEED) continue;
        const struct feeder *f = &l->s->feeders[seg->index];
        for (uint32_t r = 0; r < f->nrows; r++) {
            size_t cell = (size_t)r * f->ncols + seg->column;
            if (bad_in_head(f->cells[cell], f->cell_len[cell], part))
                return fail_loc(l, text_loc(n, text, at), "%.*s: row %u of the data has %s", (int)phlen, text + at,
                                r + 1, what);
        }
    }
    if (bad_in_head(t->lit + lit_before, t->lit_len - lit_before, part))
        return fail_loc(l, text_loc(n, text, at), "%.*s: the value has %s", (int)phlen, text + at, what);
    return 0;
}

/* Appends the text of scalar n to t: literal runs as they are (escaped for a JSON string
 * when json), "$${" as "${", each ${...} compiled (its value escaped as `escape`). Errors
 * point at the placeholder in the file. */
static int add_template(struct ld *l, struct tpl *t, struct fy_node *n, const char *text, size_t len,
                        enum tpl_escape escape, bool json, enum head_part part)
{
    struct tpl_names names = {l, names_var, names_feed};
    size_t from = 0, i = 0;
    while (i <= len) {
        bool end = i == len;
        bool lit_dollar = !end && i + 2 < len && text[i] == '$' && text[i + 1] == '$' && text[i + 2] == '{';
        bool ph = !end && i + 1 < len && text[i] == '$' && text[i + 1] == '{';
        if (!end && !lit_dollar && !ph) {
            i++;
            continue;
        }
        int bad = json ? append_json_literal(t, text + from, i - from) : tpl_append_literal(t, text + from, i - from);
        if (bad) return oom(l);
        if (end) break;
        if (lit_dollar) {
            if (tpl_append_literal(t, "${", 2)) return oom(l);
            i += 3;
            from = i;
            continue;
        }
        const char *close = memchr(text + i, '}', len - i);
        size_t e = close ? (size_t)(close - text) + 1 : len;
        char why[400] = "";
        size_t lit_before = t->lit_len;
        uint32_t seg_before = t->nsegs;
        if (tpl_append(t, text + i, e - i, escape, &names, why, sizeof(why))) {
            /* the message reads "${x} at column N: why": the column is ours to give */
            const char *col = strstr(why, " at column ");
            const char *msg = col ? strchr(col + 11, ':') : NULL;
            struct loc at = text_loc(n, text, i);
            size_t phlen = e - i > 60 ? 60 : e - i;
            if (!msg) return fail_loc(l, at, "%s", why);
            msg += 2;
            if (!strncmp(msg, "unknown variable", 16)) {
                char known[400];
                int k = snprintf(known, sizeof(known), "variables:");
                for (uint32_t v = 0; v < l->s->nvars && k >= 0 && (size_t)k < sizeof(known); v++)
                    k += snprintf(known + k, sizeof(known) - (size_t)k, "%s %s", v ? "," : "", l->s->vars[v]);
                if (!l->s->nvars) snprintf(known + k, sizeof(known) - (size_t)k, " none");
                return fail_loc(l, at, "%.*s: %s (%s; captures define variables; also ${DATA.column}, ${env.NAME}, "
                                       "${uuid}, ${rand(a,b)}, ${seq}, ${user_id}, ${worker})",
                                (int)phlen, text + i, msg, known);
            }
            return fail_loc(l, at, "%.*s: %s", (int)phlen, text + i, msg);
        }
        if (part != IN_BODY &&
            check_head_values(l, n, text, i, e - i > 60 ? 60 : e - i, t, lit_before, seg_before, part))
            return -1;
        i = e;
        from = i;
    }
    return 0;
}

/* Literal text outside placeholders must be printable (for a path: no space either). */
static int check_chars(struct ld *l, struct fy_node *n, const char *text, size_t len, bool path, const char *what)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '$' && i + 2 < len && text[i + 1] == '$' && text[i + 2] == '{') {
            i += 2;  /* "$${": a literal "${", and what follows is literal text too */
            continue;
        }
        if (text[i] == '$' && i + 1 < len && text[i + 1] == '{') {
            const char *close = memchr(text + i, '}', len - i);
            if (!close) return 0;  /* add_template reports it */
            i = (size_t)(close - text);
            continue;
        }
        if (tpl_head_byte_bad((unsigned char)text[i], path))
            return fail_loc(l, text_loc(n, text, i), "%s: %s", what,
                            path ? "a space or control character in the path (percent-encode it)"
                                 : "a control character (CR, LF, ...) in a header");
    }
    return 0;
}

/* ---- feeders and variables ---- */

static bool is_builtin(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(builtin_names) / sizeof(builtin_names[0]); i++)
        if (key_is(s, len, builtin_names[i])) return true;
    return false;
}

static int load_data(struct ld *l, struct fy_node *data)
{
    struct scenario *s = l->s;
    if (!is_map(data)) return fail(l, data, "data: expected a mapping of NAME: { csv: FILE }, got %s", kind_name(data));
    size_t n = fy_node_mapping_item_count(data);
    s->feeders = calloc(n ? n : 1, sizeof(*s->feeders));
    if (!s->feeders) return oom(l);
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    while (next_pair(l, data, &it, &k, &klen, &kn, &v)) {
        if (!is_ident(k, klen) || is_builtin(k, klen))
            return fail(l, kn, "data name '%.*s': expected letters, digits and _ (and not one of uuid, rand, seq, "
                               "user_id, worker, env)", (int)(klen > 60 ? 60 : klen), k);
        if (!is_map(v)) return fail(l, v, "data %.*s: expected a mapping { csv: FILE, order: sequential|random }, got %s",
                                    (int)klen, k, kind_name(v));
        struct fy_node *csv = NULL, *order = NULL, *dkn;
        const char *dk;
        size_t dklen;
        void *dit = NULL;
        struct fy_node *dv;
        while (next_pair(l, v, &dit, &dk, &dklen, &dkn, &dv)) {
            if (key_is(dk, dklen, "csv")) csv = dv;
            else if (key_is(dk, dklen, "order")) order = dv;
            else return unknown_key(l, dkn, dk, dklen, "in data", DATA_KEYS);
        }
        if (!csv) return fail(l, kn, "data %.*s: needs csv: FILE", (int)klen, k);
        enum feed_order ord = FEED_SEQUENTIAL;
        if (order) {
            char buf[16];
            if (get_short(l, order, "order", buf, sizeof(buf))) return -1;
            if (!strcmp(buf, "random")) ord = FEED_RANDOM;
            else if (strcmp(buf, "sequential")) return fail(l, order, "order: expected sequential or random, not '%s'", buf);
        }
        char file[4096], path[8192];
        if (get_short(l, csv, "csv", file, sizeof(file))) return -1;
        if (!file[0]) return fail(l, csv, "csv: expected a file name");
        if (file[0] == '/' || !l->dir || !l->dir[0]) snprintf(path, sizeof(path), "%s", file);
        else snprintf(path, sizeof(path), "%s/%s", l->dir, file);
        char why[512], name[80], *text;
        size_t len;
        snprintf(name, sizeof(name), "%.*s", (int)klen, k);
        if (read_file(path, MAX_CSV_BYTES, &text, &len, why, sizeof(why))) return fail(l, csv, "data %s: %s", name, why);
        struct feeder *f = &s->feeders[s->nfeeders];
        int rc = feeder_parse(f, name, text, len, path, why, sizeof(why));
        free(text);
        if (rc) return fail(l, csv, "data %s: %s", name, why);
        f->order = ord;
        s->nfeeders++;
    }
    return 0;
}

static int add_var(struct ld *l, struct fy_node *kn, const char *k, size_t klen)
{
    struct scenario *s = l->s;
    int shown = klen > 60 ? 60 : (int)klen;
    if (!is_ident(k, klen)) return fail(l, kn, "capture name '%.*s': expected letters, digits and _", shown, k);
    if (is_builtin(k, klen))
        return fail(l, kn, "capture name '%.*s' is a built-in (uuid, rand, seq, user_id, worker, env)", shown, k);
    for (uint32_t i = 0; i < s->nfeeders; i++)
        if (key_is(k, klen, s->feeders[i].name)) return fail(l, kn, "capture name '%.*s' is the name of data", shown, k);
    if (names_var(l, k, klen) >= 0) return 0;
    if (s->nvars == SCN_MAX_VARS) return fail(l, kn, "more than %d capture names", SCN_MAX_VARS);
    char *name = dup_text(k, klen);
    if (!name) return oom(l);
    s->vars[s->nvars++] = name;
    return 0;
}

static struct fy_node *map_get(struct fy_node *map, const char *key)
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

static int vars_of_steps(struct ld *l, struct fy_node *steps)
{
    if (!is_seq(steps)) return 0;
    void *it = NULL;
    struct fy_node *step;
    while ((step = fy_node_sequence_iterate(steps, &it))) {
        struct fy_node *cap = map_get(step, "capture");
        if (!is_map(cap)) continue;
        void *cit = NULL;
        const char *k;
        size_t klen;
        struct fy_node *kn, *v;
        while (next_pair(l, cap, &cit, &k, &klen, &kn, &v))
            if (add_var(l, kn, k, klen)) return -1;
    }
    return 0;
}

/* The first pass: every capture name, in order of appearance, is a variable. */
static int collect_vars(struct ld *l, struct fy_node *users)
{
    l->s->vars = calloc(SCN_MAX_VARS, sizeof(char *));
    if (!l->s->vars) return oom(l);
    if (!is_seq(users)) return 0;
    void *it = NULL;
    struct fy_node *cls;
    while ((cls = fy_node_sequence_iterate(users, &it))) {
        if (vars_of_steps(l, map_get(cls, "on_start"))) return -1;
        struct fy_node *tasks = map_get(cls, "tasks");
        if (!is_seq(tasks)) continue;
        if (vars_of_steps(l, tasks)) return -1;
        void *tit = NULL;
        struct fy_node *task;
        while ((task = fy_node_sequence_iterate(tasks, &tit)))
            if (vars_of_steps(l, map_get(task, "sequence"))) return -1;
    }
    return 0;
}

/* ---- headers ---- */

static bool is_tchar(unsigned char c) { return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c); }

static int check_header_name(struct ld *l, struct fy_node *kn, const char *k, size_t klen)
{
    int shown = klen > 60 ? 60 : (int)klen;
    if (!klen) return fail(l, kn, "an empty header name");
    for (size_t i = 0; i < klen; i++)
        if (!is_tchar((unsigned char)k[i])) return fail(l, kn, "header name '%.*s': invalid character", shown, k);
    if (klen == 14 && !strncasecmp(k, "Content-Length", 14))
        return fail(l, kn, "header Content-Length: barrage sets it from the body; leave it out");
    if (klen == 17 && !strncasecmp(k, "Transfer-Encoding", 17))
        return fail(l, kn, "header Transfer-Encoding: not supported; bodies are sent with Content-Length");
    return 0;
}

/* Adds the pairs of a headers: mapping to h (a header of the same name, any case, replaced). */
static int merge_headers(struct ld *l, struct fy_node *map, struct hdr *h, unsigned *nh)
{
    if (!is_map(map)) return fail(l, map, "headers: expected a mapping of Name: value, got %s", kind_name(map));
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    while (next_pair(l, map, &it, &k, &klen, &kn, &v)) {
        if (check_header_name(l, kn, k, klen)) return -1;
        if (!is_scalar(v)) return fail(l, v, "header %.*s: expected a value, got %s", (int)klen, k, kind_name(v));
        unsigned i = 0;
        while (i < *nh && !(h[i].nlen == klen && !strncasecmp(h[i].name, k, klen))) i++;
        if (i == *nh) {
            if (*nh == MAX_HEADERS) return fail(l, kn, "more than %d headers", MAX_HEADERS);
            (*nh)++;
        }
        h[i] = (struct hdr){k, klen, v};
    }
    return 0;
}

static bool has_header(const struct hdr *h, unsigned nh, const char *name)
{
    for (unsigned i = 0; i < nh; i++)
        if (h[i].nlen == strlen(name) && !strncasecmp(h[i].name, name, h[i].nlen)) return true;
    return false;
}

/* ---- JSON bodies ---- */

static bool json_number(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-') i++;
    if (i == len || !isdigit((unsigned char)s[i])) return false;
    if (s[i] == '0') i++;
    else while (i < len && isdigit((unsigned char)s[i])) i++;
    if (i < len && s[i] == '.') {
        if (++i == len || !isdigit((unsigned char)s[i])) return false;
        while (i < len && isdigit((unsigned char)s[i])) i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        if (i == len || !isdigit((unsigned char)s[i])) return false;
        while (i < len && isdigit((unsigned char)s[i])) i++;
    }
    return i == len;
}

static bool one_of(const char *s, size_t len, const char *const *words)
{
    for (; *words; words++)
        if (key_is(s, len, *words)) return true;
    return false;
}

/* One placeholder and nothing else: "${n}". */
static bool lone_placeholder(const char *s, size_t len)
{
    return len >= 3 && s[0] == '$' && s[1] == '{' && s[len - 1] == '}' && !memchr(s + 2, '}', len - 3);
}

/* A plain scalar that YAML (1.2, core schema) reads as null or a boolean, as its JSON word
 * ("null", "true", "false"); NULL for anything else, quoted "true" included. */
static const char *yaml_word(struct fy_node *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    if (!is_scalar(n) || !is_plain(n)) return NULL;
    size_t len;
    const char *s = scalar(n, &len);
    return one_of(s, len, nulls) ? "null" : one_of(s, len, trues) ? "true" : one_of(s, len, falses) ? "false" : NULL;
}

/* Appends the JSON text of a YAML value. Plain scalars are typed (null, true, 12, 1.5e3;
 * a lone ${x} is emitted raw); every other scalar is a string template. */
static int add_json(struct ld *l, struct tpl *t, struct fy_node *n, int depth)
{
    if (depth > MAX_DEPTH) return fail(l, n, "json: nested too deep");
    if (is_scalar(n)) {
        size_t len;
        const char *s = scalar(n, &len);
        const char *word = yaml_word(n);
        if (word) return tpl_append_literal(t, word, strlen(word)) ? oom(l) : 0;
        if (is_plain(n)) {
            if (json_number(s, len)) return tpl_append_literal(t, s, len) ? oom(l) : 0;
            if (lone_placeholder(s, len)) return add_template(l, t, n, s, len, TPL_JSON_VALUE, false, IN_BODY);
        }
        if (tpl_append_literal(t, "\"", 1) || add_template(l, t, n, s, len, TPL_JSON, true, IN_BODY) ||
            tpl_append_literal(t, "\"", 1))
            return -1;
        return 0;
    }
    if (is_seq(n)) {
        if (tpl_append_literal(t, "[", 1)) return oom(l);
        void *it = NULL;
        struct fy_node *item;
        bool first = true;
        while ((item = fy_node_sequence_iterate(n, &it))) {
            if ((!first && tpl_append_literal(t, ",", 1))) return oom(l);
            if (add_json(l, t, item, depth + 1)) return -1;
            first = false;
        }
        return tpl_append_literal(t, "]", 1) ? oom(l) : 0;
    }
    if (tpl_append_literal(t, "{", 1)) return oom(l);
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    bool first = true;
    while (next_pair(l, n, &it, &k, &klen, &kn, &v)) {
        if ((!first && tpl_append_literal(t, ",", 1)) || tpl_append_literal(t, "\"", 1) ||
            append_json_literal(t, k, klen) || tpl_append_literal(t, "\":", 2))
            return oom(l);
        if (add_json(l, t, v, depth + 1)) return -1;
        first = false;
    }
    return tpl_append_literal(t, "}", 1) ? oom(l) : 0;
}

/* ---- checks ---- */

static void status_set(uint64_t ok[10], unsigned st) { ok[st / 64] |= 1ULL << (st % 64); }

/* status: 200, [200, 201], or "200-299,404" (any scalar is a list of ranges). */
static int parse_status(struct ld *l, struct fy_node *n, struct scn_step *st)
{
    memset(st->status_ok, 0, sizeof(st->status_ok));
    if (is_scalar(n)) {
        char buf[200];
        bool ok[600];
        if (get_short(l, n, "status", buf, sizeof(buf))) return -1;
        if (parse_status_list(buf, ok))
            return fail(l, n, "status: '%s' is not a status (200), a list ([200, 201]) or ranges (\"200-299,404\")", buf);
        for (unsigned s = 100; s < 600; s++)
            if (ok[s]) status_set(st->status_ok, s);
        st->status_text = strdup(buf);
        return st->status_text ? 0 : oom(l);
    }
    if (!is_seq(n) || !fy_node_sequence_item_count(n))
        return fail(l, n, "status: expected a status (200) or a list ([200, 201]), got %s",
                    is_seq(n) ? "an empty list" : kind_name(n));
    char text[256] = "";
    size_t tl = 0;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(n, &it))) {
        char buf[16];
        if (!is_scalar(item)) return fail(l, item, "status: expected a list of statuses, got %s in it", kind_name(item));
        if (get_short(l, item, "status", buf, sizeof(buf))) return -1;
        char *end;
        long v = strtol(buf, &end, 10);
        if (!isdigit((unsigned char)buf[0]) || *end || v < 100 || v > 599)
            return fail(l, item, "status: '%s' is not a status from 100 to 599", buf);
        status_set(st->status_ok, (unsigned)v);
        if (tl + 8 < sizeof(text)) tl += (size_t)snprintf(text + tl, sizeof(text) - tl, "%s%ld", tl ? ", " : "", v);
    }
    st->status_text = strdup(text);
    return st->status_text ? 0 : oom(l);
}

static struct check *new_check(struct ld *l, struct extract *x)
{
    struct check *c = realloc(x->checks, (x->nchecks + 1) * sizeof(*c));
    if (!c) return oom(l), NULL;
    x->checks = c;
    c = &x->checks[x->nchecks++];
    memset(c, 0, sizeof(*c));
    tpl_init(&c->value);
    return c;
}

/* A check whose expected value is the template in scalar n. */
static int check_value(struct ld *l, struct check *c, struct fy_node *n)
{
    size_t len;
    const char *s = scalar(n, &len);
    c->value_text = dup_text(s, len);
    if (!c->value_text) return oom(l);
    return add_template(l, &c->value, n, s, len, TPL_RAW, false, IN_BODY);
}

static int compile_expect(struct ld *l, struct fy_node *map, struct scn_step *st)
{
    struct extract *x = &st->extract;
    if (!is_map(map)) return fail(l, map, "expect: expected a mapping (%s), got %s", EXPECT_KEYS, kind_name(map));
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    while (next_pair(l, map, &it, &k, &klen, &kn, &v)) {
        if (key_is(k, klen, "status")) {
            free(st->status_text);
            st->status_text = NULL;
            if (parse_status(l, v, st)) return -1;
        } else if (key_is(k, klen, "headers")) {
            if (!is_map(v)) return fail(l, v, "expect headers: expected a mapping of Name: true | value, got %s", kind_name(v));
            void *hit = NULL;
            const char *h;
            size_t hlen;
            struct fy_node *hkn, *hv;
            while (next_pair(l, v, &hit, &h, &hlen, &hkn, &hv)) {
                if (!hlen) return fail(l, hkn, "expect headers: an empty header name");
                if (!is_scalar(hv))
                    return fail(l, hv, "expect header %.*s: expected true (present) or a value, got %s", (int)hlen, h,
                                kind_name(hv));
                struct check *c = new_check(l, x);
                if (!c) return -1;
                c->name = dup_text(h, hlen);
                if (!c->name) return oom(l);
                const char *word = yaml_word(hv);
                if (word && !strcmp(word, "true")) {
                    c->kind = CHK_HEADER_PRESENT;
                } else if (word) {  /* false, or null (~, an empty value) */
                    return fail(l, hv, "expect header %.*s: %s is not supported (true: present, or a value to equal; "
                                "\"\" for an empty one)", (int)hlen, h, word);
                } else {
                    c->kind = CHK_HEADER_EQUALS;
                    if (check_value(l, c, hv)) return -1;
                }
            }
        } else if (key_is(k, klen, "body_contains")) {
            struct fy_node *item = v;
            void *bit = NULL;
            if (is_seq(v) && !(item = fy_node_sequence_iterate(v, &bit))) return fail(l, v, "body_contains: an empty list");
            while (item) {
                if (!is_scalar(item))
                    return fail(l, item, "body_contains: expected a string or a list of strings, got %s", kind_name(item));
                size_t bl;
                scalar(item, &bl);
                if (!bl) return fail(l, item, "body_contains: an empty string");
                struct check *c = new_check(l, x);
                if (!c) return -1;
                c->kind = CHK_BODY_CONTAINS;
                if (check_value(l, c, item)) return -1;
                item = is_seq(v) ? fy_node_sequence_iterate(v, &bit) : NULL;
            }
        } else if (key_is(k, klen, "json")) {
            if (!is_map(v)) return fail(l, v, "expect json: expected a mapping of PATH: value, got %s", kind_name(v));
            void *jit = NULL;
            const char *p;
            size_t plen;
            struct fy_node *pkn, *pv;
            while (next_pair(l, v, &jit, &p, &plen, &pkn, &pv)) {
                if (!is_scalar(pv))
                    return fail(l, pv, "expect json %.*s: expected a value (string, number, true, false, null), got %s",
                                (int)(plen > 60 ? 60 : plen), p, kind_name(pv));
                struct check *c = new_check(l, x);
                if (!c) return -1;
                c->kind = CHK_JSON_EQUALS;
                char *path = dup_text(p, plen), why[256] = "";
                if (!path) return oom(l);
                int rc = json_path_compile(path, &c->path, &c->npath, why, sizeof(why));
                if (!rc && asprintf(&c->name, "json.%s", path) < 0) c->name = NULL, rc = -2;
                free(path);
                if (rc == -2) return oom(l);
                if (rc) return fail(l, pkn, "expect json: %s", why);
                x->needs_json = true;
                /* compared with the field's JSON text: YAML's other spellings of null and
                 * the booleans (~, True, an empty value) mean the same JSON word */
                const char *word = yaml_word(pv);
                if (word) {
                    if (!(c->value_text = strdup(word)) || tpl_append_literal(&c->value, word, strlen(word))) return oom(l);
                } else if (check_value(l, c, pv)) {
                    return -1;
                }
            }
        } else {
            return unknown_key(l, kn, k, klen, "in expect", EXPECT_KEYS);
        }
    }
    return 0;
}

static int compile_captures(struct ld *l, struct fy_node *map, struct extract *x)
{
    if (!is_map(map)) return fail(l, map, "capture: expected a mapping of variable: spec, got %s", kind_name(map));
    size_t n = fy_node_mapping_item_count(map);
    x->caps = calloc(n ? n : 1, sizeof(*x->caps));
    if (!x->caps) return oom(l);
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    while (next_pair(l, map, &it, &k, &klen, &kn, &v)) {
        char spec[4096], name[80], why[512] = "";
        int slot = names_var(l, k, klen);
        if (slot < 0) return fail(l, kn, "capture '%.*s': not a variable", (int)(klen > 60 ? 60 : klen), k);
        snprintf(name, sizeof(name), "%s", l->s->vars[slot]);
        if (get_short(l, v, "capture", spec, sizeof(spec))) return -1;
        struct capture *c = &x->caps[x->ncaps];
        if (capture_compile(c, name, (uint32_t)slot, spec, why, sizeof(why))) return fail(l, v, "%s", why);
        x->ncaps++;
        if (c->kind == CAP_JSON) x->needs_json = true;
    }
    return 0;
}

/* ---- steps, tasks, classes ---- */

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

static void class_free(struct scn_class *c)
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

static bool is_method_key(const char *k, size_t klen, unsigned *m)
{
    for (unsigned i = 0; i < NMETHODS; i++)
        if (key_is(k, klen, method_keys[i])) return *m = i, true;
    return false;
}

/* Compiles a step from a mapping; in_task: the mapping is also a task (weight, tags). */
static int compile_step(struct ld *l, struct fy_node *map, struct scn_step *st, bool in_task)
{
    memset(st, 0, sizeof(*st));
    l->step = st;
    tpl_init(&st->head);
    tpl_init(&st->body);
    if (!is_map(map)) return fail(l, map, "a step: expected a mapping (get: /path, ...), got %s", kind_name(map));
    if (++l->nsteps > SCN_MAX_STEPS) return fail(l, map, "more than %d steps", SCN_MAX_STEPS);

    struct fy_node *path = NULL, *name = NULL, *headers = NULL, *json = NULL, *body = NULL, *capture = NULL,
                   *expect = NULL, *timeout = NULL, *method_kn = NULL;
    unsigned method = 0;
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    while (next_pair(l, map, &it, &k, &klen, &kn, &v)) {
        unsigned m;
        if (is_method_key(k, klen, &m)) {
            if (path) return fail(l, kn, "a step has one method: '%s' and '%.*s'", method_keys[method], (int)klen, k);
            path = v, method = m, method_kn = kn;
        } else if (key_is(k, klen, "name")) name = v;
        else if (key_is(k, klen, "headers")) headers = v;
        else if (key_is(k, klen, "json")) json = v;
        else if (key_is(k, klen, "body")) body = v;
        else if (key_is(k, klen, "capture")) capture = v;
        else if (key_is(k, klen, "expect")) expect = v;
        else if (key_is(k, klen, "timeout")) timeout = v;
        else if (!in_task || !(key_is(k, klen, "weight") || key_is(k, klen, "tags")))
            return unknown_key(l, kn, k, klen, "in a step", in_task ? STEP_KEYS ", weight, tags" : STEP_KEYS);
    }
    if (!path) return fail(l, map, "a step needs one of get, post, put, patch, delete, head, options (get: /path)");
    (void)method_kn;

    char upper[16];
    size_t ml = strlen(method_keys[method]);
    for (size_t i = 0; i <= ml; i++) upper[i] = (char)toupper((unsigned char)method_keys[method][i]);

    const char *p;
    size_t plen;
    if (get_text(l, path, upper, &p, &plen)) return -1;
    if (!plen || p[0] != '/') return fail(l, path, "%s: the path must start with '/' (the host is target:)", upper);
    if (check_chars(l, path, p, plen, true, upper)) return -1;

    /* the name */
    if (name) {
        const char *n;
        size_t nl;
        if (get_text(l, name, "name", &n, &nl)) return -1;
        if (!nl) return fail(l, name, "name: empty");
        for (size_t i = 0; i < nl; i++)
            if ((unsigned char)n[i] < 0x20) return fail(l, name, "name: a control character");
        st->name = dup_text(n, nl);
    } else {  /* "GET /items?page=1": the method and the path as written, secrets masked */
        char *as_written = dup_text(p, plen);
        size_t cap = 2 * plen + 16;  /* each masked value grows by at most 3 */
        char *shown = malloc(cap);
        if (as_written && shown) secret_mask_url(as_written, shown, cap);
        if (as_written && shown && asprintf(&st->name, "%.*s %s", (int)ml, upper, shown) < 0) st->name = NULL;
        free(as_written);
        free(shown);
    }
    if (!st->name) return oom(l);

    /* the head */
    struct hdr h[MAX_HEADERS];
    unsigned nh = l->ndhdr;
    memcpy(h, l->dhdr, nh * sizeof(*h));
    if (headers && merge_headers(l, headers, h, &nh)) return -1;
    if (json && body) return fail(l, body, "a step has json: or body:, not both");
    struct tpl *t = &st->head;
    if (tpl_append_literal(t, upper, ml) || tpl_append_literal(t, " ", 1) ||
        tpl_append_literal(t, l->base, strlen(l->base)))
        return oom(l);
    if (add_template(l, t, path, p, plen, TPL_RAW, false, IN_PATH)) return -1;
    if (tpl_append_literal(t, " HTTP/1.1\r\n", 11)) return oom(l);
    if (!has_header(h, nh, "Host") &&
        (tpl_append_literal(t, "Host: ", 6) || tpl_append_literal(t, l->host, strlen(l->host)) ||
         tpl_append_literal(t, "\r\n", 2)))
        return oom(l);
    static const char ua[] = "User-Agent: barrage/" BARRAGE_VERSION "\r\n";
    if (!has_header(h, nh, "User-Agent") && tpl_append_literal(t, ua, sizeof(ua) - 1)) return oom(l);
    for (unsigned i = 0; i < nh; i++) {
        size_t vl;
        const char *val = scalar(h[i].value, &vl);
        if (check_chars(l, h[i].value, val, vl, false, "header value")) return -1;
        if (tpl_append_literal(t, h[i].name, h[i].nlen) || tpl_append_literal(t, ": ", 2)) return oom(l);
        if (add_template(l, t, h[i].value, val, vl, TPL_RAW, false, IN_HEADER)) return -1;
        if (tpl_append_literal(t, "\r\n", 2)) return oom(l);
    }
    static const char ct[] = "Content-Type: application/json\r\n";
    if (json && !has_header(h, nh, "Content-Type") && tpl_append_literal(t, ct, sizeof(ct) - 1)) return oom(l);

    /* the body */
    if (json) {
        if (add_json(l, &st->body, json, 0)) return -1;
    } else if (body) {
        const char *b;
        size_t bl;
        if (!is_scalar(body)) return fail(l, body, "body: expected a string, got %s (json: sends a value as JSON)", kind_name(body));
        b = scalar(body, &bl);
        if (add_template(l, &st->body, body, b, bl, TPL_RAW, false, IN_BODY)) return -1;
    }
    st->has_body = json || body || !strcmp(upper, "POST") || !strcmp(upper, "PUT") || !strcmp(upper, "PATCH");
    st->head_method = !strcmp(upper, "HEAD");

    /* checks and captures */
    for (unsigned s = 100; s < 400; s++) status_set(st->status_ok, s);
    if (expect && compile_expect(l, expect, st)) return -1;
    if (!st->status_text && !(st->status_text = strdup("100-399"))) return oom(l);
    if (capture && compile_captures(l, capture, &st->extract)) return -1;
    st->extract.needs_body = st->extract.ncaps || st->extract.nchecks;
    size_t need = extract_scratch_need(&st->extract);
    if (need > l->s->scratch_need) l->s->scratch_need = need;

    st->timeout_ns = l->s->timeout_ns;
    if (timeout && parse_dur_node(l, timeout, "timeout", &st->timeout_ns, false)) return -1;
    return 0;
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
    if (parse_duration(buf, &c->think_min_ns) || parse_duration(dots + 2, &c->think_max_ns))
        return fail(l, n, "think: '%s..%s' is not a range of durations like 1s..3s", buf, dots + 2);
    if (c->think_min_ns > c->think_max_ns) return fail(l, n, "think: %s..%s: the first is above the second", buf, dots + 2);
    c->think = c->think_min_ns == c->think_max_ns ? (c->think_min_ns ? THINK_CONST : THINK_NONE) : THINK_UNIFORM;
    return 0;
}

/* A class; *keep: --user and the tag selection leave it some task. */
static int compile_class(struct ld *l, struct fy_node *map, struct scn_class *c, bool *keep)
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

/* ---- the whole file ---- */

static int set_target(struct ld *l, struct fy_node *node)
{
    struct scenario *s = l->s;
    char text[4200], why[PLAN_ERR_LEN];
    struct url u;
    if (l->opt->target) {
        if (url_parse(l->opt->target, &u, why, sizeof(why))) return fail_here(l, "%s", why);
    } else if (!node) {
        return fail_here(l, "no target: (write target: http://host:port, or give a URL on the command line)");
    } else {
        if (get_short(l, node, "target", text, sizeof(text))) return -1;
        if (url_parse(text, &u, why, sizeof(why))) return fail(l, node, "target: %s", why);
    }
    if (strchr(u.path, '?'))
        return l->opt->target ? fail_here(l, "the URL's path is a base for the steps' paths: no query (?) allowed")
                              : fail(l, node, "target: the path is a base for the steps' paths: no query (?) allowed");
    size_t bl = strlen(u.path);
    while (bl && u.path[bl - 1] == '/') bl--;
    memcpy(l->base, u.path, bl);
    l->base[bl] = '\0';
    const char *lb = u.ipv6_literal ? "[" : "", *rb = u.ipv6_literal ? "]" : "";
    if (u.port == (u.tls ? 443 : 80)) snprintf(l->host, sizeof(l->host), "%s%s%s", lb, u.host, rb);
    else snprintf(l->host, sizeof(l->host), "%s%s%s:%u", lb, u.host, rb, u.port);
    if (asprintf(&s->target, "%s://%s", u.scheme, l->host) < 0) {
        s->target = NULL;
        return oom(l);
    }
    return 0;
}

static int load_defaults(struct ld *l, struct fy_node *map)
{
    if (!is_map(map)) return fail(l, map, "defaults: expected a mapping (%s), got %s", DEFAULTS_KEYS, kind_name(map));
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    while (next_pair(l, map, &it, &k, &klen, &kn, &v)) {
        if (key_is(k, klen, "headers")) {
            if (merge_headers(l, v, l->dhdr, &l->ndhdr)) return -1;
        } else if (key_is(k, klen, "timeout")) {
            if (parse_dur_node(l, v, "timeout", &l->default_timeout, false)) return -1;
        } else if (key_is(k, klen, "var_bytes")) {
            char buf[32];
            if (get_short(l, v, "var_bytes", buf, sizeof(buf))) return -1;
            char *end;
            long n = strtol(buf, &end, 10);
            if (!isdigit((unsigned char)buf[0]) || *end || n < 16 || n > 65536)
                return fail(l, v, "var_bytes: '%s' is not a whole number from 16 to 65536", buf);
            l->s->var_bytes = (uint32_t)n;
        } else {
            return unknown_key(l, kn, k, klen, "in defaults", DEFAULTS_KEYS);
        }
    }
    return 0;
}

static bool step_static(const struct scn_step *st)
{
    return !st->head.dynamic && !st->body.dynamic && !st->extract.ncaps && !st->extract.nchecks;
}

/* Tells each capture of a class where its variable goes in the request heads of the
 * steps that class runs (known once they are all compiled and selected: a capture may
 * come before the step that uses it; each user has variables of its own). */
static void set_head_use(struct scn_step *st, uint64_t path, uint64_t header)
{
    for (unsigned i = 0; i < st->extract.ncaps; i++) {
        struct capture *cap = &st->extract.caps[i];
        cap->head_use = (uint8_t)((path >> cap->var & 1 ? CAP_IN_PATH : 0) | (header >> cap->var & 1 ? CAP_IN_HEADER : 0));
    }
}

static void note_head_use(struct scn_class *c)
{
    uint64_t path = 0, header = 0;
    for (uint32_t j = 0; j < c->non_start; j++) {
        path |= c->on_start[j].path_vars;
        header |= c->on_start[j].header_vars;
    }
    for (uint32_t t = 0; t < c->ntasks; t++)
        for (uint32_t j = 0; j < c->tasks[t].nsteps; j++) {
            path |= c->tasks[t].steps[j].path_vars;
            header |= c->tasks[t].steps[j].header_vars;
        }
    for (uint32_t j = 0; j < c->non_start; j++) set_head_use(&c->on_start[j], path, header);
    for (uint32_t t = 0; t < c->ntasks; t++)
        for (uint32_t j = 0; j < c->tasks[t].nsteps; j++) set_head_use(&c->tasks[t].steps[j], path, header);
}

static int index_stats(struct ld *l, struct scn_step *st)
{
    struct scenario *s = l->s;
    for (uint32_t i = 0; i < s->nstats; i++)
        if (!strcmp(s->stat_names[i], st->name)) return st->stat = i, 0;
    char **names = realloc(s->stat_names, (s->nstats + 1) * sizeof(*names));
    if (!names) return oom(l);
    s->stat_names = names;
    if (!(names[s->nstats] = strdup(st->name))) return oom(l);
    st->stat = s->nstats++;
    return 0;
}

static int compile_users(struct ld *l, struct fy_node *users)
{
    struct scenario *s = l->s;
    if (!users) return fail_here(l, "no users: (a list of user classes, each with name: and tasks:)");
    if (!is_seq(users) || !fy_node_sequence_item_count(users))
        return fail(l, users, "users: expected a non-empty list of user classes, got %s",
                    is_seq(users) ? "an empty list" : kind_name(users));
    int count = fy_node_sequence_item_count(users);
    if (count > SCN_MAX_STEPS) return fail(l, users, "more than %d user classes", SCN_MAX_STEPS);
    if (!(s->classes = calloc((size_t)count, sizeof(*s->classes)))) return oom(l);
    void *it = NULL;
    struct fy_node *item;
    bool user_found = false;
    while ((item = fy_node_sequence_iterate(users, &it))) {
        bool keep = false;
        struct scn_class *c = &s->classes[s->nclasses];
        int rc = compile_class(l, item, c, &keep);
        if (!rc && l->opt->user && !strcmp(l->opt->user, c->name)) user_found = true;
        if (rc || !keep) {
            class_free(c);
            if (rc) return -1;
            continue;
        }
        s->nclasses++;
    }
    if (l->opt->user && !user_found) {
        char list[512];
        int n = 0;
        list[0] = '\0';
        for (uint32_t i = 0; i < l->nclass_names && n >= 0 && (size_t)n < sizeof(list); i++)
            n += snprintf(list + n, sizeof(list) - (size_t)n, "%s%s", i ? ", " : "", l->class_names[i]);
        return fail_here(l, "--user %.60s: no such user class (classes: %s)", l->opt->user, list);
    }
    if (!s->nclasses) return fail_here(l, "no task left after --tags/--exclude-tags");
    return 0;
}

/* The offset of the first byte that is not part of well-formed UTF-8, or len. YAML is
 * UTF-8 here, and libfyaml 0.7 can loop forever on some malformed input ("%\x8a"). */
static size_t utf8_bad(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) n = 1, min = 0x80, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef) n = 2, min = 0x800, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4) n = 3, min = 0x10000, cp = c & 0x07;
        else return i;
        if (len - i <= n) return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += n + 1;
    }
    return len;
}

/* libfyaml says more than its first error (e.g. "fy_parse_load_document() failed"). */
static void diag_discard(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag, (void)user, (void)buf, (void)len;
}

int scenario_parse(struct scenario *s, const char *text, size_t len, const char *where, const char *dir,
                   const struct scenario_options *opt, char *err, size_t errlen)
{
    static const struct scenario_options no_options;
    memset(s, 0, sizeof(*s));
    if (err && errlen) err[0] = '\0';
    struct ld l = {.s = s, .opt = opt ? opt : &no_options, .where = where ? where : "scenario", .dir = dir,
                   .err = err, .errlen = errlen, .near = {-1, -1}};
    struct fy_diag *diag = NULL;
    struct fy_document *doc = NULL;
    int rc = -1;

    if (!text) text = "", len = 0;
    if (!(s->file = strdup(l.where))) goto oom;
    if (len > MAX_FILE_BYTES) {
        fail_here(&l, "larger than %u bytes", MAX_FILE_BYTES);
        goto out;
    }
    if (memchr(text, '\0', len)) {
        fail_here(&l, "a NUL byte: not a text file");
        goto out;
    }
    size_t bad = utf8_bad((const unsigned char *)text, len);
    if (bad < len) {
        struct loc at = {0, 0};
        for (size_t i = 0; i < bad; i++) {
            if (text[i] == '\n') at.line++, at.col = 0;
            else at.col++;
        }
        fail_loc(&l, at, "not UTF-8 (byte 0x%02x)", (unsigned char)text[bad]);
        goto out;
    }

    /* libfyaml: errors collected (not printed) and reported as ours */
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_discard;
    dcfg.colorize = false;
    dcfg.level = FYET_ERROR;
    if (!(diag = fy_diag_create(&dcfg))) goto oom;
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_DISABLE_RECYCLING, .diag = diag};
    doc = fy_document_build_from_string(&pcfg, text, len);
    if (!doc) {
        void *it = NULL;
        struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
        if (e && e->line > 0) fail_loc(&l, (struct loc){e->line - 1, e->column > 0 ? e->column - 1 : 0}, "%s", e->msg);
        else if (e) fail_here(&l, "%s", e->msg);
        else fail_here(&l, "empty: expected a mapping with target:, users: ...");
        goto out;
    }
    struct fy_node *root = fy_document_root(doc);
    if (!root) {
        fail_here(&l, "empty: expected a mapping with target:, users: ...");
        goto out;
    }
    if (check_one_document(&l, text, len) || check_tree(&l, root, 0)) goto out;
    if (!is_map(root)) {
        fail(&l, root, "expected a mapping with target:, users: ..., got %s", kind_name(root));
        goto out;
    }

    struct fy_node *target = NULL, *defaults = NULL, *data = NULL, *users = NULL;
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    while (next_pair(&l, root, &it, &k, &klen, &kn, &v)) {
        if (key_is(k, klen, "target")) target = v;
        else if (key_is(k, klen, "defaults")) defaults = v;
        else if (key_is(k, klen, "data")) data = v;
        else if (key_is(k, klen, "users")) users = v;
        else {
            unknown_key(&l, kn, k, klen, "at the top", TOP_KEYS);
            goto out;
        }
    }
    s->var_bytes = SCN_VAR_BYTES;
    if (set_target(&l, target)) goto out;
    if (defaults && load_defaults(&l, defaults)) goto out;
    s->timeout_ns = l.opt->timeout_ns ? l.opt->timeout_ns : l.default_timeout ? l.default_timeout : DEFAULT_TIMEOUT_NS;
    if (data && load_data(&l, data)) goto out;
    if (collect_vars(&l, users)) goto out;
    if (compile_users(&l, users)) goto out;

    /* statistics by name, and what the workers need to know up front */
    bool all_static = s->nclasses == 1;
    for (uint32_t i = 0; i < s->nclasses; i++) {
        struct scn_class *c = &s->classes[i];
        if (c->think != THINK_NONE) s->has_think = true;
        if (c->non_start || c->ntasks != 1 || c->tasks[0].nsteps != 1 || c->think != THINK_NONE) all_static = false;
        note_head_use(c);
        for (uint32_t j = 0; j < c->non_start; j++)
            if (index_stats(&l, &c->on_start[j])) goto out;
        for (uint32_t t = 0; t < c->ntasks; t++)
            for (uint32_t j = 0; j < c->tasks[t].nsteps; j++)
                if (index_stats(&l, &c->tasks[t].steps[j])) goto out;
    }
    s->min_timeout_ns = s->timeout_ns;
    for (uint32_t i = 0; i < s->nclasses; i++) {
        const struct scn_class *c = &s->classes[i];
        for (uint32_t j = 0; j < c->non_start; j++)
            if (c->on_start[j].timeout_ns < s->min_timeout_ns) s->min_timeout_ns = c->on_start[j].timeout_ns;
        for (uint32_t t = 0; t < c->ntasks; t++)
            for (uint32_t j = 0; j < c->tasks[t].nsteps; j++)
                if (c->tasks[t].steps[j].timeout_ns < s->min_timeout_ns) s->min_timeout_ns = c->tasks[t].steps[j].timeout_ns;
    }
    s->static_only = all_static && s->nvars == 0 && s->classes[0].on_failure != ONFAIL_STOP &&
                     step_static(&s->classes[0].tasks[0].steps[0]);
    rc = 0;
    goto out;
oom:
    oom(&l);
out:
    for (uint32_t i = 0; i < l.nclass_names; i++) free(l.class_names[i]);
    free(l.class_names);
    free(l.class_locs);
    if (doc) fy_document_destroy(doc);
    if (diag) fy_diag_destroy(diag);
    if (rc) scenario_free(s);
    return rc;
}

int scenario_load(struct scenario *s, const char *path, const struct scenario_options *opt, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    char *text, why[512];
    size_t len;
    if (read_file(path, MAX_FILE_BYTES, &text, &len, why, sizeof(why))) {
        if (err && errlen) snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof(dir), ".");
    else if (slash == path) snprintf(dir, sizeof(dir), "/");
    else snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    int rc = scenario_parse(s, text, len, path, dir, opt, err, errlen);
    free(text);
    return rc;
}

void scenario_free(struct scenario *s)
{
    if (!s) return;
    for (uint32_t i = 0; i < s->nclasses; i++) class_free(&s->classes[i]);
    free(s->classes);
    for (uint32_t i = 0; i < s->nfeeders; i++) feeder_free(&s->feeders[i]);
    free(s->feeders);
    if (s->vars)
        for (uint32_t i = 0; i < s->nvars; i++) free(s->vars[i]);
    free(s->vars);
    for (uint32_t i = 0; i < s->nstats; i++) free(s->stat_names[i]);
    free(s->stat_names);
    free(s->file);
    free(s->target);
    memset(s, 0, sizeof(*s));
}

void scenario_assign_classes(const struct scenario *s, uint64_t nusers, uint32_t *class_of)
{
    uint32_t n = s->nclasses;
    if (!n || !nusers) return;
    double total = 0, *cur = calloc(n, sizeof(double));
    for (uint32_t k = 0; k < n; k++) total += s->classes[k].weight;
    for (uint64_t j = 0; j < nusers; j++) {
        uint32_t best = 0;
        if (cur) {
            for (uint32_t k = 0; k < n; k++) {
                cur[k] += s->classes[k].weight;
                if (cur[k] > cur[best]) best = k;
            }
            cur[best] -= total;
        } else {
            best = (uint32_t)(j % n);  /* out of memory: an even split beats none */
        }
        class_of[j] = best;
    }
    free(cur);
}
