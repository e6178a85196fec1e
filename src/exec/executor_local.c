/*
 * The local executor: a task runner whose tasks are child processes of the service. The orchestrator's scheduler
 * gives it the tasks; it has room for LOCAL_PARALLELISM of them at once.
 *
 * Each task is started through the launcher (`pipeline-task exec TASK_PROGRAM <subcommand> ...`), which asks the
 * kernel to kill it when the service dies (PR_SET_PDEATHSIG) before it execs the task program; pipeline-task
 * itself, the default TASK_PROGRAM, does that on its own and is started directly. The task leads its own
 * process group, so stop() reaches everything it started.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/executor.h"
#include "exec/task_proc.h"
#include "util/log.h"
#include "util/text.h"

typedef struct local_exec local_exec_t;

typedef struct local_task {
    local_exec_t *owner;
    int index;
    task_proc_t *proc; /* NULL unless running */
} local_task_t;

struct local_exec {
    executor_t super;
    uv_loop_t *loop;
    const config_t *cfg;
    char launcher[1100];
    /* the current run */
    int active;
    int stopping;
    int ending; /* done() is on its way */
    exec_spec_t spec;
    char run_id[32], work_dir[1100], results_dir[1100];
    local_task_t tasks[WF_MAX_TASKS];
    int running;
    long long oom_kills; /* the cgroup's OOM kills when the run started (or at the last SIGKILL seen) */
    uv_timer_t grace_timer; /* SIGKILL for what SIGTERM did not stop */
    uv_timer_t done_timer;  /* fires done() from the loop, never from inside start() or stop() */
    int done_ok;
    char done_detail[512];
    int closing_handles;
};

static void fire_done(uv_timer_t *t)
{
    local_exec_t *ex = t->data;
    ex->active = 0;
    uv_timer_stop(&ex->grace_timer);
    ex->super.listener.done(ex->super.listener.data, ex->done_ok, ex->done_ok ? NULL : ex->done_detail);
}

static void finish(local_exec_t *ex, int ok, const char *detail)
{
    if (ex->ending)
        return;
    ex->ending = 1;
    ex->done_ok = ok;
    snprintf(ex->done_detail, sizeof(ex->done_detail), "%s", detail ? detail : "");
    uv_timer_start(&ex->done_timer, fire_done, 0, 0);
}

static void on_task_line(void *ctx, int is_stderr, const char *line, size_t len)
{
    local_task_t *t = ctx;
    t->owner->super.listener.task_log(t->owner->super.listener.data, t->index, is_stderr, line, len);
}

static void on_task_cost(void *ctx, const run_cost_t *cost)
{
    local_task_t *t = ctx;
    const exec_listener_t *l = &t->owner->super.listener;
    if (l->task_cost)
        l->task_cost(l->data, t->index, cost);
}

/* The OOM kills counted in the service's cgroup (its tasks share it): "oom_kill N" of cgroup v2's memory.events;
 * -1 when unknown. Two small reads of kernel files (no disk), at a task's SIGKILL and at a run's start. */
static long long cgroup_oom_kills(void)
{
    char line[512], path[700];
    long long n = -1;
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (f == NULL)
        return -1;
    path[0] = '\0';
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.events", line + 3);
        }
    fclose(f);
    if (path[0] == '\0' || (f = fopen(path, "re")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "oom_kill %lld", &n) == 1)
            break;
    fclose(f);
    return n;
}

static void on_task_exit(void *ctx, int ok, int term_signal, const char *detail)
{
    local_task_t *t = ctx;
    local_exec_t *ex = t->owner;
    const exec_listener_t *l = &ex->super.listener;
    wf_task_state_t state = ok ? TASK_SUCCEEDED : (ex->stopping && term_signal) ? TASK_CANCELLED : TASK_FAILED;
    t->proc = NULL;
    ex->running--;
    if (state == TASK_FAILED && term_signal == SIGKILL && l->task_lost) {
        /* not its own code: someone outside (the OOM killer, an operator) killed it; the scheduler may retry */
        long long kills = cgroup_oom_kills();
        char why[1200];
        snprintf(why, sizeof(why), "%s: %s",
                 kills > ex->oom_kills && ex->oom_kills >= 0
                     ? "killed by the out-of-memory killer (SIGKILL; oom_kill rose in the cgroup's memory.events)"
                     : "killed by SIGKILL from outside the task (out of memory?)",
                 detail ? detail : "signal 9");
        ex->oom_kills = kills;
        text_trim_partial_utf8(why);
        l->task_lost(l->data, t->index, why);
    } else {
        l->task_finished(l->data, t->index, state, detail);
    }
    if (ex->stopping && ex->running == 0)
        finish(ex, 0, "stopped");
}

/* The command line of a task, in `args` (storage for the strings) and `argv`. */
static void build_argv(local_exec_t *ex, int task, char args[][1100], char **argv)
{
    const exec_spec_t *s = &ex->spec;
    int n = 0, batch = wf_task_batch(s->batches, task);
    char gen_sleep[64], ana_sleep[64];
    text_format_seconds(gen_sleep, sizeof(gen_sleep), s->generate_seconds);
    text_format_seconds(ana_sleep, sizeof(ana_sleep), s->analyze_seconds);
    /* pipeline-task guards itself (PR_SET_PDEATHSIG, then PIPELINE_PARENT_PID): the launcher, one more exec
     * per task, is for any other TASK_PROGRAM */
    if (strcmp(ex->cfg->task_program, ex->launcher) != 0) {
        snprintf(args[n++], 1100, "%s", ex->launcher);
        snprintf(args[n++], 1100, "exec");
    }
    snprintf(args[n++], 1100, "%s", ex->cfg->task_program);
    switch (wf_task_stage(s->batches, task)) {
    case STAGE_GENERATE:
        snprintf(args[n++], 1100, "generate");
        snprintf(args[n++], 1100, "--batch=%d", batch);
        snprintf(args[n++], 1100, "--rows=%d", s->rows_per_batch);
        snprintf(args[n++], 1100, "--seed=%u", s->seed);
        snprintf(args[n++], 1100, "--sleep=%s", gen_sleep);
        snprintf(args[n++], 1100, "--out=%s/batch_%d.csv", s->results_dir, batch);
        break;
    case STAGE_ANALYZE:
        snprintf(args[n++], 1100, "analyze");
        snprintf(args[n++], 1100, "--batch=%d", batch);
        snprintf(args[n++], 1100, "--sleep=%s", ana_sleep);
        snprintf(args[n++], 1100, "--in=%s/batch_%d.csv", s->results_dir, batch);
        snprintf(args[n++], 1100, "--out=%s/stats_batch_%d.json", s->results_dir, batch);
        break;
    default:
        snprintf(args[n++], 1100, "report");
        snprintf(args[n++], 1100, "--out=%s/report.json", s->results_dir);
        for (int b = 1; b <= s->batches; b++)
            snprintf(args[n++], 1100, "%s/stats_batch_%d.json", s->results_dir, b);
        break;
    }
    for (int i = 0; i < n; i++)
        argv[i] = args[i];
    argv[n] = NULL;
}

static int local_room(executor_t *super, char *why, size_t cap)
{
    (void)why, (void)cap;
    local_exec_t *ex = (local_exec_t *)super;
    int room = ex->cfg->local_parallelism - ex->running;
    return ex->active && !ex->stopping && room > 0 ? room : 0;
}

static int local_run_task(executor_t *super, int task, char *why, size_t cap)
{
    local_exec_t *ex = (local_exec_t *)super;
    static char args[CONFIG_MAX_BATCH_COUNT + 8][1100];
    char *argv[CONFIG_MAX_BATCH_COUNT + 9];
    if (!ex->active || ex->stopping || task < 0 || task >= wf_task_count(ex->spec.batches) || ex->tasks[task].proc) {
        snprintf(why, cap, "task %d cannot start now", task);
        return -1;
    }
    build_argv(ex, task, args, argv);
    static const task_proc_callbacks_t cbs = {
        .on_line = on_task_line, .on_exit = on_task_exit, .on_cost = on_task_cost};
    local_task_t *t = &ex->tasks[task];
    int err = 0;
    t->proc = task_proc_spawn(ex->loop, argv, ex->work_dir, &cbs, t, &err);
    if (t->proc == NULL) {
        snprintf(why, cap, "cannot start %s: %s", ex->cfg->task_program, uv_strerror(err));
        return -1;
    }
    ex->running++;
    if (ex->super.listener.task_cost) { /* where it runs, before it is news that it runs */
        run_cost_t where;
        run_cost_init(&where);
        where.pid = task_proc_pid(t->proc);
        ex->super.listener.task_cost(ex->super.listener.data, task, &where);
    }
    ex->super.listener.task_started(ex->super.listener.data, task);
    return 0;
}

/* Every task succeeded: nothing is left to release. */
static void local_complete(executor_t *super)
{
    local_exec_t *ex = (local_exec_t *)super;
    if (ex->active && !ex->stopping && ex->running == 0)
        finish(ex, 1, NULL);
}

static int local_start(executor_t *super, const exec_spec_t *spec)
{
    local_exec_t *ex = (local_exec_t *)super;
    if (ex->active)
        return -EBUSY;
    ex->spec = *spec;
    snprintf(ex->run_id, sizeof(ex->run_id), "%s", spec->run_id);
    snprintf(ex->work_dir, sizeof(ex->work_dir), "%s", spec->work_dir);
    snprintf(ex->results_dir, sizeof(ex->results_dir), "%s", spec->results_dir);
    ex->spec.run_id = ex->run_id;
    ex->spec.work_dir = ex->work_dir;
    ex->spec.results_dir = ex->results_dir;
    ex->running = 0;
    ex->stopping = ex->ending = 0;
    ex->active = 1;
    ex->oom_kills = cgroup_oom_kills();
    for (int t = 0; t < WF_MAX_TASKS; t++)
        ex->tasks[t] = (local_task_t){.owner = ex, .index = t};
    return 0; /* the scheduler gives the tasks */
}

static void on_grace_expired(uv_timer_t *t)
{
    local_exec_t *ex = t->data;
    for (int i = 0; i < WF_MAX_TASKS; i++)
        if (ex->tasks[i].proc) {
            log_warn("exec", "run %s: task %d did not stop on SIGTERM, sending SIGKILL", ex->run_id, i);
            task_proc_signal(ex->tasks[i].proc, SIGKILL);
        }
}

static void local_stop(executor_t *super)
{
    local_exec_t *ex = (local_exec_t *)super;
    if (!ex->active || ex->stopping)
        return;
    ex->stopping = 1;
    if (ex->running == 0) {
        finish(ex, 0, "stopped");
        return;
    }
    for (int i = 0; i < WF_MAX_TASKS; i++)
        if (ex->tasks[i].proc)
            task_proc_signal(ex->tasks[i].proc, SIGTERM);
    uv_timer_start(&ex->grace_timer, on_grace_expired, (uint64_t)(ex->cfg->cancel_grace_seconds * 1000), 0);
}

static void on_closed(uv_handle_t *h)
{
    local_exec_t *ex = h->data;
    if (--ex->closing_handles == 0)
        free(ex);
}

static void local_destroy(executor_t *super)
{
    local_exec_t *ex = (local_exec_t *)super;
    ex->closing_handles = 2;
    uv_close((uv_handle_t *)&ex->grace_timer, on_closed);
    uv_close((uv_handle_t *)&ex->done_timer, on_closed);
}

static const executor_ops_t local_ops = {
    .name = "local",
    .start = local_start,
    .stop = local_stop,
    .destroy = local_destroy,
    .room = local_room,
    .run_task = local_run_task,
    .complete = local_complete,
};

executor_t *executor_local_create(uv_loop_t *loop, const config_t *cfg, const exec_listener_t *listener)
{
    local_exec_t *ex = calloc(1, sizeof(*ex));
    if (ex == NULL)
        abort();
    ex->super.ops = &local_ops;
    ex->super.listener = *listener;
    ex->loop = loop;
    ex->cfg = cfg;
    snprintf(ex->launcher, sizeof(ex->launcher), "%s", cfg->task_launcher);
    uv_timer_init(loop, &ex->grace_timer);
    uv_timer_init(loop, &ex->done_timer);
    ex->grace_timer.data = ex->done_timer.data = ex;
    /* the launcher checks that its parent is still this process before it execs the task */
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("PIPELINE_PARENT_PID", pid, 1);
    return &ex->super;
}
