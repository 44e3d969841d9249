/* A load run: start the workers, report each interval, stop, summarize. */
#ifndef BARRAGE_RUN_H
#define BARRAGE_RUN_H

#include "plan.h"

/* Runs the plan to completion; returns the process exit code. */
int run_load(struct plan *p);

/* Raises RLIMIT_NOFILE for `need` descriptors. Returns 0, or -1 with a message naming
 * the limit and the fix. */
int raise_fd_limit(uint64_t need, char *err, size_t errlen);

#endif
