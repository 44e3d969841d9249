/* One step of a scenario compiled (see scenario_load.c): its method and path, its name,
 * its request head (the defaults' headers merged with its own), a json: or body: body,
 * the checks (status, expect:) and captures run on its response, and its timeout.
 */
#include "scenario_load_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plan.h"
#include "secrets.h"

static const char *const method_keys[] = {"get", "post", "put", "patch", "delete", "head", "options"};
#define NMETHODS (sizeof(method_keys) / sizeof(method_keys[0]))

#define STEP_KEYS "get, post, put, patch, delete, head, options, name, headers, json, body, capture, expect, timeout"
#define EXPECT_KEYS "status, headers, body_contains, json"

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
int merge_headers(struct ld *l, struct fy_node *map, struct hdr *h, unsigned *nh)
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
                for (size_t i = 0; i < hlen; i++)  /* no response header could have it: the check would always fail */
                    if (!is_tchar((unsigned char)h[i]))
                        return fail(l, hkn, "expect header name '%.*s': invalid character", (int)(hlen > 60 ? 60 : hlen), h);
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

/* ---- steps ---- */

bool is_method_key(const char *k, size_t klen, unsigned *m)
{
    for (unsigned i = 0; i < NMETHODS; i++)
        if (key_is(k, klen, method_keys[i])) return *m = i, true;
    return false;
}

/* A check on a variable that only this step captures: the step's checks run before its
 * captures, so it would see the previous response's value (nothing the first time) and
 * fail or pass by accident, as a check on ${id} in the step that captures id does. */
static int check_own_captures(struct ld *l, struct fy_node *expect, const struct extract *x)
{
    for (unsigned i = 0; i < x->nchecks; i++) {
        const struct tpl *t = &x->checks[i].value;
        for (uint32_t g = 0; g < t->nsegs; g++) {
            if (t->segs[g].kind != TPL_VAR || l->var_sites[t->segs[g].index] != 1) continue;
            for (unsigned j = 0; j < x->ncaps; j++)
                if (x->caps[j].var == t->segs[g].index)
                    return fail(l, expect,
                                "expect: ${%s} is captured by this step only, after its checks run: the check "
                                "would see the previous response's value; check it in a later step",
                                x->caps[j].var_name);
        }
    }
    return 0;
}

/* Compiles a step from a mapping; in_task: the mapping is also a task (weight, tags). */
int compile_step(struct ld *l, struct fy_node *map, struct scn_step *st, bool in_task)
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
    if (l->basic_auth[0] && !has_header(h, nh, "Authorization") &&
        (tpl_append_literal(t, "Authorization: ", 15) || tpl_append_literal(t, l->basic_auth, strlen(l->basic_auth)) ||
         tpl_append_literal(t, "\r\n", 2)))
        return oom(l);
    for (unsigned i = 0; i < nh; i++) {
        size_t vl;
        const char *val = scalar(h[i].value, &vl);
        if (check_chars(l, h[i].value, val, vl, false, "header value")) return -1;
        if (tpl_append_literal(t, h[i].name, h[i].nlen) || tpl_append_literal(t, ": ", 2)) return oom(l);
        if (add_template(l, t, h[i].value, val, vl, TPL_RAW, false, IN_HEADER)) return -1;
        if (tpl_append_literal(t, "\r\n", 2)) return oom(l);
    }
    st->own_cookie = has_header(h, nh, "Cookie");
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
    if (expect && capture && check_own_captures(l, expect, &st->extract)) return -1;
    st->extract.needs_body = st->extract.ncaps || st->extract.nchecks;
    size_t need = extract_scratch_need(&st->extract);
    if (need > l->s->scratch_need) l->s->scratch_need = need;

    st->timeout_ns = l->s->timeout_ns;
    if (timeout && parse_dur_node(l, timeout, "timeout", &st->timeout_ns, false)) return -1;
    return 0;
}
