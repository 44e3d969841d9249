/* --find-limit: the breaking-point search, driven step by step through run_once().
 * The policy (which load next, when it broke) is shapes/limit.c; this file runs the
 * steps, measures them against the SLO and reports. */
#ifndef BARRAGE_FIND_LIMIT_H
#define BARRAGE_FIND_LIMIT_H

#include "plan.h"

/* Runs the search; prints the steps and the result, writes --json. Returns the exit code. */
int find_limit(const struct plan *p);

#endif
