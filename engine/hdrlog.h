/* --hdr-log FILE: an HdrHistogram interval log of the latencies (the text format that
 * HdrHistogram's Java HistogramLogWriter emits, each interval a V2-compressed histogram in
 * base64; see ../shared/IOURING-NOTES.md), readable by HistogramLogProcessor and
 * HistogramLogAnalyzer; and a reader of such logs for the tests.
 * Ownership: hdrlog_open() allocates; hdrlog_close() frees. */
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

#endif
