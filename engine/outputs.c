/* Dispatches the run's intervals and summary to the report files that were asked for. */
#include "outputs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errfmt.h"
#include "hdrlog.h"
#include "report_csv.h"
#include "report_html.h"
#include "watch.h"

struct outputs {
    const struct plan *plan;
    struct csv_out *csv;
    struct hdrlog *hdr;
    struct watch *watch;
};

int output_path_check(const char *flag, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* a FIFO read by another process (opening it would hand the reader an EOF),
         * /dev/stdout, ...: asked, not opened */
        if (S_ISDIR(st.st_mode)) errno = EISDIR;
        else if (!access(path, W_OK)) return 0;
        return errfmt_line(err, errlen, "%s: cannot create %s: %s", flag, path, strerror(errno));
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
        close(fd);
        unlink(path);
        return 0;
    }
    if (errno == EEXIST) {
        fd = open(path, O_WRONLY | O_CLOEXEC);
        /* a symlink to a file yet to be made: the write at the end makes it */
        if (fd < 0 && errno == ENOENT && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) return 0;
    }
    if (fd < 0) return errfmt_line(err, errlen, "%s: cannot create %s: %s", flag, path, strerror(errno));
    close(fd);
    return 0;
}

struct outputs *outputs_open(const struct plan *p, char *err, size_t errlen)
{
    struct outputs *o = calloc(1, sizeof(*o));
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    o->plan = p;
    if ((p->nwatch && !(o->watch = watch_open(p, err, errlen))) ||
        (p->csv_prefix && !(o->csv = csv_open(p->csv_prefix, p, err, errlen))) ||
        (p->hdr_log_path && !(o->hdr = hdrlog_open(p->hdr_log_path, p, err, errlen)))) {
        outputs_close(o);
        return NULL;
    }
    return o;
}

void outputs_begin(struct outputs *o, double epoch)
{
    if (o->csv) csv_begin(o->csv, epoch);
    if (o->hdr) hdrlog_begin(o->hdr, epoch);
}

void outputs_interval(struct outputs *o, struct interval_rec *rec, const struct stats *iv, const struct stats *total)
{
    if (o->watch) watch_sample(o->watch, rec);  /* first: the files and the live line show it */
    const struct interval_view v = {.rec = rec, .iv = iv, .total = total};
    if (o->csv) csv_interval(o->csv, &v);
    if (o->hdr) hdrlog_interval(o->hdr, &v);
}

const struct watch_result *outputs_watch_results(struct outputs *o)
{
    return o && o->watch ? watch_results(o->watch) : NULL;
}

int outputs_finish(struct outputs *o, const struct summary *s, char *err, size_t errlen)
{
    int rc = 0;
    char e[PLAN_ERR_LEN];
    /* the first failure is reported; the other files are still written */
#define KEEP_FIRST(call)                                               \
    do {                                                               \
        if ((call) && !rc) rc = -1, snprintf(err, errlen, "%s", e);    \
    } while (0)
    if (o->csv) KEEP_FIRST(csv_finish(o->csv, s, e, sizeof(e)));
    if (o->hdr) {
        KEEP_FIRST(hdrlog_close(o->hdr, e, sizeof(e)));
        o->hdr = NULL;
    }
    if (s->plan->html_path) KEEP_FIRST(report_html(s->plan->html_path, s, e, sizeof(e)));
#undef KEEP_FIRST
    return rc;
}

void outputs_close(struct outputs *o)
{
    if (!o) return;
    csv_close(o->csv);
    if (o->hdr) {
        char e[8];
        hdrlog_close(o->hdr, e, sizeof(e));
    }
    watch_close(o->watch);
    free(o);
}
