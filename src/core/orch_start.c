/* A run's start: the request (or a resume), the shared lock, the run's folders, then the executor. */
#include <stdio.h>
#include <string.h>

#include "core/fs_work.h"
#include "core/orch_internal.h"
#include "util/log.h"

static void start_failed(orch_t *orch, const char *what, int err)
{
    run_t *run = orch->active;
    char msg[300];
    snprintf(msg, sizeof(msg), "%s: %s", what, uv_strerror(err));
    log_error("orch", "run %s: %s", run->id, msg);
    run_set_message(run, msg);
    orch_emit_error(orch, "executor", msg);
    orch_end_run(orch, RUN_FAILED, NULL);
}

static void start_executor(orch_t *orch);

/* The run's folders exist (made in the thread pool): its tasks can start. */
static void on_dirs_ready(void *data, int err)
{
    orch_t *orch = data;
    if (orch->cancel_requested) {
        orch_end_run(orch, RUN_CANCELLED, NULL);
        return;
    }
    if (err != 0) {
        start_failed(orch, "cannot create the run's folders", err);
        return;
    }
    if (orch->resume_src && orch->exec->ops->run_task == NULL) { /* a workflow engine's cache decides */
        orch_resume_engine(orch);
    } else if (orch->resume_src) { /* a resumed run: its cached tasks first */
        int rc = orch_outputs_prepare(orch, start_executor);
        if (rc != 0)
            start_failed(orch, "cannot check the outputs of the resumed run", rc);
        return;
    }
    start_executor(orch);
}

exec_spec_t orch_exec_spec(const orch_t *orch, const run_t *run)
{
    return (exec_spec_t){.run_id = run->id,
                         .batches = run->batch_count,
                         .rows_per_batch = run->rows_per_batch,
                         .seed = run->seed,
                         .generate_seconds = orch->cfg->generate_seconds,
                         .analyze_seconds = orch->cfg->analyze_seconds,
                         .work_dir = orch->work_dir,
                         .results_dir = orch->results_dir};
}

static void start_executor(orch_t *orch)
{
    run_t *run = orch->active;
    if (orch->cancel_requested) {
        orch_end_run(orch, RUN_CANCELLED, NULL);
        return;
    }
    exec_spec_t spec = orch_exec_spec(orch, run);
    spec.resume_session = run->nf_session; /* a resumed run starts with the session of the run it resumes */
    int rc = orch->exec->ops->start(orch->exec, &spec);
    if (rc != 0) {
        start_failed(orch, "the executor could not start", rc);
        return;
    }
    orch_set_status(orch, RUN_RUNNING);
    orch_answer_run_waiters(orch, run);
    orch_sched_soon(orch);
}

static void begin_run(orch_t *orch)
{
    run_t *run = orch->active;
    orch_results_dir(orch, run->id, orch->results_dir, sizeof(orch->results_dir));
    snprintf(orch->work_dir, sizeof(orch->work_dir), "%s/work/%s", orch->cfg->data_dir, run->id);
    orch_shared_run_started(orch);
    orch_set_status(orch, RUN_STARTING);
    orch_say(orch, "Run %s: %d batches of %d rows, seed %u, on the %s executor", run->id, run->batch_count,
             run->rows_per_batch, run->seed, orch->exec->ops->name);
    /* the results may be on a volume this service mounts (read-only) or not at all: only local ones are made */
    const char *results = orch->exec->results_root || orch->exec->results_unseen ? orch->work_dir : orch->results_dir;
    int rc = fs_work_mkdirs(orch->loop, results, orch->work_dir, on_dirs_ready, orch);
    if (rc != 0)
        start_failed(orch, "cannot create the run's folders", rc);
}

static void on_lock(void *data, store_acquire_result_t result, run_t *holder, run_t *orphan)
{
    orch_t *orch = data;
    run_t *run = orch->active;
    if (result == STORE_ACQUIRED) {
        if (orphan)
            orch_end_orphan(orch, orphan, 0);
        if (orch->cancel_requested) {
            orch_set_status(orch, RUN_STARTING);
            orch_end_run(orch, RUN_CANCELLED, NULL);
        } else {
            begin_run(orch);
        }
        return;
    }
    orch->active = NULL;
    if (result == STORE_HELD && holder) {
        /* another replica runs one: every request attaches to it */
        while (orch->run_waiters) {
            orch_waiter_t *w = orch->run_waiters;
            orch_waiter_forget(w);
            if (w->resume)
                w->reply(w, 409, orch_active_conflict(holder->id));
            else
                w->reply(w, 200, orch_run_answer(holder, 1));
        }
    } else {
        const char *detail = result == STORE_HELD ? "Another run is starting on another replica; retry shortly"
                                                  : "The state store is unavailable; retry shortly";
        log_warn("orch", "run %s not started: %s", run->id, detail);
        orch_fail_run_waiters(orch, 503, detail);
    }
    orch_answer_cancels(orch, run->id, NULL);
    run_destroy(holder);
    run_destroy(run);
    run_destroy(orch->resume_src);
    orch->resume_src = NULL;
    orch_maybe_shutdown_done(orch);
}

/* A new run, queued until it holds the lock; `resumes` (owned from here, or NULL) is the run it resumes. */
static void queue_run(orch_t *orch, const run_params_t *params, run_t *resumes)
{
    static const char *const prefixes[] = {[EXECUTOR_LOCAL] = "local-run",
                                           [EXECUTOR_KUBERNETES] = "pipeline-run", /* its owner ConfigMap */
                                           [EXECUTOR_NEXTFLOW] = "nextflow-run"};
    orch->active = run_create(params, prefixes[orch->cfg->executor]);
    if (resumes) {
        memcpy(orch->active->resumed_from, resumes->id, RUN_ID_LEN + 1);
        orch->resume_src = resumes;
    }
    orch->cancel_requested = orch->failed = orch->error_sent = orch->lock_lost = orch->completing = 0;
    orch->store->ops->acquire(orch->store, orch->active, on_lock, orch);
}

void orch_request_run(orch_t *orch, const run_params_t *params, orch_waiter_t *w, orch_reply_cb cb)
{
    w->reply = cb;
    if (orch->shutting_down) {
        cb(w, 503, json_pack("{s:s}", "detail", "The service is shutting down"));
        return;
    }
    if (orch->active && orch->active->status != RUN_QUEUED) {
        cb(w, 200, orch_run_answer(orch->active, 1));
        return;
    }
    orch_waiter_link(&orch->run_waiters, w);
    if (orch->active)
        return; /* the lock is being taken for a queued run: answer together */
    queue_run(orch, params, NULL);
}

json_t *orch_active_conflict(const char *run_id)
{
    char detail[160];
    snprintf(detail, sizeof(detail), "Run %s is active: resume once it has ended", run_id);
    return json_pack("{s:s,s:s}", "detail", detail, "active_run_id", run_id);
}

void orch_resume_start(orch_t *orch, run_t *old, orch_waiter_t *w)
{
    if (orch->shutting_down) {
        w->reply(w, 503, json_pack("{s:s}", "detail", "The service is shutting down"));
        run_destroy(old);
        return;
    }
    if (orch->active) {
        w->reply(w, 409, orch_active_conflict(orch->active->id));
        run_destroy(old);
        return;
    }
    run_params_t params = {.batch_count = old->batch_count,
                           .rows_per_batch = old->rows_per_batch,
                           .seed = old->seed,
                           .triggered_by = old->triggered_by};
    w->resume = 1;
    orch_waiter_link(&orch->run_waiters, w);
    queue_run(orch, &params, old);
}
