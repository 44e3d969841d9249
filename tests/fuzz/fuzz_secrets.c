/* libFuzzer target for the URL masker (engine/secrets.c: secret_mask_url).
 *
 * The input is a URL or a path with a query (NUL-terminated copy). Checks:
 * - the output is terminated and fits, at every buffer size; a smaller buffer gives a prefix
 *   of what a large one gives (cut to fit, never other bytes);
 * - masking twice changes nothing more;
 * - no secret survives: a reference, written apart from the masker, walks the same URL and
 *   lists each secret-named parameter's value (percent-decoded name; path ";name=value"
 *   parameters and query pairs split on '&' and ';'; a secret's value runs to the next '&',
 *   or '/' or '?' in the path, ';' included): the masked URL gives "****" for every one of
 *   them, and user:password@ is gone.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iengine tests/fuzz/fuzz_secrets.c engine/secrets.c
 */
#include "secrets.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *why, const char *url)
{
    fprintf(stderr, "fuzz_secrets: %s: %s\n", why, url);
    abort();
}

static int hex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if ((c | 32) >= 'a' && (c | 32) <= 'f') return (c | 32) - 'a' + 10;
    return -1;
}

/* The values of secret-named parameters, in order, each as (offset, length) into url;
 * returns how many (at most max). */
static size_t ref_secret_values(const char *url, size_t *off, size_t *len, size_t max)
{
    size_t n = 0, i = 0, end = strlen(url);
    const char *sep = strstr(url, "://");
    if (sep && !memchr(url, '?', (size_t)(sep - url))) {
        i = (size_t)(sep - url) + 3;
        while (i < end && !strchr("/?#", url[i])) i++;
    }
    const char *hash = strchr(url + i, '#');
    if (hash) end = (size_t)(hash - url);
    int in_query = 0;
    while (i < end) {
        char c = url[i];
        if (c == '?' && !in_query) in_query = 1;
        if (!(c == ';' || c == '?' || (in_query && c == '&'))) {
            i++;
            continue;
        }
        size_t p = ++i, e = p;  /* a parameter: up to its end */
        while (e < end && !(in_query ? strchr("&;", url[e]) : strchr(";/?", url[e]))) e++;
        size_t eq = p;
        while (eq < e && url[eq] != '=') eq++;
        if (eq < e) {
            char name[256];
            size_t k = 0;
            for (size_t j = p; j < eq && k < sizeof(name); j++) {
                if (url[j] == '%' && j + 2 < eq && hex(url[j + 1]) >= 0 && hex(url[j + 2]) >= 0) {
                    name[k++] = (char)(hex(url[j + 1]) * 16 + hex(url[j + 2]));
                    j += 2;
                } else name[k++] = url[j] == '+' ? ' ' : url[j];
            }
            if (secret_name(name, k)) {  /* its value: to the next '&' ('/' or '?' in the path), ';' or not */
                e = eq + 1;
                while (e < end && !(in_query ? url[e] == '&' : strchr("/?", url[e]) != NULL)) e++;
                if (n < max) {
                    off[n] = eq + 1;
                    len[n++] = e - eq - 1;
                }
            }
        }
        i = e;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *url = malloc(size + 1);
    if (!url) return 0;
    memcpy(url, data, size);
    url[size] = 0;
    size_t cap = 5 * strlen(url) + 16;  /* each value can become "****" */
    char *big = malloc(cap), *again = malloc(cap), *small = malloc(cap);
    if (!big || !again || !small) goto out;
    secret_mask_url(url, big, cap);
    size_t blen = strlen(big);
    if (blen >= cap) die("output does not fit", url);
    for (size_t n = 1; n <= blen + 1 && n < 64; n++) {
        memset(small, 'Z', n);
        secret_mask_url(url, small, n);
        if (strlen(small) != (n - 1 < blen ? n - 1 : blen)) die("cut output has the wrong length", url);
        if (memcmp(small, big, strlen(small))) die("cut output is not a prefix of the whole", url);
    }
    secret_mask_url(big, again, cap);
    if (strcmp(big, again)) die("masking twice changed the URL", url);

    size_t off[64], len[64];
    size_t n = ref_secret_values(big, off, len, 64);
    for (size_t i = 0; i < n; i++)
        if (len[i] != strlen(SECRET_MASK) || memcmp(big + off[i], SECRET_MASK, len[i]))
            die("a secret-named parameter keeps its value", url);
    const char *sep = strstr(big, "://");
    if (sep && !memchr(big, '?', (size_t)(sep - big))) {
        const char *a = sep + 3, *ae = a + strcspn(a, "/?#"), *at = memchr(a, '@', (size_t)(ae - a));
        if (at && (at - a != (long)strlen(SECRET_MASK) || memcmp(a, SECRET_MASK, strlen(SECRET_MASK))))
            die("user information left before the host", url);
    }
out:
    free(big);
    free(again);
    free(small);
    free(url);
    return 0;
}
