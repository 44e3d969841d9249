/* One-line error messages into a caller's buffer, for modules that stand alone (no plan.h):
 * `return errfmt(err, errlen, "...", ...);` formats (when err is given) and returns -1. */
#ifndef BARRAGE_ERRFMT_H
#define BARRAGE_ERRFMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

__attribute__((format(printf, 3, 4))) static inline int errfmt(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The same, with control characters of the result replaced by '?': one printable line
 * whatever the input quoted in it held. */
__attribute__((format(printf, 3, 4))) static inline int errfmt_line(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        for (char *p = err; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    }
    return -1;
}

#endif
