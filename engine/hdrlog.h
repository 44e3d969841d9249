/* --hdr-log FILE: an HdrHistogram interval log of the latencies (the text format that
 * HdrHistogram's Java HistogramLogWriter emits, each interval a V2-compressed histogram in
 * base64; see ../shared/IOURING-NOTES.md), readable by HistogramLogProcessor and
 * HistogramLogAnalyzer; and a reader of such logs for the tests and `barrage hdrlog-read`.
 *
 * Our struct hist has HdrHistogram's counts layout for 3 significant digits and a lowest
 * discernible value of 1 (unit magnitude 0, 2048 sub-buckets), so counts go over index for
 * index. Values are microseconds: HistogramLogProcessor prints milliseconds with
 * -outputValueUnitRatio 1000.
 *
 * Ownership: hdrlog_open() allocates; hdrlog_close() frees. hdrlog_encode() and
 * hdrlog_decode() return what the caller frees (free(), hist_destroy()). A reader owns the
 * hist and tag of the line it returned until the next call or hdrlog_reader_destroy().
 */
#ifndef BARRAGE_HDRLOG_H
#define BARRAGE_HDRLOG_H

#include "outputs.h"

struct hdrlog;

/* Creates the file. NULL with err set on failure. */
struct hdrlog *hdrlog_open(const char *path, const struct plan *p, char *err, size_t errlen);
/* Writes the header: the start time. */
void hdrlog_begin(struct hdrlog *h, double epoch);
/* One line per interval for the latency, and one per scenario step name (Tag=NAME). */
void hdrlog_interval(struct hdrlog *h, const struct interval_view *v);
/* Flushes and closes the file, frees h. 0, or -1 with err set when a write failed. */
int hdrlog_close(struct hdrlog *h, char *err, size_t errlen);

/* A step name as a tag: commas, whitespace and control characters become '_' (the format
 * splits on commas and spaces); "" becomes "_". Writes at most len - 1 bytes and a NUL. */
void hdrlog_tag(char *out, size_t len, const char *name);
/* The tags of n step names into tags[0, n), each malloc'd, all different: a name whose tag
 * an earlier one has ("GET /a b" after "GET /a,b") gets "~2", then "~3"... Returns 0, or
 * -1 when memory ran out (what was allocated stays in tags, NULL after it, to be freed). */
int hdrlog_tags(char **tags, char *const *names, uint32_t n);

/* h as a V2 compressed histogram (cookie 0x1c849314, zlib) in base64, NUL-terminated; its
 * length in *len. NULL when out of memory. */
char *hdrlog_encode(const struct hist *h, size_t *len);

/* Refused (err, one line) beyond these: far more than any valid histogram takes. */
#define HDRLOG_MAX_LINE (16u << 20)      /* bytes of one line of a log */

/* The base64 of one V2 compressed histogram into a new hist. NULL with err set when it is
 * not one, or not one our hist holds exactly: other significant digits than 3, a lowest
 * discernible value other than 1, a normalizing index offset, counts past what its highest
 * trackable value allows, malformed counts, lengths that disagree. min and max are the
 * lowest and highest value of the first and last bucket with a count, sum the count-weighted
 * middles of the buckets (as HdrHistogram's mean); highest the header's, or more where
 * counts go past it (HdrHistogram keeps a whole last bucket). */
struct hist *hdrlog_decode(const char *b64, size_t len, char *err, size_t errlen);

/* One histogram line of a log. */
struct hdrlog_line {
    unsigned lineno;            /* 1-based */
    const char *tag;            /* Tag=NAME; NULL when the line has none */
    double start, length, max;  /* the first three columns as written (seconds, seconds,
                                   the max in the writer's unit) */
    double start_time;          /* #[StartTime: ...] seen before it; 0 when none */
    double base_time;           /* #[BaseTime: ...] seen before it; 0 when none */
    struct hist *hist;
};

struct hdrlog_reader;

/* Reads the log in f (which stays the caller's); `where` names it in messages. NULL when
 * out of memory. */
struct hdrlog_reader *hdrlog_reader_create(FILE *f, const char *where);
void hdrlog_reader_destroy(struct hdrlog_reader *r);
/* The next histogram line (comments, the legend and blank lines are skipped): 1 with *line
 * set, 0 at the end, -1 with err set to "WHERE:LINE: reason" for a line that is not one
 * (or a read error); the next call goes on after it. */
int hdrlog_next(struct hdrlog_reader *r, struct hdrlog_line *line, char *err, size_t errlen);

/* `barrage hdrlog-read FILE` (argv[0] is "hdrlog-read"): one CSV line per histogram line,
 * kind,tag,start,length,count,p50,p99,max, then "total" over the lines without a tag.
 * Values in the log's unit. Returns the exit status: 0, 1 (a bad line), 2 (usage). */
int hdrlog_read_main(int argc, char **argv);

#endif
