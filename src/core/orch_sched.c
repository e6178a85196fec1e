/*
 * The scheduler of task runners (the local and kubernetes executors): the run's task list says what is ready
 * (wf_next_ready: an ANALYZE as soon as its batch exists, GENERATEs, the REPORT last), the runner says how many
 * more may start (process slots, the namespace's quota), and each task given to the runner is marked starting
 * until the runner reports it running. When every task has succeeded the runner is told to complete the run.
 *
 * It runs from its own zero timer, never inside a runner's callback: a runner's report only asks for a round.
 *
 * Retries: a runner says when a task ended for a reason outside its own code (task_lost); such a task is pending
 * again, up to TASK_RETRIES more times, unless the run is ending (a cancel stops retries at once). A task's
 * attempt is the number of times it was given to the runner.
 */
#include <stdio.h>

#include "core/orch_internal.h"
#include "util/log.h"

static int all_succeeded(const run_t *run)
{
    for (int t = 0; t < wf_task_count(run->batch_count); t++)
        if (!wf_task_done(run->tasks[t]))
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
        run->attempts[next]++;
        orch_cost_submitted(orch, next);
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

int orch_sched_lost(orch_t *orch, int task, const char *detail, char *say, size_t cap)
{
    run_t *run = orch->active;
    say[0] = '\0';
    if (run == NULL || task < 0 || task >= wf_task_count(run->batch_count))
        return 0;
    char label[32];
    wf_task_label(run->batch_count, task, label, sizeof(label));
    int attempt = run->attempts[task] > 0 ? run->attempts[task] : 1;
    if (run->status != RUN_RUNNING || orch->failed || orch->cancel_requested || orch->completing ||
        attempt > orch->cfg->task_retries) {
        if (!orch->failed && !orch->cancel_requested && attempt > 1)
            snprintf(say, cap, "%s attempt %d of %d ended: %s", label, attempt, orch->cfg->task_retries + 1,
                     detail ? detail : "lost");
        return 0;
    }
    log_warn("orch", "run %s: %s attempt %d ended for a reason outside the task (%s): retrying", run->id, label,
             attempt, detail ? detail : "lost");
    snprintf(say, cap, "%s attempt %d ended for a reason outside the task (%s); starting attempt %d of %d", label,
             attempt, detail ? detail : "lost", attempt + 1, orch->cfg->task_retries + 1);
    run->tasks[task] = TASK_PENDING;
    orch_sched_soon(orch);
    return 1;
}

void orch_sched_on_task_lost(void *data, int task, const char *detail)
{
    orch_t *orch = data;
    char line[1400];
    int again = orch_sched_lost(orch, task, detail, line, sizeof(line));
    if (line[0])
        orch_say(orch, "%s", line);
    if (again)
        orch_emit_progress(orch, task);
    else
        orch->listener.task_finished(orch->listener.data, task, TASK_FAILED, detail);
}
