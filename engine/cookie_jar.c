/* A scenario user's cookies (see cookie_jar.h): parsing Set-Cookie, keeping, matching and
 * writing the Cookie header. */
#include "cookie_jar.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A bare CR in a header line is white space, as the HTTP parser takes it (RFC 9112 2.2). */
static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r'; }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

static void trim(const char **s, const char **e)
{
    while (*s < *e && is_ws(**s)) (*s)++;
    while (*e > *s && is_ws((*e)[-1])) (*e)--;
}

static bool has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if ((b < 0x20 && b != '\t') || b == 0x7f) return true;
    }
    return false;
}

static bool ci_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && !strncasecmp(s, lit, n);
}

/* ---- dates (RFC 6265 5.1.1) ---- */

static bool date_delim(unsigned char c)
{
    return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
           (c >= 0x7b && c <= 0x7e);
}

static bool digit(char c) { return c >= '0' && c <= '9'; }

/* 1 to max digits at s[*i], then the end of the token or a non-digit */
static bool digits(const char *s, size_t n, size_t *i, int min, int max, int *out)
{
    int v = 0, k = 0;
    while (*i < n && digit(s[*i]) && k < max) v = v * 10 + (s[(*i)++] - '0'), k++;
    if (k < min || (*i < n && digit(s[*i]))) return false;
    *out = v;
    return true;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t jar_parse_date(const char *s, size_t n)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    int hour = -1, minute = 0, second = 0, day = -1, month = -1, year = -1;
    size_t i = 0;
    while (i < n) {
        while (i < n && date_delim((unsigned char)s[i])) i++;
        size_t t = i;
        while (i < n && !date_delim((unsigned char)s[i])) i++;
        size_t e = i;  /* the token is s[t, e) */
        if (t == e) break;
        size_t k = t;
        int a, b, c;
        if (hour < 0 && digits(s, e, &k, 1, 2, &a) && k < e && s[k] == ':' && (++k, digits(s, e, &k, 1, 2, &b)) &&
            k < e && s[k] == ':' && (++k, digits(s, e, &k, 1, 2, &c))) {
            hour = a, minute = b, second = c;
            continue;
        }
        k = t;
        if (day < 0 && digits(s, e, &k, 1, 2, &a)) {
            day = a;
            continue;
        }
        if (month < 0 && e - t >= 3) {
            char m3[3] = {lower(s[t]), lower(s[t + 1]), lower(s[t + 2])};
            bool hit = false;
            for (int m = 0; m < 12 && !hit; m++)
                if (!memcmp(months + 3 * m, m3, 3)) month = m + 1, hit = true;
            if (hit) continue;
        }
        k = t;
        if (year < 0 && digits(s, e, &k, 2, 4, &a)) year = a;
    }
    if (year >= 70 && year <= 99) year += 1900;
    else if (year >= 0 && year <= 69) year += 2000;
    if (hour < 0 || day < 1 || day > 31 || month < 0 || year < 1601 || hour > 23 || minute > 59 || second > 59)
        return INT64_MIN;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > mdays[month - 1] || (month == 2 && day == 29 && !leap)) return INT64_MIN;
    return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

/* ---- paths (RFC 6265 5.1.4) ---- */

const char *jar_request_path(const char *req, size_t len, size_t *path_len)
{
    const char *sp = memchr(req, ' ', len);
    if (!sp) return NULL;
    const char *p = sp + 1, *end = req + len;
    const char *e = p;
    while (e < end && *e != ' ' && *e != '?' && *e != '\r' && *e != '\n') e++;
    *path_len = (size_t)(e - p);
    return p;
}

/* The directory of a request path: up to its last '/', or "/". */
static size_t default_path_len(const char *path, size_t n)
{
    if (!n || path[0] != '/') return 0;  /* "/" */
    size_t last = n;
    while (last > 0 && path[last - 1] != '/') last--;
    return last <= 1 ? 0 : last - 1;
}

static bool path_match(const char *cp, size_t cn, const char *rp, size_t rn)
{
    if (cn > rn || memcmp(cp, rp, cn)) return false;
    return cn == rn || cp[cn - 1] == '/' || rp[cn] == '/';
}

/* ---- the jar ---- */

static void drop(struct cookie_jar *j, uint32_t k)
{
    struct jar_cookie *c = &j->c[k];
    uint32_t size = (uint32_t)c->name_len + c->value_len + c->path_len, off = c->off;
    memmove(j->buf + off, j->buf + off + size, j->len - off - size);
    j->len -= size;
    for (uint32_t i = 0; i < j->n; i++)
        if (j->c[i].off > off) j->c[i].off -= size;
    j->c[k] = j->c[--j->n];
}

/* Room for one more cookie of `need` bytes (with n < JAR_MAX, or one to be dropped). */
static int make_room(struct cookie_jar *j, uint32_t need)
{
    if (j->n == j->ncap && j->ncap < JAR_MAX) {
        uint32_t ncap = j->ncap ? j->ncap * 2 : 4;
        if (ncap > JAR_MAX) ncap = JAR_MAX;
        struct jar_cookie *c = realloc(j->c, ncap * sizeof(*c));
        if (!c) return -1;
        j->c = c;
        j->ncap = ncap;
    }
    if ((uint64_t)j->len + need <= j->cap) return 0;
    uint32_t cap = j->cap ? j->cap : 256;
    while (cap < j->len + need) cap *= 2;
    char *b = realloc(j->buf, cap);
    if (!b) return -1;
    j->buf = b;
    j->cap = cap;
    return 0;
}

struct parsed {
    const char *name, *value, *path;
    size_t name_len, value_len, path_len;
    bool secure, has_max_age, has_expires, domain_ok;
    int64_t max_age, expires;
};

static bool domain_matches(const struct jar_origin *o, const char *d, size_t n)
{
    while (n && *d == '.') d++, n--;  /* a leading dot is ignored */
    if (!n) return true;              /* an empty Domain attribute is ignored */
    if (n > o->host_len) return false;
    const char *tail = o->host + o->host_len - n;
    if (strncasecmp(tail, d, n)) return false;
    if (n == o->host_len) return true;
    /* a parent domain of a name, never of an address */
    bool ip = true;
    for (size_t i = 0; i < o->host_len && ip; i++) ip = digit(o->host[i]) || o->host[i] == '.' || o->host[i] == ':';
    return tail[-1] == '.' && !ip;
}

/* ---- Set-Cookie headers ---- */

bool jar_next_set_cookie(const char **at, const char *end, const char **value, size_t *len)
{
    for (const char *p = *at; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line = p, *le = nl ? nl : end;
        p = le + 1;
        if (le - line > 11 && line[10] == ':' && !strncasecmp(line, "Set-Cookie", 10)) {
            const char *s = line + 11, *e = le;
            if (e > s && e[-1] == '\r') e--;
            *at = p;
            *value = s;
            *len = (size_t)(e - s);
            return true;
        }
    }
    *at = end;
    return false;
}

bool jar_cookie_pair(const char *s, size_t n, const char **name, size_t *name_len, const char **value,
                     size_t *value_len)
{
    const char *semi = memchr(s, ';', n), *pe = semi ? semi : s + n;
    const char *eq = memchr(s, '=', (size_t)(pe - s));
    if (!eq) return false;
    const char *ns = s, *ne = eq, *vs = eq + 1, *ve = pe;
    trim(&ns, &ne);
    trim(&vs, &ve);
    *name = ns, *name_len = (size_t)(ne - ns);
    *value = vs, *value_len = (size_t)(ve - vs);
    return true;
}

/* One Set-Cookie value, s[0, n): false if the cookie is to be ignored. */
static bool parse_set_cookie(const struct jar_origin *o, const char *s, size_t n, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    p->domain_ok = true;
    const char *end = s + n, *semi = memchr(s, ';', n);
    if (!jar_cookie_pair(s, n, &p->name, &p->name_len, &p->value, &p->value_len)) return false;
    if (!p->name_len || p->name_len + p->value_len > JAR_COOKIE_MAX || has_ctl(p->name, p->name_len) ||
        has_ctl(p->value, p->value_len))
        return false;
    for (const char *a = semi; a && a < end;) {
        const char *as = a + 1, *ae = memchr(as, ';', (size_t)(end - as));
        a = ae;
        if (!ae) ae = end;
        const char *aeq = memchr(as, '=', (size_t)(ae - as));
        const char *kn = as, *kne = aeq ? aeq : ae, *av = aeq ? aeq + 1 : ae, *ave = ae;
        trim(&kn, &kne);
        trim(&av, &ave);
        size_t kl = (size_t)(kne - kn), al = (size_t)(ave - av);
        if (ci_eq(kn, kl, "max-age")) {
            /* a DIGIT or '-' first, then DIGITs only; else the attribute is ignored */
            size_t i = av < ave && *av == '-' ? 1 : 0;
            if (i == al) continue;
            int64_t v = 0;
            for (; i < al && digit(av[i]); i++) v = v < 100000000000LL ? v * 10 + (av[i] - '0') : v;
            if (i != al) continue;
            p->has_max_age = true;
            p->max_age = *av == '-' ? -1 : v;
        } else if (ci_eq(kn, kl, "expires")) {
            int64_t t = jar_parse_date(av, al);
            if (t != INT64_MIN) p->has_expires = true, p->expires = t;
        } else if (ci_eq(kn, kl, "domain")) {
            p->domain_ok = domain_matches(o, av, al);
        } else if (ci_eq(kn, kl, "path")) {
            if (al && *av == '/') p->path = av, p->path_len = al;
            else p->path = NULL, p->path_len = 0;
        } else if (ci_eq(kn, kl, "secure")) {
            p->secure = true;
        }
    }
    return p->domain_ok && p->path_len <= JAR_PATH_MAX && !has_ctl(p->path ? p->path : "", p->path_len);
}

static int store(struct cookie_jar *j, const struct parsed *p, const char *path, size_t path_len, uint64_t now,
                 int64_t real_s)
{
    uint64_t expires = UINT64_MAX;
    bool gone = false;
    int64_t left = p->has_max_age ? p->max_age : p->has_expires ? p->expires - real_s : INT64_MAX;
    if (left <= 0) gone = true;
    else if (left < 1000000000LL) expires = now + (uint64_t)left * 1000000000ull;  /* else: 31 years, for ever */
    uint64_t created = j->created;
    for (uint32_t k = 0; k < j->n; k++) {
        struct jar_cookie *c = &j->c[k];
        if (c->name_len == p->name_len && c->path_len == path_len && !memcmp(j->buf + c->off, p->name, p->name_len) &&
            !memcmp(j->buf + c->off + c->name_len + c->value_len, path, path_len)) {
            created = c->created;  /* a replacement keeps its age */
            drop(j, k);
            break;
        }
    }
    if (gone) return 0;
    uint32_t size = (uint32_t)(p->name_len + p->value_len + path_len);
    if (make_room(j, size)) return -1;
    if (j->n == JAR_MAX) {  /* the oldest goes */
        uint32_t old = 0;
        for (uint32_t k = 1; k < j->n; k++)
            if (j->c[k].created < j->c[old].created) old = k;
        drop(j, old);
    }
    struct jar_cookie *c = &j->c[j->n++];
    *c = (struct jar_cookie){.off = j->len, .name_len = (uint16_t)p->name_len, .value_len = (uint16_t)p->value_len,
                             .path_len = (uint16_t)path_len, .secure = p->secure, .expires = expires,
                             .created = created};
    memcpy(j->buf + j->len, p->name, p->name_len);
    memcpy(j->buf + j->len + p->name_len, p->value, p->value_len);
    memcpy(j->buf + j->len + p->name_len + p->value_len, path, path_len);
    j->len += size;
    if (created == j->created) j->created++;
    return 0;
}

int jar_take(struct cookie_jar *j, const struct jar_origin *o, const char *path, size_t path_len, const char *head,
             size_t head_len, uint64_t now, int64_t real_s)
{
    int rc = 0;
    const char *at = head, *s;
    size_t n;
    while (jar_next_set_cookie(&at, head + head_len, &s, &n)) {
        struct parsed c;
        if (!parse_set_cookie(o, s, n, &c)) continue;
        const char *cp = c.path ? c.path : path;
        size_t cn = c.path ? c.path_len : default_path_len(path, path_len);
        if (!cn) cp = "/", cn = 1;
        if (store(j, &c, cp, cn, now, real_s)) rc = -1;
    }
    return rc;
}

size_t jar_render(struct cookie_jar *j, bool https, const char *path, size_t path_len, uint64_t now, char *dst,
                  size_t cap)
{
    uint8_t pick[JAR_MAX];
    uint32_t np = 0;
    for (uint32_t k = 0; k < j->n;) {
        struct jar_cookie *c = &j->c[k];
        if (c->expires <= now) {
            drop(j, k);  /* the last one moved into k: look at k again */
            continue;
        }
        if ((!c->secure || https) && path_match(j->buf + c->off + c->name_len + c->value_len, c->path_len, path, path_len)) {
            /* longest path first, then the oldest: insertion into pick */
            uint32_t at = np;
            while (at > 0) {
                const struct jar_cookie *b = &j->c[pick[at - 1]];
                if (b->path_len > c->path_len || (b->path_len == c->path_len && b->created < c->created)) break;
                pick[at] = pick[at - 1];
                at--;
            }
            pick[at] = (uint8_t)k;
            np++;
        }
        k++;
    }
    if (!np) return 0;
    size_t need = 10;  /* "Cookie: " and CRLF */
    for (uint32_t i = 0; i < np; i++) need += j->c[pick[i]].name_len + 1u + j->c[pick[i]].value_len + (i ? 2 : 0);
    if (need > cap) return need;
    char *o = dst;
    memcpy(o, "Cookie: ", 8), o += 8;
    for (uint32_t i = 0; i < np; i++) {
        const struct jar_cookie *c = &j->c[pick[i]];
        if (i) memcpy(o, "; ", 2), o += 2;
        memcpy(o, j->buf + c->off, c->name_len), o += c->name_len;
        *o++ = '=';
        memcpy(o, j->buf + c->off + c->name_len, c->value_len), o += c->value_len;
    }
    memcpy(o, "\r\n", 2);
    return need;
}

void jar_clear(struct cookie_jar *j)
{
    j->len = 0;
    j->n = 0;
}

void jar_free(struct cookie_jar *j)
{
    free(j->buf);
    free(j->c);
    *j = (struct cookie_jar){0};
}
