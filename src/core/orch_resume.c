/*
 * POST /runs/{id}/resume: find the old run (this replica's history, or the shared store), refuse what cannot be
 * resumed (404 unknown, 409 succeeded or a run active, 410 its results folder gone), then queue a new run with the
 * old one's parameters; orch_outputs.c decides which of its tasks are cached once the new run holds the lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/orch_internal.h"
#include "model/run_codec.h"
#include "util/clock.h"
#include "util/log.h"

typedef struct resume_req {
    uv_fs_t fs;
    orch_t *orch;
    orch_call_t *call;
    run_t *old;
} resume_req_t;

/* "Run <id><what>" as the detail of a refusal. */
static void refuse(orch_waiter_t *w, int status, const char *id, const char *what)
{
    char detail[256];
    snprintf(detail, sizeof(detail), "%s%s%s", status == 409 ? "Run " : "The results of run ", id, what);
    w->reply(w, status, json_pack("{s:s}", "detail", detail));
}

static void on_results_stat(uv_fs_t *fs)
{
    resume_req_t *r = fs->data;
    orch_waiter_t *w = orch_call_done(r->call);
    int gone = fs->result < 0 || !S_ISDIR(fs->statbuf.st_mode);
    uv_fs_req_cleanup(fs);
    if (w == NULL) {
        run_destroy(r->old);
    } else if (gone) {
        refuse(w, 410, r->old->id, " are gone (pruned): it cannot be resumed");
        run_destroy(r->old);
    } else {
        orch_resume_start(r->orch, r->old, w); /* owns the old run from here */
    }
    free(r);
}

/* `old` (owned) was found: is it one to resume, and are its results still there? */
static void check_old(orch_t *orch, run_t *old, orch_waiter_t *w)
{
    if (old->status == RUN_SUCCEEDED) {
        refuse(w, 409, old->id, " succeeded: there is nothing to resume");
        run_destroy(old);
        return;
    }
    if (!run_status_is_terminal(old->status)) {
        w->reply(w, 409, orch_active_conflict(old->id));
        run_destroy(old);
        return;
    }
    int recorded = 0;
    for (int t = 0; t < wf_task_count(old->batch_count); t++)
        recorded |= old->outputs[t].size >= 0;
    /* nothing recorded (a run cancelled before any task ended: its empty folder went at once), or a cluster
     * volume this service does not mount (Nextflow's cache decides): every task runs, nothing to look for */
    if (!recorded || orch->exec->results_unseen) {
        orch_resume_start(orch, old, w);
        return;
    }
    resume_req_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        abort();
    r->orch = orch;
    r->old = old;
    r->fs.data = r;
    char dir[1200];
    orch_results_dir(orch, old->id, dir, sizeof(dir));
    r->call = orch_call_new(orch, w);
    int rc = uv_fs_stat(orch->loop, &r->fs, dir, on_results_stat);
    if (rc != 0) {
        orch_call_done(r->call);
        refuse(w, 410, old->id, " cannot be read: it cannot be resumed");
        run_destroy(old);
        free(r);
    }
}

static void on_old_loaded(void *data, int ok, run_t **runs, int count)
{
    orch_call_t *call = data;
    orch_t *orch = call->orch;
    orch_waiter_t *w = orch_call_done(call);
    run_t *old = count > 0 ? runs[0] : NULL;
    for (int i = 1; i < count; i++)
        run_destroy(runs[i]);
    if (w == NULL) {
        run_destroy(old);
    } else if (!ok) {
        w->reply(w, 503, json_pack("{s:s}", "detail", "The state store is unavailable; retry shortly"));
        run_destroy(old);
    } else if (old == NULL) {
        w->reply(w, 404, json_pack("{s:s}", "detail", "Run not found"));
    } else {
        check_old(orch, old, w);
    }
}

/* A copy of a run of the history (which may drop it meanwhile): through its record, as the shared store keeps it. */
static run_t *run_copy(const run_t *run)
{
    char err[128];
    json_t *rec = run_to_record(run, NULL);
    run_t *copy = rec ? run_from_record(rec, err, sizeof(err)) : NULL;
    json_decref(rec);
    if (copy == NULL)
        log_error("orch", "run %s: cannot copy its record: %s", run->id, rec ? err : "no record");
    return copy;
}

void orch_resume(orch_t *orch, const char *run_id, orch_waiter_t *w, orch_reply_cb cb)
{
    w->reply = cb;
    if (orch->shutting_down) {
        cb(w, 503, json_pack("{s:s}", "detail", "The service is shutting down"));
        return;
    }
    if (orch->active) {
        cb(w, 409, orch_active_conflict(orch->active->id));
        return;
    }
    if (orch->store->ops->shared) {
        orch_call_t *call = orch_call_new(orch, w);
        snprintf(call->run_id, sizeof(call->run_id), "%s", run_id);
        orch->store->ops->load_run(orch->store, run_id, on_old_loaded, call);
        return;
    }
    history_expire(&orch->history, clock_now_ms());
    const run_t *found = history_find(&orch->history, run_id);
    run_t *old = found ? run_copy(found) : NULL;
    if (old == NULL) {
        cb(w, 404, json_pack("{s:s}", "detail", "Run not found"));
        return;
    }
    check_old(orch, old, w);
}
