/* What a scenario step takes from a response (captures) and asks of it (checks).
 *
 * The worker keeps the raw bytes of a response whose step has captures or checks beyond
 * the status (status line, headers, body as sent: possibly chunked); when the response
 * is complete it calls extract_run(), which views them (resp_view_parse: the body is
 * de-chunked in place), runs the checks in order, then the captures, writing each
 * captured value into the user's variable slot. JSON bodies are parsed with jansson into a
 * per-thread arena (no malloc per response once the arena has grown to the largest body).
 *
 * Capture specs (the value side of `capture: {var: SPEC}`):
 *   json.PATH       PATH = key(.key|[index])*, e.g. json.access_token, json.items[0].id;
 *                   a string is taken as it is, a number/true/false/null as its JSON text;
 *                   an object or array as compact JSON
 *   header.NAME     the first header of that name (case-insensitive), value trimmed
 *   cookie.NAME     the value the response's Set-Cookie headers give cookie NAME (the last
 *                   one naming it; attributes ignored)
 *   regex:RE        a regex (regex_vm.h: POSIX ERE syntax and \d \w \s, leftmost-first) on
 *                   the body; group 1 if RE has one, else the match. It runs in the
 *                   caller's scratch (extract_scratch_need), in time linear in the body,
 *                   and fails past REGEX_MAX_STEPS steps ("capture v: regex over its work
 *                   limit of ... steps (narrow the pattern or the body)")
 *   body            the whole body
 * Checks (`expect:`): header present or equal, body contains, JSON field equal; expected
 * values are templates (rendered with the user's variables). The status check is the
 * step's own (struct scn_step), since it needs no response bytes.
 *
 * Failure reasons are short and bounded in number (they are counted per reason): they
 * quote the spec as written, not the rendered value, e.g.
 *   "status 401 (expected 200)", "capture token: json.access_token not found",
 *   "body does not contain ${id}", "header ETag missing", "json.state is not \"open\"",
 *   "capture token: 600 bytes, over the 256 a variable holds".
 */
#ifndef BARRAGE_EXTRACT_H
#define BARRAGE_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "regex_vm.h"
#include "template.h"

#define EXTRACT_WHY_LEN 120

struct resp_view {
    unsigned status;
    const char *head;        /* header lines (after the status line), up to the empty line */
    size_t head_len;
    char *body;              /* de-chunked */
    size_t body_len;
};

/* Views raw (len bytes, de-chunked in place; nothing after them is touched), framed as the
 * worker's parser (http_parse.h) read it: interim 1xx responses before the final one are
 * skipped; the last Transfer-Encoding decides, and overrides Content-Length; a chunked body
 * of no bytes at all is empty (HEAD, 204, 304). Returns 0, or -1 if it is not a complete
 * HTTP/1.x response. */
int resp_view_parse(struct resp_view *v, char *raw, size_t len);
/* The same up to the end of the final response's head: status and head; the body is
 * whatever follows, unframed (raw may end anywhere after the head). */
int resp_view_head(struct resp_view *v, char *raw, size_t len);
/* The value of the first header `name` (trimmed) and its length, or NULL. */
const char *resp_header(const struct resp_view *v, const char *name, size_t *len);
/* The value of cookie `name` as the response sets it (RFC 6265 5.2): of the Set-Cookie
 * headers naming it, the last one's, the text between the '=' and the first ';', trimmed;
 * its attributes (Path, Expires, Max-Age, ...) are not looked at. NULL if none names it. */
const char *resp_cookie(const struct resp_view *v, const char *name, size_t *len);

enum capture_kind { CAP_JSON, CAP_HEADER, CAP_COOKIE, CAP_REGEX, CAP_BODY };

struct json_path_part {
    char *key;               /* NULL: an array index */
    long index;
};

struct capture {
    enum capture_kind kind;
    uint32_t var;            /* slot written */
    char *var_name;          /* for messages */
    char *spec;              /* as written */
    char *header;            /* CAP_HEADER: the header's name; CAP_COOKIE: the cookie's */
    struct json_path_part *path;  /* CAP_JSON */
    unsigned npath;
    struct regex *re;        /* CAP_REGEX */
    uint8_t head_use;        /* CAP_IN_*: where some step puts the variable in a request head
                                (set once the whole scenario is loaded); a value that could
                                not go there fails the capture */
};

#define CAP_IN_HEADER 1      /* a header value: no control character but tab */
#define CAP_IN_PATH 2        /* the request line: no control character, no space */

enum check_kind { CHK_HEADER_PRESENT, CHK_HEADER_EQUALS, CHK_BODY_CONTAINS, CHK_JSON_EQUALS };

struct check {
    enum check_kind kind;
    char *name;              /* CHK_HEADER_*: header name; CHK_JSON_EQUALS: "json.PATH" */
    struct json_path_part *path;  /* CHK_JSON_EQUALS */
    unsigned npath;
    struct tpl value;        /* CHK_HEADER_EQUALS, CHK_BODY_CONTAINS, CHK_JSON_EQUALS */
    char *value_text;        /* the value as written */
};

struct extract {
    struct capture *caps;
    unsigned ncaps;
    struct check *checks;
    unsigned nchecks;
    bool needs_body;         /* some capture or check reads the headers or body (not only the status) */
    bool needs_json;         /* some capture or check reads json.* */
};

/* Compiles a capture spec for variable `var`. Returns 0, or -1 with err set
 * ("capture token: 'json.' needs a path", "capture x: bad regex: ..."). */
int capture_compile(struct capture *c, const char *var_name, uint32_t var, const char *spec, char *err,
                    size_t errlen);
/* Parses "a.b[0].c" into parts. Returns 0, or -1 with err set. */
int json_path_compile(const char *path, struct json_path_part **parts, unsigned *nparts, char *err,
                      size_t errlen);
void extract_free(struct extract *x);
/* Bytes of scratch extract_run() needs for x's regex captures (0 without any). */
size_t extract_scratch_need(const struct extract *x);

/* Runs the checks, then the captures, on a complete response. Variables: nvars slots of
 * var_cap bytes, lengths in var_len. scratch (scratch_cap bytes) renders expected values
 * and runs regexes: it must hold extract_scratch_need(x) bytes.
 * Returns 0, or -1 with why set to the first failure (then no later capture is made). */
int extract_run(const struct extract *x, struct resp_view *v, const struct tpl_env *env, char *vars,
                uint32_t *var_len, uint32_t var_cap, char *scratch, size_t scratch_cap, char why[EXTRACT_WHY_LEN]);

/* Installs the arena allocator into jansson (once per process; extract_run does it too).
 * Call it before workers start, so that no worker pays for it. Other users of jansson in
 * the process are unaffected: outside extract_run its allocations are plain malloc/free. */
void extract_global_init(void);
/* Releases the calling thread's arena (call it as a worker thread ends). */
void extract_thread_exit(void);
/* Bytes in the calling thread's arena (0 before its first extract_run); for tests. */
size_t extract_arena_size(void);

#endif
