/* SLO expressions: parse "p99<100ms,errors<1%" and check measured numbers against them.
 * Needs only libc and the duration syntax (shapes/shape_parse.c), so that the fuzzer links
 * these files alone. */
#include "slo.h"
#include "shape.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_space(char c) { return c && strchr(" \t\n\r\v\f", c); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* A plain decimal at s: digits with an optional fraction, at least one digit in all, no
 * sign or exponent. Returns the characters read (0 if none) and the value in *v. */
static size_t read_number(const char *s, double *v)
{
    size_t i = 0, digits = 0;
    while (is_digit(s[i])) i++, digits++;
    if (s[i] == '.') {
        i++;
        while (is_digit(s[i])) i++, digits++;
    }
    if (digits == 0 || i > 32) return 0;
    char copy[40];
    memcpy(copy, s, i);
    copy[i] = '\0';
    *v = strtod(copy, NULL);
    return isfinite(*v) ? i : 0;
}

/* "100ms" → 100000 µs; a bare number is ms. */
static bool parse_latency(const char *s, double *us)
{
    double v;
    size_t n = read_number(s, &v);
    if (!n) return false;
    if (!s[n]) {  /* a bare number is milliseconds, as in k6's thresholds */
        *us = v * 1e3;
        return true;
    }
    double seconds;  /* else the one duration syntax with its unit: 250us, 1.5s, 2m, 1m30s (not 1e3) */
    if (!strchr("umsh", s[n]) || strpbrk(s, "eE") || shape_parse_duration(s, s + strlen(s), &seconds) ||
        !(seconds >= 0))
        return false;
    *us = seconds * 1e6;
    return isfinite(*us);
}

/* "1%" or "0.01" → 0.01. */
static bool parse_fraction(const char *s, double *f)
{
    double v;
    size_t n = read_number(s, &v);
    if (!n) return false;
    if (!strcmp(s + n, "%") && v <= 100) *f = v / 100;
    else if (!s[n] && v <= 1) *f = v;
    else return false;
    return true;
}

/* "5000" or "5k". */
static bool parse_rate(const char *s, double *r)
{
    double v;
    size_t n = read_number(s, &v);
    if (!n) return false;
    if (!s[n]) *r = v;
    else if (!strcmp(s + n, "k")) *r = v * 1e3;
    else return false;
    return true;
}

/* "80%" → 80: a share of one core, so above 100% for a process on several cores. */
static bool parse_cpu(const char *s, double *pct)
{
    double v;
    size_t n = read_number(s, &v);
    if (!n || strcmp(s + n, "%")) return false;
    *pct = v;
    return true;
}

/* "100MB" → 100 (MB of 10^6 bytes); KB, MB, GB in any case, KiB, MiB, GiB. */
static bool parse_size_mb(const char *s, double *mb)
{
    static const struct {
        const char *unit;
        double mb;
    } units[] = {{"kb", 1e-3}, {"mb", 1}, {"gb", 1e3}, {"kib", 1024 / 1e6}, {"mib", 1048576 / 1e6},
                 {"gib", 1073741824 / 1e6}};
    double v;
    size_t n = read_number(s, &v);
    if (!n) return false;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcasecmp(s + n, units[i].unit)) {
            *mb = v * units[i].mb;
            return isfinite(*mb);
        }
    return false;
}

/* "99", "99.9", "100" → 0.99, 0.999, 1. */
static bool parse_quantile(const char *s, size_t len, double *q)
{
    double v;
    size_t n = read_number(s, &v);
    if (n != len || v <= 0 || v > 100) return false;
    *q = v / 100;
    return true;
}

static int fail(struct slo *s, char *err, size_t errlen, const char *fmt, ...)
{
    s->n = 0;
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        for (char *p = err; *p; p++) /* one printable line, whatever the input held */
            if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    }
    return -1;
}

/* Parses the condition in c->text into c; returns NULL or what was expected. */
static const char *parse_cond(struct slo_cond *c)
{
    const char *p = c->text;
    size_t name_len = 0;
    while (p[name_len] && !is_space(p[name_len]) && !strchr("<>=", p[name_len])) name_len++;
    const char *name = p;
    p += name_len;

    c->quantile = 0;
    if (name_len == 3 && !memcmp(name, "min", 3)) c->metric = SLO_MIN;
    else if (name_len == 3 && !memcmp(name, "max", 3)) c->metric = SLO_MAX;
    else if ((name_len == 4 && !memcmp(name, "mean", 4)) || (name_len == 3 && !memcmp(name, "avg", 3)))
        c->metric = SLO_MEAN;
    else if (name_len == 6 && !memcmp(name, "errors", 6)) c->metric = SLO_ERRORS;
    else if (name_len == 3 && !memcmp(name, "rps", 3)) c->metric = SLO_RPS;
    else if (name_len == 10 && !memcmp(name, "server_cpu", 10)) c->metric = SLO_SERVER_CPU;
    else if (name_len == 17 && !memcmp(name, "server_rss_growth", 17)) c->metric = SLO_SERVER_RSS_GROWTH;
    else if (name_len >= 2 && name[0] == 'p') {
        c->metric = SLO_QUANTILE;
        bool paren = name[1] == '(' && name[name_len - 1] == ')' && name_len >= 4;
        bool ok = paren ? parse_quantile(name + 2, name_len - 3, &c->quantile)
                        : parse_quantile(name + 1, name_len - 1, &c->quantile);
        if (!ok) return "expected a percentile in (0, 100] such as p99 or p99.9";
    } else if (name_len == 0) {
        return "expected a metric: pNN, min, max, mean, errors, rps, server_cpu or server_rss_growth";
    } else {
        return "unknown metric (expected pNN, min, max, mean, errors, rps, server_cpu or server_rss_growth)";
    }

    while (is_space(*p)) p++;
    if (p[0] == '<' && p[1] == '=') c->op = SLO_LE, p += 2;
    else if (p[0] == '>' && p[1] == '=') c->op = SLO_GE, p += 2;
    else if (p[0] == '<') c->op = SLO_LT, p++;
    else if (p[0] == '>') c->op = SLO_GT, p++;
    else return "expected an operator: <, <=, > or >=";
    while (is_space(*p)) p++;

    bool ok;
    const char *expected;
    switch (c->metric) {
    case SLO_ERRORS:
        ok = parse_fraction(p, &c->value), expected = "expected an error rate such as 1% or 0.01";
        break;
    case SLO_RPS:
        ok = parse_rate(p, &c->value), expected = "expected a rate in req/s such as 5000 or 5k";
        break;
    case SLO_SERVER_CPU:
        ok = parse_cpu(p, &c->value), expected = "expected a CPU share such as 80% (100% is one core)";
        break;
    case SLO_SERVER_RSS_GROWTH:
        ok = parse_size_mb(p, &c->value), expected = "expected a size such as 100MB (KB, MB or GB)";
        break;
    default:
        ok = parse_latency(p, &c->value), expected = "expected a duration such as 100ms";
        break;
    }
    if (!ok) return expected;
    /* every metric but the RSS growth is 0 or more: such a condition would fail every run */
    if (c->op == SLO_LT && c->value <= 0 && c->metric != SLO_SERVER_RSS_GROWTH) return "can never hold: nothing is below 0";
    return NULL;
}

int slo_parse(struct slo *s, const char *text, const char *flag, char *err, size_t errlen)
{
    s->n = 0;
    if (!flag) flag = "--slo";
    const char *p = text ? text : "";
    while (is_space(*p)) p++;
    if (!*p) return fail(s, err, errlen, "%s: expected conditions such as 'p99<100ms,errors<1%%'", flag);

    for (;;) {
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char *b = p, *e = end;
        while (b < e && is_space(*b)) b++;
        while (e > b && is_space(e[-1])) e--;
        size_t len = (size_t)(e - b);
        if (len == 0) return fail(s, err, errlen, "%s: empty condition in '%s'", flag, text);
        if (len >= SLO_TEXT_LEN)
            return fail(s, err, errlen, "%s: '%.*s': condition too long (at most %d characters)", flag, (int)len, b,
                        SLO_TEXT_LEN - 1);
        if (s->n == SLO_MAX_CONDS)
            return fail(s, err, errlen, "%s: at most %d conditions", flag, SLO_MAX_CONDS);
        struct slo_cond *c = &s->cond[s->n];
        memcpy(c->text, b, len);
        c->text[len] = '\0';
        const char *why = parse_cond(c);
        if (why) return fail(s, err, errlen, "%s: '%s': %s", flag, c->text, why);
        s->n++;
        if (!*end) return 0;
        p = end + 1;
    }
}

static double measured_value(const struct slo_cond *c, const struct slo_measure *m)
{
    switch (c->metric) {
    case SLO_QUANTILE: return m->quantile_us ? m->quantile_us(m->ctx, c->quantile) : NAN;
    case SLO_MIN: return m->min_us;
    case SLO_MAX: return m->max_us;
    case SLO_MEAN: return m->mean_us;
    case SLO_ERRORS: return m->error_rate;
    case SLO_RPS: return m->rps;
    case SLO_SERVER_CPU: return m->server_cpu_pct;
    case SLO_SERVER_RSS_GROWTH: return m->server_rss_growth_mb;
    }
    return NAN;
}

/* NaN fails every operator: each comparison below is false for it. */
static bool holds(enum slo_op op, double v, double limit)
{
    switch (op) {
    case SLO_LT: return v < limit;
    case SLO_LE: return v <= limit;
    case SLO_GT: return v > limit;
    case SLO_GE: return v >= limit;
    }
    return false;
}

bool slo_eval(const struct slo *s, const struct slo_measure *m, double measured[], bool passed[])
{
    bool all = true;
    for (unsigned i = 0; i < s->n; i++) {
        double v = measured_value(&s->cond[i], m);
        bool ok = holds(s->cond[i].op, v, s->cond[i].value);
        if (measured) measured[i] = v;
        if (passed) passed[i] = ok;
        all = all && ok;
    }
    return all;
}

/* v with at most `decimals` decimals, trailing zeros dropped, then suffix: "123.4ms". */
static void format_trimmed(char *buf, size_t len, double v, int decimals, const char *suffix)
{
    char num[330]; /* room for the largest double with its decimals */
    int n = snprintf(num, sizeof(num), "%.*f", decimals, v);
    if (n > 0 && (size_t)n < sizeof(num) && strchr(num, '.')) {
        while (n > 0 && num[n - 1] == '0') num[--n] = '\0';
        if (n > 0 && num[n - 1] == '.') num[--n] = '\0';
    }
    snprintf(buf, len, "%s%s", num, suffix);
}

void slo_format_value(const struct slo_cond *c, double v, char *buf, size_t len)
{
    if (!len) return;
    if (isnan(v)) {
        snprintf(buf, len, "n/a");
        return;
    }
    switch (c->metric) {
    case SLO_ERRORS:
        if (v > 0 && v < 0.00005) snprintf(buf, len, "<0.01%%");
        else format_trimmed(buf, len, v * 100, 2, "%");
        break;
    case SLO_RPS:
        format_trimmed(buf, len, v, v < 10 ? 2 : v < 100 ? 1 : 0, " req/s");
        break;
    case SLO_SERVER_CPU:
        format_trimmed(buf, len, v, 1, "%");
        break;
    case SLO_SERVER_RSS_GROWTH: /* may be negative: the process gave memory back */
        if (fabs(v) >= 1e3) format_trimmed(buf, len, v / 1e3, 2, "GB");
        else if (fabs(v) >= 1) format_trimmed(buf, len, v, 1, "MB");
        else if (fabs(v) >= 0.0005) format_trimmed(buf, len, v * 1e3, 0, "KB");
        else snprintf(buf, len, "0MB");
        break;
    default:  /* switched where the value rounds up to the next unit: never 1000us or 1000ms */
        if (v < 999.95) format_trimmed(buf, len, v, 1, "us");
        else if (v < 999995) format_trimmed(buf, len, v / 1e3, 2, "ms");
        else format_trimmed(buf, len, v / 1e6, 3, "s");
        break;
    }
}

const char *slo_op_str(enum slo_op op)
{
    switch (op) {
    case SLO_LT: return "<";
    case SLO_LE: return "<=";
    case SLO_GT: return ">";
    case SLO_GE: return ">=";
    }
    return "?";
}
