/*
 * The scheduler of task runners (the local and kubernetes executors): the run's task list says what is ready
 * (wf_next_ready: an ANALYZE as soon as its batch exists, GENERATEs, the REPORT last), the runner says how many
 * more may start (process slots, the namespace's quota), and each task given to the runner is marked starting
 * until the runner reports it running. When every task has succeeded the runner is told to complete the run.
 *
 * It runs from its own zero timer, never inside a runner's callback: a runner's report only asks for a round.
 */
#include <stdio.h>

#include "core/orch_internal.h"
#include "util/log.h"

static int all_succeeded(const run_t *run)
{
    for (int t = 0; t < wf_task_count(run->batch_count); t++)
        if (run->tasks[t] != TASK_SUCCEEDED)
            return 0;
    return 1;
}

static void fail_task(orch_t *orch, int task, const char *why)
{
    orch->listener.task_finished(orch->listener.data, task, TASK_FAILED, why);
}

static void on_round(uv_timer_t *timer)
{
    orch_t *orch = timer->data;
    run_t *run = orch->active;
    const executor_ops_t *ops = orch->exec->ops;
    if (run == NULL || run->status != RUN_RUNNING || orch->failed || orch->cancel_requested || orch->completing ||
        orch->releasing)
        return;
    if (all_succeeded(run)) {
        orch->completing = 1;
        ops->complete(orch->exec);
        return;
    }
    int next = wf_next_ready(run->batch_count, run->tasks);
    if (next < 0)
        return; /* what runs has to end first */
    char why[900] = "";
    int room = ops->room(orch->exec, why, sizeof(why));
    if (room < 0) {
        fail_task(orch, next, why[0] ? why : "no room to start a task");
        return;
    }
    if (room == 0)
        return; /* the runner's room callback asks for the next round */
    for (; room > 0 && next >= 0; room--, next = wf_next_ready(run->batch_count, run->tasks)) {
        run->tasks[next] = TASK_STARTING;
        if (ops->run_task(orch->exec, next, why, sizeof(why)) != 0) {
            fail_task(orch, next, why[0] ? why : "the task could not start");
            return;
        }
    }
    orch_shared_save_soon(orch); /* a replica that takes the run over adopts what is starting */
}

void orch_sched_init(orch_t *orch)
{
    uv_timer_init(orch->loop, &orch->sched_timer);
    orch->sched_timer.data = orch;
}

void orch_sched_soon(orch_t *orch)
{
    if (orch->exec && orch->exec->ops->run_task)
        uv_timer_start(&orch->sched_timer, on_round, 0, 0);
}

void orch_sched_requeue(orch_t *orch, int task)
{
    run_t *run = orch->active;
    if (run == NULL || task < 0 || task >= wf_task_count(run->batch_count))
        return;
    if (run->tasks[task] == TASK_STARTING || run->tasks[task] == TASK_RUNNING) {
        log_debug("orch", "run %s: task %d is pending again", run->id, task);
        run->tasks[task] = TASK_PENDING;
    }
    orch_sched_soon(orch);
}
