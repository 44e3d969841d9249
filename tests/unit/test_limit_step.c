/* The plans of --find-limit's steps (engine/limit_step.c): requests per arriving user,
 * the open-loop, closed-loop and probe plans with and without a scenario, and what each
 * step plan owns. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "limit_step.h"
#include "scenario.h"

/* Class a (weight 3): on_start 1 step, tasks /x (weight 1) and a sequence of 2 (weight 3),
 * so 1 + (1 + 3 x 2) / 4 = 2.75 requests; class b (weight 1): 1. Mean: (3 x 2.75 + 1) / 4. */
static const char yaml[] = "target: http://127.0.0.1:9\n"
                           "users:\n"
                           "  - name: a\n"
                           "    weight: 3\n"
                           "    think: 1s..2s\n"
                           "    on_start:\n"
                           "      - get: /login\n"
                           "    tasks:\n"
                           "      - get: /x\n"
                           "      - weight: 3\n"
                           "        sequence:\n"
                           "          - get: /y\n"
                           "          - get: /z\n"
                           "  - name: b\n"
                           "    weight: 1\n"
                           "    pace: 1s\n"
                           "    tasks:\n"
                           "      - get: /only\n";

static int load(struct scenario *s)
{
    char err[512] = "";
    struct scenario_options opt = {0};
    int rc = scenario_parse(s, yaml, strlen(yaml), "t.yaml", ".", &opt, err, sizeof(err));
    if (rc) printf("  unexpected error: %s\n", err);
    return rc;
}

/* A plan as cli_parse and plan_prepare leave it for --find-limit (no workers started). */
static void parent(struct plan *p, struct scenario *s)
{
    memset(p, 0, sizeof(*p));
    p->find_limit = true;
    p->connections = 100;
    p->threads = 4;
    p->step_ns = 1000000000ull;
    p->timeout_ns = 2000000000ull;
    p->scenario = s;
    p->scenario_file = s ? "t.yaml" : NULL;
}

/* The scenario above and a parent plan for it; false (a failed check) if it did not load. */
static bool fixture(struct scenario *s, struct plan *p)
{
    if (load(s)) {
        CHECK(0);
        return false;
    }
    parent(p, s);
    return true;
}

static void requests_per_arrival(void)
{
    struct scenario s;
    if (load(&s)) {
        CHECK(0);
        return;
    }
    CHECK(fabs(limit_requests_per_arrival(&s) - (3 * 2.75 + 1) / 4) < 1e-9);
    scenario_free(&s);
}

static void open_steps(void)
{
    struct scenario s;
    struct plan p, st;
    char err[256];
    if (!fixture(&s, &p)) return;
    CHECK(limit_step_plan(&st, &p, STEP_OPEN, 250, err, sizeof(err)) == 0);
    CHECK(st.open_loop && st.rate == 250 && !st.find_limit && st.duration_ns == p.step_ns);
    CHECK(st.share_connections && st.pool == 100 && st.latency_from_wait);  /* the users share -c */
    CHECK(st.max_queue == 1024 && st.class_of == NULL);  /* 250/s x 2s timeout: the floor */
    CHECK(shape_max(&st.shape) == 250);
    limit_step_free(&st, &p);
    CHECK(st.scenario == &s);

    p.pool = 3;  /* --share-connections --pool 3: the pool, and at most a worker per connection */
    CHECK(limit_step_plan(&st, &p, STEP_OPEN, 250, err, sizeof(err)) == 0);
    CHECK(st.pool == 3 && st.threads == 3);
    limit_step_free(&st, &p);
    CHECK(limit_open_pool(&p) == 3);

    /* A file's static program runs as users once its arrivals share a pool (plan.c). */
    p.pool = 0;
    p.static_program = true;
    CHECK(limit_step_plan(&st, &p, STEP_OPEN, 250, err, sizeof(err)) == 0);
    CHECK(st.share_connections && !st.static_program);
    limit_step_free(&st, &p);

    /* The quick mode (its one-step program from quick_program.c): requests over -c
     * connections, timed as -R times them, still pre-rendered. */
    p.scenario_file = NULL;
    CHECK(limit_step_plan(&st, &p, STEP_OPEN, 250, err, sizeof(err)) == 0);
    CHECK(st.open_loop && !st.share_connections && !st.latency_from_wait && st.connections == 100);
    CHECK(st.static_program);
    limit_step_free(&st, &p);
    CHECK(limit_open_pool(&p) == 100);
    scenario_free(&s);
}

static void closed_steps(void)
{
    struct scenario s;
    struct plan p, st;
    char err[256];
    if (!fixture(&s, &p)) return;
    /* more users than -c: each has a class, 3 of a to 1 of b */
    CHECK(limit_step_plan(&st, &p, STEP_CLOSED, 400, err, sizeof(err)) == 0);
    CHECK(!st.open_loop && st.connections == 400 && !st.share_connections && !st.latency_from_wait);
    CHECK(st.class_of != NULL);
    unsigned b = 0;
    for (unsigned i = 0; st.class_of && i < 400; i++) b += st.class_of[i] == 1;
    CHECK_EQ_U(b, 100);
    limit_step_free(&st, &p);
    CHECK(st.class_of == NULL);

    CHECK(limit_step_plan(&st, &p, STEP_CLOSED, 2, err, sizeof(err)) == 0);
    CHECK(st.connections == 2 && st.threads == 2);
    limit_step_free(&st, &p);

    p.share_connections = true;  /* the pool: a tenth of the users, or --pool (at most the users) */
    CHECK(limit_step_plan(&st, &p, STEP_CLOSED, 400, err, sizeof(err)) == 0);
    CHECK(st.share_connections && st.pool == 40 && st.latency_from_wait);
    limit_step_free(&st, &p);
    CHECK(limit_step_plan(&st, &p, STEP_CLOSED, 5, err, sizeof(err)) == 0);
    CHECK(st.pool == 1 && st.threads == 1);
    limit_step_free(&st, &p);
    p.pool = 8;
    CHECK(limit_step_plan(&st, &p, STEP_CLOSED, 5, err, sizeof(err)) == 0);
    CHECK(st.pool == 5);
    limit_step_free(&st, &p);
    scenario_free(&s);
}

/* The probe: closed loop, as many users as the open-loop steps have connections, and none
 * of them thinks or paces; the parent's scenario is left as it was. */
static void probe(void)
{
    struct scenario s;
    struct plan p, st;
    char err[256];
    if (!fixture(&s, &p)) return;
    p.share_connections = true;
    p.pool = 20;
    CHECK(limit_step_plan(&st, &p, STEP_PROBE, 0, err, sizeof(err)) == 0);
    CHECK(!st.open_loop && st.connections == 20 && !st.share_connections && st.class_of != NULL);
    CHECK(st.scenario != &s && st.scenario->nclasses == 2 && !st.scenario->has_think);
    CHECK(st.scenario->classes[0].think == THINK_NONE && st.scenario->classes[1].think == THINK_NONE);
    CHECK(st.scenario->classes[0].tasks == s.classes[0].tasks);
    CHECK(s.classes[0].think == THINK_UNIFORM && s.classes[1].think == THINK_PACE && s.has_think);
    limit_step_free(&st, &p);
    CHECK(st.scenario == &s);
    scenario_free(&s);
}

int main(void)
{
    RUN(requests_per_arrival);
    RUN(open_steps);
    RUN(closed_steps);
    RUN(probe);
    CHECK_EXIT();
}
