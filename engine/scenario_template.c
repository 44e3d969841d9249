/* A scalar's text compiled into a request template (template.h) for the scenario loader:
 * literal runs as they are (escaped for a JSON string where asked), "$${" as "${", each
 * ${...} compiled with the scenario's variables and data columns as the names it may use,
 * errors pointing at the placeholder in the file. What goes into the request line or a
 * header is checked here too, literal text and known values alike: nothing that would
 * break the request or inject a header.
 */
#include "scenario_load_internal.h"

#include <stdio.h>
#include <string.h>

int names_var(const void *ctx, const char *name, size_t len)
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
int append_json_literal(struct tpl *t, const char *s, size_t len)
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
int add_template(struct ld *l, struct tpl *t, struct fy_node *n, const char *text, size_t len,
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
int check_chars(struct ld *l, struct fy_node *n, const char *text, size_t len, bool path, const char *what)
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
