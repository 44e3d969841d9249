/* --csv (report_csv.c): a synthetic scenario run of known figures written to a temporary
 * directory and compared byte for byte with tests/golden/csv_*.csv (the tests run from the
 * repository root); the quick mode's failure rows, which add up to the failed count;
 * quoting of names; a prefix that cannot be created.
 *
 * After a deliberate change of format: UPDATE_GOLDEN=1 build/unit/test_report_csv rewrites
 * the golden files from what it wrote; read the diff before committing it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "http_parse.h"
#include "report_csv.h"
#include "scenario.h"

static char tmpdir[64];

/* The file's bytes (NUL-terminated, malloc'd), or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(b, (cap *= 2) + 1);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    if (b) b[n] = 0;
    if (len) *len = n;
    return b;
}

/* Compares what was written with a golden file; says where they first differ. */
static bool same_as_golden(const char *written, const char *golden)
{
    size_t na, nb;
    char *a = slurp(written, &na), *b = slurp(golden, &nb);
    bool same = a && b && na == nb && !memcmp(a, b, na);
    if (a && getenv("UPDATE_GOLDEN")) {
        FILE *f = fopen(golden, "wb");
        if (f) fwrite(a, 1, na, f), fclose(f);
        printf("  rewrote %s\n", golden);
        same = true;
    } else if (!same) {
        if (!a || !b) {
            printf("  cannot read %s\n", a ? golden : written);
        } else {
            size_t i = 0, line = 1, at = 0;
            for (; i < na && i < nb && a[i] == b[i]; i++)
                if (a[i] == '\n') line++, at = i + 1;
            printf("  %s differs from %s at line %zu:\n    got:  %.*s\n    want: %.*s\n", written, golden, line,
                   (int)strcspn(a + at, "\r\n"), a + at, (int)strcspn(b + at, "\r\n"), b + at);
        }
    }
    free(a);
    free(b);
    return same;
}

static void path_of(char *buf, size_t len, const char *prefix, const char *suffix)
{
    snprintf(buf, len, "%s/%s%s", tmpdir, prefix, suffix);
}

/* Writes the CSV files of a run with totals t (no intervals) under name; returns the one
 * ending in suffix, malloc'd (NULL: not written). */
static char *csv_of_totals(const struct plan *p, struct stats *t, const char *name, const char *suffix)
{
    char prefix[96], err[512] = "", w[128];
    path_of(prefix, sizeof(prefix), name, "");
    struct csv_out *c = csv_open(prefix, p, err, sizeof(err));
    CHECK(c != NULL);
    if (c) {
        struct summary s = {.plan = p, .total = t, .duration_s = 0.5};
        CHECK(csv_finish(c, &s, err, sizeof(err)) == 0);
        csv_close(c);
    }
    path_of(w, sizeof(w), name, suffix);
    return slurp(w, NULL);
}

static void remove_files(const char *prefix)
{
    static const char *const suffix[] = {"_stats.csv", "_stats_history.csv", "_failures.csv"};
    char p[128];
    for (int i = 0; i < 3; i++) {
        path_of(p, sizeof(p), prefix, suffix[i]);
        unlink(p);
    }
}

static void record(struct hist *h, const uint64_t *us, size_t n)
{
    for (size_t i = 0; i < n; i++) hist_record(h, us[i]);
}

/* Three step names (one with a comma and quotes, one never run), failures with reasons, one
 * failure no step owns, two intervals. */
static const char SCENARIO[] = "target: http://h\n"
                               "users:\n"
                               "  - name: u\n"
                               "    on_start:\n"
                               "      - post: /login\n"
                               "        name: login\n"
                               "    tasks:\n"
                               "      - get: /items?page=1\n"
                               "        name: 'list, \"all\"'\n"
                               "      - delete: /x\n";

static void scenario_run_matches_golden(void)
{
    struct scenario scn;
    char err[512] = "";
    if (scenario_parse(&scn, SCENARIO, strlen(SCENARIO), "t.yaml", tmpdir, NULL, err, sizeof(err))) {
        printf("  scenario: %s\n", err);
        CHECK(0);
        return;
    }
    CHECK_EQ_U(scn.nstats, 3);
    struct plan p = {.method = "GET", .scenario = &scn, .scenario_file = "t.yaml", .connections = 3};
    snprintf(p.url.path, sizeof(p.url.path), "/");

    struct stats *iv1 = stats_create(10000000, 3), *iv2 = stats_create(10000000, 3), *t = stats_create(10000000, 3);
    CHECK(iv1 && iv2 && t);
    if (!iv1 || !iv2 || !t) goto out;

    /* interval 1: login 2 ok + 1 failed (401), list 2 ok */
    static const uint64_t login_us[] = {1500, 2500, 40000};
    static const uint64_t list1_us[] = {800, 1200};
    iv1->ok = 4, iv1->failed = 1, iv1->errors[ERR_STATUS] = 1;
    iv1->body_bytes = 4 * 100 + 20;
    iv1->active_users = 3;
    record(iv1->latency, login_us, 3);
    record(iv1->latency, list1_us, 2);
    iv1->steps[0].ok = 2, iv1->steps[0].failed = 1, iv1->steps[0].body_bytes = 2 * 100 + 20;
    record(iv1->steps[0].latency, login_us, 3);
    stats_reason(iv1->steps[0].reasons, STATS_STEP_REASONS, "status 401 (expected 200)", 1);
    iv1->steps[1].ok = 2, iv1->steps[1].body_bytes = 2 * 100;
    record(iv1->steps[1].latency, list1_us, 2);

    /* interval 2: list 1 ok + 2 failed (connection refused), and a TLS failure no step owns */
    static const uint64_t list2_us[] = {3000};
    iv2->ok = 1, iv2->failed = 3, iv2->errors[ERR_CONNECT] = 2, iv2->errors[ERR_TLS] = 1;
    iv2->connect_errno[ECONNREFUSED] = 2;
    stats_tls_reason(iv2, "handshake, \"bad\" record", 1);
    iv2->body_bytes = 100;
    iv2->active_users = 2;
    record(iv2->latency, list2_us, 1);
    iv2->steps[1].ok = 1, iv2->steps[1].failed = 2, iv2->steps[1].body_bytes = 100;
    record(iv2->steps[1].latency, list2_us, 1);
    stats_reason(iv2->steps[1].reasons, STATS_STEP_REASONS, "connect", 2);

    char prefix[96];
    path_of(prefix, sizeof(prefix), "s", "");
    struct csv_out *c = csv_open(prefix, &p, err, sizeof(err));
    CHECK(c != NULL);
    if (!c) {
        printf("  %s\n", err);
        goto out;
    }
    csv_begin(c, 1700000000.25);
    struct interval_rec r1 = {.t0 = 0, .t = 1, .users = 3}, r2 = {.t0 = 1, .t = 2, .users = 1};
    stats_add(t, iv1);
    csv_interval(c, &(struct interval_view){.rec = &r1, .iv = iv1, .total = t});
    stats_add(t, iv2);
    csv_interval(c, &(struct interval_view){.rec = &r2, .iv = iv2, .total = t});
    CHECK_EQ_U(t->failed, 4);
    struct summary s = {.plan = &p, .total = t, .duration_s = 2.0};
    CHECK(csv_finish(c, &s, err, sizeof(err)) == 0);
    csv_close(c);

    char w[128];
    path_of(w, sizeof(w), "s", "_stats.csv");
    CHECK(same_as_golden(w, "tests/golden/csv_stats.csv"));
    char *text = slurp(w, NULL);
    /* the name with a comma and quotes, quoted with its quotes doubled */
    CHECK(text && strstr(text, "\r\nGET,\"list, \"\"all\"\"\",5,2,"));
    free(text);
    path_of(w, sizeof(w), "s", "_stats_history.csv");
    CHECK(same_as_golden(w, "tests/golden/csv_stats_history.csv"));
    path_of(w, sizeof(w), "s", "_failures.csv");
    CHECK(same_as_golden(w, "tests/golden/csv_failures.csv"));
    text = slurp(w, NULL);
    CHECK(text && strstr(text, "\r\nGET,\"list, \"\"all\"\"\",connect: Connection refused,2\r\n"));
    CHECK(text && strstr(text, ",(no step),\"tls: handshake, \"\"bad\"\" record\",1\r\n"));
    free(text);
    remove_files("s");
out:
    stats_destroy(iv1);
    stats_destroy(iv2);
    stats_destroy(t);
    scenario_free(&scn);
}

/* The quick mode: one row of stats under the method and path; the failures under their
 * details, each detail taking at most what its class has left, so that they add up. */
static void quick_mode_failures_add_up(void)
{
    struct plan p = {.method = "GET"};
    snprintf(p.url.path, sizeof(p.url.path), "/a,b?q=\"x\"");
    for (int s = 100; s < 400; s++) p.status_ok[s] = true;
    struct stats *t = stats_create(1000000, 0);
    CHECK(t != NULL);
    if (!t) return;
    t->ok = 10;
    t->status[200] = 10;
    t->errors[ERR_CONNECT] = 5;
    t->connect_errno[ENETUNREACH] = 4;   /* errno order: this one first */
    t->connect_errno[ECONNREFUSED] = 3;  /* more than the class has left: 1 */
    t->errors[ERR_STATUS] = 2;
    t->status[500] = 1, t->status[503] = 1;
    t->errors[ERR_RESET] = 3;
    t->reset_cause[RESET_MID_RESPONSE] = 1;
    t->reset_cause[RESET_UNANSWERED] = 1;  /* and one with no cause kept */
    t->errors[ERR_TIMEOUT] = 1;
    t->errors[ERR_PARSE] = 4;            /* pipelined behind one malformed response: */
    t->parse_reason[HTTP_E_STATUS] = 1;  /* the one cause of them all */
    t->errors[ERR_TLS] = 1;
    t->failed = 5 + 2 + 3 + 1 + 4 + 1;
    char *text = csv_of_totals(&p, t, "q", "_failures.csv");
    static const char want[] = "Method,Name,Error,Occurrences\r\n"
                               "GET,\"/a,b?q=\"\"x\"\"\",connect: Network is unreachable,4\r\n"
                               "GET,\"/a,b?q=\"\"x\"\"\",connect: Connection refused,1\r\n"
                               "GET,\"/a,b?q=\"\"x\"\"\",timeout,1\r\n"
                               "GET,\"/a,b?q=\"\"x\"\"\",reset: connection closed mid-response,1\r\n"
                               "GET,\"/a,b?q=\"\"x\"\"\",reset: connection closed before the response,1\r\n"
                               "GET,\"/a,b?q=\"\"x\"\"\",reset,1\r\n"
                               "GET,\"/a,b?q=\"\"x\"\"\",response: malformed status line,4\r\n"
                               "GET,\"/a,b?q=\"\"x\"\"\",status 500,1\r\n"
                               "GET,\"/a,b?q=\"\"x\"\"\",status 503,1\r\n"
                               "GET,\"/a,b?q=\"\"x\"\"\",tls,1\r\n";
    CHECK(text && !strcmp(text, want));
    if (text && strcmp(text, want)) printf("  got:\n%s", text);
    free(text);
    char w[128];
    path_of(w, sizeof(w), "q", "_stats.csv");
    text = slurp(w, NULL);
    /* no latency recorded: the times are Locust's zeros, the percentiles N/A (as for a row
     * without requests: no request took 0 ms) */
    CHECK(text && strstr(text, "\r\nGET,\"/a,b?q=\"\"x\"\"\",26,16,0,0.0,0,0,0.0,52.0,32.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\r\n"
                                ",Aggregated,26,16,"));
    free(text);
    stats_destroy(t);
    remove_files("q");
}

/* The median is Locust's median_response_time: whole milliseconds, but never below the row's
 * min or above its max (Locust clamps it to them, a float then): sub-millisecond responses
 * rounded to 0, or 0.6 ms rounded up to 1, showed a median outside [min, max]. */
static void median_within_min_and_max(void)
{
    static const struct { uint64_t us[3]; const char *row; } cases[] = {
        {{600, 600, 650}, "GET,/m,3,0,0.65,0.6166666666666666,0.6,0.65,0.0,6.0,0.0,1,1,1,1,1,1,1,1,1,1,1\r\n"},
        {{35, 65, 120}, "GET,/m,3,0,0.035,0.07333333333333333,0.035,0.12,0.0,6.0,0.0,0,0,0,0,0,0,0,0,0,0,0\r\n"},
        {{1400, 2600, 3000}, "GET,/m,3,0,3,2.3333333333333335,1.4,3.0,0.0,6.0,0.0,3,3,3,3,3,3,3,3,3,3,3\r\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct plan p = {.method = "GET"};
        snprintf(p.url.path, sizeof(p.url.path), "/m");
        struct stats *t = stats_create(1000000, 0);
        CHECK(t != NULL);
        if (!t) return;
        t->ok = 3;
        t->status[200] = 3;
        record(t->latency, cases[i].us, 3);
        char *text = csv_of_totals(&p, t, "m", "_stats.csv");
        CHECK(text && strstr(text, cases[i].row));
        if (text && !strstr(text, cases[i].row)) printf("  got:\n%s  want:\n%s", text, cases[i].row);
        free(text);
        stats_destroy(t);
        remove_files("m");
    }
}

/* Before the run: a prefix in a directory that does not exist fails with the file and why. */
static void cannot_create(void)
{
    struct plan p = {.method = "GET"};
    char err[512] = "";
    CHECK(csv_open("/nonexistent-dir/x", &p, err, sizeof(err)) == NULL);
    CHECK(!strcmp(err, "--csv: cannot create /nonexistent-dir/x_stats.csv: No such file or directory"));
    csv_close(NULL);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_report_csv.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("FAIL mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    RUN(scenario_run_matches_golden);
    RUN(quick_mode_failures_add_up);
    RUN(median_within_min_and_max);
    RUN(cannot_create);
    rmdir(tmpdir);
    CHECK_EXIT();
}
