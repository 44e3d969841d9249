/* Templates: compiling "${...}" placeholders into segments, rendering them without
 * allocating. */
#include "template.h"
#include "json_valid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feeder.h"

/* The worst a JSON-escaped byte grows: a control character becomes \u00XX. */
#define JSON_WORST 6

void tpl_init(struct tpl *t) { memset(t, 0, sizeof(*t)); }

void tpl_free(struct tpl *t)
{
    if (!t) return;
    free(t->segs);
    free(t->lit);
    memset(t, 0, sizeof(*t));
}

static int add_seg(struct tpl *t, const struct tpl_seg *s)
{
    if (t->nsegs == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 4;
        struct tpl_seg *segs = realloc(t->segs, cap * sizeof(*segs));
        if (!segs) return -1;
        t->segs = segs;
        t->cap = cap;
    }
    t->segs[t->nsegs++] = *s;
    if (s->kind != TPL_LIT) t->dynamic = true;
    return 0;
}

int tpl_append_literal(struct tpl *t, const char *s, size_t len)
{
    if (len == 0) return 0;
    if (len > UINT32_MAX - t->lit_len) return -1;  /* offsets are 32-bit */
    if (t->lit_len + len > t->lit_cap) {
        size_t cap = t->lit_cap ? t->lit_cap : 64;
        while (cap < t->lit_len + len) cap *= 2;
        char *lit = realloc(t->lit, cap);
        if (!lit) return -1;
        t->lit = lit;
        t->lit_cap = cap;
    }
    memcpy(t->lit + t->lit_len, s, len);
    /* adjacent literals are one segment */
    struct tpl_seg *last = t->nsegs ? &t->segs[t->nsegs - 1] : NULL;
    if (last && last->kind == TPL_LIT && last->off + last->len == t->lit_len) {
        last->len += (uint32_t)len;
    } else {
        struct tpl_seg seg = {.kind = TPL_LIT, .off = (uint32_t)t->lit_len, .len = (uint32_t)len};
        if (add_seg(t, &seg)) return -1;
    }
    t->lit_len += len;
    return 0;
}

/* The JSON escape of byte c into out (at least 6 bytes); returns its length. */
static size_t json_escape_byte(unsigned char c, char *out)
{
    static const char hex[] = "0123456789abcdef";
    switch (c) {
    case '"': memcpy(out, "\\\"", 2); return 2;
    case '\\': memcpy(out, "\\\\", 2); return 2;
    case '\n': memcpy(out, "\\n", 2); return 2;
    case '\r': memcpy(out, "\\r", 2); return 2;
    case '\t': memcpy(out, "\\t", 2); return 2;
    case '\b': memcpy(out, "\\b", 2); return 2;
    case '\f': memcpy(out, "\\f", 2); return 2;
    }
    if (c < 0x20) {
        memcpy(out, "\\u00", 4);
        out[4] = hex[c >> 4];
        out[5] = hex[c & 15];
        return 6;
    }
    out[0] = (char)c;
    return 1;
}

/* A value that a TPL_JSON_VALUE writes as it is: one JSON value (a number, true, false,
 * null, or an object or array a json. capture gave). Anything else is written as a JSON
 * string, so that a block-style "user: ${accounts.name}" sends "alice", not the bare word,
 * and "[WIP] fix" or "{name}" a string, not broken JSON. A value that is a JSON string
 * ("Bob" with its quotes, from a CSV cell or a body) is a string too: written as it is, its
 * quotes would be lost and its escapes decoded. */
static bool json_value_raw(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i < len && s[i] != '"' && json_is_value(s, len);
}

/* Appends a value known at compile time (an environment variable), escaped. */
static int append_value(struct tpl *t, const char *s, size_t len, enum tpl_escape escape)
{
    if (escape == TPL_JSON_VALUE && !len) return tpl_append_literal(t, "null", 4);
    if (escape == TPL_JSON_VALUE && !json_value_raw(s, len))
        return tpl_append_literal(t, "\"", 1) || append_value(t, s, len, TPL_JSON) || tpl_append_literal(t, "\"", 1);
    if (escape != TPL_JSON) return tpl_append_literal(t, s, len);
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        char esc[JSON_WORST];
        size_t n = json_escape_byte((unsigned char)s[i], esc);
        if (n == 1) continue;
        if (tpl_append_literal(t, s + from, i - from) || tpl_append_literal(t, esc, n)) return -1;
        from = i + 1;
    }
    return tpl_append_literal(t, s + from, len - from);
}

/* "${...} at column N: why" (the placeholder as written, cut if long). */
static int ph_error(char *err, size_t errlen, const char *ph, size_t phlen, size_t col, const char *fmt, ...)
{
    if (!err || !errlen) return -1;
    int shown = phlen > 60 ? 60 : (int)phlen;
    int n = snprintf(err, errlen, "%.*s%s at column %zu: ", shown, ph, phlen > 60 ? "..." : "", col);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Parses a signed 64-bit decimal integer with optional spaces around it from s[*i..end).
 * Returns 0 and advances *i, or -1. */
static int parse_int(const char *s, size_t *i, size_t end, int64_t *out)
{
    size_t p = *i;
    while (p < end && (s[p] == ' ' || s[p] == '\t')) p++;
    size_t start = p;
    if (p < end && (s[p] == '-' || s[p] == '+')) p++;
    size_t digits = p;
    while (p < end && s[p] >= '0' && s[p] <= '9') p++;
    if (p == digits || p - start > 24) return -1;
    char buf[32];
    memcpy(buf, s + start, p - start);
    buf[p - start] = '\0';
    errno = 0;
    char *e;
    long long v = strtoll(buf, &e, 10);
    if (errno || *e) return -1;
    while (p < end && (s[p] == ' ' || s[p] == '\t')) p++;
    *out = v;
    *i = p;
    return 0;
}

static bool is_word(const char *s, size_t len, const char *w) { return strlen(w) == len && !memcmp(s, w, len); }

/* Compiles the placeholder whose name is text[b, e) ("${" before b, "}" at e). */
static int compile_placeholder(struct tpl *t, const char *text, size_t b, size_t e, size_t col,
                               enum tpl_escape escape, const struct tpl_names *names, char *err, size_t errlen)
{
    const char *ph = text + b - 2, *name = text + b;
    size_t phlen = e + 1 - (b - 2), len = e - b;
    struct tpl_seg seg = {.escape = (uint8_t)escape};

    if (len == 0) return ph_error(err, errlen, ph, phlen, col, "empty placeholder");
    if (is_word(name, len, "uuid")) seg.kind = TPL_UUID;
    else if (is_word(name, len, "seq")) seg.kind = TPL_SEQ;
    else if (is_word(name, len, "user_id")) seg.kind = TPL_USER_ID;
    else if (is_word(name, len, "worker")) seg.kind = TPL_WORKER;
    if (seg.kind != TPL_LIT) return add_seg(t, &seg) ? ph_error(err, errlen, ph, phlen, col, "out of memory") : 0;

    const char *paren = memchr(name, '(', len);
    if (paren) {
        size_t fn = (size_t)(paren - name);
        if (!is_word(name, fn, "rand"))
            return ph_error(err, errlen, ph, phlen, col, "unknown function '%.*s' (there is rand(a,b))",
                            (int)(fn > 40 ? 40 : fn), name);
        size_t i = b + fn + 1;
        int64_t a, z;
        if (parse_int(text, &i, e, &a) || i >= e || text[i] != ',' || (i++, parse_int(text, &i, e, &z)) ||
            i + 1 != e || text[i] != ')')
            return ph_error(err, errlen, ph, phlen, col, "expected rand(a,b) with integers a <= b");
        if (a > z) return ph_error(err, errlen, ph, phlen, col, "rand(a,b) needs a <= b");
        seg.kind = TPL_RAND;
        seg.a = a;
        seg.b = z;
        return add_seg(t, &seg) ? ph_error(err, errlen, ph, phlen, col, "out of memory") : 0;
    }

    const char *dot = memchr(name, '.', len);
    if (dot) {
        size_t flen = (size_t)(dot - name), clen = len - flen - 1;
        if (is_word(name, flen, "env")) {
            if (clen == 0) return ph_error(err, errlen, ph, phlen, col, "expected ${env.NAME}");
            char var[256];
            if (clen >= sizeof(var) || memchr(dot + 1, '\0', clen))
                return ph_error(err, errlen, ph, phlen, col, "environment variable name too long");
            memcpy(var, dot + 1, clen);
            var[clen] = '\0';
            const char *v = getenv(var);
            if (!v) return ph_error(err, errlen, ph, phlen, col, "environment variable %s is not set", var);
            return append_value(t, v, strlen(v), escape) ? ph_error(err, errlen, ph, phlen, col, "out of memory")
                                                         : 0;
        }
        if (!names || !names->feed)
            return ph_error(err, errlen, ph, phlen, col, "no data columns can be used here");
        if (flen == 0 || clen == 0) return ph_error(err, errlen, ph, phlen, col, "expected ${data.column}");
        char why[200] = "";
        uint32_t feeder = 0, column = 0;
        if (names->feed(names->ctx, name, flen, dot + 1, clen, &feeder, &column, why, sizeof(why)) != 0)
            return ph_error(err, errlen, ph, phlen, col, "%s", why[0] ? why : "no such data column");
        seg.kind = TPL_FEED;
        seg.index = feeder;
        seg.column = column;
        return add_seg(t, &seg) ? ph_error(err, errlen, ph, phlen, col, "out of memory") : 0;
    }

    int slot = names && names->var ? names->var(names->ctx, name, len) : -1;
    if (!names || !names->var) return ph_error(err, errlen, ph, phlen, col, "no variables can be used here");
    if (slot < 0)
        return ph_error(err, errlen, ph, phlen, col, "unknown variable '%.*s'", (int)(len > 60 ? 60 : len), name);
    seg.kind = TPL_VAR;
    seg.index = (uint32_t)slot;
    return add_seg(t, &seg) ? ph_error(err, errlen, ph, phlen, col, "out of memory") : 0;
}

int tpl_append(struct tpl *t, const char *text, size_t len, enum tpl_escape escape,
               const struct tpl_names *names, char *err, size_t errlen)
{
    /* on failure the template is left as it was */
    uint32_t nsegs = t->nsegs, last_len = nsegs ? t->segs[nsegs - 1].len : 0;
    size_t lit_len = t->lit_len;
    bool dynamic = t->dynamic;

    size_t from = 0, i = 0;
    while (i < len) {
        if (text[i] != '$') {
            i++;
            continue;
        }
        if (i + 2 < len && text[i + 1] == '$' && text[i + 2] == '{') {  /* $${ is a literal ${ */
            if (tpl_append_literal(t, text + from, i - from) || tpl_append_literal(t, "${", 2)) goto oom;
            i += 3;
            from = i;
            continue;
        }
        if (i + 1 < len && text[i + 1] == '{') {
            const char *close = memchr(text + i + 2, '}', len - i - 2);
            if (!close) {
                ph_error(err, errlen, text + i, len - i, i + 1, "no closing }");
                goto fail;
            }
            if (tpl_append_literal(t, text + from, i - from)) goto oom;
            size_t e = (size_t)(close - text);
            if (compile_placeholder(t, text, i + 2, e, i + 1, escape, names, err, errlen)) goto fail;
            i = e + 1;
            from = i;
            continue;
        }
        i++;
    }
    if (tpl_append_literal(t, text + from, len - from)) goto oom;
    return 0;
oom:
    if (err && errlen) snprintf(err, errlen, "out of memory");
fail:
    t->nsegs = nsegs;
    if (nsegs) t->segs[nsegs - 1].len = last_len;
    t->lit_len = lit_len;
    t->dynamic = dynamic;
    return -1;
}

/* ---- rendering ---- */

static uint64_t xorshift64s(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Copies what fits of s into dst[*n..cap) and counts all of it in *n. */
static inline void put(char *dst, size_t cap, size_t *n, const char *s, size_t len)
{
    if (*n < cap) memcpy(dst + *n, s, len < cap - *n ? len : cap - *n);
    *n += len;
}

static void put_value(char *dst, size_t cap, size_t *n, const char *s, size_t len, enum tpl_escape escape)
{
    if (escape == TPL_JSON_VALUE && !len) {  /* not captured yet: the JSON stays valid */
        put(dst, cap, n, "null", 4);
        return;
    }
    if (escape == TPL_JSON_VALUE && !json_value_raw(s, len)) {  /* a word: a JSON string */
        put(dst, cap, n, "\"", 1);
        put_value(dst, cap, n, s, len, TPL_JSON);
        put(dst, cap, n, "\"", 1);
        return;
    }
    if (escape != TPL_JSON) {
        put(dst, cap, n, s, len);
        return;
    }
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        char esc[JSON_WORST];
        put(dst, cap, n, s + from, i - from);
        put(dst, cap, n, esc, json_escape_byte(c, esc));
        from = i + 1;
    }
    put(dst, cap, n, s + from, len - from);
}

static size_t fmt_u64(char *buf, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    return n;
}

static size_t fmt_i64(char *buf, int64_t v)
{
    if (v >= 0) return fmt_u64(buf, (uint64_t)v);
    buf[0] = '-';
    return 1 + fmt_u64(buf + 1, 0 - (uint64_t)v);
}

static void fmt_uuid(char out[36], uint64_t *rng)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t hi = xorshift64s(rng), lo = xorshift64s(rng);
    hi = (hi & ~0xF000ULL) | 0x4000ULL;                      /* version 4 */
    lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  /* variant 10 */
    unsigned char b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(hi >> (56 - 8 * i));
        b[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
    }
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
}

size_t tpl_render(const struct tpl *t, const struct tpl_env *env, char *dst, size_t cap)
{
    size_t n = 0;
    for (uint32_t i = 0; i < t->nsegs; i++) {
        const struct tpl_seg *s = &t->segs[i];
        char num[40];
        switch ((enum tpl_seg_kind)s->kind) {
        case TPL_LIT:
            put(dst, cap, &n, t->lit + s->off, s->len);
            break;
        case TPL_VAR: {
            uint32_t len = env->var_len[s->index];
            if (len > env->var_cap) len = env->var_cap;
            put_value(dst, cap, &n, env->vars + (size_t)s->index * env->var_cap, len, s->escape);
            break;
        }
        case TPL_FEED: {
            const struct feeder *f = env->feeders[s->index];
            size_t cell = (size_t)env->feed_row[s->index] * f->ncols + s->column;
            put_value(dst, cap, &n, f->cells[cell], f->cell_len[cell], s->escape);
            break;
        }
        case TPL_UUID:
            fmt_uuid(num, env->rng);
            put_value(dst, cap, &n, num, 36, s->escape);  /* json: id: ${uuid} is a string */
            break;
        case TPL_RAND: {
            uint64_t span = (uint64_t)s->b - (uint64_t)s->a + 1;  /* 0: the whole 64-bit range */
            uint64_t r = xorshift64s(env->rng);
            if (span) r = (uint64_t)(((unsigned __int128)r * span) >> 64);
            put(dst, cap, &n, num, fmt_i64(num, (int64_t)((uint64_t)s->a + r)));
            break;
        }
        case TPL_SEQ:
            put(dst, cap, &n, num, fmt_u64(num, (*env->seq)++));
            break;
        case TPL_USER_ID:
            put(dst, cap, &n, num, fmt_u64(num, env->user_id));
            break;
        case TPL_WORKER:
            put(dst, cap, &n, num, fmt_u64(num, env->worker));
            break;
        }
    }
    return n;
}

size_t tpl_max_len(const struct tpl *t, const struct tpl_env *env)
{
    size_t n = 0;
    for (uint32_t i = 0; i < t->nsegs; i++) {
        const struct tpl_seg *s = &t->segs[i];
        size_t grow = s->escape != TPL_RAW ? JSON_WORST : 1;
        if (s->escape == TPL_JSON_VALUE) n += 4;  /* null when empty; the quotes of a string */
        switch ((enum tpl_seg_kind)s->kind) {
        case TPL_LIT: n += s->len; break;
        case TPL_VAR: n += (size_t)(env ? env->var_cap : 0) * grow; break;
        case TPL_FEED: n += (size_t)(env && env->feeders ? env->feeders[s->index]->max_cell : 0) * grow; break;
        case TPL_UUID: n += 36; break;
        case TPL_RAND: {
            char num[24];
            size_t la = fmt_i64(num, s->a), lb = fmt_i64(num, s->b);
            n += la > lb ? la : lb;
            break;
        }
        case TPL_SEQ:
        case TPL_USER_ID: n += 20; break;
        case TPL_WORKER: n += 10; break;
        }
    }
    return n;
}
