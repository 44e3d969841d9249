/* The scenario user state machine (engine/user.c): the walk through on_start and tasks,
 * think time, pacing, on_failure, the timer heap, rendering a request. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "user.h"

#define MS 1000000ull

static struct scn_step steps[4];
static struct scn_task tasks[2];
static struct scn_class cls;
static struct scenario scn;

/* One class: on_start [s0]; tasks: t0 = [s1] weight 1, t1 = [s2, s3] weight 1. */
static void build(enum think_kind think, uint64_t min_ns, uint64_t max_ns, enum on_failure onf)
{
    memset(steps, 0, sizeof(steps));
    for (int i = 0; i < 4; i++) {
        tpl_init(&steps[i].head);
        tpl_init(&steps[i].body);
        char line[64];
        int n = snprintf(line, sizeof(line), "GET /s%d HTTP/1.1\r\nHost: h\r\n", i);
        tpl_append_literal(&steps[i].head, line, (size_t)n);
        steps[i].stat = (uint32_t)i;
    }
    tpl_append_literal(&steps[2].body, "{\"a\":1}", 7);
    steps[2].has_body = true;
    tasks[0] = (struct scn_task){.weight = 1, .steps = &steps[1], .nsteps = 1};
    tasks[1] = (struct scn_task){.weight = 1, .steps = &steps[2], .nsteps = 2};
    cls = (struct scn_class){.name = "c", .weight = 1, .think = think, .think_min_ns = min_ns, .think_max_ns = max_ns,
                             .on_start = &steps[0], .non_start = 1, .tasks = tasks, .ntasks = 2, .total_weight = 2,
                             .on_failure = onf};
    scn = (struct scenario){.classes = &cls, .nclasses = 1, .var_bytes = 16};
}

static void unbuild(void)
{
    for (int i = 0; i < 4; i++) tpl_free(&steps[i].head), tpl_free(&steps[i].body);
}

static int step_no(struct user_pool *up, uint32_t i)
{
    return (int)(user_step(up, i) - steps);
}

static void on_start_then_tasks_in_order(void)
{
    build(THINK_NONE, 0, 0, ONFAIL_CONTINUE);
    struct user_pool up;
    char err[128];
    CHECK(user_pool_init(&up, &scn, 1, 0, 1, NULL, 0, 42, err, sizeof(err)) == 0);
    user_start(&up, 0, 0);
    CHECK_EQ_U(step_no(&up, 0), 0);
    CHECK(user_step_done(&up, 0, false, 1) == USER_SEND);
    int seen[4] = {0};
    for (int k = 0; k < 400; k++) {
        int s = step_no(&up, 0);
        seen[s]++;
        if (s == 2) {  /* the task t1 = [s2, s3]: s3 comes next */
            CHECK(user_step_done(&up, 0, false, 2) == USER_SEND);
            CHECK_EQ_U(step_no(&up, 0), 3);
            seen[3]++;
        }
        CHECK(user_step_done(&up, 0, false, 2) == USER_SEND);
    }
    CHECK_EQ_U(seen[0], 0);  /* on_start runs once */
    CHECK(seen[1] > 150 && seen[1] < 250);  /* the two tasks by weight 1:1 */
    CHECK_EQ_U(seen[2], seen[3]);
    user_pool_free(&up);
    unbuild();
}

static void think_uniform_waits_in_the_heap(void)
{
    build(THINK_UNIFORM, 100 * MS, 200 * MS, ONFAIL_CONTINUE);
    struct user_pool up;
    char err[128];
    CHECK(user_pool_init(&up, &scn, 3, 0, 1, NULL, 0, 7, err, sizeof(err)) == 0);
    for (uint32_t i = 0; i < 3; i++) user_start(&up, i, 0);
    for (uint32_t i = 0; i < 3; i++) {
        CHECK(user_step_done(&up, i, false, 0) == USER_SEND);  /* on_start -> first task */
        while (step_no(&up, i) == 2) user_step_done(&up, i, false, 0);
        CHECK(user_step_done(&up, i, false, 10 * MS * i) == USER_WAIT);  /* the task ends */
        CHECK(up.users[i].state == USER_THINKING);
        uint64_t w = up.users[i].wake - 10 * MS * i;
        CHECK(w >= 100 * MS && w <= 200 * MS);
    }
    CHECK_EQ_U(user_due(&up, 90 * MS), USER_NONE);
    /* they come out in order of their wake times */
    uint64_t last = 0;
    int n = 0;
    for (uint32_t i; (i = user_due(&up, 1000 * MS)) != USER_NONE; n++) {
        CHECK(up.users[i].wake >= last);
        last = up.users[i].wake;
        CHECK(up.users[i].state == USER_READY);
    }
    CHECK_EQ_U(n, 3);
    CHECK_EQ_U(user_next_wake(&up), UINT64_MAX);
    user_pool_free(&up);
    unbuild();
}

static void pace_starts_a_task_every_period(void)
{
    build(THINK_PACE, 100 * MS, 0, ONFAIL_CONTINUE);
    tasks[1].weight = 0;  /* only t0: one step per task */
    cls.total_weight = 1;
    struct user_pool up;
    char err[128];
    CHECK(user_pool_init(&up, &scn, 1, 0, 1, NULL, 0, 1, err, sizeof(err)) == 0);
    user_start(&up, 0, 0);
    CHECK(user_step_done(&up, 0, false, 5 * MS) == USER_SEND);  /* on_start done at 5 ms: t0 at once */
    CHECK(user_step_done(&up, 0, false, 30 * MS) == USER_WAIT);   /* t0 took 25 ms */
    CHECK_EQ_U(up.users[0].wake, 105 * MS);                       /* 100 ms after it started */
    CHECK_EQ_U(user_due(&up, 105 * MS), 0);
    CHECK(user_step_done(&up, 0, false, 250 * MS) == USER_SEND);  /* overran: the next at once */
    CHECK(user_step_done(&up, 0, false, 260 * MS) == USER_WAIT);
    CHECK_EQ_U(up.users[0].wake, 350 * MS);
    user_pool_free(&up);
    unbuild();
}

static void on_failure_stop_and_restart(void)
{
    build(THINK_NONE, 0, 0, ONFAIL_STOP);
    struct user_pool up;
    char err[128];
    CHECK(user_pool_init(&up, &scn, 1, 0, 1, NULL, 0, 3, err, sizeof(err)) == 0);
    user_start(&up, 0, 0);
    CHECK(user_step_done(&up, 0, true, 1) == USER_STOP);
    CHECK(up.users[0].state == USER_STOPPED);
    CHECK(user_step_done(&up, 0, false, 2) == USER_STOP);  /* stays stopped */
    user_start(&up, 0, 3);                                 /* a new user */
    CHECK(up.users[0].state == USER_READY);
    user_pool_free(&up);
    unbuild();

    build(THINK_CONST, 50 * MS, 0, ONFAIL_RESTART);
    CHECK(user_pool_init(&up, &scn, 1, 0, 1, NULL, 0, 3, err, sizeof(err)) == 0);
    user_start(&up, 0, 0);
    CHECK(user_step_done(&up, 0, false, 1) == USER_SEND);      /* on_start ok */
    CHECK(step_no(&up, 0) >= 1);
    CHECK(user_step_done(&up, 0, true, 10 * MS) == USER_WAIT);  /* failed: think, then on_start again */
    CHECK_EQ_U(user_due(&up, 60 * MS), 0);
    CHECK_EQ_U(step_no(&up, 0), 0);
    user_pool_free(&up);
    unbuild();
}

static void renders_head_length_and_body(void)
{
    build(THINK_NONE, 0, 0, ONFAIL_CONTINUE);
    struct user_pool up;
    char err[128], buf[256], scratch[64];
    CHECK(user_pool_init(&up, &scn, 1, 0, 1, NULL, 0, 3, err, sizeof(err)) == 0);
    user_start(&up, 0, 0);
    size_t need, n = user_render(&up, 0, buf, sizeof(buf), scratch, sizeof(scratch), &need, 0);
    CHECK_EQ_U(need, 0);
    CHECK(n == strlen("GET /s0 HTTP/1.1\r\nHost: h\r\n\r\n") && !memcmp(buf, "GET /s0 HTTP/1.1\r\nHost: h\r\n\r\n", n));
    /* s2 has a body: Content-Length, then the body */
    up.users[0].task = 1, up.users[0].step = 0;
    n = user_render(&up, 0, buf, sizeof(buf), scratch, sizeof(scratch), &need, 0);
    const char *want = "GET /s2 HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
    CHECK(n == strlen(want) && !memcmp(buf, want, n));
    /* too small: the length needed, and then it fits */
    n = user_render(&up, 0, buf, 10, scratch, sizeof(scratch), &need, 0);
    CHECK(n > 10 && need == 0);
    n = user_render(&up, 0, buf, sizeof(buf), scratch, 3, &need, 0);
    CHECK_EQ_U(need, 7);
    user_pool_free(&up);
    unbuild();
}

static void users_keep_their_run_wide_numbers_and_classes(void)
{
    build(THINK_NONE, 0, 0, ONFAIL_CONTINUE);
    uint32_t class_of[12] = {0};
    struct user_pool up;
    char err[128];
    CHECK(user_pool_init(&up, &scn, 4, 1, 3, class_of, 1, 3, err, sizeof(err)) == 0);
    for (uint32_t i = 0; i < 4; i++) CHECK_EQ_U(up.users[i].gid, 1 + 3 * i);
    user_pool_free(&up);
    unbuild();
}

int main(void)
{
    RUN(on_start_then_tasks_in_order);
    RUN(think_uniform_waits_in_the_heap);
    RUN(pace_starts_a_task_every_period);
    RUN(on_failure_stop_and_restart);
    RUN(renders_head_length_and_body);
    RUN(users_keep_their_run_wide_numbers_and_classes);
    return check_failed_cases != 0;
}
