/* A JSON value's syntax (RFC 8259), checked by recursive descent (see json_valid.h). */
#include "json_valid.h"

#include <string.h>

struct cursor {
    const char *s;
    size_t n, i;
};

static void skip_ws(struct cursor *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r')) c->i++;
}

static bool digit(char ch) { return ch >= '0' && ch <= '9'; }

static bool hex(char ch) { return digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'); }

static bool eat(struct cursor *c, char ch)
{
    if (c->i < c->n && c->s[c->i] == ch) {
        c->i++;
        return true;
    }
    return false;
}

static bool digits(struct cursor *c)
{
    size_t from = c->i;
    while (c->i < c->n && digit(c->s[c->i])) c->i++;
    return c->i > from;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number(struct cursor *c)
{
    eat(c, '-');
    if (eat(c, '0')) {
        if (c->i < c->n && digit(c->s[c->i])) return false;
    } else if (!digits(c)) {
        return false;
    }
    if (eat(c, '.') && !digits(c)) return false;
    if (eat(c, 'e') || eat(c, 'E')) {
        if (!eat(c, '+')) eat(c, '-');
        if (!digits(c)) return false;
    }
    return true;
}

/* The four hex digits of a \\u escape at c (past the 'u'), as a number, or -1. */
static long u_escape(struct cursor *c)
{
    long v = 0;
    for (int k = 0; k < 4; k++) {
        if (c->i == c->n || !hex(c->s[c->i])) return -1;
        char h = c->s[c->i++];
        v = v * 16 + (digit(h) ? h - '0' : (h | 32) - 'a' + 10);
    }
    return v;
}

/* A string; a \\u escape of a UTF-16 surrogate must be a high one followed by a low one
 * (RFC 8259 section 8.2: what parsers such as jansson refuse otherwise). */
static bool string(struct cursor *c)
{
    if (!eat(c, '"')) return false;
    while (c->i < c->n) {
        unsigned char ch = (unsigned char)c->s[c->i++];
        if (ch == '"') return true;
        if (ch < 0x20) return false;
        if (ch != '\\') continue;
        if (c->i == c->n) return false;
        char e = c->s[c->i++];
        if (e == 'u') {
            long u = u_escape(c);
            if (u < 0 || (u >= 0xdc00 && u <= 0xdfff)) return false;
            if (u >= 0xd800 && u <= 0xdbff) {
                if (!eat(c, '\\') || !eat(c, 'u')) return false;
                long low = u_escape(c);
                if (low < 0xdc00 || low > 0xdfff) return false;
            }
        } else if (!e || !strchr("\"\\/bfnrt", e)) {
            return false;
        }
    }
    return false;
}

static bool literal(struct cursor *c, const char *word)
{
    size_t len = strlen(word);
    if (c->n - c->i < len || memcmp(c->s + c->i, word, len)) return false;
    c->i += len;
    return true;
}

static bool value(struct cursor *c, unsigned depth);

/* open ... close, items separated by ','; an object's items are "key": value */
static bool container(struct cursor *c, unsigned depth, char close, bool object)
{
    if (depth >= JSON_VALID_MAX_DEPTH) return false;
    c->i++;  /* the opening bracket */
    skip_ws(c);
    if (eat(c, close)) return true;
    for (;;) {
        if (object) {
            if (!string(c)) return false;
            skip_ws(c);
            if (!eat(c, ':')) return false;
        }
        if (!value(c, depth + 1)) return false;
        if (eat(c, close)) return true;
        if (!eat(c, ',')) return false;
        skip_ws(c);
    }
}

/* A value with the white space around it. */
static bool value(struct cursor *c, unsigned depth)
{
    skip_ws(c);
    if (c->i == c->n) return false;
    bool ok;
    switch (c->s[c->i]) {
    case '{': ok = container(c, depth, '}', true); break;
    case '[': ok = container(c, depth, ']', false); break;
    case '"': ok = string(c); break;
    case 't': ok = literal(c, "true"); break;
    case 'f': ok = literal(c, "false"); break;
    case 'n': ok = literal(c, "null"); break;
    default: ok = number(c); break;
    }
    skip_ws(c);
    return ok;
}

bool json_is_value(const char *s, size_t n)
{
    struct cursor c = {s, n, 0};
    return value(&c, 0) && c.i == n;
}
