/* Secrets never reach an output. Header values such as Authorization, Cookie and API keys,
 * the password of a URL's user:password@, and query parameters named like keys or tokens are
 * shown masked ("Bearer ****", "api_key=****") in the console, the JSON, CSV, HTML and log
 * files, and in error messages. Every place that prints a URL, a header or a name taken from
 * one goes through here. */
#ifndef BARRAGE_SECRETS_H
#define BARRAGE_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#define SECRET_MASK "****"

/* A header or query parameter name that carries a secret: it contains auth, token, secret,
 * password, passwd, cookie, session, sessid, signature, credential, apikey or accesskey (ignoring case
 * and the separators - _ .), or one of its parts is key, pwd, pass, sig, jwt or sid. */
bool secret_name(const char *name, size_t len);
/* The value of header `name` as reports show it, into out (always terminated): Authorization
 * and Proxy-Authorization keep their scheme ("Bearer ****"), other secret-named headers become
 * "****", anything else is copied. */
void secret_mask_header(const char *name, size_t name_len, const char *value, char *out, size_t outlen);
/* The URL (or a path with a query) as reports show it, into out (always terminated; cut to
 * fit): user:password@ becomes ****@, the values of secret-named query parameters ****.
 * Returns out. */
char *secret_mask_url(const char *url, char *out, size_t outlen);
/* s[0, n) percent-decoded (RFC 3986: "%5F" is '_'; a '%' not followed by two hex digits
 * stays), '+' a space if plus_is_space (a query's form encoding), into out: returns the
 * length written, at most cap. */
size_t url_decoded(const char *s, size_t n, char *out, size_t cap, bool plus_is_space);

#endif
