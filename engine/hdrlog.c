/* --hdr-log: not written yet (issue 12). */
#include "hdrlog.h"

struct hdrlog *hdrlog_open(const char *path, const struct plan *p, char *err, size_t errlen)
{
    (void)path, (void)p;
    snprintf(err, errlen, "--hdr-log: not available yet");
    return NULL;
}
void hdrlog_begin(struct hdrlog *h, double epoch) { (void)h, (void)epoch; }
void hdrlog_interval(struct hdrlog *h, const struct interval_view *v) { (void)h, (void)v; }
int hdrlog_close(struct hdrlog *h, char *err, size_t errlen)
{
    (void)h, (void)err, (void)errlen;
    return 0;
}
