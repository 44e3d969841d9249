/* --csv: not written yet (issue 12). */
#include "report_csv.h"

struct csv_out *csv_open(const char *prefix, const struct plan *p, char *err, size_t errlen)
{
    (void)prefix, (void)p;
    snprintf(err, errlen, "--csv: not available yet");
    return NULL;
}
void csv_begin(struct csv_out *c, double epoch) { (void)c, (void)epoch; }
void csv_interval(struct csv_out *c, const struct interval_view *v) { (void)c, (void)v; }
int csv_finish(struct csv_out *c, const struct summary *s, char *err, size_t errlen)
{
    (void)c, (void)s, (void)err, (void)errlen;
    return 0;
}
void csv_close(struct csv_out *c) { (void)c; }
