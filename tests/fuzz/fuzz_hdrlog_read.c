/* libFuzzer target for the HdrHistogram log reader (engine/hdrlog_read.c).
 *
 * The input is read three ways: as a log, every line to the end (a bad line is skipped
 * after its error); its last line on its own as the base64 of one histogram; and the whole
 * of it as a V2 encoding (header and counts), which the fuzzer compresses and wraps, so that
 * the header checks and the counts' decoding are reached without guessing zlib. Checks:
 * - an error is one line starting "in.hlog:LINE: " (or, for a lone histogram, a reason);
 * - a histogram read has total = the sum of its counts, min and max the bounds of its first
 *   and last bucket with a count, and no more counts than HdrHistogram allows (56320);
 * - encoding it again and decoding that gives the same counts and highest value.
 * The input is copied to a heap block of exactly its size (not NUL-terminated), so that
 * ASan sees any read past its end.
 *
 * Build: see the Makefile (FUZZ_LIB_fuzz_hdrlog_read); it needs zlib.
 */
#include "hdrlog.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void die(const char *why, const char *err)
{
    fprintf(stderr, "fuzz_hdrlog_read: %s (%s)\n", why, err ? err : "");
    abort();
}

static void check_hist(const struct hist *h)
{
    uint64_t total = 0;
    int64_t first = -1, last = -1;
    if (h->ncounts > 56320 || h->ncounts != hist_index(h->highest) + 1) die("counts array of the wrong size", NULL);
    for (uint32_t i = 0; i < h->ncounts; i++) {
        if (!h->counts[i]) continue;
        if (total + h->counts[i] < total) die("counts overflow", NULL);
        total += h->counts[i];
        if (first < 0) first = i;
        last = i;
    }
    if (total != h->total) die("total is not the sum of the counts", NULL);
    if (total && (h->min != hist_index_low((uint32_t)first) || h->max != hist_index_high((uint32_t)last)))
        die("min or max not the bounds of the buckets", NULL);

    size_t len;
    char *b64 = hdrlog_encode(h, &len);
    if (!b64) die("encode failed", NULL);
    char err[256];
    struct hist *back = hdrlog_decode(b64, len, err, sizeof(err));
    if (!back) die("our own encoding does not decode", err);
    if (back->highest != h->highest || back->ncounts != h->ncounts || back->total != h->total ||
        memcmp(back->counts, h->counts, (size_t)h->ncounts * sizeof(h->counts[0])))
        die("round trip changed the histogram", NULL);
    hist_destroy(back);
    free(b64);
}

static void check_error(const char *err, const char *prefix)
{
    if (strncmp(err, prefix, strlen(prefix))) die("error without its prefix", err);
    if (strchr(err, '\n') || strchr(err, '\r')) die("error message over two lines", err);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* data as a V2 encoding: compressed, behind the compressed cookie and length, in base64 */
static void decode_as_v2(const uint8_t *data, size_t size)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uLongf clen = compressBound(size);
    uint8_t *packed = malloc(8 + clen);
    if (compress2(packed + 8, &clen, data, size, 1) != Z_OK) die("compress failed", NULL);
    put_be32(packed, 0x1c849314);
    put_be32(packed + 4, (uint32_t)clen);
    size_t n = 8 + clen, o = 0;
    char *b64 = malloc(4 * ((n + 2) / 3));
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)packed[i] << 16 | (i + 1 < n ? (uint32_t)packed[i + 1] << 8 : 0) |
                     (i + 2 < n ? packed[i + 2] : 0);
        b64[o++] = abc[w >> 18];
        b64[o++] = abc[(w >> 12) & 63];
        b64[o++] = i + 1 < n ? abc[(w >> 6) & 63] : '=';
        b64[o++] = i + 2 < n ? abc[w & 63] : '=';
    }
    char err[256] = "";
    struct hist *h = hdrlog_decode(b64, o, err, sizeof(err));
    if (h) check_hist(h);
    else if (!err[0] || strchr(err, '\n')) die("no one-line reason", err);
    hist_destroy(h);
    free(b64);
    free(packed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size || size > 65536) return 0;
    char *text = malloc(size);
    memcpy(text, data, size);
    char err[512];

    FILE *f = fmemopen(text, size, "r");
    if (!f) die("fmemopen failed", NULL);
    struct hdrlog_reader *r = hdrlog_reader_create(f, "in.hlog");
    struct hdrlog_line l;
    int rc, lines = 0;
    while ((rc = hdrlog_next(r, &l, err, sizeof(err))) != 0) {
        if (++lines > 100000) die("more lines than the input has", NULL);
        if (rc < 0) {
            check_error(err, "in.hlog:");
            continue;
        }
        if (rc != 1 || !l.hist || l.lineno < 1) die("a line without its histogram", NULL);
        if (l.tag && strpbrk(l.tag, " ,\n")) die("a tag with a separator", l.tag);
        check_hist(l.hist);
    }
    hdrlog_reader_destroy(r);
    fclose(f);

    /* the last line alone, as one histogram's base64 */
    size_t start = size;
    while (start && text[start - 1] != '\n') start--;
    err[0] = 0;
    struct hist *h = hdrlog_decode(text + start, size - start, err, sizeof(err));
    if (h) check_hist(h);
    else if (!err[0] || strchr(err, '\n')) die("no one-line reason", err);
    hist_destroy(h);
    free(text);

    decode_as_v2(data, size);
    return 0;
}
