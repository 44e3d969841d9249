/* Thresholds (--threshold): parsing with and without a step name, bad input, binding names
 * to steps, evaluation on statistics (totals and per step, the run-time grace), the server
 * metrics on --watch-pid figures; the grade. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "report.h"
#include "threshold.h"

static bool near(double a, double b) { return fabs(a - b) <= 1e-9 * fmax(1, fabs(b)); }

static int add(struct threshold_set *set, const char *text, char *err)
{
    return threshold_add(set, text, err, 256);
}

static void parses_totals(void)
{
    struct threshold_set set = {0};
    char err[256] = "";
    CHECK(add(&set, "p99<250ms", err) == 0);
    CHECK(add(&set, " p95 <= 100ms ", err) == 0);
    CHECK(add(&set, "errors<1%", err) == 0);
    CHECK(add(&set, "rps>5000", err) == 0);
    CHECK(add(&set, "max<2s", err) == 0);
    CHECK(add(&set, "p99.9<1s", err) == 0);
    CHECK(add(&set, "mean<30ms", err) == 0);
    CHECK_EQ_U(set.n, 7);
    CHECK(!strcmp(set.t[0].expr, "p99<250ms") && set.t[0].name[0] == 0 && set.t[0].step == -1);
    CHECK(set.t[0].cond.metric == SLO_QUANTILE && near(set.t[0].cond.quantile, 0.99) && near(set.t[0].cond.value, 250e3));
    CHECK(!strcmp(set.t[1].expr, "p95 <= 100ms") && set.t[1].cond.op == SLO_LE && near(set.t[1].cond.quantile, 0.95));
    CHECK(set.t[2].cond.metric == SLO_ERRORS && near(set.t[2].cond.value, 0.01));
    CHECK(set.t[3].cond.metric == SLO_RPS && set.t[3].cond.op == SLO_GT && near(set.t[3].cond.value, 5000));
    CHECK(set.t[4].cond.metric == SLO_MAX && near(set.t[4].cond.value, 2e6));
    CHECK(near(set.t[5].cond.quantile, 0.999));
    CHECK(set.t[6].cond.metric == SLO_MEAN);
}

static void parses_step_names(void)
{
    struct threshold_set set = {0};
    char err[256] = "";
    CHECK(add(&set, "list items:p95<100ms", err) == 0);
    CHECK(add(&set, "GET /a:b:errors<5%", err) == 0);  /* the last ':' splits */
    CHECK(add(&set, "  read item : rps >= 10 ", err) == 0);
    CHECK_EQ_U(set.n, 3);
    CHECK(!strcmp(set.t[0].name, "list items") && !strcmp(set.t[0].expr, "list items:p95<100ms"));
    CHECK(near(set.t[0].cond.quantile, 0.95) && near(set.t[0].cond.value, 100e3));
    CHECK(!strcmp(set.t[1].name, "GET /a:b") && set.t[1].cond.metric == SLO_ERRORS);
    CHECK(!strcmp(set.t[2].name, "read item") && set.t[2].cond.metric == SLO_RPS && set.t[2].cond.op == SLO_GE);

    char *names[] = {"login", "list items", "read item", "GET /a:b"};
    CHECK(threshold_resolve(&set, names, 4, NULL, err, sizeof(err)) == 0);
    CHECK(set.t[0].step == 1 && set.t[1].step == 3 && set.t[2].step == 2);

    CHECK(threshold_resolve(&set, names, 2, NULL, err, sizeof(err)) == -1);
    CHECK(strstr(err, "--threshold") && strstr(err, "no step named 'GET /a:b'"));
    /* a step left out by --tags is in the file: the message says what selected the others */
    CHECK(threshold_resolve(&set, names, 2, "--exclude-tags", err, sizeof(err)) == -1);
    CHECK(strstr(err, "no step named 'GET /a:b' among the steps selected by --exclude-tags"));
    CHECK(threshold_resolve(&set, NULL, 0, NULL, err, sizeof(err)) == -1);
    CHECK(strstr(err, "needs a scenario") && strstr(err, "list items:p95<100ms"));
    /* a step name typed from a request's path: its secret is masked in the messages, as
     * the Steps table masks it (the name to write is that one, "GET /x?token=****") */
    struct threshold_set secret = {0};
    CHECK(add(&secret, "GET /x?token=tok_SECRET&page=2:p99<1s", err) == 0);
    CHECK(threshold_resolve(&secret, names, 4, NULL, err, sizeof(err)) == -1);
    CHECK(strstr(err, "no step named 'GET /x?token=****&page=2'") && !strstr(err, "SECRET"));
    CHECK(strstr(err, "'GET /x?token=****&page=2:p99<1s'"));
    char *masked_names[] = {"login", "GET /x?token=****&page=2"};  /* the step it meant */
    CHECK(threshold_resolve(&secret, masked_names, 2, NULL, err, sizeof(err)) == -1 && !strstr(err, "SECRET"));
    CHECK(strstr(err, "write the step name as the Steps table shows it") && strstr(err, "'GET /x?token=****&page=2'"));
    CHECK(threshold_resolve(&secret, NULL, 0, NULL, err, sizeof(err)) == -1 && !strstr(err, "SECRET"));
    struct threshold_set bad_secret = {0};
    CHECK(add(&bad_secret, "GET /x?api_key=k_SECRET:p99<1s,errors<1%", err) == -1);
    CHECK(strstr(err, "one condition per --threshold") && strstr(err, "api_key=****") && !strstr(err, "SECRET"));
    CHECK(add(&bad_secret, "GET /x?api_key=k_SECRET:p99<<1s", err) == -1 && !strstr(err, "SECRET"));
    CHECK(add(&bad_secret, "GET /x?api_key=k_SECRET:server_cpu<50%", err) == -1 && !strstr(err, "SECRET"));
    char longer[300];
    snprintf(longer, sizeof(longer), "GET /x?sig=SECRET%0250d:p99<1s", 0);
    CHECK(add(&bad_secret, longer, err) == -1 && strstr(err, "too long") && !strstr(err, "SECRET"));
    CHECK(bad_secret.n == 0);

    struct threshold_set totals = {0};
    CHECK(add(&totals, "p99<1s", err) == 0);
    CHECK(threshold_resolve(&totals, NULL, 0, NULL, err, sizeof(err)) == 0 && totals.t[0].step == -1);
}

static void parses_server_metrics(void)
{
    struct threshold_set set = {0};
    char err[256] = "";
    const char *exprs[] = {"server_cpu<80%", "server_cpu <= 250.5%", "server_rss_growth<100MB", "server_rss_growth<500KB",
                           "server_rss_growth<1.5GB", "server_rss_growth < 2gb", "server_rss_growth<1MiB",
                           "server_rss_growth>=0.5mb"};
    for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) CHECK(add(&set, exprs[i], err) == 0);
    CHECK_EQ_U(set.n, 8);
    CHECK(set.t[0].cond.metric == SLO_SERVER_CPU && set.t[0].cond.op == SLO_LT && near(set.t[0].cond.value, 80));
    CHECK(set.t[1].cond.metric == SLO_SERVER_CPU && set.t[1].cond.op == SLO_LE && near(set.t[1].cond.value, 250.5));
    CHECK(set.t[2].cond.metric == SLO_SERVER_RSS_GROWTH && near(set.t[2].cond.value, 100));
    CHECK(near(set.t[3].cond.value, 0.5) && near(set.t[4].cond.value, 1500) && near(set.t[5].cond.value, 2000));
    CHECK(near(set.t[6].cond.value, 1.048576) && set.t[7].cond.op == SLO_GE && near(set.t[7].cond.value, 0.5));
    CHECK(threshold_set_has_server(&set));
    struct threshold_set plain = {0};
    CHECK(add(&plain, "p99<1s", err) == 0 && !threshold_set_has_server(&plain));

    /* the values as the Thresholds block prints them */
    static const struct { enum slo_metric m; double v; const char *want; } fmt[] = {
        {SLO_SERVER_CPU, 45.24, "45.2%"},        {SLO_SERVER_CPU, 250, "250%"},
        {SLO_SERVER_CPU, 0, "0%"},               {SLO_SERVER_RSS_GROWTH, 12.34, "12.3MB"},
        {SLO_SERVER_RSS_GROWTH, 1234.5, "1.23GB"}, {SLO_SERVER_RSS_GROWTH, 0.3, "300KB"},
        {SLO_SERVER_RSS_GROWTH, -4.25, "-4.2MB"}, {SLO_SERVER_RSS_GROWTH, 0, "0MB"},
        {SLO_SERVER_RSS_GROWTH, NAN, "n/a"},
    };
    for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
        struct slo_cond c = {.metric = fmt[i].m};
        char buf[32];
        slo_format_value(&c, fmt[i].v, buf, sizeof(buf));
        if (strcmp(buf, fmt[i].want)) {
            printf("  %g: '%s', expected '%s'\n", fmt[i].v, buf, fmt[i].want);
            CHECK(0);
        }
    }
    /* --slo shares the grammar (cli.c refuses server metrics there) */
    struct slo slo;
    CHECK(slo_parse(&slo, "p99<1s,server_cpu<50%", "--slo", err, sizeof(err)) == 0 && slo.n == 2);
    CHECK(slo_metric_is_server(slo.cond[1].metric) && !slo_metric_is_server(slo.cond[0].metric));
}

static void refuses_bad_input(void)
{
    static const struct { const char *text, *want; } bad[] = {
        {"", "expected a condition"},
        {"   ", "expected a condition"},
        {"p99<abc", "'p99<abc': expected a duration"},
        {"p99", "expected an operator"},
        {"p99=100ms", "expected an operator"},
        {"latency<100ms", "unknown metric"},
        {"p0<1ms", "percentile"},
        {"p101<1ms", "percentile"},
        {"errors<200%", "error rate"},
        {"rps>fast", "rate"},
        {"p99<100ms,errors<1%", "one condition per --threshold"},
        {":p99<1ms", "empty step name"},
        {"list items:", "(in 'list items:')"},
        {"list items: ", "expected a condition such as 'p99<250ms' or 'errors<1%' after ':'"},  /* not --slo's list */
        {"list items:p95<1x", "(in 'list items:p95<1x')"},
        {"server_cpu<80", "'server_cpu<80': expected a CPU share such as 80%"},
        {"server_cpu<x%", "CPU share"},
        {"server_rss_growth<100", "expected a size such as 100MB"},
        {"server_rss_growth<100TB", "size"},
        {"server_rss_growth<MB", "size"},
        {"server_mem<1MB", "unknown metric"},
        {"home:server_cpu<80%", "'home:server_cpu<80%': server_cpu is on the watched server, not on a step"},
        {"home:server_rss_growth<1MB", "server_rss_growth is on the watched server"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct threshold_set set = {0};
        char err[256] = "";
        int rc = add(&set, bad[i].text, err);
        if (rc != -1 || set.n != 0 || !strstr(err, "--threshold") || !strstr(err, bad[i].want)) {
            printf("  '%s': rc %d, err '%s'\n", bad[i].text, rc, err);
            CHECK(0);
        }
    }
    struct threshold_set set = {0};
    char err[256], long_text[400];
    memset(long_text, 'a', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = 0;
    CHECK(add(&set, long_text, err) == -1 && strstr(err, "too long"));
    CHECK(add(&set, "bad\nline:p99<x", err) == -1 && !strchr(err, '\n'));
    for (int i = 0; i < THRESHOLD_MAX; i++) CHECK(add(&set, "p99<1s", err) == 0);
    CHECK(add(&set, "p99<1s", err) == -1 && strstr(err, "at most"));
}

/* totals: n responses at `us` µs, `failed` more failed (not timed); step 0 and 1 too */
static struct stats *make_stats(uint64_t n, uint64_t us, uint64_t failed)
{
    struct stats *s = stats_create(10000000, 2);
    for (uint64_t i = 0; i < n; i++) hist_record(s->latency, us);
    s->ok = n;
    s->failed = s->errors[ERR_TIMEOUT] = failed;
    s->issued = n + failed;
    /* step 0: fast and clean; step 1: slow, half failed */
    for (int i = 0; i < 100; i++) hist_record(s->steps[0].latency, 1000);
    s->steps[0].ok = 100;
    for (int i = 0; i < 10; i++) hist_record(s->steps[1].latency, 300000);
    s->steps[1].ok = 10;
    s->steps[1].failed = 10;
    return s;
}

static void evaluates(void)
{
    struct stats *s = make_stats(990, 20000, 10);  /* 20 ms, 1% errors, 1000 outcomes */
    CHECK(s != NULL);
    if (!s) return;
    struct threshold_set set = {0};
    char err[256];
    const char *exprs[] = {"p99<25ms", "p99<10ms", "errors<1%", "errors<=1%", "rps>400", "rps>600", "max<=20ms",
                           "fast:p95<2ms", "slow:p95<100ms", "slow:errors<60%", "slow:rps>=4"};
    for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) CHECK(add(&set, exprs[i], err) == 0);
    char *names[] = {"fast", "slow"};
    CHECK(threshold_resolve(&set, names, 2, NULL, err, sizeof(err)) == 0);
    struct threshold_result r[THRESHOLD_MAX];
    CHECK(!threshold_eval(&set, s, 2.0, NULL, 0, 0, r));  /* 990 answered over 2 s: 495 req/s */
    bool want[] = {true, false, false, true, true, false, true, true, false, true, true};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (r[i].passed != want[i]) {
            printf("  '%s': value %g passed %d\n", set.t[i].expr, r[i].value, r[i].passed);
            CHECK(0);
        }
    CHECK(r[0].value >= 19900 && r[0].value <= 20100);
    CHECK(near(r[2].value, 0.01));
    CHECK(near(r[4].value, 495));
    CHECK(r[8].value >= 290000 && r[8].value <= 310000);
    CHECK(near(r[9].value, 0.5));
    CHECK(near(r[10].value, 10));  /* 20 outcomes over 2 s */

    /* all passing */
    struct threshold_set ok = {0};
    CHECK(add(&ok, "p99<25ms", err) == 0 && add(&ok, "errors<2%", err) == 0);
    CHECK(threshold_eval(&ok, s, 2.0, NULL, 0, 0, r) && r[0].passed && r[1].passed);

    /* during the run: a subject with fewer than min_count outcomes is not judged yet */
    CHECK(threshold_eval(&set, s, 2.0, NULL, 0, 5000, r));
    for (unsigned i = 0; i < set.n; i++) CHECK(r[i].passed && isnan(r[i].value));
    CHECK(!threshold_eval(&set, s, 2.0, NULL, 0, 100, r));  /* totals (1000) and fast (100) judged, slow (20) not */
    CHECK(!r[1].passed && r[8].passed && isnan(r[8].value) && r[7].passed);
    stats_destroy(s);

    /* nothing measured fails: no responses, no rate */
    struct stats *empty = stats_create(10000000, 0);
    CHECK(!threshold_eval(&ok, empty, 1.0, NULL, 0, 0, r) && isnan(r[0].value) && !r[0].passed && !r[1].passed);
    stats_destroy(empty);
}

/* server_cpu / server_rss_growth judged on --watch-pid figures: the busiest process counts */
static void evaluates_server(void)
{
    struct stats *s = make_stats(1000, 20000, 0);
    CHECK(s != NULL);
    if (!s) return;
    struct threshold_set set = {0};
    char err[256];
    const char *exprs[] = {"server_cpu<80%", "server_cpu<40%", "server_rss_growth<100MB", "server_rss_growth<20MB",
                           "server_rss_growth<2GB", "p99<25ms"};
    for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) CHECK(add(&set, exprs[i], err) == 0);
    struct watch_result w[2] = {
        {.pid = 10, .cpu_mean_pct = 45.2, .cpu_max_pct = 90, .rss_growth_mb = 45.8},
        {.pid = 11, .cpu_mean_pct = 12, .cpu_max_pct = 99, .rss_growth_mb = -3},
    };
    struct threshold_result r[THRESHOLD_MAX];
    CHECK(!threshold_eval(&set, s, 2.0, w, 2, 0, r));
    bool want[] = {true, false, true, false, true, true};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (r[i].passed != want[i]) {
            printf("  '%s': value %g passed %d\n", set.t[i].expr, r[i].value, r[i].passed);
            CHECK(0);
        }
    CHECK(near(r[0].value, 45.2) && near(r[2].value, 45.8));  /* the mean, not the max; the larger growth */
    /* the second process the busier: its figures are judged */
    w[1].cpu_mean_pct = 85, w[1].rss_growth_mb = 150;
    CHECK(!threshold_eval(&set, s, 2.0, w, 2, 0, r));
    CHECK(!r[0].passed && near(r[0].value, 85) && !r[2].passed && near(r[2].value, 150) && r[4].passed);
    /* only the first of two counted when nwatch says 1 */
    CHECK(!threshold_eval(&set, s, 2.0, w, 1, 0, r) && r[0].passed && near(r[0].value, 45.2));
    /* a process with no CPU figure yet (exited before a sample) is skipped; none at all: n/a */
    w[0].cpu_mean_pct = NAN;
    threshold_eval(&set, s, 2.0, w, 2, 0, r);
    CHECK(near(r[0].value, 85));
    w[1].cpu_mean_pct = NAN;
    threshold_eval(&set, s, 2.0, w, 2, 0, r);
    CHECK(isnan(r[0].value) && !r[0].passed);
    /* during the run: an unmeasured server figure waits; a measured one is judged at once,
     * whatever the number of responses */
    threshold_eval(&set, s, 2.0, w, 2, 100000, r);
    CHECK(isnan(r[0].value) && r[0].passed && !r[3].passed && near(r[3].value, 150) && r[5].passed && isnan(r[5].value));
    /* without --watch-pid figures: n/a, failed at the end, waiting during the run */
    CHECK(!threshold_eval(&set, s, 2.0, NULL, 0, 0, r) && isnan(r[2].value) && !r[2].passed && r[5].passed);
    CHECK(threshold_eval(&set, s, 2.0, NULL, 0, 100, r) && isnan(r[2].value) && r[2].passed);
    stats_destroy(s);
}

static void grade_of(uint64_t n, uint64_t us, uint64_t failed, const char *slo_text, struct grade *g)
{
    struct stats *s = make_stats(n, us, failed);
    struct slo slo;
    char err[256];
    if (slo_text) CHECK(slo_parse(&slo, slo_text, "--slo", err, sizeof(err)) == 0);
    threshold_grade(slo_text ? &slo : NULL, s, g);
    stats_destroy(s);
}

static void grades(void)
{
    struct grade g;
    grade_of(1000, 20000, 0, NULL, &g);  /* defaults: p99<500ms, errors<1% */
    CHECK(g.letter == 'A' && !strcmp(g.reason, "p99 20ms is within 500ms and errors 0% within 1%"));
    grade_of(1000, 600000, 0, NULL, &g);
    CHECK(g.letter == 'B' && !strcmp(g.reason, "p99 600ms is over the 500ms of A"));
    grade_of(1000, 1500000, 0, NULL, &g);
    CHECK(g.letter == 'C' && strstr(g.reason, "over the 1s of B"));
    grade_of(1000, 3000000, 0, NULL, &g);
    CHECK(g.letter == 'D' && strstr(g.reason, "over the 2s of C"));
    grade_of(1000, 5000000, 0, NULL, &g);
    CHECK(g.letter == 'F' && strstr(g.reason, "over the 4s of D"));
    grade_of(970, 20000, 30, NULL, &g);  /* 3% errors */
    CHECK(g.letter == 'C' && !strcmp(g.reason, "errors 3% are over the 2% of B"));
    grade_of(800, 20000, 200, NULL, &g);  /* 20% errors */
    CHECK(g.letter == 'F' && strstr(g.reason, "errors 20% are over the 10% of D"));
    grade_of(985, 600000, 15, NULL, &g);  /* both B: both named */
    CHECK(g.letter == 'B' && strstr(g.reason, "p99 600ms") && strstr(g.reason, "; errors 1.5%"));
    /* against --slo: its first percentile and error bounds */
    grade_of(1000, 412000, 0, "p99<250ms,errors<5%", &g);
    CHECK(g.letter == 'B' && !strcmp(g.reason, "p99 412ms is over the 250ms of A"));
    grade_of(1000, 40000, 0, "rps>10,p90<50ms", &g);
    CHECK(g.letter == 'A' && strstr(g.reason, "p90 40ms is within 50ms") && strstr(g.reason, "within 1%"));
    grade_of(1000, 40000, 0, "errors<0.1%", &g);
    CHECK(g.letter == 'A' && strstr(g.reason, "within 500ms") && strstr(g.reason, "within 0.1%"));
    grade_of(0, 0, 10, NULL, &g);
    CHECK(g.letter == 'F' && strstr(g.reason, "every request failed"));
    struct stats *empty = stats_create(10000000, 0);
    threshold_grade(NULL, empty, &g);
    CHECK(g.letter == 'F' && !strcmp(g.reason, "no responses"));
    stats_destroy(empty);
}

int main(void)
{
    RUN(parses_totals);
    RUN(parses_step_names);
    RUN(parses_server_metrics);
    RUN(refuses_bad_input);
    RUN(evaluates);
    RUN(evaluates_server);
    RUN(grades);
    CHECK_EXIT();
}
