/* --html FILE: one self-contained HTML report (no network fetches): summary and verdict,
 * charts over time from the intervals (dygraphs, embedded), the latency distribution,
 * steps, status codes, errors, connections and TLS, the watched server. */
#ifndef BARRAGE_REPORT_HTML_H
#define BARRAGE_REPORT_HTML_H

#include "report.h"

/* Writes the report. Returns 0, or -1 with err set. */
int report_html(const char *path, const struct summary *s, char *err, size_t errlen);

#endif
