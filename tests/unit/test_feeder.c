/* Feeders: CSV parsing (quotes, line ends, empty lines), errors naming where:line, loading
 * a file, column lookup. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "feeder.h"

static int parse(struct feeder *f, const char *text, char *err)
{
    err[0] = '\0';
    int rc = feeder_parse(f, "acc", text, strlen(text), "users.csv", err, 256);
    if (rc) printf("  error: %s\n", err);
    return rc;
}

static const char *cell(const struct feeder *f, uint32_t row, uint32_t col)
{
    return f->cells[row * f->ncols + col];
}

static void parses_a_plain_file(void)
{
    struct feeder f;
    char err[256];
    CHECK(parse(&f, "name,password\nalice,secret\nbob,hunter2\n", err) == 0);
    CHECK(!strcmp(f.name, "acc"));
    CHECK(f.order == FEED_SEQUENTIAL);
    CHECK_EQ_U(f.ncols, 2);
    CHECK_EQ_U(f.nrows, 2);
    CHECK(!strcmp(f.columns[0], "name") && !strcmp(f.columns[1], "password"));
    CHECK(!strcmp(cell(&f, 0, 0), "alice") && !strcmp(cell(&f, 0, 1), "secret"));
    CHECK(!strcmp(cell(&f, 1, 0), "bob") && !strcmp(cell(&f, 1, 1), "hunter2"));
    CHECK_EQ_U(f.cell_len[3], 7);
    CHECK_EQ_U(f.max_cell, 7);
    CHECK_EQ_U(feeder_column(&f, "password", 8), 1);
    CHECK_EQ_U(feeder_column(&f, "name", 4), 0);
    CHECK(feeder_column(&f, "pass", 4) == -1);
    CHECK(feeder_column(&f, "passwordx", 9) == -1);
    feeder_free(&f);
    CHECK(f.cells == NULL && f.storage == NULL && f.nrows == 0);
    feeder_free(&f);
}

static void quotes_line_ends_and_empty_lines(void)
{
    struct feeder f;
    char err[256];
    /* CRLF, a blank line, quoted comma, doubled quote, a newline inside quotes, an empty
     * field, an empty quoted field, no final line end */
    const char *csv = "a,b,c\r\n\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n\n,\"\",last";
    CHECK(parse(&f, csv, err) == 0);
    CHECK_EQ_U(f.nrows, 2);
    CHECK(!strcmp(cell(&f, 0, 0), "x, y"));
    CHECK(!strcmp(cell(&f, 0, 1), "say \"hi\""));
    CHECK(!strcmp(cell(&f, 0, 2), "two\nlines"));
    CHECK_EQ_U(f.cell_len[2], 9);
    CHECK(!strcmp(cell(&f, 1, 0), "") && f.cell_len[3] == 0);
    CHECK(!strcmp(cell(&f, 1, 1), "") && f.cell_len[4] == 0);
    CHECK(!strcmp(cell(&f, 1, 2), "last"));
    CHECK_EQ_U(f.max_cell, 9);
    feeder_free(&f);

    /* a trailing comma is one more (empty) field; a lone CR at the end is a line end;
     * spaces are kept */
    CHECK(parse(&f, "k,v,w\n1, 2 ,\r", err) == 0);
    CHECK_EQ_U(f.ncols, 3);
    CHECK_EQ_U(f.nrows, 1);
    if (f.nrows == 1) CHECK(!strcmp(cell(&f, 0, 1), " 2 ") && !strcmp(cell(&f, 0, 2), ""));
    feeder_free(&f);
}

static void one_column_and_quoted_header(void)
{
    struct feeder f;
    char err[256];
    CHECK(parse(&f, "\"id\"\n1\n2\n3\n", err) == 0);
    CHECK_EQ_U(f.ncols, 1);
    CHECK_EQ_U(f.nrows, 3);
    CHECK(!strcmp(f.columns[0], "id") && !strcmp(cell(&f, 2, 0), "3"));
    feeder_free(&f);
}

static void rejects_bad_files_naming_the_line(void)
{
    static const struct {
        const char *in, *err;
    } cases[] = {
        {"a,b\n1,2\n3,4,5\n", "users.csv:3: 3 fields, the header has 2"},
        {"a,b\n\n\n1\n", "users.csv:4: 1 field, the header has 2"},
        {"a,b\n\"1\n2\",3\n4\n", "users.csv:4: 1 field, the header has 2"},
        {"a,b\n", "users.csv:1: a header and no rows"},
        {"\n\na,b\n\n", "users.csv:3: a header and no rows"},
        {"", "users.csv:1: empty, expected a header row of column names"},
        {"\r\n\n", "users.csv:1: empty, expected a header row of column names"},
        {"a,,c\n1,2,3\n", "users.csv:1: column 2 of the header has no name"},
        {"a,b,a\n1,2,3\n", "users.csv:1: column 'a' appears twice in the header"},
        {"a,b\n1,\"2\n", "users.csv:2: a quoted field is not closed"},
        {"a,b\n1,\"2\"x\n", "users.csv:2: text after a closing quote (a quote inside a quoted field is written \"\")"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct feeder f;
        char err[256] = "";
        CHECK(feeder_parse(&f, "acc", cases[i].in, strlen(cases[i].in), "users.csv", err, sizeof(err)) == -1);
        if (strcmp(err, cases[i].err)) printf("  '%s': got '%s'\n", cases[i].in, err);
        CHECK(!strcmp(err, cases[i].err));
        CHECK(f.cells == NULL && f.storage == NULL && f.nrows == 0);
    }
    /* a NUL byte (the text need not be NUL-terminated, so it can hold one) */
    struct feeder f;
    char err[256];
    CHECK(feeder_parse(&f, "acc", "a\nb\n\0c\n", 7, "users.csv", err, sizeof(err)) == -1);
    CHECK(!strcmp(err, "users.csv:3: a NUL byte"));
    /* only len bytes are read */
    CHECK(feeder_parse(&f, "acc", "a\n1\nGARBAGE,\"", 4, "users.csv", err, sizeof(err)) == 0);
    CHECK_EQ_U(f.nrows, 1);
    feeder_free(&f);
}

static void skips_a_byte_order_mark(void)
{
    struct feeder f;
    char err[256];
    CHECK(parse(&f, "\xef\xbb\xbf" "a,b\n1,2\n", err) == 0);
    CHECK_EQ_U(feeder_column(&f, "a", 1), 0);
    CHECK(!strcmp(f.columns[0], "a"));
    CHECK(!strcmp(cell(&f, 0, 0), "1"));
    feeder_free(&f);
    /* only at the very start: elsewhere it is data */
    CHECK(parse(&f, "a\n\xef\xbb\xbfx\n", err) == 0);
    CHECK(!strcmp(cell(&f, 0, 0), "\xef\xbb\xbfx"));
    feeder_free(&f);
}

int main(void)
{
    RUN(parses_a_plain_file);
    RUN(quotes_line_ends_and_empty_lines);
    RUN(one_column_and_quoted_header);
    RUN(rejects_bad_files_naming_the_line);
    RUN(skips_a_byte_order_mark);
    CHECK_EXIT();
}
