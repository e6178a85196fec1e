/*
 * What each task wrote, for resume: the size and SHA-256 of each succeeded task's output go into a run that ends
 * without success (below), and a resumed run starts by checking the outputs the old run recorded, giving the
 * verified ones to the new run's results folder (hard link or copy) as `cached` tasks. A task whose file changed or
 * is gone runs again, and so does every task that depends on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/orch_internal.h"
#include "core/output_digest.h"
#include "util/log.h"

/* ---- recording ---------------------------------------------------------------------------------------------------
 * When a task succeeds, what identifies its output file (device, inode, size, modification and change times) is
 * noted: one stat on the loop. Only a run that ends without success can be resumed, so only then is anything read:
 * one job in the thread pool digests every noted output whose identity is unchanged (a file rewritten since its task
 * ended is left unrecorded, and a resume runs its task again), and the run's end waits for it. A run that succeeds
 * reads nothing back. */

static int note_matches(const struct stat *st, const void *note)
{
    const orch_output_note_t *n = note;
    return n->dev == st->st_dev && n->ino == st->st_ino && n->size == (int64_t)st->st_size &&
           n->mtime.tv_sec == st->st_mtim.tv_sec && n->mtime.tv_nsec == st->st_mtim.tv_nsec &&
           n->ctime.tv_sec == st->st_ctim.tv_sec && n->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

void orch_outputs_record(orch_t *orch, int task)
{
    run_t *run = orch->active;
    if (run == NULL || orch->exec->results_unseen || task < 0 || task >= WF_MAX_TASKS)
        return;
    if (strcmp(orch->notes_run, run->id) != 0) { /* the first of this run: what the last run noted goes */
        memset(orch->notes, 0, sizeof(orch->notes));
        snprintf(orch->notes_run, sizeof(orch->notes_run), "%s", run->id);
    }
    char name[64], path[1200];
    wf_task_output(run->batch_count, task, name, sizeof(name));
    snprintf(path, sizeof(path), "%s/%s", orch->results_dir, name);
    struct stat st;
    orch_output_note_t *n = &orch->notes[task];
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        n->noted = 0;
        return;
    }
    *n = (orch_output_note_t){.noted = 1,
                              .dev = st.st_dev,
                              .ino = st.st_ino,
                              .size = (int64_t)st.st_size,
                              .mtime = st.st_mtim,
                              .ctime = st.st_ctim};
}

typedef struct digest_job {
    uv_work_t req;
    orch_t *orch;
    char run_id[RUN_ID_LEN + 1];
    int batches;
    char dir[1100];
    orch_output_note_t notes[WF_MAX_TASKS];
    int rc[WF_MAX_TASKS]; /* 0: digested; else a negative errno, or 1: changed since its task ended */
    run_output_t out[WF_MAX_TASKS];
} digest_job_t;

static void digest_work(uv_work_t *req)
{
    digest_job_t *j = req->data;
    for (int t = 0; t < wf_task_count(j->batches); t++) {
        if (!j->notes[t].noted)
            continue;
        char name[64], path[1200];
        wf_task_output(j->batches, t, name, sizeof(name));
        snprintf(path, sizeof(path), "%s/%s", j->dir, name);
        j->rc[t] = output_digest_if(path, note_matches, &j->notes[t], &j->out[t].size, j->out[t].sha256);
        if (j->rc[t] == 0 && j->out[t].size != j->notes[t].size) /* what was read is what the size said */
            j->rc[t] = 1;
    }
}

static void digest_done(uv_work_t *req, int status)
{
    digest_job_t *j = req->data;
    orch_t *orch = j->orch;
    run_t *run = orch->active;
    for (int t = 0; run && strcmp(run->id, j->run_id) == 0 && t < wf_task_count(j->batches); t++) {
        if (!j->notes[t].noted)
            continue;
        if (status == 0 && j->rc[t] == 0)
            run->outputs[t] = j->out[t];
        else
            log_warn("orch", "run %s: the output of task %d is not recorded (%s): a resume runs it again", run->id, t,
                     status          ? uv_strerror(status)
                     : j->rc[t] == 1 ? "changed since the task ended"
                                     : uv_strerror(j->rc[t]));
    }
    free(j);
    orch->digests_pending = 0;
    orch->notes_run[0] = '\0'; /* read once: the done() below ends the run */
    if (orch->done_deferred) {
        orch->done_deferred = 0;
        orch->listener.done(orch->listener.data, orch->done_ok, orch->done_detail[0] ? orch->done_detail : NULL);
    }
}

int orch_outputs_wait(orch_t *orch, int ok, const char *detail)
{
    run_t *run = orch->active;
    if (orch->digests_pending) /* a second done() while the first waits: the first one's answer stands */
        return 1;
    if (run == NULL || (ok && !orch->failed && !orch->cancel_requested) || strcmp(orch->notes_run, run->id) != 0)
        return 0; /* a run that succeeds (or noted nothing) is never resumed: nothing to read */
    digest_job_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        abort();
    int any = 0;
    for (int t = 0; t < wf_task_count(run->batch_count); t++) {
        j->notes[t] = orch->notes[t];
        j->notes[t].noted &= run->outputs[t].size < 0; /* a cached task has its record from the run it resumed */
        any |= j->notes[t].noted;
    }
    if (!any) {
        free(j);
        return 0;
    }
    j->orch = orch;
    j->batches = run->batch_count;
    snprintf(j->run_id, sizeof(j->run_id), "%s", run->id);
    snprintf(j->dir, sizeof(j->dir), "%s", orch->results_dir);
    j->req.data = j;
    output_digest_init(); /* on the loop's thread, before the pool's first digest (once) */
    if (uv_queue_work(orch->loop, &j->req, digest_work, digest_done) != 0) {
        free(j);
        return 0;
    }
    orch->digests_pending = 1;
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
    int on_volume; /* the results are on the cluster's work volume (EXECUTOR=kubernetes, WORK_MOUNT) */
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
    /* on the work volume the run's folder is the tasks' to make (their uid, not this service's): made here for the
     * verified files, it must let them write too, as the volume's root does. A read-only mount fails each link
     * (EROFS), and those tasks run again. */
    if (j->on_volume && mkdir(j->new_dir, 0777) == 0)
        chmod(j->new_dir, 0777);
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
        orch_say(orch, "Resuming run %s: %d of %d tasks cached, %d to run", old ? old->id : "?", cached, n, n - cached);
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
    j->on_volume = orch->exec->results_root != NULL;
    orch_results_dir(orch, old->id, j->old_dir, sizeof(j->old_dir));
    snprintf(j->new_dir, sizeof(j->new_dir), "%s", orch->results_dir);
    memcpy(j->states, old->tasks, sizeof(j->states));
    memcpy(j->outputs, old->outputs, sizeof(j->outputs));
    j->req.data = j;
    output_digest_init();
    int rc = uv_queue_work(orch->loop, &j->req, prep_work, prep_done);
    if (rc != 0)
        free(j);
    return rc;
}
