/* Flags → load model. See load_model.h. */
#include "load_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RATE 1e8        /* req/s of an open-loop target, all workers together */
#define MAX_USERS 10000000  /* closed-loop users (connections) */

int load_args_add_stages(struct load_args *a, const char *text)
{
    size_t old = a->stages ? strlen(a->stages) : 0, add = strlen(text);
    char *s = realloc(a->stages, old + add + 2);
    if (!s) return -1;
    if (old) s[old++] = ',';
    memcpy(s + old, text, add + 1);
    a->stages = s;
    return 0;
}

void load_args_free(struct load_args *a)
{
    free(a->stages);
    a->stages = NULL;
}

/* Parses whichever shape source was given into p->shape. Returns 0, or -1. */
static int parse_shape(struct plan *p, const struct load_args *a, char *err, size_t errlen)
{
    double duration_s = a->duration_set ? (double)p->duration_ns / 1e9 : 0;
    if (a->stages) return shape_parse_stages(&p->shape, a->stages, err, errlen);
    if (a->preset) return shape_parse_preset(&p->shape, a->preset, duration_s, err, errlen);
    if (a->shape_file) {
        char why[PLAN_ERR_LEN];
        if (!shape_load_file(&p->shape, a->shape_file, why, sizeof(why))) return 0;
        return plan_error(err, errlen, "--shape-file: %s", why);
    }
    double run_s = a->run_time_ns ? (double)a->run_time_ns / 1e9 : duration_s;
    double rate = a->spawn_rate ? a->spawn_rate : 1;  /* Locust's default */
    if (!run_s) run_s = a->users / rate + (double)p->duration_ns / 1e9;
    return shape_locust(&p->shape, a->users, rate, run_s, err, errlen);
}

int load_model_resolve(struct plan *p, const struct load_args *a, char *err, size_t errlen)
{
    const char *src[4];
    unsigned nsrc = 0;
    if (a->stages) src[nsrc++] = "--stages";
    if (a->preset) src[nsrc++] = "--shape";
    if (a->shape_file) src[nsrc++] = "--shape-file";
    if (a->users > 0) src[nsrc++] = "--users";
    if (nsrc > 1) return plan_error(err, errlen, "%s and %s both give the load's shape; use one", src[0], src[1]);
    if ((a->spawn_rate > 0 || a->run_time_ns) && a->users <= 0)
        return plan_error(err, errlen, "%s needs --users", a->spawn_rate > 0 ? "--spawn-rate" : "--run-time");
    if (a->run_time_ns && a->duration_set)
        return plan_error(err, errlen, "--run-time and -d both give the duration; use one");
    if (a->open && !nsrc) return plan_error(err, errlen, "--open needs --stages, --shape or --shape-file (or use -R for a constant rate)");
    if (a->open && a->users > 0) return plan_error(err, errlen, "--users counts users: it does not combine with --open");
    if (p->rate > 0 && nsrc)
        return plan_error(err, errlen, "-R sets a constant rate; for a rate that follows %s, give --open instead (its targets are requests/s)", src[0]);

    if (p->find_limit) {
        if (nsrc || p->rate > 0) return plan_error(err, errlen, "--find-limit chooses the load itself: it does not combine with -R or a shape");
        if (a->duration_set || a->count_set) return plan_error(err, errlen, "--find-limit runs steps of --step-duration: -d and -n do not apply");
        if (p->pipeline > 1) return plan_error(err, errlen, "--find-limit does not combine with --pipeline");
        if (p->limit_closed && a->connections_set)
            return plan_error(err, errlen, "-c: --closed steps the number of users itself (--start-rate and --max-rate bound it)");
        if (p->limit_closed && (p->poisson || p->max_queue))
            return plan_error(err, errlen, "%s applies to open loop; --closed steps users", p->poisson ? "--arrival" : "--max-queue");
        if (!p->step_ns) p->step_ns = 5000000000ull;
        if (!p->slo_set && slo_parse(&p->slo, "errors<1%", "--slo", err, errlen)) return -1;
        if (p->start_load && p->max_load && p->start_load > p->max_load)
            return plan_error(err, errlen, "--start-rate is above --max-rate");
        double top = p->max_load > p->start_load ? p->max_load : p->start_load;
        const char *flag = p->max_load >= p->start_load ? "--max-rate" : "--start-rate";
        if (!p->limit_closed && top > MAX_RATE)
            return plan_error(err, errlen, "%s: %.0f req/s is more than barrage schedules (at most %.0f)", flag, top, MAX_RATE);
        if (p->limit_closed && top > MAX_USERS)
            return plan_error(err, errlen, "%s: %.0f users is more than barrage runs (at most %d)", flag, top, MAX_USERS);
        return 0;
    }
    if (p->limit_closed || p->step_ns || p->start_load || p->max_load)
        return plan_error(err, errlen, "%s only applies to --find-limit",
                          p->limit_closed ? "--closed" : p->step_ns ? "--step-duration" : p->start_load ? "--start-rate" : "--max-rate");
    /* --slo without --find-limit: the bounds the grade is computed against (threshold.c) */

    p->open_loop = p->rate > 0 || a->open;
    if (!p->open_loop && (p->poisson || p->max_queue))
        return plan_error(err, errlen, "%s applies to open loop: give -R or --open", p->poisson ? "--arrival" : "--max-queue");
    if (p->open_loop && p->pipeline > 1)
        return plan_error(err, errlen, "--pipeline is for closed loop; an open-loop request waits for a free connection instead");

    if (nsrc) {
        if (parse_shape(p, a, err, errlen)) return -1;
        p->shaped = true;
        if (a->run_time_ns) p->duration_ns = a->run_time_ns;
        else if (!a->duration_set) p->duration_ns = (uint64_t)(p->shape.total_s * 1e9 + 0.5);  /* -n too: whichever first */
        if (!p->duration_ns && !a->count_set)
            return plan_error(err, errlen, "%s lasts 0 s: give -d for how long to hold it", src[0]);
        double peak = shape_max(&p->shape);
        if (!p->open_loop) {
            if (a->connections_set)
                return plan_error(err, errlen, "-c and %s both give the number of users; the shape's peak (%.0f) sets the connections", src[0], peak);
            if (peak < 1) return plan_error(err, errlen, "%s never reaches one user", src[0]);
            if (peak > MAX_USERS) return plan_error(err, errlen, "%s peaks at %.0f users; at most %d", src[0], peak, MAX_USERS);
            p->connections = (uint32_t)floor(peak + 1e-9);
        } else if (peak <= 0) {
            return plan_error(err, errlen, "%s never has a rate above 0", src[0]);
        }
    } else if (p->open_loop) {
        shape_constant(&p->shape, p->rate, (double)p->duration_ns / 1e9);
    }
    /* Each arrival is scheduled one by one: far past what any machine can send, that alone
     * would outlast the run. */
    if (p->open_loop && shape_max(&p->shape) > MAX_RATE)
        return plan_error(err, errlen, "%s: %.0f req/s is more than barrage schedules (at most %.0f)",
                          nsrc ? src[0] : "-R", shape_max(&p->shape), MAX_RATE);
    return 0;
}
