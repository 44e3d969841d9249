/* Templates: strings with ${...} placeholders, compiled once into segments and rendered
 * per request straight into a send buffer, without allocating.
 *
 * Placeholders (docs/SCENARIOS.md, "Variables"):
 *   ${name}           a variable of the user (a capture), by slot
 *   ${feed.column}    the user's current row of the feeder `feed` (data: in the file)
 *   ${env.NAME}       the environment, read at compile time (a literal afterwards)
 *   ${uuid}           a random version-4 UUID
 *   ${rand(a,b)}      a uniform integer in [a, b] (a <= b, 64-bit signed)
 *   ${seq}            a per-worker counter, 0, 1, 2, ...; unique run-wide with ${worker}
 *   ${user_id}        the user's run-wide number
 *   ${worker}         the worker's number
 *   $${               a literal "${"
 *
 * A template is built by appending pieces (tpl_append_literal, tpl_append) and then
 * read-only; tpl_free releases it. Names are resolved through a struct tpl_names given
 * by the caller (the scenario loader), so this module knows nothing of the file.
 */
#ifndef BARRAGE_TEMPLATE_H
#define BARRAGE_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tpl_seg_kind {
    TPL_LIT,        /* bytes lit[off, off+len) */
    TPL_VAR,        /* the user's variable `index` */
    TPL_FEED,       /* feeder `index`, column `column` of the user's row */
    TPL_UUID,
    TPL_RAND,       /* uniform in [a, b] */
    TPL_SEQ,
    TPL_USER_ID,
    TPL_WORKER,
};

/* How a substituted value is written (a literal is copied as it is). */
enum tpl_escape {
    TPL_RAW,        /* as it is */
    TPL_JSON,       /* inside a JSON string: " \ and control characters escaped */
    TPL_JSON_VALUE, /* a whole JSON value (json: count: ${n}): a number, true, false, null, an
                     * object or array as it is; an empty one as null; anything else as a string */
};

struct tpl_seg {
    uint8_t kind;       /* enum tpl_seg_kind */
    uint8_t escape;     /* enum tpl_escape */
    uint32_t index;     /* TPL_VAR: variable slot; TPL_FEED: feeder */
    uint32_t column;    /* TPL_FEED */
    uint32_t off, len;  /* TPL_LIT: into lit */
    int64_t a, b;       /* TPL_RAND */
};

struct tpl {
    struct tpl_seg *segs;   /* owned */
    uint32_t nsegs, cap;
    char *lit;              /* owned: the literal bytes of every TPL_LIT segment */
    size_t lit_len, lit_cap;
    bool dynamic;           /* has a segment other than TPL_LIT */
};

/* Resolves names while compiling. var() returns the slot of a user variable or -1;
 * feed() the feeder and column of "feed.column" (0) or -1 (err says why: no such
 * feeder, or no such column with the columns it has). */
struct tpl_names {
    const void *ctx;
    int (*var)(const void *ctx, const char *name, size_t len);
    int (*feed)(const void *ctx, const char *feeder, size_t flen, const char *column, size_t clen,
                uint32_t *feeder_out, uint32_t *column_out, char *err, size_t errlen);
};

/* What a render reads: the user's variables and rows, and per-worker state. */
struct tpl_env {
    const char *vars;            /* nvars slots of var_cap bytes each */
    const uint32_t *var_len;     /* bytes used per slot (0: empty, renders nothing) */
    uint32_t var_cap;
    const uint32_t *feed_row;    /* per feeder: the user's current row */
    const struct feeder *const *feeders;  /* per feeder (feeder.h) */
    uint64_t user_id;
    uint32_t worker;
    uint64_t *seq;               /* incremented by each ${seq} */
    uint64_t *rng;               /* xorshift64* state, never 0 */
};

/* A byte that would break the request line or a header if a value put it there: a control
 * character (a header value may hold a tab), or in the path a space. */
static inline bool tpl_head_byte_bad(unsigned char c, bool path)
{
    return (c < 0x20 && (path || c != '\t')) || c == 0x7f || (path && c == ' ');
}

void tpl_init(struct tpl *t);
void tpl_free(struct tpl *t);

/* Appends literal bytes. Returns 0, or -1 when out of memory. */
int tpl_append_literal(struct tpl *t, const char *s, size_t len);

/* Appends text with placeholders; substituted values are escaped as `escape` says.
 * Returns 0, or -1 with a one-line message in err that names the placeholder and its
 * column in text (1-based), e.g. "${tokn} at column 8: unknown variable 'tokn'". */
int tpl_append(struct tpl *t, const char *text, size_t len, enum tpl_escape escape,
               const struct tpl_names *names, char *err, size_t errlen);

/* Writes the rendering into dst (at most cap bytes) and returns its full length: when
 * that is above cap, dst holds only the first cap bytes and the caller must not send it. */
size_t tpl_render(const struct tpl *t, const struct tpl_env *env, char *dst, size_t cap);

/* The longest a rendering can be when every variable is var_cap bytes and every feeder
 * cell is its feeder's longest (escaping counted at its worst): for sizing buffers. */
size_t tpl_max_len(const struct tpl *t, const struct tpl_env *env);

#endif
