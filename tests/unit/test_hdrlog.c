/* --hdr-log: the log written from synthetic intervals reads back to the same histograms;
 * the reader decodes what Java's HdrHistogram 2.1.11 wrote and refuses broken input with a
 * reason. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base64.h"
#include "check.h"
#include "hdrlog.h"
#include "scenario.h"

#define HIGHEST 10000000u  /* µs: the 10 s default timeout */
#define NIV 3

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static char *names[] = {"GET /item,x\ty", "login"};
static struct scenario scn = {.stat_names = names, .nstats = 2};
static struct plan plan = {.scenario = &scn, .scenario_file = "t.yaml"};

/* Interval k: values over every magnitude up to past HIGHEST (clamped), some on the
 * edges of the first buckets; step 0 gets a quarter of them, step 1 none in interval 2. */
static struct stats *make_interval(int k)
{
    struct stats *s = stats_create(HIGHEST, 2);
    static const uint64_t edges[] = {0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 4097, 65535, 123456,
                                     9999999, 10000000, 25000000};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) hist_record(s->latency, edges[i]);
    for (int i = 0; i < 20000 + 5000 * k; i++) {
        uint64_t v = rng() % (1ull << (rng() % 25));
        hist_record(s->latency, v);
        if (i % 4 == 0) hist_record(s->steps[0].latency, v);
        if (i % 7 == 0 && k != 2) hist_record(s->steps[1].latency, v / 3);
    }
    return s;
}

/* got (read back) holds what want (recorded) holds, to the bucket. */
static uint64_t encoded_max(const struct hist *h)
{
    return h->max < h->highest ? h->max : h->highest;
}

static void same_hist(const struct hist *got, const struct hist *want)
{
    CHECK_EQ_U(got->total, want->total);
    CHECK_EQ_U(got->highest, want->highest);
    CHECK_EQ_U(got->ncounts, want->ncounts);
    uint32_t differ = 0;
    for (uint32_t i = 0; i < got->ncounts && i < want->ncounts; i++) differ += got->counts[i] != want->counts[i];
    CHECK_EQ_U(differ, 0);
    if (!want->total) return;
    CHECK_EQ_U(hist_index(got->min), hist_index(want->min));
    /* the log holds counts: a value past highest comes back as highest */
    CHECK_EQ_U(hist_index(got->max), hist_index(encoded_max(want)));
    const double qs[] = {0.5, 0.9, 0.99, 0.999, 1};
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        uint64_t g = hist_quantile(got, qs[k]), w = hist_quantile(want, qs[k]);
        if (w > want->highest) w = want->highest;
        CHECK_EQ_U(hist_index(g), hist_index(w));
        /* the exact max is not in the format: below its bucket the values are equal */
        if (hist_index(w) < hist_index(encoded_max(want))) CHECK_EQ_U(g, w);
    }
}

static char log_path[] = "/tmp/barrage-test-hdrlog.XXXXXX";

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    if (!f) return -1;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

static void log_reads_back_as_recorded(void)
{
    struct stats *iv[NIV], *total = stats_create(HIGHEST, 2);
    char err[512];
    struct hdrlog *h = hdrlog_open(log_path, &plan, err, sizeof(err));
    CHECK(h);
    if (!h) return;
    hdrlog_begin(h, 1700000000.5);
    CHECK_EQ_U(count_lines(log_path), 5);
    for (int k = 0; k < NIV; k++) {
        iv[k] = make_interval(k);
        stats_add(total, iv[k]);
        struct interval_rec rec = {.t0 = k, .t = k + 1.25};
        hdrlog_interval(h, &(struct interval_view){.rec = &rec, .iv = iv[k], .total = total});
        CHECK_EQ_U(count_lines(log_path), 5 + 3 * (k + 1));  /* flushed as it goes */
    }
    CHECK(hdrlog_close(h, err, sizeof(err)) == 0);

    FILE *f = fopen(log_path, "r");
    static char line[1 << 16];
    const char *want[] = {"#[Histogram log format version 1.3]\n", "#[Logged with barrage",
                          "#[StartTime: 1700000000.500 (seconds since epoch), ",
                          "#[BaseTime: 1700000000.500 (seconds since epoch)]\n",
                          "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"};
    for (size_t i = 0; i < 5; i++) {
        CHECK(fgets(line, sizeof(line), f));
        if (strncmp(line, want[i], strlen(want[i]))) printf("  header line %zu: %s", i + 1, line);
        CHECK(!strncmp(line, want[i], strlen(want[i])));
    }
    CHECK(fgets(line, sizeof(line), f) && !strncmp(line, "0.000,1.250,10002.431,HISTF", 27));
    CHECK(fgets(line, sizeof(line), f) && !strncmp(line, "Tag=GET_/item_x_y,0.000,1.250,", 30));

    rewind(f);
    struct hdrlog_reader *r = hdrlog_reader_create(f, "t.hlog");
    struct hdrlog_line l;
    struct hist *merged = hist_create(HIGHEST);
    int n = 0, rc;
    while ((rc = hdrlog_next(r, &l, err, sizeof(err))) == 1) {
        int k = n / 3, step = n % 3 - 1;
        const char *tags[] = {NULL, "GET_/item_x_y", "login"};
        CHECK(k < NIV);
        if (k >= NIV) break;
        CHECK(l.tag == tags[n % 3] || (l.tag && tags[n % 3] && !strcmp(l.tag, tags[n % 3])));
        CHECK(l.start == k && l.length == 1.25);
        CHECK(l.start_time == 1700000000.5 && l.base_time == 1700000000.5);
        const struct hist *w = step < 0 ? iv[k]->latency : iv[k]->steps[step].latency;
        CHECK(fabs(l.max - (w->total ? (double)hist_index_high(hist_index(encoded_max(w))) / 1000 : 0)) < 0.0005);
        same_hist(l.hist, w);
        if (step < 0) CHECK(hist_add(merged, l.hist) == 0);
        n++;
    }
    if (rc < 0) printf("  %s\n", err);
    CHECK_EQ_U(rc, 0);
    CHECK_EQ_U(n, 3 * NIV);
    CHECK_EQ_U(iv[2]->steps[1].latency->total, 0);  /* an empty histogram went through too */
    same_hist(merged, total->latency);
    hist_destroy(merged);
    hdrlog_reader_destroy(r);
    fclose(f);
    for (int k = 0; k < NIV; k++) stats_destroy(iv[k]);
    stats_destroy(total);
}

/* The V2 encoding inside the base64 of a compressed histogram (zlib inflated), into out. */
static size_t inflated(const char *b64, uint8_t *out, size_t cap)
{
    uint8_t bytes[4096];
    size_t n = 0, len = strlen(b64);
    uint32_t w = 0;
    int bits = 0;
    for (size_t i = 0; i < len && b64[i] != '='; i++) {
        const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        w = w << 6 | (uint32_t)(strchr(abc, b64[i]) - abc);
        if ((bits += 6) >= 8) bytes[n++] = (uint8_t)(w >> (bits -= 8));
    }
    uLongf olen = cap;
    if (n < 8 || uncompress(out, &olen, bytes + 8, n - 8) != Z_OK) return 0;
    return olen;
}

/* What Java's HdrHistogram 2.1.11 encodes (encodeIntoCompressedByteBuffer, level 9) for
 * new Histogram(10000000, 3) holding 1, 2048 and 1000000, and empty. */
static void decodes_java_encoding(void)
{
    char err[256];
    const char *three = "HISTFAAAACd42pNpmSzMwMDAyQABzFCaEUzOmNZg/wEqwvRbnml/HyMTAH46Bp8=";
    struct hist *h = hdrlog_decode(three, strlen(three), err, sizeof(err));
    CHECK(h);
    if (!h) return;
    CHECK_EQ_U(h->total, 3);
    CHECK_EQ_U(h->highest, HIGHEST);
    CHECK_EQ_U(h->counts[hist_index(1)], 1);
    CHECK_EQ_U(h->counts[hist_index(2048)], 1);
    CHECK_EQ_U(h->counts[hist_index(1000000)], 1);
    CHECK_EQ_U(h->min, 1);
    CHECK_EQ_U(h->max, hist_index_high(hist_index(1000000)));
    /* ours is the same V2 encoding, byte for byte (the zlib streams may differ with the zlib) */
    size_t len;
    char *ours = hdrlog_encode(h, &len);
    uint8_t a[512], b[512];
    size_t na = inflated(three, a, sizeof(a)), nb = inflated(ours, b, sizeof(b));
    CHECK(na > 40 && na == nb && !memcmp(a, b, na));
    struct hist *back = hdrlog_decode(ours, len, err, sizeof(err));
    CHECK(back && back->total == 3 && !memcmp(back->counts, h->counts, h->ncounts * sizeof(h->counts[0])));
    hist_destroy(back);
    free(ours);
    hist_destroy(h);

    const char *empty = "HISTFAAAAB542pNpmSzMwMDAyAABzFAawp8xrcH+A1QEAE9HBCk=";
    h = hdrlog_decode(empty, strlen(empty), err, sizeof(err));
    CHECK(h && h->total == 0 && h->highest == HIGHEST);
    if (!h) return;
    ours = hdrlog_encode(h, &len);
    na = inflated(empty, a, sizeof(a)), nb = inflated(ours, b, sizeof(b));
    CHECK(na == 41 && na == nb && !memcmp(a, b, na));  /* one zero count */
    free(ours);
    hist_destroy(h);
}

/* ------------------------------------------------------------------------ broken input */


static void be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* The base64 of a compressed histogram around raw (a V2 encoding): its zlib stream cut by
 * `cut` bytes, its length field off by length_delta, the byte `flip` from its end flipped. */
static char *wrap_bad(const uint8_t *raw, size_t n, long cut, long length_delta, long flip)
{
    static uint8_t packed[4096];
    static char text[8192];
    uLongf clen = sizeof(packed) - 8;
    compress2(packed + 8, &clen, raw, n, 9);
    clen -= (uLongf)cut;
    be32(packed, 0x1c849314);
    be32(packed + 4, (uint32_t)((long)clen + length_delta));
    if (flip) packed[8 + clen - (uLongf)flip] ^= 0x55;
    base64_encode(text, packed, 8 + clen);
    return text;
}

static char *wrap(const uint8_t *raw, size_t n, long cut, long length_delta)
{
    return wrap_bad(raw, n, cut, length_delta, 0);
}

/* A V2 encoding: header (digits, lowest, highest) then the payload bytes given. */
static size_t v2(uint8_t *out, uint32_t cookie, uint32_t digits, uint64_t lowest, uint64_t highest,
                 const uint8_t *payload, size_t n)
{
    memset(out, 0, 40);
    be32(out, cookie);
    be32(out + 4, (uint32_t)n);
    be32(out + 12, digits);
    be32(out + 20, (uint32_t)lowest);
    be32(out + 24, (uint32_t)(highest >> 32));
    be32(out + 28, (uint32_t)highest);
    out[32] = 0x3f, out[33] = 0xf0;  /* 1.0 */
    memcpy(out + 40, payload, n);
    return 40 + n;
}

static void expect_refused(const char *b64, const char *reason)
{
    char err[256] = "";
    struct hist *h = hdrlog_decode(b64, strlen(b64), err, sizeof(err));
    CHECK(!h);
    hist_destroy(h);
    if (!strstr(err, reason)) printf("  '%s' does not say '%s'\n", err, reason);
    CHECK(strstr(err, reason));
    CHECK(!strchr(err, '\n'));
}

static void refuses_broken_histograms(void)
{
    uint8_t raw[3000];
    static const uint8_t counts[] = {0x00, 0x02, 0x04, 0x06};  /* 0, 1, 2, 3 */
    size_t n = v2(raw, 0x1c849313, 3, 1, HIGHEST, counts, sizeof(counts));
    char err[256];
    char *good = wrap(raw, n, 0, 0);
    struct hist *h = hdrlog_decode(good, strlen(good), err, sizeof(err));
    CHECK(h && h->total == 6 && h->counts[3] == 3);
    hist_destroy(h);

    char bad[8192];
    strcpy(bad, good);
    bad[20] = '*';
    expect_refused(bad, "bad base64: character 21");
    expect_refused("HISTFAA", "multiple of 4");
    strcpy(bad, good);
    bad[0] = 'I';
    expect_refused(bad, "not a V2 compressed histogram (cookie 0x20");
    expect_refused(wrap(raw, n, 6, 0), "truncated zlib stream");
    expect_refused(wrap(raw, n, 0, -1), "compressed length");
    expect_refused(wrap(raw, n, 0, 5), "compressed length");
    expect_refused(wrap_bad(raw, n, 0, 0, 2), "corrupt zlib stream");  /* the adler32 */

    expect_refused(wrap(raw, v2(raw, 0x1c849303, 3, 1, HIGHEST, counts, 4), 0, 0), "not a V2 encoded histogram");
    expect_refused(wrap(raw, v2(raw, 0x1c849313, 2, 1, HIGHEST, counts, 4), 0, 0), "2 significant digits");
    expect_refused(wrap(raw, v2(raw, 0x1c849313, 3, 1000, HIGHEST, counts, 4), 0, 0), "lowest value 1000");
    expect_refused(wrap(raw, v2(raw, 0x1c849313, 3, 1, 1, counts, 4), 0, 0), "highest trackable value 1 ");
    n = v2(raw, 0x1c849313, 3, 1, HIGHEST, counts, 4);
    raw[11] = 1;
    expect_refused(wrap(raw, n, 0, 0), "normalizing index offset 1");

    static const uint8_t truncated[] = {0x02, 0x80};
    expect_refused(wrap(raw, v2(raw, 0x1c849313, 3, 1, HIGHEST, truncated, 2), 0, 0), "malformed count at payload byte 1");
    /* highest 2: Java keeps 2048 counts; a 2049th is past them, and so is a long zero run */
    uint8_t many[2100];
    memset(many, 0x02, sizeof(many));
    expect_refused(wrap(raw, v2(raw, 0x1c849313, 3, 1, 2, many, 2049), 0, 0), "counts past the 2048");
    char *full = wrap(raw, v2(raw, 0x1c849313, 3, 1, 2, many, 2048), 0, 0);
    h = hdrlog_decode(full, strlen(full), err, sizeof(err));
    CHECK(h && h->total == 2048 && h->highest == 2047 && h->max == 2047);
    hist_destroy(h);
    expect_refused(wrap(raw, v2(raw, 0x1c849313, 3, 1, 2, (const uint8_t[]){0x81, 0x20}, 2), 0, 0), "zeros past");
    /* the top: highest 2^63-1 keeps 55296 counts, the last for values up to 2^63-1 */
    static const uint8_t top[] = {0xfd, 0xdf, 0x06, 0x02, 0x02};  /* 55295 zeros, 1, 1 */
    full = wrap(raw, v2(raw, 0x1c849313, 3, 1, INT64_MAX, top, 4), 0, 0);
    h = hdrlog_decode(full, strlen(full), err, sizeof(err));
    CHECK(h && h->total == 1 && h->max == INT64_MAX && h->counts[55295] == 1);
    hist_destroy(h);
    expect_refused(wrap(raw, v2(raw, 0x1c849313, 3, 1, INT64_MAX, top, 5), 0, 0), "counts past the 55296");
    /* a payload length the stream does not hold, both ways */
    n = v2(raw, 0x1c849313, 3, 1, HIGHEST, counts, 4);
    be32(raw + 4, 5);
    expect_refused(wrap(raw, n, 0, 0), "zlib stream ends 4 bytes into the payload of 5");
    be32(raw + 4, 3);
    expect_refused(wrap(raw, n, 0, 0), "holds more than the payload");
    be32(raw + 4, 0x7fffffff);
    expect_refused(wrap(raw, n, 0, 0), "more than 15360 counts take");
    /* counts that add up past 2^64 */
    static const uint8_t huge[] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    expect_refused(wrap(raw, v2(raw, 0x1c849313, 3, 1, HIGHEST, huge, sizeof(huge)), 0, 0), "total count overflows");
}

static void refuses_broken_lines(void)
{
    struct hist *one = hist_create(HIGHEST);
    hist_record(one, 500);
    size_t len;
    char *b64 = hdrlog_encode(one, &len);
    char text[4096];
    snprintf(text, sizeof(text),
             "#[StartTime: 12.5 (seconds since epoch), x]\n"
             "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"
             "0.000,1.000,0.500,HISTF!!!\n"     /* 3: bad base64 */
             "0.000,1.000,%s\n"                 /* 4: three columns */
             "x,1.000,0.5,%s\n"                 /* 5: a bad start */
             "Tag=a b,1.0,1.0,0.5,%s\n"         /* 6: a space in the tag */
             "\r\n"
             "1.000,1.000,0.500,%s,extra\n"     /* 8: five columns */
             "Tag=ok,2.000,1.000,0.500,%s\r\n", /* 9: good, CRLF */
             b64, b64, b64, b64, b64);
    FILE *f = fmemopen(text, strlen(text), "r");
    struct hdrlog_reader *r = hdrlog_reader_create(f, "bad.hlog");
    struct hdrlog_line l;
    char err[512];
    const char *want[] = {"bad.hlog:3: bad base64", "bad.hlog:4: 3 columns", "bad.hlog:5: bad start time 'x'",
                          "bad.hlog:6: a tag with a space", "bad.hlog:8: more than four columns"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        CHECK_EQ_U(hdrlog_next(r, &l, err, sizeof(err)), -1);
        if (strncmp(err, want[i], strlen(want[i]))) printf("  got '%s', expected '%s'\n", err, want[i]);
        CHECK(!strncmp(err, want[i], strlen(want[i])));
    }
    CHECK_EQ_U(hdrlog_next(r, &l, err, sizeof(err)), 1);
    CHECK(l.lineno == 9 && l.tag && !strcmp(l.tag, "ok") && l.start == 2 && l.start_time == 12.5);
    CHECK(l.hist->total == 1 && hist_index(l.hist->max) == hist_index(500));
    CHECK_EQ_U(hdrlog_next(r, &l, err, sizeof(err)), 0);
    hdrlog_reader_destroy(r);
    fclose(f);
    free(b64);
    hist_destroy(one);
}

static void tags_and_file_errors(void)
{
    char t[32];
    hdrlog_tag(t, sizeof(t), "GET /a,b\tc\r");
    CHECK(!strcmp(t, "GET_/a_b_c_"));
    hdrlog_tag(t, sizeof(t), "");
    CHECK(!strcmp(t, "_"));
    hdrlog_tag(t, 4, "abcdef");
    CHECK(!strcmp(t, "abc"));
    /* two names, one tag: the later one is told apart, as a third one taking its tag */
    char *step_names[] = {"GET /a,b", "GET /a b", "GET /a_b~2", "x"}, *tags[4] = {0};
    CHECK(!hdrlog_tags(tags, step_names, 4));
    CHECK(!strcmp(tags[0], "GET_/a_b") && !strcmp(tags[1], "GET_/a_b~2") && !strcmp(tags[2], "GET_/a_b~2~2") &&
          !strcmp(tags[3], "x"));
    for (int i = 0; i < 4; i++) free(tags[i]);

    char err[512] = "";
    CHECK(!hdrlog_open("/nonexistent/dir/x", &plan, err, sizeof(err)));
    CHECK(!strcmp(err, "--hdr-log: cannot create /nonexistent/dir/x: No such file or directory"));
    /* a write that fails is reported when the log is closed */
    struct hdrlog *h = hdrlog_open("/dev/full", &plan, err, sizeof(err));
    CHECK(h);
    if (!h) return;
    hdrlog_begin(h, 1);
    CHECK(hdrlog_close(h, err, sizeof(err)) == -1);
    CHECK(!strcmp(err, "--hdr-log: cannot write /dev/full: No space left on device"));
}

int main(void)
{
    int fd = mkstemp(log_path);
    if (fd < 0) return 1;
    close(fd);
    RUN(log_reads_back_as_recorded);
    RUN(decodes_java_encoding);
    RUN(refuses_broken_histograms);
    RUN(refuses_broken_lines);
    RUN(tags_and_file_errors);
    unlink(log_path);
    CHECK_EXIT();
}
