/* --hdr-log: the HdrHistogram interval log writer and the V2 encoding (hdrlog.h).
 *
 * A line per interval, written and flushed as the interval ends, so that the file can be
 * read while the run goes on:
 *   start,length,max,BASE64           start relative to StartTime (= BaseTime), seconds
 *   Tag=NAME,start,length,max,BASE64  the same for each scenario step name
 * max is the highest value equivalent to the histogram's max, divided by 1000 (milliseconds,
 * as Java's writer divides nanoseconds by 10^6 by default); readers take it from the
 * histogram. Write failures are kept and reported by hdrlog_close(). */
#include "hdrlog.h"
#include "base64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "scenario.h"

#define V2_COOKIE 0x1c849313u             /* V2 encoding, 9-byte word size (LEB128) */
#define V2_COMPRESSED_COOKIE 0x1c849314u
#define V2_HEADER 40
#define MAX_UNIT_RATIO 1000.0             /* the max column in milliseconds */

struct hdrlog {
    FILE *f;
    char *path;
    uint32_t ntags;
    char **tags;                          /* sanitized step names */
    int err;                              /* errno of the first failed write; 0 if none */
};

void hdrlog_tag(char *out, size_t len, const char *name)
{
    if (!len) return;
    size_t n = 0;
    for (; name[n] && n + 1 < len; n++) {
        unsigned char c = (unsigned char)name[n];
        out[n] = (c <= ' ' || c == ',' || c == 0x7f) ? '_' : (char)c;
    }
    if (!n && len > 1) out[n++] = '_';
    out[n] = 0;
}

int hdrlog_tags(char **tags, char *const *names, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]) + 2, cap = len + 12;  /* room for "~N" */
        if (!(tags[i] = malloc(cap))) return -1;
        hdrlog_tag(tags[i], len, names[i]);
        size_t base = strlen(tags[i]);
        for (unsigned k = 2;; k++) {
            uint32_t j = 0;
            while (j < i && strcmp(tags[j], tags[i])) j++;
            if (j == i) break;
            snprintf(tags[i] + base, cap - base, "~%u", k);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ V2 encoding */

static uint8_t *put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--) *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

/* ZigZag, then LEB128 of at most 9 bytes: the ninth byte carries the last 8 bits whole. */
static uint8_t *put_varint(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
    for (int i = 0; i < 8; i++) {
        if (z < 0x80) {
            *p++ = (uint8_t)z;
            return p;
        }
        *p++ = (uint8_t)((z & 0x7f) | 0x80);
        z >>= 7;
    }
    *p++ = (uint8_t)z;
    return p;
}

char *hdrlog_encode(const struct hist *h, size_t *len)
{
    /* counts up to the last one that is not zero (one zero for an empty histogram), a run of
     * two or more zeros as one negative count: what Java's encoder writes */
    uint32_t end = h->ncounts;
    while (end > 1 && !h->counts[end - 1]) end--;
    size_t raw_cap = V2_HEADER + 9 * (size_t)end;
    uLong packed_cap = 8 + compressBound((uLong)raw_cap);
    uint8_t *raw = malloc(raw_cap), *packed = malloc(packed_cap);
    char *out = NULL;
    if (!raw || !packed) goto done;

    uint8_t *p = raw + V2_HEADER;
    for (uint32_t i = 0; i < end;) {
        uint64_t c = h->counts[i++];
        if (c) {
            p = put_varint(p, c > INT64_MAX ? INT64_MAX : (int64_t)c);
            continue;
        }
        int64_t zeros = 1;
        while (i < end && !h->counts[i]) zeros++, i++;
        p = put_varint(p, zeros > 1 ? -zeros : 0);
    }
    uint64_t highest = h->highest > INT64_MAX ? INT64_MAX : h->highest;
    double ratio = 1.0;
    uint64_t ratio_bits;
    memcpy(&ratio_bits, &ratio, sizeof(ratio_bits));
    uint8_t *q = put_be32(raw, V2_COOKIE);
    q = put_be32(q, (uint32_t)(p - raw - V2_HEADER));  /* payload length */
    q = put_be32(q, 0);                                 /* normalizing index offset */
    q = put_be32(q, 3);                                 /* significant value digits */
    q = put_be64(q, 1);                                 /* lowest discernible value */
    q = put_be64(q, highest);
    put_be64(q, ratio_bits);                            /* integer to double conversion */

    uLongf clen = packed_cap - 8;
    if (compress2(packed + 8, &clen, raw, (uLong)(p - raw), Z_BEST_COMPRESSION) != Z_OK) goto done;
    put_be32(put_be32(packed, V2_COMPRESSED_COOKIE), (uint32_t)clen);
    size_t n = 8 + clen;
    out = malloc(BASE64_LEN(n) + 1);
    if (out) *len = base64_encode(out, packed, n);
done:
    free(raw);
    free(packed);
    return out;
}

/* ------------------------------------------------------------------------ the log file */

static void note_failure(struct hdrlog *h, int e)
{
    if (!h->err) h->err = e ? e : EIO;
}

struct hdrlog *hdrlog_open(const char *path, const struct plan *p, char *err, size_t errlen)
{
    struct hdrlog *h = calloc(1, sizeof(*h));
    if (!h || !(h->path = strdup(path))) goto oom;
    const struct scenario *s = p->scenario_file ? p->scenario : NULL;  /* steps are tagged for a file's */
    if (s && s->nstats) {
        if (!(h->tags = calloc(s->nstats, sizeof(*h->tags)))) goto oom;
        h->ntags = s->nstats;
        if (hdrlog_tags(h->tags, s->stat_names, s->nstats)) goto oom;
    }
    /* stdout is written where it stands, as --json's (report_json.c) */
    if (!(h->f = p->to_stdout == TO_STDOUT_HDR_LOG ? stdout : fopen(path, "w"))) {
        snprintf(err, errlen, "--hdr-log: cannot create %s: %s", path, strerror(errno));
        goto fail;
    }
    return h;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (h) {
        for (uint32_t i = 0; i < h->ntags; i++) free(h->tags[i]);
        free(h->tags);
        free(h->path);
        free(h);
    }
    return NULL;
}

void hdrlog_begin(struct hdrlog *h, double epoch)
{
    /* Java writes the date as java.util.Date.toString() does */
    char date[64] = "";
    time_t t = (time_t)epoch;
    struct tm tm;
    if (localtime_r(&t, &tm)) strftime(date, sizeof(date), "%a %b %d %H:%M:%S %Z %Y", &tm);
    if (fprintf(h->f,
                "#[Histogram log format version 1.3]\n"
                "#[Logged with barrage " BARRAGE_VERSION ": latency in microseconds]\n"
                "#[StartTime: %.3f (seconds since epoch), %s]\n"
                "#[BaseTime: %.3f (seconds since epoch)]\n"
                "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
                epoch, date, epoch) < 0 ||
        fflush(h->f))
        note_failure(h, errno);
}

static void write_line(struct hdrlog *h, const char *tag, const struct interval_rec *r, const struct hist *hist)
{
    size_t len;
    char *b64 = hdrlog_encode(hist, &len);
    if (!b64) {
        note_failure(h, ENOMEM);
        return;
    }
    /* the max of the counts encoded (a value past highest is counted at highest) */
    uint64_t top = hist->max < hist->highest ? hist->max : hist->highest;
    double max = hist->total ? (double)hist_index_high(hist_index(top)) / MAX_UNIT_RATIO : 0;
    if (fprintf(h->f, "%s%s%s%.3f,%.3f,%.3f,%s\n", tag ? "Tag=" : "", tag ? tag : "", tag ? "," : "", r->t0,
                r->t - r->t0, max, b64) < 0)
        note_failure(h, errno);
    free(b64);
}

void hdrlog_interval(struct hdrlog *h, const struct interval_view *v)
{
    write_line(h, NULL, v->rec, v->iv->latency);
    for (uint32_t i = 0; i < v->iv->nsteps && i < h->ntags; i++)
        write_line(h, h->tags[i], v->rec, v->iv->steps[i].latency);
    if (fflush(h->f)) note_failure(h, errno);
}

int hdrlog_close(struct hdrlog *h, char *err, size_t errlen)
{
    if (fflush(h->f) || ferror(h->f)) note_failure(h, errno);
    if (h->f != stdout && fclose(h->f)) note_failure(h, errno);
    int rc = 0;
    if (h->err) {
        snprintf(err, errlen, "--hdr-log: cannot write %s: %s", h->path, strerror(h->err));
        rc = -1;
    }
    for (uint32_t i = 0; i < h->ntags; i++) free(h->tags[i]);
    free(h->tags);
    free(h->path);
    free(h);
    return rc;
}
