/* The plan of one --find-limit step (or of its probe), derived from the run's plan.
 *
 * Quick mode: open loop, a constant rate in req/s over -c connections; closed loop, that
 * many users (connections). With a scenario: open loop, a constant rate of arriving users
 * (each runs on_start and one task) sharing the pool (--pool, else -c), their requests timed
 * from the start of their wait for a connection; closed loop, that many users, each with its
 * own connection, or with --share-connections sharing --pool (default: a tenth of them).
 * The probe is a closed loop of as many users as the open-loop steps have connections; with
 * a scenario its users do not think (see find_limit.c).
 *
 * Ownership: a step plan shares the parent's buffers; what it owns itself (its shape, its
 * users' classes, the probe's copy of the scenario) limit_step_free() releases. */
#ifndef BARRAGE_LIMIT_STEP_H
#define BARRAGE_LIMIT_STEP_H

#include "plan.h"

enum limit_step_kind { STEP_OPEN, STEP_CLOSED, STEP_PROBE };

/* Fills *st for one step at `load` (req/s or users/s in open loop, users in closed loop;
 * ignored for the probe). Returns 0, or -1 with err set (out of memory). */
int limit_step_plan(struct plan *st, const struct plan *p, enum limit_step_kind kind, double load, char *err,
                    size_t errlen);
void limit_step_free(struct plan *st, const struct plan *p);

/* Connections the open-loop steps use, and so the probe's users. */
uint32_t limit_open_pool(const struct plan *p);

/* Requests one open-loop arrival of the scenario sends: its class's on_start steps and one
 * task, averaged over classes and tasks by weight (every step sent; a user that a failure
 * stops sends fewer). */
double limit_requests_per_arrival(const struct scenario *scn);

#endif
