/* Captures and checks on a complete response: viewing the raw bytes (de-chunking in
 * place), JSON paths over a jansson tree built in a per-thread arena, header and regex
 * captures, and the bounded failure reasons. */
#include "extract.h"
#include "cookie_jar.h"
#include "errfmt.h"
#include "secrets.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the per-thread arena behind jansson ----
 *
 * While a response is parsed (arena.active), jansson's allocations are bumped out of one
 * block; its frees of that memory do nothing and the block is reset after the response.
 * When a response needs more than the block holds, the rest comes from malloc (freed by
 * jansson as usual) and the block is replaced by a bigger one at the reset, so that once
 * the block has grown to the largest response nothing is allocated. Outside a response
 * (another user of jansson in this process, such as the built-in server) every allocation
 * is plain malloc/free. */

#define ARENA_FIRST (64 * 1024)
#define ARENA_MOST ((size_t)256 << 20)  /* beyond this, big responses keep using malloc */

struct arena {
    char *buf;
    size_t cap, used;
    size_t overflow;  /* bytes this response took from malloc */
    bool active;
};

static __thread struct arena arena;

static void *arena_malloc(size_t n)
{
    struct arena *a = &arena;
    size_t need = (n + 15) & ~(size_t)15;
    if (a->active && need >= n) {
        if (a->cap - a->used >= need) {
            void *p = a->buf + a->used;
            a->used += need;
            return p;
        }
        a->overflow += need;
    }
    return malloc(n);
}

static void arena_free(void *p)
{
    const struct arena *a = &arena;
    if (a->buf && (char *)p >= a->buf && (char *)p < a->buf + a->cap) return;  /* reset at the end */
    free(p);
}

static void arena_begin(void)
{
    struct arena *a = &arena;
    if (!a->buf) {
        a->buf = malloc(ARENA_FIRST);
        a->cap = a->buf ? ARENA_FIRST : 0;
    }
    a->used = a->overflow = 0;
    a->active = true;
}

/* After every arena object has been released: empties the block, growing it if this
 * response overflowed. */
static void arena_end(void)
{
    struct arena *a = &arena;
    a->active = false;
    if (a->overflow && a->cap < ARENA_MOST) {
        size_t cap = a->cap ? a->cap : ARENA_FIRST;
        while (cap < 2 * (a->used + a->overflow) && cap < ARENA_MOST) cap *= 2;
        char *buf = malloc(cap);
        if (buf) {
            free(a->buf);
            a->buf = buf;
            a->cap = cap;
        }
    }
    a->used = a->overflow = 0;
}

size_t extract_arena_size(void) { return arena.cap; }

void extract_thread_exit(void)
{
    free(arena.buf);
    memset(&arena, 0, sizeof(arena));
}

static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

static void install_alloc(void)
{
    json_set_alloc_funcs(arena_malloc, arena_free);
    json_object_seed(0);  /* seeded now, not on a worker's first object */
}

void extract_global_init(void) { pthread_once(&alloc_once, install_alloc); }

/* ---- viewing a response ---- */

static const char *find_line_end(const char *p, const char *end) { return memchr(p, '\n', (size_t)(end - p)); }

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* De-chunks body[0, len) in place; returns the decoded length or -1. */
static long dechunk(char *body, size_t len)
{
    const char *p = body, *end = body + len;
    char *out = body;
    for (;;) {
        size_t size = 0;
        int digits = 0, h;
        while (p < end && (h = hexval(*p)) >= 0) {  /* leading zeros allowed, as http_parse does */
            if (size >> 56) return -1;
            digits++;
            size = size * 16 + (size_t)h;
            p++;
        }
        if (!digits) return -1;
        const char *nl = find_line_end(p, end);  /* skips any ;extension */
        if (!nl) return -1;
        p = nl + 1;
        if (size == 0) break;  /* trailers, if any, are ignored */
        if ((size_t)(end - p) < size) return -1;
        memmove(out, p, size);
        out += size;
        p += size;
        if (p < end && *p == '\r') p++;
        if (p >= end || *p != '\n') return -1;
        p++;
    }
    return (long)(out - body);
}

static bool is_ows(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Is the header value (a list of codings) chunked, as the worker's parser reads it
 * (http_parse.c): its last non-empty element, without OWS around it, is "chunked"? */
static bool is_chunked(const char *v, size_t n)
{
    for (;;) {
        size_t b = n;
        while (b && v[b - 1] != ',') b--;
        size_t s = b, e = n;
        while (s < e && is_ows(v[s])) s++;
        while (e > s && is_ows(v[e - 1])) e--;
        if (s < e) return e - s == 7 && !strncasecmp(v + s, "chunked", 7);
        if (!b) return false;
        n = b - 1;
    }
}

int resp_view_head(struct resp_view *v, char *raw, size_t len)
{
    memset(v, 0, sizeof(*v));
    const char *end = raw + len;
again:
    if (len < 12 || memcmp(raw, "HTTP/1.", 7) || raw[7] < '0' || raw[7] > '9' || raw[8] != ' ') return -1;
    unsigned status = 0;
    for (int i = 9; i < 12; i++) {
        if (raw[i] < '0' || raw[i] > '9') return -1;
        status = status * 10 + (unsigned)(raw[i] - '0');
    }
    if (len > 12 && raw[12] != ' ' && raw[12] != '\r' && raw[12] != '\n') return -1;
    const char *nl = find_line_end(raw, end);
    if (!nl) return -1;
    const char *head = nl + 1, *p = head;
    for (;;) {  /* up to the empty line */
        if (p < end && *p == '\n') {
            v->head_len = (size_t)(p - head);
            p += 1;
            break;
        }
        if (p + 1 < end && p[0] == '\r' && p[1] == '\n') {
            v->head_len = (size_t)(p - head);
            p += 2;
            break;
        }
        nl = find_line_end(p, end);
        if (!nl) return -1;
        p = nl + 1;
    }
    if (status >= 100 && status < 200 && status != 101) {  /* an interim 1xx: the worker kept it too */
        len = (size_t)(end - p);
        raw += p - raw;
        goto again;
    }
    v->status = status;
    v->head = head;
    v->body = raw + (p - raw);
    v->body_len = (size_t)(end - p);
    return 0;
}

int resp_view_parse(struct resp_view *v, char *raw, size_t len)
{
    if (resp_view_head(v, raw, len)) return -1;
    /* framed as the worker's parser does: the last Transfer-Encoding decides, and any
     * overrides Content-Length (without chunked, the body ran to the close) */
    size_t n, ten = 0;
    const char *te = NULL;
    for (struct resp_view rest = *v;;) {
        const char *h = resp_header(&rest, "Transfer-Encoding", &n);
        if (!h) break;
        te = h;
        ten = n;
        const char *eol = memchr(h, '\n', (size_t)(rest.head + rest.head_len - h));
        if (!eol) break;
        rest.head_len -= (size_t)(eol + 1 - rest.head);
        rest.head = eol + 1;
    }
    if (te) {
        /* no bytes at all: a response that has no body (to HEAD, a 204 or 304) */
        if (is_chunked(te, ten) && v->body_len) {
            long got = dechunk(v->body, v->body_len);
            if (got < 0) return -1;
            v->body_len = (size_t)got;
        }
    } else {
        const char *cl = resp_header(v, "Content-Length", &n);
        if (cl && n > 0 && n < 19) {
            size_t want = 0, i = 0;
            while (i < n && cl[i] >= '0' && cl[i] <= '9') want = want * 10 + (size_t)(cl[i++] - '0');
            if (i == n && want < v->body_len) v->body_len = want;  /* what follows is not this response's */
        }
    }
    return 0;
}

const char *resp_header(const struct resp_view *v, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    const char *p = v->head, *end = v->head + v->head_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if ((size_t)(le - p) > nlen && p[nlen] == ':' && !strncasecmp(p, name, nlen)) {
            const char *s = p + nlen + 1, *e = le;
            while (s < e && (*s == ' ' || *s == '\t')) s++;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
            *len = (size_t)(e - s);
            return s;
        }
        p = le + 1;
    }
    *len = 0;
    return NULL;
}

const char *resp_cookie(const struct resp_view *v, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    const char *found = NULL, *at = v->head, *sc, *cn, *cv;
    size_t scn, cnn, cvn;
    *len = 0;
    while (jar_next_set_cookie(&at, v->head + v->head_len, &sc, &scn))
        if (jar_cookie_pair(sc, scn, &cn, &cnn, &cv, &cvn) && cnn == nlen && !memcmp(cn, name, nlen)) {
            found = cv;  /* the last one wins */
            *len = cvn;
        }
    return found;
}

/* ---- compiling ---- */

int json_path_compile(const char *path, struct json_path_part **parts, unsigned *nparts, char *err, size_t errlen)
{
    *parts = NULL;
    *nparts = 0;
    size_t len = strlen(path);
    if (len == 0) return errfmt(err, errlen, "json path is empty");
    /* at most one part per character */
    struct json_path_part *out = calloc(len, sizeof(*out));
    if (!out) return errfmt(err, errlen, "out of memory");
    unsigned n = 0;
    size_t i = 0;
    while (i < len) {
        if (path[i] == '[') {
            size_t j = i + 1;
            long idx = 0;
            while (j < len && path[j] >= '0' && path[j] <= '9' && j - i <= 9) idx = idx * 10 + (path[j++] - '0');
            if (j == i + 1 || j >= len || path[j] != ']') {
                errfmt(err, errlen, "json path '%.60s': expected [N] with N a number from 0 at character %zu", path,
                        i + 1);
                goto fail;
            }
            out[n].key = NULL;
            out[n++].index = idx;
            i = j + 1;
            if (i < len && path[i] != '.' && path[i] != '[') {
                errfmt(err, errlen, "json path '%.60s': expected . or [ at character %zu", path, i + 1);
                goto fail;
            }
            if (i < len && path[i] == '.') {
                i++;
                if (i == len) {
                    errfmt(err, errlen, "json path '%.60s': empty key at character %zu", path, i + 1);
                    goto fail;
                }
            }
            continue;
        }
        size_t j = i;
        while (j < len && path[j] != '.' && path[j] != '[') j++;
        if (j == i) {
            errfmt(err, errlen, "json path '%.60s': empty key at character %zu", path, i + 1);
            goto fail;
        }
        out[n].key = strndup(path + i, j - i);
        if (!out[n++].key) {
            errfmt(err, errlen, "out of memory");
            goto fail;
        }
        i = j;
        if (i < len && path[i] == '.') {
            i++;
            if (i == len) {
                errfmt(err, errlen, "json path '%.60s': empty key at character %zu", path, i + 1);
                goto fail;
            }
        }
    }
    *parts = out;
    *nparts = n;
    return 0;
fail:
    for (unsigned k = 0; k < n; k++) free(out[k].key);
    free(out);
    return -1;
}

static void free_path(struct json_path_part *p, unsigned n)
{
    for (unsigned k = 0; k < n; k++) free(p[k].key);
    free(p);
}

static void capture_free(struct capture *c)
{
    free(c->var_name);
    free(c->spec);
    free(c->header);
    free_path(c->path, c->npath);
    regex_destroy(c->re);
    memset(c, 0, sizeof(*c));
}

int capture_compile(struct capture *c, const char *var_name, uint32_t var, const char *spec, char *err,
                    size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->var = var;
    c->var_name = strdup(var_name);
    c->spec = strdup(spec);
    if (!c->var_name || !c->spec) goto oom;
    if (!strncmp(spec, "json.", 5) || !strcmp(spec, "json")) {
        c->kind = CAP_JSON;
        if (spec[4] == '\0' || spec[5] == '\0') {
            errfmt(err, errlen, "capture %s: 'json.' needs a path, such as json.token or json.items[0].id", var_name);
            goto fail;
        }
        char why[160];
        if (json_path_compile(spec + 5, &c->path, &c->npath, why, sizeof(why))) {
            errfmt(err, errlen, "capture %s: %s", var_name, why);
            goto fail;
        }
    } else if (!strncmp(spec, "header.", 7)) {
        c->kind = CAP_HEADER;
        const char *h = spec + 7;
        if (!*h) {
            errfmt(err, errlen, "capture %s: 'header.' needs a header name, such as header.ETag", var_name);
            goto fail;
        }
        for (const char *p = h; *p; p++)
            if (*p <= ' ' || *p == ':' || *p == 0x7f) {
                errfmt(err, errlen, "capture %s: '%s' is not a header name", var_name, h);
                goto fail;
            }
        if (!(c->header = strdup(h))) goto oom;
    } else if (!strncmp(spec, "cookie.", 7)) {
        c->kind = CAP_COOKIE;
        const char *h = spec + 7;
        if (!*h) {
            errfmt(err, errlen, "capture %s: 'cookie.' needs a cookie name, such as cookie.session", var_name);
            goto fail;
        }
        for (const char *p = h; *p; p++)  /* RFC 6265: a cookie name is a token */
            if (*p <= ' ' || *p == 0x7f || strchr("()<>@,;:\\\"/[]?={}", *p)) {
                errfmt(err, errlen, "capture %s: '%s' is not a cookie name", var_name, h);
                goto fail;
            }
        if (!(c->header = strdup(h))) goto oom;
    } else if (!strncmp(spec, "regex:", 6)) {
        c->kind = CAP_REGEX;
        if (!spec[6]) {
            errfmt(err, errlen, "capture %s: 'regex:' needs a pattern", var_name);
            goto fail;
        }
        char why[160];
        if (!(c->re = regex_compile(spec + 6, why, sizeof(why)))) {
            errfmt(err, errlen, "capture %s: %s", var_name, why);
            goto fail;
        }
    } else if (!strcmp(spec, "body")) {
        c->kind = CAP_BODY;
    } else {
        errfmt(err, errlen, "capture %s: unknown capture '%s' (expected json.PATH, header.NAME, cookie.NAME, regex:RE or body)",
                var_name, spec);
        goto fail;
    }
    return 0;
oom:
    errfmt(err, errlen, "out of memory");
fail:
    capture_free(c);
    return -1;
}

void extract_free(struct extract *x)
{
    if (!x) return;
    for (unsigned i = 0; i < x->ncaps; i++) capture_free(&x->caps[i]);
    free(x->caps);
    for (unsigned i = 0; i < x->nchecks; i++) {
        struct check *k = &x->checks[i];
        free(k->name);
        free_path(k->path, k->npath);
        tpl_free(&k->value);
        free(k->value_text);
    }
    free(x->checks);
    memset(x, 0, sizeof(*x));
}

size_t extract_scratch_need(const struct extract *x)
{
    size_t need = 0;
    for (unsigned i = 0; i < x->ncaps; i++)
        if (x->caps[i].re && regex_scratch_size(x->caps[i].re) > need) need = regex_scratch_size(x->caps[i].re);
    return need;
}

/* ---- running ---- */

static int why_f(char why[EXTRACT_WHY_LEN], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, EXTRACT_WHY_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

static json_t *json_walk(json_t *root, const struct json_path_part *p, unsigned n)
{
    json_t *j = root;
    for (unsigned i = 0; j && i < n; i++) {
        if (p[i].key) j = json_is_object(j) ? json_object_get(j, p[i].key) : NULL;
        else j = json_is_array(j) && (size_t)p[i].index < json_array_size(j) ? json_array_get(j, (size_t)p[i].index) : NULL;
    }
    return j;
}

/* The shortest %g form of d that reads back as d, with ".0" for whole numbers as jansson
 * writes them. */
static int fmt_real(char *out, size_t cap, double d)
{
    char tmp[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    if (!strpbrk(tmp, ".eEni")) {  /* not 1e+20, inf, nan */
        memcpy(tmp + n, ".0", 3);
        n += 2;
    }
    if ((size_t)n < cap) memcpy(out, tmp, (size_t)n);
    return n;
}

/* Writes j's text (a string's content, anything else as compact JSON) into out (cap
 * bytes); returns its full length, which may be above cap (then out is not all of it).
 * An arena must be active: dumping an object allocates inside jansson. */
static size_t json_text(json_t *j, char *out, size_t cap, const char **direct)
{
    *direct = NULL;
    char tmp[32];
    switch (json_typeof(j)) {
    case JSON_STRING:
        *direct = json_string_value(j);
        return json_string_length(j);
    case JSON_INTEGER: {
        int n = snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        if ((size_t)n <= cap) memcpy(out, tmp, (size_t)n);
        return (size_t)n;
    }
    case JSON_REAL:
        return (size_t)fmt_real(out, cap + 1, json_real_value(j));
    case JSON_TRUE: *direct = "true"; return 4;
    case JSON_FALSE: *direct = "false"; return 5;
    case JSON_NULL: *direct = "null"; return 4;
    default:
        return json_dumpb(j, out, cap, JSON_COMPACT | JSON_ENCODE_ANY);
    }
}

struct run_state {
    struct resp_view *v;
    json_t *root;
    bool parsed;  /* root tried */
    char why_not[64];  /* root NULL: jansson's reason, without its "near ..." (one reason per kind) */
};

/* An integer token s[0, n) (an optional '-' and digits) that a 64-bit integer cannot hold. */
static bool int_past_64_bits(const char *s, size_t n)
{
    bool neg = *s == '-';
    const char *d = s + neg, *most = neg ? "9223372036854775808" : "9223372036854775807";
    size_t len = n - neg;
    return len > 19 || (len == 19 && memcmp(d, most, 19) > 0);
}

/* body[0, n) with each integer past 64 bits written as a string of its digits ("12" for
 * 12), into arena memory (NULL if none is left); *len: its length. Numbers are found
 * outside strings only, each read whole: one with a fraction or exponent is a double
 * already, and its digits are not an integer of their own. */
static char *quote_big_ints(const char *body, size_t n, size_t *len)
{
    char *out = arena_malloc(n + n / 9 + 3);  /* each quoted integer is 19 bytes or more and grows by 2 */
    if (!out) return NULL;
    size_t o = 0;
    bool in_string = false;
    for (size_t i = 0; i < n;) {
        char c = body[i];
        if (in_string) {
            out[o++] = body[i++];
            if (c == '\\' && i < n) out[o++] = body[i++];
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        if (c != '-' && (c < '0' || c > '9')) {
            out[o++] = body[i++];
            continue;
        }
        size_t d = i + (c == '-'), j = d, int_end;
        while (j < n && body[j] >= '0' && body[j] <= '9') j++;
        int_end = j;
        if (j < n && body[j] == '.')
            for (j++; j < n && body[j] >= '0' && body[j] <= '9';) j++;
        if (j < n && (body[j] == 'e' || body[j] == 'E')) {
            j++;
            if (j < n && (body[j] == '+' || body[j] == '-')) j++;
            while (j < n && body[j] >= '0' && body[j] <= '9') j++;
        }
        /* (a leading 0 is not JSON: it stays for jansson to refuse) */
        bool quote = j == int_end && int_end > d && body[d] != '0' && int_past_64_bits(body + i, j - i);
        if (quote) out[o++] = '"';
        memcpy(out + o, body + i, j - i);
        o += j - i;
        if (quote) out[o++] = '"';
        i = j;
    }
    *len = o;
    return out;
}

/* The body as JSON. \u0000 in strings is let through (the value is cut there when used). An
 * integer past 64 bits, which jansson cannot hold, is read as a string of its digits: the
 * rest of the body stays usable, and a capture of it gets its digits exactly. */
static json_t *get_root(struct run_state *st)
{
    if (!st->parsed) {
        st->parsed = true;
        json_error_t e;
        st->root = json_loadb(st->v->body, st->v->body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        if (!st->root && json_error_code(&e) == json_error_numeric_overflow) {
            size_t n;
            char *quoted = quote_big_ints(st->v->body, st->v->body_len, &n);
            if (quoted) {
                st->root = json_loadb(quoted, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
                arena_free(quoted);
            }
        }
        if (!st->root) {
            char *near = strstr(e.text, " near");
            snprintf(st->why_not, sizeof(st->why_not), "%.*s", near ? (int)(near - e.text) : (int)strlen(e.text), e.text);
        }
    }
    return st->root;
}

static int run_check(const struct check *k, struct run_state *st, const struct tpl_env *env, char *scratch,
                     size_t scratch_cap, char why[EXTRACT_WHY_LEN])
{
    size_t want = 0;
    if (k->kind != CHK_HEADER_PRESENT) {
        want = tpl_render(&k->value, env, scratch, scratch_cap);
        if (want > scratch_cap) return why_f(why, "%s: expected value over %zu bytes", k->value_text, scratch_cap);
    }
    switch (k->kind) {
    case CHK_HEADER_PRESENT:
    case CHK_HEADER_EQUALS: {
        size_t n;
        const char *h = resp_header(st->v, k->name, &n);
        if (!h) return why_f(why, "header %s missing", k->name);
        if (k->kind == CHK_HEADER_EQUALS && (n != want || memcmp(h, scratch, n)))
            return why_f(why, "header %s is not \"%s\"", k->name,
                         secret_name(k->name, strlen(k->name)) ? SECRET_MASK : k->value_text);
        return 0;
    }
    case CHK_BODY_CONTAINS:
        /* An empty text (its variables empty: captured so, or not yet) is in every body. */
        if (want && !memmem(st->v->body, st->v->body_len, scratch, want))
            return why_f(why, "body does not contain %s", k->value_text);
        return 0;
    case CHK_JSON_EQUALS: {
        json_t *root = get_root(st);
        if (!root) return why_f(why, "%s: body is not JSON (%s)", k->name, st->why_not);
        json_t *j = json_walk(root, k->path, k->npath);
        if (!j) return why_f(why, "%s not found", k->name);
        /* compared as text: a string by its content, anything else by its JSON text */
        const char *direct;
        char *text = scratch + want;  /* after the expected value */
        size_t room = scratch_cap - want;
        size_t n = json_text(j, text, room, &direct);
        if (n != want || (!direct && n > room) || memcmp(direct ? direct : text, scratch, n))
            return why_f(why, "%s is not \"%s\"", k->name,
                         secret_name(k->name, strlen(k->name)) ? SECRET_MASK : k->value_text);
        return 0;
    }
    }
    return 0;
}

/* A value that cannot go where the variable is used in a request head (extract.h,
 * CAP_IN_*): the capture fails rather than send a broken or injected request. */
static bool head_bad(const struct capture *c, const char *val, size_t n, char why[EXTRACT_WHY_LEN])
{
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)val[i];
        const char *where = (c->head_use & CAP_IN_HEADER) && tpl_head_byte_bad(b, false) ? "a header"
                            : (c->head_use & CAP_IN_PATH) && tpl_head_byte_bad(b, true) ? "the path"
                            : NULL;
        if (where) {
            why_f(why, "capture %s: %s has byte 0x%02x, which cannot go in %s (${%s})", c->var_name, c->spec, b,
                  where, c->var_name);
            return true;
        }
    }
    return false;
}

/* scratch: for regexes (the checks, which ran before, are done with it) */
static int run_capture(const struct capture *c, struct run_state *st, char *vars, uint32_t *var_len,
                       uint32_t var_cap, char *scratch, size_t scratch_cap, char why[EXTRACT_WHY_LEN])
{
    char *slot = vars + (size_t)c->var * var_cap;
    const char *val = NULL;
    size_t n = 0;
    switch (c->kind) {
    case CAP_HEADER:
        val = resp_header(st->v, c->header, &n);
        if (!val) return why_f(why, "capture %s: %s not found", c->var_name, c->spec);
        break;
    case CAP_COOKIE:
        val = resp_cookie(st->v, c->header, &n);
        if (!val) return why_f(why, "capture %s: %s not set", c->var_name, c->spec);
        break;
    case CAP_BODY:
        val = st->v->body;
        n = st->v->body_len;
        break;
    case CAP_REGEX: {
        struct regex_span m;
        int rc = regex_match(c->re, st->v->body, st->v->body_len, scratch, scratch_cap, &m);
        _Static_assert(REGEX_MAX_STEPS == 1 << 24, "the message names the limit");
        if (rc == REGEX_OVER_BUDGET)  /* a worker drives every other user too: it may not stall on one */
            return why_f(why, "capture %s: regex over its limit of 2^24 steps: narrow the pattern or the body",
                         c->var_name);
        if (rc < 0)
            return why_f(why, "capture %s: the regex needs %zu bytes of scratch, %zu given", c->var_name,
                         regex_scratch_size(c->re), scratch_cap);
        if (!rc) return why_f(why, "capture %s: %s not found", c->var_name, c->spec);
        size_t from = m.start, to = m.end;
        if (regex_groups(c->re) >= 1) {
            if (m.g1_start == REGEX_NONE) return why_f(why, "capture %s: %s not found", c->var_name, c->spec);
            from = m.g1_start;
            to = m.g1_end;
        }
        val = st->v->body + from;
        n = to - from;
        break;
    }
    case CAP_JSON: {
        json_t *root = get_root(st);
        if (!root) return why_f(why, "capture %s: body is not JSON (%s)", c->var_name, st->why_not);
        json_t *j = json_walk(root, c->path, c->npath);
        if (!j) return why_f(why, "capture %s: %s not found", c->var_name, c->spec);
        n = json_text(j, slot, var_cap, &val);
        if (!val) {  /* written into the slot already, if it fit */
            if (n > var_cap) {
                var_len[c->var] = 0;  /* json_dumpb wrote what fit over its old value: empty, not half of each */
                return why_f(why, "capture %s: %zu bytes, over the %u a variable holds", c->var_name, n, var_cap);
            }
            if (c->head_use && head_bad(c, slot, n, why)) {
                var_len[c->var] = 0;  /* its old value is overwritten: empty, not half of each */
                return -1;
            }
            var_len[c->var] = (uint32_t)n;
            return 0;
        }
        break;
    }
    }
    if (n > var_cap) return why_f(why, "capture %s: %zu bytes, over the %u a variable holds", c->var_name, n, var_cap);
    /* A value from the server goes into later requests, headers included: a line break
     * there would end the header early (and let the server write request lines). */
    if (c->kind != CAP_BODY && (memchr(val, '\r', n) || memchr(val, '\n', n)))
        return why_f(why, "capture %s: %s has a line break", c->var_name, c->spec);
    if (c->head_use && head_bad(c, val, n, why)) return -1;
    memmove(slot, val, n);
    var_len[c->var] = (uint32_t)n;
    return 0;
}

int extract_run(const struct extract *x, struct resp_view *v, const struct tpl_env *env, char *vars,
                uint32_t *var_len, uint32_t var_cap, char *scratch, size_t scratch_cap, char why[EXTRACT_WHY_LEN])
{
    extract_global_init();
    why[0] = '\0';
    struct run_state st = {.v = v};
    arena_begin();
    int rc = 0;
    for (unsigned i = 0; i < x->nchecks && !rc; i++) rc = run_check(&x->checks[i], &st, env, scratch, scratch_cap, why);
    for (unsigned i = 0; i < x->ncaps && !rc; i++) rc = run_capture(&x->caps[i], &st, vars, var_len, var_cap, scratch, scratch_cap, why);
    if (st.root) json_decref(st.root);
    arena_end();
    return rc;
}
