/* The console's figures: the live row (off a terminal) and the dashboard line (on one)
 * of an interval, and the units of the summary. An interval in which no response was
 * timed has no latency to show: '-', as the steps table and the CSV (N/A) say, not 0us.
 * A value that rounds up to the next unit is shown in that unit (1.00s, not 1000.00ms). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "report.h"

static struct plan plan;

static void fixture(void)
{
    static char url[] = "http://127.0.0.1:8080/";
    memset(&plan, 0, sizeof(plan));
    plan.url_text = url;
    plan.connections = 2;
    plan.pipeline = 1;
    plan.interval_ns = 1000000000;
    plan.duration_ns = 4000000000ull;
    for (int c = 100; c < 400; c++) plan.status_ok[c] = true;
}

static char *live(const struct interval_rec *r, bool tty)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    if (!f) return NULL;
    report_live(f, &plan, r, 1, tty);  /* row 1: no header */
    fclose(f);
    return buf;
}

static void an_interval_without_responses_has_no_latency(void)
{
    fixture();
    /* the server stalled: two requests in flight all interval long, nothing answered */
    struct interval_rec r = {.t0 = 1, .t = 2, .target = 2, .users = 2};
    char *row = live(&r, false);
    CHECK(row && !strstr(row, "0us"));
    CHECK(row && !strcmp(row, "    2.0s          0         -         -         -         -        0       2\n"));
    free(row);
    char *dash = live(&r, true);
    CHECK(dash && strstr(dash, "p99 -  errors 0.0%  conns 2"));
    CHECK(dash && !strstr(dash, "0us"));
    free(dash);
    /* timeouts are errors with no latency either */
    r.errors = 2;
    row = live(&r, false);
    CHECK(row && !strcmp(row, "    2.0s          0         -         -         -         -        2       2\n"));
    free(row);
}

static void an_interval_with_responses_shows_them(void)
{
    fixture();
    struct interval_rec r = {.t0 = 1, .t = 2, .target = 2, .rps = 2, .p50_us = 1500000, .p90_us = 1500000,
                             .p99_us = 1500000, .max_us = 1500000, .timed = 2, .ok = 2, .users = 2};
    char *row = live(&r, false);
    CHECK(row && !strcmp(row, "    2.0s          2     1.50s     1.50s     1.50s     1.50s        0       2\n"));
    free(row);
    char *dash = live(&r, true);
    CHECK(dash && strstr(dash, "p99 1.50s  errors 0.0%"));
    free(dash);
}

static void units_switch_where_the_value_rounds_up(void)
{
    char b[32];
    format_us(b, sizeof(b), 999);
    CHECK(!strcmp(b, "999us"));
    format_us(b, sizeof(b), 1000);
    CHECK(!strcmp(b, "1.00ms"));
    format_us(b, sizeof(b), 999994);
    CHECK(!strcmp(b, "999.99ms"));
    format_us(b, sizeof(b), 999995);
    CHECK(!strcmp(b, "1.00s"));
    format_us(b, sizeof(b), 999999);
    CHECK(!strcmp(b, "1.00s"));
}

static void throughput_bytes_switch_where_the_value_rounds_up(void)
{
    fixture();
    struct stats *t = stats_create(10000000, 0);
    CHECK(t != NULL);
    if (!t) return;
    t->issued = t->ok = t->status[200] = 10;
    hist_record(t->latency, 100);
    t->bytes_received = 1048575;  /* 1023.999 KiB */
    t->bytes_sent = 1023;
    struct summary s = {.plan = &plan, .total = t, .duration_s = 1, .threads = 1};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    if (f) {
        report_summary(f, &s);
        fclose(f);
    }
    CHECK(buf && strstr(buf, "  Throughput   10.0 req/s   1.00MiB/s received   1023B/s sent\n"));
    free(buf);
    stats_destroy(t);
}

int main(void)
{
    RUN(an_interval_without_responses_has_no_latency);
    RUN(an_interval_with_responses_shows_them);
    RUN(units_switch_where_the_value_rounds_up);
    RUN(throughput_bytes_switch_where_the_value_rounds_up);
    CHECK_EXIT();
}
