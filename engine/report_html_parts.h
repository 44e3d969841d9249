/* Inside the --html report: the escaping helpers every part uses, and the tables
 * (report_html_tables.c) that report_html.c places on the page. Every string that did not
 * come from this program goes through html_esc. */
#ifndef BARRAGE_REPORT_HTML_PARTS_H
#define BARRAGE_REPORT_HTML_PARTS_H

#include <stdio.h>

#include "report.h"

/* s with & < > " ' as character references: safe as text and inside a quoted attribute. */
void html_esc(FILE *f, const char *s);
/* printf, then html_esc. */
void html_escf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "12.3 MiB" */
void html_format_bytes(char *buf, size_t len, double b);

/* Cards of the tables section, each a <section class="card ..."> of the page's grid. */
void html_latency_table(FILE *f, const struct summary *s);
void html_steps_table(FILE *f, const struct summary *s);   /* scenarios only */
void html_status_table(FILE *f, const struct summary *s);
void html_errors_table(FILE *f, const struct summary *s);
void html_connections_table(FILE *f, const struct summary *s);
/* What barrage used, with a warning when a worker had no CPU to spare. */
void html_client_table(FILE *f, const struct summary *s);
void html_watch_table(FILE *f, const struct summary *s);   /* --watch-pid only */

#endif
