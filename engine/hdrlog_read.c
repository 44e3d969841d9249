/* Reads HdrHistogram interval logs (ours and Java's HistogramLogWriter's) and their V2
 * compressed histograms into struct hist (hdrlog.h); `barrage hdrlog-read FILE`.
 *
 * Hostile input is expected (the fuzzer feeds it): every length is checked against what is
 * left before it is used, and no allocation exceeds a bound fixed by the format: a line is
 * at most what was read, its bytes at most 3/4 of it, the payload at most 9 bytes for each
 * count the header's highest trackable value allows (at most 56320 counts). */
#include "hdrlog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "errfmt.h"

#define V2_COOKIE 0x1c849313u
#define V2_COMPRESSED_COOKIE 0x1c849314u
#define V2_HEADER 40
#define V2_MAX_WORD 9                     /* bytes of one ZigZag LEB128 count, at most */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* ------------------------------------------------------------------------ one histogram */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Padded standard base64 into a new block of *n bytes; NULL with err set. */
static uint8_t *b64_decode(const char *s, size_t len, size_t *n, char *err, size_t errlen)
{
    if (!len || len % 4) {
        errfmt(err, errlen, "bad base64: %zu characters, not a multiple of 4", len);
        return NULL;
    }
    size_t pad = s[len - 1] == '=' ? (s[len - 2] == '=' ? 2 : 1) : 0;
    uint8_t *out = malloc(len / 4 * 3);
    if (!out) {
        errfmt(err, errlen, "out of memory");
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t w = 0;
        for (size_t k = 0; k < 4; k++) {
            int v = i + k < len - pad ? b64_value((unsigned char)s[i + k]) : 0;
            if (v < 0) {
                free(out);
                errfmt(err, errlen, "bad base64: character %zu is not one", i + k + 1);
                return NULL;
            }
            w = w << 6 | (uint32_t)v;
        }
        out[o++] = (uint8_t)(w >> 16);
        out[o++] = (uint8_t)(w >> 8);
        out[o++] = (uint8_t)w;
    }
    *n = o - pad;
    return out;
}

/* How many counts a Java histogram of 3 significant digits and lowest value 1 keeps for
 * this highest trackable value: whole buckets, one more than the value needs. */
static uint64_t java_counts_len(uint64_t highest)
{
    uint64_t untrackable = 1u << HIST_SUB_BITS;
    uint64_t buckets = 1;
    while (untrackable <= highest) {
        if (untrackable > INT64_MAX / 2) {
            buckets++;
            break;
        }
        untrackable <<= 1;
        buckets++;
    }
    uint64_t len = (buckets + 1) * HIST_SUB_HALF, ours = (uint64_t)hist_index(UINT64_MAX) + 1;
    return len < ours ? len : ours;
}

/* One ZigZag LEB128 count (the ninth byte carries 8 bits); -1 when the payload ends first. */
static int get_count(const uint8_t *p, size_t n, size_t *pos, int64_t *v)
{
    uint64_t z = 0;
    for (unsigned i = 0;; i++) {
        if (*pos >= n) return -1;
        uint8_t b = p[(*pos)++];
        if (i == 8) {
            z |= (uint64_t)b << 56;
            break;
        }
        z |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) break;
    }
    uint64_t u = (z >> 1) ^ (0 - (z & 1));
    memcpy(v, &u, sizeof(*v));
    return 0;
}

/* Walks the payload's counts: checks them (first pass, counts NULL) or stores those that are
 * not zero (second pass). *last: the index of the last count that is not zero, or -1. */
static int walk_counts(const uint8_t *p, size_t n, uint64_t len, uint64_t highest, uint64_t *counts, int64_t *last,
                       char *err, size_t errlen)
{
    uint64_t idx = 0, total = 0;
    size_t pos = 0;
    *last = -1;
    while (pos < n) {
        size_t at = pos;
        int64_t v;
        if (get_count(p, n, &pos, &v)) return errfmt(err, errlen, "malformed count at payload byte %zu: truncated", at);
        if (v < 0) {  /* a run of zeros */
            uint64_t zeros = 0 - (uint64_t)v;
            if (zeros > len - idx)
                return errfmt(err, errlen, "zeros past the %llu counts of highest trackable value %llu",
                              (unsigned long long)len, (unsigned long long)highest);
            idx += zeros;
            continue;
        }
        if (idx >= len)
            return errfmt(err, errlen, "counts past the %llu of highest trackable value %llu", (unsigned long long)len,
                          (unsigned long long)highest);
        if (v) {
            if (total + (uint64_t)v < total) return errfmt(err, errlen, "total count overflows");
            total += (uint64_t)v;
            *last = (int64_t)idx;
            if (counts) counts[idx] = (uint64_t)v;
        }
        idx++;
    }
    return 0;
}

/* Inflates exactly `want` bytes of the stream into out (more output or its end is wrong). */
static int inflate_exactly(z_stream *zs, uint8_t *out, size_t want, bool last, const char *what, char *err,
                           size_t errlen)
{
    uint8_t extra;
    zs->next_out = out;
    zs->avail_out = (uInt)want;
    int zr;
    do zr = inflate(zs, Z_SYNC_FLUSH);
    while (zr == Z_OK && zs->avail_out && zs->avail_in);
    size_t got = want - zs->avail_out;
    if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT)
        return errfmt(err, errlen, "corrupt zlib stream in the %s (%s)", what, zs->msg ? zs->msg : "bad data");
    if (zr == Z_MEM_ERROR) return errfmt(err, errlen, "out of memory");
    if (got < want)
        return errfmt(err, errlen, zr == Z_STREAM_END ? "zlib stream ends %zu bytes into the %s of %zu"
                                                      : "truncated zlib stream: %zu bytes of the %s of %zu",
                      got, what, want);
    if (!last) return 0;
    if (zr != Z_STREAM_END) {  /* all there: the stream must end here, with nothing after */
        zs->next_out = &extra;
        zs->avail_out = 1;
        zr = inflate(zs, Z_SYNC_FLUSH);
        if (zs->avail_out == 0) return errfmt(err, errlen, "the zlib stream holds more than the %s of %zu bytes", what, want);
        if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT)
            return errfmt(err, errlen, "corrupt zlib stream after the %s (%s)", what, zs->msg ? zs->msg : "bad data");
        if (zr != Z_STREAM_END) return errfmt(err, errlen, "truncated zlib stream: it does not end after the %s", what);
    }
    if (zs->avail_in) return errfmt(err, errlen, "%u bytes after the zlib stream", zs->avail_in);
    return 0;
}

/* The V2 encoding's header (checked) and counts, from the zlib stream in zs. */
static struct hist *decode_v2(z_stream *zs, char *err, size_t errlen)
{
    uint8_t h[V2_HEADER];
    if (inflate_exactly(zs, h, sizeof(h), false, "header", err, errlen)) return NULL;
    uint32_t cookie = be32(h), plen = be32(h + 4), offset = be32(h + 8), digits = be32(h + 12);
    uint64_t lowest = be64(h + 16), highest = be64(h + 24);
    /* h + 32: the integer to double conversion ratio, which only DoubleHistogram uses */
    if (cookie != V2_COOKIE) {
        errfmt(err, errlen, "not a V2 encoded histogram (cookie 0x%08x)", cookie);
        return NULL;
    }
    if (offset) {
        errfmt(err, errlen, "normalizing index offset %d: shifted histograms are not read", (int32_t)offset);
        return NULL;
    }
    if (digits != 3 || lowest != 1) {
        errfmt(err, errlen, "%u significant digits, lowest value %llu: only 3 and 1 are read", digits,
               (unsigned long long)lowest);
        return NULL;
    }
    if (highest < 2 || highest > INT64_MAX) {
        errfmt(err, errlen, "highest trackable value %llu out of range", (unsigned long long)highest);
        return NULL;
    }
    uint64_t len = java_counts_len(highest);
    if (plen > V2_MAX_WORD * len) {
        errfmt(err, errlen, "payload of %u bytes: more than %llu counts take", plen, (unsigned long long)len);
        return NULL;
    }
    uint8_t *payload = malloc(plen ? plen : 1);
    if (!payload) {
        errfmt(err, errlen, "out of memory");
        return NULL;
    }
    struct hist *hist = NULL;
    int64_t last;
    if (inflate_exactly(zs, payload, plen, true, "payload", err, errlen) ||
        walk_counts(payload, plen, len, highest, NULL, &last, err, errlen))
        goto out;
    /* Java keeps a whole last bucket: counts may go a little past the highest value */
    uint64_t keep = last >= 0 && (uint64_t)last > hist_index(highest) ? hist_index_high((uint32_t)last) : highest;
    if (!(hist = hist_create(keep))) {
        errfmt(err, errlen, "out of memory");
        goto out;
    }
    walk_counts(payload, plen, len, highest, hist->counts, &last, NULL, 0);
    for (uint32_t i = 0; i < hist->ncounts; i++) {
        uint64_t c = hist->counts[i];
        if (!c) continue;
        uint64_t low = hist_index_low(i), high = hist_index_high(i);
        uint64_t mid = low + (high - low + 1) / 2, part;  /* HdrHistogram's median equivalent */
        if (hist->total == 0) hist->min = low;
        hist->max = high;
        hist->total += c;
        if (__builtin_mul_overflow(c, mid, &part) || __builtin_add_overflow(hist->sum, part, &hist->sum))
            hist->sum = UINT64_MAX;
    }
out:
    free(payload);
    return hist;
}

struct hist *hdrlog_decode(const char *b64, size_t len, char *err, size_t errlen)
{
    if (len > HDRLOG_MAX_LINE) {
        errfmt(err, errlen, "a histogram of %zu base64 characters is too long", len);
        return NULL;
    }
    size_t n;
    uint8_t *bytes = b64_decode(b64, len, &n, err, errlen);
    if (!bytes) return NULL;
    struct hist *hist = NULL;
    uint32_t cookie = n >= 4 ? be32(bytes) : 0;
    if (n < 8) {
        errfmt(err, errlen, "%zu bytes: too short for a compressed histogram", n);
    } else if (cookie != V2_COMPRESSED_COOKIE) {
        errfmt(err, errlen, "not a V2 compressed histogram (cookie 0x%08x)", cookie);
    } else if (be32(bytes + 4) != n - 8) {
        errfmt(err, errlen, "compressed length %u, but %zu bytes follow", be32(bytes + 4), n - 8);
    } else {
        z_stream zs = {.next_in = bytes + 8, .avail_in = (uInt)(n - 8)};
        if (inflateInit(&zs) != Z_OK) {
            errfmt(err, errlen, "out of memory");
        } else {
            hist = decode_v2(&zs, err, errlen);
            inflateEnd(&zs);
        }
    }
    free(bytes);
    return hist;
}

/* ------------------------------------------------------------------------ the log */

struct hdrlog_reader {
    FILE *f;
    char *where;
    char *buf;
    size_t cap;
    unsigned lineno;
    bool done;                  /* a read error was reported */
    double start_time, base_time;
    char *tag;                  /* the last line's */
    struct hist *hist;          /* the last line's */
};

struct hdrlog_reader *hdrlog_reader_create(FILE *f, const char *where)
{
    struct hdrlog_reader *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->f = f;
    if (!(r->where = strdup(where))) {
        free(r);
        return NULL;
    }
    return r;
}

void hdrlog_reader_destroy(struct hdrlog_reader *r)
{
    if (!r) return;
    free(r->where);
    free(r->buf);
    free(r->tag);
    hist_destroy(r->hist);
    free(r);
}

/* A number as Java's writer prints it: -?DIGITS(.DIGITS)? */
static bool parse_number(const char *s, size_t n, double *out)
{
    char buf[48];
    if (!n || n >= sizeof(buf)) return false;
    size_t i = s[0] == '-', digits = 0, dots = 0;
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') digits++;
        else if (s[i] == '.' && digits && !dots) dots++;
        else return false;
    }
    if (!digits || s[n - 1] == '.') return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    return true;
}

/* "#[StartTime: 1700000000.123 (seconds since epoch), ...]" into *into when s starts with
 * `prefix`; true when it did. */
static bool time_comment(const char *s, size_t n, const char *prefix, double *into)
{
    size_t plen = strlen(prefix);
    if (n <= plen || memcmp(s, prefix, plen)) return false;
    size_t e = plen;
    while (e < n && s[e] != ' ' && s[e] != ',' && s[e] != ']') e++;
    double v;
    if (parse_number(s + plen, e - plen, &v)) *into = v;  /* Java ignores what is no number */
    return true;
}

/* "WHERE:LINE: reason" into err; returns -1. */
__attribute__((format(printf, 4, 5))) static int line_err(const struct hdrlog_reader *r, char *err, size_t errlen,
                                                          const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return errfmt_line(err, errlen, "%s:%u: %s", r->where, r->lineno, why);
}

/* [Tag=NAME,]start,length,max,BASE64 */
static int data_line(struct hdrlog_reader *r, const char *s, size_t n, struct hdrlog_line *line, char *err,
                     size_t errlen)
{
    const char *end = s + n, *tag = NULL;
    size_t taglen = 0;
    if (n >= 4 && !memcmp(s, "Tag=", 4)) {
        const char *comma = memchr(s + 4, ',', n - 4);
        if (!comma) return line_err(r, err, errlen, "Tag= without the columns after it");
        tag = s + 4;
        taglen = (size_t)(comma - tag);
        for (size_t i = 0; i < taglen; i++)
            if ((unsigned char)tag[i] <= ' ' || tag[i] == 0x7f) return line_err(r, err, errlen, "a tag with a space or a control character");
        s = comma + 1;
    }
    static const char *const names[] = {"start time", "interval length", "interval max"};
    double v[3];
    for (int k = 0; k < 3; k++) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        if (!comma)
            return line_err(r, err, errlen, "%d columns, expected start,length,max,histogram%s", k + 1, tag ? " after the tag" : "");
        if (!parse_number(s, (size_t)(comma - s), &v[k]))
            return line_err(r, err, errlen, "bad %s '%.*s'", names[k], (int)(comma - s < 40 ? comma - s : 40), s);
        s = comma + 1;
    }
    if (memchr(s, ',', (size_t)(end - s))) return line_err(r, err, errlen, "more than four columns%s", tag ? " after the tag" : "");
    char e[300];
    struct hist *hist = hdrlog_decode(s, (size_t)(end - s), e, sizeof(e));
    if (!hist) return line_err(r, err, errlen, "%s", e);
    if (tag && !(r->tag = strndup(tag, taglen))) {
        hist_destroy(hist);
        return line_err(r, err, errlen, "out of memory");
    }
    r->hist = hist;
    *line = (struct hdrlog_line){.lineno = r->lineno, .tag = r->tag, .start = v[0], .length = v[1], .max = v[2],
                                 .start_time = r->start_time, .base_time = r->base_time, .hist = hist};
    return 1;
}

int hdrlog_next(struct hdrlog_reader *r, struct hdrlog_line *line, char *err, size_t errlen)
{
    free(r->tag);
    hist_destroy(r->hist);
    r->tag = NULL;
    r->hist = NULL;
    while (!r->done) {
        errno = 0;
        ssize_t got = getline(&r->buf, &r->cap, r->f);
        if (got < 0) {
            r->done = true;
            if (ferror(r->f))
                return errfmt_line(err, errlen, "%s: cannot read: %s", r->where, strerror(errno ? errno : EIO));
            return 0;
        }
        r->lineno++;
        size_t n = (size_t)got;
        const char *s = r->buf;
        while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
        size_t blank = 0;
        while (blank < n && (s[blank] == ' ' || s[blank] == '\t')) blank++;
        if (blank == n) continue;
        if (n > HDRLOG_MAX_LINE)
            return errfmt_line(err, errlen, "%s:%u: a line of %zu bytes is too long", r->where, r->lineno, n);
        if (s[0] == '#') {  /* a comment, maybe StartTime or BaseTime */
            if (!time_comment(s, n, "#[StartTime: ", &r->start_time)) time_comment(s, n, "#[BaseTime: ", &r->base_time);
            continue;
        }
        if (n >= 16 && !memcmp(s, "\"StartTimestamp\"", 16)) continue;  /* the legend */
        return data_line(r, s, n, line, err, errlen);
    }
    return 0;
}

/* ------------------------------------------------------------------------ hdrlog-read */

/* *dst += src; dst grows to src's size when smaller (logs may mix highest values). */
static int merge(struct hist **dst, const struct hist *src)
{
    struct hist *d = *dst;
    if (!d || d->ncounts < src->ncounts) {
        struct hist *g = hist_create(d && d->highest > src->highest ? d->highest : src->highest);
        if (!g) return -1;
        if (d) memcpy(g->counts, d->counts, (size_t)d->ncounts * sizeof(d->counts[0]));
        if (d) g->total = d->total, g->sum = d->sum, g->min = d->min, g->max = d->max;
        hist_destroy(d);
        *dst = d = g;
    }
    for (uint32_t i = 0; i < src->ncounts; i++) d->counts[i] += src->counts[i];
    d->total += src->total;
    d->sum += src->sum;
    if (src->total && src->min < d->min) d->min = src->min;
    if (src->total && src->max > d->max) d->max = src->max;
    return 0;
}

static void print_row(const char *kind, const char *tag, double start, double length, const struct hist *h)
{
    printf("%s,%s,%.3f,%.3f,%llu,%llu,%llu,%llu\n", kind, tag, start, length, (unsigned long long)h->total,
           (unsigned long long)hist_quantile(h, 0.5), (unsigned long long)hist_quantile(h, 0.99),
           (unsigned long long)hist_quantile(h, 1));
}

int hdrlog_read_main(int argc, char **argv)
{
    bool help = argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
    if (help || argc != 2 || (argv[1][0] == '-' && argv[1][1])) {
        fprintf(help ? stdout : stderr, "%susage: barrage hdrlog-read FILE (a --hdr-log file; - reads stdin)\n",
                help ? "" : "barrage: ");
        return help ? 0 : 2;
    }
    const char *path = argv[1];
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "barrage: hdrlog-read: cannot open %s: %s\n", path, strerror(errno));
        return 2;
    }
    struct hdrlog_reader *r = hdrlog_reader_create(f, path);
    struct hist *total = NULL;
    double first = 0, last = 0;
    int rc = -1, code = 0;
    char err[512];
    struct hdrlog_line l;
    if (r) {
        printf("kind,tag,start,length,count,p50,p99,max\n");
        while ((rc = hdrlog_next(r, &l, err, sizeof(err))) == 1) {
            print_row("line", l.tag ? l.tag : "", l.start, l.length, l.hist);
            if (l.tag) continue;
            if (!total) first = l.start;
            if (l.start + l.length > last) last = l.start + l.length;
            if (merge(&total, l.hist)) {
                rc = -1;
                snprintf(err, sizeof(err), "out of memory");
                break;
            }
        }
    } else {
        snprintf(err, sizeof(err), "out of memory");
    }
    if (rc < 0) {
        fprintf(stderr, "barrage: %s\n", err);
        code = 1;
    } else if (total) {
        print_row("total", "", first, last - first, total);
    } else {
        printf("total,,0.000,0.000,0,0,0,0\n");
    }
    hist_destroy(total);
    hdrlog_reader_destroy(r);
    if (f != stdin) fclose(f);
    return code;
}
