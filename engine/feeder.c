/* Feeders: an RFC 4180 CSV reader into one block of unquoted, NUL-terminated cells. */
#include "feeder.h"
#include "errfmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Up to size-1 bytes of s for a one-line message: control bytes as '?', "..." if cut. */
static void printable(char *out, size_t size, const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < size; i++) out[n++] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    if (n < len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

void feeder_free(struct feeder *f)
{
    if (!f) return;
    free(f->name);
    free(f->columns);  /* the names point into storage */
    free((void *)f->cells);
    free(f->cell_len);
    free(f->storage);
    memset(f, 0, sizeof(*f));
}

/* A line end at text[i]: LF, CRLF, or a CR that ends the text. */
static inline bool line_end(const char *text, size_t i, size_t len)
{
    return text[i] == '\n' || (text[i] == '\r' && (i + 1 == len || text[i + 1] == '\n'));
}

/* Steps over the line end at text[i] (if any); returns the index after it. */
static inline size_t skip_line_end(const char *text, size_t i, size_t len)
{
    if (i < len && text[i] == '\r') i++;
    if (i < len && text[i] == '\n') i++;
    return i;
}

/* The cells found so far: offsets into storage and lengths. */
struct cellvec {
    size_t *off;
    uint32_t *len;
    size_t n, cap;
};

static int cellvec_push(struct cellvec *v, size_t off, size_t len)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        size_t *o = realloc(v->off, cap * sizeof(*o));
        if (!o) return -1;
        v->off = o;
        uint32_t *l = realloc(v->len, cap * sizeof(*l));
        if (!l) return -1;
        v->len = l;
        v->cap = cap;
    }
    v->off[v->n] = off;
    v->len[v->n] = (uint32_t)len;
    v->n++;
    return 0;
}

int feeder_parse(struct feeder *f, const char *name, const char *text, size_t len, const char *where,
                 char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    struct cellvec cv = {0};
    char *storage = NULL;
    int rc = -1;

    const char *nul = memchr(text, '\0', len);
    if (nul) {
        size_t line = 1;
        for (const char *p = text; p < nul; p++) line += *p == '\n';
        errfmt(err, errlen, "%s:%zu: a NUL byte", where, line);
        goto out;
    }
    if (len >= UINT32_MAX) {
        errfmt(err, errlen, "%s: too big (4 GiB or more)", where);
        goto out;
    }
    /* Every cell's unquoted bytes plus its NUL fit in the text's bytes plus one: a cell is
     * no longer than its source and each but the last has a separator after it. */
    storage = malloc(len + 1);
    if (!storage) {
        errfmt(err, errlen, "%s: out of memory", where);
        goto out;
    }

    size_t i = 0, line = 1, sp = 0, ncols = 0, nrecords = 0, header_line = 1;
    /* A UTF-8 byte order mark (Excel's "CSV UTF-8" writes one) is not part of the first
     * column's name. */
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) i = 3;
    while (i < len) {
        if (line_end(text, i, len)) {  /* an empty line */
            i = skip_line_end(text, i, len);
            line++;
            continue;
        }
        size_t rec_line = line, nfields = 0;
        for (;;) {
            size_t start = sp;
            if (i < len && text[i] == '"') {
                size_t qline = line;
                i++;
                for (;;) {
                    if (i >= len) {
                        errfmt(err, errlen, "%s:%zu: a quoted field is not closed", where, qline);
                        goto out;
                    }
                    char c = text[i];
                    if (c == '"') {
                        if (i + 1 < len && text[i + 1] == '"') {
                            storage[sp++] = '"';
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (c == '\n') line++;
                    storage[sp++] = c;
                    i++;
                }
                if (i < len && text[i] != ',' && !line_end(text, i, len)) {
                    errfmt(err, errlen, "%s:%zu: text after a closing quote (a quote inside a quoted field is written \"\")",
                               where, line);
                    goto out;
                }
            } else {
                while (i < len && text[i] != ',' && !line_end(text, i, len)) storage[sp++] = text[i++];
            }
            storage[sp++] = '\0';
            if (cellvec_push(&cv, start, sp - 1 - start)) {
                errfmt(err, errlen, "%s: out of memory", where);
                goto out;
            }
            nfields++;
            if (i < len && text[i] == ',') {
                i++;
                continue;
            }
            if (i < len) {
                i = skip_line_end(text, i, len);
                line++;
            }
            break;
        }
        if (nrecords == 0) {
            ncols = nfields;
            header_line = rec_line;
            for (size_t c = 0; c < ncols; c++) {
                if (cv.len[c] == 0) {
                    errfmt(err, errlen, "%s:%zu: column %zu of the header has no name", where, rec_line, c + 1);
                    goto out;
                }
                for (size_t d = 0; d < c; d++)
                    if (cv.len[d] == cv.len[c] && !memcmp(storage + cv.off[d], storage + cv.off[c], cv.len[c])) {
                        char shown[64];
                        printable(shown, sizeof(shown), storage + cv.off[c], cv.len[c]);
                        errfmt(err, errlen, "%s:%zu: column '%s' appears twice in the header", where, rec_line,
                                   shown);
                        goto out;
                    }
            }
        } else if (nfields != ncols) {
            errfmt(err, errlen, "%s:%zu: %zu field%s, the header has %zu", where, rec_line, nfields,
                       nfields == 1 ? "" : "s", ncols);
            goto out;
        }
        nrecords++;
    }
    if (nrecords == 0) {
        errfmt(err, errlen, "%s:1: empty, expected a header row of column names", where);
        goto out;
    }
    if (nrecords == 1) {
        errfmt(err, errlen, "%s:%zu: a header and no rows", where, header_line);
        goto out;
    }

    size_t ncells = cv.n - ncols;
    f->name = strdup(name ? name : "");
    f->columns = malloc(ncols * sizeof(*f->columns));
    f->cells = malloc(ncells * sizeof(*f->cells));
    f->cell_len = malloc(ncells * sizeof(*f->cell_len));
    if (!f->name || !f->columns || !f->cells || !f->cell_len) {
        errfmt(err, errlen, "%s: out of memory", where);
        goto out;
    }
    f->storage = storage;
    storage = NULL;
    f->order = FEED_SEQUENTIAL;
    f->ncols = (uint32_t)ncols;
    f->nrows = (uint32_t)(nrecords - 1);
    for (size_t c = 0; c < ncols; c++) f->columns[c] = f->storage + cv.off[c];
    for (size_t k = 0; k < ncells; k++) {
        f->cells[k] = f->storage + cv.off[ncols + k];
        f->cell_len[k] = cv.len[ncols + k];
        if (cv.len[ncols + k] > f->max_cell) f->max_cell = cv.len[ncols + k];
    }
    rc = 0;
out:
    free(cv.off);
    free(cv.len);
    free(storage);
    if (rc) feeder_free(f);
    return rc;
}

int feeder_column(const struct feeder *f, const char *col, size_t len)
{
    for (uint32_t c = 0; c < f->ncols; c++)
        if (strlen(f->columns[c]) == len && !memcmp(f->columns[c], col, len)) return (int)c;
    return -1;
}
