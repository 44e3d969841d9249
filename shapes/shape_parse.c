/* Text → shape: k6 stage lists, presets, shape files and Locust's flags. See shape.h.
 * Every error is one line that names the flag (or file:line) and the offending text. */
#include "shape.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNIP 40   /* longest piece of input quoted in a message */

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- numbers and durations ---- */

/* A plain decimal number at p (digits, optional fraction, optional exponent; no sign, no
 * hex, no inf/nan). Returns the end, or NULL. */
static const char *scan_number(const char *p, const char *end, double *v)
{
    const char *q = p;
    int digits = 0;
    while (q < end && isdigit((unsigned char)*q)) q++, digits++;
    if (q < end && *q == '.') {
        q++;
        while (q < end && isdigit((unsigned char)*q)) q++, digits++;
    }
    if (!digits) return NULL;
    if (q + 1 < end && (*q == 'e' || *q == 'E')) {
        const char *e = q + 1;
        if (e < end && (*e == '+' || *e == '-')) e++;
        if (e < end && isdigit((unsigned char)*e)) {
            while (e < end && isdigit((unsigned char)*e)) e++;
            q = e;
        }
    }
    char buf[64];
    if ((size_t)(q - p) >= sizeof(buf)) return NULL;
    memcpy(buf, p, (size_t)(q - p));
    buf[q - p] = 0;
    errno = 0;
    *v = strtod(buf, NULL);
    if (errno == ERANGE && *v != 0) return NULL;
    return isfinite(*v) ? q : NULL;
}

/* The whole of [p, end) as a target value. Returns 0, or -1. */
static int parse_value(const char *p, const char *end, double *v)
{
    const char *q = scan_number(p, end, v);
    return q == end && *v <= SHAPE_MAX_VALUE && (*v == 0 || *v >= SHAPE_MIN_VALUE) ? 0 : -1;
}

int shape_parse_duration(const char *p, const char *end, double *seconds)
{
    double total = 0;
    int first = 1;
    while (p < end) {
        double v, scale;
        const char *q = scan_number(p, end, &v);
        if (!q) return -1;
        size_t left = (size_t)(end - q);
        if (left >= 2 && !memcmp(q, "ms", 2)) scale = 1e-3, q += 2;
        else if (left >= 2 && !memcmp(q, "us", 2)) scale = 1e-6, q += 2;
        else if (left >= 1 && *q == 's') scale = 1, q += 1;
        else if (left >= 1 && *q == 'm') scale = 60, q += 1;
        else if (left >= 1 && *q == 'h') scale = 3600, q += 1;
        else if (first && q == end) scale = 1;   /* a bare number */
        else return -1;
        total += v * scale;
        first = 0;
        p = q;
    }
    if (first || !isfinite(total)) return -1;
    *seconds = total;
    return 0;
}

/* A stage's or a preset's duration: shape_parse_duration() within the shapes' limits. */
static int parse_duration_s(const char *p, const char *end, double *out)
{
    double total;
    if (shape_parse_duration(p, end, &total) || !(total <= SHAPE_MAX_DURATION) ||
        (total > 0 && total < SHAPE_MIN_DURATION))
        return -1;
    *out = total;
    return 0;
}

/* The first c in [p, end), or NULL. */
static const char *find_char(const char *p, const char *end, char c)
{
    for (; p < end; p++)
        if (*p == c) return p;
    return NULL;
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p)) p++;
    return p;
}

static const char *trim_end(const char *p, const char *end)
{
    while (end > p && isspace((unsigned char)end[-1])) end--;
    return end;
}

/* [p, end) for a message: at most SNIP bytes (then "..."), control characters as '?', so
 * that the message stays one line. Returns buf, of QUOTE_LEN bytes. */
#define QUOTE_LEN (SNIP + 4)
static const char *quote(const char *p, const char *end, char *buf)
{
    size_t n = 0;
    for (; p < end && n < SNIP; p++, n++) buf[n] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    if (p < end) memcpy(buf + n, "...", 3), n += 3;
    buf[n] = 0;
    return buf;
}

#define DURATION_HINT "a duration like 500ms, 10s, 2m, 1h or 1m30s, at most 1e9 s"
#define VALUE_HINT "a number from 0 to 1e9"

/* One stage, "DURATION:TARGET" or "DURATION TARGET", in [p, end). Returns 0, or -1 with
 * the reason (quoting the bad piece) in why. */
static int parse_stage(const char *p, const char *end, struct shape_stage *st, char *why, size_t whylen)
{
    char q[QUOTE_LEN];
    p = skip_space(p, end);
    end = trim_end(p, end);
    if (p == end) return fail(why, whylen, "empty stage (expected DURATION:TARGET, e.g. 30s:100)");
    const char *sep = p;
    while (sep < end && *sep != ':' && !isspace((unsigned char)*sep)) sep++;
    if (sep == end)
        return fail(why, whylen, "'%s' is not DURATION:TARGET (e.g. 30s:100)", quote(p, end, q));
    if (sep == p) return fail(why, whylen, "missing duration before ':'");
    const char *t = skip_space(sep, end);
    if (t < end && *t == ':') t = skip_space(t + 1, end);
    if (parse_duration_s(p, sep, &st->duration_s))
        return fail(why, whylen, "bad duration '%s' (%s)", quote(p, sep, q), DURATION_HINT);
    if (t == end) return fail(why, whylen, "missing target after '%s'", quote(p, sep, q));
    if (parse_value(t, end, &st->target))
        return fail(why, whylen, "bad target '%s' (%s)", quote(t, end, q), VALUE_HINT);
    return 0;
}

/* ---- a growing list of stages ---- */

struct stage_list {
    struct shape_stage *v;
    unsigned n, cap;
};

/* Returns 0, or -1 when out of memory or over SHAPE_MAX_STAGES. */
static int list_push(struct stage_list *l, double duration_s, double target)
{
    /* below the shape's resolution (a rounding residue, a ramp at a huge rate): a jump, a 0 */
    if (duration_s < SHAPE_MIN_DURATION) duration_s = 0;
    if (target < SHAPE_MIN_VALUE) target = 0;
    if (l->n == l->cap) {
        if (l->cap >= SHAPE_MAX_STAGES) return -1;
        unsigned cap = l->cap ? l->cap * 2 : 16;
        if (cap > SHAPE_MAX_STAGES) cap = SHAPE_MAX_STAGES;
        struct shape_stage *v = realloc(l->v, cap * sizeof(*v));
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (struct shape_stage){duration_s, target};
    return 0;
}

/* Makes the list last exactly `until` seconds: holds the last value longer, or cuts the
 * list at `until` (the cut stage ends at the value it has then). */
static int list_fit(struct stage_list *l, double start, double until)
{
    double t = 0, prev = start;
    for (unsigned i = 0; i < l->n; i++) {
        struct shape_stage *st = &l->v[i];
        if (t >= until) {   /* a jump exactly at `until` never happens */
            l->n = i;
            return 0;
        }
        if (t + st->duration_s > until) {
            double keep = until - t;
            if (keep < SHAPE_MIN_DURATION) {  /* cut an instant after it starts: not there at all */
                l->n = i;
                return 0;
            }
            st->target = prev + (st->target - prev) * (keep / st->duration_s);
            if (st->target < SHAPE_MIN_VALUE) st->target = 0;  /* as list_push would */
            st->duration_s = keep;
            l->n = i + 1;
            return 0;
        }
        t += st->duration_s;
        prev = st->target;
    }
    return t < until ? list_push(l, until - t, prev) : 0;
}

/* Builds s from the list and frees the list. */
static int list_finish(struct shape *s, struct stage_list *l, double start, const char *what, char *err, size_t errlen)
{
    int r = shape_from_stages(s, start, l->v, l->n);
    free(l->v);
    l->v = NULL;
    return r ? fail(err, errlen, "%s: out of memory", what) : 0;
}

/* ---- k6 stages ---- */

int shape_parse_stages(struct shape *s, const char *text, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    const char *p = text, *end = text + strlen(text);
    if (skip_space(p, end) == end) return fail(err, errlen, "--stages: empty (expected e.g. 30s:100,1m:100,30s:0)");
    struct stage_list l = {0};
    char why[160];
    for (unsigned n = 1;; n++) {
        const char *comma = find_char(p, end, ',');
        const char *stop = comma ? comma : end;
        struct shape_stage st;
        if (parse_stage(p, stop, &st, why, sizeof(why))) {
            free(l.v);
            return fail(err, errlen, "--stages: stage %u: %s", n, why);
        }
        if (list_push(&l, st.duration_s, st.target)) {
            free(l.v);
            return fail(err, errlen, "--stages: more than %d stages", SHAPE_MAX_STAGES);
        }
        if (!comma) break;
        p = comma + 1;
    }
    return list_finish(s, &l, 0, "--stages", err, errlen);
}

/* ---- shape files ---- */

int shape_load_file(struct shape *s, const char *path, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    FILE *f = fopen(path, "r");
    if (!f) return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stage_list l = {0};
    char *line = NULL, why[160];
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    int r = -1;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        const char *end = line + len, *hash = memchr(line, '#', (size_t)len);
        if (hash) end = hash;
        if (memchr(line, 0, (size_t)(end - line))) {
            fail(err, errlen, "%s:%u: a NUL byte (not a text file?)", path, lineno);
            goto out;
        }
        if (skip_space(line, end) == end) continue;
        struct shape_stage st;
        if (parse_stage(line, end, &st, why, sizeof(why))) {
            fail(err, errlen, "%s:%u: %s", path, lineno, why);
            goto out;
        }
        if (list_push(&l, st.duration_s, st.target)) {
            fail(err, errlen, "%s:%u: more than %d stages", path, lineno, SHAPE_MAX_STAGES);
            goto out;
        }
    }
    if (ferror(f)) {
        fail(err, errlen, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    if (!l.n) {
        fail(err, errlen, "%s: no stages (expected one 'DURATION TARGET' a line, e.g. 30s 100)", path);
        goto out;
    }
    r = list_finish(s, &l, 0, path, err, errlen);
out:
    free(l.v);
    free(line);
    fclose(f);
    return r;
}

/* ---- presets ---- */

enum { K_NUMBER, K_DURATION };
#define PRESET_KEYS 4

struct preset {
    const char *name;
    const char *keys[PRESET_KEYS];   /* all required */
    unsigned char kinds[PRESET_KEYS];
};

static const struct preset presets[] = {
    {"constant", {"value"}, {K_NUMBER}},
    {"ramp", {"to", "over"}, {K_NUMBER, K_DURATION}},
    {"step", {"by", "every", "to"}, {K_NUMBER, K_DURATION, K_NUMBER}},
    {"spike", {"base", "peak", "at", "for"}, {K_NUMBER, K_NUMBER, K_DURATION, K_DURATION}},
    {"soak", {"to", "ramp"}, {K_NUMBER, K_DURATION}},
};
#define NPRESETS (sizeof(presets) / sizeof(presets[0]))

/* "ramp takes to=N, over=DURATION" */
static void preset_usage(const struct preset *pr, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "%s takes", pr->name);
    for (unsigned k = 0; k < PRESET_KEYS && pr->keys[k] && at < len; k++)
        at += (size_t)snprintf(buf + at, len - at, "%s %s=%s", k ? "," : "", pr->keys[k],
                               pr->kinds[k] == K_NUMBER ? "N" : "DURATION");
}

/* Builds the stages of a preset from its values (in the order of its keys). Returns 0, or
 * -1 with the message in err. */
static int preset_build(const struct preset *pr, const double *v, double duration_s, struct stage_list *l,
                        double *start, char *err, size_t errlen)
{
    const char *name = pr->name;
    int hold_to_end = 1;
    *start = 0;
    if (!strcmp(name, "constant")) {
        if (duration_s <= 0) return fail(err, errlen, "--shape constant: needs -d (how long to hold value=)");
        *start = v[0];
        if (list_push(l, duration_s, v[0])) goto oom;
    } else if (!strcmp(name, "ramp")) {
        if (list_push(l, v[1], v[0])) goto oom;
    } else if (!strcmp(name, "step")) {
        double by = v[0], every = v[1], to = v[2];
        if (by <= 0) return fail(err, errlen, "--shape step: by= must be above 0");
        if (every <= 0) return fail(err, errlen, "--shape step: every= must be above 0");
        if (to < by) return fail(err, errlen, "--shape step: to= (%g) is below by= (%g)", to, by);
        double steps = ceil(to / by - 1e-9);   /* levels by, 2 by, ..., to */
        *start = by;
        for (double k = 1; k <= steps; k++) {
            if (duration_s > 0 && (k - 1) * every >= duration_s) break;   /* the rest is after the end */
            double level = k == steps ? to : k * by;
            if ((k > 1 && list_push(l, 0, level)) || list_push(l, every, level))
                return fail(err, errlen, "--shape step: more than %d stages (%g steps); use a larger by= or every=",
                            SHAPE_MAX_STAGES, steps);
        }
    } else if (!strcmp(name, "spike")) {
        double base = v[0], peak = v[1], at = v[2], len = v[3];
        if (len <= 0) return fail(err, errlen, "--shape spike: for= must be above 0");
        *start = base;
        if ((at > 0 && list_push(l, at, base)) || list_push(l, 0, peak) || list_push(l, len, peak) ||
            list_push(l, 0, base))
            goto oom;
    } else {   /* soak */
        double to = v[0], ramp = v[1];
        if (duration_s <= 0) return fail(err, errlen, "--shape soak: needs -d (the whole run, ramps included)");
        if (duration_s < 2 * ramp)
            return fail(err, errlen, "--shape soak: -d (%gs) is shorter than twice ramp= (%gs)", duration_s, ramp);
        if (list_push(l, ramp, to) || list_push(l, duration_s - 2 * ramp, to) || list_push(l, ramp, 0)) goto oom;
        hold_to_end = 0;
    }
    if (hold_to_end && duration_s > 0 && list_fit(l, *start, duration_s)) goto oom;
    return 0;
oom:
    return fail(err, errlen, "--shape %s: out of memory", name);
}

int shape_parse_preset(struct shape *s, const char *text, double duration_s, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    if (!isfinite(duration_s) || duration_s < 0 || duration_s > SHAPE_MAX_DURATION)
        return fail(err, errlen, "--shape: the run's duration (-d %g s) is not from 0 to 1e9 s", duration_s);
    char q[QUOTE_LEN];
    const char *end = text + strlen(text);
    const char *comma = find_char(text, end, ',');
    const char *name = skip_space(text, end), *name_end = trim_end(name, comma ? comma : end);
    const struct preset *pr = NULL;
    for (size_t i = 0; i < NPRESETS; i++)
        if (strlen(presets[i].name) == (size_t)(name_end - name) && !memcmp(presets[i].name, name, (size_t)(name_end - name)))
            pr = &presets[i];
    if (!pr)
        return fail(err, errlen, "--shape: unknown preset '%s' (expected constant, ramp, step, spike or soak, e.g. ramp,to=100,over=1m)",
                    quote(name, name_end, q));
    char usage[128];
    preset_usage(pr, usage, sizeof(usage));

    double v[PRESET_KEYS] = {0};
    int seen[PRESET_KEYS] = {0};
    while (comma) {
        const char *p = comma + 1;
        comma = find_char(p, end, ',');
        const char *item_end = comma ? comma : end;
        const char *key = skip_space(p, item_end), *eq = find_char(key, item_end, '=');
        if (key == trim_end(key, item_end)) return fail(err, errlen, "--shape %s: empty item (%s)", pr->name, usage);
        if (!eq)
            return fail(err, errlen, "--shape %s: '%s' is not key=value (%s)", pr->name,
                        quote(key, trim_end(key, item_end), q), usage);
        const char *key_end = trim_end(key, eq), *val = skip_space(eq + 1, item_end), *val_end = trim_end(val, item_end);
        unsigned k = 0;
        while (k < PRESET_KEYS && pr->keys[k] &&
               !(strlen(pr->keys[k]) == (size_t)(key_end - key) && !memcmp(pr->keys[k], key, (size_t)(key_end - key))))
            k++;
        if (k == PRESET_KEYS || !pr->keys[k])
            return fail(err, errlen, "--shape %s: unknown key '%s' (%s)", pr->name, quote(key, key_end, q), usage);
        if (seen[k]) return fail(err, errlen, "--shape %s: %s= given twice", pr->name, pr->keys[k]);
        seen[k] = 1;
        if (pr->kinds[k] == K_NUMBER ? parse_value(val, val_end, &v[k]) : parse_duration_s(val, val_end, &v[k]))
            return fail(err, errlen, "--shape %s: bad %s='%s' (%s)", pr->name, pr->keys[k], quote(val, val_end, q),
                        pr->kinds[k] == K_NUMBER ? VALUE_HINT : DURATION_HINT);
    }
    for (unsigned k = 0; k < PRESET_KEYS && pr->keys[k]; k++)
        if (!seen[k]) return fail(err, errlen, "--shape %s: missing %s= (%s)", pr->name, pr->keys[k], usage);

    struct stage_list l = {0};
    double start;
    if (preset_build(pr, v, duration_s, &l, &start, err, errlen)) {
        free(l.v);
        return -1;
    }
    char what[32];
    snprintf(what, sizeof(what), "--shape %s", pr->name);
    return list_finish(s, &l, start, what, err, errlen);
}

/* ---- Locust ---- */

int shape_locust(struct shape *s, double users, double spawn_rate, double run_time_s, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    if (!isfinite(users) || users < 0 || users > SHAPE_MAX_VALUE)
        return fail(err, errlen, "--users: %g is not a number from 0 to 1e9", users);
    if (!isfinite(spawn_rate) || spawn_rate <= 0 || spawn_rate > SHAPE_MAX_VALUE)
        return fail(err, errlen, "--spawn-rate: %g is not a number above 0 (users per second, at most 1e9)", spawn_rate);
    if (!isfinite(run_time_s) || run_time_s < 0 || run_time_s > SHAPE_MAX_DURATION)
        return fail(err, errlen, "--run-time: %g s is not a duration from 0 to 1e9 s", run_time_s);
    /* As Locust spawns them: the first user at once, one more every 1/spawn_rate s. */
    double first = users < 1 ? users : 1;
    double ramp = (users - first) / spawn_rate;
    if (ramp > SHAPE_MAX_DURATION)
        return fail(err, errlen, "--spawn-rate: %g users at %g/s take over 1e9 s", users, spawn_rate);
    struct stage_list l = {0};
    if (list_push(&l, ramp, users) || (run_time_s > 0 && list_fit(&l, first, run_time_s))) {
        free(l.v);
        return fail(err, errlen, "--users: out of memory");
    }
    return list_finish(s, &l, first, "--users", err, errlen);
}
