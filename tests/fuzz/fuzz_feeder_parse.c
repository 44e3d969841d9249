/* libFuzzer target for the feeder's CSV reader.
 *
 * The input, copied to a heap block of exactly its size (not NUL-terminated, so that ASan
 * sees any read past the end), is parsed twice: into a full error buffer and a 9-byte one.
 * Checks:
 * - both parses agree; a failure returns -1, leaves the feeder zeroed and gives one line
 *   starting "in.csv:" (the tiny buffer holds its first 8 bytes);
 * - a success has columns and rows, non-empty distinct column names each found again by
 *   feeder_column, every cell NUL-terminated at its length inside storage, max_cell the
 *   longest cell, and the cells take no more than the input's bytes plus one;
 * - writing the header and rows back out with every field quoted and CRLF line ends
 *   parses again to the same columns and cells.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iengine tests/fuzz/fuzz_feeder_parse.c engine/feeder.c
 */
#include "feeder.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *why, const char *err)
{
    fprintf(stderr, "fuzz_feeder_parse: %s (%s)\n", why, err ? err : "");
    abort();
}

static bool zeroed(const struct feeder *f)
{
    return !f->name && !f->columns && !f->cells && !f->cell_len && !f->storage && !f->ncols && !f->nrows &&
           !f->max_cell;
}

/* Appends s quoted (quotes doubled) to out at *n. */
static void put_quoted(char *out, size_t *n, const char *s)
{
    out[(*n)++] = '"';
    for (; *s; s++) {
        if (*s == '"') out[(*n)++] = '"';
        out[(*n)++] = *s;
    }
    out[(*n)++] = '"';
}

static void check_feeder(const struct feeder *f, size_t size)
{
    if (f->ncols == 0 || f->nrows == 0) die("no columns or no rows", NULL);
    if (!f->name || strcmp(f->name, "acc")) die("name not kept", NULL);
    size_t bytes = 0;
    for (uint32_t c = 0; c < f->ncols; c++) {
        size_t len = strlen(f->columns[c]);
        if (len == 0) die("empty column name", NULL);
        if (feeder_column(f, f->columns[c], len) != (int)c) die("column not found again (duplicate?)", NULL);
        bytes += len + 1;
    }
    uint32_t longest = 0;
    for (size_t k = 0; k < (size_t)f->nrows * f->ncols; k++) {
        if (strlen(f->cells[k]) != f->cell_len[k]) die("cell length disagrees with its NUL", NULL);
        if (f->cells[k] < f->storage || f->cells[k] + f->cell_len[k] >= f->storage + size + 1)
            die("cell outside storage", NULL);
        if (f->cell_len[k] > longest) longest = f->cell_len[k];
        bytes += f->cell_len[k] + 1;
    }
    if (longest != f->max_cell) die("max_cell is not the longest cell", NULL);
    if (bytes > size + 1) die("cells take more than the input", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192) return 0;
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);

    struct feeder f, g;
    char err[256], tiny[9];
    int rc = feeder_parse(&f, "acc", text, size, "in.csv", err, sizeof(err));
    int rc2 = feeder_parse(&g, "acc", text, size, "in.csv", tiny, sizeof(tiny));
    free(text);
    if (rc != rc2) die("result depends on the error buffer", err);
    if (rc != 0) {
        if (rc != -1 || !zeroed(&f) || !zeroed(&g)) die("failure without -1 and a zeroed feeder", err);
        if (strncmp(err, "in.csv:", 7) || strncmp(tiny, err, 8) || strlen(tiny) != 8) die("bad error message", err);
        if (strchr(err, '\n') || strchr(err, '\r')) die("error message over two lines", err);
        feeder_free(&f);  /* harmless on a zeroed feeder */
        return 0;
    }
    feeder_free(&g);
    check_feeder(&f, size);

    /* write it back out, every field quoted: at worst each byte doubles, plus quotes,
     * commas and line ends per field */
    size_t cap = 2 * size + 4 * ((size_t)f.nrows + 1) * f.ncols + 16, n = 0;
    char *out = malloc(cap);
    for (uint32_t c = 0; c < f.ncols; c++) {
        if (c) out[n++] = ',';
        put_quoted(out, &n, f.columns[c]);
    }
    for (uint32_t r = 0; r < f.nrows; r++) {
        memcpy(out + n, "\r\n", 2);
        n += 2;
        for (uint32_t c = 0; c < f.ncols; c++) {
            if (c) out[n++] = ',';
            put_quoted(out, &n, f.cells[(size_t)r * f.ncols + c]);
        }
    }
    if (n > cap) die("round-trip buffer overrun", NULL);
    if (feeder_parse(&g, "acc", out, n, "again.csv", err, sizeof(err)) != 0) die("round trip failed", err);
    if (g.ncols != f.ncols || g.nrows != f.nrows || g.max_cell != f.max_cell) die("round trip changed the shape", NULL);
    for (uint32_t c = 0; c < f.ncols; c++)
        if (strcmp(g.columns[c], f.columns[c])) die("round trip changed a column", NULL);
    for (size_t k = 0; k < (size_t)f.nrows * f.ncols; k++)
        if (g.cell_len[k] != f.cell_len[k] || memcmp(g.cells[k], f.cells[k], f.cell_len[k]))
            die("round trip changed a cell", NULL);
    free(out);
    feeder_free(&g);
    feeder_free(&f);
    return 0;
}
