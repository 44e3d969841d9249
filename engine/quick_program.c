/* The quick mode's program: the command line's one request (URL, -m, -H, -b,
 * --expect-status, --timeout) compiled into a scenario of one class, one task and one
 * step, so that a quick run and a scenario file go through the same plan and the same
 * executor choice (plan.c: a static program is pre-rendered and pipelined, any other
 * is run by users). */
#include "quick_program.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scenario.h"

/* Whether a -H for `name` is the form 'Name:' with nothing after the colon, which leaves
 * the header out (want true), or any other form, which sends it (want false). */
static bool header_form(const struct plan *p, const char *name, bool removal)
{
    size_t n = strlen(name);
    for (unsigned i = 0; i < p->nheaders; i++) {
        const char *h = p->headers[i];
        if (strncasecmp(h, name, n) || (h[n] != ':' && h[n] != ';')) continue;
        if ((h[n] == ':' && !h[n + 1 + strspn(h + n + 1, " \t")]) == removal) return true;
    }
    return false;
}
static bool header_removed(const struct plan *p, const char *name) { return header_form(p, name, true); }
static bool header_sent(const struct plan *p, const char *name) { return header_form(p, name, false); }
/* A -H the user gave for `name`, in any of its forms ('Name: v', 'Name:', 'Name;'). */
static bool has_header(const struct plan *p, const char *name) { return header_removed(p, name) || header_sent(p, name); }

static bool header_has_token(const struct plan *p, const char *name, const char *token)
{
    size_t n = strlen(name);
    for (unsigned i = 0; i < p->nheaders; i++)
        if (!strncasecmp(p->headers[i], name, n) && p->headers[i][n] == ':' &&
            strcasestr(p->headers[i] + n + 1, token))
            return true;
    return false;
}

/* Appends formatted text to a template's literal; false when out of memory. A line is as
 * long as it needs (a -H of a large cookie or token: a scenario's headers have no limit
 * either). */
static bool lit_printf(struct tpl *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool lit_printf(struct tpl *t, const char *fmt, ...)
{
    char *line;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0) return false;
    bool ok = tpl_append_literal(t, line, (size_t)n) == 0;
    free(line);
    return ok;
}

/* The line a -H puts in the request, as curl does: 'Name:' with nothing after it removes
 * the header (barrage's own Host or User-Agent too) and sends nothing; 'Name;' sends the
 * header with an empty value. Returns false when out of memory. */
static bool header_line(struct tpl *head, const char *h)
{
    const char *colon = strchr(h, ':');
    if (!colon) return lit_printf(head, "%.*s:\r\n", (int)(strlen(h) - 1), h);  /* 'Name;' */
    if (!colon[1 + strspn(colon + 1, " \t")]) return true;
    return lit_printf(head, "%s\r\n", h);
}

/* The request line and header lines, up to the Content-Length the renderer adds. */
static bool build_head(const struct plan *p, struct tpl *head)
{
    bool ok = lit_printf(head, "%s %s HTTP/1.1\r\n", p->method, p->url.path);
    if (!has_header(p, "Host")) {
        const char *l = p->url.ipv6_literal ? "[" : "", *r = p->url.ipv6_literal ? "]" : "";
        if (p->url.port == (p->url.tls ? 443 : 80)) ok = ok && lit_printf(head, "Host: %s%s%s\r\n", l, p->url.host, r);
        else ok = ok && lit_printf(head, "Host: %s%s%s:%u\r\n", l, p->url.host, r, p->url.port);
    }
    if (!has_header(p, "User-Agent")) ok = ok && lit_printf(head, "User-Agent: barrage/%s\r\n", BARRAGE_VERSION);
    if (p->url.basic_auth[0] && !has_header(p, "Authorization"))
        ok = ok && lit_printf(head, "Authorization: %s\r\n", p->url.basic_auth);
    for (unsigned i = 0; i < p->nheaders; i++) ok = ok && header_line(head, p->headers[i]);
    /* Connection is a list: a user's "Connection: Upgrade" gets "close" on a line of its own. */
    if (!p->keepalive && !header_has_token(p, "Connection", "close") && !header_removed(p, "Connection"))
        ok = ok && lit_printf(head, "Connection: close\r\n");
    return ok;
}

/* --expect-status as a step's bit set and the text its failures quote ("100-399"). */
static char *status_bits(const bool ok[600], uint64_t bits[10])
{
    char text[512] = "";
    size_t n = 0;
    memset(bits, 0, 10 * sizeof(uint64_t));
    for (unsigned s = 100; s < 600; s++) {
        if (!ok[s]) continue;
        unsigned e = s;
        while (e + 1 < 600 && ok[e + 1]) e++;
        for (unsigned k = s; k <= e; k++) bits[k / 64] |= 1ull << (k % 64);
        if (n + 16 < sizeof(text))
            n += (size_t)(e > s ? snprintf(text + n, sizeof(text) - n, "%s%u-%u", n ? "," : "", s, e)
                                : snprintf(text + n, sizeof(text) - n, "%s%u", n ? "," : "", s));
        s = e;
    }
    return strdup(text);
}

int quick_program(struct plan *p, char *err, size_t errlen)
{
    /* 'Name:' leaves them out, which barrage's requests already do */
    if (header_sent(p, "Content-Length"))
        return plan_error(err, errlen, "-H Content-Length: barrage sets it from the body; leave it out");
    if (header_sent(p, "Transfer-Encoding"))
        return plan_error(err, errlen, "-H Transfer-Encoding: not supported; barrage sends bodies with Content-Length");
    if (!p->keepalive && header_has_token(p, "Connection", "keep-alive"))  /* it would ask the server to keep what
                                                                            * barrage then closes */
        return plan_error(err, errlen, "--no-keepalive: -H 'Connection: keep-alive' says the opposite; leave one out");
    if (header_has_token(p, "Connection", "close")) p->keepalive = false, p->requests_per_conn = 1;
    if (p->requests_per_conn && p->pipeline > p->requests_per_conn) p->pipeline = p->requests_per_conn;

    struct scenario *s = calloc(1, sizeof(*s));
    struct scn_class *c = s ? calloc(1, sizeof(*c)) : NULL;
    struct scn_task *t = c ? calloc(1, sizeof(*t)) : NULL;
    struct scn_step *st = t ? calloc(1, sizeof(*st)) : NULL;
    char **names = st ? calloc(1, sizeof(*names)) : NULL;
    if (!names) {
        free(s), free(c), free(t), free(st);
        return plan_error(err, errlen, "out of memory for the request");
    }
    /* From here on s owns everything: scenario_free() releases a partial one too. */
    s->classes = c, s->nclasses = 1;
    c->tasks = t, c->ntasks = 1;
    t->steps = st, t->nsteps = 1;
    s->stat_names = names;
    tpl_init(&st->head);
    tpl_init(&st->body);

    char target[512];
    snprintf(target, sizeof(target), "%s://%s%s%s:%u", p->url.scheme, p->url.ipv6_literal ? "[" : "", p->url.host,
             p->url.ipv6_literal ? "]" : "", p->url.port);
    s->target = strdup(target);
    c->name = strdup("quick");
    c->weight = 1;
    t->weight = 1;
    c->total_weight = 1;
    st->name = malloc(strlen(p->method) + strlen(p->url.path) + 2);
    if (st->name) sprintf(st->name, "%s %s", p->method, p->url.path);
    names[0] = st->name ? strdup(st->name) : NULL;
    s->nstats = names[0] ? 1 : 0;
    st->status_text = status_bits(p->status_ok, st->status_ok);
    st->has_body = p->body_len || !strcmp(p->method, "POST") || !strcmp(p->method, "PUT") || !strcmp(p->method, "PATCH");
    st->head_method = !strcmp(p->method, "HEAD");
    st->timeout_ns = p->timeout_ns;
    s->timeout_ns = p->timeout_ns;
    s->var_bytes = SCN_VAR_BYTES;
    s->static_only = true;
    bool ok = s->target && c->name && s->nstats && st->status_text && build_head(p, &st->head) &&
              (!p->body_len || tpl_append_literal(&st->body, p->body, p->body_len) == 0);
    if (!ok) {
        scenario_free(s);
        free(s);
        return plan_error(err, errlen, "request too large to build, or out of memory");
    }
    p->scenario = s;
    return 0;
}
