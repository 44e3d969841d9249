/* The scenario loader: a YAML file (libfyaml's document API) compiled into struct scenario
 * (scenario.h). The format is documented in docs/SCENARIOS.md.
 *
 * Two passes over the document: the first collects the variables (every capture name, by
 * first appearance) so that a template may use a variable captured later in the file; the
 * second compiles everything, reporting the first error as "FILE:LINE:COL: message".
 * libfyaml's own diagnostics are collected, never printed.
 *
 * Here: reading the file, its top level (target, defaults, data, users) and both passes.
 * A user class is compiled in scenario_class.c, a step in scenario_step.c, the
 * placeholders of a string in scenario_template.c; the messages and node helpers they
 * share are in scenario_yaml.c (declared in scenario_load_internal.h).
 */
#include "scenario_load_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plan.h"

#define MAX_FILE_BYTES (1u << 20)      /* a scenario file */
#define MAX_CSV_BYTES (256u << 20)     /* a data file */
#define DEFAULT_TIMEOUT_NS 10000000000ULL

static const char *const builtin_names[] = {"uuid", "rand", "seq", "user_id", "worker", "env"};

#define TOP_KEYS "target, defaults, data, users"
#define DEFAULTS_KEYS "headers, timeout, var_bytes, cookies"
#define DATA_KEYS "csv, order"

/* ---- reading files ---- */

/* Reads a regular file of at most max bytes into a NUL-terminated buffer. */
static int read_file(const char *path, size_t max, char **data, size_t *len, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return snprintf(why, whylen, "cannot open '%s': %s", path, strerror(errno)), -1;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return snprintf(why, whylen, "'%s' is not a regular file", path), -1;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return snprintf(why, whylen, "'%s' is larger than %zu bytes", path, max), -1;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return snprintf(why, whylen, "out of memory"), -1;
    }
    for (;;) {
        if (n == cap - 1) break;
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return snprintf(why, whylen, "cannot read '%s': %s", path, strerror(e)), -1;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/* ---- feeders and variables ---- */

static bool is_ident(const char *s, size_t len)
{
    if (len == 0 || len > 64 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (size_t i = 1; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_') return false;
    return true;
}

static bool is_builtin(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(builtin_names) / sizeof(builtin_names[0]); i++)
        if (key_is(s, len, builtin_names[i])) return true;
    return false;
}

static int load_data(struct ld *l, struct fy_node *data)
{
    struct scenario *s = l->s;
    if (!is_map(data)) return fail(l, data, "data: expected a mapping of NAME: { csv: FILE }, got %s", kind_name(data));
    size_t n = fy_node_mapping_item_count(data);
    s->feeders = calloc(n ? n : 1, sizeof(*s->feeders));
    if (!s->feeders) return oom(l);
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    while (next_pair(l, data, &it, &k, &klen, &kn, &v)) {
        if (!is_ident(k, klen) || is_builtin(k, klen))
            return fail(l, kn, "data name '%.*s': expected letters, digits and _ (and not one of uuid, rand, seq, "
                               "user_id, worker, env)", (int)(klen > 60 ? 60 : klen), k);
        if (!is_map(v)) return fail(l, v, "data %.*s: expected a mapping { csv: FILE, order: sequential|random }, got %s",
                                    (int)klen, k, kind_name(v));
        struct fy_node *csv = NULL, *order = NULL, *dkn;
        const char *dk;
        size_t dklen;
        void *dit = NULL;
        struct fy_node *dv;
        while (next_pair(l, v, &dit, &dk, &dklen, &dkn, &dv)) {
            if (key_is(dk, dklen, "csv")) csv = dv;
            else if (key_is(dk, dklen, "order")) order = dv;
            else return unknown_key(l, dkn, dk, dklen, "in data", DATA_KEYS);
        }
        if (!csv) return fail(l, kn, "data %.*s: needs csv: FILE", (int)klen, k);
        enum feed_order ord = FEED_SEQUENTIAL;
        if (order) {
            char buf[16];
            if (get_short(l, order, "order", buf, sizeof(buf))) return -1;
            if (!strcmp(buf, "random")) ord = FEED_RANDOM;
            else if (strcmp(buf, "sequential")) return fail(l, order, "order: expected sequential or random, not '%s'", buf);
        }
        char file[4096], path[8192];
        if (get_short(l, csv, "csv", file, sizeof(file))) return -1;
        if (!file[0]) return fail(l, csv, "csv: expected a file name");
        if (file[0] == '/' || !l->dir || !l->dir[0]) snprintf(path, sizeof(path), "%s", file);
        else snprintf(path, sizeof(path), "%s/%s", l->dir, file);
        char why[512], name[80], *text;
        size_t len;
        snprintf(name, sizeof(name), "%.*s", (int)klen, k);
        if (read_file(path, MAX_CSV_BYTES, &text, &len, why, sizeof(why))) return fail(l, csv, "data %s: %s", name, why);
        struct feeder *f = &s->feeders[s->nfeeders];
        int rc = feeder_parse(f, name, text, len, path, why, sizeof(why));
        free(text);
        if (rc) return fail(l, csv, "data %s: %s", name, why);
        f->order = ord;
        s->nfeeders++;
    }
    return 0;
}

static int add_var(struct ld *l, struct fy_node *kn, const char *k, size_t klen)
{
    struct scenario *s = l->s;
    int shown = klen > 60 ? 60 : (int)klen;
    if (!is_ident(k, klen)) return fail(l, kn, "capture name '%.*s': expected letters, digits and _", shown, k);
    if (is_builtin(k, klen))
        return fail(l, kn, "capture name '%.*s' is a built-in (uuid, rand, seq, user_id, worker, env)", shown, k);
    for (uint32_t i = 0; i < s->nfeeders; i++)
        if (key_is(k, klen, s->feeders[i].name)) return fail(l, kn, "capture name '%.*s' is the name of data", shown, k);
    int known = names_var(l, k, klen);
    if (known >= 0) {
        l->var_sites[known] = 2;
        return 0;
    }
    if (s->nvars == SCN_MAX_VARS) return fail(l, kn, "more than %d capture names", SCN_MAX_VARS);
    char *name = dup_text(k, klen);
    if (!name) return oom(l);
    l->var_sites[s->nvars] = 1;
    s->vars[s->nvars++] = name;
    return 0;
}

static int vars_of_steps(struct ld *l, struct fy_node *steps)
{
    if (!is_seq(steps)) return 0;
    void *it = NULL;
    struct fy_node *step;
    while ((step = fy_node_sequence_iterate(steps, &it))) {
        struct fy_node *cap = map_get(step, "capture");
        if (!is_map(cap)) continue;
        void *cit = NULL;
        const char *k;
        size_t klen;
        struct fy_node *kn, *v;
        while (next_pair(l, cap, &cit, &k, &klen, &kn, &v))
            if (add_var(l, kn, k, klen)) return -1;
    }
    return 0;
}

/* The first pass: every capture name, in order of appearance, is a variable. */
static int collect_vars(struct ld *l, struct fy_node *users)
{
    l->s->vars = calloc(SCN_MAX_VARS, sizeof(char *));
    if (!l->s->vars) return oom(l);
    if (!is_seq(users)) return 0;
    void *it = NULL;
    struct fy_node *cls;
    while ((cls = fy_node_sequence_iterate(users, &it))) {
        if (vars_of_steps(l, map_get(cls, "on_start"))) return -1;
        struct fy_node *tasks = map_get(cls, "tasks");
        if (!is_seq(tasks)) continue;
        if (vars_of_steps(l, tasks)) return -1;
        void *tit = NULL;
        struct fy_node *task;
        while ((task = fy_node_sequence_iterate(tasks, &tit)))
            if (vars_of_steps(l, map_get(task, "sequence"))) return -1;
    }
    return 0;
}

/* ---- the whole file ---- */

static int set_target(struct ld *l, struct fy_node *node)
{
    struct scenario *s = l->s;
    char text[4200], why[PLAN_ERR_LEN];
    struct url u;
    if (l->opt->target) {
        if (url_parse(l->opt->target, &u, why, sizeof(why))) return fail_here(l, "%s", why);
    } else if (!node) {
        return fail_here(l, "no target: (write target: http://host:port, or give a URL on the command line)");
    } else {
        if (get_short(l, node, "target", text, sizeof(text))) return -1;
        if (url_parse(text, &u, why, sizeof(why))) return fail(l, node, "target: %s", why);
    }
    if (strchr(u.path, '?'))
        return l->opt->target ? fail_here(l, "the URL's path is a base for the steps' paths: no query (?) allowed")
                              : fail(l, node, "target: the path is a base for the steps' paths: no query (?) allowed");
    size_t bl = strlen(u.path);
    while (bl && u.path[bl - 1] == '/') bl--;
    memcpy(l->base, u.path, bl);
    l->base[bl] = '\0';
    const char *lb = u.ipv6_literal ? "[" : "", *rb = u.ipv6_literal ? "]" : "";
    if (u.port == (u.tls ? 443 : 80)) snprintf(l->host, sizeof(l->host), "%s%s%s", lb, u.host, rb);
    else snprintf(l->host, sizeof(l->host), "%s%s%s:%u", lb, u.host, rb, u.port);
    /* the target keeps an IPv6 zone, to connect through it; Host (l->host) never has one */
    int rc = u.zone[0] ? asprintf(&s->target, "%s://[%s%%25%s]:%u", u.scheme, u.host, u.zone, u.port)
                       : asprintf(&s->target, "%s://%s", u.scheme, l->host);
    if (rc < 0) {
        s->target = NULL;
        return oom(l);
    }
    if (!(s->host = strdup(u.host))) return oom(l);
    memcpy(l->basic_auth, u.basic_auth, sizeof(l->basic_auth));
    s->https = u.tls;
    return 0;
}

static int load_defaults(struct ld *l, struct fy_node *map)
{
    if (!is_map(map)) return fail(l, map, "defaults: expected a mapping (%s), got %s", DEFAULTS_KEYS, kind_name(map));
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    while (next_pair(l, map, &it, &k, &klen, &kn, &v)) {
        if (key_is(k, klen, "headers")) {
            if (merge_headers(l, v, l->dhdr, &l->ndhdr)) return -1;
        } else if (key_is(k, klen, "timeout")) {
            if (parse_dur_node(l, v, "timeout", &l->default_timeout, false)) return -1;
        } else if (key_is(k, klen, "var_bytes")) {
            char buf[32];
            if (get_short(l, v, "var_bytes", buf, sizeof(buf))) return -1;
            char *end;
            long n = strtol(buf, &end, 10);
            if (!isdigit((unsigned char)buf[0]) || *end || n < 16 || n > 65536)
                return fail(l, v, "var_bytes: '%s' is not a whole number from 16 to 65536", buf);
            l->s->var_bytes = (uint32_t)n;
        } else if (key_is(k, klen, "cookies")) {
            size_t wl = 0;
            const char *w = is_plain(v) ? scalar(v, &wl) : "";
            if (!key_is(w, wl, "true") && !key_is(w, wl, "false"))
                return fail(l, v, "cookies: expected true or false, got %s", is_scalar(v) ? "a string" : kind_name(v));
            l->s->cookies = key_is(w, wl, "true");
        } else {
            return unknown_key(l, kn, k, klen, "in defaults", DEFAULTS_KEYS);
        }
    }
    return 0;
}

static bool step_static(const struct scn_step *st)
{
    return !st->head.dynamic && !st->body.dynamic && !st->extract.ncaps && !st->extract.nchecks;
}

/* Tells each capture of a class where its variable goes in the request heads of the
 * steps that class runs (known once they are all compiled and selected: a capture may
 * come before the step that uses it; each user has variables of its own). */
static void set_head_use(struct scn_step *st, uint64_t path, uint64_t header)
{
    for (unsigned i = 0; i < st->extract.ncaps; i++) {
        struct capture *cap = &st->extract.caps[i];
        cap->head_use = (uint8_t)((path >> cap->var & 1 ? CAP_IN_PATH : 0) | (header >> cap->var & 1 ? CAP_IN_HEADER : 0));
    }
}

static void note_head_use(struct scn_class *c)
{
    uint64_t path = 0, header = 0;
    for (uint32_t j = 0; j < c->non_start; j++) {
        path |= c->on_start[j].path_vars;
        header |= c->on_start[j].header_vars;
    }
    for (uint32_t t = 0; t < c->ntasks; t++)
        for (uint32_t j = 0; j < c->tasks[t].nsteps; j++) {
            path |= c->tasks[t].steps[j].path_vars;
            header |= c->tasks[t].steps[j].header_vars;
        }
    for (uint32_t j = 0; j < c->non_start; j++) set_head_use(&c->on_start[j], path, header);
    for (uint32_t t = 0; t < c->ntasks; t++)
        for (uint32_t j = 0; j < c->tasks[t].nsteps; j++) set_head_use(&c->tasks[t].steps[j], path, header);
}

static int index_stats(struct ld *l, struct scn_step *st)
{
    struct scenario *s = l->s;
    for (uint32_t i = 0; i < s->nstats; i++)
        if (!strcmp(s->stat_names[i], st->name)) return st->stat = i, 0;
    char **names = realloc(s->stat_names, (s->nstats + 1) * sizeof(*names));
    if (!names) return oom(l);
    s->stat_names = names;
    if (!(names[s->nstats] = strdup(st->name))) return oom(l);
    st->stat = s->nstats++;
    return 0;
}

static int compile_users(struct ld *l, struct fy_node *users)
{
    struct scenario *s = l->s;
    if (!users) return fail_here(l, "no users: (a list of user classes, each with name: and tasks:)");
    if (!is_seq(users) || !fy_node_sequence_item_count(users))
        return fail(l, users, "users: expected a non-empty list of user classes, got %s",
                    is_seq(users) ? "an empty list" : kind_name(users));
    int count = fy_node_sequence_item_count(users);
    if (count > SCN_MAX_STEPS) return fail(l, users, "more than %d user classes", SCN_MAX_STEPS);
    if (!(s->classes = calloc((size_t)count, sizeof(*s->classes)))) return oom(l);
    void *it = NULL;
    struct fy_node *item;
    bool user_found = false;
    while ((item = fy_node_sequence_iterate(users, &it))) {
        bool keep = false;
        struct scn_class *c = &s->classes[s->nclasses];
        int rc = compile_class(l, item, c, &keep);
        if (!rc && l->opt->user && !strcmp(l->opt->user, c->name)) user_found = true;
        if (rc || !keep) {
            class_free(c);
            if (rc) return -1;
            continue;
        }
        s->nclasses++;
    }
    if (l->opt->user && !user_found) {
        char list[512];
        int n = 0;
        list[0] = '\0';
        for (uint32_t i = 0; i < l->nclass_names && n >= 0 && (size_t)n < sizeof(list); i++)
            n += snprintf(list + n, sizeof(list) - (size_t)n, "%s%s", i ? ", " : "", l->class_names[i]);
        return fail_here(l, "--user %.60s: no such user class (classes: %s)", l->opt->user, list);
    }
    if (!s->nclasses) return fail_here(l, "no task left after --tags/--exclude-tags");
    return 0;
}

/* libfyaml builds the first document of a stream and ignores the rest: a second one (after
 * a "---" or "..." line at column 0, which is always a document marker in a file whose
 * root is a mapping) would be dropped without a word. */
static int check_one_document(struct ld *l, const char *text, size_t len)
{
    bool content = false, ended = false;
    int line = 0;
    for (size_t i = 0; i < len; line++) {
        size_t e = i;
        while (e < len && text[e] != '\n') e++;
        const char *t = text + i;
        size_t n = e - i;
        bool marker = n >= 3 && (!memcmp(t, "---", 3) || !memcmp(t, "...", 3)) &&
                      (n == 3 || t[3] == ' ' || t[3] == '\t' || t[3] == '\r');
        size_t k = marker ? 3 : 0;  /* what follows a "--- " is the document's content */
        while (k < n && (t[k] == ' ' || t[k] == '\t' || t[k] == '\r')) k++;
        bool has = k < n && t[k] != '#' && !(k == 0 && t[0] == '%');
        if (marker && content) ended = true;
        if (has && ended) return fail_loc(l, (struct loc){line, (int)k}, "a second YAML document: a scenario file holds one");
        if (has) content = true;
        i = e + 1;
    }
    return 0;
}

/* Before anything is read: no aliases (they could make a small file huge), no keys other
 * than strings, no NUL bytes in a string, bounded nesting. */
static int check_tree(struct ld *l, struct fy_node *n, int depth)
{
    if (!n) return 0;
    if (depth > MAX_DEPTH) return fail(l, n, "nested more than %d levels deep", MAX_DEPTH);
    if (fy_node_get_type(n) == FYNT_SCALAR) {
        if (fy_node_get_style(n) == FYNS_ALIAS) return fail(l, n, "aliases (*name) are not supported");
        size_t len;
        const char *s = scalar(n, &len);
        if (memchr(s, '\0', len)) return fail(l, n, "a string holds a NUL byte");
        return 0;
    }
    if (fy_node_get_type(n) == FYNT_SEQUENCE) {
        void *it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(n, &it)))
            if (check_tree(l, item, depth + 1)) return -1;
        return 0;
    }
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(n, &it))) {
        struct fy_node *k = fy_node_pair_key(p);
        if (!is_scalar(k) || fy_node_get_style(k) == FYNS_ALIAS)
            return fail(l, k ? k : n, "a key must be a string, not %s", kind_name(k));
        if (check_tree(l, k, depth + 1) || check_tree(l, fy_node_pair_value(p), depth + 1)) return -1;
    }
    return 0;
}

/* The offset of the first byte that is not part of well-formed UTF-8, or len. YAML is
 * UTF-8 here, and libfyaml 0.7 can loop forever on some malformed input ("%\x8a"). */
static size_t utf8_bad(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) n = 1, min = 0x80, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef) n = 2, min = 0x800, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4) n = 3, min = 0x10000, cp = c & 0x07;
        else return i;
        if (len - i <= n) return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += n + 1;
    }
    return len;
}

/* libfyaml says more than its first error (e.g. "fy_parse_load_document() failed"). */
static void diag_discard(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag, (void)user, (void)buf, (void)len;
}

int scenario_parse(struct scenario *s, const char *text, size_t len, const char *where, const char *dir,
                   const struct scenario_options *opt, char *err, size_t errlen)
{
    static const struct scenario_options no_options;
    memset(s, 0, sizeof(*s));
    if (err && errlen) err[0] = '\0';
    struct ld l = {.s = s, .opt = opt ? opt : &no_options, .where = where ? where : "scenario", .dir = dir,
                   .err = err, .errlen = errlen, .near = {-1, -1}};
    struct fy_diag *diag = NULL;
    struct fy_document *doc = NULL;
    int rc = -1;

    if (!text) text = "", len = 0;
    if (!(s->file = strdup(l.where))) goto oom;
    if (len > MAX_FILE_BYTES) {
        fail_here(&l, "larger than %u bytes", MAX_FILE_BYTES);
        goto out;
    }
    if (memchr(text, '\0', len)) {
        fail_here(&l, "a NUL byte: not a text file");
        goto out;
    }
    size_t bad = utf8_bad((const unsigned char *)text, len);
    if (bad < len) {
        struct loc at = {0, 0};
        for (size_t i = 0; i < bad; i++) {
            if (text[i] == '\n') at.line++, at.col = 0;
            else at.col++;
        }
        fail_loc(&l, at, "not UTF-8 (byte 0x%02x)", (unsigned char)text[bad]);
        goto out;
    }

    /* libfyaml: errors collected (not printed) and reported as ours */
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_discard;
    dcfg.colorize = false;
    dcfg.level = FYET_ERROR;
    if (!(diag = fy_diag_create(&dcfg))) goto oom;
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_DISABLE_RECYCLING, .diag = diag};
    doc = fy_document_build_from_string(&pcfg, text, len);
    if (!doc) {
        void *it = NULL;
        struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
        if (e && e->line > 0) fail_loc(&l, (struct loc){e->line - 1, e->column > 0 ? e->column - 1 : 0}, "%s", e->msg);
        else if (e) fail_here(&l, "%s", e->msg);
        else fail_here(&l, "empty: expected a mapping with target:, users: ...");
        goto out;
    }
    struct fy_node *root = fy_document_root(doc);
    if (!root) {
        fail_here(&l, "empty: expected a mapping with target:, users: ...");
        goto out;
    }
    if (check_one_document(&l, text, len) || check_tree(&l, root, 0)) goto out;
    if (!is_map(root)) {
        fail(&l, root, "expected a mapping with target:, users: ..., got %s", kind_name(root));
        goto out;
    }

    struct fy_node *target = NULL, *defaults = NULL, *data = NULL, *users = NULL;
    void *it = NULL;
    const char *k;
    size_t klen;
    struct fy_node *kn, *v;
    while (next_pair(&l, root, &it, &k, &klen, &kn, &v)) {
        if (key_is(k, klen, "target")) target = v;
        else if (key_is(k, klen, "defaults")) defaults = v;
        else if (key_is(k, klen, "data")) data = v;
        else if (key_is(k, klen, "users")) users = v;
        else {
            unknown_key(&l, kn, k, klen, "at the top", TOP_KEYS);
            goto out;
        }
    }
    s->var_bytes = SCN_VAR_BYTES;
    s->cookies = true;
    if (set_target(&l, target)) goto out;
    if (defaults && load_defaults(&l, defaults)) goto out;
    s->timeout_ns = l.opt->timeout_ns ? l.opt->timeout_ns : l.default_timeout ? l.default_timeout : DEFAULT_TIMEOUT_NS;
    if (data && load_data(&l, data)) goto out;
    if (collect_vars(&l, users)) goto out;
    if (compile_users(&l, users)) goto out;

    /* statistics by name, and what the workers need to know up front */
    bool all_static = s->nclasses == 1;
    for (uint32_t i = 0; i < s->nclasses; i++) {
        struct scn_class *c = &s->classes[i];
        if (c->think != THINK_NONE) s->has_think = true;
        if (c->non_start || c->ntasks != 1 || c->tasks[0].nsteps != 1 || c->think != THINK_NONE) all_static = false;
        note_head_use(c);
        for (uint32_t j = 0; j < c->non_start; j++)
            if (index_stats(&l, &c->on_start[j])) goto out;
        for (uint32_t t = 0; t < c->ntasks; t++)
            for (uint32_t j = 0; j < c->tasks[t].nsteps; j++)
                if (index_stats(&l, &c->tasks[t].steps[j])) goto out;
    }
    s->min_timeout_ns = s->timeout_ns;
    for (uint32_t i = 0; i < s->nclasses; i++) {
        const struct scn_class *c = &s->classes[i];
        for (uint32_t j = 0; j < c->non_start; j++)
            if (c->on_start[j].timeout_ns < s->min_timeout_ns) s->min_timeout_ns = c->on_start[j].timeout_ns;
        for (uint32_t t = 0; t < c->ntasks; t++)
            for (uint32_t j = 0; j < c->tasks[t].nsteps; j++)
                if (c->tasks[t].steps[j].timeout_ns < s->min_timeout_ns) s->min_timeout_ns = c->tasks[t].steps[j].timeout_ns;
    }
    s->static_only = all_static && s->nvars == 0 && s->classes[0].on_failure != ONFAIL_STOP &&
                     step_static(&s->classes[0].tasks[0].steps[0]);
    rc = 0;
    goto out;
oom:
    oom(&l);
out:
    for (uint32_t i = 0; i < l.nclass_names; i++) free(l.class_names[i]);
    free(l.class_names);
    free(l.class_locs);
    if (doc) fy_document_destroy(doc);
    if (diag) fy_diag_destroy(diag);
    if (rc) scenario_free(s);
    return rc;
}

int scenario_load(struct scenario *s, const char *path, const struct scenario_options *opt, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    char *text, why[512];
    size_t len;
    if (read_file(path, MAX_FILE_BYTES, &text, &len, why, sizeof(why))) {
        if (err && errlen) snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof(dir), ".");
    else if (slash == path) snprintf(dir, sizeof(dir), "/");
    else snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    int rc = scenario_parse(s, text, len, path, dir, opt, err, errlen);
    free(text);
    return rc;
}

void scenario_free(struct scenario *s)
{
    if (!s) return;
    for (uint32_t i = 0; i < s->nclasses; i++) class_free(&s->classes[i]);
    free(s->classes);
    for (uint32_t i = 0; i < s->nfeeders; i++) feeder_free(&s->feeders[i]);
    free(s->feeders);
    if (s->vars)
        for (uint32_t i = 0; i < s->nvars; i++) free(s->vars[i]);
    free(s->vars);
    for (uint32_t i = 0; i < s->nstats; i++) free(s->stat_names[i]);
    free(s->stat_names);
    free(s->file);
    free(s->target);
    free(s->host);
    memset(s, 0, sizeof(*s));
}

void scenario_assign_classes(const struct scenario *s, uint64_t nusers, uint32_t *class_of)
{
    uint32_t n = s->nclasses;
    if (!n || !nusers) return;
    double total = 0, *cur = calloc(n, sizeof(double));
    for (uint32_t k = 0; k < n; k++) total += s->classes[k].weight;
    for (uint64_t j = 0; j < nusers; j++) {
        uint32_t best = 0;
        if (cur) {
            for (uint32_t k = 0; k < n; k++) {
                cur[k] += s->classes[k].weight;
                if (cur[k] > cur[best]) best = k;
            }
            cur[best] -= total;
        } else {
            best = (uint32_t)(j % n);  /* out of memory: an even split beats none */
        }
        class_of[j] = best;
    }
    free(cur);
}
