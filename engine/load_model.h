/* The load model of a run, decided from the flags: closed loop with a fixed or shaped
 * number of users, open loop at a constant or shaped rate, or the breaking-point search.
 *
 * cli.c collects the raw flags into struct load_args while parsing (their order does not
 * matter: a preset may need -d given after it), then load_model_resolve() checks how they
 * combine and fills the plan's load fields. Ownership: load_args owns `stages` (joined
 * --stage values); load_args_free() releases it.
 */
#ifndef BARRAGE_LOAD_MODEL_H
#define BARRAGE_LOAD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

struct load_args {
    char *stages;              /* owned: every --stages/--stage, joined with ',' */
    const char *preset;        /* --shape */
    const char *shape_file;    /* --shape-file */
    bool open;                 /* --open */
    double users, spawn_rate;  /* --users, --spawn-rate (Locust) */
    uint64_t run_time_ns;      /* --run-time */
    bool duration_set, count_set, connections_set;
};

/* Appends one --stages value. Returns 0, or -1 when out of memory. */
int load_args_add_stages(struct load_args *a, const char *text);
void load_args_free(struct load_args *a);

/* Checks the combination and fills p->open_loop, shaped, shape, connections, duration.
 * Returns 0, or -1 with a one-line message in err. */
int load_model_resolve(struct plan *p, const struct load_args *a, char *err, size_t errlen);

#endif
