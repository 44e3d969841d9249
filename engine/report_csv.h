/* --csv PREFIX: Locust's three CSV files, in Locust's column order, so that spreadsheets and
 * scripts written for Locust keep working:
 *   PREFIX_stats.csv          one row per step name and one "Aggregated" (totals)
 *   PREFIX_stats_history.csv  one row per interval
 *   PREFIX_failures.csv       method, name, error, occurrences
 * Times are milliseconds, as Locust writes them. Ownership: csv_open() allocates;
 * csv_close() frees (accepts NULL). */
#ifndef BARRAGE_REPORT_CSV_H
#define BARRAGE_REPORT_CSV_H

#include "outputs.h"

struct csv_out;

/* Creates the three files (the history gets its header row). NULL with err set on failure. */
struct csv_out *csv_open(const char *prefix, const struct plan *p, char *err, size_t errlen);
void csv_begin(struct csv_out *c, double epoch);
/* Appends the interval's row(s) to PREFIX_stats_history.csv. */
void csv_interval(struct csv_out *c, const struct interval_view *v);
/* Writes PREFIX_stats.csv and PREFIX_failures.csv from the totals. 0, or -1 with err set. */
int csv_finish(struct csv_out *c, const struct summary *s, char *err, size_t errlen);
void csv_close(struct csv_out *c);

#endif
