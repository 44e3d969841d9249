/* Whether a text is one JSON value (RFC 8259), without building it: for a json: body's
 * bare placeholder, which goes out as it is only when it is one (template.c), checked at
 * every render, so it allocates nothing. */
#ifndef BARRAGE_JSON_VALID_H
#define BARRAGE_JSON_VALID_H

#include <stdbool.h>
#include <stddef.h>

/* Nesting deeper than this is refused (the check recurses). */
#define JSON_VALID_MAX_DEPTH 64

/* s[0, n) is exactly one JSON value, white space around it allowed. Bytes inside strings
 * are not checked for UTF-8. */
bool json_is_value(const char *s, size_t n);

#endif
