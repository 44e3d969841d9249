/* barrage: an HTTP/1.1 load generator on io_uring.  `barrage --help` */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hdrlog.h"
#include "plan.h"
#include "run.h"
#include "serve.h"
#include "tls.h"

/* One line, whatever the message quotes of the command line: control characters (a CR
 * or LF in a header or URL given) are shown escaped. */
static void print_error(const char *err)
{
    fputs("barrage: ", stderr);
    for (const unsigned char *c = (const unsigned char *)err; *c; c++) {
        if (*c == '\r') fputs("\\r", stderr);
        else if (*c == '\n') fputs("\\n", stderr);
        else if (*c < 0x20 || *c == 0x7f) fprintf(stderr, "\\x%02x", *c);
        else fputc(*c, stderr);
    }
    fputc('\n', stderr);
}

/* The report goes to standard output: a write that failed there (a full disk, a reader
 * that went away) fails the run too, as a --json file that cannot be written does. A
 * reader that left on purpose (| head) gets no message. */
static int stdout_checked(int code)
{
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return code;
    if (errno != EPIPE) fprintf(stderr, "barrage: cannot write the report to standard output: %s\n",
                                strerror(errno ? errno : EIO));
    return code ? code : 1;
}

int main(int argc, char **argv)
{
    tls_alloc_install();    /* first: OpenSSL takes an allocator only before its first allocation */
    if (argc > 1 && !strcmp(argv[1], "serve")) return serve_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "hdrlog-read")) return hdrlog_read_main(argc - 1, argv + 1);  /* tests */

    struct plan plan;
    char err[PLAN_ERR_LEN];
    int code;
    switch (cli_parse(&plan, argc, argv, err, sizeof(err))) {
    case CLI_EXIT_OK:
        code = 0;
        break;
    case CLI_EXIT_USAGE:
        print_error(err);
        code = 2;
        break;
    default:
        if (plan_prepare(&plan, err, sizeof(err))) {
            print_error(err);
            code = 2;
            break;
        }
        code = stdout_checked(run_load(&plan));
    }
    plan_free(&plan);
    return code;
}
