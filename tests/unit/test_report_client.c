/* What barrage used (struct client_use) as the console summary and the JSON show it: CPU
 * per request from the process's CPU over the requests finished, completions per wait,
 * the workers' busy shares, and the warning (console) / "saturated" (JSON) exactly when
 * the busiest worker reached CLIENT_SATURATED_PCT. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

#define CHECK_NEAR(a, b, eps) CHECK(fabs((a) - (b)) <= (eps))
#include "report.h"

static struct plan plan;

static struct stats *fixture(struct summary *s, double busiest_pct)
{
    static char url[] = "http://127.0.0.1:8080/";
    memset(&plan, 0, sizeof(plan));
    plan.url_text = url;
    plan.connections = 8;
    plan.pipeline = 1;
    for (int c = 100; c < 400; c++) plan.status_ok[c] = true;
    struct stats *t = stats_create(10000000, 0);
    for (uint64_t i = 1; i <= 2000; i++) hist_record(t->latency, 100 + i % 50);
    t->issued = 2008;
    t->ok = 2000;
    t->status[200] = 2000;
    t->conns_opened = 8;
    *s = (struct summary){.plan = &plan, .total = t, .duration_s = 2, .in_flight = 8, .max_open = 8, .threads = 2};
    s->client = (struct client_use){.cpu_s = 0.015, .worker_busy_mean_pct = (busiest_pct + 40) / 2,
                                    .worker_busy_max_pct = busiest_pct, .busiest_worker = 1,
                                    .waits = 400, .completions = 2200,
                                    .kernel_timed = 1100, .sends = 2100};
    return t;
}

static char *console(const struct summary *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    if (!f) return NULL;
    report_summary(f, s);
    fclose(f);
    return buf;
}

static char *json(const struct summary *s)
{
    char path[] = "/tmp/barrage-client-XXXXXX", err[256] = "";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(report_json(path, s, err, sizeof(err)) == 0);
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 1 << 16);
    if (f && buf) CHECK(fread(buf, 1, (1 << 16) - 1, f) > 0);
    if (f) fclose(f);
    unlink(path);
    return buf;
}

static void a_client_with_cpu_to_spare(void)
{
    struct summary s;
    struct stats *t = fixture(&s, 60);
    /* 0.015 s over 2008 - 8 finished requests: 7.5 us each; 2200 completions in 400 waits */
    CHECK_NEAR(summary_cpu_us_per_request(&s), 7.5, 1e-9);
    CHECK_NEAR(summary_completions_per_wait(&s), 5.5, 1e-9);
    char *out = console(&s);
    CHECK(out && strstr(out, "  Client       CPU 0.01s, 7.5us per request; workers busy 50% (busiest 60%); "
                             "5.5 completions per wait\n"));
    CHECK(out && !strstr(out, "Warning"));
    free(out);
    char *j = json(&s);
    CHECK(j && strstr(j, "\"client\":{\"cpu_s\":0.015,\"cpu_us_per_request\":7.5,\"worker_busy_mean_pct\":50,"
                         "\"worker_busy_max_pct\":60,\"saturated\":false,\"waits\":400,\"completions\":2200,"
                         "\"kernel_timed_receives\":1100,\"sends\":2100,\"completions_per_wait\":5.5}"));
    free(j);
    stats_destroy(t);
}

static void a_saturated_client_is_named(void)
{
    struct summary s;
    struct stats *t = fixture(&s, CLIENT_SATURATED_PCT);
    char *out = console(&s);
    CHECK(out && strstr(out, "  Warning      worker 1 was busy 90% of its run: barrage may have limited the load"));
    free(out);
    char *j = json(&s);
    CHECK(j && strstr(j, "\"saturated\":true"));
    free(j);
    stats_destroy(t);

    t = fixture(&s, CLIENT_SATURATED_PCT - 0.5);
    out = console(&s);
    CHECK(out && !strstr(out, "Warning"));
    free(out);
    stats_destroy(t);
}

static void nothing_finished_divides_by_nothing(void)
{
    struct summary s;
    struct stats *t = fixture(&s, 10);
    t->issued = 8;  /* all of them in flight at the stop */
    s.client.waits = 0;
    CHECK_NEAR(summary_cpu_us_per_request(&s), 0, 0);
    CHECK_NEAR(summary_completions_per_wait(&s), 0, 0);
    stats_destroy(t);
}

/* A threshold's value in the JSON is the figure measured, as latency_us shows it: not
 * rounded to 6 digits (1234567 us read 1.23457e+06). */
static void threshold_values_are_not_rounded(void)
{
    struct summary s;
    struct stats *t = fixture(&s, 10);
    char err[256];
    hist_record(t->latency, 1234567);
    CHECK(threshold_add(&plan.thresholds, "max<2s", err, sizeof(err)) == 0);
    char *j = json(&s);
    CHECK(j && strstr(j, "\"max\":1234567,"));
    CHECK(j && strstr(j, "\"thresholds\":[{\"expr\":\"max<2s\",\"value\":1234567,\"passed\":true}]"));
    free(j);
    stats_destroy(t);
}

int main(void)
{
    RUN(a_client_with_cpu_to_spare);
    RUN(a_saturated_client_is_named);
    RUN(nothing_finished_divides_by_nothing);
    RUN(threshold_values_are_not_rounded);
    CHECK_EXIT();
}
