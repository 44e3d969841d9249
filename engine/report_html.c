/* --html: not written yet (issue 12). */
#include "report_html.h"

int report_html(const char *path, const struct summary *s, char *err, size_t errlen)
{
    (void)path, (void)s;
    snprintf(err, errlen, "--html: not available yet");
    return -1;
}
