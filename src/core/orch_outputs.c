/*
 * What each task wrote, for resume: when a task succeeds its output file's size and SHA-256 go into the run (in
 * libuv's thread pool; the run's end waits for them), and a resumed run starts by checking the outputs the old run
 * recorded, giving the verified ones to the new run's results folder (hard link or copy) as `cached` tasks. A task
 * whose file changed or is gone runs again, and so does every task that depends on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/orch_internal.h"
#include "core/output_digest.h"
#include "util/log.h"

/* ---- recording --------------------------------------------------------------------------------------------------- */

typedef struct digest_job {
    uv_work_t req;
    orch_t *orch;
    int task;
    char path[1200];
    int rc;
    int64_t size;
    char hex[65];
} digest_job_t;

static void digest_work(uv_work_t *req)
{
    digest_job_t *j = req->data;
    j->rc = output_digest(j->path, &j->size, j->hex);
}

static void digest_done(uv_work_t *req, int status)
{
    digest_job_t *j = req->data;
    orch_t *orch = j->orch;
    run_t *run = orch->active;
    if (status == 0 && j->rc == 0 && run) {
        run->outputs[j->task].size = j->size;
        memcpy(run->outputs[j->task].sha256, j->hex, sizeof(j->hex));
    } else if (run) {
        log_warn("orch", "run %s: the output of task %d is not recorded (%s): a resume runs it again", run->id,
                 j->task, uv_strerror(status ? status : j->rc));
    }
    free(j);
    if (--orch->digests_pending == 0 && orch->done_deferred) {
        orch->done_deferred = 0;
        orch->listener.done(orch->listener.data, orch->done_ok, orch->done_detail[0] ? orch->done_detail : NULL);
    }
}

void orch_outputs_record(orch_t *orch, int task)
{
    run_t *run = orch->active;
    if (run == NULL || orch->exec->results_unseen)
        return;
    digest_job_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        abort();
    char name[64];
    wf_task_output(run->batch_count, task, name, sizeof(name));
    snprintf(j->path, sizeof(j->path), "%s/%s", orch->results_dir, name);
    j->orch = orch;
    j->task = task;
    j->req.data = j;
    if (uv_queue_work(orch->loop, &j->req, digest_work, digest_done) != 0) {
        free(j);
        return;
    }
    orch->digests_pending++;
}

int orch_outputs_wait(orch_t *orch, int ok, const char *detail)
{
    if (orch->digests_pending == 0)
        return 0;
    orch->done_deferred = 1;
    orch->done_ok = ok;
    snprintf(orch->done_detail, sizeof(orch->done_detail), "%s", detail ? detail : "");
    return 1;
}

/* ---- a resumed run's start --------------------------------------------------------------------------------------- */

typedef struct prep_job {
    uv_work_t req;
    orch_t *orch;
    void (*cb)(orch_t *orch);
    int batches;
    char old_dir[1100], new_dir[1100];
    wf_task_state_t states[WF_MAX_TASKS];
    run_output_t outputs[WF_MAX_TASKS];
    int reuse[WF_MAX_TASKS];
    char why[WF_MAX_TASKS][160]; /* why a task that succeeded runs again */
} prep_job_t;

static void check_one(prep_job_t *j, int t)
{
    char name[32], path[1200];
    wf_task_output(j->batches, t, name, sizeof(name));
    snprintf(path, sizeof(path), "%s/%s", j->old_dir, name);
    int64_t size;
    char hex[65];
    int rc = output_digest(path, &size, hex);
    if (rc != 0)
        snprintf(j->why[t], sizeof(j->why[t]), "%s is gone (%s)", name, uv_strerror(rc));
    else if (size != j->outputs[t].size || strcmp(hex, j->outputs[t].sha256) != 0)
        snprintf(j->why[t], sizeof(j->why[t]), "%s changed since it was written", name);
    else
        j->reuse[t] = 1;
}

static void prep_work(uv_work_t *req)
{
    prep_job_t *j = req->data;
    int n = wf_task_count(j->batches);
    for (int t = 0; t < n; t++)
        if (wf_task_done(j->states[t]) && j->outputs[t].size >= 0)
            check_one(j, t);
    /* in the DAG's order: a task is reused only when what it read is reused too, and its file reached the new run */
    static const wf_stage_t order[] = {STAGE_GENERATE, STAGE_ANALYZE, STAGE_REPORT};
    for (int o = 0; o < 3; o++)
        for (int t = 0; t < n; t++) {
            if (wf_task_stage(j->batches, t) != order[o] || !j->reuse[t])
                continue;
            int inputs_ok = 1;
            if (order[o] == STAGE_ANALYZE)
                inputs_ok = j->reuse[t - j->batches];
            for (int a = j->batches; order[o] == STAGE_REPORT && a < 2 * j->batches; a++)
                inputs_ok &= j->reuse[a];
            if (!inputs_ok) {
                j->reuse[t] = 0;
                snprintf(j->why[t], sizeof(j->why[t]), "what it read runs again");
                continue;
            }
            char name[32], from[1200], to[1200];
            wf_task_output(j->batches, t, name, sizeof(name));
            snprintf(from, sizeof(from), "%s/%s", j->old_dir, name);
            snprintf(to, sizeof(to), "%s/%s", j->new_dir, name);
            int rc = output_share(from, to);
            if (rc != 0) {
                j->reuse[t] = 0;
                snprintf(j->why[t], sizeof(j->why[t]), "%s could not be linked or copied (%s)", name, uv_strerror(rc));
            }
        }
}

static void prep_done(uv_work_t *req, int status)
{
    prep_job_t *j = req->data;
    orch_t *orch = j->orch;
    run_t *run = orch->active, *old = orch->resume_src;
    orch->resume_src = NULL;
    int n = wf_task_count(j->batches), cached = 0;
    for (int t = 0; run && status == 0 && t < n; t++) {
        char label[32];
        wf_task_label(j->batches, t, label, sizeof(label));
        if (j->reuse[t]) {
            run->tasks[t] = TASK_CACHED;
            run->outputs[t] = j->outputs[t];
            cached++;
            orch_emit_progress(orch, t);
        } else if (wf_task_done(j->states[t])) {
            const char *why = j->why[t][0] ? j->why[t] : "its output was not recorded";
            log_info("orch", "run %s: %s runs again: %s", run->id, label, why);
            orch_say(orch, "%s runs again: %s", label, why);
        }
    }
    if (run)
        orch_say(orch, "Resuming run %s: %d of %d tasks cached, %d to run", old ? old->id : "?", cached, n,
                 n - cached);
    run_destroy(old);
    void (*cb)(orch_t *) = j->cb;
    free(j);
    cb(orch);
}

int orch_outputs_prepare(orch_t *orch, void (*cb)(orch_t *orch))
{
    const run_t *old = orch->resume_src;
    prep_job_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        abort();
    j->orch = orch;
    j->cb = cb;
    j->batches = old->batch_count;
    orch_results_dir(orch, old->id, j->old_dir, sizeof(j->old_dir));
    snprintf(j->new_dir, sizeof(j->new_dir), "%s", orch->results_dir);
    memcpy(j->states, old->tasks, sizeof(j->states));
    memcpy(j->outputs, old->outputs, sizeof(j->outputs));
    j->req.data = j;
    int rc = uv_queue_work(orch->loop, &j->req, prep_work, prep_done);
    if (rc != 0)
        free(j);
    return rc;
}
