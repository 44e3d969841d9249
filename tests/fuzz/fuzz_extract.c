/* libFuzzer target for the response viewer and the captures and checks (extract.h),
 * whose input is whatever the server under test sent.
 *
 * Input: byte 0-1 = which of 16 capture specs run, byte 2 = which of 8 checks run,
 * byte 3 = control (bits 0-2: the bytes a variable holds, 0 to 4096; bits 3-4: head_use
 * CAP_IN_HEADER / CAP_IN_PATH; bits 5-6: scratch of extract_scratch_need() bytes, 5 more,
 * half of it (too little for a regex) or 4096 more; bit 7: the request was HEAD), the rest
 * = the response bytes. Every block handed to the code under test (response, variables,
 * scratch, reason) is a heap block of exactly its size, so that ASan sees a read or write
 * past it.
 * Checks:
 * - resp_view_parse agrees with a separately written reference (status line, head, end of
 *   the head, Transfer-Encoding ending in chunked, Content-Length, a small de-chunker into
 *   another buffer): same result, status, head and body pointers and lengths, the same
 *   body bytes; the bytes before the body are left alone; the view lies inside the input;
 * - framing agrees with the worker's parser (http_parse.h): when it finds a complete final
 *   response in the input, the bytes it consumed (what the worker keeps for captures) view
 *   as that response: same status, body_len its body_bytes;
 * - resp_header finds what a reference lookup finds, trimmed, inside the head; so does
 *   resp_cookie (the last Set-Cookie naming the cookie, its value up to the first ';');
 * - each selected check and capture is run alone and its result (pass or fail, the value
 *   captured) is the one a reference predicts: header/cookie/body/regex/JSON (jansson outside the
 *   arena; a body jansson refuses for an integer past 64 bits is parsed again with each such
 *   integer quoted, found by strtoll's ERANGE) value, over the variable's size, a line break, a byte head_use forbids; a failed
 *   capture leaves its variable as it was or empty, never half of each; every reason is
 *   non-empty, NUL-terminated inside EXTRACT_WHY_LEN, on one line; a pass leaves it "";
 * - all of them run together pass exactly when each passes alone, fail with the reason of
 *   the first that fails alone (checks first, then captures), and capture the same values.
 *
 * Build: make build/fuzz/fuzz_extract (FUZZ_LIB_fuzz_extract in the Makefile)
 */
#include "extract.h"
#include "http_parse.h"
#include "regex_vm.h"
#include "template.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCAPS 16
#define NCHECKS 8
#define NSLOTS (1 + NCAPS)  /* slot 0: ${v0} for the checks; capture i writes slot i + 1 */

static const char *CAP_SPECS[NCAPS] = {
    "json.token",
    "json.items[0].id",
    "json.obj",
    "json.[1]",
    "json.n",
    "json.a.b.c[2]",
    "header.Content-Type",
    "header.X-Token",
    "header.set-cookie",
    "regex:\"id\":\\s*\"?([^\",}]*)",
    "regex:[a-z]+\\d*",
    "regex:(ab)?c",
    "regex:^(.*)$",
    "cookie.sid",
    "body",
    "header.Transfer-Encoding",
};

static const struct {
    enum check_kind kind;
    const char *name, *value;
} CHECK_SPECS[NCHECKS] = {
    {CHK_HEADER_PRESENT, "X-Token", NULL},
    {CHK_HEADER_EQUALS, "Content-Type", "application/json"},
    {CHK_HEADER_EQUALS, "Authorization", "Bearer ${v0}"},
    {CHK_BODY_CONTAINS, NULL, "ok"},
    {CHK_BODY_CONTAINS, NULL, "id=${v0}"},
    {CHK_JSON_EQUALS, "json.state", "open"},
    {CHK_JSON_EQUALS, "json.items[0].id", "${v0}"},
    {CHK_JSON_EQUALS, "json.obj", "{\"a\":1}"},
};

static const uint32_t VAR_CAPS[8] = {0, 1, 3, 8, 16, 64, 256, 4096};
static const char V0[] = "7";

static struct capture caps[NCAPS];
static struct check checks[NCHECKS];

static void die(const char *why)
{
    fprintf(stderr, "fuzz_extract: %s\n", why);
    abort();
}

static int names_var(const void *ctx, const char *name, size_t len)
{
    (void)ctx;
    return len == 2 && !memcmp(name, "v0", 2) ? 0 : -1;
}
static const struct tpl_names NAMES = {NULL, names_var, NULL};

static void compile_all(void)
{
    static bool done;
    if (done) return;
    done = true;
    char err[256];
    for (unsigned i = 0; i < NCAPS; i++)
        if (capture_compile(&caps[i], "v", i + 1, CAP_SPECS[i], err, sizeof(err))) die(err);
    for (unsigned i = 0; i < NCHECKS; i++) {
        struct check *k = &checks[i];
        k->kind = CHECK_SPECS[i].kind;
        tpl_init(&k->value);
        const char *v = CHECK_SPECS[i].value;
        k->name = CHECK_SPECS[i].name ? strdup(CHECK_SPECS[i].name) : NULL;
        if (k->kind == CHK_JSON_EQUALS && json_path_compile(k->name + 5, &k->path, &k->npath, err, sizeof(err)))
            die(err);
        if (v) {
            k->value_text = strdup(v);
            if (tpl_append(&k->value, v, strlen(v), TPL_RAW, &NAMES, err, sizeof(err))) die(err);
        }
    }
}

/* ---- the reference viewer ---- */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static bool ci_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return false;
    return true;
}

/* The first line of head[0, n) that is "name:" (any case), its value trimmed of SP, HT
 * and a final CR. Returns the value's offset in head, or -1. */
static long ref_header(const char *head, size_t n, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    for (size_t at = 0; at < n;) {
        size_t e = at;
        while (e < n && head[e] != '\n') e++;
        if (e - at > nlen && head[at + nlen] == ':' && ci_eq(head + at, name, nlen)) {
            size_t s = at + nlen + 1, t = e;
            while (s < t && (head[s] == ' ' || head[s] == '\t')) s++;
            while (t > s && (head[t - 1] == ' ' || head[t - 1] == '\t' || head[t - 1] == '\r')) t--;
            *vlen = t - s;
            return (long)s;
        }
        at = e + 1;
    }
    *vlen = 0;
    return -1;
}

static bool ref_ows(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* The reference's reading of a body with integers past 64 bits: outside strings, each run
 * of number characters (0-9 . e E + -) that starts with '-' or a digit is one token; a token
 * that is a whole integer (-?[1-9][0-9]*) strtoll cannot hold goes in quotes; the copy is
 * parsed again. */
static json_t *ref_load_big_ints(const char *b, size_t n)
{
    char *q = malloc(n + n / 2 + 3), num[64];
    if (!q) return NULL;
    size_t o = 0;
    int str = 0, esc = 0;
    for (size_t i = 0; i < n;) {
        char c = b[i];
        if (str) {
            if (esc) esc = 0;
            else if (c == '\\') esc = 1;
            else if (c == '"') str = 0;
            q[o++] = b[i++];
            continue;
        }
        if (c != '-' && !(c >= '0' && c <= '9')) {
            if (c == '"') str = 1;
            q[o++] = b[i++];
            continue;
        }
        size_t e = i + 1;
        while (e < n && b[e] && strchr("0123456789.eE+-", b[e])) e++;
        size_t d = i + (c == '-'), k = d;
        while (k < e && b[k] >= '0' && b[k] <= '9') k++;
        int big = 0;
        if (k == e && k > d && b[d] != '0') {  /* a whole integer */
            big = e - i >= sizeof(num);
            if (!big) {
                memcpy(num, b + i, e - i);
                num[e - i] = 0;
                errno = 0;
                (void)strtoll(num, NULL, 10);
                big = errno == ERANGE;
            }
        }
        if (big) q[o++] = '"';
        memcpy(q + o, b + i, e - i);
        o += e - i;
        if (big) q[o++] = '"';
        i = e;
    }
    json_error_t err;
    json_t *root = json_loadb(q, o, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    free(q);
    return root;
}

/* The cookie `name` of head[0, n): over the lines "set-cookie:" (any case), the last whose
 * text up to its first ';' is NAME=VALUE with OWS (SP, HT, CR) around either; VALUE's offset
 * in head, or -1. */
static long ref_cookie(const char *head, size_t n, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    long found = -1;
    *vlen = 0;
    for (size_t at = 0; at < n;) {
        size_t e = at;
        while (e < n && head[e] != '\n') e++;
        if (e - at > 11 && head[at + 10] == ':' && ci_eq(head + at, "set-cookie", 10)) {
            size_t a = at + 11, z = a;
            while (z < e && head[z] != ';') z++;
            size_t eq = a;
            while (eq < z && head[eq] != '=') eq++;
            if (eq < z) {
                size_t ns = a, ne = eq, vs = eq + 1, ve = z;
                while (ns < ne && ref_ows(head[ns])) ns++;
                while (ne > ns && ref_ows(head[ne - 1])) ne--;
                while (vs < ve && ref_ows(head[vs])) vs++;
                while (ve > vs && ref_ows(head[ve - 1])) ve--;
                if (ne - ns == nlen && !memcmp(head + ns, name, nlen)) {
                    found = (long)vs;
                    *vlen = ve - vs;
                }
            }
        }
        at = e + 1;
    }
    return found;
}

static int xval(char c)
{
    const char *hex = "0123456789abcdef";
    const char *p = c ? strchr(hex, lower((unsigned char)c)) : NULL;
    return p ? (int)(p - hex) : -1;
}

/* Chunks of in[0, len) into out; the payload's length, or -1. */
static long ref_dechunk(const char *in, size_t len, char *out)
{
    size_t i = 0, o = 0;
    for (;;) {
        size_t from = i, size = 0, zeros = 0;
        for (; i < len && xval(in[i]) >= 0; i++) {
            if (size == 0 && in[i] == '0') zeros++;
            size = size * 16 + (size_t)xval(in[i]);
        }
        if (i == from || i - from - zeros > 15) return -1;  /* at most 15 digits after leading zeros */
        while (i < len && in[i] != '\n') i++;  /* an extension, the CR */
        if (i++ == len) return -1;
        if (!size) return (long)o;
        if (len - i < size) return -1;
        memcpy(out + o, in + i, size);
        o += size;
        i += size;
        if (i < len && in[i] == '\r') i++;
        if (i == len || in[i] != '\n') return -1;
        i++;
    }
}

struct ref_view {
    unsigned status;
    size_t head_off, head_len, body_off, body_len;
    const char *body;  /* into the input, or the de-chunked copy */
};

/* The status line and head at in[at, len): status, head and body offsets. Returns 0 or -1. */
static int ref_head(struct ref_view *r, const char *in, size_t len, size_t at)
{
    const char *s = in + at;
    if (len - at < 12 || memcmp(s, "HTTP/1.", 7) || s[7] < '0' || s[7] > '9' || s[8] != ' ') return -1;
    r->status = 0;
    for (int i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        r->status = r->status * 10 + (unsigned)(s[i] - '0');
    }
    if (len - at > 12 && !strchr(" \r\n", s[12] ? s[12] : 'x')) return -1;
    /* lines after the status line, up to one that is empty or "\r" */
    while (at < len && in[at] != '\n') at++;
    if (at == len) return -1;
    r->head_off = ++at;
    for (;;) {
        size_t e = at;
        while (e < len && in[e] != '\n') e++;
        if (e == len) return -1;
        if (e == at || (e == at + 1 && in[at] == '\r')) {
            r->head_len = at - r->head_off;
            r->body_off = e + 1;
            return 0;
        }
        at = e + 1;
    }
}

/* Views in[0, len) (not changed); *dechunked: a buffer of len bytes. Returns 0 or -1.
 * Interim 1xx responses (not 101) before the final one are skipped, as http_parse does;
 * a chunked body of no bytes at all is empty (the response to HEAD, a 204, a 304). */
static int ref_view(struct ref_view *r, const char *in, size_t len, char *dechunked)
{
    size_t at = 0;
    do {
        if (ref_head(r, in, len, at)) return -1;
        at = r->body_off;
    } while (r->status >= 100 && r->status <= 199 && r->status != 101);
    r->body = in + r->body_off;
    r->body_len = len - r->body_off;
    const char *head = in + r->head_off;
    size_t n;
    /* the last Transfer-Encoding line, as http_parse reads it; any one overrides Content-Length */
    long te = -1;
    size_t ten = 0;
    for (size_t from = 0;;) {
        long t = ref_header(head + from, r->head_len - from, "Transfer-Encoding", &n);
        if (t < 0) break;
        te = (long)from + t;
        ten = n;
        from = (size_t)te;
        while (head[from] != '\n') from++;
        from++;
    }
    if (te >= 0) {
        /* its elements, split at commas, trimmed of SP HT CR; the last non-empty one */
        const char *last = NULL;
        size_t last_len = 0;
        for (size_t i = 0; i <= ten;) {
            size_t j = i;
            while (j < ten && head[te + j] != ',') j++;
            size_t a = i, b = j;
            while (a < b && strchr(" \t\r", head[te + a] ? head[te + a] : 'x')) a++;
            while (b > a && strchr(" \t\r", head[te + b - 1] ? head[te + b - 1] : 'x')) b--;
            if (b > a) last = head + te + a, last_len = b - a;
            i = j + 1;
        }
        if (!last || last_len != 7 || !ci_eq(last, "chunked", 7) || !r->body_len) return 0;  /* runs to the close */
        long got = ref_dechunk(r->body, r->body_len, dechunked);
        if (got < 0) return -1;
        r->body = dechunked;
        r->body_len = (size_t)got;
        return 0;
    }
    long cl = ref_header(head, r->head_len, "Content-Length", &n);
    if (cl >= 0 && n >= 1 && n <= 18 && strspn(head + cl, "0123456789") >= n) {
        size_t want = strtoull(head + cl, NULL, 10);
        if (want < r->body_len) r->body_len = want;
    }
    return 0;
}

/* ---- the view ---- */

static void check_view(const char *orig, char *raw, size_t len, int rc, const struct resp_view *v, char *dechunked)
{
    struct ref_view r;
    int want = ref_view(&r, orig, len, dechunked);
    if (rc != want) {
        fprintf(stderr, "resp_view_parse %d, reference %d\n", rc, want);
        die("viewer and reference disagree on the result");
    }
    if (rc) return;
    if (v->status != r.status || v->status > 999) die("status differs");
    if (v->head != raw + r.head_off || v->head_len != r.head_len) die("head differs");
    if (v->body != raw + r.body_off) die("body is not after the head");
    if (v->body_len != r.body_len || memcmp(v->body, r.body, r.body_len)) die("body differs");
    if (v->body_len > len - r.body_off) die("body past the input");
    if (memcmp(raw, orig, r.body_off)) die("the status line or head changed");

    static const char *names[] = {"Content-Type", "content-length", "X-TOKEN", "Transfer-Encoding", "set-cookie", "",
                                  "HTTP/1.1 200 OK"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = 12345, rn;
        const char *h = resp_header(v, names[i], &n);
        long off = ref_header(orig + r.head_off, r.head_len, names[i], &rn);
        if (!h != (off < 0)) die("resp_header and reference disagree on presence");
        if (!h) {
            if (n != 0) die("resp_header: absent with a length");
            continue;
        }
        if (h != v->head + off || n != rn) die("resp_header and reference disagree on the value");
        if (h < v->head || h + n > v->head + v->head_len) die("header value outside the head");
        if (memchr(h, '\n', n)) die("header value over two lines");
        if (n && (h[0] == ' ' || h[0] == '\t' || strchr(" \t\r", h[n - 1] ? h[n - 1] : 'x'))) die("header value not trimmed");
    }
    static const char *cookies[] = {"sid", "SID", "a", "theme"};
    for (size_t i = 0; i < sizeof(cookies) / sizeof(cookies[0]); i++) {
        size_t n = 12345, rn;
        const char *h = resp_cookie(v, cookies[i], &n);
        long off = ref_cookie(orig + r.head_off, r.head_len, cookies[i], &rn);
        if (!h != (off < 0)) die("resp_cookie and reference disagree on presence");
        if (!h) {
            if (n != 0) die("resp_cookie: absent with a length");
            continue;
        }
        if (n != rn || (n && h != v->head + off)) die("resp_cookie and reference disagree on the value");
        if (h < v->head || h + n > v->head + v->head_len) die("cookie value outside the head");
        if (memchr(h, '\n', n) || memchr(h, ';', n)) die("cookie value over two lines or past a ';'");
    }
}

/* What the worker keeps: the bytes http_parse consumed up to a complete final response
 * (interim 1xx included), or all of them if the close ended it. */
static void check_framing(const uint8_t *in, size_t len, bool no_body)
{
    struct http_resp p;
    http_resp_start(&p, no_body);
    ssize_t got = http_resp_feed(&p, (const char *)in, len);
    if (got < 0) return;
    size_t used = (size_t)got;
    if (p.state != HTTP_DONE) {
        if (used != len || http_resp_eof(&p) != 1) return;
    }
    char *raw = malloc(used ? used : 1);
    memcpy(raw, in, used);
    struct resp_view v;
    if (resp_view_parse(&v, raw, used)) {
        fprintf(stderr, "http_parse: status %u, %llu body bytes in %zu\n", p.status, (unsigned long long)p.body_bytes,
                used);
        die("a response the worker parsed does not view");
    }
    if (v.status != p.status || v.body_len != p.body_bytes) {
        fprintf(stderr, "http_parse: status %u, %llu body bytes; view: status %u, %zu body bytes\n", p.status,
                (unsigned long long)p.body_bytes, v.status, v.body_len);
        die("the view frames the response differently from the worker");
    }
    free(raw);
}

/* ---- captures and checks ---- */

struct ctx {
    struct resp_view *v;
    uint32_t var_cap;
    uint8_t head_use;
    size_t scratch_cap;
    char *vars, *scratch, *why;  /* exact-size blocks */
    uint32_t var_len[NSLOTS];
    json_t *root;  /* the reference's parse of the body (NULL: not JSON) */
    uint64_t seq, rng;
};

/* Every slot holds "old" bytes (as many as fit), v0 holds V0. */
static void reset_vars(struct ctx *c)
{
    memset(c->vars, 'o', (size_t)NSLOTS * c->var_cap);
    for (unsigned i = 0; i < NSLOTS; i++) c->var_len[i] = c->var_cap < 3 ? c->var_cap : 3;
    if (c->var_cap >= 1) memcpy(c->vars, V0, 1);
    c->var_len[0] = c->var_cap >= 1 ? 1 : 0;
}

static int run(struct ctx *c, const struct extract *x)
{
    struct tpl_env env = {c->vars, c->var_len, c->var_cap, NULL, NULL, 1, 0, &c->seq, &c->rng};
    memset(c->why, 'W', EXTRACT_WHY_LEN);
    int rc = extract_run(x, c->v, &env, c->vars, c->var_len, c->var_cap, c->scratch, c->scratch_cap, c->why);
    if (rc != 0 && rc != -1) die("extract_run returned neither 0 nor -1");
    if (!memchr(c->why, '\0', EXTRACT_WHY_LEN)) die("reason not NUL-terminated inside EXTRACT_WHY_LEN");
    if (rc == 0 && c->why[0]) die("a pass with a reason");
    if (rc == -1 && !c->why[0]) die("a failure without a reason");
    for (const char *p = c->why; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) die("reason with a control character");
    for (unsigned i = 0; i < NSLOTS; i++)
        if (c->var_len[i] > c->var_cap) die("variable longer than a slot");
    return rc;
}

static bool head_bad(const struct ctx *c, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if ((c->head_use & CAP_IN_HEADER) && ((b < 0x20 && b != '\t') || b == 0x7f)) return true;
        if ((c->head_use & CAP_IN_PATH) && (b <= 0x20 || b == 0x7f)) return true;
    }
    return false;
}

static json_t *walk(json_t *j, const struct json_path_part *p, unsigned n)
{
    for (unsigned i = 0; j && i < n; i++)
        j = p[i].key ? json_object_get(j, p[i].key) : json_array_get(j, (size_t)p[i].index);
    return j;
}

/* j's text as captures and checks see it (malloc'd); *direct: a string's content, or a word. */
static char *json_text_ref(json_t *j, size_t *n, bool *direct)
{
    char buf[64];
    *direct = false;
    switch (json_typeof(j)) {
    case JSON_STRING:
        *direct = true;
        *n = json_string_length(j);
        char *s = malloc(*n + 1);
        memcpy(s, json_string_value(j), *n);
        return s;
    case JSON_INTEGER:
        *n = (size_t)snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        return strdup(buf);
    case JSON_REAL: {  /* 15 to 17 digits, whichever reads back first; ".0" if it looks whole */
        double d = json_real_value(j);
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof(buf), "%.*g", prec, d);
            if (strtod(buf, NULL) == d) break;
        }
        if (!strpbrk(buf, ".eEni")) strcat(buf, ".0");
        *n = strlen(buf);
        return strdup(buf);
    }
    case JSON_TRUE: case JSON_FALSE: case JSON_NULL:
        *direct = true;
        /* fallthrough */
    default: {
        char *d = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!d) die("json_dumps failed");
        *n = strlen(d);
        return d;
    }
    }
}

/* The expected value of a check, rendered by hand: ${v0} is V0 when a slot holds it. */
static size_t expected(const struct ctx *c, const char *value, char *out)
{
    size_t n = 0;
    for (const char *p = value; *p;) {
        if (!strncmp(p, "${v0}", 5)) {
            if (c->var_cap >= 1) out[n++] = V0[0];
            p += 5;
        } else {
            out[n++] = *p++;
        }
    }
    return n;
}

static bool check_passes(const struct ctx *c, const struct check *k)
{
    char want[64];
    size_t wn = k->value_text ? expected(c, k->value_text, want) : 0;
    if (k->kind != CHK_HEADER_PRESENT && wn > c->scratch_cap) return false;
    size_t hn;
    const char *h;
    switch (k->kind) {
    case CHK_HEADER_PRESENT:
        return resp_header(c->v, k->name, &hn) != NULL;
    case CHK_HEADER_EQUALS:
        h = resp_header(c->v, k->name, &hn);
        return h && hn == wn && !memcmp(h, want, wn);
    case CHK_BODY_CONTAINS:
        return !wn || memmem(c->v->body, c->v->body_len, want, wn);
    case CHK_JSON_EQUALS: {
        json_t *j = c->root ? walk(c->root, k->path, k->npath) : NULL;
        if (!j) return false;
        size_t n;
        bool direct;
        char *t = json_text_ref(j, &n, &direct);
        bool ok = n == wn && !memcmp(t, want, n) && (direct || n <= c->scratch_cap - wn);
        free(t);
        return ok;
    }
    }
    return false;
}

/* Predicts a capture: true with the value in *val (malloc'd), or false. */
static bool capture_passes(const struct ctx *c, const struct capture *cap, char **val, size_t *n)
{
    *val = NULL;
    *n = 0;
    const char *s = NULL;
    bool direct = true;
    switch (cap->kind) {
    case CAP_HEADER:
        if (!(s = resp_header(c->v, cap->header, n))) return false;
        break;
    case CAP_COOKIE: {
        long off = ref_cookie(c->v->head, c->v->head_len, cap->header, n);
        if (off < 0) return false;
        s = c->v->head + off;
        break;
    }
    case CAP_BODY:
        s = c->v->body;
        *n = c->v->body_len;
        break;
    case CAP_REGEX: {
        size_t need = regex_scratch_size(cap->re);
        if (need > c->scratch_cap) return false;
        char *scratch = malloc(need ? need : 1);
        struct regex_span m;
        int rc = regex_match(cap->re, c->v->body, c->v->body_len, scratch, need, &m);
        free(scratch);
        if (rc != 1) return false;
        if (regex_groups(cap->re)) {
            if (m.g1_start == REGEX_NONE) return false;
            m.start = m.g1_start;
            m.end = m.g1_end;
        }
        if (m.start > m.end || m.end > c->v->body_len) die("regex span outside the body");
        s = c->v->body + m.start;
        *n = m.end - m.start;
        break;
    }
    case CAP_JSON: {
        json_t *j = c->root ? walk(c->root, cap->path, cap->npath) : NULL;
        if (!j) return false;
        *val = json_text_ref(j, n, &direct);
        if (json_typeof(j) != JSON_STRING) direct = false;  /* JSON text has no raw line break */
        s = *val;
        break;
    }
    }
    bool ok = *n <= c->var_cap && (cap->kind == CAP_BODY || !direct || (!memchr(s, '\r', *n) && !memchr(s, '\n', *n))) &&
              !head_bad(c, s, *n);
    if (ok && !*val) {
        *val = malloc(*n ? *n : 1);
        memcpy(*val, s, *n);
    }
    if (!ok) {
        free(*val);
        *val = NULL;
    }
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || size > 16384) return 0;
    compile_all();
    unsigned cap_mask = data[0] | (unsigned)data[1] << 8, check_mask = data[2], ctl = data[3];
    data += 4;
    size -= 4;

    check_framing(data, size, ctl & 0x80);

    char *orig = malloc(size ? size : 1), *raw = malloc(size ? size : 1), *dechunked = malloc(size ? size : 1);
    memcpy(orig, data, size);
    memcpy(raw, data, size);
    struct resp_view v;
    int rc = resp_view_parse(&v, raw, size);
    check_view(orig, raw, size, rc, &v, dechunked);
    if (rc) goto out;

    struct ctx c = {.v = &v, .var_cap = VAR_CAPS[ctl & 7], .rng = 88172645463325252ull};
    for (unsigned i = 0; i < NCAPS; i++) caps[i].head_use = (uint8_t)((ctl >> 3) & 3);
    c.head_use = (uint8_t)((ctl >> 3) & 3);

    struct capture sel_caps[NCAPS];
    struct check sel_checks[NCHECKS];
    struct extract all = {sel_caps, 0, sel_checks, 0, true, true};
    for (unsigned i = 0; i < NCAPS; i++)
        if (cap_mask >> i & 1) sel_caps[all.ncaps++] = caps[i];
    for (unsigned i = 0; i < NCHECKS; i++)
        if (check_mask >> i & 1) sel_checks[all.nchecks++] = checks[i];
    size_t need = extract_scratch_need(&all);
    switch ((ctl >> 5) & 3) {
    case 0: c.scratch_cap = need; break;
    case 1: c.scratch_cap = need + 5; break;
    case 2: c.scratch_cap = need / 2; break;
    default: c.scratch_cap = need + 4096; break;
    }
    c.scratch = malloc(c.scratch_cap ? c.scratch_cap : 1);
    size_t vars_size = (size_t)NSLOTS * c.var_cap;
    c.vars = malloc(vars_size ? vars_size : 1);
    c.why = malloc(EXTRACT_WHY_LEN);
    json_error_t e;
    c.root = json_loadb(v.body, v.body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!c.root && json_error_code(&e) == json_error_numeric_overflow) c.root = ref_load_big_ints(v.body, v.body_len);

    /* each alone */
    char first_why[EXTRACT_WHY_LEN] = "";
    bool all_pass = true;
    for (unsigned i = 0; i < all.nchecks; i++) {
        struct extract one = {NULL, 0, &sel_checks[i], 1, true, true};
        reset_vars(&c);
        int r = run(&c, &one);
        if ((r == 0) != check_passes(&c, &sel_checks[i])) {
            fprintf(stderr, "check %u: extract_run %d (%s)\n", i, r, c.why);
            die("a check's result is not the reference's");
        }
        if (r && all_pass) memcpy(first_why, c.why, EXTRACT_WHY_LEN);
        all_pass &= r == 0;
    }
    char *values[NCAPS] = {0};
    size_t lens[NCAPS] = {0};
    for (unsigned i = 0; i < all.ncaps; i++) {
        const struct capture *cap = &sel_caps[i];
        struct extract one = {&sel_caps[i], 1, NULL, 0, true, true};
        reset_vars(&c);
        uint32_t old_len = c.var_len[cap->var];
        int r = run(&c, &one);
        bool ref = capture_passes(&c, cap, &values[i], &lens[i]);
        const char *slot = c.vars + (size_t)cap->var * c.var_cap;
        uint32_t got = c.var_len[cap->var];
        if ((r == 0) != ref) {
            fprintf(stderr, "capture %s: extract_run %d (%s), reference %s\n", cap->spec, r, c.why, ref ? "pass" : "fail");
            die("a capture's result is not the reference's");
        }
        if (r == 0 && (got != lens[i] || memcmp(slot, values[i], got))) {
            fprintf(stderr, "capture %s: got %u bytes, reference %zu\n", cap->spec, got, lens[i]);
            die("captured value differs from the reference");
        }
        if (r && got && (got != old_len || memcmp(slot, "ooo", got))) {
            fprintf(stderr, "capture %s: (%s) left %u bytes '%.*s'\n", cap->spec, c.why, got, (int)got, slot);
            die("a failed capture left its variable half changed");
        }
        for (unsigned s = 0; s < NSLOTS; s++)
            if (s != cap->var && c.var_len[s] != (s ? old_len : (c.var_cap ? 1u : 0u))) die("another slot changed");
        if (r && all_pass) memcpy(first_why, c.why, EXTRACT_WHY_LEN);
        all_pass &= r == 0;
    }

    /* all together */
    reset_vars(&c);
    int r = run(&c, &all);
    if ((r == 0) != all_pass) die("together and alone disagree");
    if (r && strcmp(c.why, first_why)) {
        fprintf(stderr, "together: '%s'\nfirst alone: '%s'\n", c.why, first_why);
        die("together, the reason is not the first failure's");
    }
    if (r == 0)
        for (unsigned i = 0; i < all.ncaps; i++) {
            const struct capture *cap = &sel_caps[i];
            if (c.var_len[cap->var] != lens[i] || memcmp(c.vars + (size_t)cap->var * c.var_cap, values[i], lens[i]))
                die("together, a value differs from the one captured alone");
        }

    for (unsigned i = 0; i < NCAPS; i++) free(values[i]);
    if (c.root) json_decref(c.root);
    free(c.scratch);
    free(c.vars);
    free(c.why);
out:
    free(orig);
    free(raw);
    free(dechunked);
    return 0;
}
