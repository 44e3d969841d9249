/* The plan of one --find-limit step. See limit_step.h. */
#include "limit_step.h"

#include <stdlib.h>
#include <string.h>

#include "scenario.h"

uint32_t limit_open_pool(const struct plan *p)
{
    return p->scenario_file && p->pool ? p->pool : p->connections;
}

double limit_requests_per_arrival(const struct scenario *scn)
{
    double weights = 0, sum = 0;
    for (uint32_t k = 0; k < scn->nclasses; k++) {
        const struct scn_class *c = &scn->classes[k];
        double task = 0;
        for (uint32_t t = 0; t < c->ntasks && c->total_weight; t++)
            task += (double)c->tasks[t].weight * c->tasks[t].nsteps / (double)c->total_weight;
        weights += c->weight;
        sum += c->weight * (c->non_start + task);
    }
    return weights > 0 && sum > 0 ? sum / weights : 1;
}

/* The scenario with every class's think time and pacing taken out: the probe measures what
 * the server gives back, not what users who pause between tasks ask of it. Shares all but
 * the class array with `scn`. */
static struct scenario *without_think(const struct scenario *scn)
{
    struct scenario *copy = malloc(sizeof(*copy));
    struct scn_class *classes = malloc((scn->nclasses ? scn->nclasses : 1) * sizeof(*classes));
    if (!copy || !classes) {
        free(copy);
        free(classes);
        return NULL;
    }
    *copy = *scn;
    memcpy(classes, scn->classes, scn->nclasses * sizeof(*classes));
    for (uint32_t k = 0; k < scn->nclasses; k++) {
        classes[k].think = THINK_NONE;
        classes[k].think_min_ns = classes[k].think_max_ns = 0;
    }
    copy->classes = classes;
    copy->has_think = false;
    return copy;
}

/* Closed loop over `users` users: each its own connection, or sharing the pool. */
static int closed_users(struct plan *st, const struct plan *p, uint32_t users, bool share, char *err, size_t errlen)
{
    st->open_loop = false;
    st->connections = users;
    st->share_connections = share;
    if (share) {
        st->static_program = false;  /* users sharing a pool run as users (plan.c) */
        uint32_t tenth = users / 10 ? users / 10 : 1;
        st->pool = p->pool ? (p->pool < users ? p->pool : users) : tenth;
        st->latency_from_wait = true;  /* a pool too small for the users shows in the latency */
        if (st->threads > st->pool) st->threads = st->pool;
    }
    if (st->threads > users) st->threads = users;
    if (!p->scenario_file) return 0;
    st->class_of = calloc(users, sizeof(*st->class_of));  /* users beyond -c need a class too */
    if (!st->class_of) return plan_error(err, errlen, "out of memory for %u users", users);
    scenario_assign_classes(p->scenario, users, st->class_of);
    return 0;
}

int limit_step_plan(struct plan *st, const struct plan *p, enum limit_step_kind kind, double load, char *err,
                    size_t errlen)
{
    *st = *p;
    st->shape = (struct shape){0};
    st->shaped = false;
    st->find_limit = false;
    st->json_path = NULL;
    st->class_of = NULL;
    st->duration_ns = p->step_ns;
    st->max_requests = 0;
    st->interval_ns = p->step_ns / 10 < 10000000 ? 10000000 : p->step_ns / 10;
    if (kind == STEP_PROBE) {
        if (p->scenario_file && !(st->scenario = without_think(p->scenario)))
            return plan_error(err, errlen, "out of memory for the probe");
        if (closed_users(st, p, limit_open_pool(p), false, err, errlen)) {
            limit_step_free(st, p);
            return -1;
        }
        return 0;
    }
    if (kind == STEP_CLOSED) return closed_users(st, p, (uint32_t)load, p->share_connections, err, errlen);
    st->open_loop = true;
    st->rate = load;
    shape_constant(&st->shape, load, (double)p->step_ns / 1e9);
    if (!p->max_queue) {
        double q = load * ((double)p->timeout_ns / 1e9);
        st->max_queue = q < 1024 ? 1024 : q > (1 << 20) ? (1 << 20) : (uint64_t)q;
    }
    if (p->scenario_file) {  /* each arrival a user running one task, on the shared pool (as -R does) */
        st->share_connections = true;
        st->static_program = false;
        st->pool = limit_open_pool(p);
        st->latency_from_wait = true;  /* an overloaded pool shows in the latency, as in the quick mode */
        if (st->threads > st->pool) st->threads = st->pool;
    }
    return 0;
}

void limit_step_free(struct plan *st, const struct plan *p)
{
    shape_free(&st->shape);
    free(st->class_of);
    st->class_of = NULL;
    if (st->scenario != p->scenario) {
        free(st->scenario->classes);
        free(st->scenario);
    }
    st->scenario = p->scenario;
}
