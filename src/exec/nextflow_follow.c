/*
 * Following a Nextflow run: three watches (the Job by name, its controller pod by the run's label, the worker
 * pods by nextflow.io/runName) and the followed logs of the controller and of each worker.
 *
 * Task states come from the worker pods, found by their nextflow.io/taskName label (GENERATE_1 is task
 * GENERATE (1)): Running starts a task, Succeeded ends it; a Failed pod waits for Nextflow's verdict, which names
 * the cause. Log lines keep the kubelet's timestamp in front (the orchestrator reads it as the line's time); the
 * controller's lines are Nextflow's console, parsed as they pass.
 */
#include <stdio.h>
#include <string.h>

#include "exec/nextflow_internal.h"
#include "exec/pod_cost.h"
#include "exec/pod_log.h"
#include "util/clock.h"
#include "util/log.h"

/* ---- logs ------------------------------------------------------------------------------------------------------ */

static void on_log_line(void *data, const char *ts, const char *line, size_t len)
{
    nextflow_slot_t *s = data;
    nextflow_exec_t *ex = s->owner;
    if (ex->ending)
        return;
    if (s->task == EXEC_TASK_CONTROLLER) {
        nextflow_line_t parsed;
        nextflow_line_kind_t kind = nextflow_log_parse(&ex->nflog, line, len, &parsed);
        if (kind == NEXTFLOW_LINE_ERROR)
            log_warn("nextflow", "run %s: Nextflow reports an error%s%s", ex->run_id, parsed.task[0] ? " in " : "",
                     parsed.task);
        else if (kind == NEXTFLOW_LINE_SUBMITTED)
            log_debug("nextflow", "run %s: Nextflow submitted %s", ex->run_id, parsed.task);
        else if (kind == NEXTFLOW_LINE_CACHED) {
            int task = nextflow_task_index(ex->spec.batches, parsed.task);
            if (task >= 0)
                nextflow_report_cached(ex, task);
        }
    } else {
        pod_log_drop_own_time(&line, &len);
        if (pod_cost_take_usage_line(&ex->super.listener, s->task, line, len))
            return; /* pipeline-task's figures: never a log line */
        log_tail_add(&s->tail, line, len);
    }
    char buf[POD_LOG_LINE_CAP]; /* the kubelet's time in front: the orchestrator takes it as the line's */
    size_t n = pod_log_compose(ts, line, len, buf);
    ex->super.listener.task_log(ex->super.listener.data, s->task, 0, buf, n);
}

static void on_log_end(void *data, const kube_response_t *res)
{
    nextflow_slot_t *s = data;
    nextflow_exec_t *ex = s->owner;
    s->logs_ended = 1;
    if (res->status != 200)
        log_warn("nextflow", "run %s: the log of pod %s ended: %s", ex->run_id, s->name,
                 res->message ? res->message : "no answer");
    nextflow_something_ended(ex);
}

static void follow_logs(nextflow_slot_t *s)
{
    nextflow_exec_t *ex = s->owner;
    if (s->logs || s->no_logs || ex->ending)
        return;
    kube_logs_callbacks_t cbs = {.data = s, .line = on_log_line, .end = on_log_end};
    s->logs = pod_log_follow(ex->kube, s->name, s->since_ms, s->since_count, 0, &cbs);
}

static void forget_logs(nextflow_slot_t *s)
{
    if (s->logs)
        kube_logs_stop(s->logs);
    s->logs = NULL;
    s->logs_ended = 0;
}

/* ---- pods ------------------------------------------------------------------------------------------------------ */

/* Points the slot at `pod`; returns 0, or -1 when the event is about an older pod of the same slot. */
static int track(nextflow_slot_t *s, kube_event_t type, const nextflow_pod_t *pod)
{
    if (strcmp(s->name, pod->name) != 0) {
        if (type == KUBE_DELETED && s->name[0])
            return -1;
        forget_logs(s);
        snprintf(s->name, sizeof(s->name), "%s", pod->name);
        s->pending_since = 0;
        log_tail_clear(&s->tail);
    }
    s->phase = pod->phase;
    s->exit_code = pod->exit_code;
    snprintf(s->reason, sizeof(s->reason), "%s", pod->reason);
    s->live = type != KUBE_DELETED;
    if (pod->phase != POD_PENDING)
        s->pending_since = 0;
    else if (s->pending_since == 0)
        s->pending_since = clock_mono_ms();
    return 0;
}

static void on_worker_event(void *data, kube_event_t type, json_t *obj)
{
    nextflow_exec_t *ex = data;
    nextflow_pod_t pod;
    if (ex->ending || nextflow_pod_read(obj, &pod) != 0 || pod.task_name == NULL)
        return;
    int task = nextflow_task_index(ex->spec.batches, pod.task_name);
    if (task < 0)
        return;
    char session[NEXTFLOW_SESSION_LEN + 1];
    if (nextflow_session_from_label(pod.session, session, sizeof(session)) == 0)
        nextflow_report_session(ex, session);
    nextflow_slot_t *s = &ex->workers[task];
    if (track(s, type, &pod) != 0)
        return;
    log_debug("nextflow", "run %s: worker pod %s (%s): event %d, phase %d", ex->run_id, pod.name, pod.task_name,
              (int)type, (int)pod.phase);
    if (ex->super.listener.task_cost && type != KUBE_DELETED) { /* Nextflow submitted it: its creation is the submit */
        run_cost_t cost;
        run_cost_init(&cost);
        pod_cost_read(obj, 1, &cost);
        ex->super.listener.task_cost(ex->super.listener.data, task, &cost);
    }
    if (type == KUBE_DELETED) {
        if (pod.phase == POD_SUCCEEDED) { /* its last change may come with its deletion (after a re-list) */
            nextflow_report_finished(ex, task, TASK_SUCCEEDED, NULL);
            nextflow_something_ended(ex);
        } else if (pod.phase == POD_FAILED)
            nextflow_worker_failed(ex, task);
    } else {
        switch (pod.phase) {
        case POD_RUNNING:
            nextflow_report_started(ex, task);
            follow_logs(s);
            break;
        case POD_SUCCEEDED:
            follow_logs(s); /* a short task may end before its first look: its log is still there */
            nextflow_report_finished(ex, task, TASK_SUCCEEDED, NULL);
            nextflow_something_ended(ex);
            break;
        case POD_FAILED:
            follow_logs(s);
            nextflow_report_started(ex, task);
            nextflow_worker_failed(ex, task);
            break;
        default: break;
        }
    }
    nextflow_progressed(ex);
}

static void on_controller_event(void *data, kube_event_t type, json_t *obj)
{
    nextflow_exec_t *ex = data;
    nextflow_pod_t pod;
    if (ex->ending || nextflow_pod_read(obj, &pod) != 0)
        return;
    nextflow_slot_t *s = &ex->controller;
    if (track(s, type, &pod) != 0)
        return;
    log_debug("nextflow", "run %s: controller pod %s: event %d, phase %d", ex->run_id, pod.name, (int)type,
              (int)pod.phase);
    if (pod.phase == POD_RUNNING || pod.phase == POD_SUCCEEDED || pod.phase == POD_FAILED)
        follow_logs(s);
    nextflow_progressed(ex);
}

static void on_job_event(void *data, kube_event_t type, json_t *obj)
{
    nextflow_exec_t *ex = data;
    if (ex->ending)
        return;
    ex->job_seen = 1;
    if (type == KUBE_DELETED) {
        nextflow_job_ended(ex, 0, NULL);
        return;
    }
    char detail[512] = "";
    int result = nextflow_job_finished(obj, detail, sizeof(detail));
    if (result != 0)
        nextflow_job_ended(ex, result, detail);
}

/* The first list of the Job is in: without the Job in it, it was deleted before the watch began. */
static void on_job_synced(void *data)
{
    nextflow_exec_t *ex = data;
    if (!ex->job_seen && !ex->ending)
        nextflow_job_ended(ex, 0, NULL);
}

static void on_watch_error(void *data, const kube_response_t *res)
{
    nextflow_exec_t *ex = data;
    log_warn("nextflow", "run %s: a watch could not list (HTTP %ld: %s); retrying", ex->run_id, res->status,
             res->message ? res->message : "no answer");
    if (res->status == 401 || res->status == 403) { /* retrying will not help: the run cannot be followed */
        char msg[900];
        snprintf(msg, sizeof(msg), "cannot follow the run's Job and pods: HTTP %ld%s%s: %s", res->status,
                 res->reason && res->reason[0] ? " " : "", res->reason ? res->reason : "",
                 res->message ? res->message : "");
        nextflow_fail(ex, msg);
    }
}

void nextflow_follow_start(nextflow_exec_t *ex)
{
    char job_field[160], run_label[128], worker_label[128];
    snprintf(job_field, sizeof(job_field), "metadata.name=%s", ex->job_name);
    snprintf(run_label, sizeof(run_label), NEXTFLOW_RUN_LABEL "=%s", ex->run_id);
    snprintf(worker_label, sizeof(worker_label), NEXTFLOW_WORKER_LABEL "=%s", ex->run_id);
    kube_watch_opts_t job = {.api_version = "batch/v1", .resource = "jobs", .field_selector = job_field};
    kube_watch_opts_t controller = {.api_version = "v1", .resource = "pods", .label_selector = run_label};
    kube_watch_opts_t workers = {.api_version = "v1", .resource = "pods", .label_selector = worker_label};
    kube_watch_callbacks_t cbs = {.data = ex, .event = on_job_event, .synced = on_job_synced, .error = on_watch_error};
    ex->job_watch = kube_watch_start(ex->kube, &job, &cbs);
    cbs.synced = NULL;
    cbs.event = on_controller_event;
    ex->controller_watch = kube_watch_start(ex->kube, &controller, &cbs);
    cbs.event = on_worker_event;
    ex->pod_watch = kube_watch_start(ex->kube, &workers, &cbs);
}

void nextflow_follow_stop(nextflow_exec_t *ex)
{
    if (ex->events_req) {
        kube_request_cancel(ex->events_req);
        ex->events_req = NULL;
    }
    kube_watch_t **watches[] = {&ex->job_watch, &ex->controller_watch, &ex->pod_watch};
    for (size_t i = 0; i < sizeof(watches) / sizeof(watches[0]); i++)
        if (*watches[i]) {
            kube_watch_stop(*watches[i]);
            *watches[i] = NULL;
        }
    forget_logs(&ex->controller);
    for (int t = 0; t < WF_MAX_TASKS; t++)
        forget_logs(&ex->workers[t]);
}

static int running(const nextflow_slot_t *s)
{
    return s->live && (s->phase == POD_PENDING || s->phase == POD_RUNNING || s->phase == POD_UNKNOWN);
}

int nextflow_follow_logs_ended(const nextflow_exec_t *ex)
{
    if (!ex->controller.logs || !ex->controller.logs_ended)
        return 0; /* Nextflow's last words (its error report) are in the controller's log */
    for (int t = 0; t < WF_MAX_TASKS; t++)
        if (ex->workers[t].logs && !ex->workers[t].logs_ended)
            return 0;
    return 1;
}

int nextflow_follow_quiet(const nextflow_exec_t *ex)
{
    if (running(&ex->controller))
        return 0;
    for (int t = 0; t < WF_MAX_TASKS; t++)
        if (running(&ex->workers[t]))
            return 0;
    return 1;
}

static int stuck(const nextflow_exec_t *ex, const nextflow_slot_t *s, char *out, size_t cap)
{
    if (!s->live || s->phase != POD_PENDING || s->pending_since == 0)
        return 0;
    double waited = (double)(clock_mono_ms() - s->pending_since) / 1000.0;
    if (waited < ex->cfg->pod_start_timeout_seconds)
        return 0;
    snprintf(out, cap, "pod %s stuck Pending for over %g s: %s", s->name, ex->cfg->pod_start_timeout_seconds,
             s->reason[0] ? s->reason : "no reason given");
    return 1;
}

static void on_job_events(void *data, const kube_response_t *res)
{
    nextflow_exec_t *ex = data;
    ex->events_req = NULL;
    if (ex->ending || ex->stopping || ex->controller.name[0])
        return;
    char why[700] = "", msg[1000];
    if (res->status == 200 && nextflow_job_events_why(res->body, why, sizeof(why)))
        ;
    else if (res->status == 200)
        snprintf(why, sizeof(why), "no event of the Job says why");
    else
        snprintf(why, sizeof(why), "its events cannot be read: HTTP %ld: %s", res->status,
                 res->message ? res->message : "no answer");
    snprintf(msg, sizeof(msg), "Job %s has had no pod for %g s: %s", ex->job_name, ex->cfg->pod_start_timeout_seconds,
             why);
    nextflow_fail(ex, msg);
}

/* A Job whose pod is refused (quota, Pod Security admission, a missing service account) gets no condition, only
 * FailedCreate events while the Job controller retries: without a pod for POD_START_TIMEOUT_SECONDS, the run
 * fails with what the newest event says. */
static void check_job_without_pod(nextflow_exec_t *ex)
{
    if (!ex->job_created || ex->job_since_ms == 0 || ex->controller.name[0] || ex->events_req || ex->job_ended)
        return;
    if ((double)(clock_mono_ms() - ex->job_since_ms) / 1000.0 < ex->cfg->pod_start_timeout_seconds)
        return;
    char path[600], selector[200];
    snprintf(selector, sizeof(selector), "involvedObject.kind=Job,involvedObject.name=%s", ex->job_name);
    if (kube_path(path, sizeof(path), "v1", ex->ns, "events", NULL, NULL) != 0 ||
        kube_path_query(path, sizeof(path), "fieldSelector", selector) != 0)
        return;
    ex->events_req = kube_get(ex->kube, path, on_job_events, ex);
}

void nextflow_follow_check_pending(nextflow_exec_t *ex)
{
    if (ex->ending || ex->stopping)
        return;
    check_job_without_pod(ex);
    char why[800], msg[1000];
    if (stuck(ex, &ex->controller, why, sizeof(why))) {
        snprintf(msg, sizeof(msg), "the Nextflow controller's %s", why);
        nextflow_fail(ex, msg);
        return;
    }
    for (int t = 0; t < wf_task_count(ex->spec.batches); t++)
        if (stuck(ex, &ex->workers[t], why, sizeof(why))) {
            char label[32];
            wf_task_label(ex->spec.batches, t, label, sizeof(label));
            snprintf(msg, sizeof(msg), "%s failed: %s", label, why);
            nextflow_report_finished(ex, t, TASK_FAILED, why);
            nextflow_fail(ex, msg);
            return;
        }
}
