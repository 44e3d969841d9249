/* What the scenario loader's files share: its state while compiling a file (struct ld),
 * located messages and YAML node helpers (scenario_yaml.c), templates from scalars
 * (scenario_template.c), a step (scenario_step.c) and a user class (scenario_class.c);
 * scenario_load.c reads the file and its top level. Private to the loader: nothing else
 * includes it. An int function given the struct ld returns 0, or -1 with one message in l->err.
 */
#ifndef BARRAGE_SCENARIO_LOAD_INTERNAL_H
#define BARRAGE_SCENARIO_LOAD_INTERNAL_H

#include <libfyaml.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "scenario.h"

#define MAX_DEPTH 48                   /* nesting of the YAML document */
#define MAX_HEADERS 64                 /* header lines of a step, defaults included */

struct loc {
    int line, col;  /* 0-based; line < 0: unknown */
};

struct hdr {
    const char *name;      /* into the document */
    size_t nlen;
    struct fy_node *value;
};

struct ld {
    struct scenario *s;
    const struct scenario_options *opt;
    const char *where, *dir;
    char *err;
    size_t errlen;
    struct loc near;          /* the last key looked at: where a node with no place or key of its own is */
    char base[4096];          /* the target's path without a trailing '/' ("" for "/") */
    char host[300];           /* the Host header value */
    char basic_auth[URL_AUTH_MAX];  /* the target's user:password@ as Authorization ("": none) */
    struct hdr dhdr[MAX_HEADERS];
    unsigned ndhdr;
    uint64_t default_timeout;
    uint32_t nsteps;          /* compiled, before selection */
    char **class_names;       /* every class, for duplicates and --user */
    struct loc *class_locs;
    uint32_t nclass_names;
    struct scn_step *step;    /* the step being compiled: its head notes the variables it uses */
    uint8_t var_sites[SCN_MAX_VARS];  /* steps capturing each variable (1, or 2 for more) */
};

/* ---- scenario_yaml.c: messages ---- */

/* Where node n starts in the file (a collection: its first key or item; line -1: unknown). */
struct loc node_loc(struct fy_node *n, int depth);
int __attribute__((format(printf, 3, 4))) fail_loc(struct ld *l, struct loc at, const char *fmt, ...);
/* An error at node n (or, for an empty value or collection, at its key). */
int __attribute__((format(printf, 3, 4))) fail(struct ld *l, struct fy_node *n, const char *fmt, ...);
/* An error with no place in the file. */
int __attribute__((format(printf, 2, 3))) fail_here(struct ld *l, const char *fmt, ...);
int oom(struct ld *l);
/* "a mapping", "a list", ...: for "expected X, got Y". */
const char *kind_name(struct fy_node *n);

/* ---- scenario_yaml.c: node helpers ---- */

bool is_map(struct fy_node *n);
bool is_seq(struct fy_node *n);
bool is_scalar(struct fy_node *n);
bool is_plain(struct fy_node *n);
/* The text of a scalar ("" for none); not NUL-terminated: *len says how long. */
const char *scalar(struct fy_node *n, size_t *len);
bool key_is(const char *k, size_t klen, const char *name);
int get_text(struct ld *l, struct fy_node *n, const char *what, const char **s, size_t *len);
int get_short(struct ld *l, struct fy_node *n, const char *what, char *buf, size_t size);
/* A NUL-terminated copy (malloc), or NULL. */
char *dup_text(const char *s, size_t len);
bool next_pair(struct ld *l, struct fy_node *map, void **it, const char **k, size_t *klen, struct fy_node **kn,
               struct fy_node **v);
int unknown_key(struct ld *l, struct fy_node *kn, const char *k, size_t klen, const char *in, const char *expected);
int parse_dur_node(struct ld *l, struct fy_node *n, const char *what, uint64_t *ns, bool allow_zero);
/* The value of `key` in a mapping, or NULL (also when map is not a mapping). */
struct fy_node *map_get(struct fy_node *map, const char *key);

/* ---- scenario_template.c: templates ---- */

/* Where a template's text goes: the path and a header are checked for bytes that would
 * break the request (check_chars, and add_template for what a placeholder puts there). */
enum head_part { IN_BODY, IN_HEADER, IN_PATH };

/* The index of variable `name` (a struct tpl_names lookup; ctx: the struct ld), or -1. */
int names_var(const void *ctx, const char *name, size_t len);
int append_json_literal(struct tpl *t, const char *s, size_t len);
int add_template(struct ld *l, struct tpl *t, struct fy_node *n, const char *text, size_t len,
                 enum tpl_escape escape, bool json, enum head_part part);
int check_chars(struct ld *l, struct fy_node *n, const char *text, size_t len, bool path, const char *what);

/* ---- scenario_step.c: a step ---- */

int merge_headers(struct ld *l, struct fy_node *map, struct hdr *h, unsigned *nh);
/* Whether key k is a method (get:, post:, ...); *m: its index. */
bool is_method_key(const char *k, size_t klen, unsigned *m);
int compile_step(struct ld *l, struct fy_node *map, struct scn_step *st, bool in_task);

/* ---- scenario_class.c: a user class ---- */

int compile_class(struct ld *l, struct fy_node *map, struct scn_class *c, bool *keep);
void class_free(struct scn_class *c);

#endif
