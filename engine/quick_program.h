/* The quick mode (barrage URL) as a program: see quick_program.c. */
#ifndef BARRAGE_QUICK_PROGRAM_H
#define BARRAGE_QUICK_PROGRAM_H

#include "plan.h"

/* Compiles the command line's request (method, URL, headers, body, --expect-status,
 * --timeout) into p->scenario: one class, one task, one static step named
 * "METHOD path". -H 'Connection: close' turns keep-alive off, as --no-keepalive does.
 * Returns 0, or -1 with a one-line message in err. */
int quick_program(struct plan *p, char *err, size_t errlen);

#endif
