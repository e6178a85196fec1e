/*
 * The nextflow executor: a Kubernetes Job per run whose controller pod runs Nextflow; Nextflow's k8s executor
 * starts one worker pod per task. Nextflow schedules; this executor only creates the run's objects, reports what
 * the pods do (nextflow_follow.c) and ends the run by the Job's condition.
 *
 *   start   ConfigMap nextflow-config-<run_id>, then Job nextflow-run-<run_id>, then the Job becomes the
 *           ConfigMap's owner; a create that fails ends the run at once with the API's message
 *   follow  the Job, the controller pod and the worker pods (watches), their logs (followed, with timestamps)
 *   end     the Job's Complete or Failed condition; a failed task is named with Nextflow's cause
 *   stop    delete the Job (propagationPolicy=Background: the batch/v1 default orphans the pods) and the
 *           ConfigMap, then wait until no pod of the run runs any more (Nextflow deletes its workers when its
 *           controller is stopped), bounded by NEXTFLOW_STOP_BOUND_MS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/nextflow_internal.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"

/* ---- reporting ------------------------------------------------------------------------------------------------ */

void nextflow_report_started(nextflow_exec_t *ex, int task)
{
    if (ex->started[task] || ex->ending)
        return;
    ex->started[task] = 1;
    ex->states[task] = TASK_RUNNING;
    ex->super.listener.task_started(ex->super.listener.data, task);
}

void nextflow_report_finished(nextflow_exec_t *ex, int task, wf_task_state_t state, const char *detail)
{
    wf_task_state_t now = ex->states[task];
    if (now == TASK_SUCCEEDED || now == TASK_FAILED || now == TASK_CANCELLED || now == TASK_CACHED)
        return;
    nextflow_report_started(ex, task);
    ex->states[task] = state;
    ex->super.listener.task_finished(ex->super.listener.data, task, state, detail);
}

void nextflow_report_cached(nextflow_exec_t *ex, int task)
{
    if (ex->started[task] || ex->ending)
        return; /* a task that ran in this run is not cached in it */
    ex->started[task] = 1;
    ex->states[task] = TASK_CACHED;
    ex->super.listener.task_finished(ex->super.listener.data, task, TASK_CACHED, NULL);
}

void nextflow_report_session(nextflow_exec_t *ex, const char *id)
{
    if (ex->session_reported || ex->ending)
        return;
    ex->session_reported = 1;
    if (strcmp(id, ex->resume_session) != 0)
        log_info("nextflow", "run %s: Nextflow session %s", ex->run_id, id);
    if (ex->super.listener.session)
        ex->super.listener.session(ex->super.listener.data, id);
}

static void fire_done(uv_timer_t *t)
{
    nextflow_exec_t *ex = t->data;
    ex->active = 0;
    ex->super.listener.done(ex->super.listener.data, ex->done_ok, ex->done_ok ? NULL : ex->done_detail);
}

/* The end of the run: nothing is followed any more; done() fires from the loop. */
static void finish(nextflow_exec_t *ex, int ok, const char *detail)
{
    if (ex->ending)
        return;
    int n = wf_task_count(ex->spec.batches);
    for (int t = 0; t < n; t++)
        if (ex->states[t] == TASK_RUNNING)
            nextflow_report_finished(ex, t, ok ? TASK_SUCCEEDED : TASK_CANCELLED, NULL);
    ex->ending = 1;
    ex->done_ok = ok;
    snprintf(ex->done_detail, sizeof(ex->done_detail), "%s", detail ? detail : "");
    nextflow_follow_stop(ex);
    if (ex->req) {
        kube_request_cancel(ex->req);
        ex->req = NULL;
    }
    if (ex->patch_req) {
        kube_request_cancel(ex->patch_req);
        ex->patch_req = NULL;
    }
    uv_timer_stop(&ex->kick_timer);
    uv_timer_stop(&ex->stop_timer);
    uv_timer_stop(&ex->verdict_timer);
    uv_timer_stop(&ex->drain_timer);
    uv_timer_stop(&ex->pending_timer);
    log_info("nextflow", "run %s: %s", ex->run_id, ok ? "succeeded" : ex->done_detail);
    uv_timer_start(&ex->done_timer, fire_done, 0, 0);
}

/* "HTTP 403: jobs.batch is forbidden: ..." or "connection refused: ..." */
static void api_error(const kube_response_t *res, char *out, size_t cap)
{
    if (res->status == 0)
        snprintf(out, cap, "%s", res->message ? res->message : "no answer");
    else
        snprintf(out, cap, "HTTP %ld%s%s: %s", res->status, res->reason && res->reason[0] ? " " : "",
                 res->reason ? res->reason : "", res->message ? res->message : "");
}

static int failed(const kube_response_t *res)
{
    return res->status == 0 || res->status >= 400;
}

/* ---- stopping ------------------------------------------------------------------------------------------------- */

static void delete_next(nextflow_exec_t *ex);

static void on_deleted(void *data, const kube_response_t *res)
{
    nextflow_exec_t *ex = data;
    ex->req = NULL;
    int job = ex->job_created && !ex->job_deleted;
    if (failed(res) && res->status != 404) {
        char why[600];
        api_error(res, why, sizeof(why));
        log_warn("nextflow", "run %s: cannot delete %s: %s", ex->run_id, job ? ex->job_name : ex->cm_name, why);
    }
    if (job)
        ex->job_deleted = 1;
    else
        ex->cm_deleted = 1;
    delete_next(ex);
}

/* Deletes the Job, then the ConfigMap (its owner reference would take it too, unless the patch never landed). */
static void delete_next(nextflow_exec_t *ex)
{
    char path[300];
    if (ex->job_created && !ex->job_deleted) {
        kube_path(path, sizeof(path), "batch/v1", ex->ns, "jobs", ex->job_name, NULL);
        ex->req = kube_delete(ex->kube, path, "Background", on_deleted, ex);
    } else if (ex->cm_created && !ex->cm_deleted) {
        kube_path(path, sizeof(path), "v1", ex->ns, "configmaps", ex->cm_name, NULL);
        ex->req = kube_delete(ex->kube, path, NULL, on_deleted, ex);
    }
    if (ex->req == NULL)
        nextflow_progressed(ex);
}

void nextflow_progressed(nextflow_exec_t *ex)
{
    if (!ex->stopping || ex->ending || ex->req != NULL)
        return;
    if ((ex->job_created && !ex->job_deleted) || (ex->cm_created && !ex->cm_deleted))
        return;
    if (!nextflow_follow_quiet(ex))
        return;
    finish(ex, 0, ex->fail_detail[0] ? ex->fail_detail : "stopped");
}

static void on_stop_bound(uv_timer_t *t)
{
    nextflow_exec_t *ex = t->data;
    log_warn("nextflow", "run %s: pods still running %d s after the Job was deleted; giving up waiting", ex->run_id,
             NEXTFLOW_STOP_BOUND_MS / 1000);
    finish(ex, 0, ex->fail_detail[0] ? ex->fail_detail : "stopped");
}

static void on_stop_kick(uv_timer_t *t)
{
    nextflow_exec_t *ex = t->data;
    if (ex->req == NULL) /* else the create in flight answers first, and deletes what it made */
        delete_next(ex);
}

/* The deletes start from the loop: a stop decided inside a watch's callback runs inside libcurl's, where a new
 * transfer cannot be added (CURLM_RECURSIVE_API_CALL). */
static void begin_stop(nextflow_exec_t *ex)
{
    if (ex->stopping || ex->ending)
        return;
    ex->stopping = 1;
    uv_timer_start(&ex->stop_timer, on_stop_bound, NEXTFLOW_STOP_BOUND_MS, 0);
    uv_timer_start(&ex->kick_timer, on_stop_kick, 0, 0);
}

void nextflow_fail(nextflow_exec_t *ex, const char *detail)
{
    if (ex->fail_detail[0] == '\0')
        snprintf(ex->fail_detail, sizeof(ex->fail_detail), "%s", detail);
    log_warn("nextflow", "run %s: %s", ex->run_id, detail);
    begin_stop(ex);
}

/* ---- the end of the Job --------------------------------------------------------------------------------------- */

/* The task a failed Job is about, and its cause: Nextflow's error report first, else a failed worker pod. */
static int failed_task(nextflow_exec_t *ex, char *cause, size_t cap)
{
    int n = wf_task_count(ex->spec.batches);
    int task = ex->nflog.error_task[0] ? nextflow_task_index(ex->spec.batches, ex->nflog.error_task) : -1;
    if (task >= 0) {
        nextflow_log_cause(&ex->nflog, cause, cap);
        return task;
    }
    for (int t = 0; t < n; t++) {
        const nextflow_slot_t *w = &ex->workers[t];
        if (w->phase != POD_FAILED)
            continue;
        int len = w->exit_code >= 0 ? snprintf(cause, cap, "exit code %d", w->exit_code)
                                    : snprintf(cause, cap, "%s", w->reason[0] ? w->reason : "pod failed");
        char lines[LOG_TAIL_LINES * LOG_TAIL_LINE_MAX];
        if (log_tail_join(&w->tail, lines, sizeof(lines), ": ") > 0 && len >= 0 && (size_t)len < cap)
            snprintf(cause + len, cap - (size_t)len, ": %s", lines);
        text_trim_partial_utf8(cause);
        return t;
    }
    return -1;
}

static void conclude(nextflow_exec_t *ex)
{
    if (ex->ending || ex->stopping)
        return;
    uv_timer_stop(&ex->drain_timer);
    uv_timer_stop(&ex->verdict_timer);
    int n = wf_task_count(ex->spec.batches);
    if (ex->job_result > 0) {
        /* Nextflow ended well, so every task did, whatever the watch had time to show */
        for (int t = 0; t < n; t++)
            nextflow_report_finished(ex, t, TASK_SUCCEEDED, NULL);
        finish(ex, 1, NULL);
        return;
    }
    char cause[1024], detail[1200];
    int task = failed_task(ex, cause, sizeof(cause));
    if (task >= 0) {
        char label[32];
        wf_task_label(ex->spec.batches, task, label, sizeof(label));
        snprintf(detail, sizeof(detail), "%s failed: %s", label, cause);
        nextflow_report_finished(ex, task, TASK_FAILED, cause);
        if (!ex->job_ended) { /* Nextflow said nothing in time: its Job goes, as on cancel */
            nextflow_fail(ex, detail);
            return;
        }
    } else if (nextflow_log_failure(&ex->nflog, detail, sizeof(detail)) != 0) {
        snprintf(detail, sizeof(detail), "Job %s failed%s%s", ex->job_name, ex->job_detail[0] ? ": " : "",
                 ex->job_detail);
    }
    finish(ex, 0, detail);
}

/* Whether a finished Job has shown all it will: every log stream followed has ended and, when the Job completed,
 * every task's pod has been seen succeeding (the watches trail the Job's condition a little). */
static int settled(const nextflow_exec_t *ex)
{
    if (!nextflow_follow_logs_ended(ex))
        return 0;
    if (ex->job_result > 0)
        for (int t = 0; t < wf_task_count(ex->spec.batches); t++)
            if (ex->states[t] != TASK_SUCCEEDED && ex->states[t] != TASK_CACHED)
                return 0;
    return 1;
}

void nextflow_something_ended(nextflow_exec_t *ex)
{
    if (ex->job_ended && settled(ex))
        conclude(ex);
}

static void on_drained(uv_timer_t *t)
{
    conclude(t->data);
}

static void on_verdict_bound(uv_timer_t *t)
{
    nextflow_exec_t *ex = t->data;
    if (ex->job_ended || ex->ending || ex->stopping)
        return;
    ex->job_result = -1; /* Nextflow said nothing in time: the pod's failure is the run's */
    conclude(ex);
}

void nextflow_worker_failed(nextflow_exec_t *ex, int task)
{
    (void)task;
    if (!ex->job_ended && !uv_is_active((uv_handle_t *)&ex->verdict_timer))
        uv_timer_start(&ex->verdict_timer, on_verdict_bound, NEXTFLOW_VERDICT_BOUND_MS, 0);
}

void nextflow_job_ended(nextflow_exec_t *ex, int result, const char *detail)
{
    if (ex->job_ended || ex->ending)
        return;
    if (ex->stopping) {
        ex->job_ended = 1;
        return;
    }
    if (result == 0) {
        char msg[300];
        snprintf(msg, sizeof(msg), "Job %s was deleted before it finished", ex->job_name);
        ex->job_deleted = 1; /* nothing left to delete */
        nextflow_fail(ex, msg);
        return;
    }
    ex->job_ended = 1;
    ex->job_result = result;
    snprintf(ex->job_detail, sizeof(ex->job_detail), "%s", detail ? detail : "");
    /* the end of the logs may still be on its way (the controller's error report names the failed task) */
    if (settled(ex))
        conclude(ex);
    else
        uv_timer_start(&ex->drain_timer, on_drained, NEXTFLOW_DRAIN_BOUND_MS, 0);
}

/* ---- starting ------------------------------------------------------------------------------------------------- */

static void on_owner_patched(void *data, const kube_response_t *res)
{
    nextflow_exec_t *ex = data;
    ex->patch_req = NULL;
    if (failed(res)) {
        char why[600];
        api_error(res, why, sizeof(why));
        log_warn("nextflow", "run %s: cannot make Job %s the owner of ConfigMap %s: %s", ex->run_id, ex->job_name,
                 ex->cm_name, why);
    }
}

static void on_job_created(void *data, const kube_response_t *res)
{
    nextflow_exec_t *ex = data;
    ex->req = NULL;
    if (failed(res)) {
        char why[600];
        api_error(res, why, sizeof(why));
        char msg[900];
        snprintf(msg, sizeof(msg), "cannot create Job %s in namespace %s: %s", ex->job_name, ex->ns, why);
        nextflow_fail(ex, msg); /* deletes the ConfigMap it made */
        nextflow_progressed(ex);
        return;
    }
    ex->job_created = 1;
    ex->job_since_ms = clock_mono_ms();
    const char *uid = json_string_value(json_object_get(json_object_get(res->body, "metadata"), "uid"));
    snprintf(ex->job_uid, sizeof(ex->job_uid), "%s", uid ? uid : "");
    log_info("nextflow", "run %s: Job %s created in namespace %s", ex->run_id, ex->job_name, ex->ns);
    if (ex->stopping) {
        delete_next(ex);
        return;
    }
    if (ex->job_uid[0]) {
        char path[300];
        kube_path(path, sizeof(path), "v1", ex->ns, "configmaps", ex->cm_name, NULL);
        json_t *patch = nextflow_job_owner_patch(ex->job_name, ex->job_uid);
        ex->patch_req = kube_patch_merge(ex->kube, path, patch, on_owner_patched, ex);
        json_decref(patch);
    }
    nextflow_follow_start(ex);
}

static void on_configmap_created(void *data, const kube_response_t *res)
{
    nextflow_exec_t *ex = data;
    ex->req = NULL;
    if (failed(res)) {
        char why[600], msg[900];
        api_error(res, why, sizeof(why));
        snprintf(msg, sizeof(msg), "cannot create ConfigMap %s in namespace %s: %s", ex->cm_name, ex->ns, why);
        nextflow_fail(ex, msg);
        nextflow_progressed(ex);
        return;
    }
    ex->cm_created = 1;
    if (ex->stopping) {
        delete_next(ex);
        return;
    }
    char path[300];
    kube_path(path, sizeof(path), "batch/v1", ex->ns, "jobs", NULL, NULL);
    json_t *job = nextflow_job_object(ex->cfg, ex->ns, &ex->spec);
    ex->req = kube_create(ex->kube, path, job, on_job_created, ex);
    json_decref(job);
    if (ex->req == NULL)
        nextflow_fail(ex, "the Kubernetes client is closing");
}

static void on_kick(uv_timer_t *t)
{
    nextflow_exec_t *ex = t->data;
    if (ex->stopping) {
        nextflow_progressed(ex);
        return;
    }
    char path[300];
    kube_path(path, sizeof(path), "v1", ex->ns, "configmaps", NULL, NULL);
    json_t *cm = nextflow_job_configmap(ex->cfg, ex->ns, &ex->spec);
    ex->req = kube_create(ex->kube, path, cm, on_configmap_created, ex);
    json_decref(cm);
    if (ex->req == NULL)
        finish(ex, 0, "the Kubernetes client is closing");
}

static void on_pending_tick(uv_timer_t *t)
{
    nextflow_follow_check_pending(t->data);
}

/* A clean slate for a run. */
static void reset(nextflow_exec_t *ex, const exec_spec_t *spec)
{
    ex->spec = *spec;
    snprintf(ex->run_id, sizeof(ex->run_id), "%s", spec->run_id);
    ex->spec.run_id = ex->run_id;
    ex->spec.work_dir = ex->spec.results_dir = NULL; /* on the cluster's volume, not here */
    snprintf(ex->resume_session, sizeof(ex->resume_session), "%s",
             nextflow_session_valid(spec->resume_session) ? spec->resume_session : "");
    ex->spec.resume_session = ex->resume_session;
    ex->session_reported = 0;
    snprintf(ex->job_name, sizeof(ex->job_name), NEXTFLOW_JOB_PREFIX "%s", ex->run_id);
    snprintf(ex->cm_name, sizeof(ex->cm_name), NEXTFLOW_CONFIGMAP_PREFIX "%s", ex->run_id);
    ex->job_since_ms = 0;
    ex->job_uid[0] = ex->fail_detail[0] = ex->job_detail[0] = '\0';
    ex->stopping = ex->ending = ex->job_ended = ex->job_result = ex->job_seen = 0;
    ex->cm_created = ex->job_created = ex->cm_deleted = ex->job_deleted = 0;
    memset(ex->states, 0, sizeof(ex->states));
    memset(ex->started, 0, sizeof(ex->started));
    memset(ex->workers, 0, sizeof(ex->workers));
    memset(&ex->controller, 0, sizeof(ex->controller));
    for (int t = 0; t < WF_MAX_TASKS; t++)
        ex->workers[t] = (nextflow_slot_t){.owner = ex, .task = t, .exit_code = -1};
    ex->controller = (nextflow_slot_t){.owner = ex, .task = EXEC_TASK_CONTROLLER, .exit_code = -1};
    nextflow_log_init(&ex->nflog);
    ex->active = 1;
    uv_timer_start(&ex->pending_timer, on_pending_tick, 1000, 1000);
}

static int nextflow_start(executor_t *super, const exec_spec_t *spec)
{
    nextflow_exec_t *ex = (nextflow_exec_t *)super;
    if (ex->active)
        return -EBUSY;
    reset(ex, spec);
    uv_timer_start(&ex->kick_timer, on_kick, 0, 0);
    return 0;
}

/* ---- taking over a run whose replica died ---------------------------------------------------------------------- */

static void on_job_found(void *data, const kube_response_t *res)
{
    nextflow_exec_t *ex = data;
    ex->req = NULL;
    json_t *job = json_array_get(json_object_get(res->body, "items"), 0);
    const char *name = json_string_value(json_object_get(json_object_get(job, "metadata"), "name"));
    char msg[900];
    if (failed(res) || name == NULL) {
        char why[600];
        if (failed(res))
            api_error(res, why, sizeof(why));
        else
            snprintf(why, sizeof(why), "no Job has the label " NEXTFLOW_RUN_LABEL "=%s", ex->run_id);
        snprintf(msg, sizeof(msg), "cannot take over run %s: %s", ex->run_id, why);
        ex->job_created = 0; /* nothing of ours to delete but the ConfigMap */
        nextflow_fail(ex, msg);
        return;
    }
    snprintf(ex->job_name, sizeof(ex->job_name), "%s", name);
    log_info("nextflow", "run %s: following Job %s again, taken over from a replica that stopped", ex->run_id,
             ex->job_name);
    ex->job_since_ms = clock_mono_ms();
    if (ex->stopping) {
        delete_next(ex);
        return;
    }
    nextflow_follow_start(ex);
}

static void on_find_kick(uv_timer_t *t)
{
    nextflow_exec_t *ex = t->data;
    if (ex->stopping) {
        delete_next(ex);
        return;
    }
    char path[400], selector[128];
    snprintf(selector, sizeof(selector), NEXTFLOW_RUN_LABEL "=%s", ex->run_id);
    kube_path(path, sizeof(path), "batch/v1", ex->ns, "jobs", NULL, NULL);
    kube_path_query(path, sizeof(path), "labelSelector", selector);
    ex->req = kube_get(ex->kube, path, on_job_found, ex);
    if (ex->req == NULL)
        finish(ex, 0, "the Kubernetes client is closing");
}

static int nextflow_reattach(executor_t *super, const exec_spec_t *spec, const exec_resume_t *resume)
{
    nextflow_exec_t *ex = (nextflow_exec_t *)super;
    if (ex->active)
        return -EBUSY;
    reset(ex, spec);
    /* the Job and its ConfigMap exist: a stop deletes them (a missing one answers 404) */
    ex->job_created = ex->cm_created = 1;
    for (int t = 0; t < wf_task_count(spec->batches); t++) {
        ex->states[t] = resume->states[t];
        ex->started[t] = resume->states[t] != TASK_PENDING;
        ex->workers[t].since_ms = resume->log_since_ms[t];
        ex->workers[t].since_count = resume->log_since_count[t];
        /* a finished task's log was sent in full */
        ex->workers[t].no_logs = resume->states[t] == TASK_SUCCEEDED || resume->states[t] == TASK_FAILED;
    }
    ex->controller.since_ms = resume->controller_log_since_ms;
    ex->controller.since_count = resume->controller_log_since_count;
    uv_timer_start(&ex->kick_timer, on_find_kick, 0, 0);
    return 0;
}

static void nextflow_stop(executor_t *super)
{
    nextflow_exec_t *ex = (nextflow_exec_t *)super;
    if (!ex->active || ex->ending)
        return;
    if (ex->job_ended) { /* nothing runs any more: the Job stays for its TTL, as a finished one does */
        finish(ex, 0, "stopped");
        return;
    }
    begin_stop(ex);
    nextflow_progressed(ex);
}

static void on_closed(uv_handle_t *h)
{
    nextflow_exec_t *ex = h->data;
    if (--ex->closing_handles == 0)
        free(ex);
}

static void nextflow_destroy(executor_t *super)
{
    nextflow_exec_t *ex = (nextflow_exec_t *)super;
    nextflow_follow_stop(ex);
    if (ex->req)
        kube_request_cancel(ex->req);
    if (ex->patch_req)
        kube_request_cancel(ex->patch_req);
    uv_timer_t *timers[] = {&ex->kick_timer,    &ex->done_timer,  &ex->stop_timer,
                            &ex->verdict_timer, &ex->drain_timer, &ex->pending_timer};
    ex->closing_handles = (int)(sizeof(timers) / sizeof(timers[0]));
    for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++)
        uv_close((uv_handle_t *)timers[i], on_closed);
}

static void on_abandoned(void *data, const kube_response_t *res)
{
    (void)data;
    if (failed(res) && res->status != 404) {
        char why[600];
        api_error(res, why, sizeof(why));
        log_warn("nextflow", "cannot delete what an ended run left: %s", why);
    }
}

/* The run ended elsewhere (its replica died and it was ended as failed): its Job and ConfigMap go. */
static void nextflow_abandon(executor_t *super, const char *run_id)
{
    nextflow_exec_t *ex = (nextflow_exec_t *)super;
    char name[96], path[300];
    log_info("nextflow", "run %s ended without its replica: deleting its Job", run_id);
    snprintf(name, sizeof(name), NEXTFLOW_JOB_PREFIX "%s", run_id);
    if (kube_path(path, sizeof(path), "batch/v1", ex->ns, "jobs", name, NULL) == 0)
        kube_delete(ex->kube, path, "Background", on_abandoned, NULL);
    snprintf(name, sizeof(name), NEXTFLOW_CONFIGMAP_PREFIX "%s", run_id);
    if (kube_path(path, sizeof(path), "v1", ex->ns, "configmaps", name, NULL) == 0)
        kube_delete(ex->kube, path, NULL, on_abandoned, NULL);
}

/* A handover: the run's Job stays for the replica that takes it over; only following it ends. */
static int nextflow_release(executor_t *super)
{
    nextflow_exec_t *ex = (nextflow_exec_t *)super;
    if (!ex->active || ex->ending || ex->stopping || ex->job_ended || !ex->job_created || ex->req)
        return -1;
    log_info("nextflow", "run %s: left to another replica; its Job stays", ex->run_id);
    finish(ex, 0, "released");
    return 0;
}

static const executor_ops_t nextflow_ops = {
    .name = "nextflow",
    .start = nextflow_start,
    .stop = nextflow_stop,
    .destroy = nextflow_destroy,
    .reattach = nextflow_reattach,
    .abandon = nextflow_abandon,
    .release = nextflow_release,
};

executor_t *executor_nextflow_create(uv_loop_t *loop, const config_t *cfg, struct kube_client *kube,
                                     const exec_listener_t *listener)
{
    nextflow_exec_t *ex = calloc(1, sizeof(*ex));
    if (ex == NULL)
        abort();
    ex->super.ops = &nextflow_ops;
    ex->super.listener = *listener;
    ex->loop = loop;
    ex->cfg = cfg;
    ex->kube = kube;
    snprintf(ex->ns, sizeof(ex->ns), "%s", kube_client_namespace(kube));
    executor_results_on_volume(&ex->super, cfg, ex->results_root, sizeof(ex->results_root));
    uv_timer_t *timers[] = {&ex->kick_timer,    &ex->done_timer,  &ex->stop_timer,
                            &ex->verdict_timer, &ex->drain_timer, &ex->pending_timer};
    for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = ex;
    }
    return &ex->super;
}
