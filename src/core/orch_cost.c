/*
 * Each task's cost in the run: the scheduler's submit, the start and end the executor reports, and the figures
 * executors learn (task_cost: the task's own usage line, wait4, a pod's times and node). A retried task's
 * previous attempt is kept as a past attempt (the trace lists every attempt).
 */
#include "core/orch_internal.h"
#include "util/clock.h"

static run_cost_t *cost_of(orch_t *orch, int task)
{
    run_t *run = orch->active;
    if (run == NULL || orch->releasing || task < 0 || task >= wf_task_count(run->batch_count))
        return NULL;
    return &run->costs[task];
}

void orch_cost_submitted(orch_t *orch, int task)
{
    run_cost_t *c = cost_of(orch, task);
    if (c == NULL)
        return;
    run_t *run = orch->active;
    if (c->attempt > 0 && c->attempt != run->attempts[task])
        run_cost_archive(run, task, TASK_FAILED); /* an attempt that ended outside the task: it runs again */
    c->attempt = run->attempts[task];
    c->submitted_ms = clock_now_ms();
}

void orch_cost_started(orch_t *orch, int task)
{
    run_cost_t *c = cost_of(orch, task);
    if (c == NULL)
        return;
    run_t *run = orch->active;
    if (c->attempt == 0)
        c->attempt = run->attempts[task] > 0 ? run->attempts[task] : 1;
    if (c->started_ms == 0)
        c->started_ms = run->task_started_ms[task];
    if (c->submitted_ms == 0) /* a workflow engine submits on its own: no earlier time than this is known */
        c->submitted_ms = c->started_ms;
}

void orch_cost_finished(orch_t *orch, int task)
{
    run_cost_t *c = cost_of(orch, task);
    if (c == NULL)
        return;
    if (c->finished_ms == 0)
        c->finished_ms = clock_now_ms();
    if (c->started_ms == 0) /* ended before it was seen running */
        c->started_ms = c->submitted_ms ? c->submitted_ms : c->finished_ms;
}

void orch_cost_on_report(void *data, int task, const run_cost_t *cost)
{
    orch_t *orch = data;
    run_cost_t *c = cost_of(orch, task), in = *cost;
    if (c == NULL)
        return;
    /* a pod's times are whole seconds of the cluster's clock, beside this service's milliseconds: a task never
     * starts before it was submitted here, nor ends before it started */
    int64_t submitted = in.submitted_ms ? in.submitted_ms : c->submitted_ms;
    if (in.started_ms && submitted > in.started_ms)
        in.started_ms = submitted;
    int64_t started = in.started_ms ? in.started_ms : c->started_ms;
    if (in.finished_ms && started > in.finished_ms)
        in.finished_ms = started;
    if (!run_cost_merge(c, &in))
        return;
    wf_task_state_t st = orch->active->tasks[task];
    if (st == TASK_SUCCEEDED || st == TASK_FAILED || st == TASK_CANCELLED)
        orch_emit_figures(orch, task); /* the figures came after its end (a pod's last lines): the news */
    else
        orch_shared_save_soon(orch); /* the next progress message carries them */
}
