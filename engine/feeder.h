/* Feeders: rows of test data from a CSV file (data: in a scenario), one row per user.
 *
 * The CSV is RFC 4180: a header row of column names, then rows of as many fields;
 * fields may be quoted ("a, b", "say ""hi""") and span lines inside quotes; CRLF or LF
 * line ends; a final line end is optional; empty lines are skipped. The whole file is
 * read once at plan time; workers only read the cells.
 *
 * Which row a user takes: user j (run-wide number) takes row j mod nrows in
 * sequential order, or a row drawn at random when the user starts (FEED_RANDOM).
 * Ownership: a feeder owns everything it points to; feeder_free() releases it.
 */
#ifndef BARRAGE_FEEDER_H
#define BARRAGE_FEEDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum feed_order { FEED_SEQUENTIAL, FEED_RANDOM };

struct feeder {
    char *name;              /* as in the scenario's data: section */
    enum feed_order order;
    uint32_t ncols, nrows;
    char **columns;          /* ncols names */
    const char **cells;      /* nrows * ncols, row-major, NUL-terminated, into storage */
    uint32_t *cell_len;      /* nrows * ncols */
    uint32_t max_cell;       /* longest cell, bytes */
    char *storage;           /* owned: the unquoted cells */
};

/* Parses CSV text (len bytes; need not be NUL-terminated). `where` names the source in
 * messages ("users.csv"). Returns 0, or -1 with a one-line message naming where and the
 * line, e.g. "users.csv:4: 3 fields, the header has 2". A file with a header and no row,
 * an empty or duplicate column name, or a NUL byte is an error. */
int feeder_parse(struct feeder *f, const char *name, const char *text, size_t len, const char *where,
                 char *err, size_t errlen);
/* The column's index, or -1. */
int feeder_column(const struct feeder *f, const char *col, size_t len);
void feeder_free(struct feeder *f);

#endif
