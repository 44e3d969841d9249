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
    const char *q = strchr(s, '?');
    if (!q) {
        put(out, outlen, &o, s, strlen(s));
        return out;
    }
    put(out, outlen, &o, s, (size_t)(q + 1 - s));
    for (const char *p = q + 1; *p;) {  /* name=value pairs up to a fragment */
        if (*p == '#') {
            put(out, outlen, &o, p, strlen(p));
            break;
        }
        size_t pair = strcspn(p, "&#"), name = strcspn(p, "=&#");
        if (name < pair && secret_name(p, name)) {
            put(out, outlen, &o, p, name + 1);
            put(out, outlen, &o, SECRET_MASK, strlen(SECRET_MASK));
        } else put(out, outlen, &o, p, pair);
        p += pair;
        if (*p == '&') put(out, outlen, &o, p++, 1);
    }
    return out;
}
