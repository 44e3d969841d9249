/* libFuzzer target for the SLO expression parser.
 *
 * The input, copied to a NUL-terminated heap block of its own size (so that ASan sees any
 * read past the end), is parsed twice: into a full error buffer and a 9-byte one. Checks:
 * - both parses agree, and a failure leaves n == 0 and a message starting "--slo: ";
 * - a success has 1..16 conditions, each with a known metric and operator, a finite value
 *   >= 0 (errors <= 1), a quantile in (0, 1] for pNN and 0 otherwise, a non-empty text;
 * - the texts joined with ',' parse again to the same conditions;
 * - evaluating against a measurement equal to each threshold holds exactly for <= and >=,
 *   and a NaN measurement fails every condition;
 * - formatting every value gives a NUL-terminated string in a small buffer.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Ishapes tests/fuzz/fuzz_slo_parse.c shapes/slo.c -lm
 */
#include "slo.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *why, const char *text)
{
    fprintf(stderr, "fuzz_slo_parse: %s (input '%s')\n", why, text);
    abort();
}

static bool same_cond(const struct slo_cond *a, const struct slo_cond *b)
{
    return a->metric == b->metric && a->op == b->op && a->quantile == b->quantile && a->value == b->value &&
           !strcmp(a->text, b->text);
}

/* A measurement where every metric reads `v` (a condition's own threshold, or NaN). */
static double at_value(const void *ctx, double q)
{
    (void)q;
    return *(const double *)ctx;
}

static void check_conditions(const struct slo *s, const char *text)
{
    if (s->n < 1 || s->n > SLO_MAX_CONDS) die("condition count out of range", text);
    for (unsigned i = 0; i < s->n; i++) {
        const struct slo_cond *c = &s->cond[i];
        if ((unsigned)c->metric > SLO_METRIC_LAST || (unsigned)c->op > SLO_GE) die("bad metric or operator", text);
        if (!isfinite(c->value) || c->value < 0) die("value not finite and >= 0", text);
        if (c->metric == SLO_ERRORS && c->value > 1) die("error rate above 1", text);
        if (c->metric == SLO_QUANTILE ? !(c->quantile > 0 && c->quantile <= 1) : c->quantile != 0)
            die("quantile out of (0, 1]", text);
        size_t len = strnlen(c->text, SLO_TEXT_LEN);
        if (len == 0 || len == SLO_TEXT_LEN) die("text empty or not terminated", text);
        if (!strstr(text, c->text)) die("text is not from the input", text);

        struct slo one = {.n = 1};
        one.cond[0] = *c;
        double v = c->value;
        struct slo_measure m = {at_value, &v, v, v, v, v, v, v, v};
        double measured;
        bool passed;
        bool all = slo_eval(&one, &m, &measured, &passed);
        if (all != passed || measured != v) die("eval reported another value", text);
        if (passed != (c->op == SLO_LE || c->op == SLO_GE)) die("threshold itself misjudged", text);
        v = NAN;
        m = (struct slo_measure){at_value, &v, v, v, v, v, v, v, v};
        if (slo_eval(&one, &m, NULL, NULL)) die("NaN passed", text);

        char small[12];
        slo_format_value(c, c->value, small, sizeof(small));
        if (strnlen(small, sizeof(small)) == sizeof(small)) die("format not terminated", text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';

    struct slo s, again;
    char err[256], tiny[9];
    int rc = slo_parse(&s, text, "--slo", err, sizeof(err));
    int rc2 = slo_parse(&again, text, "--slo", tiny, sizeof(tiny));
    if (rc != rc2) die("result depends on the error buffer", text);
    if (rc != 0) {
        if (rc != -1 || s.n != 0) die("failure without -1 and n == 0", text);
        if (strncmp(err, "--slo: ", 7) || strncmp(tiny, "--slo: ", 7) || strlen(tiny) != 8)
            die("bad error message", text);
        if (strchr(err, '\n')) die("error message over two lines", text);
        free(text);
        return 0;
    }
    check_conditions(&s, text);

    /* the conditions as written, joined again, are the same conditions */
    char joined[SLO_MAX_CONDS * SLO_TEXT_LEN];
    size_t off = 0;
    for (unsigned i = 0; i < s.n; i++) off += (size_t)sprintf(joined + off, "%s%s", i ? "," : "", s.cond[i].text);
    if (slo_parse(&again, joined, "--slo", err, sizeof(err)) != 0 || again.n != s.n) die("round trip failed", text);
    for (unsigned i = 0; i < s.n; i++)
        if (!same_cond(&s.cond[i], &again.cond[i])) die("round trip changed a condition", text);
    free(text);
    return 0;
}
