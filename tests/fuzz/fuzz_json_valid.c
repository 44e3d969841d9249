/* libFuzzer target for the JSON syntax check (engine/json_valid.c), against jansson.
 *
 * The input, in a heap block of exactly its size, is the text checked. Checks: what
 * json_is_value() accepts, jansson parses (JSON_DECODE_ANY | JSON_ALLOW_NUL), unless
 * jansson's only complaint is one the check leaves alone (a number past its range, bytes
 * that are not UTF-8); what jansson parses, json_is_value() accepts, unless it nests deeper
 * than JSON_VALID_MAX_DEPTH or holds a NUL byte (jansson's text ends there).
 *
 * Build: make build/fuzz/fuzz_json_valid (FUZZ_LIB_fuzz_json_valid in the Makefile)
 */
#include "json_valid.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *why)
{
    fprintf(stderr, "fuzz_json_valid: %s\n", why);
    abort();
}

/* The deepest nesting of brackets outside strings. */
static unsigned depth_of(const char *s, size_t n)
{
    unsigned d = 0, most = 0;
    int str = 0, esc = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (str) {
            if (esc) esc = 0;
            else if (c == '\\') esc = 1;
            else if (c == '"') str = 0;
        } else if (c == '"') str = 1;
        else if (c == '[' || c == '{') most = ++d > most ? d : most;
        else if ((c == ']' || c == '}') && d) d--;
    }
    return most;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    if (!s) return 0;
    memcpy(s, data, size);
    bool mine = json_is_value(s, size);
    json_error_t e;
    json_t *j = json_loadb(s, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (mine && !j && json_error_code(&e) != json_error_numeric_overflow && json_error_code(&e) != json_error_invalid_utf8)
        die("accepted what jansson refuses for its syntax");
    /* (jansson ends the text at a NUL byte, which JSON has no place for) */
    if (!mine && j && depth_of(s, size) < JSON_VALID_MAX_DEPTH && !memchr(s, 0, size))
        die("refused what jansson parses");
    json_decref(j);
    free(s);
    return 0;
}
