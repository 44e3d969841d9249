/* Load shapes: parsing (stages, presets, files, Locust), values, the integral against
 * numeric integration, and the integral's inverse used to schedule open-loop arrivals. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "shape.h"

static int near(double a, double b, double tol)
{
    return fabs(a - b) <= tol * (1 + fabs(b));
}

#define CHECK_NEAR(a, b)                                                               \
    do {                                                                               \
        double x_ = (a), y_ = (b);                                                     \
        if (!near(x_, y_, 1e-9)) {                                                     \
            if (!check_case_failed)                                                    \
                printf("  %s:%d: %s == %.17g, expected %.17g\n", __FILE__, __LINE__, #a, x_, y_); \
            check_case_failed = 1;                                                     \
        }                                                                              \
    } while (0)

/* err must contain want; prints err otherwise. */
#define CHECK_ERR(err, want)                                                           \
    do {                                                                               \
        if (!strstr((err), (want))) {                                                  \
            if (!check_case_failed)                                                    \
                printf("  %s:%d: error '%s' does not mention '%s'\n", __FILE__, __LINE__, (err), (want)); \
            check_case_failed = 1;                                                     \
        }                                                                              \
    } while (0)

static int is_empty(const struct shape *s)
{
    return !s->stages && !s->nstages && !s->area_at && !s->start_at && s->start == 0 && s->total_s == 0;
}

static uint64_t rng_state = 88172645463325252ull;
static double rnd(void)  /* [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void stages_parse(void)
{
    struct shape s;
    char err[256] = "";
    CHECK(shape_parse_stages(&s, "30s:100,1m:100,30s:0", err, sizeof(err)) == 0);
    CHECK_EQ_U(s.nstages, 3);
    CHECK(s.start == 0);
    CHECK(s.stages[0].duration_s == 30 && s.stages[0].target == 100);
    CHECK(s.stages[1].duration_s == 60 && s.stages[1].target == 100);
    CHECK(s.stages[2].duration_s == 30 && s.stages[2].target == 0);
    CHECK(s.total_s == 120);
    CHECK(s.start_at[3] == 120 && s.area_at[3] == 1500 + 6000 + 1500);
    shape_free(&s);

    /* spaces, compound and bare-second durations, fractional targets, jumps */
    CHECK(shape_parse_stages(&s, " 1m30s : 0.5 , 500ms:2,0:7, 2 1e3,1h:1e9,250us:0", err, sizeof(err)) == 0);
    CHECK_EQ_U(s.nstages, 6);
    CHECK(s.stages[0].duration_s == 90 && s.stages[0].target == 0.5);
    CHECK(s.stages[1].duration_s == 0.5 && s.stages[1].target == 2);
    CHECK(s.stages[2].duration_s == 0 && s.stages[2].target == 7);
    CHECK(s.stages[3].duration_s == 2 && s.stages[3].target == 1000);
    CHECK(s.stages[4].duration_s == 3600 && s.stages[4].target == 1e9);
    CHECK_NEAR(s.stages[5].duration_s, 250e-6);
    shape_free(&s);
    shape_free(&s);   /* idempotent */
    shape_free(NULL);
}

static void stages_parse_errors(void)
{
    static const struct { const char *in, *want; } bad[] = {
        {"", "--stages: empty"},
        {"   ", "--stages: empty"},
        {"30s:", "missing target after '30s'"},
        {"30s:100,", "stage 2: empty stage"},
        {"30s:100,,1m:0", "stage 2: empty stage"},
        {",30s:1", "stage 1: empty stage"},
        {"30s:-5", "bad target '-5'"},
        {"30s:abc", "bad target 'abc'"},
        {"30s:5x", "bad target '5x'"},
        {"30s:1e10", "bad target '1e10'"},
        {"30s:inf", "bad target 'inf'"},
        {"30s:nan", "bad target 'nan'"},
        {"30s:0x10", "bad target '0x10'"},
        {"30s:1 2", "bad target '1 2'"},
        {"30x:5", "bad duration '30x'"},
        {"-1s:5", "bad duration '-1s'"},
        {"1m30:5", "bad duration '1m30'"},
        {"s:5", "bad duration 's'"},
        {"2e9s:5", "bad duration '2e9s'"},
        {"30s", "'30s' is not DURATION:TARGET"},
        {":100", "missing duration"},
        {"10s:1,20s:2,oops", "stage 3: 'oops'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct shape s;
        char err[256] = "";
        CHECK(shape_parse_stages(&s, bad[i].in, err, sizeof(err)) == -1);
        CHECK(is_empty(&s));
        CHECK_ERR(err, "--stages: ");
        CHECK_ERR(err, bad[i].want);
        CHECK(!strchr(err, '\n'));
    }
}

static void values_and_jumps(void)
{
    struct shape s;
    char err[256];
    CHECK(shape_parse_stages(&s, "10s:10,0:50,10s:50,10s:0", err, sizeof(err)) == 0);
    CHECK(shape_value(&s, -1) == 0);
    CHECK(shape_value(&s, 0) == 0);
    CHECK_NEAR(shape_value(&s, 5), 5);
    CHECK_NEAR(shape_value(&s, 9.999), 9.999);
    CHECK(shape_value(&s, 10) == 50);   /* a jump takes effect at its instant */
    CHECK(shape_value(&s, 15) == 50);
    CHECK_NEAR(shape_value(&s, 25), 25);
    CHECK(shape_value(&s, 30) == 0);
    CHECK(shape_value(&s, 1e6) == 0);
    CHECK(shape_max(&s) == 50);
    shape_free(&s);

    shape_constant(&s, 5, 10);
    CHECK(shape_value(&s, 0) == 5 && shape_value(&s, 9) == 5 && shape_value(&s, 100) == 5);
    CHECK(s.total_s == 10);
    CHECK_NEAR(shape_area(&s, 20), 100);   /* the value continues after the end */
    unsigned c = 0;
    CHECK_NEAR(shape_time_at_area(&s, 75, &c), 15);
    shape_free(&s);
}

static void presets(void)
{
    struct shape s;
    char err[256] = "";
    CHECK(shape_parse_preset(&s, "constant,value=50", 60, err, sizeof(err)) == 0);
    CHECK(shape_value(&s, 0) == 50 && shape_value(&s, 59) == 50 && s.total_s == 60);
    shape_free(&s);

    CHECK(shape_parse_preset(&s, "ramp,to=100,over=10s", 30, err, sizeof(err)) == 0);
    CHECK(shape_value(&s, 0) == 0);
    CHECK_NEAR(shape_value(&s, 5), 50);
    CHECK(shape_value(&s, 10) == 100 && shape_value(&s, 25) == 100);
    CHECK(s.total_s == 30);
    shape_free(&s);
    CHECK(shape_parse_preset(&s, "ramp,to=100,over=10s", 5, err, sizeof(err)) == 0);   /* cut */
    CHECK(s.total_s == 5);
    CHECK_NEAR(shape_value(&s, 5), 50);
    CHECK_NEAR(shape_value(&s, 100), 50);
    shape_free(&s);
    CHECK(shape_parse_preset(&s, " ramp , over = 1m , to = 6 ", 0, err, sizeof(err)) == 0);   /* no -d */
    CHECK(s.total_s == 60 && shape_value(&s, 30) == 3 && shape_value(&s, 600) == 6);
    shape_free(&s);

    CHECK(shape_parse_preset(&s, "step,by=10,every=5s,to=35", 60, err, sizeof(err)) == 0);
    CHECK(shape_value(&s, 0) == 10 && shape_value(&s, 4.99) == 10);
    CHECK(shape_value(&s, 5) == 20 && shape_value(&s, 9.99) == 20);
    CHECK(shape_value(&s, 10) == 30 && shape_value(&s, 15) == 35 && shape_value(&s, 59) == 35);
    CHECK(s.total_s == 60);
    shape_free(&s);
    CHECK(shape_parse_preset(&s, "step,by=10,every=5s,to=40", 0, err, sizeof(err)) == 0);
    CHECK(s.total_s == 20 && shape_value(&s, 19) == 40);
    shape_free(&s);
    CHECK(shape_parse_preset(&s, "step,by=1,every=1s,to=1e9", 10, err, sizeof(err)) == 0);   /* cut early */
    CHECK(s.total_s == 10 && shape_value(&s, 9.5) == 10 && shape_max(&s) == 10);
    shape_free(&s);

    CHECK(shape_parse_preset(&s, "spike,base=10,peak=100,at=20s,for=5s", 60, err, sizeof(err)) == 0);
    CHECK(shape_value(&s, 0) == 10 && shape_value(&s, 19.9) == 10);
    CHECK(shape_value(&s, 20) == 100 && shape_value(&s, 24.9) == 100);
    CHECK(shape_value(&s, 25) == 10 && shape_value(&s, 59) == 10 && s.total_s == 60);
    CHECK_NEAR(shape_area(&s, 60), 10 * 55 + 100 * 5);
    shape_free(&s);

    CHECK(shape_parse_preset(&s, "soak,to=100,ramp=10s", 60, err, sizeof(err)) == 0);
    CHECK_NEAR(shape_value(&s, 5), 50);
    CHECK(shape_value(&s, 10) == 100 && shape_value(&s, 50) == 100);
    CHECK_NEAR(shape_value(&s, 55), 50);
    CHECK(shape_value(&s, 60) == 0 && s.total_s == 60);
    unsigned c = 0;
    CHECK(isinf(shape_time_at_area(&s, 5001, &c)));
    shape_free(&s);
}

static void preset_errors(void)
{
    static const struct { const char *in; double d; const char *want; } bad[] = {
        {"wave,to=1", 10, "unknown preset 'wave'"},
        {"", 10, "unknown preset ''"},
        {"ramp,to=100", 10, "missing over="},
        {"ramp,over=10s", 10, "missing to="},
        {"ramp,to=100,over=10s,by=3", 10, "unknown key 'by'"},
        {"ramp,to=1,to=2,over=1s", 10, "to= given twice"},
        {"ramp,to=1,,over=1s", 10, "empty item"},
        {"ramp,to=1,over", 10, "'over' is not key=value"},
        {"ramp,to=-1,over=1s", 10, "bad to='-1'"},
        {"ramp,to=abc,over=1s", 10, "bad to='abc'"},
        {"ramp,to=5,over=10x", 10, "bad over='10x'"},
        {"ramp,to=5,over=", 10, "bad over=''"},
        {"constant,value=5", 0, "needs -d"},
        {"soak,to=5,ramp=10s", 0, "needs -d"},
        {"soak,to=5,ramp=10s", 15, "shorter than twice ramp="},
        {"step,by=10,every=1s,to=5", 10, "to= (5) is below by= (10)"},
        {"step,by=0,every=1s,to=5", 10, "by= must be above 0"},
        {"step,by=1,every=0s,to=5", 10, "every= must be above 0"},
        {"step,by=0.00001,every=1s,to=1e9", 0, "more than"},
        {"spike,base=1,peak=2,at=1s,for=0", 10, "for= must be above 0"},
        {"spike,base=1,peak=2,at=1s", 10, "missing for="},
        {"ramp,to=1,over=1s", 2e9, "-d 2e+09 s"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct shape s;
        char err[256] = "";
        CHECK(shape_parse_preset(&s, bad[i].in, bad[i].d, err, sizeof(err)) == -1);
        CHECK(is_empty(&s));
        CHECK_ERR(err, "--shape");
        CHECK_ERR(err, bad[i].want);
    }
}

static void locust(void)
{
    struct shape s;
    char err[256] = "";
    /* Locust's first user starts at once, the 51st at 5 s: 10/s */
    CHECK(shape_locust(&s, 100, 10, 60, err, sizeof(err)) == 0);
    CHECK(shape_value(&s, 0) == 1);
    CHECK_NEAR(shape_value(&s, 5), 51);
    CHECK(shape_value(&s, 9.9) == 100 && shape_value(&s, 59) == 100 && s.total_s == 60);
    shape_free(&s);
    CHECK(shape_locust(&s, 100, 10, 5, err, sizeof(err)) == 0);
    CHECK(s.total_s == 5);
    CHECK_NEAR(shape_value(&s, 5), 51);
    shape_free(&s);
    CHECK(shape_locust(&s, 100, 0, 5, err, sizeof(err)) == -1);
    CHECK_ERR(err, "--spawn-rate");
    CHECK(shape_locust(&s, -1, 1, 5, err, sizeof(err)) == -1);
    CHECK_ERR(err, "--users");
    CHECK(shape_locust(&s, 10, 1, NAN, err, sizeof(err)) == -1);
    CHECK_ERR(err, "--run-time");
    CHECK(is_empty(&s));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void shape_files(void)
{
    char path[] = "/tmp/barrage_shape_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    struct shape s;
    char err[512] = "", want[600];

    write_file(path, "# warm up\n\n30s 100\n  1m:100   # hold\r\n\t30s\t0\n# done");
    CHECK(shape_load_file(&s, path, err, sizeof(err)) == 0);
    CHECK_EQ_U(s.nstages, 3);
    CHECK(s.total_s == 120 && shape_value(&s, 60) == 100 && s.stages[2].target == 0);
    shape_free(&s);

    write_file(path, "# a comment\n30s 100\n\n1m abc\n");
    CHECK(shape_load_file(&s, path, err, sizeof(err)) == -1);
    snprintf(want, sizeof(want), "%s:4: bad target 'abc'", path);
    CHECK_ERR(err, want);
    CHECK(is_empty(&s));

    write_file(path, "30s 1\n2x 5\n");
    CHECK(shape_load_file(&s, path, err, sizeof(err)) == -1);
    snprintf(want, sizeof(want), "%s:2: bad duration '2x'", path);
    CHECK_ERR(err, want);

    write_file(path, "# nothing\n\n");
    CHECK(shape_load_file(&s, path, err, sizeof(err)) == -1);
    snprintf(want, sizeof(want), "%s: no stages", path);
    CHECK_ERR(err, want);

    unlink(path);
    CHECK(shape_load_file(&s, path, err, sizeof(err)) == -1);
    snprintf(want, sizeof(want), "%s: cannot open", path);
    CHECK_ERR(err, want);
}

/* A shape with every kind of stage: from 5, ramp up, hold, jump, ramp down to 0, zero,
 * ramp from 0, near-flat, jump to 0, ramp from 0 to the end. */
static const struct shape_stage mixed[] = {
    {10, 20}, {5, 20}, {0, 40}, {8, 0}, {6, 0}, {4, 12}, {7, 12.000001}, {0, 0}, {3, 0}, {9, 3},
};
#define NMIXED (sizeof(mixed) / sizeof(mixed[0]))

static void area_matches_integration(void)
{
    struct shape s;
    CHECK(shape_from_stages(&s, 5, mixed, NMIXED) == 0);
    /* trapezoids of shape_value, h = 1e-4 s; the jumps fall on grid points */
    const double h = 1e-4, end = s.total_s + 5;
    double sum = 0, prev = shape_value(&s, 0), worst = 0;
    long steps = (long)(end / h + 0.5);
    for (long k = 1; k <= steps; k++) {
        double t = (double)k * h, v = shape_value(&s, t);
        sum += h * (prev + v) / 2;
        prev = v;
        if (k % 1000 == 0) {
            double d = fabs(shape_area(&s, t) - sum);
            if (d > worst) worst = d;
        }
    }
    /* each jump costs at most h * jump / 2 */
    CHECK(worst < 1e-2);
    CHECK(fabs(shape_area(&s, end) - sum) < 1e-2);
    CHECK_NEAR(shape_area(&s, s.total_s), s.area_at[NMIXED]);
    CHECK_NEAR(shape_area(&s, 10), 5 * 10 + 15 * 10 / 2.0);
    CHECK(shape_area(&s, 0) == 0 && shape_area(&s, -3) == 0);
    /* monotonic, sampled densely */
    double last = 0;
    for (double t = 0; t < end; t += 1e-3) {
        double a = shape_area(&s, t);
        CHECK(a >= last);
        last = a;
    }
    shape_free(&s);
}

/* area(time_at_area(x)) == x, and no earlier time reaches x. */
static void check_inverse(const struct shape *s, double x, unsigned *cursor)
{
    unsigned fresh = 0;
    double t = shape_time_at_area(s, x, cursor), t0 = shape_time_at_area(s, x, &fresh);
    CHECK(t == t0);   /* the cursor changes the cost, never the answer */
    CHECK(isfinite(t) && t >= 0);
    double a = shape_area(s, t);
    if (!near(a, x, 1e-9)) {
        if (!check_case_failed) printf("  area(time_at_area(%.17g)) = area(%.17g) = %.17g\n", x, t, a);
        check_case_failed = 1;
    }
    /* earliest: just before t the area is short of x, or (where rounding hides that, as
     * at the flat end of a ramp down to 0) the value is still above 0 there: t is not past
     * a stretch of zero value */
    if (t > 1e-6) CHECK(shape_area(s, t - 1e-6) < x || shape_value(s, t - 1e-6) > 0);
}

static void time_at_area_inverse(void)
{
    struct shape s;
    CHECK(shape_from_stages(&s, 5, mixed, NMIXED) == 0);
    double total = s.area_at[NMIXED];
    unsigned cursor = 0;
    for (int k = 1; k <= 20000; k++) check_inverse(&s, total * 1.2 * k / 20000, &cursor);
    CHECK_EQ_U(cursor, NMIXED);   /* past the end */
    /* decreasing queries with the same cursor still answer right */
    for (int k = 20000; k >= 1; k -= 7) check_inverse(&s, total * 1.2 * k / 20000, &cursor);
    /* tiny areas at the start, and exactly at each stage boundary */
    cursor = 0;
    for (double x = 1e-12; x < 1; x *= 10) check_inverse(&s, x, &cursor);
    for (unsigned i = 1; i <= NMIXED; i++) check_inverse(&s, s.area_at[i], &cursor);
    /* a plateau of 0 (stages 4 and 5): its area is reached where the plateau begins */
    cursor = 0;
    CHECK(shape_time_at_area(&s, s.area_at[4], &cursor) == s.start_at[4]);
    CHECK(shape_time_at_area(&s, 0, &cursor) == 0);
    CHECK(shape_time_at_area(&s, -1, &cursor) == 0);
    shape_free(&s);

    /* closed forms: ramp from 0 (area t²/2), ramp down, constant */
    char err[256];
    unsigned c = 0;
    CHECK(shape_parse_stages(&s, "10s:10", err, sizeof(err)) == 0);
    CHECK_NEAR(shape_time_at_area(&s, 2, &c), 2);
    CHECK_NEAR(shape_time_at_area(&s, 50, &c), 10);
    CHECK_NEAR(shape_time_at_area(&s, 60, &c), 11);
    shape_free(&s);
    c = 0;
    CHECK(shape_parse_stages(&s, "0:10,10s:0", err, sizeof(err)) == 0);
    CHECK_NEAR(shape_time_at_area(&s, 37.5, &c), 5);
    CHECK_NEAR(shape_time_at_area(&s, 50, &c), 10);
    CHECK(isinf(shape_time_at_area(&s, 50.0001, &c)));
    shape_free(&s);
}

static void time_at_area_is_stable(void)
{
    /* a ramp whose ends differ by 1e-12 relative: the naive (-a + sqrt(a² + 2kr)) / k
     * loses every digit here; the answer must stay r / a to ~1e-15 */
    struct shape_stage st[] = {{0, 1e6}, {100, 1e6 * (1 + 1e-12)}};
    struct shape s;
    CHECK(shape_from_stages(&s, 0, st, 2) == 0);
    unsigned c = 0;
    double a = st[0].target, slope = (st[1].target - a) / 100;
    for (double x = 1; x < 1e8; x *= 3.7) {
        double t = shape_time_at_area(&s, x, &c), lin = x / a;
        double want = lin - slope * lin * lin / (2 * a);   /* the next term is ~1e-24 relative */
        CHECK(fabs(t - want) <= 4e-16 * want);
    }
    shape_free(&s);

    /* the value at the scheduled times matches the arrival spacing: on a ramp from 0 to
     * 1000/s over 10 s, arrival k is at sqrt(2k/100) */
    struct shape_stage r[] = {{10, 1000}};
    CHECK(shape_from_stages(&s, 0, r, 1) == 0);
    c = 0;
    for (int k = 1; k <= 5000; k++) {
        double t = shape_time_at_area(&s, k, &c);
        CHECK(fabs(t - sqrt(2.0 * k / 100)) < 1e-12);
    }
    shape_free(&s);
}

static void infinity_when_value_ends_at_zero(void)
{
    struct shape s;
    char err[256];
    unsigned c = 0;
    CHECK(shape_parse_stages(&s, "10s:10,10s:0", err, sizeof(err)) == 0);
    CHECK_NEAR(shape_time_at_area(&s, 100, &c), 20);
    CHECK(shape_time_at_area(&s, 100.001, &c) == INFINITY);
    CHECK(shape_time_at_area(&s, 1e12, &c) == INFINITY);
    shape_free(&s);
    c = 0;
    CHECK(shape_parse_stages(&s, "10s:0", err, sizeof(err)) == 0);   /* 0 throughout */
    CHECK(shape_time_at_area(&s, 1e-9, &c) == INFINITY);
    shape_free(&s);
    /* an empty shape holding 0, and one holding 4 */
    struct shape z = {0};
    c = 0;
    CHECK(shape_time_at_area(&z, 1, &c) == INFINITY);
    z.start = 4;
    CHECK(shape_time_at_area(&z, 10, &c) == 2.5 && shape_area(&z, 2) == 8 && shape_value(&z, 7) == 4);
}

static void random_shapes(void)
{
    for (int round = 0; round < 200; round++) {
        struct shape_stage st[12];
        unsigned n = 1 + (unsigned)(rnd() * 12);
        for (unsigned i = 0; i < n; i++) {
            double r = rnd();
            st[i].duration_s = r < 0.2 ? 0 : rnd() * 50;
            st[i].target = r > 0.8 ? 0 : rnd() < 0.05 ? 1e9 * rnd() : rnd() * 1000;
        }
        struct shape s;
        CHECK(shape_from_stages(&s, rnd() < 0.5 ? 0 : rnd() * 100, st, n) == 0);
        double total = s.area_at[n];
        unsigned cursor = 0;
        for (int k = 1; k <= 300; k++) {
            double x = fmin(total * k / 300, total);   /* total * 300 / 300 may round up */
            if (x > 0) check_inverse(&s, x, &cursor);
        }
        shape_free(&s);
    }
}

static void describe(void)
{
    struct shape s;
    char err[256], buf[256];
    CHECK(shape_parse_stages(&s, "30s:100,1m:100,30s:0", err, sizeof(err)) == 0);
    shape_describe(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, "stages 30s:100, 1m:100, 30s:0"));
    shape_describe(&s, buf, 10);
    CHECK(strlen(buf) == 9);
    shape_free(&s);
    CHECK(shape_parse_stages(&s, "500ms:0.5,1m30s:2,1h:0", err, sizeof(err)) == 0);
    shape_describe(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, "stages 500ms:0.5, 1m30s:2, 1h:0"));
    shape_free(&s);
    shape_constant(&s, 50, 60);
    shape_describe(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, "constant 50 for 1m"));
    shape_free(&s);
    shape_constant(&s, 100, 0);  /* -n without -d: no "for 0s" */
    shape_describe(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, "constant 100"));
    shape_free(&s);
    CHECK(shape_parse_preset(&s, "spike,base=1,peak=9,at=1s,for=1s", 3, err, sizeof(err)) == 0);
    shape_describe(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, "stages from 1: 1s:1, 0s:9, 1s:9, 0s:1, 1s:1"));
    shape_free(&s);
    CHECK(shape_parse_preset(&s, "step,by=1,every=1s,to=20", 0, err, sizeof(err)) == 0);   /* 39 stages */
    shape_describe(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, "stages from 1: 1s:1, 0s:2, 1s:2, 0s:3, 1s:3, 0s:4, 1s:4, 0s:5, ... (39 stages, 20s)"));
    shape_free(&s);
}

static void from_stages_rejects_bad_values(void)
{
    struct shape s;
    struct shape_stage st[] = {{1, 5}};
    CHECK(shape_from_stages(&s, -1, st, 1) == -1 && is_empty(&s));
    st[0].target = NAN;
    CHECK(shape_from_stages(&s, 0, st, 1) == -1);
    st[0].target = 2e9;
    CHECK(shape_from_stages(&s, 0, st, 1) == -1);
    st[0] = (struct shape_stage){-1, 5};
    CHECK(shape_from_stages(&s, 0, st, 1) == -1);
    st[0] = (struct shape_stage){INFINITY, 5};
    CHECK(shape_from_stages(&s, 0, st, 1) == -1);
    CHECK(is_empty(&s));
}

int main(void)
{
    RUN(stages_parse);
    RUN(stages_parse_errors);
    RUN(values_and_jumps);
    RUN(presets);
    RUN(preset_errors);
    RUN(locust);
    RUN(shape_files);
    RUN(area_matches_integration);
    RUN(time_at_area_inverse);
    RUN(time_at_area_is_stable);
    RUN(infinity_when_value_ends_at_zero);
    RUN(random_shapes);
    RUN(describe);
    RUN(from_stages_rejects_bad_values);
    CHECK_EXIT();
}
