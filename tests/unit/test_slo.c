/* SLO expressions: parsing (good and bad input), evaluation at the boundaries, formatting. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "slo.h"

static int parse(struct slo *s, const char *text)
{
    char err[256] = "";
    int rc = slo_parse(s, text, "--slo", err, sizeof(err));
    if (rc) printf("  unexpected error: %s\n", err);
    return rc;
}

static bool near(double a, double b) { return fabs(a - b) <= 1e-9 * fmax(1, fabs(b)); }

static void parses_examples(void)
{
    struct slo s;
    CHECK(parse(&s, "p99<100ms,errors<1%") == 0);
    CHECK_EQ_U(s.n, 2);
    CHECK(s.cond[0].metric == SLO_QUANTILE && near(s.cond[0].quantile, 0.99));
    CHECK(s.cond[0].op == SLO_LT && near(s.cond[0].value, 100000));
    CHECK(!strcmp(s.cond[0].text, "p99<100ms"));
    CHECK(s.cond[1].metric == SLO_ERRORS && s.cond[1].op == SLO_LT && near(s.cond[1].value, 0.01));

    CHECK(parse(&s, "p50<=20ms, p99.9 < 1s, rps>5000,\tmax<2s , mean<50ms ") == 0);
    CHECK_EQ_U(s.n, 5);
    CHECK(s.cond[0].op == SLO_LE && near(s.cond[0].quantile, 0.5) && near(s.cond[0].value, 20000));
    CHECK(near(s.cond[1].quantile, 0.999) && near(s.cond[1].value, 1e6));
    CHECK(!strcmp(s.cond[1].text, "p99.9 < 1s"));
    CHECK(s.cond[2].metric == SLO_RPS && s.cond[2].op == SLO_GT && near(s.cond[2].value, 5000));
    CHECK(s.cond[3].metric == SLO_MAX && near(s.cond[3].value, 2e6) && !strcmp(s.cond[3].text, "max<2s"));
    CHECK(s.cond[4].metric == SLO_MEAN && near(s.cond[4].value, 50000) && s.cond[4].quantile == 0);
}

static void parses_units_and_forms(void)
{
    struct slo s;
    CHECK(parse(&s, "p99<250us,p99<100,p99<1.5s,p(95)<200,p100<=1s,p99.99<.5ms,min>=0us,avg<3ms") == 0);
    struct slo m;  /* minutes too, as every duration flag takes them */
    CHECK(parse(&m, "p99<1m,max<1m30s") == 0 && near(m.cond[0].value, 60e6) && near(m.cond[1].value, 90e6));
    CHECK_EQ_U(s.n, 8);
    CHECK(near(s.cond[0].value, 250));
    CHECK(near(s.cond[1].value, 100000));  /* a bare number is ms */
    CHECK(near(s.cond[2].value, 1.5e6));
    CHECK(near(s.cond[3].quantile, 0.95) && near(s.cond[3].value, 200000));
    CHECK(s.cond[4].quantile == 1.0 && s.cond[4].op == SLO_LE);
    CHECK(near(s.cond[5].quantile, 0.9999) && near(s.cond[5].value, 500));
    CHECK(s.cond[6].metric == SLO_MIN && s.cond[6].op == SLO_GE && s.cond[6].value == 0);
    CHECK(s.cond[7].metric == SLO_MEAN && near(s.cond[7].value, 3000));

    CHECK(parse(&s, "errors<0.01, errors<=2.5%, errors<100%, errors<1, rps>=5k, rps>0.5") == 0);
    CHECK_EQ_U(s.n, 6);
    CHECK(near(s.cond[0].value, 0.01) && near(s.cond[1].value, 0.025) && s.cond[1].op == SLO_LE);
    CHECK(near(s.cond[2].value, 1) && near(s.cond[3].value, 1));
    CHECK(near(s.cond[4].value, 5000) && s.cond[4].op == SLO_GE && near(s.cond[5].value, 0.5));

    /* 16 conditions is the most */
    CHECK(parse(&s, "p1<1,p2<1,p3<1,p4<1,p5<1,p6<1,p7<1,p8<1,p9<1,p10<1,p11<1,p12<1,p13<1,p14<1,p15<1,p16<1") == 0);
    CHECK_EQ_U(s.n, 16);
}

static void rejects_bad_input_naming_the_condition(void)
{
    static const struct {
        const char *in, *err; /* err: the whole message, or its start when it ends in '*' */
    } cases[] = {
        {"p99<abc", "--slo: 'p99<abc': expected a duration such as 100ms"},
        {"p99<0", "--slo: 'p99<0': can never hold: nothing is below 0"},
        {"errors<0%", "--slo: 'errors<0%': can never hold: nothing is below 0"},
        {"p99<1ms, p95 < 10 ms", "--slo: 'p95 < 10 ms': expected a duration such as 100ms"},
        {"p99<", "--slo: 'p99<': expected a duration*"},
        {"p99<1x", "--slo: 'p99<1x': expected a duration*"},
        {"p99<1m1", "--slo: 'p99<1m1': expected a duration*"},
        {"p99<-1ms", "--slo: 'p99<-1ms': expected a duration*"},
        {"p99<1e3", "--slo: 'p99<1e3': expected a duration*"},
        {"p99<inf", "--slo: 'p99<inf': expected a duration*"},
        {"p99<nan", "--slo: 'p99<nan': expected a duration*"},
        {"p99<0x10", "--slo: 'p99<0x10': expected a duration*"},
        {"p99<<1ms", "--slo: 'p99<<1ms': expected a duration*"},
        {"p99<.", "--slo: 'p99<.': expected a duration*"},
        {"p99=1ms", "--slo: 'p99=1ms': expected an operator: <, <=, > or >="},
        {"p99 1ms", "--slo: 'p99 1ms': expected an operator*"},
        {"p99=<1ms", "--slo: 'p99=<1ms': expected an operator*"},
        {"p99", "--slo: 'p99': expected an operator*"},
        {"p0<1ms", "--slo: 'p0<1ms': expected a percentile in (0, 100] such as p99 or p99.9"},
        {"p100.1<1ms", "--slo: 'p100.1<1ms': expected a percentile*"},
        {"p9x<1ms", "--slo: 'p9x<1ms': expected a percentile*"},
        {"p(99<1ms", "--slo: 'p(99<1ms': expected a percentile*"},
        {"p()<1ms", "--slo: 'p()<1ms': expected a percentile*"},
        {"p<1ms", "--slo: 'p<1ms': unknown metric*"},
        {"latency<1ms", "--slo: 'latency<1ms': unknown metric (expected pNN, min, max, mean, errors, rps, server_cpu or "
                        "server_rss_growth)"},
        {"server_cpu<80", "--slo: 'server_cpu<80': expected a CPU share such as 80% (100% is one core)"},
        {"server_cpu<80ms", "--slo: 'server_cpu<80ms': expected a CPU share*"},
        {"server_rss_growth<100", "--slo: 'server_rss_growth<100': expected a size such as 100MB (KB, MB or GB)"},
        {"server_rss_growth<1e3MB", "--slo: 'server_rss_growth<1e3MB': expected a size*"},
        {"server_rss_growth<-5MB", "--slo: 'server_rss_growth<-5MB': expected a size*"},
        {"server_rss<5MB", "--slo: 'server_rss<5MB': unknown metric*"},
        {"P99<1ms", "--slo: 'P99<1ms': unknown metric*"},
        {"<1ms", "--slo: '<1ms': expected a metric*"},
        {"errors<5", "--slo: 'errors<5': expected an error rate such as 1% or 0.01"},
        {"errors<101%", "--slo: 'errors<101%': expected an error rate*"},
        {"errors<1ms", "--slo: 'errors<1ms': expected an error rate*"},
        {"rps>fast", "--slo: 'rps>fast': expected a rate in req/s such as 5000 or 5k"},
        {"rps>5000req/s", "--slo: 'rps>5000req/s': expected a rate*"},
        {"rps<1e9", "--slo: 'rps<1e9': expected a rate*"},
        {"", "--slo: expected conditions such as 'p99<100ms,errors<1%'"},
        {"   ", "--slo: expected conditions*"},
        {"p99<1ms,,errors<1%", "--slo: empty condition in 'p99<1ms,,errors<1%'"},
        {"p99<1ms,", "--slo: empty condition*"},
        {",p99<1ms", "--slo: empty condition*"},
        {"p99 < 1ms,   ,", "--slo: empty condition*"},
        {"p99<1000000000000000000000000000000000000ms", "--slo: 'p99<1000000000000000000000000000000000000ms': *"},
        {"p99 < 1ms                                                       ", NULL}, /* trailing spaces are fine */
        {"p1<1,p2<1,p3<1,p4<1,p5<1,p6<1,p7<1,p8<1,p9<1,p10<1,p11<1,p12<1,p13<1,p14<1,p15<1,p16<1,p17<1",
         "--slo: at most 16 conditions"},
        {"p99 <                                                            1ms",
         "--slo: 'p99 <                                                            1ms': condition too long (at most 63 "
         "characters)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct slo s = {.n = 99};
        char err[256] = "";
        int rc = slo_parse(&s, cases[i].in, "--slo", err, sizeof(err));
        if (!cases[i].err) {
            CHECK(rc == 0 && s.n == 1);
            continue;
        }
        size_t len = strlen(cases[i].err);
        bool prefix = cases[i].err[len - 1] == '*';
        bool match = prefix ? !strncmp(err, cases[i].err, len - 1) : !strcmp(err, cases[i].err);
        if (rc != -1 || !match || s.n != 0) printf("  input '%s' gave rc %d, n %u, error \"%s\"\n", cases[i].in, rc, s.n, err);
        CHECK(rc == -1);
        CHECK(match);
        CHECK_EQ_U(s.n, 0);
    }
}

static void error_names_the_flag_and_fits_the_buffer(void)
{
    struct slo s;
    char err[256];
    CHECK(slo_parse(&s, "p99<x", "--threshold", err, sizeof(err)) == -1);
    CHECK(!strcmp(err, "--threshold: 'p99<x': expected a duration such as 100ms"));
    CHECK(slo_parse(&s, NULL, NULL, err, sizeof(err)) == -1);
    CHECK(!strncmp(err, "--slo: expected conditions", 26));
    char tiny[8];
    memset(tiny, 'x', sizeof(tiny));
    CHECK(slo_parse(&s, "p99<x", "--slo", tiny, sizeof(tiny)) == -1);
    CHECK(!strcmp(tiny, "--slo: "));
    CHECK(slo_parse(&s, "p99<x", "--slo", NULL, 0) == -1);
}

/* A fake latency distribution: the quantile function remembers what it was asked. */
struct fake {
    double p50, p99, p999;
    double last_q;
};

static double fake_quantile(const void *ctx, double q)
{
    struct fake *f = (struct fake *)ctx;
    f->last_q = q;
    return q <= 0.5 ? f->p50 : q <= 0.99 ? f->p99 : f->p999;
}

static void eval_boundaries(void)
{
    struct fake f = {.p50 = 20000, .p99 = 100000, .p999 = 1e6};
    struct slo_measure m = {fake_quantile, &f, 500, 2e6, 30000, 0.01, 5000};
    struct slo s;
    double v[SLO_MAX_CONDS];
    bool ok[SLO_MAX_CONDS];

    /* at the threshold exactly: < and > fail, <= and >= hold */
    CHECK(parse(&s, "p99<100ms,p99<=100ms,p99>100ms,p99>=100ms,errors<1%,errors<=1%,rps>5000,rps>=5k") == 0);
    CHECK(!slo_eval(&s, &m, v, ok));
    CHECK(!ok[0] && ok[1] && !ok[2] && ok[3]);
    CHECK(!ok[4] && ok[5] && !ok[6] && ok[7]);
    CHECK(v[0] == 100000 && v[4] == 0.01 && v[6] == 5000);

    /* just inside / just outside */
    f.p99 = 99999.5;
    CHECK(slo_eval(&s, &m, v, ok) == false);
    CHECK(ok[0] && ok[1] && !ok[2] && !ok[3]);
    f.p99 = 100000.5;
    slo_eval(&s, &m, NULL, ok);
    CHECK(!ok[0] && !ok[1] && ok[2] && ok[3]);

    /* each metric reads its own number, in its own unit */
    CHECK(parse(&s, "p50<=20ms, p99.9<1001ms, min<=0.5ms, max<=2s, mean<30.001ms, errors<0.011, rps>4999") == 0);
    CHECK(slo_eval(&s, &m, v, ok));
    CHECK(v[0] == 20000 && v[1] == 1e6 && v[2] == 500 && v[3] == 2e6 && v[4] == 30000);
    CHECK(near(f.last_q, 0.999));
    CHECK(parse(&s, "min<0.5ms") == 0);
    CHECK(!slo_eval(&s, &m, NULL, NULL));

    /* a number that was not measured fails every operator */
    m.quantile_us = NULL;
    m.rps = NAN;
    CHECK(parse(&s, "p99<1s,p99>=0,rps>0,rps<1000000000") == 0);
    CHECK(!slo_eval(&s, &m, v, ok));
    CHECK(!ok[0] && !ok[1] && !ok[2] && !ok[3] && isnan(v[0]) && isnan(v[2]));

    /* no conditions: everything holds */
    s.n = 0;
    CHECK(slo_eval(&s, &m, NULL, NULL));
}

static void formats_values(void)
{
    static const struct {
        enum slo_metric metric;
        double v;
        const char *want;
    } cases[] = {
        {SLO_QUANTILE, 123400, "123.4ms"}, {SLO_QUANTILE, 100000, "100ms"}, {SLO_QUANTILE, 850, "850us"},
        {SLO_QUANTILE, 12.26, "12.3us"},   {SLO_MAX, 2.5e6, "2.5s"},        {SLO_MEAN, 1234.567, "1.23ms"},
        {SLO_MIN, 0, "0us"},               {SLO_ERRORS, 0.0052, "0.52%"},   {SLO_ERRORS, 0.01, "1%"},
        {SLO_ERRORS, 0, "0%"},             {SLO_ERRORS, 0.000001, "<0.01%"}, {SLO_ERRORS, 1, "100%"},
        {SLO_RPS, 5012.4, "5012 req/s"},   {SLO_RPS, 2.5, "2.5 req/s"},     {SLO_QUANTILE, NAN, "n/a"},
        /* where the value rounds up to the next unit, as the summary's format_us() (the
         * Grade line said "p99 1000ms" beside a latency line's 1.00s) */
        {SLO_QUANTILE, 999.94, "999.9us"}, {SLO_MEAN, 999.96, "1ms"},       {SLO_QUANTILE, 999994, "999.99ms"},
        {SLO_QUANTILE, 999996, "1s"},      {SLO_MEAN, 999999.6, "1s"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct slo_cond c = {.metric = cases[i].metric};
        char buf[32];
        slo_format_value(&c, cases[i].v, buf, sizeof(buf));
        if (strcmp(buf, cases[i].want)) printf("  %g formatted as '%s', expected '%s'\n", cases[i].v, buf, cases[i].want);
        CHECK(!strcmp(buf, cases[i].want));
    }
    struct slo_cond c = {.metric = SLO_RPS};
    char small[6];
    slo_format_value(&c, 123456, small, sizeof(small));
    CHECK(!strcmp(small, "12345"));
    char big[400];
    slo_format_value(&c, 1e300, big, sizeof(big));
    CHECK(strlen(big) == 301 + 6 && !strcmp(big + 301, " req/s"));
    CHECK(!strcmp(slo_op_str(SLO_LT), "<") && !strcmp(slo_op_str(SLO_GE), ">="));
}

int main(void)
{
    RUN(parses_examples);
    RUN(parses_units_and_forms);
    RUN(rejects_bad_input_naming_the_condition);
    RUN(error_names_the_flag_and_fits_the_buffer);
    RUN(eval_boundaries);
    RUN(formats_values);
    CHECK_EXIT();
}
