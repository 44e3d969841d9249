/* The --html report from a made-up summary: every string from outside (URL, step names,
 * failure reasons, threshold expressions, process names) arrives escaped, the chart data
 * holds no "<" that could end its <script>, the sections a summary calls for are there
 * (steps, open loop, TLS, the watched server and its leak warning, the load generator's
 * CPU and its saturation warning), and a path that cannot
 * be written fails with one line, before the run (output_path_check) and after it.
 * HTML_OUT=FILE also writes the page there, to look at (tests/integration/68_html.sh
 * loads it in a browser). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "outputs.h"
#include "report_html.h"
#include "scenario.h"

#define EVIL "</script><img src=x onerror=alert(1)>'\"&"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) buf[0] = 0;
    if (buf) buf[n] = 0;
    fclose(f);
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

/* The fixture: an open-loop https scenario run with two steps, failures, a threshold, two
 * watched processes (one leaking), and hostile text wherever text comes from outside. */
static struct plan plan;
static struct scenario scn;
static struct watch_result watch[2];
static struct interval_rec rec[20];

static struct stats *fixture(struct summary *s)
{
    static char url[] = "https://example.test/" EVIL;
    static char *names[] = {"login " EVIL, "list items"};
    char err[256];
    memset(&plan, 0, sizeof(plan));
    plan.url_text = url;
    plan.url.tls = true;
    plan.connections = 16;
    plan.open_loop = true;
    plan.shaped = true;
    shape_constant(&plan.shape, 200, 10);
    for (int c = 100; c < 400; c++) plan.status_ok[c] = true;
    scn.stat_names = names;
    scn.nstats = 2;
    plan.scenario = &scn;
    plan.scenario_file = "shop.yaml";
    plan.leak_mb_per_min = 10;
    plan.nwatch = 2;
    CHECK(threshold_add(&plan.thresholds, "p99<1ms", err, sizeof(err)) == 0);
    CHECK(threshold_add(&plan.thresholds, "errors<50%", err, sizeof(err)) == 0);
    snprintf(plan.thresholds.t[1].expr, sizeof(plan.thresholds.t[1].expr), "errors<50%% " EVIL);

    struct stats *t = stats_create(60000000, 2);
    for (uint64_t i = 1; i <= 5000; i++) {
        uint64_t us = 800 + (i * 37) % 4000 + (i % 1000 == 0 ? 90000 : 0);
        hist_record(t->latency, us);
        hist_record(t->ttfb, us - 100);
        hist_record(t->service, us - 300);
        hist_record(t->pool_wait, 50);
        hist_record(t->schedule_lag, 10);
        hist_record(t->steps[i % 2].latency, us);
        t->steps[i % 2].ok++;
    }
    hist_record(t->connect, 150);
    hist_record(t->handshake_full, 900);
    t->issued = 5100;
    t->ok = 4990;
    t->status[200] = 4990;
    t->status[503] = 10;
    t->errors[ERR_STATUS] = 10;
    t->errors[ERR_CONNECT] = 40;
    t->connect_errno[111] = 40;
    t->errors[ERR_CHECK] = 50;
    t->failed = 100;
    t->steps[0].failed = 50;
    stats_reason(t->steps[0].reasons, STATS_STEP_REASONS, "body_contains " EVIL, 50);
    t->conns_opened = 56;
    t->handshakes_full = 16;
    t->bytes_sent = 1 << 20;
    t->bytes_received = 5 << 20;

    for (int i = 0; i < 20; i++) {
        rec[i] = (struct interval_rec){.t0 = i * 0.5, .t = (i + 1) * 0.5, .target = 200, .rps = 190 + i % 3 * 5,
                                       .p50_us = 2000, .p90_us = 3500, .p99_us = 4500, .max_us = 9000 + 100 * i,
                                       .ok = 95, .errors = i == 7 ? 60 : 2, .users = 16};
        for (int w = 0; w < 2; w++)
            rec[i].server[w] = (struct server_sample){.alive = !(w == 1 && i > 15), .cpu_pct = 40 + 5 * w + i,
                                                      .rss_mb = 100 + w * 50 + (w ? 0 : 3.0 * i)};
    }
    watch[0] = (struct watch_result){.pid = 4242, .rss_start_mb = 100, .rss_end_mb = 157, .rss_peak_mb = 157,
                                     .rss_growth_mb = 57, .rss_slope_mb_per_min = 360, .leak_suspected = true,
                                     .cpu_mean_pct = 50, .cpu_max_pct = 59};
    snprintf(watch[0].comm, sizeof(watch[0].comm), "srv<b>&'\"");
    watch[1] = (struct watch_result){.pid = 4243, .exited = true, .rss_start_mb = 150, .rss_end_mb = 150,
                                     .rss_peak_mb = 150, .cpu_mean_pct = 55, .cpu_max_pct = 61};
    snprintf(watch[1].comm, sizeof(watch[1].comm), "worker");

    *s = (struct summary){.plan = &plan, .total = t, .duration_s = 10, .in_flight = 10, .intervals = rec,
                          .nintervals = 20, .max_open = 16, .threads = 2, .start_epoch = 1.7e9, .watch = watch,
                          .client = {.cpu_s = 0.509, .worker_busy_mean_pct = 80, .worker_busy_max_pct = 95,
                                     .busiest_worker = 1, .waits = 100, .completions = 5000}};
    return t;
}

static void writes_an_escaped_page(void)
{
    struct summary s;
    struct stats *t = fixture(&s);
    char path[] = "/tmp/barrage-html-XXXXXX", err[512] = "";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(report_html(path, &s, err, sizeof(err)) == 0);
    const char *keep = getenv("HTML_OUT");
    if (keep) CHECK(report_html(keep, &s, err, sizeof(err)) == 0);
    char *page = slurp(path);
    CHECK(page != NULL);
    if (page) {
        /* four scripts of our own (onerror, data, dygraphs, charts): none came in with the text */
        CHECK_EQ_U(count(page, "<script"), 4);
        CHECK_EQ_U(count(page, "</script>"), 4);
        CHECK(!strstr(page, "<img"));
        CHECK(strstr(page, "https://example.test/&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&#39;&quot;&amp;"));
        CHECK(strstr(page, "login &lt;/script&gt;"));
        CHECK(strstr(page, "body_contains &lt;/script&gt;"));
        CHECK(strstr(page, "errors&lt;50% &lt;/script&gt;"));
        CHECK(strstr(page, "srv&lt;b&gt;&amp;&#39;&quot;"));
        /* the chart data: JSON whose strings cannot close the script */
        const char *data = strstr(page, "id=\"barrage-data\">");
        CHECK(data != NULL);
        if (data) {
            const char *end = strstr(data, "</script>");
            CHECK(end && !memchr(data + 18, '<', (size_t)(end - data - 18)));
            CHECK(strstr(data, "\"comm\":\"srv\\u003cb\\u003e\\u0026'\\\"\""));
            CHECK(strstr(data, "\"open_loop\":true"));
            CHECK(strstr(data, "\"rss\":[100,103,"));
            CHECK(strstr(data, "null]}"));  /* the exited process's last samples */
            CHECK(strstr(data, ",\"dist\":[[1,"));
        }
        /* what the summary calls for */
        CHECK(strstr(page, "class=\"band fail\""));  /* p99<1ms failed */
        CHECK(strstr(page, ">FAILED<"));
        CHECK(strstr(page, "5100 issued = 4990 ok + 100 failed + 10 in flight at stop"));
        CHECK(strstr(page, "Service time") && strstr(page, "Pool wait") && strstr(page, "TLS handshake, full"));
        CHECK(strstr(page, "Scenario steps") && strstr(page, "list items"));
        CHECK(strstr(page, "Connection refused"));
        CHECK(strstr(page, "Possible memory leak"));
        /* 0.509 s over 5100 - 10 finished: 100 us each */
        CHECK(strstr(page, "<dt>CPU per request</dt><dd>100.0 &micro;s</dd>"));
        CHECK(strstr(page, "<dt>completions per io_uring wait</dt><dd>50.0</dd>"));
        CHECK(strstr(page, "The load generator was saturated:</b> worker 1 was busy 95%"));
        CHECK(strstr(page, "exited"));
        CHECK(strstr(page, "id=\"c-rss\""));
        CHECK(!strstr(page, "sourceMappingURL"));
        free(page);
    }
    unlink(path);
    stats_destroy(t);
    shape_free(&plan.shape);
}

static void bad_path_fails_in_one_line(void)
{
    struct summary s;
    struct stats *t = fixture(&s);
    char err[512] = "";
    CHECK(output_path_check("--html", "/nonexistent/dir/x.html", err, sizeof(err)) == -1);
    CHECK(!strcmp(err, "--html: cannot create /nonexistent/dir/x.html: No such file or directory"));
    err[0] = 0;
    CHECK(report_html("/nonexistent/dir/x.html", &s, err, sizeof(err)) == -1);
    CHECK(!strcmp(err, "--html: cannot create /nonexistent/dir/x.html: No such file or directory"));
    CHECK(output_path_check("--html", "/nonexistent/a\nb.html", err, sizeof(err)) == -1);
    CHECK(!strchr(err, '\n'));
    stats_destroy(t);
    shape_free(&plan.shape);
}

static void check_leaves_files_as_they_were(void)
{
    char path[] = "/tmp/barrage-html-XXXXXX", err[256] = "";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "old", 3) == 3);
    close(fd);
    CHECK(output_path_check("--html", path, err, sizeof(err)) == 0);
    char *old = slurp(path);
    CHECK(old && !strcmp(old, "old"));  /* an existing file is not truncated before the run */
    free(old);
    unlink(path);
    CHECK(output_path_check("--html", path, err, sizeof(err)) == 0);
    CHECK(access(path, F_OK) == -1);  /* nor is a new one left behind */
}

int main(void)
{
    RUN(writes_an_escaped_page);
    RUN(bad_path_fails_in_one_line);
    RUN(check_leaves_files_as_they_were);
    CHECK_EXIT();
}
