/* A scenario user's cookies, kept as a browser keeps them for the one host a scenario
 * targets (RFC 6265, section 5): the Set-Cookie headers of the user's responses go in
 * (jar_take), and every request the user sends carries a Cookie header with those that
 * apply to it (jar_render).
 *
 * The rules kept: name=value up to the first ';' (a pair without '=', with an empty name,
 * or with a control character is ignored); Max-Age (it wins over Expires; 0 or less
 * deletes) and Expires (RFC 6265 5.1.1 dates; one in the past deletes), else the cookie
 * lasts as long as the user; Path (default: the directory of the request's path) and
 * path-match; Secure (sent over https only); Domain must domain-match the target host, or
 * the cookie is ignored (every cookie is the target host's: there is no other). A cookie
 * replaces the one of the same name and path, keeping its age. HttpOnly and SameSite
 * change nothing here. The header lists the longest paths first, then the oldest cookies.
 *
 * Bounds: name and value at most JAR_COOKIE_MAX bytes together, a path at most
 * JAR_PATH_MAX (a bigger cookie is ignored, as browsers do); at most JAR_MAX cookies (the
 * oldest goes to make room). The jar's memory is allocated when its user first gets a
 * cookie and grows only when a cookie needs more room than it had: a run allocates
 * nothing per request.
 */
#ifndef BARRAGE_COOKIE_JAR_H
#define BARRAGE_COOKIE_JAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JAR_MAX 50
#define JAR_COOKIE_MAX 4096
#define JAR_PATH_MAX 1024

struct jar_cookie {
    uint32_t off;            /* name, value and path, one after the other, in jar.buf */
    uint16_t name_len, value_len, path_len;
    bool secure;
    uint64_t expires;        /* CLOCK_MONOTONIC ns; UINT64_MAX: as long as the user */
    uint64_t created;        /* order of creation, for the header's order and eviction */
};

struct cookie_jar {
    char *buf;               /* NULL until the first cookie */
    uint32_t len, cap;
    struct jar_cookie *c;    /* ncap entries (at most JAR_MAX) */
    uint32_t n, ncap;
    uint64_t created;
};

/* What a cookie is taken for: the target's host (no port), as the URL gave it. */
struct jar_origin {
    const char *host;
    size_t host_len;
    bool https;
};

/* Takes every Set-Cookie line of head (a response's header lines after its status line)
 * from the response to a request for path (its request-target: the query, if any, is not
 * part of the path). now: CLOCK_MONOTONIC ns; real_s: the wall clock in seconds since the
 * epoch, for Expires. Returns 0, or -1 if memory ran out (that cookie is not kept). */
int jar_take(struct cookie_jar *j, const struct jar_origin *o, const char *path, size_t path_len, const char *head,
             size_t head_len, uint64_t now, int64_t real_s);

/* Writes "Cookie: n1=v1; n2=v2\r\n" with the cookies a request for path (over https or
 * not) carries at now, into dst. Returns its length: 0 when no cookie applies; above cap
 * when it does not fit (dst then holds nothing usable). Expired cookies are dropped. */
size_t jar_render(struct cookie_jar *j, bool https, const char *path, size_t path_len, uint64_t now, char *dst,
                  size_t cap);

/* Walks a head's Set-Cookie header lines: from *at (the start of a header line) to end,
 * finds the next one, gives its value (without the CR), moves *at past it. False when
 * there is none left. */
bool jar_next_set_cookie(const char **at, const char *end, const char **value, size_t *len);

/* The cookie a Set-Cookie value s[0, n) sets: its first name=value pair, up to the first
 * ';', each side trimmed of spaces, tabs and bare CRs. False when the pair has no '=' (RFC 6265
 * 5.2: the header is ignored). The name may be empty; nothing else is checked. */
bool jar_cookie_pair(const char *s, size_t n, const char **name, size_t *name_len, const char **value,
                     size_t *value_len);

/* Forgets every cookie (a new user on the same slot); keeps the memory. */
void jar_clear(struct cookie_jar *j);
void jar_free(struct cookie_jar *j);

/* The path of a request (the request-target of "METHOD TARGET HTTP/1.1...", without its
 * query), or NULL if req does not start with a request line's first two words. */
const char *jar_request_path(const char *req, size_t len, size_t *path_len);

/* RFC 6265 5.1.1: a cookie date as seconds since the epoch (UTC), or INT64_MIN if the text
 * is not one. */
int64_t jar_parse_date(const char *s, size_t n);

#endif
