/* Masking of secrets in everything barrage prints or writes (see secrets.h). */
#include "secrets.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool secret_name(const char *name, size_t len)
{
    static const char *const inside[] = {"auth", "token", "secret", "password", "passwd", "cookie", "session", "sessid",
                                         "signature", "credential", "apikey", "accesskey", "privatekey"};
    static const char *const parts[] = {"key", "pwd", "pass", "sig", "jwt", "sid"};
    char flat[128];  /* lower case, separators dropped: "X-Api-Key" -> "xapikey" */
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < sizeof(flat); i++)
        if (isalnum((unsigned char)name[i])) flat[n++] = (char)tolower((unsigned char)name[i]);
    flat[n] = 0;
    for (size_t i = 0; i < sizeof(inside) / sizeof(*inside); i++)
        if (strstr(flat, inside[i])) return true;
    for (size_t i = 0; i < len;) {  /* each part between separators */
        size_t j = i;
        while (j < len && isalnum((unsigned char)name[j])) j++;
        for (size_t k = 0; k < sizeof(parts) / sizeof(*parts); k++)
            if (j - i == strlen(parts[k]) && !strncasecmp(name + i, parts[k], j - i)) return true;
        i = j + 1;
    }
    return false;
}

void secret_mask_header(const char *name, size_t name_len, const char *value, char *out, size_t outlen)
{
    if (!outlen) return;
    if (!secret_name(name, name_len)) {
        snprintf(out, outlen, "%s", value);
        return;
    }
    bool authorization = (name_len == 13 && !strncasecmp(name, "authorization", 13)) ||
                         (name_len == 19 && !strncasecmp(name, "proxy-authorization", 19));
    size_t scheme = 0;  /* "Bearer abc" keeps "Bearer": which kind of credential, not which one */
    if (authorization) {
        while (value[scheme] == ' ') scheme++;
        size_t end = scheme + strcspn(value + scheme, " ");
        if (value[end] == ' ' && end > scheme) scheme = end + 1;
        else scheme = 0;
    }
    snprintf(out, outlen, "%.*s%s", (int)scheme, value, SECRET_MASK);
}

/* Appends s[0..n) to out at *o, cut to fit. */
static void put(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
    if (*o + 1 >= outlen) return;
    if (n > outlen - 1 - *o) n = outlen - 1 - *o;
    memcpy(out + *o, s, n);
    *o += n;
    out[*o] = 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

size_t url_decoded(const char *s, size_t n, char *out, size_t cap, bool plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else out[o++] = s[i] == '+' && plus_is_space ? ' ' : s[i];
    }
    return o;
}

/* Appends the parameter "name=value" at p, which ends at the first of ends. A secret's value
 * is masked up to the first of value_ends instead, which lie no nearer: a server that does
 * not split on ';' reads "token=a;b" as one value, and none of it may show. Returns the end. */
static const char *put_param(char *out, size_t outlen, size_t *o, const char *p, const char *ends,
                             const char *value_ends)
{
    size_t len = strcspn(p, ends);
    const char *eq = memchr(p, '=', len);
    char name[256];
    if (eq && secret_name(name, url_decoded(p, (size_t)(eq - p), name, sizeof(name), true))) {
        put(out, outlen, o, p, (size_t)(eq + 1 - p));
        put(out, outlen, o, SECRET_MASK, strlen(SECRET_MASK));
        return eq + 1 + strcspn(eq + 1, value_ends);
    }
    put(out, outlen, o, p, len);
    return p + len;
}

char *secret_mask_url(const char *url, char *out, size_t outlen)
{
    if (!outlen) return out;
    out[0] = 0;
    size_t o = 0;
    const char *s = url, *sep = strstr(url, "://");
    if (sep && !memchr(url, '?', (size_t)(sep - url))) {
        const char *auth = sep + 3, *auth_end = auth + strcspn(auth, "/?#");
        const char *at = memrchr(auth, '@', (size_t)(auth_end - auth));  /* user:p@ss@host too */
        put(out, outlen, &o, url, (size_t)(auth - url));
        if (at) {
            put(out, outlen, &o, SECRET_MASK, strlen(SECRET_MASK));
            s = at;
        } else s = auth;
    }
    /* The path up to its parameters (";jsessionid=..."), each up to the next '/', ';', '?'
     * or '#' (a secret's value up to the next '/', '?' or '#'); the query's, separated by '&'
     * or ';' (a secret's value up to the next '&' or '#'); the fragment. */
    const char *p = s;
    size_t run = strcspn(p, ";?#");
    put(out, outlen, &o, p, run);
    for (p += run; *p == ';'; p += run) {
        put(out, outlen, &o, p++, 1);
        p = put_param(out, outlen, &o, p, ";/?#", "/?#");
        run = strcspn(p, ";?#");
        put(out, outlen, &o, p, run);
    }
    if (*p == '?') {
        put(out, outlen, &o, p++, 1);
        p = put_param(out, outlen, &o, p, "&;#", "&#");
        while (*p == '&' || *p == ';') {
            put(out, outlen, &o, p++, 1);
            p = put_param(out, outlen, &o, p, "&;#", "&#");
        }
    }
    put(out, outlen, &o, p, strlen(p));
    return out;
}
